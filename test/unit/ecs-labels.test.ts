// Every label of Prometheus' native ECS discovery (discovery/aws/ecs.go), per task shape: the same names
// and the same values as it computes them, from the typed fake's answers to the same calls.
import type { Task } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { ECS_LABELS } from "../../sd/ecs/labels.js";
import { FakeEcsApi, fakeEcsSource, type EcsWorld } from "../helpers/ecs-fake.js";
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

const PORT = { PROMETHEUS_EXPORTER_PORT: "9100" };
const SERVICE_ARN = (name: string) => `arn:aws:ecs:us-east-1:123456789012:service/${CLUSTER}/${name}`;
const DEFS = [
  taskDefinition("fg", 1, "awsvpc", [{ name: "app", dockerLabels: PORT }]),
  taskDefinition("br", 1, "bridge", [
    { name: "app", dockerLabels: PORT, portMappings: [{ containerPort: 9100, hostPort: 0 }] },
  ]),
  taskDefinition("ho", 1, "host", [{ name: "app", dockerLabels: PORT }]),
];
const HOST = {
  instanceType: "m6i.large",
  privateIp: "10.0.3.1",
  publicIp: "54.0.0.1",
  subnetId: "subnet-0host",
  tags: { Name: "ecs-host", "2fa": "on" },
};
const base = { containerInstances: [{ containerInstanceArn: ciArn("ci1"), ec2InstanceId: "i-01" }] };

/** The native label names Prometheus' ECS role emits (the project's own are left out of the comparison). */
const NATIVE = new Set<string>([
  ECS_LABELS.cluster,
  ECS_LABELS.clusterArn,
  ECS_LABELS.service,
  ECS_LABELS.serviceArn,
  ECS_LABELS.serviceStatus,
  ECS_LABELS.taskGroup,
  ECS_LABELS.taskArn,
  ECS_LABELS.taskDefinition,
  ECS_LABELS.region,
  ECS_LABELS.availabilityZone,
  ECS_LABELS.launchType,
  ECS_LABELS.desiredStatus,
  ECS_LABELS.lastStatus,
  ECS_LABELS.healthStatus,
  ECS_LABELS.platformFamily,
  ECS_LABELS.platformVersion,
  ECS_LABELS.networkMode,
  ECS_LABELS.ipAddress,
  ECS_LABELS.subnetId,
  ECS_LABELS.publicIp,
  ECS_LABELS.containerInstanceArn,
  ECS_LABELS.ec2InstanceId,
  ECS_LABELS.ec2InstanceType,
  ECS_LABELS.ec2InstancePrivateIp,
  ECS_LABELS.ec2InstancePublicIp,
]);
const isNative = (name: string) =>
  NATIVE.has(name) || /^__meta_ecs_tag_(cluster|service|task|ec2)_/.test(name);

interface Case {
  shape: string;
  world: Omit<EcsWorld, "taskDefs" | "tasks">;
  task: Task;
  /** Every native label with its value; absent labels are absent here. */
  labels: Record<string, string> | "skipped";
}

const running = {
  cluster: CLUSTER,
  cluster_arn: CLUSTER_ARN,
  region: "us-east-1",
  desired_status: "RUNNING",
};
const meta = (l: Record<string, string>) =>
  Object.fromEntries(Object.entries({ ...running, ...l }).map(([k, v]) => [`__meta_ecs_${k}`, v]));

