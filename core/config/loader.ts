// The generic configuration loader: defaults < YAML file < environment < flags, each value parsed and
// validated by its option's schema, errors naming the key, where the value came from and what is allowed.
// It knows nothing of the options themselves: the composition root hands it the table.
import * as z from "../zod.js";
import { ConfigError, strictMapping, type OptionSpec } from "./spec.js";
import { closest } from "./suggest.js";
import { readYamlFile } from "./yaml.js";

export interface LoaderSettings {
  options: readonly OptionSpec[];
  /** Prefix of the environment variables; an unknown one is warned about. */
  envPrefix: string;
  /** Environment variable naming the config file (like the --config flag). */
  configEnv: string;
}

export interface LoadInput {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  /** Where non-fatal warnings go (default: stderr). */
  warn?: (message: string) => void;
}

/** Where a value came from, for error messages that point at the right place. */
type Origin = { source: "file" | "env" | "flag"; name: string };

function describeOrigin(origin: Origin): string {
  if (origin.source === "file") return `config file ${origin.name}`;
  return `${origin.source} ${origin.name}`;
}

function show(spec: Pick<OptionSpec, "secret" | "redact">, value: unknown): string {
  if (spec.secret) return "<redacted>";
  if (spec.redact) value = spec.redact(value);
  return JSON.stringify(value) ?? String(value);
}

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

/** strictMapping suggests a sibling key; name it by its full path. */
function fullPath(message: string, parent: string): string {
  return parent ? message.replace(/^did you mean /, `did you mean ${parent}.`) : message;
}

function issueMessage(key: string, origin: Origin, got: string, issue: z.core.$ZodIssue): string {
  const at = `${key}${pathText(issue.path)}`;
  if (issue.code === "unrecognized_keys")
    return `unknown key ${at}.${String(issue.keys[0])} in ${describeOrigin(origin)}; ${fullPath(issue.message, at)}`;
  const where = issue.path.length > 0 ? `${pathText(issue.path).replace(/^\./, "")}: ` : "";
  return `invalid ${key} (${describeOrigin(origin)}): got ${got}; ${where}${issue.message}`;
}

export function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    cur[part] ??= {};
    cur = cur[part] as Record<string, unknown>;
  }
  if (value !== undefined) cur[parts[parts.length - 1]!] = value;
}

/** The file's layout as nested strict mappings (leaves unchecked here): unknown keys at every depth fail. */
function fileLayout(options: readonly OptionSpec[], prefix = ""): z.ZodType {
  const children = new Map<string, OptionSpec[]>();
  for (const o of options.filter((o) => o.key.startsWith(prefix))) {
    const name = o.key.slice(prefix.length).split(".")[0]!;
    children.set(name, [...(children.get(name) ?? []), o]);
  }
  const shape: Record<string, z.ZodType> = {};
  for (const [name, below] of children) {
    const leaf = below.length === 1 && below[0]!.key === prefix + name;
    shape[name] = leaf ? z.unknown().optional() : fileLayout(below, `${prefix}${name}.`).nullish();
  }
  const keys = options.map((o) => o.key).join(", ");
  return strictMapping(shape, `expected a mapping with keys ${keys}`);
}

function checkFileLayout(options: readonly OptionSpec[], obj: Record<string, unknown>, file: string): void {
  const result = fileLayout(options).safeParse(obj);
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const path = pathText(issue.path).replace(/^\./, "");
  if (issue.code === "unrecognized_keys") {
    const key = path ? `${path}.${String(issue.keys[0])}` : String(issue.keys[0]);
    throw new ConfigError(`unknown key ${key} in config file ${file}; ${fullPath(issue.message, path)}`);
  }
  const secret = options.some((o) => o.secret && o.key.startsWith(`${path}.`));
  const got = show({ secret }, getPath(obj, path));
  throw new ConfigError(`invalid ${path} in config file ${file}: got ${got}; ${issue.message}`);
}

interface ParsedArgs {
  configFile?: string;
  flags: Map<string, string>;
}

function parseArgs(options: readonly OptionSpec[], argv: string[]): ParsedArgs {
  const flags = new Map<string, string>();
  let configFile: string | undefined;
  const byFlag = new Map(options.map((o) => [o.flag, o]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (name === "--config") {
      value ??= argv[++i];
      if (!value) throw new ConfigError("flag --config needs a file path: --config bridge.yaml");
      configFile = value;
      continue;
    }
    const spec = byFlag.get(name);
    if (!spec) {
      const match = closest(name, byFlag.keys());
      const hint = match ? `did you mean ${match}?` : "run with --help to list the flags";
      throw new ConfigError(`unknown flag ${name}; ${hint}`);
    }
    if (value === undefined) {
      const next = argv[i + 1];
      if (spec.bool && (next === undefined || next.startsWith("--"))) value = "true";
      else value = argv[++i];
    }
    if (value === undefined) throw new ConfigError(`flag ${name} needs a value`);
    flags.set(spec.key, value);
  }
  return { configFile, flags };
}

/** A mistyped variable would be silently ignored (and its default used): say so, with the closest name. */
function warnUnknownEnv(settings: LoaderSettings, env: NodeJS.ProcessEnv, warn: (m: string) => void): void {
  const known = new Set([settings.configEnv, ...settings.options.map((o) => o.env)]);
  for (const name of Object.keys(env)) {
    if (!name.startsWith(settings.envPrefix) || known.has(name)) continue;
    const match = closest(name, known);
    warn(`unknown environment variable ${name} ignored${match ? `; did you mean ${match}?` : ""}`);
  }
}

/** Every option's value (nested by its dotted key), validated; throws ConfigError. */
export function loadOptions(settings: LoaderSettings, input: LoadInput = {}): Record<string, unknown> {
  const { options } = settings;
  const env = input.env ?? process.env;
  const { configFile, flags } = parseArgs(options, input.argv ?? []);
  warnUnknownEnv(settings, env, input.warn ?? ((m) => process.stderr.write(`warning: ${m}\n`)));
  const file = configFile ?? env[settings.configEnv];
  let fileObj: Record<string, unknown> = {};
  if (file) {
    fileObj = readYamlFile(file);
    checkFileLayout(options, fileObj, file);
  }

  const out: Record<string, unknown> = {};
  for (const spec of options) {
    let raw: unknown = undefined;
    let origin: Origin | undefined;
    const fromFile = file ? getPath(fileObj, spec.key) : undefined;
    if (fromFile !== undefined && fromFile !== null)
      [raw, origin] = [fromFile, { source: "file", name: file! }];
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== "") [raw, origin] = [fromEnv, { source: "env", name: spec.env }];
    if (flags.has(spec.key)) [raw, origin] = [flags.get(spec.key), { source: "flag", name: spec.flag }];
    let value: unknown = structuredClone(spec.default);
    if (origin) {
      const result = spec.schema.safeParse(raw);
      if (!result.success)
        throw new ConfigError(issueMessage(spec.key, origin, show(spec, raw), result.error.issues[0]!));
      value = result.data;
    }
    setPath(out, spec.key, value); // creates parent objects even for unset optional keys
  }
  return out;
}

/** A copy of the loaded values with credentials masked, safe to log. */
export function redactOptions(options: readonly OptionSpec[], values: object): Record<string, unknown> {
  const copy = structuredClone(values) as Record<string, unknown>;
  for (const spec of options) {
    const value = getPath(copy, spec.key);
    if (value === undefined) continue;
    if (spec.secret) setPath(copy, spec.key, "<redacted>");
    else if (spec.redact) setPath(copy, spec.key, spec.redact(value));
  }
  return copy;
}
