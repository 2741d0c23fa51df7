// Event-driven ECS discovery against the simulated AWS endpoint: the simulator's EventBridge rule sends
// task state change events to an SQS queue the bridge long-polls. A started task reaches /sd without a
// polling refresh, a stopped one leaves; duplicated, reordered and late events never bring a stopped task
// back; lost events are repaired (and counted) by the reconcile; a failing queue keeps the targets and
// shows on /status.
import { afterEach, describe, expect, it } from "vitest";
import type { Bridge } from "../../cmd/bridge.js";
import { loadConfig } from "../../cmd/config.js";
import { silentLogger } from "../../core/log.js";
import { createSelfMetrics, type SelfMetrics } from "../../core/metrics.js";
import { buildScopes } from "../../core/scopes.js";
import { EcsEventSource } from "../../sd/ecs/events.js";
import { EcsSource } from "../../sd/ecs/source.js";
import { Discovery } from "../../sd/refresh.js";
import { fargateApiScenario, startSimAws, type Scenario, type SimAws } from "../../sim/index.js";
import { addressesOf, bridgeOnSim, getSd } from "../helpers/bridge.js";

const scenario = fargateApiScenario({ tasks: "127.0.30.1", instances: "127.0.40.1" }, { prod: 2 });

let sim: SimAws | undefined;
let bridge: Bridge | undefined;
let discovery: Discovery | undefined;
afterEach(async () => {
  await bridge?.close();
  await discovery?.stop();
  await sim?.close();
  sim = bridge = discovery = undefined;
});

