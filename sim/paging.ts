// Input checks and pagination shared by the simulated services. Every error is the AWS error the real
// service would raise, built by the caller-supplied factory.
import { decodeToken, encodeToken, type SimAwsError } from "./protocol.js";

/** The wire form of an SDK model: Dates are epoch seconds on the JSON protocols. */
export type Wire<T> = T extends Date
  ? number
  : T extends (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

export type ErrorFactory = (message: string) => SimAwsError;

export function optString(
  params: Record<string, unknown>,
  key: string,
  bad: ErrorFactory,
): string | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw bad(`${key} must be a string`);
  return v;
}

export function stringList(
  params: Record<string, unknown>,
  key: string,
  bad: ErrorFactory,
): string[] | undefined {
  const v = params[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    throw bad(`${key} must be a list of strings`);
  return v as string[];
}

/** An integer limit in [min, max], default when absent. */
export function limit(
  params: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  dflt: number,
  bad: ErrorFactory,
): number {
  const v = params[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)
    throw bad(`${key} must be an integer between ${min} and ${max}, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * One page of `items` (already in a stable order by `keyOf`), starting after the token's position.
 * Positions are item keys, so items added or removed between pages never shift the walk.
 */
export function page<T>(
  items: readonly T[],
  keyOf: (item: T) => number | string,
  token: unknown,
  max: number,
  badToken: () => SimAwsError,
): { items: T[]; nextToken?: string } {
  const after = decodeToken(token, badToken);
  let start = 0;
  if (after !== undefined) {
    start = items.findIndex((it) => {
      const k = keyOf(it);
      return typeof k === "number" ? k > (after as number) : k > String(after);
    });
    if (start < 0) start = items.length;
  }
  const slice = items.slice(start, start + max);
  const more = start + max < items.length;
  return { items: slice, ...(more ? { nextToken: encodeToken(keyOf(slice[slice.length - 1]!)) } : {}) };
}

export function byKey<T>(keyOf: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);
}

export function tagList(
  tags: Record<string, string>,
  lower: boolean,
): { key?: string; value?: string; Key?: string; Value?: string }[] {
  return Object.entries(tags).map(([k, v]) => (lower ? { key: k, value: v } : { Key: k, Value: v }));
}
