// The bridge's own dashboard (deploy/grafana/bridge.json): it charts every self-metric of core/metrics.ts,
// every query is valid PromQL (promtool), uses only metric and label names found in the bridge's real
// /metrics output, and promtool evaluates the key panels on series shaped as two bridge tasks emit them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSelfMetrics } from "../../core/metrics.js";
import {
  dashboardQueries,
  promtool,
  readPromql,
  recordingRules,
  LABEL_VALUES,
} from "../../deploy/check/promql.js";
import { defaultScenarioFile } from "../../cmd/demo.js";
import { startSimAws, type SimAws } from "../../sim/index.js";
import { bridgeOnSim } from "../helpers/bridge.js";
import type { Bridge } from "../../cmd/bridge.js";

const { panels, exprs, variableQueries, variableSelectors } = dashboardQueries("deploy/grafana/bridge.json");

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Sample lines of the Prometheus text format (what /metrics serves). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** Labels Prometheus adds to every scraped series. */
const SCRAPE_LABELS = ["job", "instance"];

let sim: SimAws;
let bridge: Bridge;
let scraped: Sample[];

// A bridge on the simulated AWS with process metrics on, as deployed; one throttled ListTasks and one
// failing cluster make the error, throttle and failure series exist too.
beforeAll(async () => {
  sim = await startSimAws({ scenario: defaultScenarioFile() });
  // A configured cluster that does not exist makes the absent-cluster series exist.
  bridge = await bridgeOnSim(
    sim,
    { BRIDGE_CLOUDMAP_ENABLED: "true", BRIDGE_CLUSTERS: "demo,demo-apps,decommissioned" },
    { defaultMetrics: true },
  );
  sim.throttleNext({ service: "ecs", operation: "ListTasks", count: 1 });
  await bridge.discovery.refreshOnce();
  sim.failCluster("demo");
  await bridge.discovery.refreshOnce();
  scraped = parseExposition(await (await fetch(`${bridge.url}/metrics`)).text());
});

afterAll(async () => {
  await bridge?.close();
  await sim?.close();
});

const isMetric = (w: string) => /^[a-z_:][a-z0-9_:]*$/.test(w) && w.includes("_");

function check(expr: string): string[] {
  const names = new Set(scraped.map((s) => s.name));
  const labels = new Set([...scraped.flatMap((s) => Object.keys(s.labels)), ...SCRAPE_LABELS]);
  const use = readPromql(expr, isMetric);
  return [
    ...use.metrics.filter((m) => !names.has(m)).map((m) => `metric ${m} is not on the bridge's /metrics`),
    ...use.labels.filter((l) => !labels.has(l)).map((l) => `label ${l} is on no series of the bridge`),
    ...use.nameRegexes.map((re) => `__name__=~"${re}": name the metric`),
    ...use.unknown.map((u) => `unknown identifier ${u}`),
  ];
}

/** The query as Grafana sends it with "All" jobs and bridge tasks. */
const instantiate = (expr: string) => expr.replace(/\$__rate_interval/g, "5m").replace(/\$\w+/g, ".*");

