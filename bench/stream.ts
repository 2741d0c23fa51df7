// Benchmark: stream mode. (1) Ingest rate: simulated metric stream deliveries (Service Connect data of 200
// services, gzip, as sim/firehose.ts builds them) posted over loopback to the bridge's delivery route; the
// bodies are built before the clock starts, so the figure is the route's decode-and-apply rate. (2) Monthly
// cost for 20 and 200 services in both modes: poll from the exporter's counted calls (bench/exporter-cost.ts),
// stream from the same pricing module as the cost self-metric (exporter/stream/cost.ts).
import express from "express";
import { pathToFileURL } from "node:url";
import { loadConfig } from "../cmd/config.js";
import { createSelfMetrics } from "../core/metrics.js";
import { listen } from "../core/server.js";
import { METRICS } from "../exporter/catalog.js";
import { createStreamIngest } from "../exporter/index.js";
import { estimateStreamMonthlyCost, type StreamCostEstimate } from "../exporter/stream/cost.js";
import { deliveryRequest, metricStreamUpdates, packDeliveries } from "../sim/firehose.js";
import type { Scenario } from "../sim/types.js";
import { measureExporterCost } from "./exporter-cost.js";

const ACCESS_KEY = "bench-access-key-0123456789";
/** ECS publishes every Service Connect metric with 1 and with 3 dimensions; a metric stream sends both. */
const STREAMED_SERIES_PER_SERVICE = METRICS.length * 2;

function scenario(services: number): Scenario {
  return {
    serviceConnect: Array.from({ length: services }, (_, i) => ({
      cluster: "prod",
      service: `svc-${i}`,
      discoveryName: `svc-${i}-http`,
    })),
  };
}

export interface IngestFigures {
  deliveries: number;
  records: number;
  updates: number;
  seconds: number;
  recordsPerSecond: number;
  updatesPerSecond: number;
  /** Mean bytes of one update line, for the cost estimate. */
  bytesPerUpdate: number;
}

export async function measureIngest(services = 200, minutes = 30): Promise<IngestFigures> {
  const config = loadConfig({
    env: {
      AWS_REGION: "us-east-1",
      BRIDGE_EXPORTER_ENABLED: "true",
      BRIDGE_EXPORTER_MODE: "stream",
      BRIDGE_EXPORTER_STREAM_ACCESS_KEY: ACCESS_KEY,
    },
  });
  const metrics = createSelfMetrics({ defaults: false });
  const ingest = createStreamIngest({ config, scopes: [{}], metrics });
  const app = express();
  app.use(ingest.router);
  const server = await listen(app, "127.0.0.1", 0);
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}${config.exporter.stream.path}`;
  const sc = scenario(services);
  const firstMinute = Math.floor(Date.now() / 60_000) * 60 - minutes * 60;
  let updates = 0;
  let updateBytes = 0;
  const requests = [];
  for (let m = 0; m < minutes; m++) {
    const lines = metricStreamUpdates(sc, firstMinute + m * 60);
    updates += lines.length;
    updateBytes += lines.reduce((sum, l) => sum + JSON.stringify(l).length + 1, 0);
    for (const d of packDeliveries(lines, { updatesPerRecord: 20, recordsPerDelivery: 500 }))
      requests.push({
        records: d.records.length,
        ...deliveryRequest(d, { accessKey: ACCESS_KEY, gzip: true }),
      });
  }
  const start = process.hrtime.bigint();
  for (const r of requests) {
    const res = await fetch(url, { method: "POST", headers: r.headers, body: r.body });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`delivery answered ${res.status}`);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  ingest.stop();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const records = requests.reduce((sum, r) => sum + r.records, 0);
  return {
    deliveries: requests.length,
    records,
    updates,
    seconds,
    recordsPerSecond: records / seconds,
    updatesPerSecond: updates / seconds,
    bytesPerUpdate: updateBytes / updates,
  };
}

export interface CostRow {
  services: number;
  pollFiveMinutesUsd: number;
  pollOneMinuteUsd: number;
  stream: StreamCostEstimate;
}

export async function costTable(bytesPerUpdate: number, sizes = [20, 200]): Promise<CostRow[]> {
  const oneMinute = { BRIDGE_EXPORTER_SCHEDULE: "*/1 * * * *", BRIDGE_EXPORTER_PERIOD_SECONDS: "60" };
  const rows: CostRow[] = [];
  for (const services of sizes) {
    const five = await measureExporterCost({ services });
    const one = await measureExporterCost({ services, env: oneMinute });
    rows.push({
      services,
      pollFiveMinutesUsd: five.monthly.totalUsd,
      pollOneMinuteUsd: one.monthly.totalUsd,
      // Worst case for Firehose: one update per record, each rounded up to 5 KB.
      stream: estimateStreamMonthlyCost({
        streamedSeries: services * STREAMED_SERIES_PER_SERVICE,
        bytesPerUpdate,
        updatesPerRecord: 1,
      }),
    });
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const f = await measureIngest(Number(process.argv[2] ?? 200));
  process.stdout.write(
    `ingest: ${f.deliveries} gzip deliveries, ${f.records} records, ${f.updates} updates in ${f.seconds.toFixed(2)} s: ` +
      `${Math.round(f.recordsPerSecond)} records/s, ${Math.round(f.updatesPerSecond)} updates/s ` +
      `(${f.bytesPerUpdate.toFixed(0)} bytes per update)\n`,
  );
  process.stdout.write("monthly cost (USD, us-east-1 list prices):\n");
  process.stdout.write(
    "| services | poll every 5 min | poll every 1 min | stream (1 min) | of which Firehose |\n",
  );
  for (const r of await costTable(f.bytesPerUpdate))
    process.stdout.write(
      `| ${r.services} | ${r.pollFiveMinutesUsd.toFixed(2)} | ${r.pollOneMinuteUsd.toFixed(2)} | ` +
        `${r.stream.totalUsd.toFixed(2)} | ${r.stream.firehoseUsd.toFixed(2)} |\n`,
    );
}
