// Benchmark: the HTML status page at scale. Renders the page for a synthetic estate (default 10,000
// targets in 500 services over 5 clusters, plus one skipped sidecar per 5 tasks) and prints its size and
// render time, unfiltered and filtered by one service. `node dist/bench/status-page.js [targets]`.
import { pathToFileURL } from "node:url";
import type { DiscoveredTarget } from "../sd/model.js";
import type { Snapshot, UnitStatus } from "../sd/refresh.js";
import type { SkipRecord, UnitSkips } from "../sd/skips.js";
import type { SourceReport } from "../sd/report.js";
import { renderStatusPage, StatusPageCache, type StatusView } from "../sd/status-page.js";

const CLUSTERS = 5;
const unitOf = (c: number) => `default/us-east-1/cluster-${c}`;
const arnOf = (c: number, i: number) =>
  `arn:aws:ecs:us-east-1:123456789012:task/cluster-${c}/${i.toString(16).padStart(32, "0")}`;

/** A Discovery stand-in with `n` targets and n/5 skip records, labelled as the ECS source labels them. */
export function syntheticStatus(n: number, services = Math.max(1, Math.round(n / 20))): StatusView {
  const byUnit = new Map<string, DiscoveredTarget[]>();
  const skips = new Map<string, UnitSkips>();
  for (let c = 0; c < CLUSTERS; c++) {
    byUnit.set(`ecs:${unitOf(c)}`, []);
    skips.set(unitOf(c), { records: [], dropped: 0, byReason: {} });
  }
  for (let i = 0; i < n; i++) {
    const c = i % CLUSTERS;
    const service = `svc-${i % services}`;
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    byUnit.get(`ecs:${unitOf(c)}`)!.push({
      source: "ecs",
      cluster: `cluster-${c}`,
      service,
      group: {
        targets: [`${ip}:9100`],
        labels: {
          __meta_ecs_cluster: `cluster-${c}`,
          __meta_ecs_service: service,
          __meta_ecs_task_arn: arnOf(c, i),
          __meta_ecs_container_name: "app",
          __meta_ecs_ip_address: ip,
          __metrics_path__: "/metrics",
          job: service,
        },
      },
    });
    if (i % 5 === 0) {
      const u = skips.get(unitOf(c))!;
      const record: SkipRecord = {
        task: arnOf(c, i),
        service,
        container: "envoy",
        reason: "no_opt_in",
        detail: "not opted in: no PROMETHEUS_EXPORTER_PORT docker label",
      };
      u.records.push(record);
      u.byReason.no_opt_in = (u.byReason.no_opt_in ?? 0) + 1;
    }
  }
  const all = [...byUnit.values()].flat();
  const snap: Snapshot = { targets: all, version: 1, ready: true };
  const units: UnitStatus[] = [...byUnit].map(([key, ts]) => ({
    source: "ecs",
    unit: key.slice("ecs:".length),
    ok: true,
    targets: ts.length,
    lastSuccess: "2026-01-01T00:00:00.000Z",
    stale: false,
  }));
  // One report object, as Discovery keeps one per source until its next refresh.
  const report: SourceReport = {
    source: "ecs",
    at: "2026-01-01T00:00:00.000Z",
    durationMs: 1234,
    unitsOk: CLUSTERS,
    unitsFailed: 0,
    targets: n,
    added: 0,
    removed: 0,
    skipped: { no_opt_in: Math.ceil(n / 5) },
    calls: { ListTasks: CLUSTERS, DescribeTasks: Math.ceil(n / 100) },
  };
  return {
    snapshot: () => snap,
    status: () => units,
    skips: () => skips,
    unitTargets: () => byUnit,
    report: () => report,
  };
}

/**
 * Median time (ms) and size (bytes) of the page over `runs` requests: each one rendered, or (with `cache`)
 * served as the server serves it, so every request after the first is a repeated one.
 */
export function measure(
  view: StatusView,
  q?: string,
  runs = 15,
  cache?: StatusPageCache,
): { bytes: number; ms: number } {
  let bytes = 0;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const html = cache ? cache.get(view, q) : renderStatusPage(view, q ? { q } : {});
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
    bytes = Buffer.byteLength(html);
  }
  times.sort((a, b) => a - b);
  return { bytes, ms: times[Math.floor(times.length / 2)]! };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const n = Number(process.argv[2] ?? 10_000);
  const view = syntheticStatus(n);
  const cache = new StatusPageCache();
  for (const [what, q] of [
    ["whole page", undefined],
    ["?q=svc-7 (one service)", "svc-7"],
    ["?q=10. (matches every target)", "10."],
  ] as const) {
    const { bytes, ms } = measure(view, q);
    const repeated = measure(view, q, 15, cache);
    process.stdout.write(
      `status page, ${n} targets, ${what}: ${(bytes / 1024).toFixed(0)} KiB, median render ${ms.toFixed(1)} ms, ` +
        `repeated request (cached) ${repeated.ms.toFixed(3)} ms\n`,
    );
  }
}
