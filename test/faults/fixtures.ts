// Scenarios and fault recipes the fault rows share: accounts reached through roles, a Cloud Map namespace,
// Service Connect series, and the wire corruptions the proxy applies.
import { expect } from "vitest";
import type { Scenario } from "../../sim/index.js";
import { aboutCluster, ECS_SCENARIO, unitOf, type FaultRow, type Rig } from "./harness.js";
import type { ProxyAction, ProxyRule } from "./proxy.js";

/** Every ListTasks request about the `batch` cluster. */
export const batchListTasks = {
  service: "ecs",
  operation: "ListTasks",
  when: aboutCluster("batch"),
} as const;

/** A DescribeTasks reply with one task's ENI address (attachment and container interface) replaced. */
export function poisonAddress(body: Record<string, unknown>, taskArn: string, address: unknown): unknown {
  for (const task of (body.tasks ?? []) as Record<string, unknown>[]) {
    if (task.taskArn !== taskArn) continue;
    for (const att of (task.attachments ?? []) as { details?: { name: string; value: unknown }[] }[])
      for (const d of att.details ?? []) if (d.name === "privateIPv4Address") d.value = address;
    for (const c of (task.containers ?? []) as { networkInterfaces?: Record<string, unknown>[] }[])
      for (const ni of c.networkInterfaces ?? []) ni.privateIpv4Address = address;
  }
  return body;
}

/** Every ECS call answers the throttling error (after the SDK's retries, too). */
export function throttleStorm(rig: Rig): FaultRow {
  let fault = "";
  return {
    down: ["prod", "batch"],
    inject: () => (fault = rig.sim.addFault({ service: "ecs", throttle: true })),
    heal: () => rig.sim.removeFault(fault),
    error: /Throttl/,
  };
}

/** AWS unreachable (connection refused) for one refresh, then answering 5xx to every ECS call. */
export function outage(rig: Rig): FaultRow {
  let fault = "";
  return {
    down: ["prod", "batch"],
    inject: async () => {
      await rig.proxy.down();
      await rig.refresh();
      for (const c of ["prod", "batch"])
        expect.soft(await rig.metric("ecs_bridge_unit_up", { source: "ecs", unit: unitOf(c) })).toBe(0);
      await rig.proxy.up();
      fault = rig.sim.forceServerErrors({ service: "ecs" });
    },
    heal: () => rig.sim.removeFault(fault),
  };
}

export const roleOf = (account: string): string => `arn:aws:iam::${account}:role/bridge`;

/** A further simulated account holding the ECS scenario's clusters. */
export const ecsAccount = (accountId: string): NonNullable<Scenario["accounts"]>[number] => ({
  accountId,
  taskDefinitions: ECS_SCENARIO.taskDefinitions!,
  clusters: ECS_SCENARIO.clusters!,
});

/** STS answers AssumeRole into `roleArn` with AccessDenied, as AWS does for a role that does not trust us. */
export const denyAssumeRole = (roleArn: string): ProxyRule => ({
  service: "sts",
  operation: "AssumeRole",
  when: (p) => p.RoleArn === roleArn,
  action: {
    kind: "reply",
    status: 403,
    contentType: "text/xml",
    body:
      '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>' +
      `<Code>AccessDenied</Code><Message>not authorized to perform: sts:AssumeRole on resource: ${roleArn}</Message>` +
      "</Error><RequestId>fault-proxy</RequestId></ErrorResponse>",
  },
});

/** An ECS error body as the JSON protocol carries it. */
export const ecsError = (type: string, message: string): string => JSON.stringify({ __type: type, message });

export const CLOUDMAP_SCENARIO: Scenario = {
  namespaces: [
    {
      name: "shop",
      type: "HTTP",
      services: [
        {
          name: "cart",
          instances: ["127.0.50.1", "127.0.50.2"].map((ip, i) => ({
            id: `cart-${i}`,
            attributes: { AWS_INSTANCE_IPV4: ip, AWS_INSTANCE_PORT: "8080" },
            health: "HEALTHY" as const,
          })),
        },
      ],
    },
  ],
};
export const CLOUDMAP_ENV = { BRIDGE_ECS_ENABLED: "false", BRIDGE_CLOUDMAP_ENABLED: "true" };

/**
 * The Cloud Map row: a baseline, then an instance registers while DiscoverInstances answers `action`: the
 * namespace keeps its last-good targets and is down; healed, one refresh serves the new instance.
 */
export async function checkNamespaceRow(rig: Rig, action: ProxyAction): Promise<void> {
  const unit = "default/us-east-1/shop";
  await rig.refresh();
  const before = await rig.sd();
  expect(before).toEqual(["127.0.50.1:8080", "127.0.50.2:8080"]);
  rig.sim.registerInstance({
    namespace: "shop",
    service: "cart",
    instanceId: "cart-2",
    attributes: { AWS_INSTANCE_IPV4: "127.0.50.3", AWS_INSTANCE_PORT: "8080" },
  });
  rig.proxy.add({ service: "servicediscovery", operation: "DiscoverInstances", action });
  await rig.refresh();
  expect.soft(await rig.sd(), "/sd under the fault").toEqual(before);
  expect.soft(await rig.metric("ecs_bridge_unit_up", { source: "cloudmap", unit })).toBe(0);
  expect.soft((await rig.status()).units.find((u) => u.unit === unit)?.ok, "/status ok").toBe(false);
  rig.proxy.clear();
  await rig.refresh();
  expect.soft(await rig.sd(), "/sd after healing").toEqual([...before, "127.0.50.3:8080"]);
  expect.soft(await rig.metric("ecs_bridge_unit_up", { source: "cloudmap", unit })).toBe(1);
}

export const SERVICE_CONNECT_SCENARIO: Scenario = {
  serviceConnect: [{ cluster: "prod", service: "orders", discoveryName: "orders-http" }],
};
export const EXPORTER_ENV = {
  BRIDGE_ECS_ENABLED: "false",
  BRIDGE_EXPORTER_ENABLED: "true",
  BRIDGE_EXPORTER_SCHEDULE: "*/1 * * * *",
  BRIDGE_EXPORTER_PERIOD_SECONDS: "60",
  // Listed on every collection, so a ListMetrics fault is seen at once.
  BRIDGE_EXPORTER_LIST_METRICS_TTL_SECONDS: "0",
};
