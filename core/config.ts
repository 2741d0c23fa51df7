// One typed configuration object, built from defaults < YAML file < environment < CLI flags.
// The option table below is the single source of truth: parsing, validation, error messages and the
// README's configuration table are all derived from it.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type OptInMode = "labels" | "port-name" | "all-named-ports";
export type HealthFilter = "HEALTHY" | "ALL" | "HEALTHY_OR_ELSE_ALL";

export interface AccountConfig {
  roleArn: string;
  externalId?: string;
}

export interface Config {
  regions: string[];
  clusters: string[];
  accounts: AccountConfig[];
  refreshIntervalSeconds: number;
  listen: { host: string; port: number };
  auth: { bearerToken?: string; basicUser?: string; basicPassword?: string };
  logLevel: LogLevel;
  aws: { maxAttempts: number; maxConcurrency: number };
  ecs: {
    enabled: boolean;
    optIn: OptInMode[];
    labelPrefix: string;
    portName: string;
    taskTags: boolean;
    containerInstanceTtlSeconds: number;
    taskDefinitionCacheSize: number;
  };
  cloudmap: {
    enabled: boolean;
    namespaces: string[];
    healthStatus: HealthFilter;
    servicesTtlSeconds: number;
    defaultPort?: number;
    /** `namespace=port` or `namespace/service=port`, parsed by the Cloud Map source. */
    defaultPorts: string[];
    portAttribute: string;
    pathAttribute: string;
  };
  exporter: {
    enabled: boolean;
    schedule: string;
    periodSeconds: number;
    lengthSeconds: number;
    delaySeconds: number;
    stalenessSeconds: number;
    listMetricsTtlSeconds: number;
    dimensions: "3" | "1";
    clusters: string[];
    services: string[];
    discoveryNames: string[];
    statistics: Record<string, string[]>;
  };
  lambda: { cacheSeconds: number; sharedSecret?: string; secretHeader: string; publicUrl?: string };
}

type Kind = "string" | "int" | "bool" | "list" | "enum" | "enumList" | "accounts" | "statMap" | "cron";

export interface OptionSpec {
  /** Dotted path in the config object and the YAML file. */
  key: string;
  env: string;
  flag: string;
  kind: Kind;
  default: unknown;
  description: string;
  allowed?: readonly string[];
  min?: number;
  max?: number;
  /** Never printed: the value is a credential. */
  secret?: boolean;
}

const STATS = ["Sum", "Average", "Maximum", "Minimum", "SampleCount"] as const;

