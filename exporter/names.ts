// Prometheus names, labels and HELP text for CloudWatch series, following the naming of the two
// CloudWatch exporters users already know: aws_<namespace>_<snake_metric>_<snake_stat>.
import type { MetricSpec, Statistic } from "./catalog.js";

export const PREFIX = "aws_ecs_";

/** Every label an exported series may carry; each gauge declares all of them so both families can share a name. */
export const LABEL_NAMES = [
  "cluster_name",
  "service_name",
  "discovery_name",
  "target_discovery_name",
  "region",
  "account_id",
] as const;

export type LabelName = (typeof LABEL_NAMES)[number];
export type Labels = Partial<Record<LabelName, string>>;

/** CloudWatch dimension name -> label name. */
const DIMENSION_LABELS: Record<string, LabelName> = {
  ClusterName: "cluster_name",
  ServiceName: "service_name",
  DiscoveryName: "discovery_name",
  TargetDiscoveryName: "target_discovery_name",
};

/**
 * CamelCase -> snake_case. An underscore goes between a lower-case letter and an upper-case one, and before
 * the last capital of an acronym followed by lower case ("HTTPCode" -> "http_code"); digits stay glued to
 * what follows, so "2XX" stays "2xx".
 */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/([0-9])([A-Z][a-z])/g, "$1_$2")
    .replace(/[^a-zA-Z0-9_]/g, "_")
    .replace(/_+/g, "_")
    .toLowerCase();
}

export function promName(metric: string, stat: Statistic): string {
  return `${PREFIX}${snakeCase(metric)}_${snakeCase(stat)}`;
}

export function helpText(spec: MetricSpec, stat: Statistic, periodSeconds: number): string {
  const unit = spec.unit === "Milliseconds" ? "milliseconds" : spec.unit === "Bytes" ? "bytes" : "count";
  return (
    `CloudWatch AWS/ECS ${spec.name} (ECS Service Connect, by ${spec.family}), statistic ${stat} over ` +
    `${periodSeconds}s, unit ${unit}; newest datapoint of the delayed window, exported without a timestamp.`
  );
}

/**
 * Labels of one series. Empty values are left out: to Prometheus an empty label and a missing one are the same,
 * and the 1-dimension set has no cluster or service.
 */
export function seriesLabels(
  dimensions: Readonly<Record<string, string>>,
  region: string,
  accountId: string | undefined,
): Labels {
  const out: Labels = {};
  // Fixed order keeps the exposition stable whatever order CloudWatch lists the dimensions in.
  for (const label of LABEL_NAMES) {
    const dim = Object.keys(DIMENSION_LABELS).find((d) => DIMENSION_LABELS[d] === label);
    const value = dim ? dimensions[dim] : label === "region" ? region : accountId;
    if (value) out[label] = value;
  }
  return out;
}
