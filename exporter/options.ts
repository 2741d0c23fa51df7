// Options of the Service Connect CloudWatch exporter, and the rules that tie them together.
import cron from "node-cron";
import * as z from "../core/zod.js";
import {
  ConfigError,
  bool,
  int,
  list,
  oneOf,
  splitList,
  text,
  type OptionSpec,
} from "../core/config/spec.js";
import { closest } from "../core/config/suggest.js";
import { METRICS, type Statistic } from "./catalog.js";

const DIMENSION_SETS = ["3", "1"] as const;
const MODES = ["poll", "stream"] as const;
/** Shortest stream access key accepted: the key is the only thing between the internet and the series. */
const MIN_ACCESS_KEY_LENGTH = 16;
/** Paths the bridge already serves; the delivery route must not shadow them. */
const RESERVED_PATHS = ["/sd", "/metrics", "/healthz", "/readyz", "/status"];
const STATISTICS = ["Sum", "Average", "Maximum", "Minimum", "SampleCount"] as const satisfies Statistic[];

/** Stream mode: CloudWatch metric stream updates delivered by Amazon Data Firehose to an HTTP route. */
export interface StreamConfig {
  /** Compared with X-Amz-Firehose-Access-Key; required in stream mode. */
  accessKey?: string;
  path: string;
  maxBodyBytes: number;
  maxRecords: number;
  stalenessSeconds: number;
}

export interface ExporterConfig {
  enabled: boolean;
  mode: (typeof MODES)[number];
  stream: StreamConfig;
  schedule: string;
  periodSeconds: number;
  delaySeconds: number;
  stalenessSeconds: number;
  listMetricsTtlSeconds: number;
  dimensions: (typeof DIMENSION_SETS)[number];
  clusters: string[];
  services: string[];
  discoveryNames: string[];
  linkedAccounts: boolean;
  statistics: Record<string, string[]>;
}

const STAT_MAP_TEXT = "expected Metric=Stat[,Stat];Metric=Stat";
const metricNames = [...new Set(METRICS.map((m) => m.name))] as [string, ...string[]];

/** `RequestCount=Sum;TargetResponseTime=Average,Maximum` in env and flags, a map of lists in YAML. */
const statistics = z.preprocess(
  (v) => {
    if (typeof v !== "string") return v;
    const pairs = splitList(v, ";").map((pair) => pair.split("="));
    if (pairs.some(([metric, stats]) => !metric?.trim() || stats === undefined)) return v;
    return Object.fromEntries(pairs.map(([metric, stats]) => [metric!.trim(), stats]));
  },
  z.partialRecord(
    z.enum(metricNames),
    list(
      z.enum(STATISTICS, { error: `allowed statistics: ${STATISTICS.join(", ")}` }),
      "expected statistic names",
    ).refine((stats) => stats.length > 0, {
      error: `expected at least one statistic of ${STATISTICS.join(", ")}`,
    }),
    {
      error: (issue) => {
        // zod reports a key outside the enum as unrecognized_keys (its types say invalid_key).
        const unknown = issue as { code: string; keys?: PropertyKey[]; input?: unknown };
        if (unknown.code !== "unrecognized_keys" && unknown.code !== "invalid_key")
          return `expected a map of CloudWatch metric name to statistics (${STAT_MAP_TEXT})`;
        const name = String(unknown.keys?.[0] ?? unknown.input);
        const match = closest(name, metricNames);
        return `unknown metric ${JSON.stringify(name)}; ${match ? `did you mean ${match}?` : `known metrics: ${metricNames.join(", ")}`}`;
      },
    },
  ),
);

const cronExpression = z
  .string()
  .trim()
  .refine((s) => [5, 6].includes(s.split(/\s+/).length) && cron.validate(s), {
    error: "expected a node-cron expression with 5 or 6 fields, such as '*/5 * * * *'",
  });

const routePath = z
  .string()
  .trim()
  .regex(/^\/[A-Za-z0-9._~/-]*$/, {
    error: "expected a URL path starting with / (letters, digits, . _ ~ - /)",
  })
  .refine((p) => !RESERVED_PATHS.some((r) => p === r || p.startsWith(`${r}/`)) && p !== "/", {
    error: `expected a path of its own, not / or under ${RESERVED_PATHS.join(", ")}`,
  });

