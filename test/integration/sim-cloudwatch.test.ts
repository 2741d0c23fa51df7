// CloudWatch on the simulated AWS endpoint through the real client (AWS JSON 1.0, awsQueryCompatible):
// ListMetrics pages and filters, GetMetricData limits, period-aligned timestamps, ScanBy, datapoint
// pagination, ingestion lag, series that stop, error names as the SDK raises them. The sim runs on a fixed clock.
import {
  GetMetricDataCommand,
  ListMetricsCommand,
  paginateListMetrics,
  type MetricDataQuery,
  type MetricDataResult,
} from "@aws-sdk/client-cloudwatch";
import { afterEach, describe, expect, it } from "vitest";
import { destroyClients, type AwsClients } from "../../core/aws.js";
import { startSimAws, type Scenario, type SimAws } from "../../sim/index.js";
import { rejection, simClients } from "./sim-helpers.js";

const NOW = Date.UTC(2024, 5, 1, 10, 0, 30);
const at = (hh: number, mm: number, ss = 0) => new Date(Date.UTC(2024, 5, 1, hh, mm, ss));
const DIMS = { ClusterName: "prod", ServiceName: "orders", DiscoveryName: "orders-http" };

let sim: SimAws | undefined;
let clients: AwsClients | undefined;

afterEach(async () => {
  if (clients) destroyClients(clients);
  clients = undefined;
  await sim?.close();
  sim = undefined;
});

async function start(scenario: Scenario): Promise<{ s: SimAws; cw: AwsClients["cloudwatch"] }> {
  sim = await startSimAws({ scenario, now: () => NOW });
  clients = simClients(sim);
  return { s: sim, cw: clients.cloudwatch };
}

const query = (
  Id: string,
  MetricName: string,
  Stat: string,
  Period = 60,
  Dimensions = DIMS,
): MetricDataQuery => ({
  Id,
  MetricStat: {
    Metric: {
      Namespace: "AWS/ECS",
      MetricName,
      Dimensions: Object.entries(Dimensions).map(([Name, Value]) => ({ Name, Value })),
    },
    Period,
    Stat,
  },
});

const secs = (r: MetricDataResult) => r.Timestamps!.map((d) => d.getTime() / 1000);

