// Entry point of the long-running bridge: config -> AWS scopes -> sources -> refresh loop -> HTTP.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Server } from "node:http";
import { pathToFileURL } from "node:url";
import { createAuthCheck } from "./auth.js";
import { destroyClients, type ClientOptions } from "./aws.js";
import { buildScopes, type AwsScope } from "./scopes.js";
import {
  ConfigError,
  helpText,
  loadConfig,
  redactedConfig,
  versionText,
  type Config,
} from "../cmd/config.js";
import { createLogger, type Logger } from "./log.js";
import { createSelfMetrics, type SelfMetrics } from "./metrics.js";
import { createApp, listen } from "./server.js";
import { Discovery, type Source } from "../sd/refresh.js";
import { EcsSource } from "../sd/sources/ecs.js";
import { CloudMapSource } from "../sd/sources/cloudmap.js";
import { createExporter, type Exporter } from "../exporter/index.js";

export interface Bridge {
  url: string;
  server: Server;
  discovery: Discovery;
  metrics: SelfMetrics;
  scopes: AwsScope[];
  /** The Service Connect CloudWatch exporter, when exporter.enabled. */
  exporter?: Exporter;
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

export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const metrics = createSelfMetrics({ defaults: opts.defaultMetrics ?? true });
  const scopes = buildScopes(config, { ...opts.clientOptions, metrics });
  const sources: Source[] = [];
  if (config.ecs.enabled) sources.push(new EcsSource({ scopes, config, metrics, logger }));
  if (config.cloudmap.enabled) sources.push(new CloudMapSource({ scopes, config, metrics, logger }));
  const discovery = new Discovery({
    sources,
    metrics,
    logger,
    intervalSeconds: config.refreshIntervalSeconds,
  });
  // Off: no exporter object, so no CloudWatch call at all. Created before listening so config errors stop startup.
  const exporter = config.exporter.enabled ? createExporter({ config, scopes, metrics, logger }) : undefined;
  const auth = createAuthCheck(config.auth);
  const app = createApp({ discovery, registry: metrics.registry, ...(auth ? { auth } : {}) });
  let server: Server;
  try {
    server = await listen(app, config.listen.host, config.listen.port);
  } catch (err) {
    for (const scope of scopes) destroyClients(scope.clients);
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
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await discovery.stop();
      await exporter?.stop();
      for (const scope of scopes) destroyClients(scope.clients);
    },
  };
}

/** True when some credential source other than the EC2 instance metadata service is configured. */
export function credentialsConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(
    env.AWS_ACCESS_KEY_ID ||
    env.AWS_PROFILE ||
    env.AWS_WEB_IDENTITY_TOKEN_FILE ||
    env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ||
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
    /^false$/i.test(env.AWS_EC2_METADATA_DISABLED ?? "") ||
    existsSync(env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), ".aws", "credentials")) ||
    existsSync(env.AWS_CONFIG_FILE ?? join(homedir(), ".aws", "config")),
  );
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(helpText() + "\n");
    return;
  }
  if (argv.includes("--version")) {
    process.stdout.write(versionText() + "\n");
    return;
  }
  let config: Config;
  try {
    config = loadConfig({ argv });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ecs-prometheus-bridge: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (!credentialsConfigured()) {
    process.stderr.write(
      "ecs-prometheus-bridge: no AWS credentials configured (no AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity,\n" +
        "container credentials or ~/.aws files). Configure credentials, or set AWS_EC2_METADATA_DISABLED=false to use\n" +
        "an EC2 instance role. To try the bridge without an AWS account, run: npm run demo\n",
    );
    process.exit(2);
  }
  const logger = createLogger(config.logLevel);
  logger.info("starting", { config: redactedConfig(config) });
  let bridge: Bridge;
  try {
    bridge = await startBridge({ config, logger });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ecs-prometheus-bridge: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const shutdown = (signal: string): void => {
    logger.info("shutting down", { signal });
    const timer = setTimeout(() => process.exit(1), 10_000);
    timer.unref();
    void bridge.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`ecs-prometheus-bridge: fatal: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
