// Generates the CloudWatch series ECS Service Connect publishes (namespace AWS/ECS) for one discovery name:
// the DiscoveryName family and the TargetDiscoveryName family, each with 1 and 3 dimensions, like AWS.
import type { MetricSeriesSpec, ServiceConnectSpec, Statistic, ValueSpec } from "./types.js";

interface MetricDef {
  name: string;
  unit: string;
  /** Per-minute base value at scale 1. */
  base: number;
  stats?: Partial<Record<Statistic, ValueSpec>>;
}

const wave = (base: number, integer = true): ValueSpec => ({
  base,
  amplitude: base * 0.2,
  cycleSeconds: 3600,
  integer,
});

export const DISCOVERY_NAME_METRICS: readonly MetricDef[] = [
  { name: "ActiveConnectionCount", unit: "Count", base: 12, stats: { Maximum: wave(20) } },
  { name: "NewConnectionCount", unit: "Count", base: 30 },
  { name: "ProcessedBytes", unit: "Bytes", base: 480_000 },
  { name: "RequestCount", unit: "Count", base: 600 },
  { name: "GrpcRequestCount", unit: "Count", base: 0 },
  { name: "ClientTLSNegotiationErrorCount", unit: "Count", base: 0 },
];

export const TARGET_DISCOVERY_NAME_METRICS: readonly MetricDef[] = [
  { name: "HTTPCode_Target_2XX_Count", unit: "Count", base: 570 },
  { name: "HTTPCode_Target_3XX_Count", unit: "Count", base: 6 },
  { name: "HTTPCode_Target_4XX_Count", unit: "Count", base: 18 },
  { name: "HTTPCode_Target_5XX_Count", unit: "Count", base: 6 },
  { name: "RequestCountPerTarget", unit: "Count", base: 300 },
  { name: "TargetProcessedBytes", unit: "Bytes", base: 450_000 },
  {
    name: "TargetResponseTime",
    unit: "Milliseconds",
    base: 25,
    stats: { Maximum: wave(120, false), Minimum: wave(3, false) },
  },
  { name: "TargetTLSNegotiationErrorCount", unit: "Count", base: 0 },
];

export function serviceConnectSeries(spec: ServiceConnectSpec): MetricSeriesSpec[] {
  const scale = spec.scale ?? 1;
  const sets = spec.dimensionSets ?? ["1", "3"];
  const out: MetricSeriesSpec[] = [];
  const families: [string, readonly MetricDef[]][] = [
    ["DiscoveryName", DISCOVERY_NAME_METRICS],
    ["TargetDiscoveryName", TARGET_DISCOVERY_NAME_METRICS],
  ];
  for (const [dimension, metrics] of families) {
    for (const set of sets) {
      const dimensions: Record<string, string> =
        set === "3"
          ? { ClusterName: spec.cluster, ServiceName: spec.service, [dimension]: spec.discoveryName }
          : { [dimension]: spec.discoveryName };
      for (const m of metrics) {
        const integer = m.unit !== "Milliseconds";
        const scaled = m.unit === "Milliseconds" ? m.base : m.base * scale;
        out.push({
          namespace: "AWS/ECS",
          metricName: m.name,
          dimensions,
          unit: m.unit,
          ...(spec.region ? { region: spec.region } : {}),
          value: scaled === 0 ? 0 : wave(scaled, integer),
          stats: { SampleCount: 60, ...m.stats },
        });
      }
    }
  }
  return out;
}
