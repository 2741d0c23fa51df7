// The ECS source end to end through the bridge's HTTP API, against the simulated AWS endpoint.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Bridge } from "../../cmd/bridge.js";
import { startSimAws, type Scenario, type SimAws } from "../../sim/index.js";
import { addressesOf, bridgeOnSim, getSd } from "../helpers/bridge.js";

const scenario: Scenario = {
  accountId: "123456789012",
  region: "us-east-1",
  ipPool: { tasks: "127.0.10.1", instances: "127.0.20.1" },
  taskDefinitions: [
    {
      family: "api",
      networkMode: "awsvpc",
      containerDefinitions: [
        {
          name: "app",
          dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9100", PROMETHEUS_EXPORTER_JOB_NAME: "api" },
          portMappings: [{ containerPort: 9100, name: "metrics" }],
          healthCheck: { command: ["CMD-SHELL", "curl -f localhost:9100/metrics"] },
        },
      ],
    },
    {
      family: "legacy",
      networkMode: "bridge",
      containerDefinitions: [
        {
          name: "legacy",
          dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080" },
          portMappings: [{ containerPort: 8080 }],
        },
      ],
    },
  ],
  clusters: [
    {
      name: "prod",
      containerInstances: 2,
      services: [
        { name: "api", taskDefinition: "api", desiredCount: 3 },
        { name: "legacy", taskDefinition: "legacy", desiredCount: 2, launchType: "EC2" },
      ],
      tasks: [{ taskDefinition: "api", group: "family:api-batch" }],
    },
    { name: "staging", services: [{ name: "api", taskDefinition: "api", desiredCount: 1 }] },
  ],
};

let sim: SimAws;
let bridge: Bridge;

beforeEach(async () => {
  sim = await startSimAws({ scenario });
  bridge = await bridgeOnSim(sim);
});
afterEach(async () => {
  await bridge.close();
  await sim.close();
});

const refresh = () => bridge.discovery.refreshOnce();

