// Benchmark: event-driven ECS discovery (ecs.events) against polling, on the simulated AWS endpoint with its
// EventBridge delivery: 10,000 tasks in 5 clusters. Measured: the time from a task starting (and stopping)
// in the simulator to the published snapshot (what /sd serves) reflecting it, with events; the ECS calls a
// task replacement costs with events, and a full walk costs (the reconcile, and each polling refresh); the
// reconcile's repairs after duplicated, reordered and 10%-lost events. Polling's start-to-/sd time is the
// wait for the next refresh (uniform over the interval) plus the measured refresh duration. Figures are
// printed, never asserted.
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import type { SelfMetrics } from "../core/metrics.js";
import { EcsSource } from "../sd/ecs/source.js";
import { fargateApiScenario, startSimAws, type SimAws } from "../sim/index.js";
import { benchEventDiscovery } from "./bridge.js";

export interface EventsFigures {
  tasks: number;
  clusters: number;
  samples: number;
  /** Start (stop) in the simulator to the snapshot showing (dropping) the task, ms. */
  eventsStartMs: { p50: number; p99: number };
  eventsStopMs: { p50: number; p99: number };
  /** Polling every `pollSeconds`: next-refresh wait plus one measured steady refresh. */
  pollSeconds: number;
  pollRefreshMs: number;
  pollStartMs: { p50: number; p99: number };
  /** ECS calls: one steady polling refresh, one reconcile walk, one replacement (start + stop) with events. */
  pollRefreshCalls: number;
  reconcileCalls: number;
  replacementCalls: number;
  reconcileSeconds: number;
  replacedPerHour: number;
  pollCallsPerHour: number;
  eventsCallsPerHour: number;
  /** Replacements with faulty delivery, and what the reconcile then repaired. */
  faulty: { replacements: number; lost: string; repairs: number; correctAfter: boolean };
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ecsCalls = (sim: SimAws) =>
  Object.entries(sim.callCounts())
    .filter(([k]) => k.startsWith("ecs:"))
    .reduce((n, [, v]) => n + v, 0);

export async function benchEvents(
  opts: { tasks?: number; clusters?: number; samples?: number } = {},
): Promise<EventsFigures> {
  const tasks = opts.tasks ?? 10_000;
  const clusters = opts.clusters ?? 5;
  const samples = opts.samples ?? 100;
  const pollSeconds = 30;
  const replacedPerHour = tasks * 0.05;
  const names = Array.from({ length: clusters }, (_, c) => `c${c}`);
  const perCluster = Object.fromEntries(names.map((n) => [n, tasks / clusters]));
  const sim = await startSimAws({ scenario: fargateApiScenario({ tasks: "127.2.0.1" }, perCluster) });
  const q = sim.createQueue("bench-events");
  sim.subscribeTaskEvents(q.name);
  const { discovery, deps, metrics, reconcileNext, close } = await benchEventDiscovery(sim.url, names, q.url);
  const { config } = deps;
  const has = (ip: string | undefined) => {
    const address = `${ip}:9100`;
    return discovery.snapshot().targets.some((t) => t.group.targets[0] === address);
  };
  const until = async (check: () => boolean): Promise<number> => {
    const start = performance.now();
    while (!check()) {
      if (performance.now() - start > 30_000) throw new Error("the snapshot did not follow within 30 s");
      await sleep(2);
    }
    return performance.now() - start;
  };
  try {
    await discovery.refreshOnce(); // the cold reconcile; then events are followed
    if (discovery.snapshot().targets.length !== tasks) throw new Error("cold reconcile incomplete");

    // Events: start-to-snapshot and stop-to-snapshot, one task at a time.
    sim.resetCalls();
    const startMs: number[] = [];
    const stopMs: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t = sim.startTask(names[i % clusters]!, { taskDefinition: "api" });
      startMs.push(await until(() => has(t.ip)));
      sim.stopTask(names[i % clusters]!, t.id);
      stopMs.push(await until(() => !has(t.ip)));
    }
    const replacementCalls = ecsCalls(sim) / samples;

    // The reconcile (a full walk, its share of the known tasks re-described) and a steady polling refresh.
    sim.resetCalls();
    reconcileNext();
    await discovery.refreshOnce();
    const reconcileCalls = ecsCalls(sim);
    const poller = new EcsSource(deps);
    await poller.refresh();
    sim.resetCalls();
    const t0 = performance.now();
    await poller.refresh();
    const pollRefreshMs = performance.now() - t0;
    const pollRefreshCalls = ecsCalls(sim);

    // Faulty delivery: duplicates, reordering, 10% loss; then the reconcile repairs what was lost.
    sim.setEventDelivery({ duplicateRate: 0.1, reorderRate: 0.2, reorderMs: 500, lossRate: 0.1 });
    const replacements = 200;
    for (let i = 0; i < replacements; i++) {
      const cluster = names[i % clusters]!;
      const [old] = sim.tasks({ cluster, lastStatus: "RUNNING" });
      sim.startTask(cluster, { taskDefinition: "api" });
      sim.stopTask(cluster, old!.id);
      await sleep(5);
    }
    await sleep(1000); // held-back copies arrive
    await until(() => {
      const d = sim.queueDepth(q.name);
      return d.visible + d.inFlight === 0;
    });
    await sleep(500);
    const repairsBefore = await counterSum(metrics.registry, "ecs_bridge_ecs_reconcile_repairs_total");
    reconcileNext();
    await discovery.refreshOnce();
    const repairs =
      (await counterSum(metrics.registry, "ecs_bridge_ecs_reconcile_repairs_total")) - repairsBefore;
    const running = new Set(sim.tasks({ lastStatus: "RUNNING" }).map((t) => `${t.ip}:9100`));
    const served = discovery.snapshot().targets.map((t) => t.group.targets[0]!);
    const correctAfter = served.length === running.size && served.every((a) => running.has(a));

    const hour = 3600;
    return {
      tasks,
      clusters,
      samples,
      eventsStartMs: { p50: percentile(startMs, 50), p99: percentile(startMs, 99) },
      eventsStopMs: { p50: percentile(stopMs, 50), p99: percentile(stopMs, 99) },
      pollSeconds,
      pollRefreshMs,
      // A task starts at a uniformly random moment of the interval and waits for the next refresh to end.
      pollStartMs: {
        p50: 0.5 * pollSeconds * 1000 + pollRefreshMs,
        p99: 0.99 * pollSeconds * 1000 + pollRefreshMs,
      },
      pollRefreshCalls,
      reconcileCalls,
      replacementCalls,
      reconcileSeconds: config.ecs.events.reconcileIntervalSeconds,
      replacedPerHour,
      pollCallsPerHour: (hour / pollSeconds) * pollRefreshCalls,
      // Each reconcile, like each polling refresh, re-describes its share of the known tasks (measured).
      eventsCallsPerHour:
        (hour / config.ecs.events.reconcileIntervalSeconds) * reconcileCalls +
        replacedPerHour * replacementCalls,
      faulty: { replacements, lost: "10%", repairs, correctAfter },
    };
  } finally {
    await close();
    await sim.close();
  }
}