/** Waits until `check` holds (event delivery is asynchronous); fails with the last value after 10 s. */
async function until<T>(read: () => Promise<T> | T, check: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await read();
    if (check(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function eventsBridge(
  opts: { scenario?: Scenario; env?: Record<string, string> } = {},
): Promise<{ sim: SimAws; bridge: Bridge }> {
  sim = await startSimAws({ scenario: opts.scenario ?? scenario });
  const q = sim.createQueue("bridge-events");
  sim.subscribeTaskEvents(q.name);
  bridge = await bridgeOnSim(sim, {
    BRIDGE_CLUSTERS: "prod",
    BRIDGE_ECS_EVENTS_ENABLED: "true",
    BRIDGE_ECS_EVENTS_QUEUE_URLS: q.url,
    ...opts.env,
  });
  await bridge.discovery.refreshOnce(); // the first refresh is the full walk, then events are followed
  return { sim, bridge };
}

const hostOf = (ip: string | undefined) => `${ip}:9100`;

describe("ecs.events through the bridge", () => {
  it("a started task appears on /sd and a stopped one leaves, with no ListTasks walk", async () => {
    const { sim, bridge } = await eventsBridge();
    expect(addressesOf(await getSd(bridge))).toHaveLength(2);
    const listTasks = sim.calls("ListTasks");
    const t = sim.startTask("prod", { taskDefinition: "api" });
    await until(
      async () => addressesOf(await getSd(bridge)),
      (a) => a.includes(hostOf(t.ip)),
    );
    sim.stopTask("prod", t.id);
    await until(
      async () => addressesOf(await getSd(bridge)),
      (a) => !a.includes(hostOf(t.ip)) && a.length === 2,
    );
    expect(sim.calls("ListTasks")).toBe(listTasks);
    expect(sim.queueDepth("bridge-events")).toEqual({ visible: 0, inFlight: 0 });
  });

  it("health follows tasks with a health check though events carry none: described again each refresh interval", async () => {
    // The same estate, its container with a health check: its tasks' health is UNKNOWN until set.
    const { sim, bridge: b } = await eventsBridge({
      scenario: {
        ...scenario,
        taskDefinitions: scenario.taskDefinitions!.map((td) => ({
          ...td,
          containerDefinitions: td.containerDefinitions.map((c) => ({
            ...c,
            healthCheck: { command: ["CMD-SHELL", "curl -f localhost:9100/health"] },
          })),
        })),
      },
      env: { BRIDGE_REFRESH_INTERVAL_SECONDS: "5" },
    });
    const listTasks = sim.calls("ListTasks");
    const [task] = sim.tasks({ cluster: "prod" });
    const healthOf = async () =>
      (await getSd(b)).find((g) => g.targets[0] === hostOf(task!.ip))?.labels.__meta_ecs_health_status;
    expect(await healthOf()).toBe("UNKNOWN");
    // Health changes send no event: the health pass (every refresh interval) reads them.
    sim.setTaskHealth("prod", task!.id, "HEALTHY");
    const refreshed = async () => (await b.discovery.refreshOnce(), healthOf());
    await until(refreshed, (h) => h === "HEALTHY");
    sim.setTaskHealth("prod", task!.id, "UNHEALTHY");
    await until(refreshed, (h) => h === "UNHEALTHY");
    expect(sim.queueDepth("bridge-events")).toEqual({ visible: 0, inFlight: 0 });
    expect(sim.calls("ListTasks")).toBe(listTasks); // no walk: DescribeTasks of those tasks only
  });

  it("a draining task (desired STOPPED, still RUNNING) stays a target until it stops", async () => {
    const { sim, bridge } = await eventsBridge();
    const [task] = sim.tasks({ cluster: "prod" });
    sim.drainTask("prod", task!.id);
    const drained = await until(
      () => getSd(bridge),
      (groups) =>
        groups.some(
          (g) => g.targets[0] === hostOf(task!.ip) && g.labels.__meta_ecs_desired_status === "STOPPED",
        ),
    );
    expect(drained).toHaveLength(2);
    sim.stopTask("prod", task!.id);
    await until(
      async () => addressesOf(await getSd(bridge)),
      (a) => !a.includes(hostOf(task!.ip)),
    );
  });

  it("duplicated and reordered events never bring a stopped task back", async () => {
    const { sim, bridge } = await eventsBridge();
    sim.setEventDelivery({ duplicateRate: 1, reorderRate: 0.5, reorderMs: 200 });
    const started = [1, 2, 3].map(() => sim.startTask("prod", { taskDefinition: "api" }));
    for (const t of started) sim.stopTask("prod", t.id);
    // Every copy is received and deleted; none resurrects a stopped task.
    await until(
      () => sim.queueDepth("bridge-events"),
      (d) => d.visible + d.inFlight === 0,
    );
    await new Promise((r) => setTimeout(r, 400)); // copies held back for reordering arrive too
    await until(
      () => sim.queueDepth("bridge-events"),
      (d) => d.visible + d.inFlight === 0,
    );
    const addresses = addressesOf(await getSd(bridge));
    expect(addresses).toHaveLength(2);
    for (const t of started) expect(addresses).not.toContain(hostOf(t.ip));
    const metrics = await bridge.metrics.registry.getSingleMetricAsString("ecs_bridge_ecs_events_total");
    expect(metrics).toMatch(/outcome="duplicate"\} [1-9]/);
  });

  it("a failing queue keeps the targets and shows on /status", async () => {
    const { sim, bridge } = await eventsBridge();
    sim.addFault({ service: "sqs", operation: "ReceiveMessage", status: 500 });
    const status = await until(
      async () => {
        await bridge.discovery.refreshOnce();
        return (await (await fetch(`${bridge.url}/status`)).json()) as {
          units: { unit: string; ok: boolean }[];
        };
      },
      (s) => s.units.some((u) => u.unit === "events/bridge-events" && !u.ok),
    );
    expect(status.units.filter((u) => u.unit.endsWith("/prod"))).toMatchObject([{ ok: true }]);
    expect(addressesOf(await getSd(bridge))).toHaveLength(2);
  });
});

describe("the reconcile", () => {
  it("repairs what lost events missed, and counts it", async () => {
    sim = await startSimAws({ scenario });
    const q = sim.createQueue("bridge-events");
    sim.subscribeTaskEvents(q.name);
    const config = loadConfig({
      env: {
        AWS_REGION: sim.region,
        BRIDGE_CLUSTERS: "prod",
        BRIDGE_ECS_EVENTS_ENABLED: "true",
        BRIDGE_ECS_EVENTS_QUEUE_URLS: q.url,
        BRIDGE_AWS_MAX_ATTEMPTS: "1",
      },
    });
    const metrics: SelfMetrics = createSelfMetrics({ defaults: false });
    const scopes = buildScopes(config, {
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      env: { AWS_ENDPOINT_URL: sim.url },
      metrics,
    });
    let clock = Date.now();
    const deps = { scopes, config, metrics, logger: silentLogger, now: () => clock };
    const source = new EcsEventSource(new EcsSource(deps), deps);
    discovery = new Discovery({
      sources: [source],
      metrics,
      logger: silentLogger,
      intervalSeconds: 30,
    });
    await discovery.refreshOnce();
    const addresses = () => discovery!.snapshot().targets.map((t) => t.group.targets[0]);
    expect(addresses()).toHaveLength(2);

    sim.setEventDelivery({ lossRate: 1 });
    const lost = sim.startTask("prod", { taskDefinition: "api" });
    const [gone] = sim.tasks({ cluster: "prod" });
    sim.stopTask("prod", gone!.id);
    await discovery.refreshOnce(); // within the reconcile interval: no walk, nothing learnt
    expect(addresses()).not.toContain(hostOf(lost.ip));
    expect(addresses()).toContain(hostOf(gone!.ip));

    clock += config.ecs.events.reconcileIntervalSeconds * 1000;
    await discovery.refreshOnce();
    expect(addresses()).toContain(hostOf(lost.ip));
    expect(addresses()).not.toContain(hostOf(gone!.ip));
    const repairs = await metrics.registry.getSingleMetricAsString("ecs_bridge_ecs_reconcile_repairs_total");
    expect(repairs).toContain('action="added"} 1');
    expect(repairs).toContain('action="removed"} 1');
  });
});
