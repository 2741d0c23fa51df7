// exporter/api.ts over the wire: the SDK paginators follow NextToken page by page, each page is one request
// the client counts, the caller's input is left untouched, and a server repeating its token does not loop.
// A reply without the list the API promises is MalformedResponse, an empty list is not, a hung one times out.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import nock from "nock";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSelfMetrics } from "../../core/metrics.js";
import { MalformedResponse } from "../../core/aws.js";
import { CallTimeout, cloudWatchApi, type CloudWatchApi } from "../../exporter/api.js";
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

describe("replies that do not match the API's shape", () => {
  const window = { MetricDataQueries: [], StartTime: new Date(0), EndTime: new Date(60_000) };
  const cases = [
    { op: "ListMetrics", list: "Metrics", call: (api: CloudWatchApi) => api.listMetrics({}, () => {}) },
    {
      op: "GetMetricData",
      list: "MetricDataResults",
      call: (api: CloudWatchApi) => api.getMetricData(window, () => {}),
    },
  ] as const;

  for (const { op, list, call } of cases) {
    it(`${op} with ${list} null or missing throws MalformedResponse`, async () => {
      for (const reply of [{ [list]: null }, {}]) {
        nock.cleanAll();
        mockJson({ [op]: () => reply }, "application/x-amz-json-1.0");
        const api = cloudWatchApi(testScope().clients.cloudwatch);
        const err = await call(api).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MalformedResponse);
        expect((err as Error).message).toBe(`${op} returned no ${list}`);
      }
    });

    it(`${op} with an empty ${list} list is a real "nothing"`, async () => {
      mockJson({ [op]: () => ({ [list]: [] }) }, "application/x-amz-json-1.0");
      const pages: unknown[] = [];
      const api = cloudWatchApi(testScope().clients.cloudwatch);
      await (op === "ListMetrics"
        ? api.listMetrics({}, (p) => pages.push(p.Metrics))
        : api.getMetricData(window, (p) => pages.push(p.MetricDataResults)));
      expect(pages).toEqual([[]]);
    });
  }
});

it("a reply that never arrives fails the call once its bound has passed", async () => {
  // A server that accepts the request and never answers it.
  const server = createServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  nock.enableNetConnect(`127.0.0.1:${port}`);
  const client = new CloudWatchClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret" },
    maxAttempts: 1,
  });
  try {
    const api = cloudWatchApi(async () => client, { callTimeoutMs: 200 });
    const err = await api.listMetrics({ Namespace: NAMESPACE }, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallTimeout);
    expect((err as Error).name).toBe("TimeoutError");
  } finally {
    client.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    nock.disableNetConnect();
  }
});
