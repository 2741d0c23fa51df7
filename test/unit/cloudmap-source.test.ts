import { describe, expect, it } from "vitest";
import { silentLogger } from "../../core/log.js";
import { createSelfMetrics, type SelfMetrics } from "../../core/metrics.js";
import { matches, parseFilter } from "../../sd/httpsd.js";
import type { DiscoveredTarget } from "../../sd/model.js";
import { Discovery, type SourceRefresh } from "../../sd/refresh.js";
import { CloudMapSource } from "../../sd/cloudmap/source.js";
import { testClients } from "../helpers/aws-nock.js";
import { testConfig } from "../helpers/config.js";
import { awsError, fakeCloudMap, instances, type FakeCloudMap, type FakeWorld } from "./cloudmap-fake.js";

const SCOPE = "default/us-east-1";

function source(
  fake: FakeCloudMap,
  env: Record<string, string> = {},
  clock = { t: 1_000_000 },
  assumeRole?: () => Promise<unknown>,
) {
  const metrics = createSelfMetrics({ defaults: false });
  const config = testConfig({ BRIDGE_ECS_ENABLED: "false", BRIDGE_CLOUDMAP_ENABLED: "true", ...env });
  const clients = { ...testClients(metrics), ...(assumeRole ? { assumeRole } : {}) };
  const src = new CloudMapSource({
    scopes: [{ key: SCOPE, region: "us-east-1", clients }],
    config,
    metrics,
    logger: silentLogger,
    now: () => clock.t,
    api: () => fake.api,
  });
  return { src, metrics, clock };
}

/** Every unit must succeed; returns all targets. */
function okTargets(r: SourceRefresh): DiscoveredTarget[] {
  expect(r.failedScopes).toEqual([]);
  return r.units.flatMap((u) => {
    if (!u.ok) throw u.error;
    return u.targets;
  });
}

const addresses = (ts: DiscoveredTarget[]) => ts.map((t) => t.group.targets[0]!).sort();

async function skipped(metrics: SelfMetrics): Promise<Record<string, number>> {
  const m = await metrics.skipped.get();
  return Object.fromEntries(
    m.values.filter((v) => v.labels.source === "cloudmap").map((v) => [String(v.labels.reason), v.value]),
  );
}

function oneService(
  attrs: Record<string, string>[],
  svc: Partial<FakeWorld["services"][number]> = {},
): FakeWorld {
  return {
    namespaces: [{ id: "ns-1", name: "apps.local", type: "DNS_PRIVATE" }],
    services: [{ id: "srv-1", name: "api", namespaceId: "ns-1", ...svc }],
    instances: attrs.map((attributes, k) => ({ id: `i-${k}`, serviceId: "srv-1", attributes })),
  };
}