const CASES: Case[] = [
  {
    shape: "Fargate awsvpc with a public IP, in a tagged cluster and service",
    world: {
      clusterTags: { [CLUSTER_ARN]: { env: "prod" } },
      services: { api: { status: "ACTIVE", tags: { "team.name": "core" } } },
      eniPublicIps: { "eni-f1": "3.1.2.3" },
    },
    task: {
      ...fargateTask("f1", tdArn("fg", 1), "10.0.1.5"),
      platformFamily: "Linux",
      platformVersion: "1.4.0",
    },
    labels: meta({
      service: "api",
      service_arn: SERVICE_ARN("api"),
      service_status: "ACTIVE",
      task_group: "service:api",
      task_arn: taskArn("f1"),
      task_definition: tdArn("fg", 1),
      availability_zone: "us-east-1a",
      launch_type: "FARGATE",
      last_status: "RUNNING",
      health_status: "HEALTHY",
      platform_family: "Linux",
      platform_version: "1.4.0",
      network_mode: "awsvpc",
      ip_address: "10.0.1.5",
      subnet_id: "subnet-0abc",
      public_ip: "3.1.2.3",
      tag_cluster_env: "prod",
      tag_service_team_name: "core",
    }),
  },
  {
    shape: "EC2 awsvpc: ENI address and subnet, the instance's facts, public_ip from the ENI (none)",
    world: { ...base, ec2Instances: { "i-01": HOST } },
    task: {
      ...ec2Task("e1", tdArn("fg", 1), ciArn("ci1"), [{ name: "app" }], { eniIp: "10.0.2.7" }),
      attachments: [
        {
          type: "ElasticNetworkInterface",
          details: [
            { name: "subnetId", value: "subnet-0def" },
            { name: "networkInterfaceId", value: "eni-e1" },
            { name: "privateIPv4Address", value: "10.0.2.7" },
          ],
        },
      ],
    },
    labels: meta({
      service: "worker",
      service_arn: SERVICE_ARN("worker"),
      service_status: "ACTIVE",
      task_group: "service:worker",
      task_arn: taskArn("e1"),
      task_definition: tdArn("fg", 1),
      availability_zone: "us-east-1b",
      launch_type: "EC2",
      last_status: "RUNNING",
      network_mode: "awsvpc",
      ip_address: "10.0.2.7",
      subnet_id: "subnet-0def",
      container_instance_arn: ciArn("ci1"),
      ec2_instance_id: "i-01",
      ec2_instance_type: "m6i.large",
      ec2_instance_private_ip: "10.0.3.1",
      ec2_instance_public_ip: "54.0.0.1",
      tag_ec2_Name: "ecs-host",
      tag_ec2_2fa: "on",
    }),
  },
  {
    shape:
      "bridge on a tagged instance: host IP, the instance's subnet and public IP, a leading-digit tag key",
    world: { ...base, ec2Instances: { "i-01": HOST } },
    task: {
      ...ec2Task("b1", tdArn("br", 1), ciArn("ci1"), [
        { name: "app", bindings: [{ containerPort: 9100, hostPort: 32768 }] },
      ]),
      tags: [{ key: "2fa", value: "required" }],
    },
    labels: meta({
      service: "worker",
      service_arn: SERVICE_ARN("worker"),
      service_status: "ACTIVE",
      task_group: "service:worker",
      task_arn: taskArn("b1"),
      task_definition: tdArn("br", 1),
      availability_zone: "us-east-1b",
      launch_type: "EC2",
      last_status: "RUNNING",
      network_mode: "bridge",
      ip_address: "10.0.3.1",
      subnet_id: "subnet-0host",
      public_ip: "54.0.0.1",
      container_instance_arn: ciArn("ci1"),
      ec2_instance_id: "i-01",
      ec2_instance_type: "m6i.large",
      ec2_instance_private_ip: "10.0.3.1",
      ec2_instance_public_ip: "54.0.0.1",
      tag_task_2fa: "required",
      tag_ec2_Name: "ecs-host",
      tag_ec2_2fa: "on",
    }),
  },
  {
    shape:
      "host mode, standalone (no service): network_mode bridge as Prometheus reports it, no service labels",
    world: { ...base, ec2Ips: { "i-01": "10.0.3.1" } },
    task: ec2Task("h1", tdArn("ho", 1), ciArn("ci1"), [{ name: "app" }], { group: "family:ho" }),
    labels: meta({
      task_group: "family:ho",
      task_arn: taskArn("h1"),
      task_definition: tdArn("ho", 1),
      availability_zone: "us-east-1b",
      launch_type: "EC2",
      last_status: "RUNNING",
      network_mode: "bridge",
      ip_address: "10.0.3.1",
      container_instance_arn: ciArn("ci1"),
      ec2_instance_id: "i-01",
      ec2_instance_private_ip: "10.0.3.1",
    }),
  },
  {
    shape: "ECS Anywhere (an mi- instance, no EC2 address): skipped like Prometheus skips a task without one",
    world: {
      containerInstances: [{ containerInstanceArn: ciArn("ext1"), ec2InstanceId: "mi-0123456789abcdef0" }],
    },
    task: {
      ...ec2Task("x1", tdArn("br", 1), ciArn("ext1"), [
        { name: "app", bindings: [{ containerPort: 9100, hostPort: 32768 }] },
      ]),
      launchType: "EXTERNAL",
    },
    labels: "skipped",
  },
];

describe("native ECS labels per task shape", () => {
  it.each(CASES)("$shape", async ({ world, task, labels }) => {
    const ecs = new FakeEcsApi({ ...world, taskDefs: DEFS, tasks: [task] });
    const { src } = fakeEcsSource(ecs);
    const [unit] = (await src.refresh()).units;
    if (!unit?.ok) throw new Error("the cluster unit failed");
    if (labels === "skipped") {
      expect(unit.targets).toEqual([]);
      expect(ecs.calls.DescribeInstances).toBeUndefined(); // an mi- id would fail the whole EC2 batch
      return;
    }
    expect(unit.targets).toHaveLength(1);
    const got = unit.targets[0]!.group.labels;
    expect(Object.fromEntries(Object.entries(got).filter(([k]) => isNative(k)))).toEqual(labels);
  });
});
