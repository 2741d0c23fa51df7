// What an option is, and the zod schemas the mechanisms build their options from. Every schema accepts the
// text form (environment variables, flags, YAML scalars, all kept as written) and, where it makes sense, the
// YAML form (lists, mappings), so one schema validates a value whatever its source.
import * as z from "../zod.js";
import { closest } from "./suggest.js";

export interface OptionSpec {
  /** Dotted path in the config object and the YAML file. */
  key: string;
  env: string;
  flag: string;
  /** Parses and validates one value; its issue messages say what is allowed. */
  schema: z.ZodType;
  default: unknown;
  description: string;
  /** Listed in the README table. */
  allowed?: readonly string[];
  /** Never printed: the value is a credential. */
  secret?: boolean;
  /** Masks the credential parts of a value (raw or parsed) that is otherwise shown. */
  redact?: (value: unknown) => unknown;
  /** A flag given without a value means true. */
  bool?: boolean;
}

/** Bad configuration: the process exits 2 (the Lambda answers 500) with this message. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export function splitList(raw: string, separator = ","): string[] {
  return raw
    .split(separator)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function text(): z.ZodType<string> {
  return z
    .string({ error: "expected a string" })
    .min(1, { error: "expected a non-empty string (unset the key instead)" });
}

export function int(min: number, max: number): z.ZodType<number> {
  const error = `expected an integer from ${min} to ${max}`;
  return z
    .string({ error })
    .trim()
    .regex(/^-?\d+$/, { error })
    .transform(Number)
    .pipe(z.number().int().min(min, { error }).max(max, { error }));
}

export function bool(): z.ZodType<boolean> {
  return z.stringbool({
    truthy: ["true", "1", "yes", "on"],
    falsy: ["false", "0", "no", "off"],
    case: "insensitive",
    error: "expected true or false",
  });
}

export function oneOf<const T extends readonly [string, ...string[]]>(allowed: T): z.ZodType<T[number]> {
  return z.enum(allowed, { error: `allowed: ${allowed.join(", ")}` });
}

/** A list: comma-separated in env and flags, a sequence in YAML. */
export function list<T>(
  item: z.ZodType<T> = z.string().trim().min(1) as unknown as z.ZodType<T>,
  itemError = "expected a list of non-empty strings",
): z.ZodType<T[]> {
  return z.preprocess(
    (v) => (typeof v === "string" ? splitList(v) : v),
    z.array(z.string({ error: itemError }).pipe(item as z.ZodType<T, string>), {
      error: "expected a list (comma-separated in env and flags)",
    }),
  );
}

/**
 * A YAML mapping with these keys and no others; an unknown key's issue message suggests the closest known
 * key (or lists them), which the loader appends to the full path of the key.
 */
export function strictMapping<S extends z.core.$ZodLooseShape>(shape: S, expected?: string) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === "unrecognized_keys") {
        const match = closest(String(issue.keys[0]), known);
        return match ? `did you mean ${match}?` : `known keys: ${known.join(", ")}`;
      }
      return issue.code === "invalid_type" && expected ? expected : undefined;
    },
  });
}