const STREAM_OPTIONS: readonly OptionSpec[] = [
  {
    key: "exporter.mode",
    env: "BRIDGE_EXPORTER_MODE",
    flag: "--exporter-mode",
    schema: oneOf(MODES),
    allowed: MODES,
    default: "poll",
    description:
      "`poll`: GetMetricData on exporter.schedule (billed per metric and statistic). `stream`: accept CloudWatch metric stream updates from Amazon Data Firehose on exporter.stream.path (billed per update).",
  },
  {
    key: "exporter.stream.accessKey",
    env: "BRIDGE_EXPORTER_STREAM_ACCESS_KEY",
    flag: "--exporter-stream-access-key",
    schema: text(),
    default: undefined,
    secret: true,
    description: `Stream mode: the Firehose HTTP endpoint access key (X-Amz-Firehose-Access-Key), at least ${MIN_ACCESS_KEY_LENGTH} characters. Required in stream mode.`,
  },
  {
    key: "exporter.stream.path",
    env: "BRIDGE_EXPORTER_STREAM_PATH",
    flag: "--exporter-stream-path",
    schema: routePath,
    default: "/firehose/metric-stream",
    description: "Stream mode: path of the Firehose delivery route (POST).",
  },
  {
    key: "exporter.stream.maxBodyBytes",
    env: "BRIDGE_EXPORTER_STREAM_MAX_BODY_BYTES",
    flag: "--exporter-stream-max-body-bytes",
    schema: int(1024, 128 * 1024 * 1024),
    default: 64 * 1024 * 1024,
    description:
      "Stream mode: largest delivery body accepted, after gzip decoding (Firehose buffers at most 64 MiB); larger answers 413.",
  },
  {
    key: "exporter.stream.maxRecords",
    env: "BRIDGE_EXPORTER_STREAM_MAX_RECORDS",
    flag: "--exporter-stream-max-records",
    schema: int(1, 1_000_000),
    default: 100_000,
    description: "Stream mode: most records accepted in one delivery; more answers 400.",
  },
  {
    key: "exporter.stream.stalenessSeconds",
    env: "BRIDGE_EXPORTER_STREAM_STALENESS_SECONDS",
    flag: "--exporter-stream-staleness-seconds",
    schema: int(60, 86400),
    default: 600,
    description:
      "Stream mode: a series with no update newer than this is dropped (never frozen, never 0). Allow for the Firehose buffering interval.",
  },
];

