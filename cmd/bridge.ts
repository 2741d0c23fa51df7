// The long-running bridge, wired: config -> AWS scopes -> registered sources -> refresh loop -> HTTP.
import type { Server } from "node:http";
import { createAuthCheck } from "../core/auth.js";
import { destroyClients, loadSdkModules, type ClientOptions } from "../core/aws.js";
import { buildScopes, type AwsScope } from "../core/scopes.js";
import { ConfigError, type Config } from "./config.js";
import { createLogger, type Logger } from "../core/log.js";
import { createSelfMetrics, type SelfMetrics } from "../core/metrics.js";
import { createApp, listen } from "../core/server.js";
import { Discovery } from "../sd/refresh.js";
import { buildSources } from "../sd/registry.js";
import { createExporter, createStreamIngest, type Exporter, type StreamIngest } from "../exporter/index.js";

export interface Bridge {
  url: string;
  server: Server;
  discovery: Discovery;
  metrics: SelfMetrics;
  scopes: AwsScope[];
  /** The Service Connect CloudWatch exporter, when exporter.enabled. */
  exporter?: Exporter;
  /** The exporter's Firehose delivery route, when exporter.enabled in stream mode. */
  stream?: StreamIngest;
  close(): Promise<void>;
}

export interface BridgeOptions {
  config: Config;
  logger?: Logger;
  clientOptions?: ClientOptions;
  /** Collect prom-client's process metrics (off in tests to keep registries small). */
  defaultMetrics?: boolean;
  /** Start the schedule (true) or leave refreshes to the caller (tests). */
  schedule?: boolean;
}

/** The enabled sources and the refresh loop over them, as the configuration sets them up. */
export function createDiscovery(config: Config, scopes: AwsScope[], metrics: SelfMetrics, logger: Logger) {
  const sources = buildSources({ scopes, config, metrics, logger });
  const discovery = new Discovery({
    sources,
    metrics,
    logger,
    intervalSeconds: config.refreshIntervalSeconds,
    scopes: scopes.map((scope) => scope.key),
    callTimeoutSeconds: config.aws.callTimeoutSeconds,
    ...(config.maxStaleSeconds !== undefined ? { maxStaleSeconds: config.maxStaleSeconds } : {}),
  });
  return { sources, discovery };
}

export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const metrics = createSelfMetrics({ defaults: opts.defaultMetrics ?? true });
  const scopes = buildScopes(config, { ...opts.clientOptions, metrics });
  const { sources, discovery } = createDiscovery(config, scopes, metrics, logger);
  // Off: no exporter object, so no CloudWatch call at all. Created before listening so config errors stop startup.
  const mode = config.exporter.enabled ? config.exporter.mode : undefined;
  const exporter = mode === "poll" ? createExporter({ config, scopes, metrics, logger }) : undefined;
  const stream = mode === "stream" ? createStreamIngest({ config, scopes, metrics, logger }) : undefined;
  const auth = createAuthCheck(config.auth);
  const app = createApp({
    discovery,
    registry: metrics.registry,
    ...(auth ? { auth } : {}),
    ...(stream ? { routes: [stream.router] } : {}),
  });
  await loadSdkModules([
    ...sources.flatMap((s) => s.awsServices ?? []),
    ...(mode === "poll" ? (["cloudwatch"] as const) : []),
    ...(scopes.some((s) => s.account) ? (["sts"] as const) : []),
  ]);
  let server: Server;
  try {
    server = await listen(app, config.listen.host, config.listen.port);
  } catch (err) {
    for (const scope of scopes) destroyClients(scope.clients);
    stream?.stop();
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(
      `cannot listen on ${config.listen.host}:${config.listen.port} (listen.host, listen.port): ${code}; ` +
        "choose a free port and an address of this host",
    );
  }
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.listen.port;
  const host =
    config.listen.host === "0.0.0.0" || config.listen.host === "::" ? "127.0.0.1" : config.listen.host;
  if (opts.schedule ?? true) {
    discovery.start();
    exporter?.start();
  }
  logger.info("listening", { url: `http://${host}:${port}`, sources: sources.map((s) => s.name) });
  let closed = false;
  return {
    url: `http://${host}:${port}`,
    server,
    discovery,
    metrics,
    scopes,
    ...(exporter ? { exporter } : {}),
    ...(stream ? { stream } : {}),
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await discovery.stop();
      await exporter?.stop();
      stream?.stop();
      for (const scope of scopes) destroyClients(scope.clients);
    },
  };
}
