// The bench's standard estate: 5 clusters, 200 services each with its own task definition, 40 of them
// EC2 bridge-mode with dynamic host ports (the rest awsvpc on Fargate), tasks spread evenly; every call
// answered after 20 ms, AWS's documented token buckets on.
import type { Scenario } from "../../sim/index.js";

export const ESTATE = {
  clusters: 5,
  services: 200,
  bridgeServices: 40,
  latencyMs: 20,
} as const;

export const clusterName = (i: number): string => `prod-${i}`;

/** Tasks per service: `tasks` spread over the services, the remainder on the first ones. */
function desired(tasks: number, service: number): number {
  const base = Math.floor(tasks / ESTATE.services);
  return base + (service < tasks % ESTATE.services ? 1 : 0);
}

export function estateScenario(tasks: number): Scenario {
  const perCluster = ESTATE.services / ESTATE.clusters;
  const bridgeEvery = ESTATE.services / ESTATE.bridgeServices; // every 5th service is bridge-mode
  const isBridge = (s: number) => s % bridgeEvery === 0;
  const bridgeTasksPerCluster = Math.ceil(
    (tasks * ESTATE.bridgeServices) / ESTATE.services / ESTATE.clusters,
  );
  // About 50 bridge tasks per EC2 host (each takes one dynamic host port).
  const hosts = Math.max(2, Math.ceil(bridgeTasksPerCluster / 50));
  return {
    accountId: "123456789012",
    region: "us-east-1",
    throttling: "aws",
    ipPool: { tasks: "127.16.0.1" },
    taskDefinitions: Array.from({ length: ESTATE.services }, (_, s) => ({
      family: `svc-${s}`,
      networkMode: isBridge(s) ? ("bridge" as const) : ("awsvpc" as const),
      containerDefinitions: [
        {
          name: "app",
          dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9100", team: `team-${s % 7}` },
          portMappings: [{ containerPort: 9100, name: "metrics", ...(isBridge(s) ? { hostPort: 0 } : {}) }],
        },
        { name: "envoy", portMappings: [{ containerPort: 9901, name: "admin" }] },
      ],
    })),
    clusters: Array.from({ length: ESTATE.clusters }, (_, c) => ({
      name: clusterName(c),
      containerInstances: hosts,
      services: Array.from({ length: perCluster }, (_, k) => {
        const s = c * perCluster + k;
        return { name: `svc-${s}`, taskDefinition: `svc-${s}`, desiredCount: desired(tasks, s) };
      }),
    })),
  };
}