async function counterSum(registry: SelfMetrics["registry"], name: string) {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).reduce((n, v) => n + v.value, 0);
}

export function formatEventsFigures(f: EventsFigures): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  return [
    `ECS events vs polling, ${n(f.tasks)} tasks in ${f.clusters} clusters (${f.samples} starts and stops):`,
    `  start -> /sd: events p50 ${s(f.eventsStartMs.p50)}, p99 ${s(f.eventsStartMs.p99)}; polling every ${f.pollSeconds} s p50 ${s(f.pollStartMs.p50)}, p99 ${s(f.pollStartMs.p99)} (refresh ${s(f.pollRefreshMs)})`,
    `  stop  -> /sd: events p50 ${s(f.eventsStopMs.p50)}, p99 ${s(f.eventsStopMs.p99)}; polling as start`,
    `  ECS calls: polling refresh ${n(f.pollRefreshCalls)}, reconcile walk ${n(f.reconcileCalls)}, one replacement with events ${f.replacementCalls.toFixed(2)}`,
    `  ECS calls per hour at ${n(f.replacedPerHour)} replacements/h (5%): polling every ${f.pollSeconds} s ${n(f.pollCallsPerHour)}, events with a ${f.reconcileSeconds} s reconcile ${n(f.eventsCallsPerHour)} (${(f.pollCallsPerHour / f.eventsCallsPerHour).toFixed(1)}x fewer)`,
    `  ${f.faulty.replacements} replacements with 10% duplicates, 20% reordered, ${f.faulty.lost} lost: reconcile repairs ${f.faulty.repairs}, targets correct after it: ${f.faulty.correctAfter}`,
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const tasks = Number(process.argv[2] ?? 10_000);
  process.stdout.write(formatEventsFigures(await benchEvents({ tasks })) + "\n");
}