export const OPTIONS: readonly OptionSpec[] = [
  {
    key: "regions",
    env: "BRIDGE_REGIONS",
    flag: "--regions",
    kind: "list",
    default: [],
    description: "AWS regions to discover in (comma-separated). Empty: AWS_REGION / AWS_DEFAULT_REGION.",
  },
  {
    key: "clusters",
    env: "BRIDGE_CLUSTERS",
    flag: "--clusters",
    kind: "list",
    default: [],
    description: "ECS cluster names or ARNs. Empty: every cluster (ListClusters).",
  },
  {
    key: "accounts",
    env: "BRIDGE_ACCOUNTS",
    flag: "--accounts",
    kind: "accounts",
    default: [],
    description:
      "Roles to assume, one per account: `roleArn` or `roleArn|externalId`, comma-separated (YAML: list of {roleArn, externalId}). Empty: the default credential chain only.",
  },
  {
    key: "refreshIntervalSeconds",
    env: "BRIDGE_REFRESH_INTERVAL_SECONDS",
    flag: "--refresh-interval-seconds",
    kind: "int",
    default: 30,
    min: 5,
    max: 3600,
    description:
      "Seconds between discovery refreshes, at most: each wait is up to 10% shorter at random, so bridges do not call AWS in step.",
  },
  {
    key: "listen.host",
    env: "BRIDGE_LISTEN_HOST",
    flag: "--listen-host",
    kind: "string",
    default: "0.0.0.0",
    description: "Address the HTTP server binds to.",
  },
  {
    key: "listen.port",
    env: "BRIDGE_LISTEN_PORT",
    flag: "--listen-port",
    kind: "int",
    default: 9100,
    min: 0,
    max: 65535,
    description: "HTTP port for /sd, /metrics, /healthz, /readyz (0: any free port).",
  },
  {
    key: "auth.bearerToken",
    env: "BRIDGE_AUTH_BEARER_TOKEN",
    flag: "--auth-bearer-token",
    kind: "string",
    default: undefined,
    secret: true,
    description: "If set, /sd and /metrics require `Authorization: Bearer <token>`.",
  },
  {
    key: "auth.basicUser",
    env: "BRIDGE_AUTH_BASIC_USER",
    flag: "--auth-basic-user",
    kind: "string",
    default: undefined,
    description: "If set (with auth.basicPassword), /sd and /metrics require HTTP basic auth.",
  },
  {
    key: "auth.basicPassword",
    env: "BRIDGE_AUTH_BASIC_PASSWORD",
    flag: "--auth-basic-password",
    kind: "string",
    default: undefined,
    secret: true,
    description: "Basic auth password (with auth.basicUser).",
  },
  {
    key: "logLevel",
    env: "BRIDGE_LOG_LEVEL",
    flag: "--log-level",
    kind: "enum",
    allowed: ["debug", "info", "warn", "error"],
    default: "info",
    description: "Minimum level of the JSON log lines written to stdout.",
  },
  {
    key: "aws.maxAttempts",
    env: "BRIDGE_AWS_MAX_ATTEMPTS",
    flag: "--aws-max-attempts",
    kind: "int",
    default: 5,
    min: 1,
    max: 20,
    description: "Attempts per AWS call (SDK adaptive retry with backoff on throttling and 5xx).",
  },
  {
    key: "aws.maxConcurrency",
    env: "BRIDGE_AWS_MAX_CONCURRENCY",
    flag: "--aws-max-concurrency",
    kind: "int",
    default: 4,
    min: 1,
    max: 64,
    description:
      "AWS calls in flight at once per account and region (keeps ECS token buckets from draining).",
  },
  {
    key: "ecs.enabled",
    env: "BRIDGE_ECS_ENABLED",
    flag: "--ecs-enabled",
    kind: "bool",
    default: true,
    description: "Discover ECS tasks.",
  },
  {
    key: "ecs.optIn",
    env: "BRIDGE_ECS_OPT_IN",
    flag: "--ecs-opt-in",
    kind: "enumList",
    allowed: ["labels", "port-name", "all-named-ports"],
    default: ["labels"],
    description:
      "How a container opts in: `labels` (dockerLabels <prefix>PORT, _PATH, _SCHEME, _JOB_NAME, numbered _PORT_1...), `port-name` (a port mapping named ecs.portName), `all-named-ports`.",
  },
  {
    key: "ecs.labelPrefix",
    env: "BRIDGE_ECS_LABEL_PREFIX",
    flag: "--ecs-label-prefix",
    kind: "string",
    default: "PROMETHEUS_EXPORTER_",
    description: "Prefix of the opt-in docker labels in the task definition.",
  },
  {
    key: "ecs.portName",
    env: "BRIDGE_ECS_PORT_NAME",
    flag: "--ecs-port-name",
    kind: "string",
    default: "metrics",
    description: "Port mapping name that opts a port in when ecs.optIn contains `port-name`.",
  },
  {
    key: "ecs.taskTags",
    env: "BRIDGE_ECS_TASK_TAGS",
    flag: "--ecs-task-tags",
    kind: "bool",
    default: true,
    description: "Fetch task tags (DescribeTasks include=TAGS) as __meta_ecs_tag_task_<key> labels.",
  },
  {
    key: "ecs.containerInstanceTtlSeconds",
    env: "BRIDGE_ECS_CONTAINER_INSTANCE_TTL_SECONDS",
    flag: "--ecs-container-instance-ttl-seconds",
    kind: "int",
    default: 600,
    min: 10,
    max: 86400,
    description: "How long container instance -> EC2 private IP lookups are cached (bridge/host mode).",
  },
  {
    key: "ecs.taskDefinitionCacheSize",
    env: "BRIDGE_ECS_TASK_DEFINITION_CACHE_SIZE",
    flag: "--ecs-task-definition-cache-size",
    kind: "int",
    default: 5000,
    min: 10,
    max: 1_000_000,
    description: "Task definitions kept in the LRU cache (they are immutable, cached by ARN).",
  },
  {
    key: "cloudmap.enabled",
    env: "BRIDGE_CLOUDMAP_ENABLED",
    flag: "--cloudmap-enabled",
    kind: "bool",
    default: false,
    description: "Discover AWS Cloud Map service instances.",
  },
  {
    key: "cloudmap.namespaces",
    env: "BRIDGE_CLOUDMAP_NAMESPACES",
    flag: "--cloudmap-namespaces",
    kind: "list",
    default: [],
    description: "Cloud Map namespace names or IDs. Empty: every namespace in the account and region.",
  },
  {
    key: "cloudmap.healthStatus",
    env: "BRIDGE_CLOUDMAP_HEALTH_STATUS",
    flag: "--cloudmap-health-status",
    kind: "enum",
    allowed: ["HEALTHY", "ALL", "HEALTHY_OR_ELSE_ALL"],
    default: "HEALTHY_OR_ELSE_ALL",
    description: "DiscoverInstances health filter.",
  },
  {
    key: "cloudmap.servicesTtlSeconds",
    env: "BRIDGE_CLOUDMAP_SERVICES_TTL_SECONDS",
    flag: "--cloudmap-services-ttl-seconds",
    kind: "int",
    default: 300,
    min: 0,
    max: 86400,
    description: "How long namespace and service listings (and service tags) are cached.",
  },
  {
    key: "cloudmap.defaultPort",
    env: "BRIDGE_CLOUDMAP_DEFAULT_PORT",
    flag: "--cloudmap-default-port",
    kind: "int",
    default: undefined,
    min: 1,
    max: 65535,
    description: "Port used for instances that register no AWS_INSTANCE_PORT and no port attribute or tag.",
  },
  {
    key: "cloudmap.defaultPorts",
    env: "BRIDGE_CLOUDMAP_DEFAULT_PORTS",
    flag: "--cloudmap-default-ports",
    kind: "list",
    default: [],
    description:
      "Ports for instances with no port, per namespace or service: `namespace=port` or `namespace/service=port`, comma-separated. Wins over cloudmap.defaultPort.",
  },
  {
    key: "cloudmap.portAttribute",
    env: "BRIDGE_CLOUDMAP_PORT_ATTRIBUTE",
    flag: "--cloudmap-port-attribute",
    kind: "string",
    default: "METRICS_PORT",
    description: "Instance attribute or service tag holding the metrics port.",
  },
  {
    key: "cloudmap.pathAttribute",
    env: "BRIDGE_CLOUDMAP_PATH_ATTRIBUTE",
    flag: "--cloudmap-path-attribute",
    kind: "string",
    default: "METRICS_PATH",
    description: "Instance attribute or service tag holding the metrics path (-> __metrics_path__).",
  },
  {
    key: "exporter.enabled",
    env: "BRIDGE_EXPORTER_ENABLED",
    flag: "--exporter-enabled",
    kind: "bool",
    default: false,
    description: "Export ECS Service Connect CloudWatch metrics on /metrics.",
  },
  {
    key: "exporter.schedule",
    env: "BRIDGE_EXPORTER_SCHEDULE",
    flag: "--exporter-schedule",
    kind: "cron",
    default: "*/5 * * * *",
    description:
      "node-cron schedule of CloudWatch collections (5 or 6 fields). Each collection is billed per metric requested: every minute costs 5x every 5 minutes.",
  },
  {
    key: "exporter.periodSeconds",
    env: "BRIDGE_EXPORTER_PERIOD_SECONDS",
    flag: "--exporter-period-seconds",
    kind: "int",
    default: 300,
    min: 60,
    max: 86400,
    description: "CloudWatch period; a multiple of 60 (match it to the schedule).",
  },
  {
    key: "exporter.lengthSeconds",
    env: "BRIDGE_EXPORTER_LENGTH_SECONDS",
    flag: "--exporter-length-seconds",
    kind: "int",
    default: 600,
    min: 60,
    max: 86400,
    description: "Length of the query window (the newest point in it is exported).",
  },
  {
    key: "exporter.delaySeconds",
    env: "BRIDGE_EXPORTER_DELAY_SECONDS",
    flag: "--exporter-delay-seconds",
    kind: "int",
    default: 120,
    min: 0,
    max: 3600,
    description: "How far the window end is held back for CloudWatch ingestion lag.",
  },
  {
    key: "exporter.stalenessSeconds",
    env: "BRIDGE_EXPORTER_STALENESS_SECONDS",
    flag: "--exporter-staleness-seconds",
    kind: "int",
    default: 900,
    min: 60,
    max: 86400,
    description: "A series with no new datapoint for this long is dropped (never frozen, never 0).",
  },
  {
    key: "exporter.listMetricsTtlSeconds",
    env: "BRIDGE_EXPORTER_LIST_METRICS_TTL_SECONDS",
    flag: "--exporter-list-metrics-ttl-seconds",
    kind: "int",
    default: 900,
    min: 0,
    max: 86400,
    description: "How long the ListMetrics series discovery is cached.",
  },
  {
    key: "exporter.dimensions",
    env: "BRIDGE_EXPORTER_DIMENSIONS",
    flag: "--exporter-dimensions",
    kind: "enum",
    allowed: ["3", "1"],
    default: "3",
    description:
      "Dimension set exported per family: `3` (+ServiceName, ClusterName) or `1` (DiscoveryName / TargetDiscoveryName only). Never both.",
  },
  {
    key: "exporter.clusters",
    env: "BRIDGE_EXPORTER_CLUSTERS",
    flag: "--exporter-clusters",
    kind: "list",
    default: [],
    description: "Only export series of these cluster names (3-dimension set). Empty: all.",
  },
  {
    key: "exporter.services",
    env: "BRIDGE_EXPORTER_SERVICES",
    flag: "--exporter-services",
    kind: "list",
    default: [],
    description: "Only export series of these service names (3-dimension set). Empty: all.",
  },
  {
    key: "exporter.discoveryNames",
    env: "BRIDGE_EXPORTER_DISCOVERY_NAMES",
    flag: "--exporter-discovery-names",
    kind: "list",
    default: [],
    description: "Only export series of these discovery names. Empty: all.",
  },
  {
    key: "exporter.statistics",
    env: "BRIDGE_EXPORTER_STATISTICS",
    flag: "--exporter-statistics",
    kind: "statMap",
    allowed: STATS,
    default: {},
    description:
      "Statistics per CloudWatch metric overriding the defaults, e.g. `RequestCount=Sum;TargetResponseTime=Average,Maximum` (YAML: map of lists).",
  },
  {
    key: "lambda.cacheSeconds",
    env: "BRIDGE_LAMBDA_CACHE_SECONDS",
    flag: "--lambda-cache-seconds",
    kind: "int",
    default: 5,
    min: 0,
    max: 300,
    description: "Lambda: how long discovery results are reused across invocations of one instance.",
  },
  {
    key: "lambda.sharedSecret",
    env: "BRIDGE_LAMBDA_SHARED_SECRET",
    flag: "--lambda-shared-secret",
    kind: "string",
    default: undefined,
    secret: true,
    description:
      "Lambda: if set, requests must carry it in the secret header or the `secret` query parameter.",
  },
  {
    key: "lambda.secretHeader",
    env: "BRIDGE_LAMBDA_SECRET_HEADER",
    flag: "--lambda-secret-header",
    kind: "string",
    default: "x-bridge-secret",
    description: "Lambda: header carrying the shared secret.",
  },
  {
    key: "lambda.publicUrl",
    env: "BRIDGE_LAMBDA_PUBLIC_URL",
    flag: "--lambda-public-url",
    kind: "string",
    default: undefined,
    description:
      "Lambda: the function's own URL (e.g. https://<id>.lambda-url.<region>.on.aws). Targets of /sd?mode=redirect point at it; never taken from the request.",
  },
];

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export interface LoadInput {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Where each value came from, for error messages that point at the right place. */
type Origin = { source: "file" | "env" | "flag"; name: string };

function describeOrigin(spec: OptionSpec, origin: Origin | undefined): string {
  if (!origin) return `${spec.key} (default)`;
  if (origin.source === "file") return `${spec.key} (config file ${origin.name})`;
  if (origin.source === "env") return `${spec.key} (env ${origin.name})`;
  return `${spec.key} (flag ${origin.name})`;
}

/** External ids are masked like credentials (redactedConfig does the same). */
function redactExternalIds(value: unknown): unknown {
  const one = (item: unknown): unknown =>
    typeof item === "string"
      ? item.replace(/\|[^,]*/g, "|<redacted>")
      : item && typeof item === "object" && "externalId" in item
        ? { ...item, externalId: "<redacted>" }
        : item;
  return Array.isArray(value) ? value.map(one) : one(value);
}

function show(spec: OptionSpec, value: unknown): string {
  if (spec.secret) return "<redacted>";
  if (spec.kind === "accounts") value = redactExternalIds(value);
  return typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
}

function fail(spec: OptionSpec, origin: Origin | undefined, value: unknown, allowed: string): never {
  throw new ConfigError(`invalid ${describeOrigin(spec, origin)}: got ${show(spec, value)}; ${allowed}`);
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

function splitList(raw: string): string[] {
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Turns a raw value (a string from env/flags, or a YAML value) into the typed value, or throws. */
function coerce(spec: OptionSpec, raw: unknown, origin: Origin | undefined): unknown {
  const bad = (allowed: string): never => fail(spec, origin, raw, allowed);
  switch (spec.kind) {
    case "string": {
      if (typeof raw !== "string" && typeof raw !== "number") bad("expected a string");
      const s = String(raw);
      if (s.length === 0) bad("expected a non-empty string (unset the key instead)");
      return s;
    }
    case "cron": {
      if (typeof raw !== "string") bad("expected a cron expression such as '*/1 * * * *'");
      const fields = String(raw).trim().split(/\s+/);
      if (fields.length < 5 || fields.length > 6) bad("expected a cron expression with 5 or 6 fields");
      return String(raw).trim();
    }
    case "int": {
      const n =
        typeof raw === "number"
          ? raw
          : typeof raw === "string" && /^-?\d+$/.test(raw.trim())
            ? Number(raw)
            : NaN;
      const range = `expected an integer from ${spec.min ?? "-inf"} to ${spec.max ?? "inf"}`;
      if (!Number.isInteger(n)) bad(range);
      if (spec.min !== undefined && n < spec.min) bad(range);
      if (spec.max !== undefined && n > spec.max) bad(range);
      return n;
    }
    case "bool": {
      if (typeof raw === "boolean") return raw;
      if (typeof raw === "string" && /^(true|1|yes|on)$/i.test(raw)) return true;
      if (typeof raw === "string" && /^(false|0|no|off)$/i.test(raw)) return false;
      return bad("expected true or false");
    }
    case "enum": {
      const s = typeof raw === "number" ? String(raw) : raw;
      if (typeof s !== "string" || !spec.allowed?.includes(s)) bad(`allowed: ${spec.allowed?.join(", ")}`);
      return s;
    }
    case "list":
    case "enumList": {
      let items: unknown[];
      if (Array.isArray(raw)) items = raw;
      else if (typeof raw === "string") items = splitList(raw);
      else return bad("expected a list (comma-separated in env and flags)");
      const out = items.map((item) => {
        if (typeof item !== "string" || item.trim() === "") bad("expected a list of non-empty strings");
        return String(item).trim();
      });
      if (spec.kind === "enumList") {
        if (out.length === 0) bad(`expected at least one of: ${spec.allowed?.join(", ")}`);
        for (const item of out)
          if (!spec.allowed?.includes(item)) bad(`allowed: ${spec.allowed?.join(", ")}`);
      }
      if (spec.key === "regions")
        for (const r of out) if (!REGION.test(r)) bad("expected region names such as eu-west-1");
      return out;
    }
    case "accounts": {
      let items: unknown[];
      if (Array.isArray(raw)) items = raw;
      else if (typeof raw === "string") items = splitList(raw);
      else return bad("expected a list of role ARNs");
      return items.map((item) => {
        let roleArn: unknown;
        let externalId: unknown;
        if (typeof item === "string") [roleArn, externalId] = item.split("|");
        else if (item && typeof item === "object")
          ({ roleArn, externalId } = item as Record<string, unknown>);
        if (typeof roleArn !== "string" || !ROLE_ARN.test(roleArn))
          bad("expected role ARNs like arn:aws:iam::123456789012:role/name, optionally `|externalId`");
        if (externalId !== undefined && (typeof externalId !== "string" || externalId === ""))
          bad("externalId must be a non-empty string");
        return externalId === undefined ? { roleArn } : { roleArn, externalId };
      });
    }
    case "statMap": {
      let entries: [string, unknown][];
      if (typeof raw === "string") {
        entries = raw
          .split(";")
          .map((s) => s.trim())
          .filter(Boolean)
          .map((pair): [string, unknown] => {
            const [metric, stats] = pair.split("=");
            if (!metric || stats === undefined) return bad("expected Metric=Stat[,Stat];Metric=Stat");
            return [metric.trim(), splitList(stats)];
          });
      } else if (raw && typeof raw === "object" && !Array.isArray(raw)) {
        entries = Object.entries(raw as Record<string, unknown>);
      } else return bad("expected a map of CloudWatch metric name to statistics");
      const out: Record<string, string[]> = {};
      for (const [metric, stats] of entries) {
        const list = Array.isArray(stats) ? stats : typeof stats === "string" ? splitList(stats) : [];
        if (list.length === 0)
          bad(`metric ${metric}: expected at least one statistic of ${STATS.join(", ")}`);
        for (const s of list)
          if (typeof s !== "string" || !(STATS as readonly string[]).includes(s))
            bad(`metric ${metric}: allowed statistics: ${STATS.join(", ")}`);
        out[metric] = list as string[];
      }
      return out;
    }
  }
}

function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    cur[part] ??= {};
    cur = cur[part] as Record<string, unknown>;
  }
  if (value !== undefined) cur[parts[parts.length - 1]!] = value;
}

/** Every dotted key a YAML file may contain, including parents of nested keys. */
function knownFileKeys(): Set<string> {
  const keys = new Set<string>();
  for (const spec of OPTIONS) {
    const parts = spec.key.split(".");
    for (let i = 1; i <= parts.length; i++) keys.add(parts.slice(0, i).join("."));
  }
  return keys;
}

function checkUnknownFileKeys(obj: Record<string, unknown>, file: string, prefix = ""): void {
  const known = knownFileKeys();
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (!known.has(path)) {
      throw new ConfigError(
        `unknown key ${path} in config file ${file}; known keys: ${OPTIONS.map((o) => o.key).join(", ")}`,
      );
    }
    const isLeaf = OPTIONS.some((o) => o.key === path);
    if (isLeaf || v === null || v === undefined) continue;
    if (typeof v !== "object" || Array.isArray(v)) {
      // e.g. `ecs: false` or `listen: 8080`: the keys below would silently keep their defaults.
      const below = OPTIONS.filter((o) => o.key.startsWith(`${path}.`));
      const value = below.some((o) => o.secret) ? "<redacted>" : JSON.stringify(v);
      throw new ConfigError(
        `invalid ${path} in config file ${file}: got ${value}; expected a mapping with keys ${below.map((o) => o.key).join(", ")}`,
      );
    }
    checkUnknownFileKeys(v as Record<string, unknown>, file, path);
  }
}