describe("Cloud Map namespaces", () => {
  it("serves HTTP, private DNS and public DNS namespaces, one unit each, with exactly the documented labels", async () => {
    const mock = fakeCloudMap({
      namespaces: [
        { id: "ns-http", name: "http-apps", type: "HTTP" },
        { id: "ns-priv", name: "corp.local", type: "DNS_PRIVATE", httpName: "corp.local-7f3a" },
        { id: "ns-pub", name: "example.com", type: "DNS_PUBLIC" },
      ],
      services: [
        { id: "srv-a", name: "a", namespaceId: "ns-http" },
        { id: "srv-b", name: "b", namespaceId: "ns-priv" },
        { id: "srv-c", name: "c", namespaceId: "ns-pub" },
      ],
      instances: [
        {
          id: "ia",
          serviceId: "srv-a",
          attributes: { AWS_INSTANCE_IPV4: "192.0.2.1", AWS_INSTANCE_PORT: "80" },
        },
        {
          id: "ib",
          serviceId: "srv-b",
          attributes: { AWS_INSTANCE_IPV4: "192.0.2.2", AWS_INSTANCE_PORT: "81" },
        },
        {
          id: "ic",
          serviceId: "srv-c",
          attributes: { AWS_INSTANCE_IPV4: "192.0.2.3", AWS_INSTANCE_PORT: "82" },
        },
      ],
    });
    const r = await source(mock).src.refresh();
    expect(r.units.map((u) => u.unit).sort()).toEqual(
      [`${SCOPE}/corp.local`, `${SCOPE}/example.com`, `${SCOPE}/http-apps`].sort(),
    );
    const ts = okTargets(r);
    expect(addresses(ts)).toEqual(["192.0.2.1:80", "192.0.2.2:81", "192.0.2.3:82"]);
    // DiscoverInstances is addressed by the namespace's HttpName, which differs when a name was reused.
    expect(mock.requests.discoverInstances!.map((b) => b.NamespaceName).sort()).toEqual([
      "corp.local-7f3a",
      "example.com",
      "http-apps",
    ]);
    const b = ts.find((t) => t.group.targets[0] === "192.0.2.2:81")!;
    expect(b).toMatchObject({ source: "cloudmap", namespace: "corp.local", service: "b" });
    expect(b.cluster).toBeUndefined();
    expect(b.group.labels).toEqual({
      __meta_cloudmap_namespace_name: "corp.local",
      __meta_cloudmap_namespace_id: "ns-priv",
      __meta_cloudmap_service_name: "b",
      __meta_cloudmap_service_id: "srv-b",
      __meta_cloudmap_instance_id: "ib",
      __meta_cloudmap_health_status: "UNKNOWN",
      __meta_cloudmap_attribute_AWS_INSTANCE_IPV4: "192.0.2.2",
      __meta_cloudmap_attribute_AWS_INSTANCE_PORT: "81",
    });
  });

  it("selects namespaces by name or ID and leaves the others alone", async () => {
    const mock = fakeCloudMap({
      namespaces: [
        { id: "ns-1", name: "one", type: "HTTP" },
        { id: "ns-2", name: "two", type: "HTTP" },
        { id: "ns-3", name: "three", type: "HTTP" },
      ],
      services: [
        { id: "s1", name: "s", namespaceId: "ns-1" },
        { id: "s2", name: "s", namespaceId: "ns-2" },
        { id: "s3", name: "s", namespaceId: "ns-3" },
      ],
      instances: [...instances("s1", 1), ...instances("s2", 1), ...instances("s3", 1)],
    });
    const r = await source(mock, { BRIDGE_CLOUDMAP_NAMESPACES: "one,ns-3" }).src.refresh();
    expect(r.units.map((u) => u.unit).sort()).toEqual([`${SCOPE}/one`, `${SCOPE}/three`]);
    expect(
      okTargets(r)
        .map((t) => t.namespace)
        .sort(),
    ).toEqual(["one", "three"]);
    expect(mock.requests.listServices!.sort()).toEqual(["ns-1", "ns-3"]);
  });

  it("keeps two private DNS namespaces of the same name (one per VPC) in separate units", async () => {
    const mock = fakeCloudMap({
      namespaces: [
        { id: "ns-a", name: "corp.local", type: "DNS_PRIVATE" },
        { id: "ns-b", name: "corp.local", type: "DNS_PRIVATE", httpName: "corp.local-1b2c" },
      ],
      services: [
        { id: "sa", name: "api", namespaceId: "ns-a" },
        { id: "sb", name: "api", namespaceId: "ns-b" },
      ],
      instances: [...instances("sa", 1), ...instances("sb", 2)],
    });
    const r = await source(mock).src.refresh();
    expect(r.units.map((u) => u.unit).sort()).toEqual([
      `${SCOPE}/corp.local/ns-a`,
      `${SCOPE}/corp.local/ns-b`,
    ]);
    expect(okTargets(r)).toHaveLength(3);
  });

  it("reads every namespace and every service of a selected namespace (paging is counted against the simulator)", async () => {
    const world: FakeWorld = {
      namespaces: Array.from({ length: 130 }, (_, k) => ({
        id: `ns-${k}`,
        name: `n${k}`,
        type: "HTTP" as const,
      })),
      services: Array.from({ length: 230 }, (_, k) => ({
        id: `s${k}`,
        name: `svc${k}`,
        namespaceId: "ns-129",
      })),
      instances: [],
    };
    world.instances = world.services.flatMap((s) => instances(s.id, 1));
    const mock = fakeCloudMap(world);
    const r = await source(mock, { BRIDGE_CLOUDMAP_NAMESPACES: "n129" }).src.refresh();
    expect(mock.calls.listNamespaces).toBe(1);
    expect(mock.requests.listServices).toEqual(["ns-129"]);
    expect(okTargets(r)).toHaveLength(230);
  });
});

