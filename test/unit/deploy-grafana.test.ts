// The Service Connect dashboard references only metric and label names the exporter emits (taken from
// exporter/, not copied), has cluster/service variables, and every query is valid PromQL (promtool).
import { describe, expect, it } from "vitest";
import { OPTIONS } from "../../cmd/config.js";
import { METRICS } from "../../exporter/catalog.js";
import { LABEL_NAMES, promName } from "../../exporter/names.js";
import { createExporterMetrics } from "../../exporter/selfmetrics.js";
import { Registry } from "prom-client";
import {
  LABEL_VALUES,
  dashboardQueries,
  promtool,
  readPromql,
  recordingRules,
} from "../../deploy/check/promql.js";

const { dashboard, panels, exprs, variableQueries, variableSelectors } = dashboardQueries(
  "deploy/grafana/service-connect.json",
);

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
  // __name__ (grouping by metric name) is on every series.
  for (const l of use.labels)
    if (!ALLOWED_LABELS.has(l) && l !== "__name__") problems.push(`label ${l} is not set by the exporter`);
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
    const queries = [...exprs, ...variableSelectors].map((e) =>
      e.expr.replace(/\$period/g, "60").replace(/\$\w+/g, ".*"),
    );
    const r = promtool(["check", "rules"], recordingRules(queries));
    expect(r.output).toContain(`SUCCESS: ${queries.length} rules found`);
    expect(r.status).toBe(0);
  });
});

/**
 * Two bridge tasks (rolling deploy, DesiredCount > 1) export the same CloudWatch series, and Prometheus keeps
 * both copies, told apart only by the scrape labels (instance, job). The fixture holds two epochs of the same
 * values: minutes 0-10 with one bridge ("a"), minutes 20-30 with a second one ("b") exporting copies of most
 * series (a new task has not collected everything yet). A panel is right when it shows at minute 25 what the
 * query without its de-duplication shows at minute 5. Series differ in every exporter label (and the status
 * classes in the metric name), so a de-duplication that merges distinct series changes the result too.
 */
const SCOPES = [
  { cluster_name: "prod", region: "eu-west-1", account_id: "111111111111" },
  { cluster_name: "staging", region: "eu-west-1", account_id: "111111111111" },
  { cluster_name: "prod", region: "us-east-1", account_id: "111111111111" },
  { cluster_name: "prod", region: "eu-west-1", account_id: "222222222222" },
];
const SHIFT = "20m";
function duplicatedSeries(): { series: string; values: string }[] {
  const out: { series: string; values: string }[] = [];
  let n = 0;
  for (const m of METRICS)
    for (const stat of m.defaultStats)
      for (const scope of SCOPES)
        for (const service of ["web", "api"])
          for (const name of ["orders", "users"]) {
            n += 1;
            const family = m.family === "DiscoveryName" ? "discovery_name" : "target_discovery_name";
            const labels = Object.entries({ ...scope, service_name: service, [family]: name })
              .map(([k, v]) => `${k}="${v}"`)
              .join(", ");
            const metric = promName(m.name, stat);
            const scraped = (instance: string) =>
              `${metric}{${labels}, job="ecs-prometheus-bridge", instance="${instance}"}`;
            // 11 samples a minute apart, 9 missing (older than the 5m lookback at minute 25), 11 again.
            out.push({ series: scraped("a"), values: `${n}+0x10 _x9 ${n}+0x10` });
            if (n % 3 !== 0) out.push({ series: scraped("b"), values: `_x20 ${n}+0x10` });
          }
  return out;
}

/** The query as Grafana sends it with "All" clusters and services. */
const instantiate = (expr: string) => expr.replace(/\$period/g, "300").replace(/\$\w+/g, ".*");
const SELECTOR = /(?:aws_ecs_\w+\{[^}]*\}|\{[^}]*__name__=~"aws_ecs_[^}]*\})/g;
/** The de-duplication step: `max by (...) (<selector>)` directly around an aws_ecs_ selector. */
const DEDUP = new RegExp(`max by \\(([^)]*)\\) \\((\\s*${SELECTOR.source}\\s*)\\)`, "g");