interface ParsedArgs {
  configFile?: string;
  flags: Map<string, string>;
}

function parseArgs(argv: string[]): ParsedArgs {
  const flags = new Map<string, string>();
  let configFile: string | undefined;
  const byFlag = new Map(OPTIONS.map((o) => [o.flag, o]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (name === "--config") {
      value ??= argv[++i];
      if (!value) throw new ConfigError("flag --config needs a file path: --config bridge.yaml");
      configFile = value;
      continue;
    }
    const spec = byFlag.get(name);
    if (!spec) throw new ConfigError(`unknown flag ${name}; run with --help to list the flags`);
    if (value === undefined) {
      const next = argv[i + 1];
      if (spec.kind === "bool" && (next === undefined || next.startsWith("--"))) value = "true";
      else value = argv[++i];
    }
    if (value === undefined) throw new ConfigError(`flag ${name} needs a value`);
    flags.set(spec.key, value);
  }
  return { configFile, flags };
}

/** Builds and validates the configuration; throws ConfigError naming the key, the value and what is allowed. */
export function loadConfig(input: LoadInput = {}): Config {
  const env = input.env ?? process.env;
  const { configFile, flags } = parseArgs(input.argv ?? []);
  const file = configFile ?? env.BRIDGE_CONFIG;
  let fileObj: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== "object" || Array.isArray(parsed))
        throw new ConfigError(`config file ${file} must hold a YAML mapping of keys to values`);
      fileObj = parsed as Record<string, unknown>;
      checkUnknownFileKeys(fileObj, file);
    }
  }

  const out: Record<string, unknown> = {};
  for (const spec of OPTIONS) {
    let raw: unknown = undefined;
    let origin: Origin | undefined;
    const fromFile = file ? getPath(fileObj, spec.key) : undefined;
    if (fromFile !== undefined && fromFile !== null) {
      raw = fromFile;
      origin = { source: "file", name: file! };
    }
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== "") {
      raw = fromEnv;
      origin = { source: "env", name: spec.env };
    }
    if (flags.has(spec.key)) {
      raw = flags.get(spec.key);
      origin = { source: "flag", name: spec.flag };
    }
    const value = origin ? coerce(spec, raw, origin) : structuredClone(spec.default);
    setPath(out, spec.key, value); // creates parent objects even for unset optional keys
  }
  const config = out as unknown as Config;

  // Cross-field rules.
  if (config.regions.length === 0) {
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (region) config.regions = [region];
  }
  if (Boolean(config.auth.basicUser) !== Boolean(config.auth.basicPassword))
    throw new ConfigError(
      "invalid auth.basicUser/auth.basicPassword: set both (or neither) to enable basic auth",
    );
  if (config.auth.bearerToken && config.auth.basicUser)
    throw new ConfigError(
      "invalid auth: set either auth.bearerToken or auth.basicUser/basicPassword, not both",
    );
  if (config.exporter.periodSeconds % 60 !== 0) {
    throw new ConfigError(
      `invalid exporter.periodSeconds: got ${config.exporter.periodSeconds}; expected a multiple of 60`,
    );
  }
  if (config.exporter.lengthSeconds < config.exporter.periodSeconds)
    throw new ConfigError(
      `invalid exporter.lengthSeconds: got ${config.exporter.lengthSeconds}; expected at least exporter.periodSeconds (${config.exporter.periodSeconds})`,
    );
  return config;
}

