// End to end: a real Prometheus discovers Cloud Map instances through the bridge's /sd and scrapes them, and
// scrapes a task that ECS and Cloud Map both list once, with the demo's config and the deploy example's.
import { readFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../../cmd/bridge.js";
import { startSimAws, type Scenario, type SimAws } from "../../sim/index.js";
import { bridgeOnSim } from "../helpers/bridge.js";
import { startSampleExporters, type SampleExporters } from "../helpers/exporters.js";
import {
  httpSdConfig,
  prometheusAvailable,
  startPrometheus,
  scrapedTwice,
  type RunningPrometheus,
} from "../helpers/prometheus.js";

const scenario: Scenario = {
  accountId: "123456789012",
  region: "us-east-1",
  ipPool: { tasks: "127.0.40.1" },
  namespaces: [
    {
      name: "apps.internal",
      type: "DNS_PRIVATE",
      services: [
        { name: "orders", generate: { count: 2, port: 9464 } },
        {
          // No port registered: the service's METRICS_PORT / METRICS_PATH tags say where to scrape.
          name: "billing",
          tags: { METRICS_PORT: "9465", METRICS_PATH: "/m" },
          instances: [{ id: "billing-1", attributes: { AWS_INSTANCE_IPV4: "127.0.41.1", tier: "gold" } }],
        },
      ],
    },
  ],
};

let sim: SimAws;
let bridge: Bridge;
let exporters: SampleExporters;
let prom: RunningPrometheus;

describe.skipIf(!prometheusAvailable())("real Prometheus scraping Cloud Map targets through http_sd", () => {
  beforeAll(async () => {
    sim = await startSimAws({ scenario });
    exporters = await startSampleExporters([
      ...sim.endpoints({ source: "cloudmap" }),
      { host: "127.0.41.1", port: 9465 },
    ]);
    bridge = await bridgeOnSim(sim, { BRIDGE_ECS_ENABLED: "false", BRIDGE_CLOUDMAP_ENABLED: "true" });
    await bridge.discovery.refreshOnce();
    prom = await startPrometheus(
      httpSdConfig("cloudmap", `${bridge.url}/sd?source=cloudmap&namespace=apps.internal`, [
        "{ source_labels: [__meta_cloudmap_service_name], target_label: service }",
        "{ source_labels: [__meta_cloudmap_attribute_tier], target_label: tier }",
      ]),
    );
  });

  afterAll(async () => {
    await prom?.stop();
    await bridge?.close();
    await exporters?.close();
    await sim?.close();
  });

  it("every instance is an active target, up, with the Cloud Map labels", async () => {
    const targets = await prom.waitFor(
      (ts) => ts.length === 3 && ts.every((t) => t.health === "up"),
      "3 targets up",
    );
    const billing = targets.find((t) => t.labels.service === "billing")!;
    expect(billing.scrapeUrl).toBe("http://127.0.41.1:9465/m");
    expect(billing.labels.tier).toBe("gold");
    expect(billing.discoveredLabels).toMatchObject({
      __meta_cloudmap_namespace_name: "apps.internal",
      __meta_cloudmap_service_name: "billing",
      __meta_cloudmap_instance_id: "billing-1",
    });
    const orders = targets.filter((t) => t.labels.service === "orders");
    expect(orders).toHaveLength(2);
    for (const t of orders) expect(t.scrapeUrl).toMatch(/^http:\/\/127\.0\.40\.\d+:9464\/metrics$/);
  });

  it("a deregistered instance drops out", async () => {
    sim.deregisterInstance({ namespace: "apps.internal", service: "billing", instanceId: "billing-1" });
    await bridge.discovery.refreshOnce();
    const after = await prom.waitFor((ts) => !ts.some((t) => t.labels.service === "billing"), "billing gone");
    expect(after.filter((t) => t.labels.service === "orders")).toHaveLength(2);
  });
});

// ECS service api registers its tasks in Cloud Map (as ECS service discovery does); billing is Cloud Map only.
const both: Scenario = {
  accountId: "123456789012",
  region: "us-east-1",
  ipPool: { tasks: "127.0.42.1" },
  taskDefinitions: [
    {
      family: "api",
      networkMode: "awsvpc",
      containerDefinitions: [
        {
          name: "app",
          // A job name of its own (as in the demo): listed twice, the two targets' labels would differ and
          // Prometheus would scrape both.
          dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9464", PROMETHEUS_EXPORTER_JOB_NAME: "api" },
          portMappings: [{ containerPort: 9464, name: "metrics" }],
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
          serviceRegistry: { namespace: "internal.example", service: "api" },
        },
      ],
    },
  ],
  namespaces: [
    {
      name: "internal.example",
      type: "DNS_PRIVATE",
      services: [
        { name: "api" },
        {
          name: "billing",
          instances: [
            { id: "billing-1", attributes: { AWS_INSTANCE_IPV4: "127.0.43.1", AWS_INSTANCE_PORT: "9465" } },
          ],
        },
      ],
    },
  ],
};

/**
 * deploy/prometheus/http-sd-service.yml with its relabelling untouched, pointed at this bridge: the bridge's
 * URL instead of its Cloud Map name, a static target for its self-scrape, second-scale intervals, no rules.
 */
function serviceExample(bridgeUrl: string): string {
  const doc = parse(readFileSync("deploy/prometheus/http-sd-service.yml", "utf8")) as {
    global: Record<string, string>;
    rule_files?: string[];
    scrape_configs: Record<string, unknown>[];
  };
  doc.global = { scrape_interval: "1s", scrape_timeout: "900ms" };
  delete doc.rule_files;
  for (const job of doc.scrape_configs) {
    for (const sd of (job.http_sd_configs ?? []) as { url: string; refresh_interval?: string }[]) {
      sd.url = sd.url.replace("http://ecs-prometheus-bridge.monitoring.local:9100", bridgeUrl);
      sd.refresh_interval = "1s";
    }
    if (job.dns_sd_configs) {
      delete job.dns_sd_configs;
      delete job.scrape_interval;
      job.static_configs = [{ targets: [new URL(bridgeUrl).host] }];
    }
  }
  return stringify(doc);
}

describe.skipIf(!prometheusAvailable())(
  "real Prometheus: a task ECS and Cloud Map both list is scraped once",
  () => {
    let simBoth: SimAws;
    let bridgeBoth: Bridge;
    let exportersBoth: SampleExporters;
    let demoProm: RunningPrometheus;
    let serviceProm: RunningPrometheus;

    beforeAll(async () => {
      simBoth = await startSimAws({ scenario: both });
      exportersBoth = await startSampleExporters(simBoth.endpoints());
      bridgeBoth = await bridgeOnSim(simBoth, { BRIDGE_CLUSTERS: "prod", BRIDGE_CLOUDMAP_ENABLED: "true" });
      await bridgeBoth.discovery.refreshOnce();
      [demoProm, serviceProm] = await Promise.all([
        // The config the demo's banner prints: one job on the unfiltered /sd.
        startPrometheus(httpSdConfig("demo", `${bridgeBoth.url}/sd`, [])),
        startPrometheus(serviceExample(bridgeBoth.url), { "bridge-token": "unused-by-this-bridge\n" }),
      ]);
    });

    afterAll(async () => {
      await demoProm?.stop();
      await serviceProm?.stop();
      await bridgeBoth?.close();
      await exportersBoth?.close();
      await simBoth?.close();
    });

    it("the demo's config: 3 endpoints, 3 targets, the api tasks with both label sets", async () => {
      const targets = await demoProm.waitFor(
        (ts) => ts.length === 3 && ts.every((t) => t.health === "up"),
        "3 targets up",
      );
      expect(scrapedTwice(targets)).toEqual([]);
      expect(await demoProm.query("count by (instance) (up) > 1")).toEqual([]);
      const api = targets.filter((t) => t.discoveredLabels.__meta_ecs_task_arn);
      expect(api).toHaveLength(2);
      for (const t of api) expect(t.discoveredLabels.__meta_cloudmap_namespace_name).toBe("internal.example");
    });

    it("deploy/prometheus/http-sd-service.yml: the ecs job scrapes the api tasks, the cloudmap job billing", async () => {
      const targets = await serviceProm.waitFor(
        (ts) => ts.length === 4 && ts.every((t) => t.health === "up"),
        "api x2, billing and the bridge up",
      );
      expect(scrapedTwice(targets)).toEqual([]);
      expect(await serviceProm.query("count by (instance) (up) > 1")).toEqual([]);
      const jobs = targets.map((t) => `${t.scrapePool} ${t.labels.job}`).sort();
      expect(jobs).toEqual([
        "cloudmap billing",
        "ecs api",
        "ecs api",
        "ecs-prometheus-bridge ecs-prometheus-bridge",
      ]);
    });
  },
);
