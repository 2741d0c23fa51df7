// Cloud Map on the simulated AWS endpoint through the real ServiceDiscovery client (disableHostPrefix, as
// core/aws.ts sets it): namespaces, services, DiscoverInstances limits and health filters, ListInstances
// pagination, tags, instances ECS registers for a service, per-namespace failures.
import {
  DiscoverInstancesCommand,
  GetNamespaceCommand,
  GetServiceCommand,
  ListInstancesCommand,
  ListNamespacesCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  paginateListInstances,
  paginateListNamespaces,
} from "@aws-sdk/client-servicediscovery";
import { afterEach, describe, expect, it } from "vitest";
import { destroyClients, type AwsClients } from "../../core/aws.js";
import { startSimAws, type Scenario, type SimAws } from "../../sim/index.js";
import { rejection, simClients } from "./sim-helpers.js";

const SCENARIO: Scenario = {
  taskDefinitions: [
    {
      family: "api",
      containerDefinitions: [
        { name: "api", portMappings: [{ containerPort: 8080 }, { containerPort: 9100, name: "metrics" }] },
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
          serviceRegistry: { namespace: "apps", service: "api-sd", containerPort: 9100 },
        },
      ],
    },
  ],
  namespaces: [
    {
      name: "apps",
      type: "HTTP",
      tags: { env: "prod" },
      services: [
        {
          name: "big",
          tags: { METRICS_PORT: "9100" },
          generate: { count: 150, port: 8080, attributes: { tier: "web" } },
        },
        {
          name: "mixed",
          instances: [
            { id: "ok-1", attributes: { AWS_INSTANCE_IPV4: "127.0.1.1", AWS_INSTANCE_PORT: "80" } },
            {
              id: "sick-1",
              attributes: { AWS_INSTANCE_IPV4: "127.0.1.2", AWS_INSTANCE_PORT: "80" },
              health: "UNHEALTHY",
            },
          ],
        },
        {
          name: "all-sick",
          instances: [{ id: "sick-2", attributes: { AWS_INSTANCE_IPV4: "127.0.1.3" }, health: "UNHEALTHY" }],
        },
        {
          name: "no-checks",
          customHealthCheck: false,
          instances: [{ id: "x-1", attributes: { AWS_INSTANCE_IPV4: "127.0.1.4" }, health: "UNHEALTHY" }],
        },
        { name: "api-sd" },
      ],
    },
    {
      name: "internal.local",
      type: "DNS_PRIVATE",
      services: [{ name: "db", instances: [{ id: "db-1", attributes: { AWS_INSTANCE_IPV4: "127.0.2.1" } }] }],
    },
    { name: "public.example.com", type: "DNS_PUBLIC" },
  ],
};

let sim: SimAws | undefined;
let clients: AwsClients | undefined;

afterEach(async () => {
  if (clients) destroyClients(clients);
  clients = undefined;
  await sim?.close();
  sim = undefined;
});

async function start(): Promise<{ s: SimAws; sd: Awaited<ReturnType<AwsClients["servicediscovery"]>> }> {
  sim = await startSimAws({ scenario: SCENARIO });
  clients = simClients(sim);
  return { s: sim, sd: await clients.servicediscovery() };
}

const discover = (
  sd: Awaited<ReturnType<AwsClients["servicediscovery"]>>,
  ServiceName: string,
  extra: Record<string, unknown> = {},
) => sd.send(new DiscoverInstancesCommand({ NamespaceName: "apps", ServiceName, ...extra }));

