// Benchmark: AWS API calls per Cloud Map refresh, counted by the simulated AWS endpoint, for one namespace
// of `services` services x `instances` instances: the cold first refresh, a steady-state refresh (listings
// cached), and the refresh right after the listing TTL expires.
import { pathToFileURL } from "node:url";
import { createClients, destroyClients } from "../core/aws.js";
import { loadConfig } from "../cmd/config.js";
import { silentLogger } from "../core/log.js";
import { createSelfMetrics } from "../core/metrics.js";
import { CloudMapSource } from "../sd/cloudmap/source.js";
import { startSimAws } from "../sim/server.js";
import type { Scenario } from "../sim/types.js";

export interface RefreshCalls {
  total: number;
  byOperation: Record<string, number>;
  targets: number;
  ms: number;
}

export interface CloudMapCallFigures {
  namespaces: number;
  services: number;
  instancesPerService: number;
  cold: RefreshCalls;
  steady: RefreshCalls;
  afterTtl: RefreshCalls;
  ttlSeconds: number;
}

export async function benchCloudMap(
  opts: { namespaces?: number; services?: number; instances?: number } = {},
): Promise<CloudMapCallFigures> {
  const namespaces = opts.namespaces ?? 1;
  const services = opts.services ?? 50;
  const instances = opts.instances ?? 20;
  const scenario: Scenario = {
    namespaces: Array.from({ length: namespaces }, (_, n) => ({
      name: `ns${n}.local`,
      type: "DNS_PRIVATE" as const,
      services: Array.from({ length: services }, (_, s) => ({
        name: `svc${s}`,
        generate: { count: instances, port: 9100 },
      })),
    })),
  };
  const clock = { t: Date.UTC(2024, 5, 1) };
  const sim = await startSimAws({ scenario });
  const config = loadConfig({ env: { AWS_REGION: "us-east-1", BRIDGE_CLOUDMAP_ENABLED: "true" } });
  const metrics = createSelfMetrics({ defaults: false });
  const clients = createClients(
    { region: "us-east-1" },
    {
      metrics,
      credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
      env: { AWS_ENDPOINT_URL: sim.url },
    },
  );
  const source = new CloudMapSource({
    scopes: [{ key: "default/us-east-1", region: "us-east-1", clients }],
    config,
    metrics,
    logger: silentLogger,
    now: () => clock.t,
  });
  const measure = async (): Promise<RefreshCalls> => {
    sim.resetCalls();
    const start = performance.now();
    const r = await source.refresh();
    const ms = performance.now() - start;
    const failed = r.units.filter((u) => !u.ok);
    if (failed.length > 0 || r.failedScopes.length > 0) throw new Error("benchmark refresh failed");
    const byOperation: Record<string, number> = {};
    for (const [key, n] of Object.entries(sim.callCounts()))
      byOperation[key.replace(/^servicediscovery:/, "")] = n;
    return {
      total: Object.values(byOperation).reduce((a, b) => a + b, 0),
      byOperation,
      targets: r.units.reduce((n, u) => n + (u.ok ? u.targets.length : 0), 0),
      ms,
    };
  };
  try {
    const cold = await measure();
    clock.t += 30_000;
    const steady = await measure();
    clock.t += config.cloudmap.servicesTtlSeconds * 1000;
    const afterTtl = await measure();
    return {
      namespaces,
      services,
      instancesPerService: instances,
      cold,
      steady,
      afterTtl,
      ttlSeconds: config.cloudmap.servicesTtlSeconds,
    };
  } finally {
    destroyClients(clients);
    await sim.close();
  }
}

export function formatCloudMapFigures(f: CloudMapCallFigures): string {
  const row = (label: string, r: RefreshCalls) =>
    `  ${label}: ${r.total} calls (${Object.entries(r.byOperation)
      .sort()
      .map(([op, n]) => `${op} ${n}`)
      .join(", ")}), ${r.targets} targets, ${r.ms.toFixed(0)} ms`;
  return [
    `Cloud Map, ${f.namespaces} namespace(s) x ${f.services} services x ${f.instancesPerService} instances:`,
    row("cold refresh", f.cold),
    row("steady refresh", f.steady),
    row(`refresh after the ${f.ttlSeconds}s listing TTL`, f.afterTtl),
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.stdout.write(formatCloudMapFigures(await benchCloudMap()) + "\n");
}
