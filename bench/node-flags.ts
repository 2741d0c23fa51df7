// The node flags the image runs the bridge with (the Dockerfile's ENTRYPOINT, between the node binary and
// the script), so a benchmark's bridge process runs as the image's does. BENCH_NODE_FLAGS replaces them
// for a comparison (space-separated; empty for none).
import { readFileSync } from "node:fs";
import { execForm, parseStages } from "../deploy/check/dockerfile.js";

export function imageNodeFlags(): string[] {
  const override = process.env.BENCH_NODE_FLAGS;
  if (override !== undefined) return override.split(" ").filter(Boolean);
  const runtime = parseStages(readFileSync("Dockerfile", "utf8")).at(-1);
  const entry = runtime?.steps.find((s) => s.keyword === "ENTRYPOINT");
  const argv = entry ? execForm(entry.args) : undefined;
  if (!argv)
    throw new Error("Dockerfile: no exec-form ENTRYPOINT in the last stage to take node's flags from");
  const args = argv.slice(1);
  const script = args.findIndex((a) => !a.startsWith("-"));
  return script < 0 ? args : args.slice(0, script);
}
