// The figures docs/exporter.md quotes, measured by running the real exporter (bench/exporter-cost.ts).
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { measureExporterCost } from "../../bench/exporter-cost.js";
import { OPTIONS } from "../../cmd/config.js";
import { alignWindow } from "../../exporter/collect.js";

it("20 services with default settings: 320 metrics in 1 GetMetricData call per collection", async () => {
  const f = await measureExporterCost({ services: 20 });
  expect(f.listedSeries).toBe(20 * 14 * 2);
  expect(f.exportedSeries).toBe(320);
  expect(f.metricsPerCollection).toBe(320);
  expect(f.getMetricDataCallsPerCollection).toBe(1);
  expect(f.listMetricsRequestsPerRefresh).toBe(2);
  expect(f.collectionsPerDay).toBe(288);
  // The self-metric counter agrees with the price list: 320 metrics x $0.01 / 1000.
  expect(f.estimatedCostPerCollectionUsd).toBeCloseTo(0.0032, 10);
  expect(f.monthly.getMetricDataUsd).toBeCloseTo(28.03, 2);
  expect(f.monthly.totalUsd).toBeCloseTo(28.09, 2);
});

it("batches grow with the service count: 32 services need 2 calls", async () => {
  const f = await measureExporterCost({ services: 32 });
  expect(f.metricsPerCollection).toBe(512);
  expect(f.getMetricDataCallsPerCollection).toBe(2);
});

it("the window example docs/exporter.md gives is what the default settings query", () => {
  const d = (key: string) => OPTIONS.find((o) => o.key === `exporter.${key}`)!.default as number;
  const now = Date.UTC(2024, 0, 1, 12, 0, 30);
  const w = alignWindow(now, d("periodSeconds"), d("delaySeconds"));
  const hhmm = (s: number) => new Date(s * 1000).toISOString().slice(11, 16);
  const newest = hhmm(w.end - d("periodSeconds"));
  const doc = readFileSync("docs/exporter.md", "utf8").replace(/\s+/g, " ");
  expect(doc).toContain(
    `With the defaults at 12:00:30 the window is [${hhmm(w.start)}, ${hhmm(w.end)}) and the newest complete point is the ${newest} period`,
  );
});