describe("Cloud Map over AWS JSON 1.1", () => {
  it("lists namespaces of every type with pagination and a TYPE filter", async () => {
    const { sd } = await start();
    const pages: string[][] = [];
    for await (const p of paginateListNamespaces({ client: sd }, { MaxResults: 2 }))
      pages.push(p.Namespaces!.map((n) => n.Name!));
    expect(pages.map((p) => p.length)).toEqual([2, 1]);
    expect(pages.flat().sort()).toEqual(["apps", "internal.local", "public.example.com"]);
    const http = await sd.send(
      new ListNamespacesCommand({ Filters: [{ Name: "TYPE", Values: ["HTTP"], Condition: "EQ" }] }),
    );
    expect(http.Namespaces!.map((n) => n.Name)).toEqual(["apps"]);
    expect(http.Namespaces![0]).toMatchObject({
      Type: "HTTP",
      Properties: { HttpProperties: { HttpName: "apps" } },
      ServiceCount: 5,
    });
    const dns = await sd.send(
      new ListNamespacesCommand({
        Filters: [{ Name: "TYPE", Values: ["DNS_PRIVATE", "DNS_PUBLIC"], Condition: "IN" }],
      }),
    );
    expect(dns.Namespaces!.map((n) => n.Type).sort()).toEqual(["DNS_PRIVATE", "DNS_PUBLIC"]);
    expect(dns.Namespaces![0]!.Properties!.DnsProperties!.HostedZoneId).toMatch(/^Z/);
    const one = await sd.send(new GetNamespaceCommand({ Id: http.Namespaces![0]!.Id! }));
    expect(one.Namespace!.Name).toBe("apps");
    expect((await rejection(sd.send(new GetNamespaceCommand({ Id: "ns-doesnotexist0000" })))).name).toBe(
      "NamespaceNotFound",
    );
  });

  it("lists services per namespace and gets one by id; tags come from ListTagsForResource", async () => {
    const { sd } = await start();
    const nsId = (await sd.send(new ListNamespacesCommand({ Filters: [{ Name: "NAME", Values: ["apps"] }] })))
      .Namespaces![0]!.Id!;
    const services = await sd.send(
      new ListServicesCommand({ Filters: [{ Name: "NAMESPACE_ID", Values: [nsId], Condition: "EQ" }] }),
    );
    expect(services.Services!.map((s) => s.Name).sort()).toEqual([
      "all-sick",
      "api-sd",
      "big",
      "mixed",
      "no-checks",
    ]);
    const big = services.Services!.find((s) => s.Name === "big")!;
    expect(big).toMatchObject({ Type: "HTTP", InstanceCount: 150 });
    expect(big.Id).toMatch(/^srv-[a-z2-7]{16}$/);
    const got = await sd.send(new GetServiceCommand({ Id: big.Id! }));
    expect(got.Service).toMatchObject({ Name: "big", NamespaceId: nsId });
    const tags = await sd.send(new ListTagsForResourceCommand({ ResourceARN: big.Arn! }));
    expect(tags.Tags).toEqual([{ Key: "METRICS_PORT", Value: "9100" }]);
    expect((await rejection(sd.send(new GetServiceCommand({ Id: "srv-nope" })))).name).toBe(
      "ServiceNotFound",
    );
  });

  it("DiscoverInstances returns 100 instances unless MaxResults says otherwise (max 1000)", async () => {
    const { s, sd } = await start();
    const dflt = await discover(sd, "big");
    expect(dflt.Instances).toHaveLength(100);
    const all = await discover(sd, "big", { MaxResults: 1000 });
    expect(all.Instances).toHaveLength(150);
    expect(all.Instances![0]).toMatchObject({
      NamespaceName: "apps",
      ServiceName: "big",
      HealthStatus: "HEALTHY",
      Attributes: { AWS_INSTANCE_PORT: "8080", tier: "web" },
    });
    expect(new Set(all.Instances!.map((i) => i.Attributes!.AWS_INSTANCE_IPV4)).size).toBe(150);
    const tooMany = await rejection(discover(sd, "big", { MaxResults: 1001 }));
    expect(tooMany.name).toBe("InvalidInput");
    expect((await rejection(discover(sd, "nope"))).name).toBe("ServiceNotFound");
    expect(
      (await rejection(sd.send(new DiscoverInstancesCommand({ NamespaceName: "nope", ServiceName: "big" }))))
        .name,
    ).toBe("NamespaceNotFound");
    expect(s.callLog({ operation: "DiscoverInstances" })[1]!.params).toMatchObject({ MaxResults: 1000 });
  });

  it("applies the health filters; services without health checks ignore them", async () => {
    const { s, sd } = await start();
    const ids = async (service: string, HealthStatus?: string) =>
      ((await discover(sd, service, HealthStatus ? { HealthStatus } : {})).Instances ?? [])
        .map((i) => i.InstanceId)
        .sort();
    expect(await ids("mixed", "HEALTHY")).toEqual(["ok-1"]);
    expect(await ids("mixed", "UNHEALTHY")).toEqual(["sick-1"]);
    expect(await ids("mixed", "ALL")).toEqual(["ok-1", "sick-1"]);
    expect(await ids("mixed", "HEALTHY_OR_ELSE_ALL")).toEqual(["ok-1"]);
    expect(await ids("all-sick", "HEALTHY")).toEqual([]);
    expect(await ids("all-sick", "HEALTHY_OR_ELSE_ALL")).toEqual(["sick-2"]);
    expect(await ids("no-checks", "HEALTHY")).toEqual(["x-1"]);
    expect((await discover(sd, "no-checks")).Instances![0]!.HealthStatus).toBe("UNKNOWN");

    s.setInstanceHealth({ namespace: "apps", service: "mixed", instanceId: "sick-1", health: "HEALTHY" });
    expect(await ids("mixed", "HEALTHY")).toEqual(["ok-1", "sick-1"]);
    s.deregisterInstance({ namespace: "apps", service: "mixed", instanceId: "ok-1" });
    s.registerInstance({
      namespace: "apps",
      service: "mixed",
      instanceId: "new-1",
      attributes: { AWS_INSTANCE_IPV4: "127.0.1.9" },
    });
    expect(await ids("mixed", "ALL")).toEqual(["new-1", "sick-1"]);
  });

  it("pages ListInstances at 100 and resolves DNS namespaces by name", async () => {
    const { sd } = await start();
    const big = (await sd.send(new ListServicesCommand({}))).Services!.find((x) => x.Name === "big")!;
    const pages: number[] = [];
    for await (const p of paginateListInstances({ client: sd }, { ServiceId: big.Id! }))
      pages.push(p.Instances!.length);
    expect(pages).toEqual([100, 50]);
    const first = await sd.send(new ListInstancesCommand({ ServiceId: big.Id!, MaxResults: 1 }));
    expect(first.Instances![0]).toMatchObject({ Id: "big-1", Attributes: { AWS_INSTANCE_PORT: "8080" } });
    const db = await sd.send(
      new DiscoverInstancesCommand({
        NamespaceName: "internal.local",
        ServiceName: "db",
        HealthStatus: "ALL",
      }),
    );
    expect(db.Instances!.map((i) => i.InstanceId)).toEqual(["db-1"]);
  });

  it("registers an ECS service's RUNNING tasks with ECS attributes and follows scaling", async () => {
    const { s, sd } = await start();
    const res = await discover(sd, "api-sd", { HealthStatus: "ALL" });
    expect(res.Instances).toHaveLength(2);
    const tasks = s.tasks({ cluster: "prod", service: "api" });
    for (const i of res.Instances!) {
      const task = tasks.find((t) => t.id === i.InstanceId)!;
      expect(i.Attributes).toEqual({
        AVAILABILITY_ZONE: task.availabilityZone,
        AWS_INIT_HEALTH_STATUS: "HEALTHY",
        AWS_INSTANCE_IPV4: task.ip,
        AWS_INSTANCE_PORT: "9100",
        ECS_CLUSTER_NAME: "prod",
        ECS_SERVICE_NAME: "api",
        ECS_TASK_DEFINITION_FAMILY: "api",
        REGION: "us-east-1",
      });
    }
    s.scaleService("prod", "api", 5);
    expect((await discover(sd, "api-sd", { HealthStatus: "ALL" })).Instances).toHaveLength(5);
    s.scaleService("prod", "api", 1);
    const after = await discover(sd, "api-sd", { HealthStatus: "ALL" });
    expect(after.Instances).toHaveLength(1);
    expect(after.InstancesRevision).toBeGreaterThan(res.InstancesRevision!);
  });

  it("fails one namespace alone and throttles DiscoverInstances with RequestLimitExceeded", async () => {
    const { s, sd } = await start();
    s.failNamespace("apps", { status: 400, code: "AccessDeniedException" });
    expect((await rejection(discover(sd, "big"))).name).toBe("AccessDeniedException");
    const nsId = (await sd.send(new ListNamespacesCommand({ Filters: [{ Name: "NAME", Values: ["apps"] }] })))
      .Namespaces![0]!.Id!;
    expect(
      (
        await rejection(
          sd.send(new ListServicesCommand({ Filters: [{ Name: "NAMESPACE_ID", Values: [nsId] }] })),
        )
      ).name,
    ).toBe("AccessDeniedException");
    await sd.send(new DiscoverInstancesCommand({ NamespaceName: "internal.local", ServiceName: "db" }));
    s.clearFaults();
    s.throttleNext({ service: "servicediscovery", operation: "DiscoverInstances", count: 1 });
    expect((await rejection(discover(sd, "big"))).name).toBe("RequestLimitExceeded");
    s.failNamespace("internal.local");
    const five = await rejection(
      sd.send(new DiscoverInstancesCommand({ NamespaceName: "internal.local", ServiceName: "db" })),
    );
    expect(five.$fault).toBe("server");
    expect(five.$metadata?.httpStatusCode).toBe(500);
  });
});
