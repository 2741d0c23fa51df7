// End to end: a real Prometheus discovers ECS tasks through the bridge's http_sd endpoint and scrapes them,
// and a relabel rule written for each label of Prometheus' native ECS role matches with the task's value.
import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  type Instance,
} from "@aws-sdk/client-ec2";
import {
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../../cmd/bridge.js";
import { createClients } from "../../core/aws.js";
import { sanitizeLabelName } from "../../sd/model.js";
import { startSimAws, type Scenario, type SimAws } from "../../sim/index.js";
import { bridgeOnSim } from "../helpers/bridge.js";
import { startSampleExporters, type SampleExporters } from "../helpers/exporters.js";
import {
  httpSdConfig,
  prometheusAvailable,
  scrapedTwice,
  startPrometheus,
  type RunningPrometheus,
} from "../helpers/prometheus.js";

const scenario: Scenario = {
  accountId: "123456789012",
  region: "us-east-1",
  ipPool: { tasks: "127.0.30.1", instances: "127.0.31.1" },
  taskDefinitions: [
    {
      family: "api",
      networkMode: "awsvpc",
      containerDefinitions: [
        {
          name: "app",
          dockerLabels: {
            PROMETHEUS_EXPORTER_PORT: "9464",
            PROMETHEUS_EXPORTER_PATH: "/custom-metrics",
            PROMETHEUS_EXPORTER_JOB_NAME: "api",
          },
          portMappings: [{ containerPort: 9464, name: "metrics" }],
        },
      ],
    },
    {
      family: "legacy",
      networkMode: "bridge",
      containerDefinitions: [
        {
          name: "legacy",
          dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080" },
          portMappings: [{ containerPort: 8080 }],
        },
      ],
    },
  ],
  clusters: [
    {
      name: "prod",
      containerInstances: 1,
      services: [
        { name: "api", taskDefinition: "api", desiredCount: 2, taskTags: { team: "storefront" } },
        { name: "legacy", taskDefinition: "legacy", desiredCount: 1, launchType: "EC2" },
      ],
    },
  ],
};

let sim: SimAws;
let bridge: Bridge;
let exporters: SampleExporters;
let prom: RunningPrometheus;

describe.skipIf(!prometheusAvailable())("real Prometheus scraping through http_sd", () => {
  beforeAll(async () => {
    sim = await startSimAws({ scenario });
    exporters = await startSampleExporters(sim.endpoints({ source: "ecs" }));
    bridge = await bridgeOnSim(sim, { BRIDGE_CLUSTERS: "prod" });
    await bridge.discovery.refreshOnce();
    prom = await startPrometheus(
      httpSdConfig("ecs", `${bridge.url}/sd?cluster=prod`, [
        "{ source_labels: [__meta_ecs_service], target_label: service }",
        "{ source_labels: [__meta_ecs_tag_task_team], target_label: team }",
        "{ source_labels: [__meta_ecs_task_arn], regex: '.*/([^/]+)$', target_label: task_id }",
      ]),
    );
  });

  afterAll(async () => {
    await prom?.stop();
    await bridge?.close();
    await exporters?.close();
    await sim?.close();
  });

  it("scrapes every discovered task: targets active, health up, documented labels arrived", async () => {
    const targets = await prom.waitFor(
      (ts) => ts.length === 3 && ts.every((t) => t.health === "up"),
      "3 targets up",
    );
    expect(scrapedTwice(targets)).toEqual([]);
    expect(await prom.query("count by (instance) (up) > 1")).toEqual([]);
    const api = targets.filter((t) => t.labels.service === "api");
    expect(api).toHaveLength(2);
    for (const t of api) {
      expect(t.labels.job).toBe("api"); // PROMETHEUS_EXPORTER_JOB_NAME wins over job_name
      expect(t.labels.team).toBe("storefront");
      expect(t.labels.task_id).toMatch(/^[0-9a-f]{32}$/);
      expect(t.scrapeUrl).toMatch(/^http:\/\/127\.0\.30\.\d+:9464\/custom-metrics$/);
      expect(t.discoveredLabels).toMatchObject({
        __meta_ecs_cluster: "prod",
        __meta_ecs_service: "api",
        __meta_ecs_launch_type: "FARGATE",
        __meta_ecs_network_mode: "awsvpc",
        __meta_ecs_container_name: "app",
        __meta_ecs_container_port: "9464",
        __meta_ecs_port_name: "metrics",
        __meta_ecs_region: "us-east-1",
        __meta_ecs_account_id: "123456789012",
      });
    }
    const legacy = targets.find((t) => t.labels.service === "legacy")!;
    expect(legacy.labels.job).toBe("ecs");
    expect(legacy.discoveredLabels.__meta_ecs_network_mode).toBe("bridge");
    expect(legacy.scrapeUrl).toMatch(/^http:\/\/127\.0\.31\.\d+:\d{5}\/metrics$/);
  });

  it("drops the target of a task that stopped after a scale-down", async () => {
    const before = await prom.targets();
    sim.scaleService("prod", "api", 1);
    await bridge.discovery.refreshOnce();
    const remaining = sim.tasks({ cluster: "prod", service: "api" }).map((t) => t.ip);
    expect(remaining).toHaveLength(1);
    const after = await prom.waitFor(
      (ts) => ts.filter((t) => t.labels.service === "api").length === 1,
      "the api service down to 1 target",
    );
    const api = after.filter((t) => t.labels.service === "api");
    expect(api[0]!.scrapeUrl).toContain(`${remaining[0]}:9464`);
    expect(before.filter((t) => t.labels.service === "api")).toHaveLength(2);
    expect(after.find((t) => t.labels.service === "legacy")?.health).toBe("up");
  });
});

// Every task shape the native role labels differently: Fargate awsvpc (platform, ENI public IP), EC2 awsvpc,
// EC2 bridge (host IP and port), a standalone task; tags on the cluster (a leading-digit key), service, task
// and EC2 instance (the simulator tags each instance with a Name).
const shapes: Scenario = {
  accountId: "123456789012",
  region: "us-east-1",
  ipPool: { tasks: "127.0.32.1", instances: "127.0.33.1" },
  taskDefinitions: [
    {
      family: "api",
      networkMode: "awsvpc",
      containerDefinitions: [
        {
          name: "app",
          dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9464" },
          healthCheck: { command: ["CMD-SHELL", "curl -f localhost:9464/metrics"] },
        },
      ],
    },
    {
      family: "worker",
      networkMode: "awsvpc",
      requiresCompatibilities: ["EC2"],
      containerDefinitions: [{ name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9465" } }],
    },
    {
      family: "legacy",
      networkMode: "bridge",
      containerDefinitions: [
        {
          name: "legacy",
          dockerLabels: { PROMETHEUS_EXPORTER_PORT: "8080" },
          portMappings: [{ containerPort: 8080 }],
        },
      ],
    },
  ],
  clusters: [
    {
      name: "prod",
      tags: { env: "prod", "2fa": "on" },
      containerInstances: [{ ec2InstanceId: "i-0123456789abcdef0", instanceType: "m5.large" }],
      services: [
        {
          name: "api",
          taskDefinition: "api",
          desiredCount: 1,
          tags: { team: "storefront" },
          taskTags: { owner: "alice" },
          healthStatus: "HEALTHY",
        },
        { name: "worker", taskDefinition: "worker", desiredCount: 1, launchType: "EC2" },
        { name: "legacy", taskDefinition: "legacy", desiredCount: 1, launchType: "EC2" },
      ],
      tasks: [{ taskDefinition: "api", tags: { "cost center": "42" } }],
    },
  ],
};

/** The native role's label names (`__meta_ecs_` + name) with one value per task. */
const NATIVE = [
  "cluster",
  "cluster_arn",
  "service",
  "service_arn",
  "service_status",
  "task_group",
  "task_arn",
  "task_definition",
  "region",
  "availability_zone",
  "launch_type",
  "desired_status",
  "last_status",
  "health_status",
  "platform_family",
  "platform_version",
  "network_mode",
  "ip_address",
  "subnet_id",
  "public_ip",
  "container_instance_arn",
  "ec2_instance_id",
  "ec2_instance_type",
  "ec2_instance_private_ip",
  "ec2_instance_public_ip",
] as const;

type Expected = Record<string, string | undefined>;

/**
 * What the native role would label each task with, computed from the simulator's AWS API (not from the
 * bridge), as its configuration docs and discovery/aws/ecs.go describe: task ARN -> label suffix -> value.
 */
async function nativeLabels(sim: SimAws): Promise<Map<string, Expected>> {
  const aws = createClients(
    { region: sim.region },
    { credentials: { accessKeyId: "test", secretAccessKey: "test" }, env: { AWS_ENDPOINT_URL: sim.url } },
  );
  const cluster = "prod";
  const [c] = (
    await (await aws.ecs()).send(new DescribeClustersCommand({ clusters: [cluster], include: ["TAGS"] }))
  ).clusters!;
  const arns = (await (await aws.ecs()).send(new ListTasksCommand({ cluster }))).taskArns!;
  const tasks = (
    await (await aws.ecs()).send(new DescribeTasksCommand({ cluster, tasks: arns, include: ["TAGS"] }))
  ).tasks!;
  const services = (
    await (
      await aws.ecs()
    ).send(new DescribeServicesCommand({ cluster, services: ["api", "worker", "legacy"], include: ["TAGS"] }))
  ).services!;
  const instances = (await (await aws.ec2()).send(new DescribeInstancesCommand({}))).Reservations!.flatMap(
    (r) => r.Instances!,
  );
  const out = new Map<string, Expected>();
  for (const task of tasks) {
    const eni = task.attachments?.find((a) => a.type === "ElasticNetworkInterface");
    const detail = (name: string) => eni?.details?.find((d) => d.name === name)?.value;
    const serviceName = task.group?.startsWith("service:") ? task.group.slice(8) : undefined;
    const svc = services.find((x) => x.serviceName === serviceName);
    const inst = await hostOf(aws, task, instances);
    const eniPublicIp = eni
      ? (
          await (
            await aws.ec2()
          ).send(
            new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [detail("networkInterfaceId")!] }),
          )
        ).NetworkInterfaces?.[0]?.Association?.PublicIp
      : undefined;
    const e: Expected = {
      cluster: c!.clusterName,
      cluster_arn: task.clusterArn,
      service: serviceName,
      service_arn: svc?.serviceArn,
      service_status: svc?.status,
      task_group: task.group,
      task_arn: task.taskArn,
      task_definition: task.taskDefinitionArn,
      region: sim.region,
      availability_zone: task.availabilityZone,
      launch_type: task.launchType,
      desired_status: task.desiredStatus,
      last_status: task.lastStatus,
      health_status: task.healthStatus,
      platform_family: task.platformFamily,
      platform_version: task.platformVersion,
      network_mode: eni ? "awsvpc" : task.containerInstanceArn ? "bridge" : undefined,
      ip_address: detail("privateIPv4Address") ?? inst?.PrivateIpAddress,
      subnet_id: detail("subnetId") ?? inst?.SubnetId,
      public_ip: eni ? eniPublicIp : inst?.PublicIpAddress,
      container_instance_arn: task.containerInstanceArn,
      ec2_instance_id: inst?.InstanceId,
      ec2_instance_type: inst?.InstanceType,
      ec2_instance_private_ip: inst?.PrivateIpAddress,
      ec2_instance_public_ip: inst?.PublicIpAddress,
    };
    const tags = (kind: string, list: { key?: string; value?: string }[] | undefined) => {
      for (const t of list ?? []) e[`tag_${kind}_${sanitizeLabelName(t.key!)}`] = t.value;
    };
    tags("cluster", c!.tags);
    tags("service", svc?.tags);
    tags("task", task.tags);
    tags(
      "ec2",
      inst?.Tags?.map((t) => ({ key: t.Key, value: t.Value })),
    );
    out.set(task.taskArn!, e);
  }
  return out;
}

/** The EC2 instance a task runs on (through its container instance), if any. */
async function hostOf(
  aws: ReturnType<typeof createClients>,
  task: Task,
  instances: Instance[],
): Promise<Instance | undefined> {
  if (!task.containerInstanceArn) return undefined;
  const { containerInstances } = await (
    await aws.ecs()
  ).send(
    new DescribeContainerInstancesCommand({
      cluster: task.clusterArn,
      containerInstances: [task.containerInstanceArn],
    }),
  );
  return instances.find((i) => i.InstanceId === containerInstances?.[0]?.ec2InstanceId);
}

describe.skipIf(!prometheusAvailable())(
  "real Prometheus: relabel rules written for the native ECS role",
  () => {
    let simShapes: SimAws;
    let bridgeShapes: Bridge;
    let promShapes: RunningPrometheus;
    let expected: Map<string, Expected>;

    beforeAll(async () => {
      simShapes = await startSimAws({ scenario: shapes });
      bridgeShapes = await bridgeOnSim(simShapes, { BRIDGE_CLUSTERS: "prod" });
      await bridgeShapes.discovery.refreshOnce();
      expected = await nativeLabels(simShapes);
      const names = new Set([...expected.values()].flatMap((e) => Object.keys(e)));
      // One rule per label name, as a user of the native role writes them: source `__meta_ecs_X`, target X.
      const rules = [...names].sort().map((x) => `{ source_labels: [__meta_ecs_${x}], target_label: ${x} }`);
      promShapes = await startPrometheus(httpSdConfig("ecs", `${bridgeShapes.url}/sd`, rules));
    });

    afterAll(async () => {
      await promShapes?.stop();
      await bridgeShapes?.close();
      await simShapes?.close();
    });

    it("every target carries each native label with the value its task has", async () => {
      const targets = await promShapes.waitFor((ts) => ts.length >= 4, "the 4 tasks' targets");
      expect(targets).toHaveLength(4);
      expect(new Set(targets.map((t) => t.labels.task_arn))).toEqual(new Set(expected.keys()));
      for (const t of targets) {
        const want = expected.get(t.labels.task_arn!)!;
        const got = Object.fromEntries(Object.keys(want).map((x) => [x, t.labels[x]]));
        // Absent in AWS (a standalone task's service) is absent on the target, as in the native role.
        const present = Object.fromEntries(
          Object.entries(want).filter(([, v]) => v !== undefined && v !== ""),
        );
        expect(
          Object.fromEntries(Object.entries(got).filter(([, v]) => v !== undefined)),
          t.scrapeUrl,
        ).toEqual(present);
      }
      // The shapes cover every native label and tag family at least once.
      const seen = new Set(targets.flatMap((t) => Object.keys(t.labels)));
      for (const x of NATIVE) expect(seen, x).toContain(x);
      for (const family of ["cluster", "service", "task", "ec2"])
        expect(
          [...seen].some((l) => l.startsWith(`tag_${family}_`)),
          family,
        ).toBe(true);
      expect(seen).toContain("tag_cluster_2fa");
    });
  },
);