describe("Cloud Map instances", () => {
  it("asks DiscoverInstances for 1000 results and returns all of a 250-instance service", async () => {
    const world = oneService([]);
    world.instances = instances("srv-1", 250);
    const mock = fakeCloudMap(world);
    const ts = okTargets(await source(mock).src.refresh());
    expect(ts).toHaveLength(250);
    expect(new Set(addresses(ts)).size).toBe(250);
    expect(mock.calls.discoverInstances).toBe(1);
    expect(mock.requests.discoverInstances![0]).toMatchObject({
      NamespaceName: "apps.local",
      ServiceName: "api",
      MaxResults: 1000,
      HealthStatus: "HEALTHY_OR_ELSE_ALL",
    });
    expect(mock.calls.listInstances).toBeUndefined();
  });

  it("falls back to paginated ListInstances when DiscoverInstances returns a full (maybe truncated) 1000", async () => {
    const world = oneService([]);
    world.instances = instances("srv-1", 1234);
    const mock = fakeCloudMap(world);
    const { src, metrics } = source(mock);
    const ts = okTargets(await src.refresh());
    expect(ts).toHaveLength(1234);
    // One listing of every instance (its 13 pages are counted against the simulator).
    expect(mock.calls.listInstances).toBe(1);
    const fallbacks = await metrics.registry
      .getSingleMetric("ecs_bridge_cloudmap_list_instances_fallbacks_total")!
      .get();
    expect(fallbacks.values).toEqual([{ labels: { reason: "truncated" }, value: 1 }]);
  });

  it("falls back to ListInstances when DiscoverInstances cannot serve the namespace, applying the health filter itself", async () => {
    const world = oneService([], { healthChecked: true });
    world.instances = instances("srv-1", 3);
    world.instances[0]!.health = "UNHEALTHY";
    world.discoverUnsupported = new Set(["apps.local"]);
    const mock = fakeCloudMap(world);
    const ts = okTargets(await source(mock, { BRIDGE_CLOUDMAP_HEALTH_STATUS: "HEALTHY" }).src.refresh());
    expect(mock.calls.listInstances).toBe(1);
    expect(mock.calls.instancesHealth).toBe(1);
    expect(ts.map((t) => t.group.labels.__meta_cloudmap_instance_id).sort()).toEqual([
      "srv-1-i1",
      "srv-1-i2",
    ]);
    expect(ts.every((t) => t.group.labels.__meta_cloudmap_health_status === "HEALTHY")).toBe(true);
  });

  it("treats a service deleted since the cached listing as empty and lists services again next time", async () => {
    const world = oneService([{ AWS_INSTANCE_IPV4: "192.0.2.1", AWS_INSTANCE_PORT: "80" }]);
    world.services.push({ id: "srv-2", name: "gone", namespaceId: "ns-1" });
    const mock = fakeCloudMap(world);
    const { src } = source(mock);
    expect(okTargets(await src.refresh())).toHaveLength(1);
    world.services.pop();
    expect(addresses(okTargets(await src.refresh()))).toEqual(["192.0.2.1:80"]);
    expect(mock.calls.listServices).toBe(1);
    await src.refresh();
    expect(mock.calls.listServices).toBe(2);
  });

  it("skips and counts addresses that are not an IP literal (or a host name for CNAME), never publishing them", async () => {
    const mock = fakeCloudMap(
      oneService([
        { AWS_INSTANCE_IPV4: "192.0.2.1", AWS_INSTANCE_PORT: "8080" },
        { AWS_INSTANCE_IPV6: "2001:db8::7", AWS_INSTANCE_PORT: "8080" },
        { AWS_INSTANCE_CNAME: "api.internal.example", AWS_INSTANCE_PORT: "8080" },
        { AWS_INSTANCE_IPV4: "evil.example.com/x?y#", AWS_INSTANCE_PORT: "8080" },
        { AWS_INSTANCE_IPV4: "10.0.0.300", AWS_INSTANCE_PORT: "8080" },
        { AWS_INSTANCE_IPV6: "[::1]/admin", AWS_INSTANCE_PORT: "8080" },
        { AWS_INSTANCE_CNAME: "host/path?q", AWS_INSTANCE_PORT: "8080" },
      ]),
    );
    const { src, metrics } = source(mock);
    const ts = okTargets(await src.refresh());
    expect(addresses(ts)).toEqual(["192.0.2.1:8080", "[2001:db8::7]:8080", "api.internal.example:8080"]);
    expect((await skipped(metrics)).invalid_address).toBe(4);
  });

  it("skips and counts instances without an IP or a port, never emitting ip: or :port", async () => {
    const mock = fakeCloudMap(
      oneService([
        { AWS_INSTANCE_IPV4: "192.0.2.1", AWS_INSTANCE_PORT: "8080" },
        { AWS_INSTANCE_IPV4: "192.0.2.2" },
        { AWS_INSTANCE_PORT: "8080" },
        { AWS_INSTANCE_IPV4: "", AWS_INSTANCE_PORT: "8080" },
        { AWS_INSTANCE_IPV4: "192.0.2.5", AWS_INSTANCE_PORT: "eighty" },
      ]),
    );
    const { src, metrics } = source(mock);
    const ts = okTargets(await src.refresh());
    expect(addresses(ts)).toEqual(["192.0.2.1:8080"]);
    expect(await skipped(metrics)).toEqual({ no_ip: 2, no_port: 1, invalid_port: 1, invalid_address: 0 });
    // Each skipped instance is recorded for the status page and /explain, with its reason in words.
    const records = src.skips().get(`${SCOPE}/apps.local`)!.records;
    expect(records.map((r) => [r.task, r.service, r.reason])).toEqual([
      ["i-1", "api", "no_port"],
      ["i-2", "api", "no_ip"],
      ["i-3", "api", "no_ip"],
      ["i-4", "api", "invalid_port"],
    ]);
    expect(records.map((r) => r.detail)).toEqual([
      expect.stringMatching(
        /^no port: no METRICS_PORT or AWS_INSTANCE_PORT attribute, and no cloudmap.defaultPorts/,
      ),
      expect.stringMatching(/no AWS_INSTANCE_IPV4, AWS_INSTANCE_IPV6 or AWS_INSTANCE_CNAME attribute/),
      expect.stringMatching(/no AWS_INSTANCE_IPV4/),
      expect.stringMatching(/value is not a port number/),
    ]);
    for (const t of ts) expect(t.group.targets[0]).toMatch(/^[^:]+:\d+$/);
  });

  it("uses the per-service, then per-namespace, then global default port for instances without a port", async () => {
    const world: FakeWorld = {
      namespaces: [
        { id: "ns-1", name: "apps.local", type: "DNS_PRIVATE" },
        { id: "ns-2", name: "other", type: "HTTP" },
      ],
      services: [
        { id: "s1", name: "api", namespaceId: "ns-1" },
        { id: "s2", name: "web", namespaceId: "ns-1" },
        { id: "s3", name: "x", namespaceId: "ns-2" },
      ],
      instances: [
        { id: "a", serviceId: "s1", attributes: { AWS_INSTANCE_IPV4: "192.0.2.1" } },
        { id: "b", serviceId: "s2", attributes: { AWS_INSTANCE_IPV4: "192.0.2.2" } },
        { id: "c", serviceId: "s3", attributes: { AWS_INSTANCE_IPV4: "192.0.2.3" } },
        {
          id: "d",
          serviceId: "s1",
          attributes: { AWS_INSTANCE_IPV4: "192.0.2.4", AWS_INSTANCE_PORT: "7000" },
        },
      ],
    };
    const mock = fakeCloudMap(world);
    const { src } = source(mock, {
      BRIDGE_CLOUDMAP_DEFAULT_PORTS: "apps.local/api=9001,apps.local=9002,9003",
    });
    expect(addresses(okTargets(await src.refresh()))).toEqual([
      "192.0.2.1:9001",
      "192.0.2.2:9002",
      "192.0.2.3:9003",
      "192.0.2.4:7000",
    ]);
  });

  it("takes the metrics port and path from the instance attribute, then the service tag (tags cached)", async () => {
    const world = oneService(
      [
        { AWS_INSTANCE_IPV4: "192.0.2.1" },
        { AWS_INSTANCE_IPV4: "192.0.2.2", AWS_INSTANCE_PORT: "8080" },
        {
          AWS_INSTANCE_IPV4: "192.0.2.3",
          AWS_INSTANCE_PORT: "8080",
          METRICS_PORT: "9200",
          METRICS_PATH: "/own",
        },
      ],
      { tags: { METRICS_PORT: "9100", METRICS_PATH: "/internal/metrics" } },
    );
    const mock = fakeCloudMap(world);
    const { src } = source(mock);
    const ts = okTargets(await src.refresh());
    expect(Object.fromEntries(ts.map((t) => [t.group.targets[0], t.group.labels.__metrics_path__]))).toEqual({
      "192.0.2.1:9100": "/internal/metrics",
      "192.0.2.2:9100": "/internal/metrics",
      "192.0.2.3:9200": "/own",
    });
    expect(mock.requests.serviceTags![0]).toMatch(/:service\/srv-1$/);
    await src.refresh();
    expect(mock.calls.serviceTags).toBe(1);
  });

  it("still discovers when ListTagsForResource is denied", async () => {
    const world = oneService([{ AWS_INSTANCE_IPV4: "192.0.2.1", AWS_INSTANCE_PORT: "80" }]);
    world.fail = { serviceTags: () => awsError("AccessDeniedException", "not authorized") };
    const mock = fakeCloudMap(world);
    expect(addresses(okTargets(await source(mock).src.refresh()))).toEqual(["192.0.2.1:80"]);
  });

  it("brackets IPv6 when it is the only address and prefers IPv4 when both exist", async () => {
    const mock = fakeCloudMap(
      oneService([
        { AWS_INSTANCE_IPV6: "2001:db8::5", AWS_INSTANCE_PORT: "9100" },
        { AWS_INSTANCE_IPV4: "192.0.2.9", AWS_INSTANCE_IPV6: "2001:db8::9", AWS_INSTANCE_PORT: "9100" },
      ]),
    );
    expect(addresses(okTargets(await source(mock).src.refresh()))).toEqual([
      "192.0.2.9:9100",
      "[2001:db8::5]:9100",
    ]);
  });

  it("sanitises every attribute key into a valid label name", async () => {
    const mock = fakeCloudMap(
      oneService([
        {
          AWS_INSTANCE_IPV4: "192.0.2.1",
          AWS_INSTANCE_PORT: "80",
          "app.kubernetes.io/name": "api",
          "team-name": "core",
          "1st": "yes",
          empty: "",
        },
      ]),
    );
    const [t] = okTargets(await source(mock).src.refresh());
    const attrs = Object.entries(t!.group.labels).filter(([k]) => k.startsWith("__meta_cloudmap_attribute_"));
    expect(Object.fromEntries(attrs)).toEqual({
      __meta_cloudmap_attribute_AWS_INSTANCE_IPV4: "192.0.2.1",
      __meta_cloudmap_attribute_AWS_INSTANCE_PORT: "80",
      __meta_cloudmap_attribute_app_kubernetes_io_name: "api",
      __meta_cloudmap_attribute_team_name: "core",
      __meta_cloudmap_attribute_1st: "yes",
    });
    for (const name of Object.keys(t!.group.labels)) expect(name).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
  });

  it("gives ECS-registered instances the __meta_ecs_* labels and a cluster, so ?cluster= filters both sources", async () => {
    const mock = fakeCloudMap(
      oneService([
        {
          AWS_INSTANCE_IPV4: "192.0.2.1",
          AWS_INSTANCE_PORT: "8080",
          ECS_CLUSTER_NAME: "prod",
          ECS_SERVICE_NAME: "api-svc",
          ECS_TASK_DEFINITION_FAMILY: "api",
          AVAILABILITY_ZONE: "us-east-1a",
          REGION: "us-east-1",
        },
        { AWS_INSTANCE_IPV4: "192.0.2.2", AWS_INSTANCE_PORT: "8080", REGION: "us-east-1" },
      ]),
    );
    const ts = okTargets(await source(mock).src.refresh());
    const ecs = ts.find((t) => t.group.targets[0] === "192.0.2.1:8080")!;
    expect(ecs.cluster).toBe("prod");
    expect(ecs.group.labels).toMatchObject({
      __meta_ecs_cluster: "prod",
      __meta_ecs_service: "api-svc",
      __meta_ecs_task_definition_family: "api",
      __meta_ecs_availability_zone: "us-east-1a",
      __meta_ecs_region: "us-east-1",
    });
    const manual = ts.find((t) => t.group.targets[0] === "192.0.2.2:8080")!;
    expect(Object.keys(manual.group.labels).filter((k) => k.startsWith("__meta_ecs_"))).toEqual([]);
    expect(ts.filter((t) => matches(t, parseFilter({ cluster: "prod" })))).toEqual([ecs]);
    expect(
      ts.filter((t) => matches(t, parseFilter({ namespace: "apps.local", source: "cloudmap" }))),
    ).toHaveLength(2);
  });
});