describe("deploy/grafana/bridge.json", () => {
  it("charts every self-metric of core/metrics.ts", async () => {
    const { registry } = createSelfMetrics({ defaults: false });
    const all = exprs.map((e) => e.expr).join("\n");
    for (const m of await registry.getMetricsAsJSON())
      expect(all, m.name).toMatch(new RegExp(`\\b${m.name}(_bucket)?\\{`));
    expect(panels.map((p) => p.title)).toEqual(
      expect.arrayContaining([
        "Units up",
        "Units failing",
        "Targets by source",
        "Skipped by reason",
        "AWS calls by operation",
        "AWS throttles by operation",
        "Refresh duration",
        "Last fully successful refresh",
      ]),
    );
  });

  it("has job and bridge-task variables, and every query selects by them", () => {
    expect(variableQueries.map((v) => LABEL_VALUES.exec(v.expr)?.[2])).toEqual(SCRAPE_LABELS);
    for (const e of exprs) expect(e.expr, e.panel).toContain('{job=~"$job", instance=~"$instance"}');
  });

  it("references only metric and label names of the bridge's real /metrics output", () => {
    expect(scraped.length).toBeGreaterThan(0);
    const problems = [...exprs, ...variableSelectors].flatMap((e) =>
      check(e.expr).map((p) => `${e.panel}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it("the name check fails on names the bridge does not emit", () => {
    expect(check('sum by (cluster) (ecs_bridge_unit_up{job=~"$job"})')).toEqual([
      "label cluster is on no series of the bridge",
    ]);
    expect(check("ecs_bridge_refresh_failures")).toEqual([
      "metric ecs_bridge_refresh_failures is not on the bridge's /metrics",
    ]);
  });

  it("every query is valid PromQL (promtool check rules)", () => {
    const queries = [...exprs, ...variableSelectors].map((e) => instantiate(e.expr));
    const r = promtool(["check", "rules"], recordingRules(queries));
    expect(r.output).toContain(`SUCCESS: ${queries.length} rules found`);
    expect(r.status).toBe(0);
  });
});

/**
 * promtool unit tests of the key panels. Input: the series of the real /metrics output above, scraped from
 * two bridge tasks (a rolling deploy): ecs_bridge_unit_up holds its scraped value (a failing unit is 0), the
 * other gauges distinct non-zero values (so a sum over the tasks differs from one copy), the same on both
 * tasks; counters grow by their scraped value each minute on each task; the last-success timestamps are
 * 300 s (task a) and 60 s (task b) old at 10m. Expected values are computed here from these series.
 */
const TASKS = ["10.0.1.5:9100", "10.0.2.7:9100"];
const EVAL_SECONDS = 600;
const AGE = [300, 60];

const labelText = (labels: Record<string, string>) =>
  `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(", ")}}`;

function expr(title: string, ref = 0): string {
  const panel = panels.find((p) => p.title === title);
  if (!panel?.targets?.[ref]) throw new Error(`no panel "${title}" with query ${ref}`);
  return instantiate(panel.targets[ref].expr);
}

const byName = (name: string) =>
  scraped
    .filter((s) => s.name === name)
    .map((s, i) =>
      name === "ecs_bridge_targets" || name === "ecs_bridge_skipped" ? { ...s, value: i + 1 } : s,
    );
const pick = (labels: Record<string, string>, keys: string[]) =>
  Object.fromEntries(keys.map((k) => [k, labels[k]!]));

function inputSeries() {
  const gauges = ["ecs_bridge_unit_up", "ecs_bridge_targets", "ecs_bridge_skipped"];
  const counters = ["ecs_bridge_aws_requests_total", "ecs_bridge_aws_throttles_total"];
  return TASKS.flatMap((instance, i) => {
    const series = (s: Sample) =>
      `${s.name}${labelText({ ...s.labels, job: "ecs-prometheus-bridge", instance })}`;
    return [
      ...gauges.flatMap(byName).map((s) => ({ series: series(s), values: `${s.value}x10` })),
      ...counters.flatMap(byName).map((s) => ({ series: series(s), values: `0+${s.value}x10` })),
      ...byName("ecs_bridge_last_success_timestamp_seconds").map((s) => ({
        series: series(s),
        values: `${EVAL_SECONDS - AGE[i]!}x10`,
      })),
    ];
  });
}

/** One expected sample per distinct label set of `name` (by `keys`), valued by `value`. */
function expected(name: string, keys: string[], value: (group: Sample[]) => number) {
  const groups = new Map<string, Sample[]>();
  for (const s of byName(name)) {
    const k = labelText(pick(s.labels, keys));
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  return [...groups].map(([labels, group]) => ({ labels, value: value(group) }));
}

function keyPanelTests(targetsServed = expr("Targets served")) {
  const units = byName("ecs_bridge_unit_up");
  const sum = (g: Sample[]) => g.reduce((n, s) => n + s.value, 0);
  return {
    tests: [
      {
        interval: "1m",
        input_series: inputSeries(),
        promql_expr_test: [
          {
            expr: expr("Units up"),
            exp_samples: [{ labels: "{}", value: units.filter((s) => s.value === 1).length }],
          },
          {
            expr: expr("Units failing"),
            exp_samples: [{ labels: "{}", value: units.filter((s) => s.value === 0).length }],
          },
          { expr: targetsServed, exp_samples: expected("ecs_bridge_targets", ["source"], sum) },
          {
            expr: expr("Skipped by reason"),
            exp_samples: expected("ecs_bridge_skipped", ["source", "reason"], sum),
          },
          // Calls per minute over both tasks: each task's counter grows by its scraped value a minute.
          ...["AWS calls by operation", "AWS throttles by operation"].map((title, i) => ({
            expr: `round(60 * (${expr(title)}))`,
            exp_samples: expected(
              ["ecs_bridge_aws_requests_total", "ecs_bridge_aws_throttles_total"][i]!,
              ["service", "operation"],
              (g) => TASKS.length * sum(g),
            ),
          })),
          {
            expr: expr("Last fully successful refresh"),
            exp_samples: expected("ecs_bridge_last_success_timestamp_seconds", ["source"], () =>
              Math.max(...AGE),
            ),
          },
        ].map((t) => ({ ...t, eval_time: `${EVAL_SECONDS}s` })),
      },
    ],
  };
}

describe("bridge.json key panels on two bridge tasks' series (promtool test rules)", () => {
  it("the scraped series cover a failing unit, both sources, throttles", () => {
    expect(byName("ecs_bridge_unit_up").some((s) => s.value === 0)).toBe(true);
    expect(new Set(byName("ecs_bridge_targets").map((s) => s.labels.source))).toEqual(
      new Set(["ecs", "cloudmap"]),
    );
    expect(byName("ecs_bridge_aws_throttles_total").length).toBeGreaterThan(0);
  });

  it("units up and failing, targets and skipped counted once, AWS calls and throttles summed, the oldest success age", () => {
    const r = promtool(["test", "rules"], keyPanelTests());
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  it("fails when a panel adds up the copies the bridge tasks report", () => {
    const summed = expr("Targets served").replace("max by (source)", "sum by (source)");
    expect(summed).not.toBe(expr("Targets served"));
    const r = promtool(["test", "rules"], keyPanelTests(summed));
    expect(r.output).toContain("FAILED");
    expect(r.status).not.toBe(0);
  });
});
