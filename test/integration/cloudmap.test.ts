// The Cloud Map source against the simulated AWS endpoint (sim/) through real SDK clients over loopback:
// every namespace type, a 250-instance service (the sim, like AWS, returns 100 unless MaxResults is set),
// service tags, ECS-registered instances, health changes, failures and throttling, and the bridge's /sd.
import { afterEach, describe, expect, it } from "vitest";
import { createClients } from "../../core/aws.js";
import { silentLogger } from "../../core/log.js";
import { startBridge, type Bridge } from "../../cmd/bridge.js";
import { createSelfMetrics, type SelfMetrics } from "../../core/metrics.js";
import type { DiscoveredTarget } from "../../sd/model.js";
import { Discovery } from "../../sd/refresh.js";
import { cloudMapApi } from "../../sd/cloudmap/api.js";
import { CloudMapSource } from "../../sd/cloudmap/source.js";
import { startSimAws, type SimAws } from "../../sim/server.js";
import type { Scenario } from "../../sim/types.js";
import { testConfig } from "../helpers/config.js";

const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const SCOPE = "default/us-east-1";

const SCENARIO: Scenario = {
  taskDefinitions: [
    {
      family: "api",
      containerDefinitions: [
        {
          name: "app",
          portMappings: [{ containerPort: 8080 }],
          dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080" },
        },
      ],
    },
  ],
  clusters: [
    {
      name: "prod",
      services: [
        {
          name: "api",
          taskDefinition: "api",
          desiredCount: 2,
          serviceRegistry: { namespace: "corp.local", service: "api" },
        },
      ],
    },
  ],
  namespaces: [
    {
      name: "http-apps",
      type: "HTTP",
      services: [
        {
          name: "web",
          customHealthCheck: false,
          instances: [
            {
              id: "w1",
              attributes: { AWS_INSTANCE_IPV4: "127.0.5.10", AWS_INSTANCE_PORT: "9100", "app.tier": "front" },
            },
          ],
        },
        { name: "big", generate: { count: 250, port: 9100 } },
        {
          name: "portless",
          tags: { METRICS_PORT: "9300", METRICS_PATH: "/m" },
          instances: [
            { id: "p1", attributes: { AWS_INSTANCE_IPV4: "127.0.5.11" } },
            { id: "p2", attributes: { AWS_INSTANCE_PORT: "9100" } },
          ],
        },
      ],
    },
    {
      name: "corp.local",
      type: "DNS_PRIVATE",
      services: [
        { name: "api" },
        {
          name: "db",
          instances: [
            { id: "d1", attributes: { AWS_INSTANCE_IPV4: "127.0.5.20", AWS_INSTANCE_PORT: "5432" } },
            {
              id: "d2",
              attributes: { AWS_INSTANCE_IPV4: "127.0.5.21", AWS_INSTANCE_PORT: "5432" },
              health: "UNHEALTHY",
            },
          ],
        },
      ],
    },
    {
      name: "example.com",
      type: "DNS_PUBLIC",
      services: [
        {
          name: "www",
          instances: [{ id: "v6", attributes: { AWS_INSTANCE_IPV6: "::1", AWS_INSTANCE_PORT: "9100" } }],
        },
      ],
    },
  ],
};

let sim: SimAws | undefined;
let bridge: Bridge | undefined;

afterEach(async () => {
  await bridge?.close();
  bridge = undefined;
  await sim?.close();
  sim = undefined;
});

function sourceFor(s: SimAws, env: Record<string, string> = {}, maxAttempts = 1) {
  const metrics = createSelfMetrics({ defaults: false });
  const clients = createClients(
    { region: "us-east-1" },
    { metrics, credentials: CREDENTIALS, maxAttempts, env: { AWS_ENDPOINT_URL: s.url } },
  );
  const config = testConfig({ BRIDGE_ECS_ENABLED: "false", BRIDGE_CLOUDMAP_ENABLED: "true", ...env });
  const src = new CloudMapSource({
    scopes: [{ key: SCOPE, region: "us-east-1", clients }],
    config,
    metrics,
    logger: silentLogger,
  });
  const discovery = new Discovery({ sources: [src], metrics, logger: silentLogger, intervalSeconds: 30 });
  return { src, discovery, metrics, clients };
}

