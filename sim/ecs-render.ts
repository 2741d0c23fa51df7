// ECS response shapes: clusters, tasks (network details per network mode and lifecycle state), task
// definitions, container instances and services, as DescribeX returns them on the JSON wire.
import type {
  Cluster,
  Container,
  ContainerDefinition,
  ContainerInstance,
  Service,
  Tag,
  Task,
  TaskDefinition,
} from "@aws-sdk/client-ecs";
import {
  uuidFrom,
  type ClusterRec,
  type InstanceRec,
  type ServiceRec,
  type TaskDefRec,
  type TaskRec,
} from "./ecs-model.js";
import type { EcsState } from "./ecs-state.js";
import { stableHex } from "./ids.js";
import type { Wire } from "./paging.js";

const sec = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

export interface EcsOptions {
  /** Bridge/host tasks also report the IPv6 ("::") binding of each port, as current ECS agents do. */
  ipv6Bindings: boolean;
}

export function tags(t: Record<string, string>): Tag[] {
  return Object.entries(t).map(([key, value]) => ({ key, value }));
}

export function renderCluster(ecs: EcsState, c: ClusterRec, withTags: boolean): Wire<Cluster> {
  let running = 0;
  let pending = 0;
  for (const t of c.tasks.values()) {
    if (t.desiredStatus !== "RUNNING") continue;
    if (t.lastStatus === "RUNNING") running++;
    else pending++;
  }
  return {
    clusterArn: c.arn,
    clusterName: c.name,
    status: "ACTIVE",
    registeredContainerInstancesCount: c.instances.size,
    runningTasksCount: running,
    pendingTasksCount: pending,
    activeServicesCount: c.services.size,
    statistics: [],
    ...(withTags ? { tags: tags(c.tags) } : {}),
    settings: [{ name: "containerInsights", value: "disabled" }],
    capacityProviders: [],
    defaultCapacityProviderStrategy: [],
  };
}

const containerArns = new WeakMap<TaskRec, Map<string, string>>();

/** Container ARNs are derived by hashing; compute them once per task. */
function containerArn(ecs: EcsState, t: TaskRec, name: string): string {
  let byName = containerArns.get(t);
  if (!byName) containerArns.set(t, (byName = new Map()));
  let arn = byName.get(name);
  if (!arn) {
    arn = ecs.ctx.arn(
      "ecs",
      t.cluster.region,
      `container/${t.cluster.name}/${t.id}/${uuidFrom(`${t.id}/${name}`)}`,
    );
    byName.set(name, arn);
  }
  return arn;
}

