// A small in-memory CloudWatch (ListMetrics + GetMetricData over AWS JSON 1.0 via nock) for the exporter
// tests. It enforces the API limits the exporter must respect (500 queries, id syntax, unique ids) so a
// regression fails like it would against AWS.
import { AwsError, mockJson, testClients, type Mock } from "../helpers/aws-nock.js";
import { createSelfMetrics, type SelfMetrics } from "../../core/metrics.js";
import type { ExporterScope } from "../../exporter/index.js";
import { METRICS } from "../../exporter/catalog.js";

export interface FakeSeries {
  metric: string;
  dims: Record<string, string>;
  /** Base value; stats add STAT_OFFSET so each (series, stat) pair is recognisable in the output. */
  value?: number;
  account?: string;
}

export const STAT_OFFSET: Record<string, number> = {
  Sum: 0,
  Average: 0.25,
  Maximum: 0.5,
  Minimum: 0.75,
  SampleCount: 0.125,
};

/** Value of a series at Unix second t, or undefined for "no datapoint". */
export type DataFn = (s: FakeSeries, stat: string, t: number) => number | undefined;

export const constantData: DataFn = (s, stat) => (s.value ?? 1) + (STAT_OFFSET[stat] ?? 0);

type Obj = Record<string, unknown>;

function dimsMatch(a: Record<string, string>, b: { Name: string; Value: string }[]): boolean {
  return Object.keys(a).length === b.length && b.every((d) => a[d.Name] === d.Value);
}

export class FakeCloudWatch {
  series: FakeSeries[] = [];
  data: DataFn = constantData;
  listPageSize = 500;
  /** Datapoints per GetMetricData page (CloudWatch pages by datapoints). */
  dataPageSize = 100_800;
  /** Return OwningAccounts in ListMetrics (a monitoring account). */
  owningAccounts = false;
  /** Errors thrown by the next calls of an operation, in order. */
  failures: Record<string, AwsError[]> = {};
  mock: Mock | undefined;

  install(): this {
    this.mock = mockJson(
      {
        ListMetrics: (body) => this.listMetrics(body),
        GetMetricData: (body) => this.getMetricData(body),
      },
      "application/x-amz-json-1.0",
    );
    return this;
  }

  calls(op: string): number {
    return this.mock?.calls[op] ?? 0;
  }

  bodies(op: string): Obj[] {
    return this.mock?.bodies[op] ?? [];
  }

  private fail(op: string): void {
    const err = this.failures[op]?.shift();
    if (err) throw err;
  }

  private listMetrics(body: Obj): Obj {
    this.fail("ListMetrics");
    const filters = (body.Dimensions as { Name: string; Value?: string }[] | undefined) ?? [];
    const matching = this.series.filter(
      (s) =>
        (body.Namespace === undefined || body.Namespace === "AWS/ECS") &&
        (body.MetricName === undefined || body.MetricName === s.metric) &&
        filters.every((f) => f.Name in s.dims && (f.Value === undefined || s.dims[f.Name] === f.Value)),
    );
    const start = body.NextToken ? Number(body.NextToken) : 0;
    const page = matching.slice(start, start + this.listPageSize);
    const next = start + this.listPageSize < matching.length ? String(start + this.listPageSize) : undefined;
    return {
      Metrics: page.map((s) => ({
        Namespace: "AWS/ECS",
        MetricName: s.metric,
        Dimensions: Object.entries(s.dims).map(([Name, Value]) => ({ Name, Value })),
      })),
      ...(this.owningAccounts ? { OwningAccounts: page.map((s) => s.account ?? "") } : {}),
      ...(next ? { NextToken: next } : {}),
    };
  }

  private getMetricData(body: Obj): Obj {
    this.fail("GetMetricData");
    const queries = body.MetricDataQueries as Obj[];
    if (queries.length > 500)
      throw new AwsError(
        "ValidationError",
        "The collection MetricDataQueries must not have a size greater than 500.",
      );
    const ids = new Set<string>();
    for (const q of queries) {
      const id = q.Id as string;
      if (!/^[a-z][a-zA-Z0-9_]*$/.test(id)) throw new AwsError("ValidationError", `Invalid id ${id}`);
      if (ids.has(id)) throw new AwsError("ValidationError", `Duplicate id ${id}`);
      ids.add(id);
    }
    const start = body.StartTime as number;
    const end = body.EndTime as number;
    const all: { id: string; t: number; v: number }[] = [];
    for (const q of queries) {
      const stat = q.MetricStat as { Metric: Obj; Period: number; Stat: string };
      const metric = stat.Metric;
      const s = this.series.find(
        (x) =>
          x.metric === metric.MetricName &&
          dimsMatch(x.dims, (metric.Dimensions as { Name: string; Value: string }[]) ?? []) &&
          (q.AccountId === undefined || x.account === q.AccountId),
      );
      if (!s) continue;
      const points: { t: number; v: number }[] = [];
      for (let t = start; t < end; t += stat.Period) {
        const v = this.data(s, stat.Stat, t);
        if (v !== undefined) points.push({ t, v });
      }
      // ScanBy TimestampDescending: newest first.
      points.sort((a, b) => (body.ScanBy === "TimestampAscending" ? a.t - b.t : b.t - a.t));
      for (const p of points) all.push({ id: q.Id as string, ...p });
    }
    const offset = body.NextToken ? Number(body.NextToken) : 0;
    const page = all.slice(offset, offset + this.dataPageSize);
    const more = offset + this.dataPageSize < all.length;
    const results = new Map<string, { Timestamps: number[]; Values: number[] }>();
    // Every query appears on the first page, even without points, as CloudWatch does.
    if (offset === 0) for (const q of queries) results.set(q.Id as string, { Timestamps: [], Values: [] });
    for (const p of page) {
      const r = results.get(p.id) ?? { Timestamps: [], Values: [] };
      r.Timestamps.push(p.t);
      r.Values.push(p.v);
      results.set(p.id, r);
    }
    return {
      MetricDataResults: [...results].map(([Id, r]) => ({
        Id,
        ...r,
        StatusCode: more ? "PartialData" : "Complete",
      })),
      ...(more ? { NextToken: String(offset + this.dataPageSize) } : {}),
    };
  }
}

/** The series ECS publishes for one discovery name: both families, 1- and 3-dimension sets, every metric. */
export function serviceConnect(
  cluster: string,
  service: string,
  discoveryName: string,
  value = 1,
): FakeSeries[] {
  const out: FakeSeries[] = [];
  for (const m of METRICS) {
    out.push({ metric: m.name, dims: { [m.family]: discoveryName }, value });
    out.push({
      metric: m.name,
      dims: { [m.family]: discoveryName, ServiceName: service, ClusterName: cluster },
      value,
    });
  }
  return out;
}

export function testScope(
  metrics: SelfMetrics = createSelfMetrics({ defaults: false }),
  maxAttempts = 1,
): ExporterScope {
  return { key: "default/us-east-1", region: "us-east-1", clients: testClients(metrics, maxAttempts) };
}
