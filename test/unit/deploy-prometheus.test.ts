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
import { buildTarget } from "../../sd/cloudmap/targets.js";
import { parseFilter, renderSd } from "../../sd/httpsd.js";
import { mergeTargets } from "../../sd/merge.js";
import { compareTargets, type DiscoveredTarget } from "../../sd/model.js";
import { json, targetsOf, testApp } from "./lambda-fixtures.js";

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

/**
 * Prometheus' relabelling for the actions these examples use (replace, keep, drop, labelmap): anchored regex,
 * `$n` groups, an empty replace result deletes the label. Returns undefined when the target is dropped.
 */
function relabel(labels: Record<string, string>, rules: Relabel[] = []): Record<string, string> | undefined {
  const out = { ...labels };
  const expand = (m: RegExpExecArray, replacement: string) =>
    replacement.replace(/\$\{?(\d+)\}?/g, (_, n: string) => m[Number(n)] ?? "");
  for (const r of rules) {
    const action = r.action ?? "replace";
    const re = new RegExp(`^(?:${r.regex ?? "(.*)"})$`);
    if (action === "labelmap") {
      for (const [name, value] of Object.entries(out)) {
        const m = re.exec(name);
        if (m) out[expand(m, r.replacement ?? "$1")] = value;
      }
      continue;
    }
    const value = (r.source_labels ?? []).map((l) => out[l] ?? "").join(r.separator ?? ";");
    const m = re.exec(value);
    if (action === "keep" || action === "drop") {
      if ((action === "keep") !== Boolean(m)) return undefined;
      continue;
    }
    if (action !== "replace") throw new Error(`relabel action ${action} not simulated`);
    if (!m || !r.target_label) continue;
    const result = expand(m, r.replacement ?? "$1");
    if (result === "") delete out[r.target_label];
    else out[r.target_label] = result;
  }
  return out;
}

interface ScrapeJob {
  job_name: string;
  scheme?: string;
  metrics_path?: string;
  params?: Record<string, string[]>;
  relabel_configs?: Relabel[];
}
interface SdGroup {
  targets: string[];
  labels: Record<string, string>;
}

/**
 * The labels Prometheus scrapes one http_sd target with: the job's defaults under the group's labels
 * (a group's __metrics_path__ wins over the job's metrics_path), the job's relabelling, then `instance`
 * defaulting to the address. Undefined when the relabelling drops the target.
 */