describe("ECS discovery against the simulated AWS", () => {
  it("serves every opted-in task of every cluster, bridge mode on host ports", async () => {
    await refresh();
    const groups = await getSd(bridge);
    expect(groups).toHaveLength(3 + 2 + 1 + 1);
    const legacy = groups.filter((g) => g.labels.__meta_ecs_service === "legacy");
    for (const g of legacy) {
      expect(g.targets[0]).toMatch(/^127\.0\.20\.\d+:(3[2-9]\d{3}|[4-5]\d{4}|60\d{3})$/);
      expect(g.labels.__meta_ecs_network_mode).toBe("bridge");
      expect(g.labels.__meta_ecs_ec2_instance_id).toMatch(/^i-/);
    }
    const standalone = groups.find((g) => g.labels.__meta_ecs_task_group === "family:api-batch")!;
    expect(standalone.labels).not.toHaveProperty("__meta_ecs_service");
    expect(addressesOf(await getSd(bridge, "?cluster=staging"))).toHaveLength(1);
  });

  it("a task started appears on the next refresh; a stopped task disappears", async () => {
    await refresh();
    const before = addressesOf(await getSd(bridge, "?service=api&cluster=prod"));
    expect(before).toHaveLength(3);

    const { started } = sim.scaleService("prod", "api", 4);
    await refresh();
    const grown = addressesOf(await getSd(bridge, "?service=api&cluster=prod"));
    expect(grown).toHaveLength(4);
    expect(grown).toContain(`${started[0]!.ip}:9100`);

    const victim = sim.tasks({ cluster: "prod", service: "api" })[0]!;
    sim.stopTask("prod", victim.arn);
    await refresh();
    const shrunk = addressesOf(await getSd(bridge, "?service=api&cluster=prod"));
    expect(shrunk).toHaveLength(3);
    expect(shrunk).not.toContain(`${victim.ip}:9100`);

    // Scaled to zero: the service's targets go away (an empty result is a result, not an error).
    sim.scaleService("prod", "api", 0);
    await refresh();
    expect(await getSd(bridge, "?service=api&cluster=prod")).toEqual([]);
  });

  it("steady state: DescribeTasks for the health-checked tasks, every other fact from the caches", async () => {
    await refresh();
    expect(sim.calls("DescribeTasks")).toBeGreaterThan(0);
    sim.resetCalls();
    await refresh();
    // api's container declares a health check: its tasks are described every refresh, one batch per cluster
    // (legacy's only on their share of ecs.redescribeEveryRefreshes).
    expect(sim.calls("DescribeTasks")).toBe(2);
    expect(sim.calls("DescribeTaskDefinition")).toBe(0);
    expect(sim.calls("DescribeContainerInstances")).toBe(0);
    expect(sim.calls("DescribeInstances")).toBe(0);
    expect(sim.calls("DescribeNetworkInterfaces")).toBe(0);
    expect(sim.calls("DescribeServices")).toBe(0);
    expect(sim.calls("DescribeClusters")).toBe(0);
    expect(sim.calls("ListTasks")).toBe(2); // one walk per cluster
    expect(sim.calls("ListClusters")).toBe(1);
    // The bridge's own counter agrees with what the endpoint saw.
    const counted = await bridge.metrics.awsRequests.get();
    const describeTasks = counted.values.find((v) => v.labels.operation === "DescribeTasks")?.value;
    expect(describeTasks).toBeGreaterThan(0);
  });

  it("a task that turns UNHEALTHY shows it after one refresh", async () => {
    await refresh();
    const task = sim.tasks({ cluster: "prod", service: "api" })[0]!;
    const healthOf = async () =>
      (await getSd(bridge, "?cluster=prod")).find((g) => g.labels.__meta_ecs_task_arn === task.arn)!.labels
        .__meta_ecs_health_status;
    const before = await healthOf();
    sim.setTaskHealth("prod", task.arn, "UNHEALTHY");
    await refresh();
    expect(await healthOf()).toBe("UNHEALTHY");
    expect(before).not.toBe("UNHEALTHY");
  });

  it("labels every task with the native discovery's labels, from the simulated AWS's own answers", async () => {
    await refresh();
    const groups = await getSd(bridge, "?cluster=prod");
    const api = groups.find((g) => g.labels.__meta_ecs_service === "api")!.labels;
    expect(api).toMatchObject({
      __meta_ecs_service_arn: "arn:aws:ecs:us-east-1:123456789012:service/prod/api",
      __meta_ecs_service_status: "ACTIVE",
      __meta_ecs_network_mode: "awsvpc",
      __meta_ecs_platform_family: "Linux",
      __meta_ecs_platform_version: "1.4.0",
    });
    expect(api.__meta_ecs_public_ip).toMatch(/^3\.\d+\.\d+\.\d+$/);
    expect(api.__meta_ecs_subnet_id).toMatch(/^subnet-/);
    const legacy = groups.find((g) => g.labels.__meta_ecs_service === "legacy")!.labels;
    expect(legacy).toMatchObject({
      __meta_ecs_network_mode: "bridge",
      __meta_ecs_ec2_instance_type: expect.any(String),
    });
    expect(legacy.__meta_ecs_ec2_instance_private_ip).toBe(legacy.__meta_ecs_ip_address);
    expect(legacy.__meta_ecs_public_ip).toBe(legacy.__meta_ecs_ec2_instance_public_ip);
    expect(legacy.__meta_ecs_subnet_id).toMatch(/^subnet-/);
    expect(legacy.__meta_ecs_tag_ec2_Name).toBe("ECS Instance - prod");
  });

  it("a new task that is still PROVISIONING is skipped until it runs", async () => {
    await refresh();
    const t = sim.startTask("prod", { taskDefinition: "api", pendingDescribes: "advance" });
    await refresh();
    expect(addressesOf(await getSd(bridge))).toHaveLength(7);
    sim.advance(t.arn);
    await refresh();
    const info = sim.tasks({ cluster: "prod" }).find((x) => x.arn === t.arn)!;
    expect(addressesOf(await getSd(bridge))).toContain(`${info.ip}:9100`);
  });

  it("throttling keeps the last-good targets and is visible in self-metrics", async () => {
    await refresh();
    const good = addressesOf(await getSd(bridge));
    sim.scaleService("prod", "api", 5);
    sim.setThrottling({ service: "ecs", burst: 1, refillPerSecond: 0 }); // one call, then throttled
    await refresh();
    expect(addressesOf(await getSd(bridge))).toEqual(good);
    const throttles = await bridge.metrics.awsThrottles.get();
    expect(throttles.values.reduce((n, v) => n + v.value, 0)).toBeGreaterThan(0);
    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(metrics).toMatch(/ecs_bridge_unit_up\{source="ecs",unit="default\/us-east-1\/prod"\} 0/);
    expect(metrics).toMatch(
      /ecs_bridge_refresh_failures_total\{source="ecs",unit="default\/us-east-1\/prod"\} 1/,
    );

    sim.setThrottling(null);
    await refresh();
    expect(addressesOf(await getSd(bridge, "?service=api&cluster=prod"))).toHaveLength(5);
  });

  it("a failing cluster keeps its last targets while another cluster updates", async () => {
    await refresh();
    const prodBefore = addressesOf(await getSd(bridge, "?cluster=prod"));
    sim.failCluster("prod", { status: 400, code: "AccessDeniedException" });
    sim.scaleService("staging", "api", 2);
    await refresh();
    expect(addressesOf(await getSd(bridge, "?cluster=prod"))).toEqual(prodBefore);
    expect(addressesOf(await getSd(bridge, "?cluster=staging"))).toHaveLength(2);
    const status = (await (await fetch(`${bridge.url}/status`)).json()) as {
      units: { unit: string; ok: boolean; lastError?: string }[];
    };
    const prod = status.units.find((u) => u.unit.endsWith("/prod"))!;
    expect(prod.ok).toBe(false);
    expect(prod.lastError).toMatch(/AccessDenied/);
    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(metrics).toContain('ecs_bridge_unit_up{source="ecs",unit="default/us-east-1/prod"} 0');
    expect(metrics).toContain('ecs_bridge_unit_up{source="ecs",unit="default/us-east-1/staging"} 1');
  });

  it("backs off a cluster that keeps failing with 5xx, without touching the others", async () => {
    await refresh();
    const prodBefore = addressesOf(await getSd(bridge, "?cluster=prod"));
    const fault = sim.failCluster("prod", { status: 503 });
    await refresh(); // 1st failure: retried next time
    await refresh(); // 2nd failure: the next refresh skips prod
    sim.removeFault(fault);
    sim.resetCalls();
    sim.scaleService("staging", "api", 3);
    await refresh();
    const prodCalls = sim
      .callLog({ operation: "ListTasks" })
      .filter((c) => JSON.stringify(c.params).includes("prod"));
    expect(prodCalls).toHaveLength(0);
    expect(addressesOf(await getSd(bridge, "?cluster=staging"))).toHaveLength(3);
    expect(addressesOf(await getSd(bridge, "?cluster=prod"))).toEqual(prodBefore);
    const status = (await (await fetch(`${bridge.url}/status`)).json()) as {
      units: { unit: string; lastError?: string }[];
    };
    expect(status.units.find((u) => u.unit.endsWith("/prod"))!.lastError).toMatch(
      /^BackingOff: .*2 consecutive/,
    );
    await refresh(); // back to normal
    expect(
      sim.callLog({ operation: "ListTasks" }).some((c) => JSON.stringify(c.params).includes("prod")),
    ).toBe(true);
  });

  it("5xx from ECS on the first refresh answers 503, never an empty list", async () => {
    const fresh = await bridgeOnSim(sim);
    try {
      sim.forceServerErrors({ service: "ecs", status: 503, rate: 1 });
      await fresh.discovery.refreshOnce();
      const res = await fetch(`${fresh.url}/sd`);
      expect(res.status).toBe(503);
      expect((await fetch(`${fresh.url}/readyz`)).status).toBe(503);
    } finally {
      await fresh.close();
    }
  });
});

