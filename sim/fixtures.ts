// Scenarios built in code that tests and benchmarks share (sim/scenarios/ holds the file-based ones).
import type { Scenario } from "./types.js";

/**
 * One Fargate task definition "api" whose container "app" opts in on port 9100, run as service "api"
 * with the given number of tasks in each named cluster.
 */
export function fargateApiScenario(ipPool: Scenario["ipPool"], clusters: Record<string, number>): Scenario {
  return {
    ipPool,
    taskDefinitions: [
      {
        family: "api",
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        containerDefinitions: [
          {
            name: "app",
            dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9100" },
            portMappings: [{ containerPort: 9100 }],
          },
        ],
      },
    ],
    clusters: Object.entries(clusters).map(([name, desiredCount]) => ({
      name,
      services: [{ name: "api", taskDefinition: "api", desiredCount }],
    })),
  };
}
