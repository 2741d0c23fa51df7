// The one CloudWatch fake of the exporter tests: an in-memory account that implements the exporter's narrow
// API (exporter/api.ts) in-process and, for the tests of the SDK path, serves the same pages over the wire
// (AWS JSON 1.0 via nock). It rejects what AWS rejects (more than 500 queries, bad or duplicate ids, an empty
// window, OwningAccounts without IncludeLinkedAccounts) so a regression fails like it would against AWS.
import {
  CloudWatchServiceException,
  type GetMetricDataInput,
  type GetMetricDataOutput,
  type ListMetricsInput,
  type ListMetricsOutput,
} from "@aws-sdk/client-cloudwatch";
import { AwsError, mockJson, testClients, type Mock } from "../helpers/aws-nock.js";
import { createSelfMetrics, type SelfMetrics } from "../../core/metrics.js";
import type { CloudWatchApi, ExporterScope } from "../../exporter/api.js";
import { METRICS, NAMESPACE } from "../../exporter/catalog.js";

export interface FakeSeries {
  metric: string;
  dims: Record<string, string>;
  /** Base value; stats add STAT_OFFSET so each (series, stat) pair is recognisable in the output. */
  value?: number;
  /** Owning account; unset means the account the fake answers for. */
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

type Operation = "ListMetrics" | "GetMetricData";

function dimsMatch(a: Record<string, string>, b: readonly { Name?: string; Value?: string }[]): boolean {
  return Object.keys(a).length === b.length && b.every((d) => a[d.Name ?? ""] === d.Value);
}

const seconds = (d: Date | undefined): number => (d ? d.getTime() / 1000 : NaN);

export class FakeCloudWatch {
  series: FakeSeries[] = [];
  data: DataFn = constantData;
  listPageSize = 500;
  /** Datapoints per GetMetricData page (CloudWatch pages by datapoints). */
  dataPageSize = 100_800;
  /** Set to the account id to answer as a cross-account monitoring account. */
  monitoringAccount: string | undefined;
  /** Set to answer every query with this status and no points (CloudWatch's per-query InternalError). */
  queryStatus: "InternalError" | "Forbidden" | undefined;
  /** Errors thrown by the next calls of an operation, in order. */
  failures: Partial<Record<Operation, AwsError[]>> = {};
  /** The input of every request (one per page), in order. */
  readonly inputs: { ListMetrics: ListMetricsInput[]; GetMetricData: GetMetricDataInput[] } = {
    ListMetrics: [],
    GetMetricData: [],
  };

  calls(op: Operation): number {
    return this.inputs[op].length;
  }

  /**
   * The narrow API, every page followed as the SDK paginators do. A plain object of the two methods, as
   * limited() wraps an object's own functions.
   */
  readonly api: CloudWatchApi = {
    listMetrics: (input, onPage) => this.walk(input, (i) => this.listMetricsPage(i), onPage),
    getMetricData: (input, onPage) => this.walk(input, (i) => this.getMetricDataPage(i), onPage),
  };

  private async walk<I extends { NextToken?: string }, O extends { NextToken?: string }>(
    input: I,
    request: (input: I) => O,
    onPage: (page: O) => void,
  ): Promise<void> {
    let token: string | undefined;
    do {
      let page: O;
      try {
        page = request(token ? { ...input, NextToken: token } : { ...input });
      } catch (err) {
        if (!(err instanceof AwsError)) throw err;
        // What the SDK throws for an error reply.
        throw new CloudWatchServiceException({
          name: err.code,
          $fault: err.status >= 500 ? "server" : "client",
          message: err.message,
          $metadata: { httpStatusCode: err.status },
        });
      }
      onPage(page);
      token = page.NextToken;
    } while (token);
  }

  /** Serves the same account over the wire, for tests of the SDK client path (exporter/api.ts). */
  serve(): Mock {
    return mockJson(
      {
        ListMetrics: (body) => this.listMetricsPage(body as ListMetricsInput),
        GetMetricData: (body) => {
          // On the wire timestamps are epoch seconds.
          const input = {
            ...body,
            StartTime: new Date((body.StartTime as number) * 1000),
            EndTime: new Date((body.EndTime as number) * 1000),
          } as GetMetricDataInput;
          const page = this.getMetricDataPage(input);
          return {
            ...page,
            MetricDataResults: page.MetricDataResults?.map((r) => ({
              ...r,
              Timestamps: r.Timestamps?.map(seconds),
            })),
          };
        },
      },
      "application/x-amz-json-1.0",
    );
  }

  private request(op: Operation): void {
    const err = this.failures[op]?.shift();
    if (err) throw err;
  }

  private ownedBy(s: FakeSeries): string | undefined {
    return s.account ?? this.monitoringAccount;
  }