describe("cross-account discovery", () => {
  it("assumes each configured role (with its external id) and labels targets with that account", async () => {
    const other = "210987654321";
    const multi = await startSimAws({
      scenario: {
        ...scenario,
        accounts: [
          {
            accountId: other,
            externalId: "ext-42",
            taskDefinitions: scenario.taskDefinitions!,
            clusters: [
              { name: "payments", services: [{ name: "api", taskDefinition: "api", desiredCount: 2 }] },
            ],
          },
        ],
      },
    });
    const b = await bridgeOnSim(multi, {
      BRIDGE_ACCOUNTS: `arn:aws:iam::${other}:role/prometheus-discovery|ext-42`,
    });
    try {
      await b.discovery.refreshOnce();
      const groups = await getSd(b);
      expect(groups).toHaveLength(2);
      for (const g of groups) {
        expect(g.labels.__meta_ecs_account_id).toBe(other);
        expect(g.labels.__meta_ecs_cluster).toBe("payments");
      }
      expect(multi.calls("AssumeRole")).toBe(1);
    } finally {
      await b.close();
      await multi.close();
    }
  });
});

it("a listen port in use stops startup with a config error naming listen.port", async () => {
  const sim2 = await startSimAws({ scenario });
  const first = await bridgeOnSim(sim2);
  const port = new URL(first.url).port;
  try {
    await expect(bridgeOnSim(sim2, { BRIDGE_LISTEN_PORT: port })).rejects.toThrow(
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(listen\\.host, listen\\.port\\): EADDRINUSE`),
    );
  } finally {
    await first.close();
    await sim2.close();
  }
});
