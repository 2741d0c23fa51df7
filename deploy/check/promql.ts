// Just enough PromQL reading to list the metric names and label names an expression uses, so dashboards
// and alerts can be checked against the metrics the code registers. Syntax is checked by promtool.

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
