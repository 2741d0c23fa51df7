// A small view of a Dockerfile for checks and for replaying its steps without a Docker engine:
// stages with their base image and instructions, exec-form argument parsing, and the linter's diagnostics.
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { validate } from "dockerfile-utils";

export interface Step {
  keyword: string;
  /** Everything after the keyword (flags included), continuation lines joined. */
  args: string;
  flags: Record<string, string | null>;
  /** Arguments without flags, as Docker splits them (shell form). */
  words: string[];
  line: number;
  /** LABEL and ENV key/value pairs. */
  properties: Record<string, string>;
}

export interface Stage {
  name?: string;
  image: string;
  steps: Step[];
}

function toStep(i: Instruction): Step {
  const flags: Record<string, string | null> = {};
  const withFlags = i as Instruction & {
    getFlags?: () => { getName(): string; getValue(): string | null }[];
  };
  for (const f of withFlags.getFlags?.() ?? []) flags[f.getName()] = f.getValue();
  const properties: Record<string, string> = {};
  const withProps = i as Instruction & {
    getProperties?: () => { getName(): string; getValue(): string | null }[];
  };
  for (const p of withProps.getProperties?.() ?? []) properties[p.getName()] = p.getValue() ?? "";
  return {
    keyword: i.getKeyword(),
    args: i.getArgumentsContent() ?? "",
    flags,
    words: i.getArguments().map((a) => a.getValue()),
    line: i.getRange().start.line + 1,
    properties,
  };
}

export function parseStages(text: string): Stage[] {
  const df = DockerfileParser.parse(text);
  const stages: Stage[] = [];
  for (const i of df.getInstructions()) {
    if (i.getKeyword() === "FROM") {
      const words = i.getArguments().map((a) => a.getValue());
      const as = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({
        image: words.find((w) => !w.startsWith("--"))!,
        ...(as >= 0 ? { name: words[as + 1] } : {}),
        steps: [],
      });
      continue;
    }
    stages.at(-1)?.steps.push(toStep(i));
  }
  return stages;
}

/** The JSON array of an exec-form instruction (`["a", "b"]`), or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  const trimmed = args.trim();
  if (!trimmed.startsWith("[")) return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return Array.isArray(parsed) && parsed.every((x) => typeof x === "string") ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The command of `HEALTHCHECK [flags] CMD ...` in exec form, or undefined. */
export function healthcheckCommand(step: Step): string[] | undefined {
  const m = /^(?:--\S+\s+)*CMD\s+([\s\S]+)$/.exec(step.args.replace(/\\\r?\n/g, " ").trim());
  return m ? execForm(m[1]!) : undefined;
}

/** Errors and warnings of the dockerfile-utils linter (syntax, unknown flags, bad durations, ...). */
export function lint(text: string): string[] {
  return validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
}
