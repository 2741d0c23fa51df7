// The figures docs/exporter.md quotes, measured by running the real exporter (bench/exporter-cost.ts).
import { expect, it } from "vitest";
import { measureExporterCost } from "../../bench/exporter-cost.js";

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