describe("Cloud Map health filter", () => {
  const world = () =>
    oneService(
      [
        { AWS_INSTANCE_IPV4: "192.0.2.1", AWS_INSTANCE_PORT: "80" },
        { AWS_INSTANCE_IPV4: "192.0.2.2", AWS_INSTANCE_PORT: "80" },
        { AWS_INSTANCE_IPV4: "192.0.2.3", AWS_INSTANCE_PORT: "80" },
      ],
      { healthChecked: true },
    );

  it.each([
    ["HEALTHY", ["192.0.2.1:80", "192.0.2.2:80"]],
    ["ALL", ["192.0.2.1:80", "192.0.2.2:80", "192.0.2.3:80"]],
    ["HEALTHY_OR_ELSE_ALL", ["192.0.2.1:80", "192.0.2.2:80"]],
  ])("%s with one unhealthy instance", async (filter, expected) => {
    const w = world();
    w.instances[2]!.health = "UNHEALTHY";
    const mock = fakeCloudMap(w);
    const ts = okTargets(await source(mock, { BRIDGE_CLOUDMAP_HEALTH_STATUS: filter }).src.refresh());
    expect(mock.requests.discoverInstances![0]!.HealthStatus).toBe(filter);
    expect(addresses(ts)).toEqual(expected);
    const unhealthy = ts.find((t) => t.group.targets[0] === "192.0.2.3:80");
    if (unhealthy) expect(unhealthy.group.labels.__meta_cloudmap_health_status).toBe("UNHEALTHY");
  });

  it.each([
    ["HEALTHY", 0],
    ["ALL", 3],
    ["HEALTHY_OR_ELSE_ALL", 3],
  ])("%s when every instance is unhealthy", async (filter, expected) => {
    const w = world();
    for (const i of w.instances) i.health = "UNHEALTHY";
    const mock = fakeCloudMap(w);
    expect(
      okTargets(await source(mock, { BRIDGE_CLOUDMAP_HEALTH_STATUS: filter }).src.refresh()),
    ).toHaveLength(expected);
  });
});

