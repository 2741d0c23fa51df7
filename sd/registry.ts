// The source registry: every discovery mechanism, by name. The service and the Lambda build their enabled
// sources from it, so adding a source means its own folder plus one entry here.
import type { Config } from "../cmd/config.js";
import type { Logger } from "../core/log.js";
import type { SelfMetrics } from "../core/metrics.js";
import type { AwsScope } from "../core/scopes.js";
import type { Source } from "./refresh.js";
import { CloudMapSource } from "./cloudmap/source.js";
import { createEcsEventSource } from "./ecs/events.js";
import { EcsSource } from "./ecs/source.js";

/** What every source is constructed with. */
export interface SourceDeps {
  scopes: AwsScope[];
  config: Config;
  metrics: SelfMetrics;
  logger: Logger;
}

interface SourceEntry {
  enabled(config: Config): boolean;
  create(deps: SourceDeps): Source;
}

// Return types are written out (`: Source`) so SourceName, derived from these keys, is not circular.
export const SOURCE_REGISTRY = {
  ecs: {
    enabled: (c: Config) => c.ecs.enabled,
    create: (d: SourceDeps): Source =>
      d.config.ecs.events.enabled ? createEcsEventSource(d) : new EcsSource(d),
  },
  cloudmap: {
    enabled: (c: Config) => c.cloudmap.enabled,
    create: (d: SourceDeps): Source => new CloudMapSource(d),
  },
} satisfies Record<string, SourceEntry>;

/** Every source name, in registry order (the values `?source=` accepts). */
export const SOURCE_NAMES = Object.keys(SOURCE_REGISTRY) as (keyof typeof SOURCE_REGISTRY)[];

/** The sources the configuration enables, in registry order. */
export function buildSources(deps: SourceDeps): Source[] {
  return Object.values(SOURCE_REGISTRY as Record<string, SourceEntry>)
    .filter((entry) => entry.enabled(deps.config))
    .map((entry) => entry.create(deps));
}