async function startBridgeOn(s: SimAws, env: Record<string, string>): Promise<Bridge> {
  return startBridge({
    config: testConfig({
      BRIDGE_CLOUDMAP_ENABLED: "true",
      BRIDGE_LISTEN_HOST: "127.0.0.1",
      BRIDGE_LISTEN_PORT: "0",
      ...env,
    }),
    logger: silentLogger,
    defaultMetrics: false,
    schedule: false,
    clientOptions: { credentials: CREDENTIALS, env: { AWS_ENDPOINT_URL: s.url } },
  });
}

/** Calls the simulator answered, by Cloud Map operation. */
function cloudMapCalls(s: SimAws): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(s.callCounts())) out[key.replace(/^servicediscovery:/, "")] = n;
  return out;
}

const byNs = (ts: DiscoveredTarget[], ns: string, svc?: string) =>
  ts
    .filter((t) => t.namespace === ns && (!svc || t.service === svc))
    .map((t) => t.group.targets[0]!)
    .sort();

async function unitUp(metrics: SelfMetrics): Promise<Record<string, number>> {
  const m = await metrics.unitUp.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.unit), v.value]));
}

describe("Cloud Map source against the simulated AWS endpoint", () => {
  it("discovers every namespace type, big services in full, tag ports, ECS labels and health", async () => {
    sim = await startSimAws({ scenario: SCENARIO });
    const { discovery, metrics } = sourceFor(sim);
    await discovery.refreshOnce();
    const snap = discovery.snapshot();
    expect(snap.ready).toBe(true);
    const ts = snap.targets;

    expect(byNs(ts, "http-apps", "web")).toEqual(["127.0.5.10:9100"]);
    expect(byNs(ts, "http-apps", "big")).toHaveLength(250);
    expect(byNs(ts, "http-apps", "portless")).toEqual(["127.0.5.11:9300"]);
    expect(byNs(ts, "corp.local", "db")).toEqual(["127.0.5.20:5432"]);
    expect(byNs(ts, "example.com")).toEqual(["[::1]:9100"]);

    const web = ts.find((t) => t.service === "web")!;
    expect(web.group.labels).toMatchObject({
      __meta_cloudmap_namespace_name: "http-apps",
      __meta_cloudmap_service_name: "web",
      __meta_cloudmap_instance_id: "w1",
      __meta_cloudmap_health_status: "UNKNOWN",
      __meta_cloudmap_attribute_app_tier: "front",
    });
    expect(web.group.labels.__meta_cloudmap_namespace_id).toMatch(/^ns-/);
    expect(web.group.labels.__meta_cloudmap_service_id).toMatch(/^srv-/);
    expect(ts.find((t) => t.service === "portless")!.group.labels.__metrics_path__).toBe("/m");

    const api = ts.filter((t) => t.namespace === "corp.local" && t.service === "api");
    expect(api).toHaveLength(2);
    for (const t of api) {
      expect(t.cluster).toBe("prod");
      expect(t.group.labels).toMatchObject({
        __meta_ecs_cluster: "prod",
        __meta_ecs_service: "api",
        __meta_ecs_task_definition_family: "api",
        __meta_ecs_region: "us-east-1",
        __meta_cloudmap_health_status: "HEALTHY",
      });
      expect(t.group.labels.__meta_ecs_availability_zone).toMatch(/^us-east-1[a-c]$/);
    }
    const skipped = await metrics.skipped.get();
    expect(skipped.values.find((v) => v.labels.reason === "no_ip")?.value).toBe(1);
    for (const t of ts) expect(t.group.targets[0]).toMatch(/^(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]):\d+$/);

    const body = sim.callLog({ operation: "DiscoverInstances" });
    expect(body.every((c) => c.params.MaxResults === 1000)).toBe(true);
  });

  it("follows registrations, deregistrations and health changes on each refresh", async () => {
    sim = await startSimAws({ scenario: SCENARIO });
    const { discovery } = sourceFor(sim, { BRIDGE_CLOUDMAP_NAMESPACES: "corp.local" });
    await discovery.refreshOnce();
    expect(byNs(discovery.snapshot().targets, "corp.local", "db")).toEqual(["127.0.5.20:5432"]);

    sim.registerInstance({
      namespace: "corp.local",
      service: "db",
      instanceId: "d3",
      attributes: { AWS_INSTANCE_IPV4: "127.0.5.22", AWS_INSTANCE_PORT: "5432" },
    });
    await discovery.refreshOnce();
    expect(byNs(discovery.snapshot().targets, "corp.local", "db")).toEqual([
      "127.0.5.20:5432",
      "127.0.5.22:5432",
    ]);

    // Every instance unhealthy: HEALTHY_OR_ELSE_ALL fails open and serves them all.
    sim.setInstanceHealth({ namespace: "corp.local", service: "db", instanceId: "d1", health: "UNHEALTHY" });
    sim.setInstanceHealth({ namespace: "corp.local", service: "db", instanceId: "d3", health: "UNHEALTHY" });
    await discovery.refreshOnce();
    expect(byNs(discovery.snapshot().targets, "corp.local", "db")).toHaveLength(3);

    sim.setInstanceHealth({ namespace: "corp.local", service: "db", instanceId: "d3", health: "HEALTHY" });
    sim.deregisterInstance({ namespace: "corp.local", service: "db", instanceId: "d1" });
    await discovery.refreshOnce();
    expect(byNs(discovery.snapshot().targets, "corp.local", "db")).toEqual(["127.0.5.22:5432"]);
  });

  it("HEALTHY drops unhealthy instances, ALL keeps them with their status", async () => {
    sim = await startSimAws({ scenario: SCENARIO });
    const healthy = sourceFor(sim, { BRIDGE_CLOUDMAP_HEALTH_STATUS: "HEALTHY" });
    await healthy.discovery.refreshOnce();
    expect(byNs(healthy.discovery.snapshot().targets, "corp.local", "db")).toEqual(["127.0.5.20:5432"]);
    const all = sourceFor(sim, { BRIDGE_CLOUDMAP_HEALTH_STATUS: "ALL" });
    await all.discovery.refreshOnce();
    const db = all.discovery.snapshot().targets.filter((t) => t.service === "db");
    expect(
      Object.fromEntries(db.map((t) => [t.group.targets[0], t.group.labels.__meta_cloudmap_health_status])),
    ).toEqual({
      "127.0.5.20:5432": "HEALTHY",
      "127.0.5.21:5432": "UNHEALTHY",
    });
  });

  it("a failing namespace keeps its last-good targets while the others update, then recovers", async () => {
    sim = await startSimAws({ scenario: SCENARIO });
    const { discovery, metrics } = sourceFor(sim);
    await discovery.refreshOnce();
    const before = byNs(discovery.snapshot().targets, "corp.local");

    const fault = sim.failNamespace("corp.local", { status: 400, code: "RequestLimitExceeded" });
    sim.registerInstance({
      namespace: "corp.local",
      service: "db",
      instanceId: "d9",
      attributes: { AWS_INSTANCE_IPV4: "127.0.5.29", AWS_INSTANCE_PORT: "5432" },
    });
    sim.registerInstance({
      namespace: "http-apps",
      service: "web",
      instanceId: "w2",
      attributes: { AWS_INSTANCE_IPV4: "127.0.5.12", AWS_INSTANCE_PORT: "9100" },
    });
    await discovery.refreshOnce();
    let ts = discovery.snapshot().targets;
    expect(byNs(ts, "corp.local")).toEqual(before);
    expect(byNs(ts, "http-apps", "web")).toEqual(["127.0.5.10:9100", "127.0.5.12:9100"]);
    expect(await unitUp(metrics)).toMatchObject({ [`${SCOPE}/corp.local`]: 0, [`${SCOPE}/http-apps`]: 1 });

    sim.removeFault(fault);
    await discovery.refreshOnce();
    ts = discovery.snapshot().targets;
    expect(byNs(ts, "corp.local", "db")).toEqual(["127.0.5.20:5432", "127.0.5.29:5432"]);
    expect((await unitUp(metrics))[`${SCOPE}/corp.local`]).toBe(1);
  });

  it("a failing ListNamespaces keeps every namespace", async () => {
    sim = await startSimAws({ scenario: SCENARIO });
    const { discovery, metrics } = sourceFor(sim, { BRIDGE_CLOUDMAP_SERVICES_TTL_SECONDS: "0" });
    await discovery.refreshOnce();
    const before = discovery.snapshot().targets.length;
    sim.forceServerErrors({ service: "servicediscovery", operation: "ListNamespaces", count: 1 });
    await discovery.refreshOnce();
    expect(discovery.snapshot().targets).toHaveLength(before);
    const failures = await metrics.refreshFailures.get();
    expect(failures.values.find((v) => v.labels.unit === `${SCOPE}/`)?.value).toBe(1);
  });

  it("rides out a burst of throttling with the SDK's retries", async () => {
    sim = await startSimAws({ scenario: SCENARIO });
    const { discovery, metrics } = sourceFor(sim, { BRIDGE_CLOUDMAP_NAMESPACES: "example.com" }, 5);
    sim.throttleNext({ service: "servicediscovery", operation: "DiscoverInstances", count: 2 });
    await discovery.refreshOnce();
    expect(byNs(discovery.snapshot().targets, "example.com")).toEqual(["[::1]:9100"]);
    expect(await unitUp(metrics)).toEqual({ [`${SCOPE}/example.com`]: 1 });
    const throttles = await metrics.awsThrottles.get();
    expect(throttles.values.reduce((n, v) => n + v.value, 0)).toBe(2);
  });

  it("the bridge serves a task ECS and Cloud Map both list once on /sd; ?cluster= and ?source= both find it", async () => {
    sim = await startSimAws({ scenario: SCENARIO });
    bridge = await startBridgeOn(sim, {});
    await bridge.discovery.refreshOnce();
    const get = async (q: string) => {
      const res = await fetch(`${bridge!.url}/sd?${q}`);
      expect(res.status).toBe(200);
      return (await res.json()) as { targets: string[]; labels: Record<string, string> }[];
    };
    // Two api tasks, each registered in Cloud Map by ECS: one target each, with both label sets.
    const prod = await get("cluster=prod");
    expect(prod).toHaveLength(2);
    for (const g of prod) {
      expect(g.labels).toMatchObject({ __meta_ecs_cluster: "prod", __meta_ecs_service: "api" });
      expect(g.labels.__meta_ecs_task_arn).toBeDefined();
      expect(g.labels.__meta_cloudmap_namespace_name).toBe("corp.local");
    }
    const addresses = (gs: { targets: string[] }[]) => gs.map((g) => g.targets[0]).sort();
    expect(addresses(await get("cluster=prod&source=cloudmap"))).toEqual(addresses(prod));
    expect(addresses(await get("cluster=prod&source=ecs"))).toEqual(addresses(prod));
    expect(await get("namespace=example.com")).toEqual([
      {
        targets: ["[::1]:9100"],
        labels: expect.objectContaining({ __meta_cloudmap_instance_id: "v6" }) as unknown,
      },
    ]);
  });

  it("a bridge with only Cloud Map enabled serves its targets on /sd, filterable by source and namespace", async () => {
    sim = await startSimAws({
      scenario: {
        namespaces: [
          {
            name: "apps.local",
            type: "DNS_PRIVATE",
            services: [
              {
                name: "api",
                instances: [
                  { id: "i-1", attributes: { AWS_INSTANCE_IPV4: "192.0.2.7", AWS_INSTANCE_PORT: "9100" } },
                ],
              },
            ],
          },
        ],
      },
    });
    bridge = await startBridgeOn(sim, { BRIDGE_ECS_ENABLED: "false" });
    await bridge.discovery.refreshOnce();
    const res = await fetch(`${bridge.url}/sd?source=cloudmap&namespace=apps.local`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { targets: string[]; labels: Record<string, string> }[];
    expect(body).toHaveLength(1);
    expect(body[0]!.targets).toEqual(["192.0.2.7:9100"]);
    expect(body[0]!.labels.__meta_cloudmap_service_name).toBe("api");
    const other = await fetch(`${bridge.url}/sd?namespace=elsewhere`);
    expect(await other.json()).toEqual([]);
  });

  it("counts each namespace's AWS calls by operation, on /status (JSON and page); they add up to what AWS answered", async () => {
    sim = await startSimAws({ scenario: SCENARIO });
    bridge = await startBridgeOn(sim, { BRIDGE_ECS_ENABLED: "false" });
    await bridge.discovery.refreshOnce();
    const status = (await (await fetch(`${bridge.url}/status?format=json`)).json()) as {
      units: { unit: string; calls?: Record<string, number> }[];
    };
    const calls = Object.fromEntries(status.units.map((u) => [u.unit, u.calls]));
    // corp.local: ListServices once, and per service (two) its revision, its instances and its tags.
    expect(calls[`${SCOPE}/corp.local`]).toEqual({
      DiscoverInstances: 2,
      DiscoverInstancesRevision: 2,
      ListServices: 1,
      ListTagsForResource: 2,
    });
    expect(calls[`${SCOPE}/http-apps`]).toMatchObject({ ListServices: 1, DiscoverInstances: 3 });
    // The scope's listing is no namespace's; everything else is counted against exactly one namespace.
    const summed: Record<string, number> = { ListNamespaces: cloudMapCalls(sim).ListNamespaces ?? 0 };
    for (const c of Object.values(calls))
      for (const [op, n] of Object.entries(c ?? {})) summed[op] = (summed[op] ?? 0) + n;
    expect(summed).toEqual(cloudMapCalls(sim));
    const page = await (await fetch(`${bridge.url}/status`, { headers: { accept: "text/html" } })).text();
    expect(page).toContain(
      "AWS calls: DiscoverInstances 2, DiscoverInstancesRevision 2, ListServices 1, ListTagsForResource 2",
    );
  });
});