describe("CloudWatch over AWS JSON 1.0", () => {
  it("pages ListMetrics at 500 and filters by namespace, metric name and dimensions", async () => {
    const { s, cw } = await start({
      serviceConnect: [{ cluster: "prod", service: "orders", discoveryName: "orders-http" }],
    });
    s.putMetricSeries(
      Array.from({ length: 600 }, (_, i) => ({
        namespace: "Custom/Load",
        metricName: "Hits",
        dimensions: { Shard: `s${i}` },
      })),
    );
    const pages: number[] = [];
    for await (const p of paginateListMetrics({ client: cw }, { Namespace: "Custom/Load" }))
      pages.push(p.Metrics!.length);
    expect(pages).toEqual([500, 100]);

    const target = await cw.send(
      new ListMetricsCommand({ Namespace: "AWS/ECS", Dimensions: [{ Name: "TargetDiscoveryName" }] }),
    );
    // 8 TargetDiscoveryName metrics x (1- and 3-dimension sets).
    expect(target.Metrics).toHaveLength(16);
    const three = await cw.send(
      new ListMetricsCommand({
        Namespace: "AWS/ECS",
        MetricName: "RequestCount",
        Dimensions: [{ Name: "ClusterName", Value: "prod" }],
      }),
    );
    expect(three.Metrics).toEqual([
      {
        Namespace: "AWS/ECS",
        MetricName: "RequestCount",
        Dimensions: [
          { Name: "ClusterName", Value: "prod" },
          { Name: "ServiceName", Value: "orders" },
          { Name: "DiscoveryName", Value: "orders-http" },
        ],
      },
    ]);
    expect(
      (await cw.send(new ListMetricsCommand({ Namespace: "AWS/ECS", MetricName: "Nope" }))).Metrics,
    ).toEqual([]);
  });

  it("rejects more than 500 queries; 500 are fine", async () => {
    const { cw } = await start({ metrics: [{ metricName: "RequestCount", dimensions: DIMS, value: 1 }] });
    const queries = Array.from({ length: 501 }, (_, i) => query(`q${i}`, "RequestCount", "Sum"));
    const err = await rejection(
      cw.send(
        new GetMetricDataCommand({ StartTime: at(9, 55), EndTime: at(10, 0), MetricDataQueries: queries }),
      ),
    );
    expect(err.name).toBe("ValidationException");
    expect(err.Code).toBe("ValidationError");
    expect(err.message).toMatch(/500/);
    const ok = await cw.send(
      new GetMetricDataCommand({
        StartTime: at(9, 55),
        EndTime: at(10, 0),
        MetricDataQueries: queries.slice(0, 500),
      }),
    );
    expect(ok.MetricDataResults).toHaveLength(500);
    const dup = await rejection(
      cw.send(
        new GetMetricDataCommand({
          StartTime: at(9, 55),
          EndTime: at(10, 0),
          MetricDataQueries: [queries[0]!, queries[0]!],
        }),
      ),
    );
    expect(dup.name).toBe("ValidationException");
    const expr = await rejection(
      cw.send(
        new GetMetricDataCommand({
          StartTime: at(9, 55),
          EndTime: at(10, 0),
          MetricDataQueries: [{ Id: "e1", Expression: "SUM(METRICS())" }],
        }),
      ),
    );
    expect(expr.message).toMatch(/expression/);
  });

  it("aligns timestamps to the period, newest first unless ScanBy ascending, with values per statistic", async () => {
    const { cw } = await start({
      metrics: [
        { metricName: "TargetResponseTime", dimensions: DIMS, value: (t) => t / 60, stats: { Maximum: 500 } },
        { metricName: "RequestCount", dimensions: DIMS, value: 2 },
      ],
    });
    const r = await cw.send(
      new GetMetricDataCommand({
        StartTime: at(9, 52, 13),
        EndTime: at(9, 58),
        MetricDataQueries: [
          query("avg", "TargetResponseTime", "Average"),
          query("max", "TargetResponseTime", "Maximum"),
        ],
      }),
    );
    const [avg, max] = r.MetricDataResults!;
    const expected = [57, 56, 55, 54, 53, 52].map((m) => at(9, m).getTime() / 1000);
    expect(secs(avg!)).toEqual(expected);
    expect(avg!.Values).toEqual(expected.map((t) => t / 60));
    expect(avg).toMatchObject({ Id: "avg", Label: "TargetResponseTime", StatusCode: "Complete" });
    expect(max!.Values).toEqual(expected.map(() => 500));
    expect(r.NextToken).toBeUndefined();

    const asc = await cw.send(
      new GetMetricDataCommand({
        StartTime: at(9, 52),
        EndTime: at(9, 55),
        ScanBy: "TimestampAscending",
        MetricDataQueries: [query("a", "TargetResponseTime", "Average")],
      }),
    );
    expect(secs(asc.MetricDataResults![0]!)).toEqual([52, 53, 54].map((m) => at(9, m).getTime() / 1000));

    // Period 300: 5-minute buckets; Sum of a per-minute value of 2 is 10.
    const five = await cw.send(
      new GetMetricDataCommand({
        StartTime: at(9, 40),
        EndTime: at(10, 0),
        MetricDataQueries: [query("sum", "RequestCount", "Sum", 300)],
      }),
    );
    expect(secs(five.MetricDataResults![0]!)).toEqual([55, 50, 45, 40].map((m) => at(9, m).getTime() / 1000));
    expect(five.MetricDataResults![0]!.Values).toEqual([10, 10, 10, 10]);
    // A series that does not exist is an empty, complete result.
    const none = await cw.send(
      new GetMetricDataCommand({
        StartTime: at(9, 40),
        EndTime: at(10, 0),
        MetricDataQueries: [query("n", "Nope", "Sum")],
      }),
    );
    expect(none.MetricDataResults).toEqual([
      { Id: "n", Label: "Nope", Timestamps: [], Values: [], StatusCode: "Complete", Messages: [] },
    ]);
  });

  it("an account that monitors none: IncludeLinkedAccounts lists its own as owner; AccountId of another is Forbidden", async () => {
    const { cw } = await start({
      accountId: "111111111111",
      metrics: [{ metricName: "RequestCount", dimensions: DIMS, value: 2 }],
    });
    const plain = await cw.send(new ListMetricsCommand({ Namespace: "AWS/ECS" }));
    expect(plain.OwningAccounts).toBeUndefined();
    const linked = await cw.send(
      new ListMetricsCommand({ Namespace: "AWS/ECS", IncludeLinkedAccounts: true }),
    );
    expect(linked.OwningAccounts).toEqual(linked.Metrics!.map(() => "111111111111"));
    const inAccount = (Id: string, AccountId: string) => ({ ...query(Id, "RequestCount", "Sum"), AccountId });
    const r = await cw.send(
      new GetMetricDataCommand({
        StartTime: at(9, 55),
        EndTime: at(9, 58),
        MetricDataQueries: [inAccount("own", "111111111111"), inAccount("other", "222222222222")],
      }),
    );
    expect(r.MetricDataResults).toEqual([
      expect.objectContaining({ Id: "own", Values: [2, 2, 2], StatusCode: "Complete" }),
      expect.objectContaining({ Id: "other", Values: [], StatusCode: "Forbidden" }),
    ]);
  });

  it("paginates by datapoints with NextToken and PartialData", async () => {
    const { s, cw } = await start({
      metrics: [
        { metricName: "RequestCount", dimensions: DIMS, value: 1 },
        { metricName: "NewConnectionCount", dimensions: DIMS, value: 3 },
      ],
      cloudwatch: { maxDatapointsPerPage: 4 },
    });
    const input = {
      StartTime: at(9, 50),
      EndTime: at(9, 56),
      MetricDataQueries: [query("a", "RequestCount", "Sum"), query("b", "NewConnectionCount", "Sum")],
    };
    const merged = new Map<string, number[]>();
    const statuses: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await cw.send(new GetMetricDataCommand({ ...input, NextToken }));
      for (const r of page.MetricDataResults!) {
        merged.set(r.Id!, [...(merged.get(r.Id!) ?? []), ...secs(r)]);
        statuses.push(`${r.Id}:${r.StatusCode}`);
      }
      NextToken = page.NextToken;
    } while (NextToken);
    expect(s.calls("GetMetricData")).toBe(3);
    expect(statuses).toEqual(["a:PartialData", "a:Complete", "b:PartialData", "b:Complete"]);
    const six = [55, 54, 53, 52, 51, 50].map((m) => at(9, m).getTime() / 1000);
    expect(merged.get("a")).toEqual(six);
    expect(merged.get("b")).toEqual(six);
  });

  it("hides datapoints younger than the ingestion lag and ends series at `until`", async () => {
    const { cw } = await start({
      metrics: [
        { metricName: "RequestCount", dimensions: DIMS, value: 1 },
        { metricName: "ActiveConnectionCount", dimensions: DIMS, value: 1, until: at(9, 55).toISOString() },
        { metricName: "OldMetric", dimensions: DIMS, value: 1, until: at(5, 0).toISOString() },
      ],
      cloudwatch: { lagSeconds: 180 },
    });
    const r = await cw.send(
      new GetMetricDataCommand({
        StartTime: at(9, 50),
        EndTime: at(10, 1),
        MetricDataQueries: [
          query("rc", "RequestCount", "Sum"),
          query("ac", "ActiveConnectionCount", "Average"),
        ],
      }),
    );
    // now 10:00:30 - 180 s lag = 09:57:30: the newest visible period starts at 09:57.
    expect(secs(r.MetricDataResults![0]!)[0]).toBe(at(9, 57).getTime() / 1000);
    expect(secs(r.MetricDataResults![1]!)[0]).toBe(at(9, 55).getTime() / 1000);
    const recent = await cw.send(new ListMetricsCommand({ Namespace: "AWS/ECS", RecentlyActive: "PT3H" }));
    expect(recent.Metrics!.map((m) => m.MetricName).sort()).toEqual([
      "ActiveConnectionCount",
      "RequestCount",
    ]);
    const listed = await cw.send(new ListMetricsCommand({ Namespace: "AWS/ECS" }));
    expect(listed.Metrics).toHaveLength(3);
  });

  it("raises Throttling and the 5xx of a failing cluster as the SDK names them", async () => {
    const { s, cw } = await start({ metrics: [{ metricName: "RequestCount", dimensions: DIMS, value: 1 }] });
    s.throttleNext({ service: "cloudwatch", count: 1 });
    const t = await rejection(cw.send(new ListMetricsCommand({ Namespace: "AWS/ECS" })));
    expect(t.name).toBe("Throttling");
    s.failCluster("prod");
    const input = { StartTime: at(9, 50), EndTime: at(9, 55) };
    const e = await rejection(
      cw.send(new GetMetricDataCommand({ ...input, MetricDataQueries: [query("a", "RequestCount", "Sum")] })),
    );
    expect(e.name).toBe("InternalServiceFault");
    expect(e.$metadata?.httpStatusCode).toBe(500);
    const other = { ...DIMS, ClusterName: "staging" };
    await cw.send(
      new GetMetricDataCommand({
        ...input,
        MetricDataQueries: [query("b", "RequestCount", "Sum", 60, other)],
      }),
    );
  });
});
