// Help text and the README's option table, both derived from the option table so they cannot drift.
import type { OptionSpec } from "./spec.js";

export function optionsMarkdown(options: readonly OptionSpec[]): string {
  const rows = options.map((o) => {
    const def = o.default === undefined ? "" : `\`${JSON.stringify(o.default)}\``;
    const allowed = o.allowed ? ` Allowed: ${o.allowed.map((a) => `\`${a}\``).join(", ")}.` : "";
    return `| \`${o.key}\` | \`${o.env}\` | \`${o.flag}\` | ${def} | ${o.description.replace(/\|/g, "\\|")}${allowed} |`;
  });
  return ["| key (YAML) | env | flag | default | description |", "|---|---|---|---|---|", ...rows].join("\n");
}

export function helpText(program: string, options: readonly OptionSpec[]): string {
  const line = (flag: string, text: string) => `  ${flag.padEnd(42)} ${text}`;
  return [
    `Usage: ${program} [--config file.yaml] [flags]`,
    "",
    line("--config", "YAML config file (keys as in the README table)"),
    line("--help", "print this help"),
    line("--version", "print the version"),
    ...options.map((o) => line(o.flag, `${o.description} [env ${o.env}]`)),
  ].join("\n");
}
