// The ECS client's wire protocol with one shortcut: a successful ListTasks or DescribeTasks answer (the
// calls every refresh makes) is parsed with JSON.parse instead of the SDK's schema walk. Re-describing
// every task every refresh (the default) made that walk most of a steady refresh's CPU (about 40 µs per
// task). The shortcut skips only the conversion of timestamps to Date and blobs to bytes; the task cache
// keeps neither (sd/ecs/slim.ts), and errors, retries, signing and every other operation go through the
// SDK unchanged.
import { AwsJson1_1Protocol } from "@aws-sdk/core/protocols";
import { collectBody } from "@smithy/core/protocols";
import { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { MetadataBearer, OperationSchema } from "@smithy/types";

type DeserializeArgs = Parameters<AwsJson1_1Protocol["deserializeResponse"]>;

/** Operations whose successful answers are read as plain JSON. */
const PLAIN_JSON = new Set(["DescribeTasks", "ListTasks"]);

/**
 * The body as text, decoded chunk by chunk as it streams in. Collecting the bytes first kept a second copy
 * of every answer (230 KB per 100 tasks) outside the heap, and that external memory set off about three
 * full GCs per steady refresh at 10,000 tasks; decoded this way, none.
 */
async function bodyText(body: unknown, context: DeserializeArgs[1]): Promise<string> {
  if (body instanceof Readable) {
    const decoder = new StringDecoder("utf8");
    let text = "";
    for await (const chunk of body) text += decoder.write(chunk as Buffer);
    return text + decoder.end();
  }
  return new TextDecoder().decode(await collectBody(body, context));
}

export class EcsProtocol extends AwsJson1_1Protocol {
  override async deserializeResponse<Output extends MetadataBearer>(
    operationSchema: OperationSchema,
    context: DeserializeArgs[1],
    response: DeserializeArgs[2],
  ): Promise<Output> {
    if (!PLAIN_JSON.has(operationSchema.name) || response.statusCode >= 300)
      return super.deserializeResponse(operationSchema, context, response);
    const text = await bodyText(response.body, context);
    const parsed: unknown = text.trim() === "" ? {} : JSON.parse(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new SyntaxError(`${operationSchema.name}: the answer is not a JSON object`);
    return { ...parsed, $metadata: this.deserializeMetadata(response) } as Output;
  }
}
