// Prometheus names, labels and HELP text for CloudWatch series, following the naming of the two
// CloudWatch exporters users already know: aws_<namespace>_<snake_metric>_<snake_stat>.
import type { MetricSpec, Statistic } from "./catalog.js";

export const PREFIX = "aws_ecs_";

// Label names, each spelled once: the exporter's code refers to these constants only.
export const CLUSTER_NAME = "cluster_name";
export const SERVICE_NAME = "service_name";
export const DISCOVERY_NAME = "discovery_name";
export const TARGET_DISCOVERY_NAME = "target_discovery_name";
export const REGION = "region";
export const ACCOUNT_ID = "account_id";

/** Labels of the exporter's self-metrics. */
export const SCOPE = "scope";
export const API = "api";
export const CODE = "code";

/**
 * Every label an exported series may carry, in exposition order; each gauge declares all of them so both
 * families can share a name.
 */
export const LABEL_NAMES = [
  CLUSTER_NAME,
  SERVICE_NAME,
  DISCOVERY_NAME,
  TARGET_DISCOVERY_NAME,
  REGION,
  ACCOUNT_ID,
] as const;

export type LabelName = (typeof LABEL_NAMES)[number];
export type Labels = Partial<Record<LabelName, string>>;

/** Label name -> the CloudWatch dimension it comes from. */
const LABEL_DIMENSIONS: Partial<Record<LabelName, string>> = {
  [CLUSTER_NAME]: "ClusterName",
  [SERVICE_NAME]: "ServiceName",
  [DISCOVERY_NAME]: "DiscoveryName",
  [TARGET_DISCOVERY_NAME]: "TargetDiscoveryName",
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
    const dim = LABEL_DIMENSIONS[label];
    const value = dim ? dimensions[dim] : label === REGION ? region : accountId;
    if (value) out[label] = value;
  }
  return out;
}
