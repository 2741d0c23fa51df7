// Wires the Lambda from configuration, with the service's own pieces: loadConfig, buildScopes, the sources
// the registry enables and the Discovery refresh helper, refreshed on demand instead of on a schedule.
import type { API } from "lambda-api";
import type { ClientOptions } from "../core/aws.js";
import { ConfigError, loadConfig, type Config } from "../cmd/config.js";
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

/**
 * The handler for an environment. The runtime is built once per instance (module scope, so the discovery
 * cache survives between invocations). A configuration error answers every request with a 500 JSON reason
 * instead of failing the instance's init, which Prometheus would only see as a bare error.
 */
export function createHandler(opts: LambdaRuntimeOptions = {}): LambdaHandler {
  let runtime: LambdaRuntime | undefined;
  let failure: ConfigError | undefined;
  try {
    runtime = createLambdaRuntime(opts);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    failure = err;
    (opts.logger ?? createLogger("error")).error("configuration error", { message: err.message });
  }
  return async (event, context) => {
    if (runtime) return runtime.api.run(event as never, (context ?? {}) as never);
    return {
      statusCode: 500,
      headers: { "content-type": "application/json", "cache-control": "no-store" },
      body: JSON.stringify({ error: `configuration error: ${failure!.message}` }),
      isBase64Encoded: false,
    };
  };
}