/** The task as DescribeTasks returns it; network details appear only once the task has them. */
export function renderTask(ecs: EcsState, t: TaskRec, withTags: boolean, opts: EcsOptions): Wire<Task> {
  const mode = t.td.networkMode;
  const hasNetwork = t.lastStatus === "RUNNING" || t.lastStatus === "STOPPED";
  const containerStatus = t.lastStatus === "PROVISIONING" ? "PENDING" : t.lastStatus;
  const attachments =
    mode === "awsvpc" && t.eni
      ? [
          {
            id: t.eni.attachmentId,
            type: "ElasticNetworkInterface",
            status: {
              PROVISIONING: "PRECREATED",
              PENDING: "ATTACHING",
              RUNNING: "ATTACHED",
              STOPPED: "DELETED",
            }[t.lastStatus],
            details: [
              { name: "subnetId", value: t.subnetId },
              ...(hasNetwork
                ? [
                    { name: "networkInterfaceId", value: t.eni.id },
                    { name: "macAddress", value: t.eni.mac },
                    { name: "privateDnsName", value: `ip-${t.ip!.replace(/\./g, "-")}.ec2.internal` },
                    { name: "privateIPv4Address", value: t.ip! },
                  ]
                : []),
            ],
          },
        ]
      : [];
  const containers: Wire<Container>[] = t.td.containers.map((cd, i) => {
    const ports = t.ports.filter((p) => p.container === cd.name);
    const bindings =
      (mode === "bridge" || mode === "host") && t.lastStatus === "RUNNING"
        ? ports.flatMap((p) => {
            const b = {
              bindIP: "0.0.0.0",
              containerPort: p.containerPort,
              hostPort: p.hostPort!,
              protocol: p.protocol,
            };
            return opts.ipv6Bindings ? [b, { ...b, bindIP: "::" }] : [b];
          })
        : undefined;
    return {
      containerArn: containerArn(ecs, t, cd.name),
      taskArn: t.arn,
      name: cd.name,
      image: cd.image ?? `public.ecr.aws/example/${cd.name}:latest`,
      ...(t.lastStatus === "RUNNING" ? { runtimeId: `${t.id}-${i}` } : {}),
      lastStatus: containerStatus,
      ...(t.lastStatus === "STOPPED" ? { exitCode: 0 } : {}),
      networkBindings: bindings ?? [],
      networkInterfaces:
        mode === "awsvpc" && hasNetwork && t.eni
          ? [{ attachmentId: t.eni.attachmentId, privateIpv4Address: t.ip! }]
          : [],
      healthStatus: t.health,
      cpu: String(cd.cpu ?? 0),
      ...(cd.memory ? { memory: String(cd.memory) } : {}),
    };
  });
  return {
    attachments,
    attributes: [{ name: "ecs.cpu-architecture", value: "x86_64" }],
    availabilityZone: t.az,
    clusterArn: t.cluster.arn,
    ...(t.lastStatus === "RUNNING" ? { connectivity: "CONNECTED", connectivityAt: sec(t.startedAt) } : {}),
    ...(t.instance ? { containerInstanceArn: t.instance.arn } : {}),
    containers,
    cpu: t.td.cpu,
    createdAt: sec(t.createdAt),
    desiredStatus: t.desiredStatus,
    enableExecuteCommand: false,
    group: t.group,
    healthStatus: t.health,
    lastStatus: t.lastStatus,
    launchType: t.launchType,
    memory: t.td.memory,
    overrides: {
      containerOverrides: t.td.containers.map((c) => ({ name: c.name })),
      inferenceAcceleratorOverrides: [],
    },
    ...(t.launchType === "FARGATE"
      ? { platformVersion: "1.4.0", platformFamily: "Linux", ephemeralStorage: { sizeInGiB: 20 } }
      : {}),
    ...(t.startedAt !== undefined
      ? { startedAt: sec(t.startedAt), pullStartedAt: sec(t.createdAt), pullStoppedAt: sec(t.startedAt) }
      : {}),
    ...(t.startedBy ? { startedBy: t.startedBy } : {}),
    ...(t.stoppedAt !== undefined
      ? {
          stoppedAt: sec(t.stoppedAt),
          stoppingAt: sec(t.stoppedAt),
          executionStoppedAt: sec(t.stoppedAt),
          stoppedReason: t.stoppedReason,
          stopCode: t.stopCode as Task["stopCode"],
        }
      : {}),
    ...(withTags ? { tags: tags(t.tags) } : {}),
    taskArn: t.arn,
    taskDefinitionArn: t.td.arn,
    version: t.version,
  };
}

export function renderTaskDefinition(td: TaskDefRec): Wire<TaskDefinition> {
  const containerDefinitions: Wire<ContainerDefinition>[] = td.containers.map((c) => ({
    name: c.name,
    image: c.image ?? `public.ecr.aws/example/${c.name}:latest`,
    cpu: c.cpu ?? 0,
    ...(c.memory ? { memory: c.memory } : {}),
    portMappings: (c.portMappings ?? []).map((pm) => ({
      containerPort: pm.containerPort,
      // awsvpc and host: hostPort equals containerPort; bridge: as registered (0 = dynamic).
      hostPort: td.networkMode === "bridge" ? (pm.hostPort ?? 0) : pm.containerPort,
      protocol: pm.protocol ?? "tcp",
      ...(pm.name ? { name: pm.name } : {}),
      ...(pm.appProtocol ? { appProtocol: pm.appProtocol } : {}),
    })),
    essential: c.essential ?? true,
    environment: [],
    mountPoints: [],
    volumesFrom: [],
    ...(c.dockerLabels && Object.keys(c.dockerLabels).length > 0 ? { dockerLabels: c.dockerLabels } : {}),
    ...(c.healthCheck
      ? { healthCheck: { command: c.healthCheck.command, interval: 30, timeout: 5, retries: 3 } }
      : {}),
    systemControls: [],
  }));
  const compatibilities = td.compat.includes("FARGATE")
    ? ["EC2" as const, "FARGATE" as const]
    : ["EC2" as const];
  return {
    taskDefinitionArn: td.arn,
    containerDefinitions,
    family: td.family,
    networkMode: td.networkMode,
    revision: td.revision,
    volumes: [],
    status: "ACTIVE",
    requiresAttributes: [],
    placementConstraints: [],
    compatibilities,
    requiresCompatibilities: td.compat,
    cpu: td.cpu,
    memory: td.memory,
    registeredAt: sec(td.registeredAt),
    registeredBy: `arn:aws:iam::${td.arn.split(":")[4]}:root`,
  };
}