function scrapeLabels(job: ScrapeJob, group: SdGroup): Record<string, string> | undefined {
  const defaults: Record<string, string> = {
    job: job.job_name,
    __address__: group.targets[0]!,
    __scheme__: job.scheme ?? "http",
    __metrics_path__: job.metrics_path ?? "/metrics",
  };
  for (const [k, v] of Object.entries(job.params ?? {})) defaults[`__param_${k}`] = v[0]!;
  const out = relabel({ ...defaults, ...group.labels }, job.relabel_configs);
  if (out && !out.instance) out.instance = out.__address__!;
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
      (g) => relabel({ job: job.job_name, ...g.labels }, job.relabel_configs)!.instance,
    );
    expect(new Set(instances).size, instances.join(" ")).toBe(list.length);
  });

  // The ECS targets as the bridge service's /sd (renderSd) and the Lambda's /sd serve them, from the shared
  // fixture: a container serving /metrics and /internal/metrics on port 8080, an envoy on 9901 with its own path.
  const jobIn = (file: string, name: string) =>
    (parse(readFileSync(join(DIR, file), "utf8")) as { scrape_configs: ScrapeJob[] }).scrape_configs.find(
      (j) => j.job_name === name,
    )!;
  it.each([
    [
      "http-sd-service.yml",
      "ecs",
      async () => JSON.parse(renderSd(targetsOf(), parseFilter({ source: "ecs" })).json.toString()),
    ],
    [
      "http-sd-lambda.yml",
      "ecs-via-lambda-sd",
      async () => json(await testApp().run("/sd?source=ecs&cluster=prod")),
    ],
  ] as const)(
    "%s job %s: one instance per target, two paths on one port included",
    async (file, name, sd) => {
      const job = jobIn(file, name);
      const list = (await sd()) as unknown as SdGroup[];
      const scraped = list.map((g) => scrapeLabels(job, g));
      expect(scraped.every(Boolean), "the fixture's targets are all kept").toBe(true);
      const instances = scraped.map((l) => l!.instance);
      expect(new Set(instances).size, instances.join(" ")).toBe(list.length);
      // The same port twice: both paths are scraped, each under its own instance.
      const samePort = scraped.filter((l) => l!.__address__ === "10.0.1.1:8080");
      expect(samePort.map((l) => [l!.__metrics_path__, l!.instance])).toEqual(
        expect.arrayContaining([
          ["/metrics", "m0m0m0:8080"],
          ["/internal/metrics", "m0m0m0:8080/internal/metrics"],
        ]),
      );
      expect(samePort).toHaveLength(2);
      // The usual target keeps the short <task id>:<port>; another path on its own port is spelled out.
      expect(instances).toContain("c3c3c3:9100");
      expect(instances).toContain("m0m0m0:9901/stats/prometheus");
    },
  );

  /**
   * The fixture's ECS targets plus Cloud Map: the api tasks of prod and staging registered by ECS (same
   * address and port) and one instance of its own, merged as /sd serves them.
   */
  function withCloudMap(): DiscoveredTarget[] {
    const ecs = targetsOf();
    const ns = { id: "ns-1", name: "internal.example", httpName: "internal.example", type: "DNS_PRIVATE" };
    const svc = { id: "srv-1", name: "api", healthChecked: false };
    const opts = { portAttribute: "METRICS_PORT", pathAttribute: "METRICS_PATH", defaultPorts: new Map() };
    const instances = ecs
      .filter((t) => t.service === "api")
      .map((t, i) => {
        const [ip, port] = t.group.targets[0]!.split(":");
        const attributes = { AWS_INSTANCE_IPV4: ip!, AWS_INSTANCE_PORT: port!, ECS_CLUSTER_NAME: t.cluster! };
        return buildTarget(ns, svc, { id: `task-${i}`, attributes }, {}, opts);
      });
    instances.push(
      buildTarget(
        ns,
        svc,
        { id: "vm-1", attributes: { AWS_INSTANCE_IPV4: "10.9.0.1", AWS_INSTANCE_PORT: "9100" } },
        {},
        opts,
      ),
    );
    const cloudmap = instances.filter((t): t is DiscoveredTarget => "group" in t);
    expect(cloudmap).toHaveLength(5);
    return mergeTargets([...ecs, ...cloudmap]).targets.sort(compareTargets);
  }

  it.each(configs)("%s scrapes each endpoint once across its jobs", (file) => {
    const doc = parse(readFileSync(join(DIR, file), "utf8")) as {
      scrape_configs: (ScrapeJob & { http_sd_configs?: { url: string }[] })[];
    };
    const listed = withCloudMap();
    const scraped: string[] = [];
    for (const job of doc.scrape_configs)
      for (const { url } of job.http_sd_configs ?? []) {
        const query = Object.fromEntries(new URL(url).searchParams);
        const redirect = query.mode === "redirect";
        const groups = JSON.parse(
          renderSd(listed, parseFilter(query, ["mode"])).json.toString(),
        ) as SdGroup[];
        for (const g of groups) {
          // A redirect-mode target is answered with a 308 to the task: that task is the endpoint scraped.
          const l = redirect ? { __address__: g.targets[0]!, ...g.labels } : scrapeLabels(job, g);
          if (l) scraped.push(`${l.__address__}${l.__metrics_path__ ?? "/metrics"}`);
        }
      }
    const twice = scraped.filter((e, i) => scraped.indexOf(e) !== i);
    expect(twice, `${file} scrapes these twice`).toEqual([]);
    if (file === "http-sd-service.yml") expect(scraped).toHaveLength(listed.length);
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