describe("Cloud Map caching and failures", () => {
  it("caches namespace and service listings for the TTL; instances are read when their revision changes", async () => {
    const world = oneService([{ AWS_INSTANCE_IPV4: "192.0.2.1", AWS_INSTANCE_PORT: "80" }]);
    const mock = fakeCloudMap(world);
    const { src, clock } = source(mock, { BRIDGE_CLOUDMAP_SERVICES_TTL_SECONDS: "300" });
    await src.refresh();
    world.instances.push({
      id: "new",
      serviceId: "srv-1",
      attributes: { AWS_INSTANCE_IPV4: "192.0.2.2", AWS_INSTANCE_PORT: "80" },
    });
    clock.t += 299_000;
    expect(addresses(okTargets(await src.refresh()))).toEqual(["192.0.2.1:80", "192.0.2.2:80"]);
    expect(mock.calls).toMatchObject({
      listNamespaces: 1,
      listServices: 1,
      serviceTags: 1,
      discoverInstances: 2,
    });
    clock.t += 2_000;
    await src.refresh();
    // Listings read again; the instances' revision is unchanged, so they are not.
    expect(mock.calls).toMatchObject({
      listNamespaces: 2,
      listServices: 2,
      serviceTags: 2,
      discoverInstances: 2,
    });
  });

  it.each([
    ["RequestLimitExceeded", 400],
    ["ThrottlingException", 400],
    ["InternalFailure", 500],
  ])(
    "%s on one namespace keeps its last-good targets and says so; the other namespace updates",
    async (code, status) => {
      const world: FakeWorld = {
        namespaces: [
          { id: "ns-a", name: "a", type: "HTTP" },
          { id: "ns-b", name: "b", type: "HTTP" },
        ],
        services: [
          { id: "sa", name: "api", namespaceId: "ns-a" },
          { id: "sb", name: "api", namespaceId: "ns-b" },
        ],
        instances: [
          {
            id: "a1",
            serviceId: "sa",
            attributes: { AWS_INSTANCE_IPV4: "192.0.2.1", AWS_INSTANCE_PORT: "80" },
          },
          {
            id: "b1",
            serviceId: "sb",
            attributes: { AWS_INSTANCE_IPV4: "192.0.2.2", AWS_INSTANCE_PORT: "80" },
          },
        ],
      };
      const mock = fakeCloudMap(world);
      const { src, metrics } = source(mock);
      const discovery = new Discovery({ sources: [src], metrics, logger: silentLogger, intervalSeconds: 30 });
      await discovery.refreshOnce();
      expect(addresses(discovery.snapshot().targets)).toEqual(["192.0.2.1:80", "192.0.2.2:80"]);

      world.fail = {
        discoverInstances: (b) => (b.NamespaceName === "a" ? awsError(code, "slow down", status) : undefined),
      };
      world.instances = world.instances.map((i) => ({
        ...i,
        attributes: { ...i.attributes, AWS_INSTANCE_PORT: "81" },
      }));
      const r = await src.refresh();
      expect(r.units.find((u) => u.unit === `${SCOPE}/a`)).toMatchObject({ ok: false });
      await discovery.refreshOnce();
      expect(addresses(discovery.snapshot().targets)).toEqual(["192.0.2.1:80", "192.0.2.2:81"]);
      const up = await metrics.unitUp.get();
      expect(Object.fromEntries(up.values.map((v) => [v.labels.unit, v.value]))).toEqual({
        [`${SCOPE}/a`]: 0,
        [`${SCOPE}/b`]: 1,
      });
      const failures = await metrics.refreshFailures.get();
      expect(failures.values.find((v) => v.labels.unit === `${SCOPE}/a`)?.value).toBe(1);
    },
  );

  it("a failed ListNamespaces marks the scope failed, keeps every namespace, and still refreshes known ones", async () => {
    const world = oneService([{ AWS_INSTANCE_IPV4: "192.0.2.1", AWS_INSTANCE_PORT: "80" }]);
    world.namespaces.push({ id: "ns-2", name: "quiet", type: "HTTP" });
    const mock = fakeCloudMap(world);
    const { src, metrics } = source(mock, { BRIDGE_CLOUDMAP_SERVICES_TTL_SECONDS: "0" });
    const discovery = new Discovery({ sources: [src], metrics, logger: silentLogger, intervalSeconds: 30 });
    await discovery.refreshOnce();
    world.fail = { listNamespaces: () => awsError("InternalFailure", "internal error", 500) };
    world.instances[0]!.attributes.AWS_INSTANCE_PORT = "81";
    const r = await src.refresh();
    expect(r.failedScopes).toEqual([`${SCOPE}/`]);
    expect(r.units.map((u) => u.unit).sort()).toEqual([`${SCOPE}/apps.local`, `${SCOPE}/quiet`]);
    await discovery.refreshOnce();
    expect(addresses(discovery.snapshot().targets)).toEqual(["192.0.2.1:81"]);
    expect(discovery.status().map((s) => [s.unit, s.ok])).toEqual([
      [`${SCOPE}/apps.local`, true],
      [`${SCOPE}/quiet`, true],
    ]);
    expect(mock.calls.listNamespaces).toBe(3);
  });

  it("a first refresh whose ListNamespaces fails reports the scope failed and serves nothing as ready", async () => {
    const world = oneService([{ AWS_INSTANCE_IPV4: "192.0.2.1", AWS_INSTANCE_PORT: "80" }]);
    world.fail = { listNamespaces: () => awsError("AccessDeniedException", "not authorized") };
    const mock = fakeCloudMap(world);
    const { src, metrics } = source(mock);
    const discovery = new Discovery({ sources: [src], metrics, logger: silentLogger, intervalSeconds: 30 });
    await discovery.refreshOnce();
    expect(discovery.snapshot().ready).toBe(false);
  });

  it("a denied AssumeRole fails the scope once with STS's error, configured namespaces down by name, no Cloud Map call", async () => {
    const denied = Object.assign(new Error("not authorized to perform: sts:AssumeRole"), {
      name: "AccessDenied",
    });
    const role = { denied: true };
    const assumeRole = () => (role.denied ? Promise.reject(denied) : Promise.resolve({}));
    const mock = fakeCloudMap(oneService([{ AWS_INSTANCE_IPV4: "192.0.2.1", AWS_INSTANCE_PORT: "80" }]));
    const { src } = source(mock, { BRIDGE_CLOUDMAP_NAMESPACES: "apps.local,ns-gone" }, undefined, assumeRole);
    const down = [`${SCOPE}/apps.local`, `${SCOPE}/ns-gone`].map((u) => [u, false, denied]);
    const check = async () => {
      const r = await src.refresh();
      expect(r.failedScopes).toEqual([`${SCOPE}/`]);
      expect(r.scopeErrors?.get(`${SCOPE}/`)).toBe(denied);
      expect(r.units.map((u) => [u.unit, u.ok, !u.ok && u.error])).toEqual(down);
    };
    // Denied from the start: never listed, each configured namespace is down by the name it is given.
    await check();
    expect(mock.calls).toEqual({});
    // Healed, then denied again while the listing is cached: the scope fails, not each namespace's calls.
    role.denied = false;
    expect(addresses(okTargets(await src.refresh()))).toEqual(["192.0.2.1:80"]);
    const calls = { ...mock.calls };
    role.denied = true;
    await check();
    expect(mock.calls).toEqual(calls);
  });

  it("a failing ListServices fails only that namespace", async () => {
    const world: FakeWorld = {
      namespaces: [
        { id: "ns-a", name: "a", type: "HTTP" },
        { id: "ns-b", name: "b", type: "HTTP" },
      ],
      services: [{ id: "sb", name: "api", namespaceId: "ns-b" }],
      instances: instances("sb", 2),
      fail: {
        listServices: (namespaceId) =>
          namespaceId === "ns-a" ? awsError("ServiceUnavailable", "try later", 503) : undefined,
      },
    };
    const mock = fakeCloudMap(world);
    const r = await source(mock).src.refresh();
    expect(r.units.find((u) => u.unit === `${SCOPE}/a`)).toMatchObject({ ok: false });
    const b = r.units.find((u) => u.unit === `${SCOPE}/b`)!;
    expect(b.ok && b.targets.length).toBe(2);
  });
});

