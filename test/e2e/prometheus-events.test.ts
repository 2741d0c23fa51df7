// End to end with ecs.events: a real Prometheus discovers ECS tasks through the bridge's /sd, and a task
// started after the first (and, with a 5-minute interval, only) reconcile is scraped once its task state
// change event arrives, with no ListTasks walk in between.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../../cmd/bridge.js";
import { fargateApiScenario, startSimAws, type SimAws } from "../../sim/index.js";
import { bridgeOnSim } from "../helpers/bridge.js";
import { startSampleExporters, type SampleExporters } from "../helpers/exporters.js";
import {
  httpSdConfig,
  prometheusAvailable,
  startPrometheus,
  type RunningPrometheus,
} from "../helpers/prometheus.js";

const scenario = fargateApiScenario({ tasks: "127.0.60.1" }, { prod: 1 });

let sim: SimAws;
let bridge: Bridge;
const exporters: SampleExporters[] = [];
let prom: RunningPrometheus;

describe.skipIf(!prometheusAvailable())("real Prometheus with event-driven ECS discovery", () => {
  beforeAll(async () => {
    sim = await startSimAws({ scenario });
    const q = sim.createQueue("bridge-events");
    sim.subscribeTaskEvents(q.name);
    exporters.push(await startSampleExporters(sim.endpoints({ source: "ecs" })));
    bridge = await bridgeOnSim(sim, {
      BRIDGE_CLUSTERS: "prod",
      BRIDGE_ECS_EVENTS_ENABLED: "true",
      BRIDGE_ECS_EVENTS_QUEUE_URLS: q.url,
      BRIDGE_ECS_EVENTS_RECONCILE_INTERVAL_SECONDS: "300",
    });
    await bridge.discovery.refreshOnce();
    prom = await startPrometheus(
      httpSdConfig("ecs", `${bridge.url}/sd?source=ecs`, [
        "{ source_labels: [__meta_ecs_task_arn], target_label: task_arn }",
      ]),
    );
  });

  afterAll(async () => {
    await prom?.stop();
    await bridge?.close();
    for (const e of exporters) await e.close();
    await sim?.close();
  });

  it("a task started after the reconcile is scraped from its event; a stopped one drops out", async () => {
    await prom.waitFor((ts) => ts.length === 1 && ts[0]!.health === "up", "the first task up");
    const listTasks = sim.calls("ListTasks");
    const t = sim.startTask("prod", { taskDefinition: "api" });
    exporters.push(await startSampleExporters([{ host: t.ip!, port: 9100 }]));
    const up = await prom.waitFor(
      (ts) => ts.some((x) => x.labels.task_arn === t.arn && x.health === "up"),
      "the started task up",
    );
    expect(up).toHaveLength(2);
    sim.stopTask("prod", t.id);
    await prom.waitFor((ts) => !ts.some((x) => x.labels.task_arn === t.arn), "the stopped task gone");
    expect(sim.calls("ListTasks")).toBe(listTasks);
  });
});
