// ECS records of the simulated world (task definitions, clusters, container instances and their EC2 hosts,
// services, tasks) and the views tests see of them: a task's summary and its reachable addresses.
import { stableHex } from "./ids.js";
import type {
  ContainerDefinitionSpec,
  LaunchType,
  NetworkMode,
  ServiceRegistrySpec,
  SimEndpoint,
  SimTaskInfo,
  Tags,
  TaskHealth,
  TaskStatus,
} from "./types.js";

export interface TaskDefRec {
  arn: string;
  family: string;
  revision: number;
  networkMode: NetworkMode;
  compat: LaunchType[];
  cpu?: string;
  memory?: string;
  containers: ContainerDefinitionSpec[];
  tags: Tags;
  registeredAt: number;
}

/** A container instance and the EC2 host behind it (the sim's EC2 DescribeInstances serves these). */
export interface InstanceRec {
  arn: string;
  id: string;
  clusterArn: string;
  ec2InstanceId: string;
  privateIp: string;
  az: string;
  instanceType: string;
  region: string;
  /** Host ports in use, as `tcp/8080`. */
  usedPorts: Set<string>;
  nextDynamicPort: number;
  registeredAt: number;
}

export interface ServiceRec {
  arn: string;
  name: string;
  clusterArn: string;
  td: TaskDefRec;
  desiredCount: number;
  launchType: LaunchType;
  tags: Tags;
  taskTags: Tags;
  health: TaskHealth;
  registry?: ServiceRegistrySpec;
  deploymentId: string;
  createdAt: number;
}

export interface PortRec {
  container: string;
  containerPort: number;
  /** bridge/host only. */
  hostPort?: number;
  protocol: "tcp" | "udp";
  name?: string;
}

export interface TaskRec {
  seq: number;
  id: string;
  arn: string;
  cluster: ClusterRec;
  td: TaskDefRec;
  launchType: LaunchType;
  group: string;
  startedBy?: string;
  service?: ServiceRec;
  lastStatus: TaskStatus;
  desiredStatus: "RUNNING" | "STOPPED";
  health: TaskHealth;
  az: string;
  subnetId: string;
  /** awsvpc ENI address (assigned at creation, shown once the task leaves PROVISIONING). */
  ip?: string;
  eni?: { id: string; mac: string; attachmentId: string };
  instance?: InstanceRec;
  ports: PortRec[];
  tags: Tags;
  createdAt: number;
  startedAt?: number;
  stoppedAt?: number;
  stoppedReason?: string;
  stopCode?: string;
  /** DescribeTasks responses left before RUNNING, or "advance" (only sim.advance() moves it). */
  pending: number | "advance";
  pendingStatus: "PROVISIONING" | "PENDING";
  version: number;
}

export interface ClusterRec {
  arn: string;
  name: string;
  region: string;
  tags: Tags;
  instances: Map<string, InstanceRec>;
  services: Map<string, ServiceRec>;
  /** By task id, in creation order (pagination walks it by seq). */
  tasks: Map<string, TaskRec>;
  rrInstance: number;
  rrAz: number;
}

/** Reachable addresses of a RUNNING task's port mappings. */
export function taskEndpoints(task: TaskRec): SimEndpoint[] {
  if (task.lastStatus !== "RUNNING") return [];
  const labels = new Map(task.td.containers.map((c) => [c.name, c.dockerLabels]));
  return task.ports.flatMap((p) => {
    const host = task.td.networkMode === "awsvpc" ? task.ip : task.instance?.privateIp;
    const port = task.td.networkMode === "awsvpc" ? p.containerPort : p.hostPort;
    if (!host || !port) return [];
    const dockerLabels = labels.get(p.container);
    return [
      {
        source: "ecs" as const,
        host,
        port,
        cluster: task.cluster.name,
        ...(task.service ? { service: task.service.name } : {}),
        taskArn: task.arn,
        container: p.container,
        containerPort: p.containerPort,
        ...(p.name ? { portName: p.name } : {}),
        ...(dockerLabels ? { dockerLabels } : {}),
      },
    ];
  });
}

export function taskInfo(task: TaskRec): SimTaskInfo {
  const visibleIp = task.lastStatus === "RUNNING" ? task.ip : undefined;
  return {
    arn: task.arn,
    id: task.id,
    cluster: task.cluster.name,
    clusterArn: task.cluster.arn,
    ...(task.service ? { service: task.service.name } : {}),
    group: task.group,
    taskDefinitionArn: task.td.arn,
    launchType: task.launchType,
    networkMode: task.td.networkMode,
    lastStatus: task.lastStatus,
    desiredStatus: task.desiredStatus,
    availabilityZone: task.az,
    ...(visibleIp ? { ip: visibleIp } : {}),
    ...(task.instance
      ? {
          containerInstanceArn: task.instance.arn,
          ec2InstanceId: task.instance.ec2InstanceId,
          hostIp: task.instance.privateIp,
        }
      : {}),
    ports: taskEndpoints(task),
  };
}

/** A cluster as the JSON state view shows it. */
export function clusterSummary(c: ClusterRec): Record<string, unknown> {
  const tasks = [...c.tasks.values()];
  return {
    name: c.name,
    region: c.region,
    arn: c.arn,
    containerInstances: c.instances.size,
    services: [...c.services.values()].map((s) => ({
      name: s.name,
      desiredCount: s.desiredCount,
      running: tasks.filter((t) => t.service === s && t.lastStatus === "RUNNING").length,
    })),
    tasks: tasks.map(taskInfo),
  };
}

export function macFrom(seed: string): string {
  const hex = stableHex(seed + "mac", 10);
  return ["0a", ...hex.match(/../g)!].join(":");
}

export function uuidFrom(seed: string): string {
  const h = stableHex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
