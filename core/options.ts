// Options every mode shares: where to discover (regions, clusters, accounts), how often, the HTTP listener and
// its auth, logging, and AWS call limits.
import * as z from "./zod.js";
import { DEFAULT_CALL_TIMEOUT_SECONDS } from "./aws.js";
import {
  ConfigError,
  int,
  list,
  oneOf,
  splitList,
  strictMapping,
  text,
  type OptionSpec,
} from "./config/spec.js";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface AccountConfig {
  roleArn: string;
  externalId?: string;
}

export interface CoreConfig {
  regions: string[];
  clusters: string[];
  accounts: AccountConfig[];
  refreshIntervalSeconds: number;
  /** Age of a failing unit's last-good data past which it is reported stale; unset: 10 refresh intervals. */
  maxStaleSeconds?: number;
  listen: { host: string; port: number };
  auth: { bearerToken?: string; basicUser?: string; basicPassword?: string };
  logLevel: LogLevel;
  aws: { maxAttempts: number; maxConcurrency: number; callTimeoutSeconds: number };
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const REGION_EXPECTED = "expected region names such as eu-west-1";
const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

const region = z.string().regex(REGION, { error: REGION_EXPECTED });

/** `roleArn` or `roleArn|externalId` in env and flags; `{roleArn, externalId}` in YAML. */
const account = z.preprocess(
  (v) => {
    if (typeof v !== "string") return v;
    const [roleArn, externalId] = v.split("|");
    return externalId === undefined ? { roleArn } : { roleArn, externalId };
  },
  strictMapping(
    {
      roleArn: z.string().regex(ROLE_ARN, {
        error: "expected role ARNs like arn:aws:iam::123456789012:role/name, optionally `|externalId`",
      }),
      externalId: z.string().min(1, { error: "externalId must be a non-empty string" }).optional(),
    },
    "expected a role ARN or a mapping {roleArn, externalId}",
  ),
);

/** External ids are masked like credentials, in raw (`arn|id`) and parsed form. */
function redactExternalIds(value: unknown): unknown {
  const one = (item: unknown): unknown =>
    typeof item === "string"
      ? item.replace(/\|[^,]*/g, "|<redacted>")
      : item && typeof item === "object" && "externalId" in item
        ? { ...item, externalId: "<redacted>" }
        : item;
  return Array.isArray(value) ? value.map(one) : one(value);
}

export const CORE_OPTIONS: readonly OptionSpec[] = [
  {
    key: "regions",
    env: "BRIDGE_REGIONS",
    flag: "--regions",
    schema: list(region, REGION_EXPECTED),
    default: [],
    description: "AWS regions to discover in (comma-separated). Empty: AWS_REGION / AWS_DEFAULT_REGION.",
  },
  {
    key: "clusters",
    env: "BRIDGE_CLUSTERS",
    flag: "--clusters",
    schema: list(),
    default: [],
    description: "ECS cluster names or ARNs. Empty: every cluster (ListClusters).",
  },
  {
    key: "accounts",
    env: "BRIDGE_ACCOUNTS",
    flag: "--accounts",
    schema: z.preprocess(
      (v) => (typeof v === "string" ? splitList(v) : v),
      z.array(account, { error: "expected a list of role ARNs" }),
    ),
    redact: redactExternalIds,
    default: [],
    description:
      "Roles to assume, one per account: `roleArn` or `roleArn|externalId`, comma-separated (YAML: list of {roleArn, externalId}). Empty: the default credential chain only.",
  },
  {
    key: "refreshIntervalSeconds",
    env: "BRIDGE_REFRESH_INTERVAL_SECONDS",
    flag: "--refresh-interval-seconds",
    schema: int(5, 3600),
    default: 30,
    description:
      "Seconds between discovery refreshes, at most: each wait is up to 10% shorter at random, so bridges do not call AWS in step.",
  },
  {
    key: "maxStaleSeconds",
    env: "BRIDGE_MAX_STALE_SECONDS",
    flag: "--max-stale-seconds",
    schema: int(5, 604800),
    default: undefined,
    description:
      "A failing cluster or namespace whose last-good targets are older than this is reported stale (ecs_bridge_unit_stale, /status); its targets are still served. Default: 10 refresh intervals.",
  },
  {
    key: "listen.host",
    env: "BRIDGE_LISTEN_HOST",
    flag: "--listen-host",
    schema: text(),
    default: "0.0.0.0",
    description: "Address the HTTP server binds to.",
  },
  {
    key: "listen.port",
    env: "BRIDGE_LISTEN_PORT",
    flag: "--listen-port",
    schema: int(0, 65535),
    default: 9100,
    description: "HTTP port for /sd, /metrics, /healthz, /readyz (0: any free port).",
  },
  {
    key: "auth.bearerToken",
    env: "BRIDGE_AUTH_BEARER_TOKEN",
    flag: "--auth-bearer-token",
    schema: text(),
    default: undefined,
    secret: true,
    description: "If set, /sd and /metrics require `Authorization: Bearer <token>`.",
  },
  {
    key: "auth.basicUser",
    env: "BRIDGE_AUTH_BASIC_USER",
    flag: "--auth-basic-user",
    schema: text(),
    default: undefined,
    description: "If set (with auth.basicPassword), /sd and /metrics require HTTP basic auth.",
  },
  {
    key: "auth.basicPassword",
    env: "BRIDGE_AUTH_BASIC_PASSWORD",
    flag: "--auth-basic-password",
    schema: text(),
    default: undefined,
    secret: true,
    description: "Basic auth password (with auth.basicUser).",
  },
  {
    key: "logLevel",
    env: "BRIDGE_LOG_LEVEL",
    flag: "--log-level",
    schema: oneOf(LOG_LEVELS),
    allowed: LOG_LEVELS,
    default: "info",
    description: "Minimum level of the JSON log lines written to stdout.",
  },
  {
    key: "aws.maxAttempts",
    env: "BRIDGE_AWS_MAX_ATTEMPTS",
    flag: "--aws-max-attempts",
    schema: int(1, 20),
    default: 5,
    description: "Attempts per AWS call (SDK adaptive retry with backoff on throttling and 5xx).",
  },
  {
    key: "aws.maxConcurrency",
    env: "BRIDGE_AWS_MAX_CONCURRENCY",
    flag: "--aws-max-concurrency",
    schema: int(1, 64),
    default: 4,
    description:
      "AWS requests in flight at once per account, region and AWS throttling bucket (discovery paces each bucket to its documented rate; the exporter's CloudWatch calls per account and region).",
  },
  {
    key: "aws.callTimeoutSeconds",
    env: "BRIDGE_AWS_CALL_TIMEOUT_SECONDS",
    flag: "--aws-call-timeout-seconds",
    schema: int(1, 300),
    default: DEFAULT_CALL_TIMEOUT_SECONDS,
    description:
      "Timeout of each attempt of each AWS call (connect, request and the whole reply); must be below refreshIntervalSeconds (the default 10 shrinks to refreshIntervalSeconds - 1 for shorter intervals). A unit whose call times out keeps its last-good targets.",
  },
];

/**
 * Cross-field rules, and the region fallback: with no `regions`, AWS_REGION / AWS_DEFAULT_REGION is used,
 * validated like `regions` so a bad one stops startup instead of starting a bridge that is never ready.
 */
export function checkCoreConfig(config: CoreConfig, env: NodeJS.ProcessEnv): void {
  if (config.regions.length === 0) {
    const name = env.AWS_REGION ? "AWS_REGION" : env.AWS_DEFAULT_REGION ? "AWS_DEFAULT_REGION" : undefined;
    const value = name ? env[name]! : undefined;
    if (name && value && !REGION.test(value))
      throw new ConfigError(
        `invalid regions (env ${name}): got ${JSON.stringify(value)}; ${REGION_EXPECTED}`,
      );
    if (value) config.regions = [value];
  }
  // The default must fit a short interval (the demo refreshes every 10 s): it shrinks to one second less.
  if (config.aws.callTimeoutSeconds === DEFAULT_CALL_TIMEOUT_SECONDS)
    config.aws.callTimeoutSeconds = Math.min(DEFAULT_CALL_TIMEOUT_SECONDS, config.refreshIntervalSeconds - 1);
  if (config.aws.callTimeoutSeconds >= config.refreshIntervalSeconds)
    throw new ConfigError(
      `invalid aws.callTimeoutSeconds: got ${config.aws.callTimeoutSeconds}; must be below refreshIntervalSeconds (${config.refreshIntervalSeconds})`,
    );
  if (config.maxStaleSeconds !== undefined && config.maxStaleSeconds < config.refreshIntervalSeconds)
    throw new ConfigError(
      `invalid maxStaleSeconds: got ${config.maxStaleSeconds}; must be at least refreshIntervalSeconds (${config.refreshIntervalSeconds})`,
    );
  if (Boolean(config.auth.basicUser) !== Boolean(config.auth.basicPassword))
    throw new ConfigError(
      "invalid auth.basicUser/auth.basicPassword: set both (or neither) to enable basic auth",
    );
  if (config.auth.bearerToken && config.auth.basicUser)
    throw new ConfigError(
      "invalid auth: set either auth.bearerToken or auth.basicUser/basicPassword, not both",
    );
}
