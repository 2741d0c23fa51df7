// End to end: a real Prometheus discovers Cloud Map instances through the bridge's /sd and scrapes them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../../cmd/bridge.js";
import { startSimAws, type Scenario, type SimAws } from "../../sim/index.js";
import { bridgeOnSim } from "../helpers/bridge.js";
import { startSampleExporters, type SampleExporters } from "../helpers/exporters.js";
import {
  httpSdConfig,
  prometheusAvailable,
  startPrometheus,
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
