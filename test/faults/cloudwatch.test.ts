// CloudWatch replies that do not match the API's shape: an empty body or a null list fails the scope's
// collection (counted, last-success held, the exported values kept), while an empty list is a real "nothing".
import { afterEach, describe, expect, it } from "vitest";
import { failOnUnhandledRejection, startRig, type Rig } from "./harness.js";
import { EXPORTER_ENV, SERVICE_CONNECT_SCENARIO } from "./fixtures.js";
import type { ProxyAction } from "./proxy.js";

failOnUnhandledRejection();

let rig: Rig;
afterEach(async () => {
  await rig.close();
});

const LIST = { GetMetricData: "MetricDataResults", ListMetrics: "Metrics" } as const;
const ERRORS = "ecs_bridge_cloudwatch_collection_errors_total";
const LAST_SUCCESS = "ecs_bridge_cloudwatch_last_success_timestamp_seconds";

/** Names and labels of the exported series, without their values. */
const exportedNames = async (): Promise<string[]> =>
  (await rig.exportedSeries()).map((line) => line.slice(0, line.lastIndexOf(" ")));

/** A good collection, then one while `operation` answers `action`: the report and the state before it. */
async function collectUnder(operation: keyof typeof LIST, action: ProxyAction) {
  rig = await startRig({ scenario: SERVICE_CONNECT_SCENARIO, env: EXPORTER_ENV });
  const exporter = rig.bridge.exporter!;
  expect((await exporter.collectOnce()).ok).toBe(true);
  const exported = await exportedNames();
  expect(exported.length).toBeGreaterThan(0);
  const errors = await rig.metricSum(ERRORS);
  const lastSuccess = await rig.metric(LAST_SUCCESS);
  rig.proxy.add({ service: "cloudwatch", operation, action });
  const faulty = await exporter.collectOnce();
  expect(rig.proxy.hits(`cloudwatch:${operation}`)).toBeGreaterThan(0);
  return { faulty, exported, errors, lastSuccess };
}

describe("CloudWatch", () => {
  for (const operation of ["GetMetricData", "ListMetrics"] as const) {
    it(`${operation} answering 200 with an empty body is a counted failure`, async () => {
      const { faulty, errors, lastSuccess } = await collectUnder(operation, { kind: "reply", body: "" });
      expect.soft(faulty.ok).toBe(false);
      expect.soft(await rig.metricSum(ERRORS)).toBeGreaterThan(errors);
      expect.soft(await rig.metric(LAST_SUCCESS)).toBe(lastSuccess);
    });

    it(`${operation} with a null ${LIST[operation]} is a MalformedResponse failure`, async () => {
      const { faulty, exported, errors, lastSuccess } = await collectUnder(operation, {
        kind: "rewrite",
        rewrite: (b) => ({ ...b, [LIST[operation]]: null }),
      });
      expect.soft(faulty.ok).toBe(false);
      expect.soft(faulty.scopes[0]?.errors).toContain(`${operation}: MalformedResponse`);
      expect.soft(await rig.metricSum(ERRORS, { api: operation, code: "MalformedResponse" })).toBe(1);
      expect.soft(await rig.metricSum(ERRORS)).toBeGreaterThan(errors);
      expect.soft(await rig.metric(LAST_SUCCESS)).toBe(lastSuccess);
      expect.soft(await exportedNames(), "series kept under the fault").toEqual(exported);
      rig.proxy.clear();
      const healed = await rig.bridge.exporter!.collectOnce();
      expect.soft(healed.ok).toBe(true);
      expect.soft(await exportedNames()).toEqual(exported);
    });

    it(`${operation} with an empty ${LIST[operation]} list is no failure`, async () => {
      const { faulty, errors } = await collectUnder(operation, {
        kind: "rewrite",
        rewrite: (b) => ({ ...b, [LIST[operation]]: [] }),
      });
      expect.soft(faulty.ok).toBe(true);
      expect.soft(await rig.metricSum(ERRORS)).toBe(errors);
    });
  }
});
