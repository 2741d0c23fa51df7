// Benchmark: AWS calls and time per refresh for one cluster of N tasks, cold and in steady state,
// against the simulated AWS endpoint (with the ECS token bucket on, as AWS enforces it).
import { pathToFileURL } from "node:url";
import { ECS_THROTTLING, startSimAws, type Scenario } from "../sim/index.js";
import { benchBridge } from "./bridge.js";

export interface EcsRefreshFigures {
  tasks: number;
  targets: number;
  cold: { calls: Record<string, number>; ms: number };
  steady: { calls: Record<string, number>; ms: number };
  /** One refresh after 5% of the tasks were replaced (a rolling deployment step). */
  churn: { calls: Record<string, number>; ms: number };
}

function scenario(tasks: number): Scenario {
  // 10 services sharing the load, two task definition revisions, all opted in by label; IPs on loopback.
  const services = 10;
  return {
    accountId: "123456789012",
    region: "us-east-1",
    ipPool: { tasks: "127.1.0.1" },
    taskDefinitions: Array.from({ length: services }, (_, i) => ({
      family: `svc-${i}`,
      networkMode: "awsvpc" as const,
      containerDefinitions: [
        {
          name: "app",
          dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9100" },
          portMappings: [{ containerPort: 9100, name: "metrics" }],
        },
      ],
    })),
    clusters: [
      {
        name: "big",
        services: Array.from({ length: services }, (_, i) => ({
          name: `svc-${i}`,
          taskDefinition: `svc-${i}`,
          desiredCount: tasks / services,
        })),
      },
    ],
  };
}

export async function benchEcsRefresh(tasks = 1000): Promise<EcsRefreshFigures> {
  const sim = await startSimAws({ scenario: scenario(tasks) });
  sim.setThrottling(ECS_THROTTLING);
  const bridge = await benchBridge(sim.url, ["big"], { defaultMetrics: false });
  const measure = async () => {
    sim.resetCalls();
    const t0 = performance.now();
    await bridge.discovery.refreshOnce();
    return { calls: sim.callCounts(), ms: performance.now() - t0 };
  };
  try {
    const cold = await measure();
    const steady = await measure();
    const perService = tasks / 10;
    for (let i = 0; i < 10; i++) {
      const victims = sim
        .tasks({ cluster: "big", service: `svc-${i}` })
        .slice(0, Math.ceil(perService * 0.05));
      for (const v of victims) sim.stopTask("big", v.arn);
      sim.scaleService("big", `svc-${i}`, perService);
    }
    const churn = await measure();
    return { tasks, targets: bridge.discovery.snapshot().targets.length, cold, steady, churn };
  } finally {
    await bridge.close();
    await sim.close();
  }
}

export function formatEcsFigures(f: EcsRefreshFigures): string {
  const fmt = (c: Record<string, number>) =>
    Object.entries(c)
      .map(([k, v]) => `${k.replace(/^ecs:/, "")}=${v}`)
      .join(" ");
  return [
    `ECS, one cluster of ${f.tasks} tasks (${f.targets} targets), ECS token bucket on:`,
    `  cold refresh:   ${fmt(f.cold.calls)}  (${f.cold.ms.toFixed(0)} ms)`,
    `  steady refresh: ${fmt(f.steady.calls)}  (${f.steady.ms.toFixed(0)} ms)`,
    `  5% replaced:    ${fmt(f.churn.calls)}  (${f.churn.ms.toFixed(0)} ms)`,
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const tasks = Number(process.argv[2] ?? 1000);
  process.stdout.write(formatEcsFigures(await benchEcsRefresh(tasks)) + "\n");
}
