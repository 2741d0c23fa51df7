// Every ECS skip reason is recorded per task and container, with a sentence a person can act on.
import { describe, expect, it } from "vitest";
import {
  buildTaskTargets,
  SKIP_REASONS,
  taskDefinitionUnavailable,
  type OptInOptions,
  type SkipReason,
} from "../../sd/ecs/targets.js";
import { SkipCollector } from "../../sd/skips.js";
import { FakeEcsApi, fakeEcsSource } from "../helpers/ecs-fake.js";
import {
  CLUSTER,
  ciArn,
  ec2Task,
  fargateTask,
  taskArn,
  taskDefinition,
  tdArn,
} from "../helpers/ecs-fixtures.js";

const OPTS: OptInOptions = { optIn: ["labels"], labelPrefix: "PROMETHEUS_EXPORTER_", portName: "metrics" };
const PORT = { PROMETHEUS_EXPORTER_PORT: "9100" };

const awsvpc = taskDefinition("api", 1, "awsvpc", [
  { name: "app", dockerLabels: PORT },
  { name: "envoy", portMappings: [{ containerPort: 9901 }] },
]);
const bridge = taskDefinition("worker", 1, "bridge", [{ name: "app", dockerLabels: PORT }]);

/** Each reason with a task that causes it, and words its sentence must contain. */
const CASES: Record<SkipReason, () => { r: ReturnType<typeof buildTaskTargets>; words: RegExp }> = {
  not_running: () => ({
    r: buildTaskTargets(
      fargateTask("t1", awsvpc.taskDefinitionArn!, "", { lastStatus: "PENDING" }),
      awsvpc,
      {},
      OPTS,
    ),
    words: /PENDING, not RUNNING/,
  }),
  task_definition_missing: () => ({
    r: buildTaskTargets(fargateTask("t1", tdArn("gone", 4), "10.0.0.1"), undefined, {}, OPTS),
    words: /task definition .*gone:4 could not be described/,
  }),
  no_ip: () => {
    const task = fargateTask("t1", awsvpc.taskDefinitionArn!, "10.0.0.1");
    task.attachments = [];
    task.containers = [];
    return { r: buildTaskTargets(task, awsvpc, {}, OPTS), words: /no IP address yet/ };
  },
  no_host_ip: () => ({
    r: buildTaskTargets(
      ec2Task("t1", bridge.taskDefinitionArn!, ciArn("c1"), [
        { name: "app", bindings: [{ containerPort: 9100, hostPort: 32768 }] },
      ]),
      bridge,
      {},
      OPTS,
    ),
    words: /private IP of the EC2 instance .* is unknown/,
  }),
  unresolved_host_port: () => ({
    r: buildTaskTargets(
      ec2Task("t1", bridge.taskDefinitionArn!, ciArn("c1"), [{ name: "app" }]),
      bridge,
      { instance: { instanceId: "i-1", privateIp: "10.0.3.1", tags: {} } },
      OPTS,
    ),
    words: /container port 9100 has no TCP host port binding/,
  }),
  bad_port_label: () => {
    const def = taskDefinition("api", 1, "awsvpc", [
      { name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "http" } },
    ]);
    return {
      r: buildTaskTargets(fargateTask("t1", def.taskDefinitionArn!, "10.0.0.1"), def, {}, OPTS),
      words: /label PROMETHEUS_EXPORTER_PORT="http" is not a port number/,
    };
  },
  task_definition_unavailable: () => {
    const task = fargateTask("t1", tdArn("api", 9), "10.0.0.1");
    const err = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
    return {
      r: { targets: [], skipped: [taskDefinitionUnavailable(task, err)] },
      words: /DescribeTaskDefinition failed for .*api:9: ThrottlingException: Rate exceeded/,
    };
  },
  invalid_address: () => ({
    r: buildTaskTargets(fargateTask("t1", awsvpc.taskDefinitionArn!, "<script>"), awsvpc, {}, OPTS),
    words: /"<script>", is not an IP address/,
  }),
  no_opt_in: () => ({
    r: buildTaskTargets(fargateTask("t1", awsvpc.taskDefinitionArn!, "10.0.0.1"), awsvpc, {}, OPTS),
    words: /not opted in: no PROMETHEUS_EXPORTER_PORT docker label/,
  }),
};

describe("ECS skip records", () => {
  it.each(SKIP_REASONS)("%s: recorded with the task, its service and a sentence", (reason) => {
    const { r, words } = CASES[reason]();
    const record = r.skipped.find((s) => s.reason === reason);
    expect(record).toMatchObject({ task: taskArn("t1"), reason });
    expect(record!.detail).toMatch(words);
    expect(record!.service).toBe(
      reason === "no_host_ip" || reason === "unresolved_host_port" ? "worker" : "api",
    );
  });

  it("a container without opt-in labels is named, and only it: the opted-in container is a target", () => {
    const r = buildTaskTargets(fargateTask("t1", awsvpc.taskDefinitionArn!, "10.0.0.1"), awsvpc, {}, OPTS);
    expect(r.targets.map((t) => t.group.targets[0])).toEqual(["10.0.0.1:9100"]);
    expect(r.skipped.map((s) => [s.container, s.reason])).toEqual([["envoy", "no_opt_in"]]);
  });

  it("the source counts no_opt_in and keeps the last refresh's records per unit", async () => {
    const api = new FakeEcsApi({
      taskDefs: [awsvpc],
      tasks: [
        fargateTask("t1", awsvpc.taskDefinitionArn!, "10.0.0.1"),
        fargateTask("t2", awsvpc.taskDefinitionArn!, "10.0.0.2", { lastStatus: "PROVISIONING" }),
      ],
    });
    const { src, metrics } = fakeEcsSource(api);
    await src.refresh();
    const skipped = (await metrics.skipped.get()).values;
    expect(skipped.find((v) => v.labels.reason === "no_opt_in")?.value).toBe(1);
    const unit = src.skips().get(`default/us-east-1/${CLUSTER}`)!;
    expect(unit.byReason).toEqual({ no_opt_in: 1, not_running: 1 });
    expect(unit.records.map((s) => `${s.task.slice(-2)} ${s.container ?? "-"} ${s.reason}`).sort()).toEqual([
      "t1 envoy no_opt_in",
      "t2 - not_running",
    ]);
  });

  it("keeps at most its cap of records per refresh and counts the rest", () => {
    const c = new SkipCollector(3);
    for (let i = 0; i < 5; i++)
      c.add(i < 2 ? "a" : "b", { task: `t${i}`, reason: "no_ip", detail: "x".repeat(1000) });
    expect(c.of("a").records).toHaveLength(2);
    expect(c.of("b")).toMatchObject({ dropped: 2, byReason: { no_ip: 3 } });
    expect(c.of("b").records).toHaveLength(1);
    expect(c.of("a").records[0]!.detail.length).toBeLessThanOrEqual(300);
  });
});
