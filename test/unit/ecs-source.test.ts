import type { Task, TaskDefinition } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { createSelfMetrics } from "../../core/metrics.js";
import { silentLogger } from "../../core/log.js";
import { EcsSource } from "../../sd/ecs/source.js";
import { Discovery } from "../../sd/refresh.js";
import { OnDemandDiscovery } from "../../lambda/freshness.js";
import type { DiscoveredTarget } from "../../sd/model.js";
import { testConfig } from "../helpers/config.js";
import { FakeEcsApi, fakeEcsSource, fakeScope } from "../helpers/ecs-fake.js";
import {
  CLUSTER,
  CLUSTER_ARN,
  ciArn,
  ec2Task,
  fargateTask,
  taskArn,
  taskDefinition,
  tdArn,
} from "../helpers/ecs-fixtures.js";
import {
  ENI_DENIED_RETRY_MS,
  INSTANCE_FACTS_TTL_MS,
  RESOURCE_FACTS_TTL_MS,
  UNDESCRIBABLE_RETRY_MAX_MS,
  UNDESCRIBABLE_RETRY_MS,
} from "../../sd/ecs/scope.js";
import { EC2ServiceException } from "@aws-sdk/client-ec2";
import { createLogger } from "../../core/log.js";

const FIRST = { BRIDGE_CLUSTERS: CLUSTER };
/** Known tasks described again once every third refresh, a third of them on each. */
const CADENCE_3 = { ...FIRST, BRIDGE_ECS_REDESCRIBE_EVERY_REFRESHES: "3" };
/** Every task described on every refresh. */
const CADENCE_1 = { ...FIRST, BRIDGE_ECS_REDESCRIBE_EVERY_REFRESHES: "1" };
/** Known tasks described again so rarely that the tests below see only what is cached. */
const RARELY = { ...FIRST, BRIDGE_ECS_REDESCRIBE_EVERY_REFRESHES: "1000" };

/** The task ids DescribeTasks was asked for, from the `from`th call on. */
const describedIds = (ecs: FakeEcsApi, from = 0): string[] =>
  ecs.requests.DescribeTasks.slice(from).flatMap((r) => r.taskArns.map((a) => a.split("/").pop()!));

async function targetsOf(src: EcsSource): Promise<DiscoveredTarget[]> {
  const r = await src.refresh();
  expect(r.failedScopes).toEqual([]);
  const unit = r.units[0]!;
  if (!unit.ok) throw unit.error;
  return unit.targets;
}

const addresses = (ts: DiscoveredTarget[]) => ts.map((t) => t.group.targets[0]).sort();

const LABELLED = { PROMETHEUS_EXPORTER_PORT: "9100", PROMETHEUS_EXPORTER_PATH: "/stats" };

