// The Service Connect dashboard references only metric and label names the exporter emits (taken from
// exporter/, not copied), has cluster/service variables, and every query is valid PromQL (promtool).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { OPTIONS } from "../../core/config.js";
import { METRICS } from "../../exporter/catalog.js";
import { LABEL_NAMES, promName } from "../../exporter/names.js";
import { createExporterMetrics } from "../../exporter/selfmetrics.js";
import { readPromql } from "../../deploy/check/promql.js";

interface Target {
  expr: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
  current?: { value?: string };
}
interface Dashboard {
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync("deploy/grafana/service-connect.json", "utf8")) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== "row");
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
const variableQueries = dashboard.templating.list
  .filter((v) => v.type === "query")
  .map((v) => ({
    panel: `variable ${v.name}`,
    expr: typeof v.query === "string" ? v.query : v.query!.query,
  }));
/** Grafana's label_values(selector, label) split into its PromQL selector and the label it lists. */
const LABEL_VALUES = /^label_values\((.*),\s*(\w+)\)$/;
const variableSelectors = variableQueries.map((v) => ({
  ...v,
  expr: LABEL_VALUES.exec(v.expr)?.[1] ?? v.expr,
}));

/** Series names the exporter exports with its default statistics, and its own self-metrics. */
const EXPORTED = METRICS.flatMap((m) => m.defaultStats.map((s) => promName(m.name, s)));
const registry = new Registry();
createExporterMetrics(registry);
const SELF = registry.getMetricsAsArray().map((m) => m.name);
const ALLOWED = new Set([...EXPORTED, ...SELF]);
const ALLOWED_LABELS = new Set<string>(LABEL_NAMES);
const isMetric = (w: string) => /^[a-z_:][a-z0-9_:]*$/.test(w) && w.includes("_");

function check(expr: string): string[] {
  const use = readPromql(expr, isMetric);
  const problems: string[] = [];
  for (const m of use.metrics)
    if (!ALLOWED.has(m)) problems.push(`metric ${m} is not emitted by the exporter`);
  for (const re of use.nameRegexes) {
    const matched = [...ALLOWED].filter((n) => new RegExp(`^(?:${re})$`).test(n));
    if (matched.length === 0) problems.push(`__name__=~"${re}" matches no exported metric`);
  }
  for (const l of use.labels)
    if (!ALLOWED_LABELS.has(l)) problems.push(`label ${l} is not set by the exporter`);
  for (const u of use.unknown) problems.push(`unknown identifier ${u}`);
  return problems;
}

describe("deploy/grafana/service-connect.json", () => {
  it("charts the Service Connect families: requests, 5xx ratio, response time avg/max, connections, bytes", () => {
    const all = exprs.map((e) => e.expr).join("\n");
    for (const name of [
      "aws_ecs_request_count_sum",
      "aws_ecs_http_code_target_5xx_count_sum",
      "aws_ecs_target_response_time_average",
      "aws_ecs_target_response_time_maximum",
      "aws_ecs_active_connection_count_average",
      "aws_ecs_active_connection_count_maximum",
      "aws_ecs_processed_bytes_sum",
    ])
      expect(all).toContain(name);
    expect(panels.map((p) => p.title)).toEqual(
      expect.arrayContaining(["Request rate", "5xx ratio", "Response time"]),
    );
  });

  it("has cluster and service variables over the exporter's cluster_name / service_name labels", () => {
    const byName = new Map(variableQueries.map((v) => [v.panel, v.expr]));
    expect(byName.get("variable cluster")).toMatch(/label_values\(\w+, cluster_name\)/);
    expect(byName.get("variable service")).toMatch(
      /label_values\(\w+\{cluster_name=~"\$cluster"\}, service_name\)/,
    );
    for (const e of exprs)
      expect(e.expr, e.panel).toMatch(/ecs_bridge_|cluster_name=~"\$cluster", service_name=~"\$service"/);
  });

  it("the period variable defaults to exporter.periodSeconds (rates divide per-period sums by it)", () => {
    const period = dashboard.templating.list.find((v) => v.name === "period");
    const def = OPTIONS.find((o) => o.key === "exporter.periodSeconds")!.default;
    expect(period?.current?.value).toBe(String(def));
  });

  it("references only metric names and labels the exporter emits", () => {
    const problems = [...exprs, ...variableSelectors].flatMap((e) =>
      check(e.expr).map((p) => `${e.panel}: ${p}`),
    );
    expect(problems).toEqual([]);
    for (const v of variableQueries)
      expect(ALLOWED_LABELS, v.panel).toContain(LABEL_VALUES.exec(v.expr)?.[2]);
  });

  it("the name check fails on a metric the exporter does not emit", () => {
    expect(check('sum(aws_ecs_request_count_total{cluster_name=~"$cluster"})')).toEqual([
      "metric aws_ecs_request_count_total is not emitted by the exporter",
    ]);
    expect(check('sum by (cluster) ({__name__=~"aws_ecs_http_code_elb_.*"})')).toHaveLength(2);
  });

  it("every query is valid PromQL (promtool check rules)", () => {
    const dir = mkdtempSync(join(tmpdir(), "grafana-promql-"));
    try {
      const rules = [...exprs, ...variableSelectors].map((e, i) => ({
        record: `dashboard:query_${i}`,
        expr: e.expr.replace(/\$period/g, "60").replace(/\$\w+/g, ".*"),
      }));
      const file = join(dir, "dashboard-rules.yml");
      writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules }] }));
      const r = spawnSync("promtool", ["check", "rules", file], { encoding: "utf8", timeout: 30_000 });
      expect(r.error, "promtool not found: install the Debian prometheus package").toBeUndefined();
      expect(r.stdout + r.stderr).toContain(`SUCCESS: ${rules.length} rules found`);
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
