// End to end: a real Prometheus discovers ECS tasks through the bridge's http_sd endpoint and scrapes them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../../cmd/bridge.js";
import { startSimAws, type Scenario, type SimAws } from "../../sim/index.js";
import { bridgeOnSim } from "../helpers/bridge.js";
import { startSampleExporters, type SampleExporters } from "../helpers/exporters.js";
import {
  httpSdConfig,
  prometheusAvailable,
  scrapedTwice,
  startPrometheus,
  type RunningPrometheus,
} from "../helpers/prometheus.js";

const scenario: Scenario = {
  accountId: "123456789012",
  region: "us-east-1",
  ipPool: { tasks: "127.0.30.1", instances: "127.0.31.1" },
  taskDefinitions: [
    {
      family: "api",
      networkMode: "awsvpc",
      containerDefinitions: [
        {
          name: "app",
          dockerLabels: {
            PROMETHEUS_EXPORTER_PORT: "9464",
            PROMETHEUS_EXPORTER_PATH: "/custom-metrics",
            PROMETHEUS_EXPORTER_JOB_NAME: "api",
          },
          portMappings: [{ containerPort: 9464, name: "metrics" }],
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
      containerInstances: 1,
      services: [
        { name: "api", taskDefinition: "api", desiredCount: 2, taskTags: { team: "storefront" } },
        { name: "legacy", taskDefinition: "legacy", desiredCount: 1, launchType: "EC2" },
      ],
    },
  ],
};

let sim: SimAws;
let bridge: Bridge;
let exporters: SampleExporters;
let prom: RunningPrometheus;

describe.skipIf(!prometheusAvailable())("real Prometheus scraping through http_sd", () => {
  beforeAll(async () => {
    sim = await startSimAws({ scenario });
    exporters = await startSampleExporters(sim.endpoints({ source: "ecs" }));
    bridge = await bridgeOnSim(sim, { BRIDGE_CLUSTERS: "prod" });
    await bridge.discovery.refreshOnce();
    prom = await startPrometheus(
      httpSdConfig("ecs", `${bridge.url}/sd?cluster=prod`, [
        "{ source_labels: [__meta_ecs_service], target_label: service }",
        "{ source_labels: [__meta_ecs_tag_task_team], target_label: team }",
        "{ source_labels: [__meta_ecs_task_arn], regex: '.*/([^/]+)$', target_label: task_id }",
      ]),
    );
  });

  afterAll(async () => {
    await prom?.stop();
    await bridge?.close();
    await exporters?.close();
    await sim?.close();
  });

  it("scrapes every discovered task: targets active, health up, documented labels arrived", async () => {
    const targets = await prom.waitFor(
      (ts) => ts.length === 3 && ts.every((t) => t.health === "up"),
      "3 targets up",
    );
    expect(scrapedTwice(targets)).toEqual([]);
    expect(await prom.query("count by (instance) (up) > 1")).toEqual([]);
    const api = targets.filter((t) => t.labels.service === "api");
    expect(api).toHaveLength(2);
    for (const t of api) {
      expect(t.labels.job).toBe("api"); // PROMETHEUS_EXPORTER_JOB_NAME wins over job_name
      expect(t.labels.team).toBe("storefront");
      expect(t.labels.task_id).toMatch(/^[0-9a-f]{32}$/);
      expect(t.scrapeUrl).toMatch(/^http:\/\/127\.0\.30\.\d+:9464\/custom-metrics$/);
      expect(t.discoveredLabels).toMatchObject({
        __meta_ecs_cluster: "prod",
        __meta_ecs_service: "api",
        __meta_ecs_launch_type: "FARGATE",
        __meta_ecs_network_mode: "awsvpc",
        __meta_ecs_container_name: "app",
        __meta_ecs_container_port: "9464",
        __meta_ecs_port_name: "metrics",
        __meta_ecs_region: "us-east-1",
        __meta_ecs_account_id: "123456789012",
      });
    }
    const legacy = targets.find((t) => t.labels.service === "legacy")!;
    expect(legacy.labels.job).toBe("ecs");
    expect(legacy.discoveredLabels.__meta_ecs_network_mode).toBe("bridge");
    expect(legacy.scrapeUrl).toMatch(/^http:\/\/127\.0\.31\.\d+:\d{5}\/metrics$/);
  });

  it("drops the target of a task that stopped after a scale-down", async () => {
    const before = await prom.targets();
    sim.scaleService("prod", "api", 1);
    await bridge.discovery.refreshOnce();
    const remaining = sim.tasks({ cluster: "prod", service: "api" }).map((t) => t.ip);
    expect(remaining).toHaveLength(1);
    const after = await prom.waitFor(
      (ts) => ts.filter((t) => t.labels.service === "api").length === 1,
      "the api service down to 1 target",
    );
    const api = after.filter((t) => t.labels.service === "api");
    expect(api[0]!.scrapeUrl).toContain(`${remaining[0]}:9464`);
    expect(before.filter((t) => t.labels.service === "api")).toHaveLength(2);
    expect(after.find((t) => t.labels.service === "legacy")?.health).toBe("up");
  });
});