describe("the Cloud Map fake", () => {
  it("rejects what Cloud Map rejects, with Cloud Map's error names", async () => {
    const { api } = fakeCloudMap(oneService([{ AWS_INSTANCE_IPV4: "192.0.2.1" }]));
    const discover = { NamespaceName: "apps.local", ServiceName: "api", HealthStatus: "ALL" } as const;
    await expect(api.discoverInstances({ ...discover, MaxResults: 1001 })).rejects.toMatchObject({
      name: "InvalidInput",
    });
    await expect(
      api.discoverInstances({ ...discover, NamespaceName: "nope", MaxResults: 1000 }),
    ).rejects.toMatchObject({ name: "NamespaceNotFound" });
    await expect(
      api.discoverInstances({ ...discover, ServiceName: "nope", MaxResults: 1000 }),
    ).rejects.toMatchObject({ name: "ServiceNotFound" });
    await expect(api.listInstances("srv-nope")).rejects.toMatchObject({ name: "ServiceNotFound" });
    await expect(api.instancesHealth("srv-nope")).rejects.toMatchObject({ name: "ServiceNotFound" });
    await expect(api.serviceTags("arn:aws:servicediscovery:us-east-1:1:service/x")).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
  });
});

describe("Cloud Map change detection", () => {
  const attrs = (ip: string) => ({ AWS_INSTANCE_IPV4: ip, AWS_INSTANCE_PORT: "8080" });

  it("reads instances again only when the revision changes, and in full every healthRefreshSeconds", async () => {
    const world = oneService([attrs("10.0.0.1")], { healthChecked: true });
    const fake = fakeCloudMap(world);
    const { src, clock } = source(fake, { BRIDGE_CLOUDMAP_HEALTH_REFRESH_SECONDS: "120" });
    expect(addresses(okTargets(await src.refresh()))).toEqual(["10.0.0.1:8080"]);
    expect(fake.calls.discoverInstances).toBe(1);

    clock.t += 30_000;
    expect(addresses(okTargets(await src.refresh()))).toEqual(["10.0.0.1:8080"]);
    expect(fake.calls.discoverInstances).toBe(1);
    expect(fake.calls.discoverRevision).toBe(2);

    // A registration changes the revision: read at once.
    world.instances.push({ id: "i-new", serviceId: "srv-1", attributes: attrs("10.0.0.2") });
    clock.t += 30_000;
    expect(addresses(okTargets(await src.refresh()))).toEqual(["10.0.0.1:8080", "10.0.0.2:8080"]);
    expect(fake.calls.discoverInstances).toBe(2);

    // A health change does not: it shows with the next full read, healthRefreshSeconds after the last.
    world.instances[0]!.health = "UNHEALTHY";
    clock.t += 30_000;
    expect(addresses(okTargets(await src.refresh()))).toEqual(["10.0.0.1:8080", "10.0.0.2:8080"]);
    clock.t += 90_000;
    expect(addresses(okTargets(await src.refresh()))).toEqual(["10.0.0.2:8080"]);
    expect(fake.calls.discoverInstances).toBe(3);
  });

  it("a failing revision call falls back to the full read; 0 turns revisions off", async () => {
    const world: FakeWorld = {
      ...oneService([attrs("10.0.0.1")]),
      fail: { discoverRevision: () => awsError("ThrottlingException", "Rate exceeded") },
    };
    const fake = fakeCloudMap(world);
    const { src } = source(fake);
    expect(addresses(okTargets(await src.refresh()))).toEqual(["10.0.0.1:8080"]);
    expect(addresses(okTargets(await src.refresh()))).toEqual(["10.0.0.1:8080"]);
    expect(fake.calls.discoverInstances).toBe(2);

    const off = fakeCloudMap(oneService([attrs("10.0.0.1")]));
    const { src: plain } = source(off, { BRIDGE_CLOUDMAP_HEALTH_REFRESH_SECONDS: "0" });
    await plain.refresh();
    await plain.refresh();
    expect(off.calls.discoverRevision).toBeUndefined();
    expect(off.calls.discoverInstances).toBe(2);
  });
});