export function renderInstance(cluster: ClusterRec, i: InstanceRec): Wire<ContainerInstance> {
  let running = 0;
  let pending = 0;
  for (const t of cluster.tasks.values()) {
    if (t.instance !== i || t.desiredStatus !== "RUNNING") continue;
    if (t.lastStatus === "RUNNING") running++;
    else pending++;
  }
  return {
    containerInstanceArn: i.arn,
    ec2InstanceId: i.ec2InstanceId,
    version: 1,
    versionInfo: { agentVersion: "1.89.0", agentHash: "0a1b2c3d", dockerVersion: "DockerVersion: 25.0.8" },
    remainingResources: [],
    registeredResources: [
      { name: "CPU", type: "INTEGER", integerValue: 2048 },
      { name: "MEMORY", type: "INTEGER", integerValue: 7680 },
    ],
    status: "ACTIVE",
    agentConnected: true,
    runningTasksCount: running,
    pendingTasksCount: pending,
    attributes: [
      { name: "ecs.availability-zone", value: i.az },
      { name: "ecs.instance-type", value: i.instanceType },
      { name: "ecs.os-type", value: "linux" },
    ],
    registeredAt: sec(i.registeredAt),
    attachments: [],
    tags: [],
  };
}

export function renderService(ecs: EcsState, s: ServiceRec, withTags: boolean): Wire<Service> {
  const tasks = ecs.serviceTasks(s).filter((t) => t.desiredStatus === "RUNNING");
  const running = tasks.filter((t) => t.lastStatus === "RUNNING").length;
  const pending = tasks.length - running;
  const registryArn = ecs.registryArn(s);
  return {
    serviceArn: s.arn,
    serviceName: s.name,
    clusterArn: s.clusterArn,
    loadBalancers: [],
    serviceRegistries: registryArn ? [{ registryArn }] : [],
    status: "ACTIVE",
    desiredCount: s.desiredCount,
    runningCount: running,
    pendingCount: pending,
    launchType: s.launchType,
    ...(s.launchType === "FARGATE" ? { platformVersion: "LATEST", platformFamily: "Linux" } : {}),
    taskDefinition: s.td.arn,
    deploymentConfiguration: { maximumPercent: 200, minimumHealthyPercent: 100 },
    deployments: [
      {
        id: `ecs-svc/${s.deploymentId}`,
        status: "PRIMARY",
        taskDefinition: s.td.arn,
        desiredCount: s.desiredCount,
        pendingCount: pending,
        runningCount: running,
        failedTasks: 0,
        createdAt: sec(s.createdAt),
        updatedAt: sec(s.createdAt),
        launchType: s.launchType,
        rolloutState: "COMPLETED",
        rolloutStateReason: "ECS deployment ecs-svc/" + s.deploymentId + " completed.",
      },
    ],
    events: [],
    createdAt: sec(s.createdAt),
    placementConstraints: [],
    placementStrategy: [],
    ...(s.td.networkMode === "awsvpc"
      ? {
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: ecs.ctx.azs.map((az) => `subnet-${stableHex(`${s.arn.split(":")[3]}/${az}`, 17)}`),
              securityGroups: ["sg-0sim"],
              assignPublicIp: "DISABLED",
            },
          },
        }
      : {}),
    schedulingStrategy: "REPLICA",
    deploymentController: { type: "ECS" },
    ...(withTags ? { tags: tags(s.tags) } : {}),
    createdBy: `arn:aws:iam::${ecs.ctx.accountId}:root`,
    enableECSManagedTags: false,
    propagateTags: Object.keys(s.taskTags).length > 0 ? "SERVICE" : "NONE",
    enableExecuteCommand: false,
  };
}