describe("ECS source response shapes", () => {
  it("Fargate awsvpc: ENI IP, container port, every documented label", async () => {
    const td = taskDefinition("api", 3, "awsvpc", [
      {
        name: "app",
        dockerLabels: { ...LABELLED, "team.name": "core" },
        portMappings: [{ containerPort: 9100, name: "metrics" }],
      },
    ]);
    const ecs = new FakeEcsApi({
      taskDefs: [td],
      tasks: [fargateTask("t1", tdArn("api", 3), "10.0.1.5", { tags: { "cost-center": "42" } })],
    });
    const { src } = fakeEcsSource(ecs);
    const [t] = await targetsOf(src);
    expect(t!.group.targets).toEqual(["10.0.1.5:9100"]);
    expect(t!.cluster).toBe("prod");
    expect(t!.service).toBe("api");
    expect(t!.group.labels).toMatchObject({
      __meta_ecs_cluster: "prod",
      __meta_ecs_cluster_arn: CLUSTER_ARN,
      __meta_ecs_service: "api",
      __meta_ecs_task_group: "service:api",
      __meta_ecs_task_definition: tdArn("api", 3),
      __meta_ecs_task_definition_family: "api",
      __meta_ecs_task_definition_revision: "3",
      __meta_ecs_launch_type: "FARGATE",
      __meta_ecs_network_mode: "awsvpc",
      __meta_ecs_last_status: "RUNNING",
      __meta_ecs_desired_status: "RUNNING",
      __meta_ecs_health_status: "HEALTHY",
      __meta_ecs_availability_zone: "us-east-1a",
      __meta_ecs_region: "us-east-1",
      __meta_ecs_account_id: "123456789012",
      __meta_ecs_ip_address: "10.0.1.5",
      __meta_ecs_subnet_id: "subnet-0abc",
      __meta_ecs_container_name: "app",
      __meta_ecs_container_port: "9100",
      __meta_ecs_port_name: "metrics",
      __meta_ecs_tag_task_cost_center: "42",
      __meta_ecs_container_label_team_name: "core",
      __metrics_path__: "/stats",
    });
    expect(t!.group.labels.__meta_ecs_task_arn).toMatch(/task\/prod\/t1$/);
    // No container instance on Fargate: those labels are absent, not "undefined".
    expect(t!.group.labels).not.toHaveProperty("__meta_ecs_container_instance_arn");
    for (const v of Object.values(t!.group.labels)) expect(typeof v).toBe("string");
  });

  it("EC2 awsvpc: ENI IP, instance id from the container instance, the instance's own IP as a label", async () => {
    const td = taskDefinition("api", 1, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const ecs = new FakeEcsApi({
      taskDefs: [td],
      tasks: [ec2Task("t1", tdArn("api", 1), ciArn("ci1"), [{ name: "app" }], { eniIp: "10.0.2.7" })],
      containerInstances: [{ containerInstanceArn: ciArn("ci1"), ec2InstanceId: "i-0aaa" }],
      ec2Ips: { "i-0aaa": "10.0.3.9" },
    });
    const [t] = await targetsOf(fakeEcsSource(ecs).src);
    expect(t!.group.targets).toEqual(["10.0.2.7:9100"]);
    expect(t!.group.labels.__meta_ecs_ec2_instance_id).toBe("i-0aaa");
    expect(t!.group.labels.__meta_ecs_container_instance_arn).toBe(ciArn("ci1"));
    expect(t!.group.labels.__meta_ecs_ip_address).toBe("10.0.2.7");
    expect(t!.group.labels.__meta_ecs_ec2_instance_private_ip).toBe("10.0.3.9");
    expect(ecs.calls.DescribeInstances).toBe(1);
  });

  it("bridge mode: dynamic host port from networkBindings on the EC2 private IP", async () => {
    const td = taskDefinition("worker", 2, "bridge", [
      {
        name: "app",
        dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080" },
        portMappings: [{ containerPort: 8080, hostPort: 0 }],
      },
    ]);
    const ecs = new FakeEcsApi({
      taskDefs: [td],
      tasks: [
        ec2Task("t1", tdArn("worker", 2), ciArn("ci1"), [
          { name: "app", bindings: [{ containerPort: 8080, hostPort: 32768 }] },
        ]),
        ec2Task("t2", tdArn("worker", 2), ciArn("ci2"), [
          { name: "app", bindings: [{ containerPort: 8080, hostPort: 32771 }] },
        ]),
      ],
      containerInstances: [
        { containerInstanceArn: ciArn("ci1"), ec2InstanceId: "i-01" },
        { containerInstanceArn: ciArn("ci2"), ec2InstanceId: "i-02" },
      ],
      ec2Ips: { "i-01": "10.0.3.1", "i-02": "10.0.3.2" },
    });
    const ts = await targetsOf(fakeEcsSource(ecs).src);
    expect(addresses(ts)).toEqual(["10.0.3.1:32768", "10.0.3.2:32771"]);
    const t1 = ts.find((t) => t.group.targets[0] === "10.0.3.1:32768")!;
    expect(t1.group.labels).toMatchObject({
      __meta_ecs_network_mode: "bridge",
      __meta_ecs_container_port: "8080",
      __meta_ecs_ec2_instance_id: "i-01",
      __meta_ecs_ec2_instance_private_ip: "10.0.3.1",
      __meta_ecs_ip_address: "10.0.3.1",
    });
  });

  it("bridge mode without a network binding is skipped, never emitted as ip:0", async () => {
    const td = taskDefinition("worker", 2, undefined, [
      { name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080" } },
    ]);
    const ecs = new FakeEcsApi({
      taskDefs: [td],
      tasks: [ec2Task("t1", tdArn("worker", 2), ciArn("ci1"), [{ name: "app" }])],
      containerInstances: [{ containerInstanceArn: ciArn("ci1"), ec2InstanceId: "i-01" }],
      ec2Ips: { "i-01": "10.0.3.1" },
    });
    const { src, metrics } = fakeEcsSource(ecs);
    expect(await targetsOf(src)).toEqual([]);
    const skipped = await metrics.skipped.get();
    expect(skipped.values.find((v) => v.labels.reason === "unresolved_host_port")?.value).toBe(1);
  });

  it("EXTERNAL (ECS Anywhere) instances have no EC2 instance: skipped, and the cluster's EC2 tasks still served", async () => {
    // For external instances ec2InstanceId holds the SSM managed instance id (mi-...), which EC2 rejects.
    const td = taskDefinition("edge", 1, undefined, [
      {
        name: "app",
        dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080" },
        portMappings: [{ containerPort: 8080, hostPort: 0 }],
      },
    ]);
    const bindings = [{ containerPort: 8080, hostPort: 32768 }];
    const ecs = new FakeEcsApi({
      taskDefs: [td],
      tasks: [
        ec2Task("t1", tdArn("edge", 1), ciArn("ci1"), [{ name: "app", bindings }]),
        {
          ...ec2Task("t2", tdArn("edge", 1), ciArn("ext1"), [{ name: "app", bindings }]),
          launchType: "EXTERNAL",
        },
      ],
      containerInstances: [
        { containerInstanceArn: ciArn("ci1"), ec2InstanceId: "i-01" },
        { containerInstanceArn: ciArn("ext1"), ec2InstanceId: "mi-0123456789abcdef0" },
      ],
      ec2Ips: { "i-01": "10.0.3.1" },
    });
    const { src, metrics } = fakeEcsSource(ecs);
    expect(addresses(await targetsOf(src))).toEqual(["10.0.3.1:32768"]);
    expect(ecs.requests.DescribeInstances.flat()).toEqual(["i-01"]);
    const skipped = await metrics.skipped.get();
    expect(skipped.values.find((v) => v.labels.reason === "no_host_ip")?.value).toBe(1);
  });

  it("host mode: container port on the EC2 private IP", async () => {
    const td = taskDefinition("node", 1, "host", [
      { name: "exporter", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9100" } },
    ]);
    const ecs = new FakeEcsApi({
      taskDefs: [td],
      tasks: [
        ec2Task("t1", tdArn("node", 1), ciArn("ci1"), [{ name: "exporter" }], { group: "family:node" }),
      ],
      containerInstances: [{ containerInstanceArn: ciArn("ci1"), ec2InstanceId: "i-09" }],
      ec2Ips: { "i-09": "10.0.9.9" },
    });
    const [t] = await targetsOf(fakeEcsSource(ecs).src);
    expect(t!.group.targets).toEqual(["10.0.9.9:9100"]);
    // Standalone task: a group but no service.
    expect(t!.group.labels.__meta_ecs_task_group).toBe("family:node");
    expect(t!.group.labels).not.toHaveProperty("__meta_ecs_service");
    expect(t!.service).toBeUndefined();
  });

  it("several containers and several ports per container (numbered labels)", async () => {
    const td = taskDefinition("multi", 1, "awsvpc", [
      {
        name: "app",
        dockerLabels: {
          PROMETHEUS_EXPORTER_PORT: "9100",
          PROMETHEUS_EXPORTER_JOB_NAME: "app",
          PROMETHEUS_EXPORTER_PORT_1: "9200",
          PROMETHEUS_EXPORTER_PATH_1: "/jvm",
          PROMETHEUS_EXPORTER_PORT_2: "9300",
          PROMETHEUS_EXPORTER_SCHEME_2: "https",
        },
      },
      {
        name: "envoy",
        dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9901", PROMETHEUS_EXPORTER_PATH: "/stats/prometheus" },
      },
      { name: "log-router" },
    ]);
    const ecs = new FakeEcsApi({
      taskDefs: [td],
      tasks: [
        fargateTask("t1", tdArn("multi", 1), "10.0.1.9", { containers: ["app", "envoy", "log-router"] }),
      ],
    });
    const ts = await targetsOf(fakeEcsSource(ecs).src);
    expect(addresses(ts)).toEqual(["10.0.1.9:9100", "10.0.1.9:9200", "10.0.1.9:9300", "10.0.1.9:9901"]);
    const by = (a: string) => ts.find((t) => t.group.targets[0] === a)!.group.labels;
    expect(by("10.0.1.9:9200")).toMatchObject({
      __metrics_path__: "/jvm",
      job: "app",
      __meta_ecs_container_name: "app",
    });
    expect(by("10.0.1.9:9300")).toMatchObject({ __scheme__: "https", job: "app" });
    expect(by("10.0.1.9:9300")).not.toHaveProperty("__metrics_path__");
    expect(by("10.0.1.9:9901")).toMatchObject({
      __metrics_path__: "/stats/prometheus",
      __meta_ecs_container_name: "envoy",
    });
  });

  it("opt-in by port mapping name and by all named ports", async () => {
    const td = taskDefinition("named", 1, "awsvpc", [
      {
        name: "app",
        portMappings: [
          { containerPort: 8080, name: "http" },
          { containerPort: 9464, name: "metrics" },
          { containerPort: 7000 },
        ],
      },
    ]);
    const ecs = new FakeEcsApi({ taskDefs: [td], tasks: [fargateTask("t1", tdArn("named", 1), "10.0.1.2")] });
    expect(
      addresses(
        await targetsOf(fakeEcsSource(ecs, { BRIDGE_CLUSTERS: CLUSTER, BRIDGE_ECS_OPT_IN: "port-name" }).src),
      ),
    ).toEqual(["10.0.1.2:9464"]);
    expect(
      addresses(
        await targetsOf(
          fakeEcsSource(ecs, { BRIDGE_CLUSTERS: CLUSTER, BRIDGE_ECS_OPT_IN: "all-named-ports" }).src,
        ),
      ),
    ).toEqual(["10.0.1.2:8080", "10.0.1.2:9464"]);
    // Default opt-in is labels only: nothing here opts in.
    expect(await targetsOf(fakeEcsSource(ecs).src)).toEqual([]);
  });

  it("a port declared by labels is not added again, without its path, by a port-name opt-in", async () => {
    const td = taskDefinition("both", 1, "awsvpc", [
      {
        name: "app",
        dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9464", PROMETHEUS_EXPORTER_PATH: "/stats" },
        portMappings: [
          { containerPort: 9464, name: "metrics" },
          { containerPort: 9500, name: "metrics-extra" },
        ],
      },
    ]);
    const ecs = new FakeEcsApi({ taskDefs: [td], tasks: [fargateTask("t1", tdArn("both", 1), "10.0.1.4")] });
    for (const optIn of ["labels,port-name", "labels,all-named-ports"]) {
      const ts = await targetsOf(
        fakeEcsSource(ecs, { BRIDGE_CLUSTERS: CLUSTER, BRIDGE_ECS_OPT_IN: optIn }).src,
      );
      const at9464 = ts.filter((t) => t.group.targets[0] === "10.0.1.4:9464");
      expect(
        at9464.map((t) => t.group.labels.__metrics_path__),
        optIn,
      ).toEqual(["/stats"]);
    }
    // A named port that no label declares is still opted in.
    const all = await targetsOf(
      fakeEcsSource(ecs, { BRIDGE_CLUSTERS: CLUSTER, BRIDGE_ECS_OPT_IN: "labels,all-named-ports" }).src,
    );
    expect(addresses(all)).toEqual(["10.0.1.4:9464", "10.0.1.4:9500"]);
  });

  it("a custom label prefix and a bad port label", async () => {
    const td = taskDefinition("p", 1, "awsvpc", [
      { name: "a", dockerLabels: { SCRAPE_PORT: "9100" } },
      { name: "b", dockerLabels: { SCRAPE_PORT: "not-a-port" } },
    ]);
    const ecs = new FakeEcsApi({
      taskDefs: [td],
      tasks: [fargateTask("t1", tdArn("p", 1), "10.0.1.3", { containers: ["a", "b"] })],
    });
    const { src, metrics } = fakeEcsSource(ecs, {
      BRIDGE_CLUSTERS: CLUSTER,
      BRIDGE_ECS_LABEL_PREFIX: "SCRAPE_",
    });
    expect(addresses(await targetsOf(src))).toEqual(["10.0.1.3:9100"]);
    const skipped = await metrics.skipped.get();
    expect(skipped.values.find((v) => v.labels.reason === "bad_port_label")?.value).toBe(1);
  });

  it("absent optional fields (no tags, health, AZ, group, labels, networkMode) do not crash", async () => {
    const td: TaskDefinition = {
      taskDefinitionArn: tdArn("bare", 1),
      family: "bare",
      revision: 1,
      networkMode: "awsvpc",
      containerDefinitions: [{ name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9100" } }],
    };
    const task: Task = {
      taskArn: "arn:aws:ecs:us-east-1:123456789012:task/prod/bare1",
      clusterArn: CLUSTER_ARN,
      taskDefinitionArn: tdArn("bare", 1),
      lastStatus: "RUNNING",
      containers: [{ name: "app", networkInterfaces: [{ privateIpv4Address: "10.0.0.1" }] }],
    };
    const ecs = new FakeEcsApi({ taskDefs: [td], tasks: [task] });
    const [t] = await targetsOf(fakeEcsSource(ecs).src);
    expect(t!.group.targets).toEqual(["10.0.0.1:9100"]);
    expect(t!.group.labels).not.toHaveProperty("__meta_ecs_health_status");
    expect(t!.group.labels).not.toHaveProperty("__meta_ecs_subnet_id");
  });

  it("a PROVISIONING task without IP is skipped, counted, and described again until it runs", async () => {
    const td = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const world = {
      taskDefs: [td],
      tasks: [fargateTask("new", tdArn("api", 3), "10.0.1.8", { lastStatus: "PROVISIONING" })],
    };
    const ecs = new FakeEcsApi(world);
    const { src, metrics } = fakeEcsSource(ecs, CADENCE_3);
    expect(await targetsOf(src)).toEqual([]);
    expect((await metrics.skipped.get()).values.find((v) => v.labels.reason === "not_running")?.value).toBe(
      1,
    );
    world.tasks = [fargateTask("new", tdArn("api", 3), "10.0.1.8")];
    expect(addresses(await targetsOf(src))).toEqual(["10.0.1.8:9100"]);
    expect(ecs.calls.DescribeTasks).toBe(2);
    // Settled now: described again once in the next three refreshes (its share of the cadence).
    for (let i = 0; i < 3; i++) await targetsOf(src);
    expect(ecs.calls.DescribeTasks).toBe(3);
  });

  it("more than 100 tasks: one ListTasks walk, DescribeTasks batched by 100, then new ARNs and a share of the known", async () => {
    const td = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const tasks = Array.from({ length: 250 }, (_, i) =>
      fargateTask(`t${i}`, tdArn("api", 3), `10.1.${Math.floor(i / 250)}.${i % 250}`),
    );
    const world = { taskDefs: [td], tasks };
    const ecs = new FakeEcsApi(world);
    const { src } = fakeEcsSource(ecs, CADENCE_3);
    expect(await targetsOf(src)).toHaveLength(250);
    expect(ecs.calls.ListTasks).toBe(1);
    expect(ecs.calls.DescribeTasks).toBe(3);
    expect(ecs.requests.DescribeTasks.map((r) => r.taskArns.length).sort()).toEqual([100, 100, 50]);
    expect(ecs.requests.DescribeTasks[0]!.withTags).toBe(true);
    expect(ecs.calls.DescribeTaskDefinition).toBe(1);

    // Steady state: each refresh describes a share of the known tasks, and three refreshes describe
    // every one of them exactly once (tags follow the task without describing all of them at once).
    const shares: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const from = ecs.requests.DescribeTasks.length;
      await targetsOf(src);
      shares.push(describedIds(ecs, from));
    }
    expect(shares.flat().sort()).toEqual(tasks.map((t) => t.taskArn!.split("/").pop()).sort());
    for (const share of shares) expect(share.length).toBeGreaterThan(250 / 6);
    expect(ecs.calls.ListTasks).toBe(4);
    // One task replaced: the new one is described on the next refresh, whatever the share.
    world.tasks = [...tasks.slice(1), fargateTask("fresh", tdArn("api", 3), "10.2.0.1")];
    const from = ecs.requests.DescribeTasks.length;
    const ts = await targetsOf(src);
    expect(ts).toHaveLength(250);
    expect(addresses(ts)).toContain("10.2.0.1:9100");
    expect(addresses(ts)).not.toContain("10.1.0.0:9100");
    expect(describedIds(ecs, from)).toContain("fresh");
    expect(ecs.calls.DescribeTaskDefinition).toBe(1);
  });

  it("a new task definition is asked for as soon as a DescribeTasks answer names it, not after the last one", async () => {
    const tdA = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const tdB = taskDefinition("web", 1, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const tasks = Array.from({ length: 150 }, (_, i) =>
      fargateTask(`t${i}`, i < 100 ? tdArn("api", 3) : tdArn("web", 1), `10.1.${i >> 8}.${i & 255}`),
    );
    // The batch of 50 answers late; what was asked for by then shows whether the definitions waited for it.
    let definitionsAskedBeforeLastAnswer: string[] = [];
    class SlowSecondBatch extends FakeEcsApi {
      override async describeTasks(cluster: string, taskArns: string[], withTags: boolean) {
        if (taskArns.length === 50) {
          for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
          definitionsAskedBeforeLastAnswer = [...this.requests.DescribeTaskDefinition];
        }
        return super.describeTasks(cluster, taskArns, withTags);
      }
    }
    // A policy without ecs:ListServices: the definitions are named only by the tasks.
    const denied = Object.assign(new Error("not authorized"), { name: "AccessDeniedException" });
    const other = (name: string) => CLUSTER_ARN.replace(CLUSTER, name);
    const ecs = new SlowSecondBatch({
      clusters: [CLUSTER_ARN, other("b")],
      taskDefs: [tdA, tdB],
      tasks,
      failing: { ListServices: denied },
    });
    const lines: string[] = [];
    const { src } = fakeEcsSource(ecs, {}, { logger: createLogger("info", (l) => lines.push(l)) });
    const served = async () => (await src.refresh()).units.flatMap((u) => (u.ok ? u.targets : []));
    expect(await served()).toHaveLength(150);
    expect(definitionsAskedBeforeLastAnswer).toEqual([tdArn("api", 3)]);
    expect(ecs.requests.DescribeTaskDefinition.sort()).toEqual([tdArn("api", 3), tdArn("web", 1)]);
    // Said once per scope, with the grant that fixes it; a cluster that appears later does not ask.
    const asked = ecs.calls.ListServices;
    ecs.world.clusters!.push(other("c"));
    expect(await served()).toHaveLength(150);
    expect(ecs.calls.ListServices).toBe(asked);
    expect(lines.filter((l) => l.includes("grant ecs:ListServices"))).toHaveLength(1);
  });

  it("a cluster's first walk names its services' task definitions before any DescribeTasks answer", async () => {
    const tdA = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const tdB = taskDefinition("web", 1, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const tasks = Array.from({ length: 150 }, (_, i) =>
      fargateTask(`t${i}`, i < 100 ? tdArn("api", 3) : tdArn("web", 1), `10.1.${i >> 8}.${i & 255}`),
    );
    for (const [i, t] of tasks.entries()) t.group = i < 100 ? "service:api" : "service:web";
    let definitionsAskedBeforeFirstAnswer: string[] | undefined;
    class SlowDescribes extends FakeEcsApi {
      override async describeTasks(cluster: string, taskArns: string[], withTags: boolean) {
        for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
        definitionsAskedBeforeFirstAnswer ??= [...this.requests.DescribeTaskDefinition];
        return super.describeTasks(cluster, taskArns, withTags);
      }
    }
    const ecs = new SlowDescribes({ taskDefs: [tdA, tdB], tasks });
    const { src } = fakeEcsSource(ecs);
    expect(await targetsOf(src)).toHaveLength(150);
    expect(definitionsAskedBeforeFirstAnswer?.sort()).toEqual([tdArn("api", 3), tdArn("web", 1)]);
    // Each definition and each service asked for once: loadFacts found the services described.
    expect(ecs.calls).toMatchObject({ ListServices: 1, DescribeServices: 1, DescribeTaskDefinition: 2 });
    // Later walks do not list services again.
    await targetsOf(src);
    expect(ecs.calls).toMatchObject({ ListServices: 1, DescribeServices: 1, DescribeTaskDefinition: 2 });
  });

  it("a task definition missing from the cache is fetched once, then served from the cache", async () => {
    const td1 = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const td2 = taskDefinition("api", 4, "awsvpc", [
      { name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9200" } },
    ]);
    const world = { taskDefs: [td1, td2], tasks: [fargateTask("a", tdArn("api", 3), "10.0.0.1")] };
    const ecs = new FakeEcsApi(world);
    const { src } = fakeEcsSource(ecs);
    await targetsOf(src);
    expect(ecs.calls.DescribeTaskDefinition).toBe(1);
    // A deployment rolls out revision 4: only that definition is fetched.
    world.tasks = [
      ...world.tasks,
      fargateTask("b", tdArn("api", 4), "10.0.0.2"),
      fargateTask("c", tdArn("api", 4), "10.0.0.3"),
    ];
    expect(addresses(await targetsOf(src))).toEqual(["10.0.0.1:9100", "10.0.0.2:9200", "10.0.0.3:9200"]);
    expect(ecs.calls.DescribeTaskDefinition).toBe(2);
    expect(ecs.requests.DescribeTaskDefinition).toEqual([tdArn("api", 3), tdArn("api", 4)]);
  });

  it("every task definition in use is kept, however many: all served, none described twice", async () => {
    const defs = Array.from({ length: 12 }, (_, i) =>
      taskDefinition(`svc${i}`, 1, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]),
    );
    const tasks = defs.map((_, i) => fargateTask(`t${i}`, tdArn(`svc${i}`, 1), `10.0.4.${i + 1}`));
    const ecs = new FakeEcsApi({ taskDefs: defs, tasks });
    const { src } = fakeEcsSource(ecs);
    expect(await targetsOf(src)).toHaveLength(12);
    expect(ecs.calls.DescribeTaskDefinition).toBe(12);
    // A task that is replaced (described again) finds its definition in what the last refresh kept.
    ecs.world.tasks = [...tasks.slice(1), fargateTask("t0b", tdArn("svc0", 1), "10.0.4.100")];
    expect(await targetsOf(src)).toHaveLength(12);
    expect(ecs.calls.DescribeTaskDefinition).toBe(12);
  });

  it("what no task references any more is forgotten: a definition that returns is described again", async () => {
    const td1 = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const td2 = taskDefinition("api", 4, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const old = fargateTask("a", tdArn("api", 3), "10.0.0.1");
    const ecs = new FakeEcsApi({ taskDefs: [td1, td2], tasks: [old] });
    const { src } = fakeEcsSource(ecs);
    await targetsOf(src);
    ecs.world.tasks = [fargateTask("b", tdArn("api", 4), "10.0.0.2")];
    await targetsOf(src);
    ecs.world.tasks = [fargateTask("c", tdArn("api", 3), "10.0.0.3")]; // a rollback to revision 3
    expect(addresses(await targetsOf(src))).toEqual(["10.0.0.3:9100"]);
    expect(ecs.requests.DescribeTaskDefinition).toEqual([tdArn("api", 3), tdArn("api", 4), tdArn("api", 3)]);
  });

  it("container instances are described once while in use, again after they were dropped; EC2 facts per TTL", async () => {
    const td = taskDefinition("worker", 2, "bridge", [
      {
        name: "app",
        dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080" },
        portMappings: [{ containerPort: 8080 }],
      },
    ]);
    const bindings = [{ containerPort: 8080, hostPort: 32768 }];
    const onCi1 = (id: string) => ec2Task(id, tdArn("worker", 2), ciArn("ci1"), [{ name: "app", bindings }]);
    const ecs = new FakeEcsApi({
      taskDefs: [td],
      tasks: [onCi1("t1")],
      containerInstances: [{ containerInstanceArn: ciArn("ci1"), ec2InstanceId: "i-01" }],
      ec2Ips: { "i-01": "10.0.3.1" },
    });
    let now = 1_000_000; // lru-cache reads a start time of 0 as "no TTL"
    const { src } = fakeEcsSource(ecs, FIRST, { now: () => now });
    await targetsOf(src);
    ecs.world.tasks = [onCi1("t2")]; // replaced on the same instance: nothing about the host is asked again
    expect(addresses(await targetsOf(src))).toEqual(["10.0.3.1:32768"]);
    expect(ecs.calls).toMatchObject({ DescribeContainerInstances: 1, DescribeInstances: 1 });
    ecs.world.tasks = [];
    await targetsOf(src);
    ecs.world.tasks = [onCi1("t3")];
    expect(addresses(await targetsOf(src))).toEqual(["10.0.3.1:32768"]);
    // The container instance was forgotten with its last task; the EC2 facts are fresh for their TTL.
    expect(ecs.calls).toMatchObject({ DescribeContainerInstances: 2, DescribeInstances: 1 });
    now += INSTANCE_FACTS_TTL_MS + 1;
    await targetsOf(src);
    expect(ecs.calls).toMatchObject({ DescribeContainerInstances: 2, DescribeInstances: 2 });
  });

  it("a task definition ECS cannot describe (deleted) skips only its tasks, counted, and is not asked for again for a while", async () => {
    const api = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const gone = taskDefinition("gone", 1, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const ecs = new FakeEcsApi({
      taskDefs: [api],
      tasks: [fargateTask("a", tdArn("api", 3), "10.0.0.1"), fargateTask("g", tdArn("gone", 1), "10.0.0.2")],
    });
    let now = 1_000_000;
    const lines: string[] = [];
    const logger = createLogger("info", (l) => lines.push(l));
    const { src, metrics } = fakeEcsSource(ecs, FIRST, { now: () => now, logger });
    const warnings = () => lines.filter((l) => l.includes("DescribeTaskDefinition failed")).length;
    const unavailable = async () =>
      (await metrics.skipped.get()).values.find((v) => v.labels.reason === "task_definition_unavailable")
        ?.value;
    const asked = () => ecs.requests.DescribeTaskDefinition.filter((a) => a === tdArn("gone", 1)).length;
    const refreshAfter = async (ms: number) => {
      now += ms;
      expect(addresses(await targetsOf(src))).toEqual(["10.0.0.1:9100"]);
      expect(await unavailable()).toBe(1);
      return asked();
    };
    expect(await refreshAfter(0)).toBe(1);
    const [skip] = src.skips().get(`default/us-east-1/${CLUSTER}`)!.records;
    expect(skip).toMatchObject({
      task: expect.stringContaining("/g"),
      reason: "task_definition_unavailable",
    });
    expect(skip!.detail).toMatch(
      /ClientException: Unable to describe task definition\. \(not asked again before /,
    );
    // ECS's refusal stands: the definition is not asked for again until its wait is over, then the wait
    // doubles at each further refusal.
    // One warning per refusal: when first seen and when asking again renews it, not every refresh between.
    expect(await refreshAfter(0)).toBe(1);
    expect(await refreshAfter(UNDESCRIBABLE_RETRY_MS - 1)).toBe(1);
    expect(warnings()).toBe(1);
    expect(await refreshAfter(1)).toBe(2);
    expect(await refreshAfter(UNDESCRIBABLE_RETRY_MS)).toBe(2);
    expect(warnings()).toBe(2);
    expect(await refreshAfter(UNDESCRIBABLE_RETRY_MS)).toBe(3);
    expect(warnings()).toBe(3);
    // Served once it can be described again.
    ecs.world.taskDefs.push(gone);
    now += UNDESCRIBABLE_RETRY_MAX_MS;
    expect(addresses(await targetsOf(src))).toEqual(["10.0.0.1:9100", "10.0.0.2:9100"]);
    expect(await unavailable()).toBe(0);
    expect(asked()).toBe(4);
  });

  it("a DescribeTaskDefinition failing otherwise (throttled, 5xx, denied) is asked again next refresh", async () => {
    const gone = taskDefinition("gone", 1, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const ecs = new FakeEcsApi({ taskDefs: [gone], tasks: [fargateTask("g", tdArn("gone", 1), "10.0.0.2")] });
    const lines: string[] = [];
    const logger = createLogger("info", (l) => lines.push(l));
    const { src } = fakeEcsSource(ecs, FIRST, { now: () => 1_000_000, logger });
    for (const error of [
      new Error("Rate exceeded"),
      Object.assign(new Error("internal"), { name: "ServerException" }),
      Object.assign(new Error("not authorized"), { name: "AccessDeniedException" }),
    ]) {
      ecs.world.failing = { DescribeTaskDefinition: error };
      expect(await targetsOf(src)).toEqual([]);
    }
    ecs.world.failing = {};
    expect(addresses(await targetsOf(src))).toEqual(["10.0.0.2:9100"]);
    expect(ecs.calls.DescribeTaskDefinition).toBe(4);
    // Each failed refresh warned.
    expect(lines.filter((l) => l.includes("DescribeTaskDefinition failed"))).toHaveLength(3);
  });

  it("a throttled DescribeTaskDefinition never drops a task already served: its definition is kept", async () => {
    const v3 = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const v4 = taskDefinition("api", 4, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const ecs = new FakeEcsApi({
      taskDefs: [v3, v4],
      tasks: [fargateTask("a", tdArn("api", 3), "10.0.0.1")],
    });
    const { src } = fakeEcsSource(ecs);
    await targetsOf(src);
    // A deployment starts while DescribeTaskDefinition is throttled: the new revision's task waits.
    ecs.world.failing = { DescribeTaskDefinition: new Error("Rate exceeded") };
    ecs.world.tasks.push(
      fargateTask("b", tdArn("api", 3), "10.0.0.2"),
      fargateTask("c", tdArn("api", 4), "10.0.0.3"),
    );
    expect(addresses(await targetsOf(src))).toEqual(["10.0.0.1:9100", "10.0.0.2:9100"]);
    ecs.world.failing = {};
    expect(addresses(await targetsOf(src))).toEqual(["10.0.0.1:9100", "10.0.0.2:9100", "10.0.0.3:9100"]);
  });

  it("all clusters via ListClusters when none are configured", async () => {
    const td = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const ecs = new FakeEcsApi({ taskDefs: [td], tasks: [fargateTask("a", tdArn("api", 3), "10.0.0.1")] });
    const r = await fakeEcsSource(ecs, {}).src.refresh();
    expect(ecs.calls.ListClusters).toBe(1);
    expect(r.units.map((u) => u.unit)).toEqual(["default/us-east-1/prod"]);
    expect(ecs.calls).toMatchObject({ ListTasks: 1, DescribeTasks: 1, DescribeTaskDefinition: 1 });
  });

  it("a denied AssumeRole fails the scope once, configured clusters down by name, no ECS call made", async () => {
    const denied = Object.assign(new Error("not authorized to perform: sts:AssumeRole"), {
      name: "AccessDenied",
    });
    const ecs = new FakeEcsApi({ taskDefs: [], tasks: [] });
    const scope = fakeScope("111111111111/us-east-1");
    scope.clients = { ...scope.clients, assumeRole: () => Promise.reject(denied) };
    for (const env of [{}, { BRIDGE_CLUSTERS: `${CLUSTER},other` }] as Record<string, string>[]) {
      const src = new EcsSource({
        scopes: [scope],
        config: testConfig(env),
        metrics: createSelfMetrics({ defaults: false }),
        logger: silentLogger,
        api: () => ecs,
      });
      const r = await src.refresh();
      expect(r.failedScopes).toEqual(["111111111111/us-east-1/"]);
      expect(r.scopeErrors?.get("111111111111/us-east-1/")).toBe(denied);
      expect(r.units.map((u) => [u.unit, u.ok])).toEqual(
        "BRIDGE_CLUSTERS" in env
          ? [
              [`111111111111/us-east-1/${CLUSTER}`, false],
              ["111111111111/us-east-1/other", false],
            ]
          : [],
      );
    }
    expect(ecs.calls).toEqual({});
  });

  it("a configured cluster that does not exist is reported absent (ok, empty, a metric), not failed", async () => {
    const td = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const ecs = new FakeEcsApi({ taskDefs: [td], tasks: [fargateTask("a", tdArn("api", 3), "10.0.0.1")] });
    const { src, metrics } = fakeEcsSource(ecs, { BRIDGE_CLUSTERS: "prod,gone" });
    const r = await src.refresh();
    const byUnit = Object.fromEntries(r.units.map((u) => [u.unit, u]));
    expect(byUnit["default/us-east-1/prod"]).toMatchObject({ ok: true });
    expect(byUnit["default/us-east-1/gone"]).toEqual({
      unit: "default/us-east-1/gone",
      ok: true,
      targets: [],
      absent: true,
    });
    expect((await metrics.ecsClusterAbsent.get()).values).toEqual([
      { labels: { unit: "default/us-east-1/gone" }, value: 1 },
    ]);
    // Not retried as a failure: DescribeClusters' answer is cached, and ListTasks never asked for it.
    await src.refresh();
    expect(ecs.calls.DescribeClusters).toBe(1);
    expect(ecs.calls.ListTasks).toBe(2);
    // The cluster is created later: once the cached answer expires it is served like any other.
  });

  it("a cluster deleted after it was described (ListTasks: ClusterNotFoundException) is reported absent", async () => {
    const td = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const ecs = new FakeEcsApi({ taskDefs: [td], tasks: [fargateTask("a", tdArn("api", 3), "10.0.0.1")] });
    const { src } = fakeEcsSource(ecs);
    expect(await targetsOf(src)).toHaveLength(1);
    ecs.world.clusters = [];
    const r = await src.refresh();
    expect(r.units).toEqual([{ unit: "default/us-east-1/prod", ok: true, targets: [], absent: true }]);
  });
});

describe("health status freshness", () => {
  it("a task whose container declares a health check is described on every refresh, whatever the cadence", async () => {
    const td = taskDefinition("api", 5, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    td.containerDefinitions![0]!.healthCheck = { command: ["CMD-SHELL", "true"] };
    const starting: Task = { ...fargateTask("h1", tdArn("api", 5), "10.0.7.1"), healthStatus: "UNKNOWN" };
    const world = { taskDefs: [td], tasks: [starting] };
    const ecs = new FakeEcsApi(world);
    const { src } = fakeEcsSource(ecs, RARELY);
    const health = async () => (await targetsOf(src))[0]!.group.labels.__meta_ecs_health_status;
    expect(await health()).toBe("UNKNOWN");
    world.tasks = [{ ...starting, healthStatus: "HEALTHY" }];
    expect(await health()).toBe("HEALTHY");
    // Settled and healthy, then unhealthy: nothing but a describe says so.
    world.tasks = [{ ...starting, healthStatus: "UNHEALTHY", version: 4 }];
    expect(await health()).toBe("UNHEALTHY");
    expect(ecs.calls.DescribeTasks).toBe(3);
  });

  it("a task without health checks (always UNKNOWN) is described again only on its share of the cadence", async () => {
    const td = taskDefinition("api", 6, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const task: Task = { ...fargateTask("h2", tdArn("api", 6), "10.0.7.2"), healthStatus: "UNKNOWN" };
    const ecs = new FakeEcsApi({ taskDefs: [td], tasks: [task] });
    const { src } = fakeEcsSource(ecs, CADENCE_3);
    await targetsOf(src);
    for (let i = 0; i < 3; i++) await targetsOf(src);
    expect(ecs.calls.DescribeTasks).toBe(2);
    expect(ecs.calls.ListTasks).toBe(4);
  });

  it("a retagged task shows its new tags within ecs.redescribeEveryRefreshes refreshes (default 10)", async () => {
    const td = taskDefinition("api", 5, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const tasks = Array.from({ length: 20 }, (_, i) =>
      fargateTask(`g${i}`, tdArn("api", 5), `10.0.7.${i}`, { tags: { tier: "gold" } }),
    );
    const world = { taskDefs: [td], tasks };
    const ecs = new FakeEcsApi(world);
    const { src } = fakeEcsSource(ecs);
    const tiers = async () => (await targetsOf(src)).map((t) => t.group.labels.__meta_ecs_tag_task_tier);
    expect(new Set(await tiers())).toEqual(new Set(["gold"]));
    world.tasks = tasks.map((t) => ({ ...t, tags: [{ key: "tier", value: "bronze" }] }));
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) seen.push((await tiers()).filter((t) => t === "bronze").length);
    // A share at a time, never all at once, and every task by the tenth refresh.
    expect(seen[0]).toBeLessThan(20);
    expect(seen[9]).toBe(20);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(ecs.calls.DescribeTasks).toBeLessThanOrEqual(1 + 10);
  });
});

describe("work proportional to change", () => {
  it("a re-described task with the same version, health and tags keeps its targets; any change rebuilds them", async () => {
    const td = taskDefinition("api", 7, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const same: Task = { ...fargateTask("r1", tdArn("api", 7), "10.0.8.1"), version: 3 };
    const moved: Task = { ...fargateTask("r2", tdArn("api", 7), "10.0.8.2"), version: 5 };
    const world = { taskDefs: [td], tasks: [same, moved] };
    const ecs = new FakeEcsApi(world);
    const { src } = fakeEcsSource(ecs, CADENCE_1);
    const byAddress = async () => new Map((await targetsOf(src)).map((t) => [t.group.targets[0], t]));
    const first = await byAddress();
    const second = await byAddress();
    expect(ecs.calls.DescribeTasks).toBe(2);
    // The same objects: publication sees them unchanged without comparing labels.
    expect(second.get("10.0.8.1:9100")).toBe(first.get("10.0.8.1:9100"));
    expect(second.get("10.0.8.2:9100")).toBe(first.get("10.0.8.2:9100"));

    world.tasks = [
      { ...same, healthStatus: "UNHEALTHY", tags: [{ key: "tier", value: "gold" }] },
      { ...fargateTask("r2", tdArn("api", 7), "10.0.8.3"), version: 6 },
    ];
    const third = await byAddress();
    expect([...third.keys()].sort()).toEqual(["10.0.8.1:9100", "10.0.8.3:9100"]);
    expect(third.get("10.0.8.1:9100")!.group.labels).toMatchObject({
      __meta_ecs_health_status: "UNHEALTHY",
      __meta_ecs_tag_task_tier: "gold",
    });
  });

  it("a task described exactly as last time is not parsed again; a different description is", async () => {
    const td = taskDefinition("api", 7, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const tasks = Array.from({ length: 150 }, (_, i) => ({
      ...fargateTask(`p${i}`, tdArn("api", 7), `10.0.9.${i}`),
      version: 2,
    }));
    let parsed = 0;
    class CountingParses extends FakeEcsApi {
      override async describeTasks(cluster: string, taskArns: string[], withTags: boolean) {
        const r = await super.describeTasks(cluster, taskArns, withTags);
        const found = r.found.map((t) => ({ ...t, parse: () => (parsed++, t.parse()) }));
        return { ...r, found };
      }
    }
    const world = { taskDefs: [td], tasks };
    const ecs = new CountingParses(world);
    const { src } = fakeEcsSource(ecs, CADENCE_1);
    const byAddress = async () => new Map((await targetsOf(src)).map((t) => [t.group.targets[0], t]));
    const first = await byAddress();
    expect(parsed).toBe(150);
    const second = await byAddress();
    expect(ecs.calls.DescribeTasks).toBe(4); // every task described again...
    expect(parsed).toBe(150); // ...and none parsed
    expect(second.get("10.0.9.0:9100")).toBe(first.get("10.0.9.0:9100"));
    // A field the cache does not keep changed: parsed, found the same, its targets kept.
    world.tasks[0] = { ...tasks[0]!, stoppedReason: "none yet" };
    // A state change: parsed and rebuilt.
    world.tasks[1] = { ...tasks[1]!, version: 3, healthStatus: "UNHEALTHY" };
    const third = await byAddress();
    expect(parsed).toBe(152);
    expect(third.get("10.0.9.0:9100")).toBe(first.get("10.0.9.0:9100"));
    expect(third.get("10.0.9.1:9100")!.group.labels.__meta_ecs_health_status).toBe("UNHEALTHY");
    // The changed description is the one remembered: the next refresh parses nothing.
    await byAddress();
    expect(parsed).toBe(152);
  });
  it("facts fetched again after their TTL and found the same keep the targets; a changed tag rebuilds them", async () => {
    const td = taskDefinition("api", 7, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const task: Task = { ...fargateTask("f1", tdArn("api", 7), "10.0.7.1"), version: 4 };
    const ecs = new FakeEcsApi({
      taskDefs: [td],
      tasks: [task],
      clusterTags: { [CLUSTER_ARN]: { env: "prod" } },
      services: { api: { tags: { team: "core" } } },
    });
    let now = 1_000_000; // lru-cache reads a start time of 0 as "no TTL"
    const { src } = fakeEcsSource(ecs, FIRST, { now: () => now });
    const [first] = await targetsOf(src);
    expect(first!.group.labels).toMatchObject({
      __meta_ecs_tag_cluster_env: "prod",
      __meta_ecs_tag_service_team: "core",
    });
    now += RESOURCE_FACTS_TTL_MS + 1;
    const [second] = await targetsOf(src);
    expect(ecs.calls).toMatchObject({ DescribeClusters: 2, DescribeServices: 2 });
    // Asked again, found the same: the same target object, so publication sees nothing to do.
    expect(second).toBe(first);

    ecs.world.clusterTags = { [CLUSTER_ARN]: { env: "staging" } };
    now += RESOURCE_FACTS_TTL_MS + 1;
    const [third] = await targetsOf(src);
    expect(third).not.toBe(first);
    expect(third!.group.labels).toMatchObject({
      __meta_ecs_tag_cluster_env: "staging",
      __meta_ecs_tag_service_team: "core",
    });
  });
});

describe("calls shared, failures counted and contained", () => {
  it("clusters refreshed at once share one DescribeTaskDefinition per ARN", async () => {
    const td = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const other = CLUSTER_ARN.replace(CLUSTER, "other");
    const elsewhere: Task = {
      ...fargateTask("b", tdArn("api", 3), "10.0.0.2"),
      clusterArn: other,
      taskArn: taskArn("b", "other"),
    };
    const ecs = new FakeEcsApi({
      clusters: [CLUSTER_ARN, other],
      taskDefs: [td],
      tasks: [fargateTask("a", tdArn("api", 3), "10.0.0.1"), elsewhere],
    });
    const r = await fakeEcsSource(ecs, { BRIDGE_CLUSTERS: `${CLUSTER},other` }).src.refresh();
    expect(r.units.every((u) => u.ok)).toBe(true);
    expect(ecs.requests.DescribeTaskDefinition).toEqual([tdArn("api", 3)]);
  });

  it("clusters refreshed at once share their EC2 lookups: one DescribeInstances, one DescribeNetworkInterfaces", async () => {
    const worker = taskDefinition("worker", 2, "bridge", [
      {
        name: "app",
        dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080" },
        portMappings: [{ containerPort: 8080 }],
      },
    ]);
    const api = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const names = ["prod", "blue", "green"];
    const hostOf = (c: string) => `i-0${names.indexOf(c) + 10}`;
    const arnOf = (c: string) => CLUSTER_ARN.replace(CLUSTER, c);
    const tasks = names.flatMap((c, i): Task[] => [
      {
        ...ec2Task(`w-${c}`, tdArn("worker", 2), ciArn(`ci-${c}`), [
          { name: "app", bindings: [{ containerPort: 8080, hostPort: 32768 }] },
        ]),
        clusterArn: arnOf(c),
        taskArn: taskArn(`w-${c}`, c),
      },
      {
        ...fargateTask(`a-${c}`, tdArn("api", 3), `10.0.1.${i}`),
        clusterArn: arnOf(c),
        taskArn: taskArn(`a-${c}`, c),
      },
    ]);
    const ecs = new FakeEcsApi({
      clusters: names.map(arnOf),
      taskDefs: [worker, api],
      tasks,
      containerInstances: names.map((c) => ({
        containerInstanceArn: ciArn(`ci-${c}`),
        ec2InstanceId: hostOf(c),
      })),
      ec2Ips: Object.fromEntries(names.map((c, i) => [hostOf(c), `10.0.3.${i + 1}`])),
    });
    const { src } = fakeEcsSource(ecs, { BRIDGE_CLUSTERS: names.join(",") });
    const r = await src.refresh();
    expect(r.units.map((u) => [u.unit, u.ok && u.targets.length])).toEqual(
      names.map((c) => [`default/us-east-1/${c}`, 2]),
    );
    expect(ecs.requests.DescribeInstances.map((ids) => [...ids].sort())).toEqual([names.map(hostOf).sort()]);
    expect(ecs.calls.DescribeNetworkInterfaces).toBe(1);
  });

  it("DescribeTasks failures are counted by reason", async () => {
    const td = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const ecs = new FakeEcsApi({ taskDefs: [td], tasks: [fargateTask("a", tdArn("api", 3), "10.0.0.1")] });
    // A task listed, then gone before it is described: DescribeTasks answers it as a MISSING failure.
    const listTasks = ecs.listTasks.bind(ecs);
    ecs.listTasks = async (cluster) => [...(await listTasks(cluster)), taskArn("gone")];
    const { src, metrics } = fakeEcsSource(ecs);
    expect(addresses(await targetsOf(src))).toEqual(["10.0.0.1:9100"]);
    // Series start at 0 (so increase() sees the first failure); only this one has counted.
    expect((await metrics.ecsDescribeFailures.get()).values.filter((v) => v.value > 0)).toEqual([
      { labels: { operation: "DescribeTasks", reason: "MISSING" }, value: 1 },
    ]);
  });

  it("a failed EC2 batch skips only the bridge tasks that needed it, never the cluster's awsvpc tasks", async () => {
    const api = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const worker = taskDefinition("worker", 2, "bridge", [
      {
        name: "app",
        dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080" },
        portMappings: [{ containerPort: 8080 }],
      },
    ]);
    const bindings = [{ containerPort: 8080, hostPort: 32768 }];
    const ecs = new FakeEcsApi({
      taskDefs: [api, worker],
      tasks: [
        fargateTask("a", tdArn("api", 3), "10.0.0.1"),
        ec2Task("w", tdArn("worker", 2), ciArn("ci1"), [{ name: "app", bindings }]),
      ],
      containerInstances: [{ containerInstanceArn: ciArn("ci1"), ec2InstanceId: "i-01" }],
      ec2Ips: { "i-01": "10.0.3.1" },
      failing: { DescribeInstances: new Error("Rate exceeded") },
    });
    const { src, metrics } = fakeEcsSource(ecs);
    expect(addresses(await targetsOf(src))).toEqual(["10.0.0.1:9100"]);
    expect((await metrics.skipped.get()).values.find((v) => v.labels.reason === "no_host_ip")?.value).toBe(1);
    ecs.world.failing = {};
    expect(addresses(await targetsOf(src))).toEqual(["10.0.0.1:9100", "10.0.3.1:32768"]);
  });
  it("DescribeNetworkInterfaces denied (an older policy): public_ip is lost, tasks settle, one warning", async () => {
    const td = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const denied = new EC2ServiceException({
      name: "UnauthorizedOperation",
      message: "You are not authorized to perform this operation.",
      $fault: "client",
      $metadata: {},
    });
    const ecs = new FakeEcsApi({
      taskDefs: [td],
      tasks: [fargateTask("a", tdArn("api", 3), "10.0.0.1")],
      eniPublicIps: { "eni-a": "3.1.2.3" },
      failing: { DescribeNetworkInterfaces: denied },
    });
    const lines: string[] = [];
    let now = 1_000_000;
    const src = new EcsSource({
      scopes: [fakeScope()],
      config: testConfig(RARELY),
      metrics: createSelfMetrics({ defaults: false }),
      logger: createLogger("info", (l) => lines.push(l)),
      api: () => ecs,
      now: () => now,
    });
    for (let i = 0; i < 3; i++) {
      const [t] = await targetsOf(src);
      expect(t!.group.targets).toEqual(["10.0.0.1:9100"]);
      expect(t!.group.labels.__meta_ecs_public_ip).toBeUndefined();
    }
    // Settled after the first refresh (not described again); the denied call not repeated.
    expect(ecs.calls).toMatchObject({ DescribeTasks: 1, DescribeNetworkInterfaces: 1 });
    const warnings = lines.filter((l) => l.includes("DescribeNetworkInterfaces denied"));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: "warn", error: "UnauthorizedOperation" });
    // Once granted, the label appears after the retry delay.
    ecs.world.failing = {};
    now += ENI_DENIED_RETRY_MS + 1;
    const [t] = await targetsOf(src);
    expect(t!.group.labels.__meta_ecs_public_ip).toBe("3.1.2.3");
    expect(ecs.calls.DescribeNetworkInterfaces).toBe(2);
  });
});

describe("a cluster absent from one scope, seen by the Lambda", () => {
  it("is no reason for a 503: clusterFailing stays false; a real failure there still makes it true", async () => {
    const td = taskDefinition("api", 3, "awsvpc", [{ name: "app", dockerLabels: LABELLED }]);
    const here = new FakeEcsApi({ taskDefs: [td], tasks: [fargateTask("a", tdArn("api", 3), "10.0.0.1")] });
    const there = new FakeEcsApi({ clusters: [], taskDefs: [], tasks: [] });
    const metrics = createSelfMetrics({ defaults: false });
    const src = new EcsSource({
      scopes: [fakeScope("a/us-east-1"), fakeScope("b/eu-west-1")],
      config: testConfig({ BRIDGE_CLUSTERS: CLUSTER }),
      metrics,
      logger: silentLogger,
      api: (scope) => (scope.key.startsWith("a/") ? here : there),
    });
    const discovery = new Discovery({ sources: [src], metrics, logger: silentLogger, intervalSeconds: 60 });
    const lambda = new OnDemandDiscovery(discovery, 0);
    await lambda.current();
    expect(discovery.status().find((u) => u.unit === "b/eu-west-1/prod")).toMatchObject({
      ok: true,
      absent: true,
    });
    expect(lambda.clusterFailing(CLUSTER)).toBe(false);
    there.world.clusters = [CLUSTER_ARN];
    there.world.failing = { ListTasks: new Error("Rate exceeded") };
    // The cached "absent" answer expires only after its TTL; a new source sees the cluster at once.
    const fresh = new EcsSource({
      scopes: [fakeScope("b/eu-west-1")],
      config: testConfig({ BRIDGE_CLUSTERS: CLUSTER }),
      metrics: createSelfMetrics({ defaults: false }),
      logger: silentLogger,
      api: () => there,
    });
    const d2 = new Discovery({ sources: [fresh], metrics, logger: silentLogger, intervalSeconds: 60 });
    const l2 = new OnDemandDiscovery(d2, 0);
    await l2.current();
    expect(l2.clusterFailing(CLUSTER)).toBe(true);
  });
});