  private listMetricsPage(input: ListMetricsInput): ListMetricsOutput {
    this.inputs.ListMetrics.push(input);
    this.request("ListMetrics");
    if (input.RecentlyActive !== undefined && input.RecentlyActive !== "PT3H")
      throw new AwsError("InvalidParameterValue", `RecentlyActive ${input.RecentlyActive} is not PT3H`);
    const filters = input.Dimensions ?? [];
    if (filters.length > 10) throw new AwsError("InvalidParameterValue", "more than 10 dimension filters");
    // A monitoring account lists its source accounts' series, with their owners, only when asked to.
    const linked = this.monitoringAccount !== undefined && input.IncludeLinkedAccounts === true;
    const matching = this.series.filter(
      (s) =>
        (linked || this.ownedBy(s) === this.monitoringAccount) &&
        (input.Namespace === undefined || input.Namespace === NAMESPACE) &&
        (input.MetricName === undefined || input.MetricName === s.metric) &&
        filters.every((f) => f.Name! in s.dims && (f.Value === undefined || s.dims[f.Name!] === f.Value)),
    );
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const page = matching.slice(start, start + this.listPageSize);
    const next = start + this.listPageSize < matching.length ? String(start + this.listPageSize) : undefined;
    return {
      Metrics: page.map((s) => ({
        Namespace: NAMESPACE,
        MetricName: s.metric,
        Dimensions: Object.entries(s.dims).map(([Name, Value]) => ({ Name, Value })),
      })),
      ...(linked ? { OwningAccounts: page.map((s) => this.ownedBy(s)!) } : {}),
      ...(next ? { NextToken: next } : {}),
    };
  }

  private getMetricDataPage(input: GetMetricDataInput): GetMetricDataOutput {
    this.inputs.GetMetricData.push(input);
    this.request("GetMetricData");
    const queries = input.MetricDataQueries ?? [];
    if (queries.length > 500)
      throw new AwsError(
        "ValidationError",
        "The collection MetricDataQueries must not have a size greater than 500.",
      );
    const start = seconds(input.StartTime);
    const end = seconds(input.EndTime);
    if (!(start < end))
      throw new AwsError(
        "ValidationError",
        "The parameter StartTime must be less than the parameter EndTime.",
      );
    const ids = new Set<string>();
    for (const q of queries) {
      const id = q.Id ?? "";
      if (!/^[a-z][a-zA-Z0-9_]*$/.test(id)) throw new AwsError("ValidationError", `Invalid id ${id}`);
      if (ids.has(id)) throw new AwsError("ValidationError", `Duplicate id ${id}`);
      ids.add(id);
      const period = q.MetricStat?.Period ?? 0;
      if (period < 60 || period % 60 !== 0)
        throw new AwsError("ValidationError", `Period ${period} of ${id} is not a multiple of 60`);
    }
    const all: { id: string; t: number; v: number }[] = [];
    for (const q of this.queryStatus ? [] : queries) {
      const stat = q.MetricStat!;
      const metric = stat.Metric!;
      // Without AccountId a query reads the account that asks.
      const account = q.AccountId ?? this.monitoringAccount;
      const s = this.series.find(
        (x) =>
          x.metric === metric.MetricName &&
          dimsMatch(x.dims, metric.Dimensions ?? []) &&
          this.ownedBy(x) === account,
      );
      if (!s) continue;
      const points: { t: number; v: number }[] = [];
      for (let t = start; t < end; t += stat.Period!) {
        const v = this.data(s, stat.Stat!, t);
        if (v !== undefined) points.push({ t, v });
      }
      points.sort((a, b) => (input.ScanBy === "TimestampAscending" ? a.t - b.t : b.t - a.t));
      for (const p of points) all.push({ id: q.Id!, ...p });
    }
    const offset = input.NextToken ? Number(input.NextToken) : 0;
    const page = all.slice(offset, offset + this.dataPageSize);
    const more = offset + this.dataPageSize < all.length;
    const results = new Map<string, { Timestamps: Date[]; Values: number[] }>();
    // Every query appears on the first page, even without points, as CloudWatch does.
    if (offset === 0) for (const q of queries) results.set(q.Id!, { Timestamps: [], Values: [] });
    for (const p of page) {
      const r = results.get(p.id) ?? { Timestamps: [], Values: [] };
      r.Timestamps.push(new Date(p.t * 1000));
      r.Values.push(p.v);
      results.set(p.id, r);
    }
    return {
      MetricDataResults: [...results].map(([Id, r]) => ({
        Id,
        ...r,
        StatusCode: this.queryStatus ?? (more ? "PartialData" : "Complete"),
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

/** A scope with real SDK clients aimed at the nock endpoint (used with FakeCloudWatch.serve()). */
export function testScope(
  metrics: SelfMetrics = createSelfMetrics({ defaults: false }),
  maxAttempts = 1,
): ExporterScope {
  return { key: "default/us-east-1", region: "us-east-1", clients: testClients(metrics, maxAttempts) };
}
