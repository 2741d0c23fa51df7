// Prometheus examples in deploy/prometheus: each config is loaded by `promtool check config`, the alerts by
// `promtool check rules` and unit-tested by `promtool test rules`; relabel rules use only labels the
// sources emit, and alerts only metrics the bridge registers.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { createSelfMetrics } from "../../core/metrics.js";
import { createExporterMetrics } from "../../exporter/selfmetrics.js";
import { RESERVED } from "../../lambda/params.js";
import { readPromql } from "../../deploy/check/promql.js";
import { json, testApp } from "./lambda-fixtures.js";

const DIR = "deploy/prometheus";
const files = readdirSync(DIR).filter((f) => f.endsWith(".yml"));
const RULE_FILES = ["alerts.yml", "alerts.test.yml"];
const configs = files.filter((f) => !RULE_FILES.includes(f));

function promtool(...args: string[]) {
  const r = spawnSync("promtool", args, { cwd: DIR, encoding: "utf8", timeout: 60_000 });
  if (r.error)
    throw new Error(`promtool not runnable (${r.error.message}); install the Debian prometheus package`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function sourceText(dir: string): string {
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .map((path) =>
      statSync(path).isDirectory()
        ? sourceText(path)
        : path.endsWith(".ts")
          ? readFileSync(path, "utf8")
          : "",
    )
    .join("\n");
}

interface Relabel {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: string;
}

/** Prometheus' `replace` relabelling (the only action these checks need): anchored regex, `$n` groups, empty result deletes. */
function relabel(labels: Record<string, string>, rules: Relabel[] = []): Record<string, string> {
  const out = { ...labels };
  for (const r of rules) {
    if ((r.action ?? "replace") !== "replace") throw new Error(`relabel action ${r.action} not simulated`);
    const value = (r.source_labels ?? []).map((l) => out[l] ?? "").join(r.separator ?? ";");
    const m = new RegExp(`^(?:${r.regex ?? "(.*)"})$`).exec(value);
    if (!m || !r.target_label) continue;
    const result = (r.replacement ?? "$1").replace(/\$\{?(\d+)\}?/g, (_, n: string) => m[Number(n)] ?? "");
    if (result === "") delete out[r.target_label];
    else out[r.target_label] = result;
  }
  return out;
}

describe("deploy/prometheus configs", () => {
  it("cover http_sd against the service, the Lambda's /sd, 308 static targets and the exporter", () => {
    expect(configs.sort()).toEqual([
      "exporter.yml",
      "http-sd-lambda.yml",
      "http-sd-service.yml",
      "lambda-redirect-static.yml",
    ]);
  });

  it.each(configs)("%s passes promtool check config", (file) => {
    const r = promtool("check", "config", file);
    expect(r.output).toContain(`SUCCESS: ${file} is valid prometheus config file syntax`);
    expect(r.status).toBe(0);
  });

  it("promtool check config would catch a broken example (the check can fail)", () => {
    const r = promtool("check", "config", "alerts.yml");
    expect(r.status).not.toBe(0);
  });

  const sdCode = sourceText("sd") + sourceText("lambda");
  /** A label set literally (`"__meta_x"`), or one of a family the code builds as a template literal (`__meta_x_${key}`). */
  const emitted = (label: string): boolean =>
    sdCode.includes(`"${label}"`) ||
    [...label.matchAll(/_/g)].some((m) => sdCode.includes(`\`${label.slice(0, m.index + 1)}\${`));
  it.each(configs)("%s relabels only labels the sources emit", (file) => {
    const text = readFileSync(join(DIR, file), "utf8");
    const meta = new Set([...text.matchAll(/__meta_[a-z0-9_]+/g)].map((m) => m[0]));
    for (const label of meta)
      expect(emitted(label), `${label} is not set anywhere in sd/ or lambda/`).toBe(true);
    for (const m of text.matchAll(/__param_([a-z]+)/g)) expect(RESERVED, m[0]).toContain(m[1]);
  });

  it("the Lambda examples pass only parameters the Lambda reads", () => {
    for (const file of ["http-sd-lambda.yml", "lambda-redirect-static.yml"]) {
      const doc = parse(readFileSync(join(DIR, file), "utf8")) as {
        scrape_configs: { params?: Record<string, string[]>; metrics_path?: string; scheme?: string }[];
      };
      for (const job of doc.scrape_configs) {
        for (const key of Object.keys(job.params ?? {})) expect(RESERVED, `${file}: ${key}`).toContain(key);
        if (job.metrics_path) expect(job.metrics_path).toMatch(/^\/targets(\/[^/]+\/[^/]+\/\d+)?$/);
      }
    }
  });

  it("the Lambda redirect-mode job keeps one instance per slot (standalone tasks and same-port paths too)", async () => {
    const doc = parse(readFileSync(join(DIR, "http-sd-lambda.yml"), "utf8")) as {
      scrape_configs: { job_name: string; relabel_configs?: Relabel[] }[];
    };
    const job = doc.scrape_configs.find((j) => j.job_name === "ecs-via-lambda-redirect")!;
    const app = testApp({ BRIDGE_LAMBDA_PUBLIC_URL: "https://abcdefgh.lambda-url.eu-west-1.on.aws" });
    const list = json(await app.run("/sd?mode=redirect")) as unknown as { labels: Record<string, string> }[];
    // The fixture holds a standalone task and a container serving two paths on one port.
    expect(list.some((g) => g.labels.__param_task)).toBe(true);
    expect(list.some((g) => g.labels.__param_path)).toBe(true);
    const instances = list.map(
      (g) => relabel({ job: job.job_name, ...g.labels }, job.relabel_configs).instance,
    );
    expect(new Set(instances).size, instances.join(" ")).toBe(list.length);
  });

  it("the service example authenticates every request to the bridge with the bearer token file", () => {
    const doc = parse(readFileSync(join(DIR, "http-sd-service.yml"), "utf8")) as {
      scrape_configs: {
        job_name: string;
        authorization?: unknown;
        http_sd_configs?: { authorization?: unknown }[];
      }[];
    };
    const bearer = { type: "Bearer", credentials_file: "bridge-token" };
    for (const job of doc.scrape_configs) {
      for (const sd of job.http_sd_configs ?? []) expect(sd.authorization, job.job_name).toEqual(bearer);
      if (job.job_name === "ecs-prometheus-bridge") expect(job.authorization).toEqual(bearer);
    }
  });
});

describe("deploy/prometheus/alerts.yml", () => {
  it("passes promtool check rules", () => {
    const r = promtool("check", "rules", "alerts.yml");
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("passes its promtool unit tests (alerts fire when they should, not before)", () => {
    const r = promtool("test", "rules", "alerts.test.yml");
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("uses only metrics the bridge registers (core/metrics.ts, exporter self-metrics) and `up`", () => {
    const registry = new Registry();
    createSelfMetrics({ registry, defaults: false });
    createExporterMetrics(registry);
    const names = new Set(["up"]);
    for (const m of registry.getMetricsAsArray()) {
      names.add(m.name);
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${m.name}${suffix}`);
    }
    const doc = parse(readFileSync(join(DIR, "alerts.yml"), "utf8")) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(5);
    for (const rule of rules) {
      const use = readPromql(
        rule.expr,
        (w) => w === "up" || (/^[a-z_:][a-z0-9_:]*$/.test(w) && w.includes("_")),
      );
      for (const m of use.metrics) expect(names, `${rule.alert}: ${m}`).toContain(m);
      expect(use.unknown, rule.alert).toEqual([]);
    }
  });
});