/** The configuration with credentials masked, safe to log. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const spec of OPTIONS)
    if (spec.secret && getPath(copy, spec.key) !== undefined) setPath(copy, spec.key, "<redacted>");
  for (const account of (copy.accounts as AccountConfig[]) ?? [])
    if (account.externalId) account.externalId = "<redacted>";
  return copy;
}

/** The options table in Markdown, for the README (generated so it cannot drift). */
export function optionsMarkdown(): string {
  const rows = OPTIONS.map((o) => {
    const def = o.default === undefined ? "" : `\`${JSON.stringify(o.default)}\``;
    const allowed = o.allowed ? ` Allowed: ${o.allowed.map((a) => `\`${a}\``).join(", ")}.` : "";
    return `| \`${o.key}\` | \`${o.env}\` | \`${o.flag}\` | ${def} | ${o.description.replace(/\|/g, "\\|")}${allowed} |`;
  });
  return ["| key (YAML) | env | flag | default | description |", "|---|---|---|---|---|", ...rows].join("\n");
}

export function helpText(): string {
  const lines = OPTIONS.map((o) => `  ${o.flag.padEnd(42)} ${o.description} [env ${o.env}]`);
  return ["Usage: ecs-prometheus-bridge [--config file.yaml] [flags]", "", ...lines].join("\n");
}
