// The ECS client's wire protocol with one shortcut: a successful ListTasks or DescribeTasks answer (the
// calls every refresh makes) is parsed with JSON.parse instead of the SDK's schema walk. Re-describing
// every task every refresh (the default) made that walk most of a steady refresh's CPU (about 40 µs per
// task). The shortcut skips only the conversion of timestamps to Date and blobs to bytes; the task cache
// keeps neither (sd/ecs/slim.ts), and errors, retries, signing and every other operation go through the
// SDK unchanged. A DescribeTasks answer's tasks are not parsed here: each is kept as its JSON text
// (taskTextsOf), so the caller parses only the ones whose description changed since it last saw them;
// reading the answer's `tasks` parses them all, as before.
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
    const $metadata = this.deserializeMetadata(response);
    const split = operationSchema.name === "DescribeTasks" ? splitTopLevelArray(text, "tasks") : undefined;
    if (split) {
      const out = { ...split.rest, [TASK_TEXTS]: split.elements, $metadata };
      // A caller that reads `tasks` (the SDK's shape) gets them parsed; taskTextsOf's never are.
      const tasks = { get: () => split.elements.map((t) => JSON.parse(t) as unknown), enumerable: false };
      return Object.defineProperty(out, "tasks", tasks) as unknown as Output;
    }
    const parsed: unknown = text.trim() === "" ? {} : JSON.parse(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new SyntaxError(`${operationSchema.name}: the answer is not a JSON object`);
    return { ...parsed, $metadata } as Output;
  }
}

/** Where EcsProtocol puts a DescribeTasks answer's tasks, as their JSON texts, instead of `tasks`. */
const TASK_TEXTS = "taskTexts";

/**
 * The tasks of a DescribeTasks answer as EcsProtocol split them, as JSON texts. Undefined when it did not
 * (a client without it, or an answer of another shape): the answer's `tasks` is then all there is.
 */
export function taskTextsOf(out: object): string[] | undefined {
  return (out as { [TASK_TEXTS]?: string[] })[TASK_TEXTS];
}

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

/** The index of the quote that closes the string whose opening quote is at `open`. */
function stringEnd(text: string, open: number): number {
  for (let q = open; ;) {
    q = text.indexOf('"', q + 1);
    if (q < 0) throw new SyntaxError("JSON: unterminated string");
    let slashes = 0;
    while (text.charCodeAt(q - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q;
  }
}

/**
 * A JSON object's top-level array `key` as its elements' texts, unparsed, and the rest of the object
 * parsed. Undefined when the text is not an object with such an array of objects (the caller then parses
 * it whole). Only brackets and quotes are looked at: an element's text is checked when it is parsed.
 */
export function splitTopLevelArray(
  text: string,
  key: string,
): { rest: Record<string, unknown>; elements: string[] } | undefined {
  const quotedKey = JSON.stringify(key);
  const elements: string[] = [];
  let depth = 0;
  let afterKey = false; // the last string at depth 1 was `key`, followed by a colon
  let arrayOpen = -1;
  let arrayClose = -1;
  let elementOpen = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (depth === 1 && arrayOpen < 0) {
        let j = end + 1;
        while (j < text.length && text.charCodeAt(j) <= 32) j++;
        afterKey = text.charCodeAt(j) === COLON && text.slice(i, end + 1) === quotedKey;
      } else if (depth === 2 && arrayOpen >= 0 && arrayClose < 0) return undefined; // a string element
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth === 1 && c !== OPEN_BRACE) return undefined;
      if (depth === 2 && afterKey && arrayOpen < 0) {
        if (c !== OPEN_BRACKET) return undefined;
        arrayOpen = i;
      } else if (depth === 3 && arrayOpen >= 0 && arrayClose < 0) {
        if (c !== OPEN_BRACE) return undefined;
        elementOpen = i;
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 3 && elementOpen >= 0) {
        elements.push(text.slice(elementOpen, i + 1));
        elementOpen = -1;
      } else if (depth === 2 && arrayOpen >= 0 && arrayClose < 0) arrayClose = i;
      depth--;
    } else if (depth === 2 && arrayOpen >= 0 && arrayClose < 0 && c > 32 && c !== COMMA) return undefined;
  }
  if (arrayOpen < 0 || arrayClose < 0) return undefined;
  const rest: unknown = JSON.parse(text.slice(0, arrayOpen) + "[]" + text.slice(arrayClose + 1));
  if (rest === null || typeof rest !== "object" || Array.isArray(rest)) return undefined;
  return { rest: rest as Record<string, unknown>, elements };
}
