// Decoding the CloudWatch metric stream JSON output format (samples written from the documented format) and
// turning updates into the poll mode's series: one dimension set, statistics mapping, time order, staleness.
import { describe, expect, it } from "vitest";
import { createSelfMetrics } from "../../core/metrics.js";
import { resolveStatistics } from "../../exporter/catalog.js";
import { decodeRecord, type MetricUpdate } from "../../exporter/stream/decode.js";
import { DeliveryError } from "../../exporter/stream/firehose.js";
import { StreamSeries } from "../../exporter/stream/store.js";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

// Two updates of one record, as a metric stream writes them: one JSON object per line.
const RECORD = [
  '{"metric_stream_name":"sc-stream","account_id":"111122223333","region":"eu-west-1","namespace":"AWS/ECS",' +
    '"metric_name":"TargetResponseTime","dimensions":{"ClusterName":"prod","ServiceName":"orders",' +
    '"TargetDiscoveryName":"orders-http"},"timestamp":1717236000000,"value":{"max":120.5,"min":2.0,"sum":800.0,' +
    '"count":40.0},"unit":"Milliseconds"}',
  '{"metric_stream_name":"sc-stream","account_id":"111122223333","region":"eu-west-1","namespace":"AWS/ECS",' +
    '"metric_name":"TargetResponseTime","dimensions":{"TargetDiscoveryName":"orders-http"},' +
    '"timestamp":1717236000000,"value":{"max":120.5,"min":2.0,"sum":800.0,"count":40.0},"unit":"Milliseconds"}',
  "",
].join("\n");

const NOW = 1717236000000 + 90_000;

function seriesFor(env: { statistics?: Record<string, string[]>; accounts?: string[] } = {}) {
  const metrics = createSelfMetrics({ defaults: false });
  const series = new StreamSeries(metrics.registry, {
    filter: { dimensions: "3", clusters: [], services: [], discoveryNames: [] },
    statistics: resolveStatistics(env.statistics ?? {}),
    stalenessMs: 600_000,
    now: () => clock.now,
    labelledAccounts: new Set(env.accounts ?? []),
  });
  const text = async () => metrics.registry.metrics();
  return { series, text };
}
const clock = { now: NOW };

describe("metric stream JSON decoding", () => {
  it("decodes every line of a record", () => {
    const updates = decodeRecord(b64(RECORD), 0);
    expect(updates).toHaveLength(2);
    expect(updates[0]).toEqual({
      metric_stream_name: "sc-stream",
      account_id: "111122223333",
      region: "eu-west-1",
      namespace: "AWS/ECS",
      metric_name: "TargetResponseTime",
      dimensions: { ClusterName: "prod", ServiceName: "orders", TargetDiscoveryName: "orders-http" },
      timestamp: 1717236000000,
      value: { max: 120.5, min: 2, sum: 800, count: 40 },
      unit: "Milliseconds",
    });
  });

  it("refuses lines that are not updates, and OpenTelemetry records, naming the record and line", () => {
    const bad = (text: string) => {
      try {
        decodeRecord(b64(text), 3);
      } catch (err) {
        return [(err as DeliveryError).status, (err as DeliveryError).message];
      }
      return undefined;
    };
    expect(bad(`${RECORD}{"namespace":"AWS/ECS"}\n`)).toEqual([
      400,
      "records[3] line 3: not a metric stream update: metric_stream_name: Invalid input: expected string, received undefined",
    ]);
    expect(bad("not json\n")?.[0]).toBe(415);
    expect(bad('{"a":1\n')).toEqual([400, "records[3] line 1: not JSON"]);
    expect(decodeRecord(b64("\n"), 0)).toEqual([]);
  });
});

describe("stream updates -> exported series", () => {
  const [three, one] = decodeRecord(b64(RECORD), 0) as [MetricUpdate, MetricUpdate];

  it("keeps the configured dimension set only, with poll mode's names, labels and HELP", async () => {
    clock.now = NOW;
    const { series, text } = seriesFor();
    expect(series.apply(three)).toBeUndefined();
    expect(series.apply(one)).toBe("dimension_set");
    expect(series.apply({ ...three, namespace: "AWS/EC2" })).toBe("namespace");
    expect(series.apply({ ...three, metric_name: "CPUUtilization" })).toBe("metric");
    const out = await text();
    // Default statistics of TargetResponseTime: Average (sum / count) and Maximum.
    expect(out).toContain(
      'aws_ecs_target_response_time_average{cluster_name="prod",service_name="orders",target_discovery_name="orders-http",region="eu-west-1"} 20\n',
    );
    expect(out).toContain(
      'aws_ecs_target_response_time_maximum{cluster_name="prod",service_name="orders",target_discovery_name="orders-http",region="eu-west-1"} 120.5\n',
    );
    expect(out).toContain(
      "# HELP aws_ecs_target_response_time_average CloudWatch AWS/ECS TargetResponseTime (ECS Service Connect, by TargetDiscoveryName), statistic Average over 60s, unit milliseconds;",
    );
    expect(series.size).toBe(2);
  });

  it("maps every statistic and labels account_id only for accounts read through a role", async () => {
    clock.now = NOW;
    const { series, text } = seriesFor({
      statistics: { TargetResponseTime: ["Sum", "SampleCount", "Minimum"] },
      accounts: ["111122223333"],
    });
    series.apply(three);
    const out = await text();
    const labels =
      '{cluster_name="prod",service_name="orders",target_discovery_name="orders-http",region="eu-west-1",account_id="111122223333"}';
    expect(out).toContain(`aws_ecs_target_response_time_sum${labels} 800\n`);
    expect(out).toContain(`aws_ecs_target_response_time_sample_count${labels} 40\n`);
    expect(out).toContain(`aws_ecs_target_response_time_minimum${labels} 2\n`);
    expect(out).not.toContain("aws_ecs_target_response_time_average");
  });

  it("never moves a value back in time, refuses stale and future updates, and drops series gone stale", async () => {
    clock.now = NOW;
    const { series, text } = seriesFor({ statistics: { TargetResponseTime: ["Maximum"] } });
    const at = (minutes: number, max: number): MetricUpdate => ({
      ...three,
      timestamp: three.timestamp + minutes * 60_000,
      value: { ...three.value, max },
    });
    expect(series.apply(at(1, 50))).toBeUndefined();
    expect(series.apply(at(0, 99))).toBe("out_of_order");
    expect(series.apply(at(1, 50))).toBeUndefined(); // a duplicate keeps the same point
    expect(series.apply(at(-11, 1))).toBe("stale");
    expect(series.apply(at(10, 1))).toBe("future");
    expect(series.apply({ ...at(2, 1), value: { ...three.value, max: 1, count: 0 } })).toBeUndefined();
    expect(await text()).toMatch(/aws_ecs_target_response_time_maximum\{[^}]+\} 1\n/);
    clock.now = three.timestamp + 2 * 60_000 + 600_001;
    expect(series.expire()).toBe(1);
    expect(await text()).not.toContain("aws_ecs_target_response_time_maximum{");
    const { series: avg } = seriesFor({ statistics: { TargetResponseTime: ["Average"] } });
    clock.now = NOW;
    expect(avg.apply({ ...three, value: { ...three.value, count: 0 } })).toBe("no_samples");
  });
});
