// What the ECS source caches per task and task definition: the projection drops what targets do not
// read, and targets built from it are the ones built from the full description.
import type { Task, TaskDefinition } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { slimTask, slimTaskDefinition, StringTable } from "../../sd/ecs/slim.js";
import { buildTaskTargets, type OptInOptions, type TaskFacts } from "../../sd/ecs/targets.js";
import {
  CLUSTER,
  CLUSTER_ARN,
  ciArn,
  ec2Task,
  fargateTask,
  taskDefinition,
  tdArn,
} from "../helpers/ecs-fixtures.js";

const OPTS: OptInOptions = {
  optIn: ["labels", "port-name"],
  labelPrefix: "PROMETHEUS_EXPORTER_",
  portName: "metrics",
};
const LABELS = { PROMETHEUS_EXPORTER_PORT: "9100", PROMETHEUS_EXPORTER_PATH: "/m", team: "core" };
const FACTS: TaskFacts = {
  cluster: { arn: CLUSTER_ARN, name: CLUSTER, tags: { env: "prod" } },
  service: {
    name: "api",
    arn: `arn:aws:ecs:us-east-1:123456789012:service/${CLUSTER}/api`,
    tags: {},
    taskDefinitions: [],
  },
  ec2InstanceId: "i-01",
  instance: { instanceId: "i-01", privateIp: "10.0.3.1", subnetId: "subnet-0host", tags: { Name: "h" } },
  eniPublicIp: "54.0.0.9",
};
const big = "x".repeat(100_000);

/** What DescribeTasks returns beside the fields targets read. */
function withUnrelated(task: Task): Task {
  return {
    ...task,
    overrides: { containerOverrides: [{ name: "app", environment: [{ name: "BIG", value: big }] }] },
    attributes: [{ name: "ecs.capability.big", value: big }],
    attachments: [
      ...(task.attachments ?? []),
      { type: "ServiceConnect", details: [{ name: "big", value: big }] },
    ],
    containers: (task.containers ?? []).map((c) => ({
      ...c,
      image: big,
      managedAgents: [{ name: "ExecuteCommandAgent", lastStatus: "RUNNING", reason: big }],
    })),
  };
}

function withUnrelatedDef(def: TaskDefinition): TaskDefinition {
  return {
    ...def,
    requiresAttributes: [{ name: big }],
    containerDefinitions: (def.containerDefinitions ?? []).map((c) => ({
      ...c,
      environment: [{ name: "BIG", value: big }],
      healthCheck: { command: ["CMD", big] },
    })),
  };
}

const FG = withUnrelatedDef(taskDefinition("fg", 1, "awsvpc", [{ name: "app", dockerLabels: LABELS }]));
const BR = withUnrelatedDef(
  taskDefinition("br", 2, "bridge", [
    { name: "app", dockerLabels: LABELS, portMappings: [{ containerPort: 9100, hostPort: 0 }] },
    { name: "side", portMappings: [{ containerPort: 8080, name: "metrics" }] },
  ]),
);
/** An ENI attachment without an address: the containers' interfaces give it. */
function addressOnContainers(task: Task): Task {
  return {
    ...task,
    attachments: (task.attachments ?? []).map((a) => ({
      ...a,
      details: (a.details ?? []).filter((d) => d.name !== "privateIPv4Address"),
    })),
  };
}

const CASES: [string, Task, TaskDefinition][] = [
  [
    "awsvpc",
    withUnrelated(fargateTask("t1", tdArn("fg", 1), "10.0.1.5", { tags: { owner: "a", "k-2": "b" } })),
    FG,
  ],
  [
    "awsvpc, address on the containers",
    withUnrelated(addressOnContainers(fargateTask("t3", tdArn("fg", 1), "10.0.1.6"))),
    FG,
  ],
  [
    "bridge",
    withUnrelated(
      ec2Task("t2", tdArn("br", 2), ciArn("ci1"), [
        { name: "app", bindings: [{ containerPort: 9100, hostPort: 32768 }] },
        { name: "side", bindings: [{ containerPort: 8080, hostPort: 32769 }] },
      ]),
    ),
    BR,
  ],
];

describe("the cached projection of tasks and task definitions", () => {
  it.each(CASES)("%s: drops unrelated fields; targets are those of the full description", (_, task, def) => {
    const slim = slimTask(task, new StringTable());
    const slimDef = slimTaskDefinition(def);
    // Nothing of the large unrelated fields survives, in any nested object.
    expect(JSON.stringify(slim)).not.toContain(big);
    expect(JSON.stringify(slimDef)).not.toContain(big);
    expect(slim).not.toHaveProperty("overrides");
    expect(slim).not.toHaveProperty("attributes");
    expect(slim.attachments?.some((a) => a.type === "ServiceConnect")).toBeFalsy();
    for (const c of slim.containers ?? []) expect(c).not.toHaveProperty("managedAgents");

    const full = buildTaskTargets(task, def, FACTS, OPTS);
    expect(full.targets.length).toBeGreaterThan(0);
    expect(buildTaskTargets(slim, slimDef, FACTS, OPTS)).toEqual(full);
  });

  it("keeps the presence of a container health check, which decides whether a task has settled", () => {
    const defs = slimTaskDefinition(FG).containerDefinitions ?? [];
    expect(defs.every((c) => c.healthCheck !== undefined)).toBe(true);
    const bare = slimTaskDefinition(taskDefinition("fg", 1, "awsvpc", [{ name: "app" }]));
    expect(bare.containerDefinitions?.[0]?.healthCheck).toBeUndefined();
  });
});
