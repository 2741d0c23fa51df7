// Regenerates the README sections that come from code, so they cannot drift: the configuration table
// (cmd/config.ts optionsMarkdown(), assembled from every mechanism's options) and the self-metrics table (the metrics the bridge registers).
// Run: npm run readme   (test/unit/deploy-readme.test.ts fails when README.md is out of date)
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Counter, Gauge, Histogram, Registry, Summary } from "prom-client";
import { loadConfig, optionsMarkdown } from "../cmd/config.js";
import { silentLogger } from "../core/log.js";
import { createSelfMetrics } from "../core/metrics.js";
import { createExporterMetrics } from "../exporter/selfmetrics.js";
import { createStreamMetrics } from "../exporter/stream/metrics.js";
import { CloudMapSource } from "../sd/cloudmap/source.js";

function kind(metric: unknown): string {
  if (metric instanceof Counter) return "counter";
  if (metric instanceof Gauge) return "gauge";
  if (metric instanceof Histogram) return "histogram";
  if (metric instanceof Summary) return "summary";
  return "untyped";
}

/** Every metric the bridge registers itself (prom-client's process_* / nodejs_* defaults aside). */
export function selfMetricsMarkdown(): string {
  const registry = new Registry();
  const metrics = createSelfMetrics({ registry, defaults: false });
  createExporterMetrics(registry);
  createStreamMetrics(registry);
  // Sources register their own metrics when constructed; no AWS scope is needed for that.
  new CloudMapSource({
    scopes: [],
    config: loadConfig({ env: {}, argv: [] }),
    metrics,
    logger: silentLogger,
  });
  const rows = registry
    .getMetricsAsArray()
    .map((m) => {
      const labels = ((m as unknown as { labelNames?: string[] }).labelNames ?? [])
        .map((l) => `\`${l}\``)
        .join(", ");
      return `| \`${m.name}\` | ${kind(m)} | ${labels} | ${m.help.replace(/\|/g, "\\|")} |`;
    })
    .sort();
  return ["| metric | type | labels | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

export const SECTIONS: Record<string, () => string> = {
  config: optionsMarkdown,
  "self-metrics": selfMetricsMarkdown,
};

/** Replaces the body of each `<!-- generated:NAME -->` ... `<!-- /generated:NAME -->` block. */
export function renderReadme(text: string): string {
  let out = text;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const re = new RegExp(`(<!-- generated:${name}\\b[^>]*-->\\n)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    if (!re.test(out))
      throw new Error(`README.md has no <!-- generated:${name} --> ... <!-- /generated:${name} --> block`);
    out = out.replace(re, (_, start: string, end: string) => `${start}${render()}\n${end}`);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const path = process.argv[2] ?? "README.md";
  const before = readFileSync(path, "utf8");
  const after = renderReadme(before);
  if (after === before) process.stdout.write(`${path} is up to date\n`);
  else {
    writeFileSync(path, after);
    process.stdout.write(`${path} regenerated\n`);
  }
}
