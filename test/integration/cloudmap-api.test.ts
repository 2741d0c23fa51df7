// The Cloud Map API layer's paging against the simulated AWS endpoint, which pages and limits page sizes as
// Cloud Map does: listings are read to the end with the SDK's paginators, and a service DiscoverInstances
// answers with a full (maybe truncated) 1000 is read again, page by page, with ListInstances.
import { afterEach, describe, expect, it } from "vitest";
import { createClients, destroyClients, type AwsClients } from "../../core/aws.js";
import { silentLogger } from "../../core/log.js";
import { createSelfMetrics, type SelfMetrics } from "../../core/metrics.js";
import { cloudMapApi } from "../../sd/cloudmap/api.js";
import { CloudMapSource } from "../../sd/cloudmap/source.js";
import type { SourceRefresh } from "../../sd/refresh.js";
import { startSimAws, type SimAws } from "../../sim/server.js";
import type { Scenario } from "../../sim/types.js";
import { testConfig } from "../helpers/config.js";

let sim: SimAws | undefined;
let clients: AwsClients | undefined;

afterEach(async () => {
  if (clients) destroyClients(clients);
  clients = undefined;
  await sim?.close();
  sim = undefined;
});

async function simClients(scenario: Scenario, metrics: SelfMetrics) {
  const started = await startSimAws({ scenario });
  sim = started;
  const scopeClients = createClients(
    { region: "us-east-1" },
    {
      metrics,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      maxAttempts: 1,
      env: { AWS_ENDPOINT_URL: started.url },
    },
  );
  clients = scopeClients;
  /** Calls the simulator answered, by Cloud Map operation. */
  const calls = () => {
    const out: Record<string, number> = {};
    for (const [key, n] of Object.entries(started.callCounts()))
      out[key.replace(/^servicediscovery:/, "")] = n;
    return out;
  };
  return { clients: scopeClients, calls };
}

async function apiAgainst(scenario: Scenario) {
  const { clients, calls } = await simClients(scenario, createSelfMetrics({ defaults: false }));
  return { api: cloudMapApi(clients.servicediscovery), calls };
}

async function refreshAgainst(scenario: Scenario, env: Record<string, string> = {}) {
  const metrics = createSelfMetrics({ defaults: false });
  const { clients, calls } = await simClients(scenario, metrics);
  const src = new CloudMapSource({
    scopes: [{ key: "default/us-east-1", region: "us-east-1", clients }],
    config: testConfig({ BRIDGE_ECS_ENABLED: "false", BRIDGE_CLOUDMAP_ENABLED: "true", ...env }),
    metrics,
    logger: silentLogger,
  });
  const result = await src.refresh();
  return { result, calls: calls(), metrics };
}

function targetCount(r: SourceRefresh): number {
  expect(r.failedScopes).toEqual([]);
  return r.units.reduce((n, u) => {
    if (!u.ok) throw u.error;
    return n + u.targets.length;
  }, 0);
}

describe("Cloud Map API paging against the simulated AWS endpoint", () => {
  it("pages through ListNamespaces and ListServices", async () => {
    const { api, calls } = await apiAgainst({
      namespaces: Array.from({ length: 130 }, (_, k) => ({
        name: `n${k}`,
        type: "HTTP" as const,
        services: k === 129 ? Array.from({ length: 230 }, (_, s) => ({ name: `svc${s}` })) : [],
      })),
    });
    const namespaces = await api.listNamespaces();
    expect(namespaces).toHaveLength(130);
    const services = await api.listServices(namespaces.find((ns) => ns.name === "n129")!.id);
    expect(new Set(services.map((s) => s.name)).size).toBe(230);
    expect(calls()).toEqual({ ListNamespaces: 2, ListServices: 3 });
  });

  it("falls back to paginated ListInstances when DiscoverInstances returns a full (maybe truncated) 1000", async () => {
    const { result, calls, metrics } = await refreshAgainst({
      namespaces: [
        {
          name: "apps.local",
          type: "DNS_PRIVATE",
          services: [{ name: "api", customHealthCheck: false, generate: { count: 1234, port: 8080 } }],
        },
      ],
    });
    expect(targetCount(result)).toBe(1234);
    expect(calls.DiscoverInstances).toBe(1);
    expect(calls.ListInstances).toBe(13);
    const fallbacks = await metrics.registry
      .getSingleMetric("ecs_bridge_cloudmap_list_instances_fallbacks_total")!
      .get();
    expect(fallbacks.values).toEqual([{ labels: { reason: "truncated" }, value: 1 }]);
  });
});
