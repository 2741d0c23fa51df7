// The ECS Service Connect metrics published to CloudWatch (namespace AWS/ECS): two families, each keyed
// by its own discovery-name dimension, with the unit CloudWatch reports and the default statistics.

export const NAMESPACE = "AWS/ECS";

export type FamilyDimension = "DiscoveryName" | "TargetDiscoveryName";
export type Statistic = "Sum" | "Average" | "Maximum" | "Minimum" | "SampleCount";

export interface MetricSpec {
  name: string;
  family: FamilyDimension;
  /** CloudWatch unit, named in the HELP text. */
  unit: "Count" | "Bytes" | "Milliseconds";
  defaultStats: readonly Statistic[];
}

const SUM: readonly Statistic[] = ["Sum"];
const AVG_MAX: readonly Statistic[] = ["Average", "Maximum"];

export const METRICS: readonly MetricSpec[] = [
  { name: "ActiveConnectionCount", family: "DiscoveryName", unit: "Count", defaultStats: AVG_MAX },
  { name: "NewConnectionCount", family: "DiscoveryName", unit: "Count", defaultStats: SUM },
  { name: "ProcessedBytes", family: "DiscoveryName", unit: "Bytes", defaultStats: SUM },
  { name: "RequestCount", family: "DiscoveryName", unit: "Count", defaultStats: SUM },
  { name: "GrpcRequestCount", family: "DiscoveryName", unit: "Count", defaultStats: SUM },
  { name: "ClientTLSNegotiationErrorCount", family: "DiscoveryName", unit: "Count", defaultStats: SUM },
  { name: "HTTPCode_Target_2XX_Count", family: "TargetDiscoveryName", unit: "Count", defaultStats: SUM },
  { name: "HTTPCode_Target_3XX_Count", family: "TargetDiscoveryName", unit: "Count", defaultStats: SUM },
  { name: "HTTPCode_Target_4XX_Count", family: "TargetDiscoveryName", unit: "Count", defaultStats: SUM },
  { name: "HTTPCode_Target_5XX_Count", family: "TargetDiscoveryName", unit: "Count", defaultStats: SUM },
  { name: "RequestCountPerTarget", family: "TargetDiscoveryName", unit: "Count", defaultStats: SUM },
  { name: "TargetProcessedBytes", family: "TargetDiscoveryName", unit: "Bytes", defaultStats: SUM },
  { name: "TargetResponseTime", family: "TargetDiscoveryName", unit: "Milliseconds", defaultStats: AVG_MAX },
  { name: "TargetTLSNegotiationErrorCount", family: "TargetDiscoveryName", unit: "Count", defaultStats: SUM },
];

export const FAMILIES: readonly FamilyDimension[] = ["DiscoveryName", "TargetDiscoveryName"];

const BY_KEY = new Map(METRICS.map((m) => [`${m.family}/${m.name}`, m]));

export function findMetric(family: FamilyDimension, name: string): MetricSpec | undefined {
  return BY_KEY.get(`${family}/${name}`);
}

/** Statistics per CloudWatch metric name: the defaults with exporter.statistics overrides (validated) applied. */
export function resolveStatistics(overrides: Record<string, string[]>): Map<string, readonly Statistic[]> {
  const out = new Map<string, readonly Statistic[]>();
  for (const m of METRICS) {
    const chosen = (overrides[m.name] as Statistic[] | undefined) ?? m.defaultStats;
    out.set(m.name, [...new Set(chosen)]);
  }
  return out;
}
