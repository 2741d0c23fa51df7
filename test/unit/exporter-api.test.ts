// exporter/api.ts over the wire: the SDK paginators follow NextToken page by page, each page is one request
// the client counts, the caller's input is left untouched, and a server repeating its token does not loop.
import nock from "nock";
import { afterEach, beforeAll, expect, it } from "vitest";
import { createSelfMetrics } from "../../core/metrics.js";
import { cloudWatchApi } from "../../exporter/api.js";
import { NAMESPACE } from "../../exporter/catalog.js";
import { mockJson } from "../helpers/aws-nock.js";
import { FakeCloudWatch, serviceConnect, testScope } from "./exporter-fake.js";

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

async function requests(metrics: ReturnType<typeof createSelfMetrics>, operation: string): Promise<number> {
  const values = (await metrics.registry.getSingleMetric("ecs_bridge_aws_requests_total")?.get())?.values;
  return values?.find((v) => v.labels.operation === operation)?.value ?? 0;
}

it("ListMetrics: every page is requested with the previous page's NextToken", async () => {
  const metrics = createSelfMetrics({ defaults: false });
  const cw = new FakeCloudWatch();
  cw.serve();
  cw.series = serviceConnect("prod", "orders", "orders-http");
  cw.listPageSize = 5;
  const api = cloudWatchApi(testScope(metrics).clients.cloudwatch);
  const input = { Namespace: NAMESPACE, Dimensions: [{ Name: "DiscoveryName" }] };
  const listed: string[] = [];
  await api.listMetrics(input, (page) => listed.push(...(page.Metrics ?? []).map((m) => m.MetricName!)));
  // 6 DiscoveryName metrics x 2 dimension sets = 12 -> pages of 5, 5, 2.
  expect(listed).toHaveLength(12);
  expect(cw.inputs.ListMetrics.map((i) => i.NextToken)).toEqual([undefined, "5", "10"]);
  expect(await requests(metrics, "ListMetrics")).toBe(3);
  expect(input).toEqual({ Namespace: NAMESPACE, Dimensions: [{ Name: "DiscoveryName" }] });
});

it("GetMetricData: pages are followed and timestamps arrive as dates", async () => {
  const metrics = createSelfMetrics({ defaults: false });
  const cw = new FakeCloudWatch();
  cw.serve();
  cw.series = serviceConnect("prod", "orders", "orders-http", 3);
  cw.dataPageSize = 2;
  const [series] = cw.series;
  const api = cloudWatchApi(testScope(metrics).clients.cloudwatch);
  const end = Date.UTC(2024, 0, 1, 12, 0, 0);
  const points: [Date, number][] = [];
  await api.getMetricData(
    {
      MetricDataQueries: [
        {
          Id: "q0",
          MetricStat: {
            Metric: {
              Namespace: NAMESPACE,
              MetricName: series!.metric,
              Dimensions: Object.entries(series!.dims).map(([Name, Value]) => ({ Name, Value })),
            },
            Period: 60,
            Stat: "Sum",
          },
        },
      ],
      StartTime: new Date(end - 300_000),
      EndTime: new Date(end),
      ScanBy: "TimestampDescending",
    },
    (page) => {
      for (const r of page.MetricDataResults ?? [])
        r.Timestamps?.forEach((t, i) => points.push([t, r.Values![i]!]));
    },
  );
  // 5 points at 2 per page -> 3 requests, newest first.
  expect(await requests(metrics, "GetMetricData")).toBe(3);
  expect(cw.inputs.GetMetricData.map((i) => i.NextToken)).toEqual([undefined, "2", "4"]);
  expect(points.map(([t]) => t.toISOString().slice(11, 16))).toEqual([
    "11:59",
    "11:58",
    "11:57",
    "11:56",
    "11:55",
  ]);
  expect(points.every(([, v]) => v === 3)).toBe(true);
});

it("a server that repeats its token ends the walk instead of looping", async () => {
  const metrics = createSelfMetrics({ defaults: false });
  mockJson({ ListMetrics: () => ({ Metrics: [], NextToken: "same" }) }, "application/x-amz-json-1.0");
  const api = cloudWatchApi(testScope(metrics).clients.cloudwatch);
  let pages = 0;
  await api.listMetrics({ Namespace: NAMESPACE }, () => pages++);
  expect(pages).toBe(2);
});
