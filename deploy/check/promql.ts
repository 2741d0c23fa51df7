// Just enough PromQL reading to list the metric names and label names an expression uses, so dashboards
// and alerts can be checked against the metrics the code registers. Syntax is checked by promtool.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";

const KEYWORDS = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "count",
  "stddev",
  "topk",
  "bottomk",
  "quantile",
  "count_values",
  "group",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "time",
  "vector",
  "scalar",
  "rate",
  "irate",
  "increase",
  "delta",
  "idelta",
  "deriv",
  "abs",
  "absent",
  "clamp_min",
  "clamp_max",
  "histogram_quantile",
  "max_over_time",
  "min_over_time",
  "avg_over_time",
  "sum_over_time",
  "last_over_time",
  "label_replace",
  "label_values", // Grafana template query function
  "inf",
  "nan",
]);

export interface PromqlUse {
  /** Metric names used as selectors (`foo{...}`, bare `foo`). */
  metrics: string[];
  /** Regular expressions given as `__name__=~"..."`. */
  nameRegexes: string[];
  /** Label names in matchers and in by/without/on/ignoring lists. */
  labels: string[];
  /** Identifiers that are neither keywords nor metric-looking names: probably a typo. */
  unknown: string[];
}

/** Reads an expression; Grafana variables ($var, ${var}) are ignored. */
export function readPromql(expr: string, isMetric: (name: string) => boolean): PromqlUse {
  const labels: string[] = [];
  const nameRegexes: string[] = [];
  let rest = expr.replace(/\$\{?\w+\}?/g, " ");
  // Label matchers: {name op "value", ...}
  rest = rest.replace(/\{([^}]*)\}/g, (_, body: string) => {
    for (const m of body.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
      if (m[1] === "__name__" && m[2] === "=~") nameRegexes.push(m[3]!);
      else labels.push(m[1]!);
    }
    return " ";
  });
  // Grouping lists: by (a, b), without (...), on (...), ignoring (...), group_left (...)
  rest = rest.replace(
    /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_, _kw: string, list: string) => {
      for (const l of list.split(",").map((s) => s.trim())) if (l) labels.push(l);
      return " ";
    },
  );
  rest = rest.replace(/"(?:[^"\\]|\\.)*"/g, " ").replace(/\[[^\]]*\]/g, " ");
  const metrics: string[] = [];
  const unknown: string[] = [];
  for (const m of rest.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    if (KEYWORDS.has(word.toLowerCase())) continue;
    if (isMetric(word)) metrics.push(word);
    else unknown.push(word);
  }
  return { metrics, nameRegexes, labels, unknown };
}

interface GrafanaPanel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  panels?: GrafanaPanel[];
}
interface GrafanaVariable {
  name: string;
  type: string;
  query?: string | { query: string };
  current?: { value?: string };
}
export interface GrafanaDashboard {
  title: string;
  uid: string;
  panels: GrafanaPanel[];
  templating: { list: GrafanaVariable[] };
}

/** One PromQL query of a dashboard, named by its panel (or `variable <name>`). */
export interface DashboardQuery {
  panel: string;
  expr: string;
}

/** Grafana's label_values(selector, label) split into its PromQL selector and the label it lists. */
export const LABEL_VALUES = /^label_values\((.*),\s*(\w+)\)$/;

/** The panels (rows flattened away), every panel query, and the variables' label_values queries. */
export function dashboardQueries(file: string) {
  const dashboard = JSON.parse(readFileSync(file, "utf8")) as GrafanaDashboard;
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== "row");
  const exprs: DashboardQuery[] = panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
  );
  const variableQueries: DashboardQuery[] = dashboard.templating.list
    .filter((v) => v.type === "query")
    .map((v) => ({
      panel: `variable ${v.name}`,
      expr: typeof v.query === "string" ? v.query : v.query!.query,
    }));
  // The PromQL inside label_values(...), for the syntax and name checks.
  const variableSelectors = variableQueries.map((v) => ({
    ...v,
    expr: LABEL_VALUES.exec(v.expr)?.[1] ?? v.expr,
  }));
  return { dashboard, panels, exprs, variableQueries, variableSelectors };
}

/**
 * Runs `promtool <args> <file>` on a YAML document written to a temporary file: `check rules` on recording
 * rules made of dashboard queries, `test rules` on unit tests.
 */
export function promtool(args: string[], doc: unknown): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "promtool-"));
  try {
    const file = join(dir, "promtool.yml");
    writeFileSync(file, stringify(doc));
    const r = spawnSync("promtool", [...args, file], { encoding: "utf8", timeout: 60_000 });
    if (r.error)
      throw new Error(`promtool not runnable (${r.error.message}); install the Debian prometheus package`);
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A rule group with one recording rule per query, for `promtool check rules`. */
export function recordingRules(exprs: string[]) {
  const rules = exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr }));
  return { groups: [{ name: "dashboard", rules }] };
}
