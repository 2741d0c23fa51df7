// Starts the real bridge (startBridge) against a simulated AWS endpoint, on loopback.
import { loadConfig } from "../../cmd/config.js";
import { silentLogger } from "../../core/log.js";
import { startBridge, type Bridge } from "../../cmd/bridge.js";
import type { SimAws } from "../../sim/index.js";

export interface TargetGroupJson {
  targets: string[];
  labels: Record<string, string>;
}

export async function bridgeOnSim(
  sim: SimAws,
  env: Record<string, string> = {},
  opts: {
    schedule?: boolean;
    defaultMetrics?: boolean;
    /** AWS endpoint (default the sim's URL; e.g. a proxy in front of it). */ endpoint?: string;
  } = {},
): Promise<Bridge> {
  const config = loadConfig({
    env: {
      AWS_REGION: sim.region,
      BRIDGE_LISTEN_HOST: "127.0.0.1",
      BRIDGE_LISTEN_PORT: "0",
      BRIDGE_AWS_MAX_ATTEMPTS: "2",
      ...env,
    },
  });
  return startBridge({
    config,
    logger: silentLogger,
    defaultMetrics: opts.defaultMetrics ?? false,
    schedule: opts.schedule ?? false,
    clientOptions: {
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      env: { AWS_ENDPOINT_URL: opts.endpoint ?? sim.url },
    },
  });
}

export async function getSd(bridge: Bridge, query = ""): Promise<TargetGroupJson[]> {
  const res = await fetch(`${bridge.url}/sd${query}`);
  if (res.status !== 200) throw new Error(`/sd answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as TargetGroupJson[];
}

export const addressesOf = (groups: TargetGroupJson[]): string[] => groups.map((g) => g.targets[0]!).sort();
