// The bridge as benchmarks start it: on loopback (an ephemeral port), on demand only (schedule off),
// silent, reading the given clusters from the simulated AWS at `simUrl`.
import type { Bridge } from "../cmd/bridge.js";
import type { ClientOptions } from "../core/aws.js";
import type { SelfMetrics } from "../core/metrics.js";
import type { EcsEventsDeps } from "../sd/ecs/events.js";
import type { Discovery } from "../sd/refresh.js";

/** The simulated AWS's test credentials. */
export const SIM_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

/** Test credentials and the simulator's endpoint, for any AWS client a benchmark builds. */
export function simClientOptions(simUrl: string): ClientOptions {
  return {
    credentials: SIM_CREDENTIALS,
    env: { AWS_ENDPOINT_URL: simUrl },
  };
}

export async function benchBridge(
  simUrl: string,
  clusters: string[],
  opts: { defaultMetrics?: boolean } = {},
): Promise<Bridge> {
  // Imported on call: a process that never starts the bridge (the scale bench's naive strategy, the soak
  // parent) does not load it, so its memory figures stay its own.
  const { startBridge } = await import("../cmd/bridge.js");
  const { loadConfig } = await import("../cmd/config.js");
  const { silentLogger } = await import("../core/log.js");
  return startBridge({
    config: loadConfig({
      env: {
        AWS_REGION: "us-east-1",
        BRIDGE_LISTEN_HOST: "127.0.0.1",
        BRIDGE_LISTEN_PORT: "0",
        BRIDGE_CLUSTERS: clusters.join(","),
      },
    }),
    logger: silentLogger,
    defaultMetrics: opts.defaultMetrics,
    schedule: false,
    clientOptions: simClientOptions(simUrl),
  });
}

/** The bridge's ECS discovery in events mode, with a clock the caller moves forward to make a reconcile due. */
export interface BenchEventDiscovery {
  discovery: Discovery;
  /** What the events source was built with (a polling EcsSource built with them reads the same estate). */
  deps: EcsEventsDeps & { now: () => number };
  metrics: SelfMetrics;
  /** Moves the clock one reconcile interval on: the next refresh is a reconcile (the full walk). */
  reconcileNext(): void;
  close(): Promise<void>;
}

/**
 * ECS discovery following task state change events from the simulator's queue at `queueUrl` (ecs.events),
 * the Discovery that publishes it, and no HTTP server: how it serves is the same as polling's.
 */
export async function benchEventDiscovery(
  simUrl: string,
  clusters: string[],
  queueUrl: string,
): Promise<BenchEventDiscovery> {
  const { loadConfig } = await import("../cmd/config.js");
  const { destroyClients } = await import("../core/aws.js");
  const { silentLogger } = await import("../core/log.js");
  const { createSelfMetrics } = await import("../core/metrics.js");
  const { buildScopes } = await import("../core/scopes.js");
  const { createEcsEventSource } = await import("../sd/ecs/events.js");
  const { Discovery } = await import("../sd/refresh.js");
  const config = loadConfig({
    env: {
      AWS_REGION: "us-east-1",
      BRIDGE_CLUSTERS: clusters.join(","),
      BRIDGE_ECS_EVENTS_ENABLED: "true",
      BRIDGE_ECS_EVENTS_QUEUE_URLS: queueUrl,
    },
  });
  const metrics = createSelfMetrics({ defaults: false });
  const scopes = buildScopes(config, { ...simClientOptions(simUrl), metrics });
  let skew = 0;
  const deps = { scopes, config, metrics, logger: silentLogger, now: () => Date.now() + skew };
  const discovery = new Discovery({
    sources: [createEcsEventSource(deps)],
    metrics,
    logger: silentLogger,
    intervalSeconds: config.refreshIntervalSeconds,
  });
  return {
    discovery,
    deps,
    metrics,
    reconcileNext: () => {
      skew += config.ecs.events.reconcileIntervalSeconds * 1000;
    },
    async close() {
      await discovery.stop();
      for (const s of scopes) destroyClients(s.clients);
    },
  };
}
