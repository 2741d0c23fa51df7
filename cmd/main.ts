// The service's command line: `node dist/cmd/main.js [flags]`. Loads the config, checks that AWS credentials
// exist, starts the bridge and stops it on SIGTERM/SIGINT within 10 s.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ConfigError, helpText, loadConfig, redactedConfig, versionText, type Config } from "./config.js";
import { createLogger } from "../core/log.js";
import { startBridge, type Bridge } from "./bridge.js";
import { closeOnSignals, runIfEntry } from "./process.js";

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
  closeOnSignals(
    () => bridge.close(),
    10_000,
    (signal) => logger.info("shutting down", { signal }),
  );
}

runIfEntry(import.meta.url, "ecs-prometheus-bridge", () => main(process.argv.slice(2)));
