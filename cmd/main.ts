// The service's command line: `node dist/cmd/main.js [flags]`. Loads the config, checks that AWS credentials
// exist, starts the bridge, reloads it on SIGHUP and stops it on SIGTERM/SIGINT within 10 s. One-shot
// modes: `--once [--explain]` and `check-config` (cmd/once.ts); their logs go to stderr.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ConfigError, helpText, loadConfig, redactedConfig, versionText, type Config } from "./config.js";
import { createLogger, type Logger } from "../core/log.js";
import { startBridge, type Bridge } from "./bridge.js";
import { closeOnSignals, runIfEntry } from "./process.js";
import { checkCredentials, runOnce } from "./once.js";

const MODES = `Modes:
  --once              one refresh: the http_sd JSON on stdout, logs on stderr; exit 1 if a unit failed
  --once --explain    one refresh: the table of skipped tasks and containers, with the reason
  check-config        validate the configuration and resolve every scope's credentials; exit 0 or 2
  SIGHUP              reload the config file (an invalid file keeps the running configuration)`;

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
    process.stdout.write(`${helpText()}\n\n${MODES}\n`);
    return;
  }
  if (argv.includes("--version")) {
    process.stdout.write(versionText() + "\n");
    return;
  }
  // Mode words are not options: take them out before the options are parsed.
  const checkConfig = argv[0] === "check-config";
  const once = argv.includes("--once");
  const explain = argv.includes("--explain");
  const optionArgs = argv.filter((a, i) => !(i === 0 && checkConfig) && a !== "--once" && a !== "--explain");
  if (explain && !once) fail("--explain goes with --once: ecs-prometheus-bridge --once --explain");
  let config: Config;
  try {
    config = loadConfig({ argv: optionArgs });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
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
  if (checkConfig || once) {
    // stdout carries the result only (http_sd JSON, the table, the verdict); every log line goes to stderr.
    const logger = createLogger(config.logLevel, (line) => process.stderr.write(line));
    if (checkConfig) {
      const problems = await checkCredentials(config);
      if (problems.length > 0) fail(`credentials do not resolve:\n  ${problems.join("\n  ")}`);
      process.stdout.write(`configuration ok; credentials resolve for ${config.regions.length} region(s)\n`);
      return;
    }
    const result = await runOnce(config, logger);
    process.stdout.write(explain ? `${result.table}\n` : `${result.json}\n`);
    for (const c of result.causes)
      process.stderr.write(`ecs-prometheus-bridge: ${c.cause}${c.hint ? `\n  fix: ${c.hint}` : ""}\n`);
    process.exitCode = result.causes.length > 0 ? 1 : 0;
    return;
  }
  let logger = createLogger(config.logLevel);
  logger.info("starting", { config: redactedConfig(config) });
  let bridge: Bridge;
  try {
    bridge = await startBridge({ config, logger });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  // SIGHUP re-reads the configuration; one reload at a time. A bad file keeps the running bridge.
  let reloading = Promise.resolve();
  process.on("SIGHUP", () => {
    reloading = reloading
      .then(async () => {
        const next = await reload(optionArgs, config, bridge, logger);
        if (next) ({ config, bridge, logger } = next);
      })
      .catch((err: unknown) => {
        // Neither the new nor the previous configuration serves: a supervisor restarts a failed process.
        logger.error("reload failed and the previous configuration did not start again; exiting", { err });
        process.exit(1);
      });
  });
  closeOnSignals(
    () => reloading.then(() => bridge.close()),
    10_000,
    (signal) => logger.info("shutting down", { signal }),
  );
}

function fail(message: string): never {
  process.stderr.write(`ecs-prometheus-bridge: ${message}\n`);
  process.exit(2);
}

/**
 * Loads the configuration again and, if it is valid, restarts the bridge in this process with it (same
 * port or a new one). If the new one does not start, the previous configuration is started again.
 */
async function reload(
  argv: string[],
  running: Config,
  bridge: Bridge,
  logger: Logger,
): Promise<{ config: Config; bridge: Bridge; logger: Logger } | undefined> {
  let config: Config;
  try {
    config = loadConfig({ argv, warn: (m) => logger.warn(m) });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    logger.error("config reload failed; keeping the running configuration", { error: err.message });
    return undefined;
  }
  logger.info("SIGHUP: reloading configuration", { config: redactedConfig(config) });
  await bridge.close();
  const nextLogger = createLogger(config.logLevel);
  try {
    const next = await startBridge({ config, logger: nextLogger });
    nextLogger.info("configuration reloaded", { url: next.url });
    return { config, bridge: next, logger: nextLogger };
  } catch (err) {
    logger.error("the reloaded configuration did not start; restarting with the previous one", {
      error: (err as Error).message,
    });
    return { config: running, bridge: await startBridge({ config: running, logger }), logger };
  }
}

runIfEntry(import.meta.url, "ecs-prometheus-bridge", () => main(process.argv.slice(2)));
