// The bridge's configuration: every mechanism's options assembled into one table and one typed object,
// loaded by the generic loader in core/config/.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { helpText as renderHelp, optionsMarkdown as renderMarkdown } from "../core/config/help.js";
import { loadOptions, redactOptions, type LoadInput, type LoaderSettings } from "../core/config/loader.js";
import { CORE_OPTIONS, checkCoreConfig, type CoreConfig } from "../core/options.js";
import { EXPORTER_OPTIONS, checkExporterConfig, type ExporterConfig } from "../exporter/options.js";
import { LAMBDA_OPTIONS, type LambdaConfig } from "../lambda/options.js";
import { CLOUDMAP_OPTIONS, type CloudMapConfig } from "../sd/cloudmap/options.js";
import { ECS_OPTIONS, checkEcsConfig, type EcsConfig } from "../sd/ecs/options.js";

export { ConfigError } from "../core/config/spec.js";
export type { LoadInput } from "../core/config/loader.js";

export interface Config extends CoreConfig {
  ecs: EcsConfig;
  cloudmap: CloudMapConfig;
  exporter: ExporterConfig;
  lambda: LambdaConfig;
}

export const OPTIONS = [
  ...CORE_OPTIONS,
  ...ECS_OPTIONS,
  ...CLOUDMAP_OPTIONS,
  ...EXPORTER_OPTIONS,
  ...LAMBDA_OPTIONS,
] as const;

const SETTINGS: LoaderSettings = { options: OPTIONS, envPrefix: "BRIDGE_", configEnv: "BRIDGE_CONFIG" };
const PROGRAM = "ecs-prometheus-bridge";

/** Builds and validates the configuration; throws ConfigError naming the key, the value and what is allowed. */
export function loadConfig(input: LoadInput = {}): Config {
  const config = loadOptions(SETTINGS, input) as unknown as Config;
  checkCoreConfig(config, input.env ?? process.env);
  checkExporterConfig(config.exporter);
  checkEcsConfig(config.ecs);
  return config;
}

/** The configuration with credentials masked, safe to log. */
export function redactedConfig(config: Config): Record<string, unknown> {
  return redactOptions(OPTIONS, config);
}

/** The options table in Markdown, for the README (generated so it cannot drift). */
export function optionsMarkdown(): string {
  return renderMarkdown(OPTIONS);
}

export function helpText(): string {
  return renderHelp(PROGRAM, OPTIONS);
}

/** The version in the nearest package.json above this module (source and build trees alike). */
export function versionText(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === PROGRAM) return `${PROGRAM} ${pkg.version}`;
    } catch {
      // no package.json here: look one level up
    }
    if (dirname(dir) === dir) return `${PROGRAM} (unknown version)`;
  }
}
