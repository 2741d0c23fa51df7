// The bridge as benchmarks start it: on loopback (an ephemeral port), on demand only (schedule off),
// silent, reading the given clusters from the simulated AWS at `simUrl`.
import type { Bridge } from "../cmd/bridge.js";
import type { ClientOptions } from "../core/aws.js";

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
