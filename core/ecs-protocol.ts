// The ECS client's wire protocol with one shortcut: a successful ListTasks or DescribeTasks answer (the
// calls every refresh makes) is parsed with JSON.parse instead of the SDK's schema walk. Re-describing
// every task every refresh (the default) made that walk most of a steady refresh's CPU (about 40 µs per
// task). The shortcut skips only the conversion of timestamps to Date and blobs to bytes; the task cache
// keeps neither (sd/ecs/slim.ts), and errors, retries, signing and every other operation go through the
// SDK unchanged.
import { AwsJson1_1Protocol } from "@aws-sdk/core/protocols";
import { collectBody } from "@smithy/core/protocols";
import type { MetadataBearer, OperationSchema } from "@smithy/types";

type DeserializeArgs = Parameters<AwsJson1_1Protocol["deserializeResponse"]>;

/** Operations whose successful answers are read as plain JSON. */
const PLAIN_JSON = new Set(["DescribeTasks", "ListTasks"]);

export class EcsProtocol extends AwsJson1_1Protocol {
  override async deserializeResponse<Output extends MetadataBearer>(
    operationSchema: OperationSchema,
    context: DeserializeArgs[1],
    response: DeserializeArgs[2],
  ): Promise<Output> {
    if (!PLAIN_JSON.has(operationSchema.name) || response.statusCode >= 300)
      return super.deserializeResponse(operationSchema, context, response);
    const bytes = await collectBody(response.body, context);
    const text = new TextDecoder().decode(bytes);
    const parsed: unknown = text.trim() === "" ? {} : JSON.parse(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new SyntaxError(`${operationSchema.name}: the answer is not a JSON object`);
    return { ...parsed, $metadata: this.deserializeMetadata(response) } as Output;
  }
}