/**
 * The query as the panel meant it before several bridges existed: the de-duplication step removed, read SHIFT
 * earlier, when one bridge exported one copy of each series.
 */
function earlier(expr: string): string {
  const bare = /(?<![\w"])aws_ecs_\w+(?!\w|\s*\{)/.exec(expr);
  if (bare) throw new Error(`${bare[0]} without a label matcher: give it {cluster_name=~"$cluster", ...}`);
  // Every `}` in these queries closes a selector (no braces inside the matcher strings).
  return expr.replace(DEDUP, "$2").replace(/\}(\s*\[[^\]]*\])?/g, (s) => `${s} offset ${SHIFT}`);
}

/** promtool unit tests: each query over the duplicated series equals the plain query over single copies. */
function dedupTests(queries: string[]) {
  return {
    tests: [
      {
        interval: "1m",
        input_series: duplicatedSeries(),
        promql_expr_test: queries.flatMap((expr) => {
          const now = instantiate(expr);
          const one = instantiate(earlier(expr));
          return [
            // Same label sets, same values; any difference is a sample.
            {
              expr: `((${now}) != (${one})) or ((${now}) unless (${one})) or ((${one}) unless (${now}))`,
              eval_time: "25m",
              exp_samples: [],
            },
            // ...and the comparison is not between two empty results.
            { expr: `count(${one}) > bool 0`, eval_time: "25m", exp_samples: [{ labels: "{}", value: 1 }] },
          ];
        }),
      },
    ],
  };
}

/** Grouping lists of the `max by (...)` directly around each aws_ecs_ selector; undefined where there is none. */
function dedupLabels(expr: string): { selector: string; labels?: string[] }[] {
  const wrapped = new Map([...expr.matchAll(DEDUP)].map((m) => [m[2]!.trim(), m[1]!.split(/,\s*/)]));
  return [...expr.matchAll(SELECTOR)].map(([selector]) => ({ selector, labels: wrapped.get(selector) }));
}

describe("service-connect.json with more than one bridge task", () => {
  const cloudwatch = exprs.filter((e) => e.expr.includes("aws_ecs_"));

  it("every Service Connect query shows each CloudWatch series once, however many bridge tasks export it", () => {
    expect(cloudwatch.length).toBeGreaterThanOrEqual(10);
    const r = promtool(["test", "rules"], dedupTests(cloudwatch.map((e) => e.expr)));
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("de-duplicates by exactly the exporter's labels (and the name, for several names): scrape labels go", () => {
    for (const e of cloudwatch)
      for (const { selector, labels } of dedupLabels(e.expr)) {
        const names = selector.includes("__name__") ? ["__name__"] : [];
        expect(new Set(labels), `${e.panel}: ${selector}`).toEqual(new Set([...LABEL_NAMES, ...names]));
      }
  });

  it("the checks fail on a sum over the copies and on a de-duplication that merges distinct series", () => {
    const all = LABEL_NAMES.join(", ");
    const sel = '{cluster_name=~"$cluster"}';
    const classes = `{__name__=~"aws_ecs_http_code_target_[2345]xx_count_sum", cluster_name=~"$cluster"}`;
    const bad = [
      `sum by (service_name) (aws_ecs_request_count_sum${sel})`,
      `sum by (service_name) (max by (${all.replace(", region", "")}) (aws_ecs_request_count_sum${sel}))`,
      `sum by (service_name) (max by (${all}) (${classes}))`,
    ];
    for (const expr of bad) {
      const r = promtool(["test", "rules"], dedupTests([expr]));
      expect(r.output, expr).toMatch(/FAILED:\s+expr: .*\n\s+exp: nil\n\s+got: \{service_name=/);
      expect(r.status).not.toBe(0);
    }
    expect(dedupLabels(bad[0]!)).toEqual([{ selector: `aws_ecs_request_count_sum${sel}` }]);
    expect(dedupLabels(bad[1]!)[0]!.labels).not.toContain("region");
    expect(dedupLabels(bad[2]!)[0]!.labels).not.toContain("__name__");
  });
});