// Paging is the API layer's business: the simulator pages and limits page sizes as Cloud Map does.
describe("Cloud Map API paging against the simulated AWS endpoint", () => {
  it("pages through ListNamespaces and ListServices", async () => {
    sim = await startSimAws({
      scenario: {
        namespaces: Array.from({ length: 130 }, (_, k) => ({
          name: `n${k}`,
          type: "HTTP" as const,
          services: k === 129 ? Array.from({ length: 230 }, (_, s) => ({ name: `svc${s}` })) : [],
        })),
      },
    });
    const api = cloudMapApi(sourceFor(sim).clients.servicediscovery, 4);
    const namespaces = await api.listNamespaces();
    expect(namespaces).toHaveLength(130);
    const services = await api.listServices(namespaces.find((ns) => ns.name === "n129")!.id);
    expect(new Set(services.map((s) => s.name)).size).toBe(230);
    expect(cloudMapCalls(sim)).toEqual({ ListNamespaces: 2, ListServices: 3 });
  });

  it("falls back to paginated ListInstances when DiscoverInstances returns a full (maybe truncated) 1000", async () => {
    sim = await startSimAws({
      scenario: {
        namespaces: [
          {
            name: "apps.local",
            type: "DNS_PRIVATE",
            services: [{ name: "api", customHealthCheck: false, generate: { count: 1234, port: 8080 } }],
          },
        ],
      },
    });
    const { discovery, metrics } = sourceFor(sim);
    await discovery.refreshOnce();
    expect(discovery.snapshot().targets).toHaveLength(1234);
    expect(cloudMapCalls(sim)).toMatchObject({ DiscoverInstances: 1, ListInstances: 13 });
    const fallbacks = await metrics.registry
      .getSingleMetric("ecs_bridge_cloudmap_list_instances_fallbacks_total")!
      .get();
    expect(fallbacks.values).toEqual([{ labels: { reason: "truncated" }, value: 1 }]);
  });
});
