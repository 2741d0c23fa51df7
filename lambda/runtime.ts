// Wires the Lambda from configuration, with the service's own pieces: loadConfig, buildScopes, the sources
// the registry enables and the Discovery refresh helper, refreshed on demand instead of on a schedule.
import type { API } from "lambda-api";
import type { ClientOptions } from "../core/aws.js";
import { ConfigError, OPTIONS, loadConfig, type Config } from "../cmd/config.js";
import { createLogger, type Logger } from "../core/log.js";
import { buildScopes, type AwsScope } from "../core/scopes.js";
import { createSelfMetrics, type SelfMetrics } from "../core/metrics.js";
import { Discovery } from "../sd/refresh.js";
import { buildSources } from "../sd/registry.js";
import { createLambdaApi } from "./app.js";
import type { HttpEvent } from "./events.js";
import { OnDemandDiscovery, WarningLog } from "./freshness.js";

export interface LambdaRuntimeOptions {
  env?: NodeJS.ProcessEnv;
  /** Explicit credentials (tests); otherwise the default chain (the function's role in Lambda). */
  clientOptions?: Omit<ClientOptions, "metrics" | "env">;
  logger?: Logger;
}

export interface LambdaRuntime {
  config: Config;
  api: API;
  metrics: SelfMetrics;
  discovery: OnDemandDiscovery;
  scopes: AwsScope[];
}

export function createLambdaRuntime(opts: LambdaRuntimeOptions = {}): LambdaRuntime {
  const env = opts.env ?? process.env;
  const config = loadConfig({ env });
  // Following a queue needs a process that keeps running; the Lambda refreshes on demand.
  if (config.ecs.events.enabled)
    throw new ConfigError(
      "invalid ecs.events.enabled: the Lambda cannot follow ECS events (it runs per request); unset BRIDGE_ECS_EVENTS_ENABLED",
    );
  const logger = opts.logger ?? createLogger(config.logLevel);
  const warnings = new WarningLog();
  const sourceLogger = warnings.wrap(logger);
  const metrics = createSelfMetrics({ defaults: false });
  const scopes = buildScopes(config, { ...opts.clientOptions, metrics, env });
  const sources = buildSources({ scopes, config, metrics, logger: sourceLogger });
  const refresher = new Discovery({
    sources,
    metrics,
    logger: sourceLogger,
    intervalSeconds: config.refreshIntervalSeconds,
    scopes: scopes.map((scope) => scope.key),
    callTimeoutSeconds: config.aws.callTimeoutSeconds,
    ...(config.maxStaleSeconds !== undefined ? { maxStaleSeconds: config.maxStaleSeconds } : {}),
  });
  const discovery = new OnDemandDiscovery(refresher, config.lambda.cacheSeconds * 1000, { warnings });
  return { config, api: createLambdaApi({ config, discovery, logger }), metrics, discovery, scopes };
}

export type LambdaHandler = (event: HttpEvent, context?: unknown) => Promise<unknown>;

/** The one reply to every request of an instance whose configuration is invalid: no value from it. */
export const CONFIG_ERROR_REPLY = { error: "configuration error; see the function's log" };

/**
 * A configuration error's message for the log, with every secret option's value (as set in this
 * environment) and any URL credentials masked. The loader already masks what it quotes; this also covers
 * messages built elsewhere.
 */
export function redactedConfigMessage(message: string, env: NodeJS.ProcessEnv): string {
  let out = message.replace(/\/\/[^/\s"'@]*@/g, "//<redacted>@");
  for (const spec of OPTIONS) {
    const value = spec.secret ? env[spec.env] : undefined;
    if (value) out = out.split(value).join("<redacted>");
  }
  return out;
}

/**
 * The handler for an environment. The runtime is built once per instance (module scope, so the discovery
 * cache survives between invocations). A configuration error answers every request with a generic 500
 * JSON reply instead of failing the instance's init (which Prometheus would only see as a bare error); the
 * reason goes to the log only, as the function URL is reachable by anyone who has it.
 */
export function createHandler(opts: LambdaRuntimeOptions = {}): LambdaHandler {
  let runtime: LambdaRuntime | undefined;
  try {
    runtime = createLambdaRuntime(opts);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    (opts.logger ?? createLogger("error")).error("configuration error", {
      message: redactedConfigMessage(err.message, opts.env ?? process.env),
    });
  }
  return async (event, context) => {
    if (runtime) return runtime.api.run(event as never, (context ?? {}) as never);
    return {
      statusCode: 500,
      headers: { "content-type": "application/json", "cache-control": "no-store" },
      body: JSON.stringify(CONFIG_ERROR_REPLY),
      isBase64Encoded: false,
    };
  };
}
