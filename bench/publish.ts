// Benchmark: the event loop while targets are published and /sd is rendered, at 30,000 targets (5 units
// of 6,000, as 5 clusters). A source that answers at once drives Discovery, so a refresh is only its
// publication: the longest event-loop block (monitorEventLoopDelay) and the wall time of each step.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { silentLogger } from "../core/log.js";
import { createSelfMetrics } from "../core/metrics.js";
import { renderSdBody } from "../sd/httpsd.js";
import { mergeTargets } from "../sd/merge.js";
import { compareTargets, type DiscoveredTarget } from "../sd/model.js";
import { Discovery, type Source, type SourceRefresh } from "../sd/refresh.js";

const UNITS = 5;

/** A target as the ECS source labels one (awsvpc task, one metrics port). */
function target(unit: number, i: number, generation = 0): DiscoveredTarget {
  const cluster = `cluster-${unit}`;
  const service = `svc-${i % 40}`;
  const n = unit * 1_000_000 + i + generation * 100_000;
  const taskId = n.toString(16).padStart(32, "0");
  return {
    source: "ecs",
    cluster,
    service,
    group: {
      targets: [`10.${unit}.${(i >> 8) & 255}.${i & 255}:9100`],
      labels: {
        __meta_ecs_availability_zone: `us-east-1${"abc"[i % 3]}`,
        __meta_ecs_cluster: cluster,
        __meta_ecs_container_name: "app",
        __meta_ecs_container_port: "9100",
        __meta_ecs_launch_type: "FARGATE",
        __meta_ecs_network_mode: "awsvpc",
        __meta_ecs_service: service,
        __meta_ecs_task_arn: `arn:aws:ecs:us-east-1:123456789012:task/${cluster}/${taskId}`,
        __meta_ecs_task_definition_family: service,
        __meta_ecs_task_definition_revision: "3",
        __meta_ecs_task_id: taskId,
        __meta_ecs_task_health_status: "HEALTHY",
        __meta_ecs_tag_task_team: "platform",
        job: service,
      },
    },
  };
}

/** Unit arrays in a different order each refresh (ListTasks promises none), same objects unless churned. */
class FakeSource implements Source {
  readonly name = "ecs" as const;
  units: DiscoveredTarget[][];
  constructor(perUnit: number) {
    this.units = Array.from({ length: UNITS }, (_, u) =>
      Array.from({ length: perUnit }, (_, i) => target(u, i)),
    );
  }
  /** Replaces every 20th target of each unit with a new task at the same address. */
  churn(generation: number): void {
    this.units = this.units.map((list, u) =>
      list.map((t, i) => (i % 20 === generation % 20 ? target(u, i, generation) : t)),
    );
  }
  async refresh(): Promise<SourceRefresh> {
    return {
      failedScopes: [],
      units: this.units.map((list, u) => ({ unit: `cluster-${u}`, ok: true, targets: [...list].reverse() })),
    };
  }
}

export interface PublishFigures {
  step: string;
  ms: number;
  longestBlockMs: number;
}

async function measure(step: string, run: () => Promise<unknown> | unknown): Promise<PublishFigures> {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // The monitor's first tick only starts its clock; a block before it would go unseen.
  await new Promise((r) => setTimeout(r, 5));
  const t = performance.now();
  await run();
  const ms = performance.now() - t;
  // Let the monitor's timer see the last block.
  await new Promise((r) => setTimeout(r, 5));
  delay.disable();
  return { step, ms, longestBlockMs: delay.max / 1e6 };
}

export async function benchPublish(n = 30_000): Promise<PublishFigures[]> {
  const source = new FakeSource(Math.ceil(n / UNITS));
  const discovery = new Discovery({
    sources: [source],
    metrics: createSelfMetrics(),
    logger: silentLogger,
    intervalSeconds: 60,
  });
  const out: PublishFigures[] = [];
  const all = source.units.flat();
  // The pieces a whole-list publication does, on their own, for comparison.
  out.push(await measure("whole list: sort", () => [...all].reverse().sort(compareTargets)));
  out.push(await measure("whole list: cross-source merge", () => mergeTargets(all)));
  out.push(await measure("refresh + publish: first", () => discovery.refreshOnce()));
  out.push(await measure("refresh + publish: nothing changed", () => discovery.refreshOnce()));
  source.churn(1);
  out.push(await measure("refresh + publish: 5% of tasks replaced", () => discovery.refreshOnce()));
  const { targets } = discovery.snapshot();
  out.push(await measure("/sd render (sliced JSON, hash, async gzip)", () => renderSdBody(targets)));
  out.push(
    await measure("/sd render, filtered to one cluster", () =>
      renderSdBody(targets, { cluster: new Set(["cluster-0"]) }),
    ),
  );
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const n = Number(process.argv[2] ?? 30_000);
  process.stdout.write(`publication and /sd render at ${n} targets (${UNITS} units)\n`);
  for (const f of await benchPublish(n))
    process.stdout.write(
      `  ${f.step}: ${f.ms.toFixed(1)} ms, longest event-loop block ${f.longestBlockMs.toFixed(1)} ms\n`,
    );
}