export const EXPORTER_OPTIONS: readonly OptionSpec[] = [
  {
    key: "exporter.enabled",
    env: "BRIDGE_EXPORTER_ENABLED",
    flag: "--exporter-enabled",
    schema: bool(),
    bool: true,
    default: false,
    description: "Export ECS Service Connect CloudWatch metrics on /metrics.",
  },
  {
    key: "exporter.schedule",
    env: "BRIDGE_EXPORTER_SCHEDULE",
    flag: "--exporter-schedule",
    schema: cronExpression,
    default: "*/5 * * * *",
    description:
      "node-cron schedule of CloudWatch collections (5 or 6 fields). Each collection is billed per metric requested: every minute costs 5x every 5 minutes.",
  },
  {
    key: "exporter.periodSeconds",
    env: "BRIDGE_EXPORTER_PERIOD_SECONDS",
    flag: "--exporter-period-seconds",
    schema: int(60, 86400),
    default: 300,
    description:
      "CloudWatch period; a multiple of 60 (match it to the schedule). Each query window spans two periods; the newest point in it is exported.",
  },
  {
    key: "exporter.delaySeconds",
    env: "BRIDGE_EXPORTER_DELAY_SECONDS",
    flag: "--exporter-delay-seconds",
    schema: int(0, 3600),
    default: 120,
    description: "How far the window end is held back for CloudWatch ingestion lag.",
  },
  {
    key: "exporter.stalenessSeconds",
    env: "BRIDGE_EXPORTER_STALENESS_SECONDS",
    flag: "--exporter-staleness-seconds",
    schema: int(60, 86400),
    default: 900,
    description: "A series with no new datapoint for this long is dropped (never frozen, never 0).",
  },
  {
    key: "exporter.listMetricsTtlSeconds",
    env: "BRIDGE_EXPORTER_LIST_METRICS_TTL_SECONDS",
    flag: "--exporter-list-metrics-ttl-seconds",
    schema: int(0, 86400),
    default: 900,
    description: "How long the ListMetrics series discovery is cached.",
  },
  {
    key: "exporter.dimensions",
    env: "BRIDGE_EXPORTER_DIMENSIONS",
    flag: "--exporter-dimensions",
    schema: oneOf(DIMENSION_SETS),
    allowed: DIMENSION_SETS,
    default: "3",
    description:
      "Dimension set exported per family: `3` (+ServiceName, ClusterName) or `1` (DiscoveryName / TargetDiscoveryName only). Never both.",
  },
  {
    key: "exporter.clusters",
    env: "BRIDGE_EXPORTER_CLUSTERS",
    flag: "--exporter-clusters",
    schema: list(),
    default: [],
    description: "Only export series of these cluster names (3-dimension set). Empty: all.",
  },
  {
    key: "exporter.services",
    env: "BRIDGE_EXPORTER_SERVICES",
    flag: "--exporter-services",
    schema: list(),
    default: [],
    description: "Only export series of these service names (3-dimension set). Empty: all.",
  },
  {
    key: "exporter.discoveryNames",
    env: "BRIDGE_EXPORTER_DISCOVERY_NAMES",
    flag: "--exporter-discovery-names",
    schema: list(),
    default: [],
    description: "Only export series of these discovery names. Empty: all.",
  },
  {
    key: "exporter.linkedAccounts",
    env: "BRIDGE_EXPORTER_LINKED_ACCOUNTS",
    flag: "--exporter-linked-accounts",
    schema: bool(),
    bool: true,
    default: false,
    description:
      "The account read is a CloudWatch cross-account observability monitoring account: export its linked source accounts' series too (ListMetrics IncludeLinkedAccounts; each query names the owning account, the account_id label). Their metrics are billed here.",
  },
  {
    key: "exporter.statistics",
    env: "BRIDGE_EXPORTER_STATISTICS",
    flag: "--exporter-statistics",
    schema: statistics,
    allowed: STATISTICS,
    default: {},
    description:
      "Statistics per CloudWatch metric overriding the defaults, e.g. `RequestCount=Sum;TargetResponseTime=Average,Maximum` (YAML: map of lists).",
  },
  ...STREAM_OPTIONS,
];

export function checkExporterConfig(cfg: ExporterConfig): void {
  if (cfg.periodSeconds % 60 !== 0)
    throw new ConfigError(
      `invalid exporter.periodSeconds: got ${cfg.periodSeconds}; expected a multiple of 60`,
    );
  // The newest point of a window is delay+period to delay+2*period old when fetched; a shorter staleness
  // would drop every series on arrival.
  const minStaleness = cfg.delaySeconds + 2 * cfg.periodSeconds;
  if (cfg.stalenessSeconds < minStaleness)
    throw new ConfigError(
      `invalid exporter.stalenessSeconds: got ${cfg.stalenessSeconds}; expected at least exporter.delaySeconds + 2 * exporter.periodSeconds (${minStaleness})`,
    );
  if (cfg.enabled && cfg.mode === "stream" && (cfg.stream.accessKey ?? "").length < MIN_ACCESS_KEY_LENGTH)
    throw new ConfigError(
      `invalid exporter.stream.accessKey: stream mode needs an access key of at least ${MIN_ACCESS_KEY_LENGTH} characters (the Firehose HTTP endpoint access key)`,
    );
  if (cfg.dimensions === "1" && (cfg.clusters.length > 0 || cfg.services.length > 0))
    throw new ConfigError(
      "invalid exporter.clusters/exporter.services: the 1-dimension set has no ClusterName or ServiceName; use exporter.dimensions=3 or exporter.discoveryNames",
    );
}
