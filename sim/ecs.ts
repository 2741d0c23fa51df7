// ECS over AWS JSON 1.1 (X-Amz-Target AmazonEC2ContainerServiceV20141113.<Op>): the read operations a
// discovery tool uses, with ECS's batch limits, pagination and response shapes.
import type {
  Cluster,
  Container,
  ContainerDefinition,
  ContainerInstance,
  Failure,
  Service,
  Tag,
  Task,
  TaskDefinition,
} from "@aws-sdk/client-ecs";
import { stableHex } from "./ids.js";
import { byKey, limit, optString, page, stringList, type Wire } from "./paging.js";
import { SimAwsError } from "./protocol.js";
import {
  uuidFrom,
  type ClusterRec,
  type InstanceRec,
  type ServiceRec,
  type TaskDefRec,
  type TaskRec,
  type World,
} from "./state.js";

const invalid = (message: string) => new SimAwsError("InvalidParameterException", message);
const badToken = () => invalid("Invalid nextToken");
const sec = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

export interface EcsOptions {
  /** Bridge/host tasks also report the IPv6 ("::") binding of each port, as current ECS agents do. */
  ipv6Bindings: boolean;
}

function tags(t: Record<string, string>): Tag[] {
  return Object.entries(t).map(([key, value]) => ({ key, value }));
}

function clusterOrThrow(world: World, params: Record<string, unknown>, region: string): ClusterRec {
  const ref = optString(params, "cluster", invalid) ?? "default";
  const cluster = world.findCluster(ref, region);
  if (!cluster) throw new SimAwsError("ClusterNotFoundException", "Cluster not found.");
  return cluster;
}

/** Cluster names and ARNs a request touches (for per-cluster fault rules). */
export function ecsClusters(
  world: World,
  operation: string,
  params: Record<string, unknown>,
  region: string,
): string[] {
  const refs: string[] =
    operation === "DescribeClusters"
      ? Array.isArray(params.clusters)
        ? (params.clusters as unknown[]).map(String)
        : ["default"]
      : operation === "ListClusters" ||
          operation === "DescribeTaskDefinition" ||
          operation === "ListTagsForResource"
        ? []
        : [typeof params.cluster === "string" ? params.cluster : "default"];
  return refs.flatMap((ref) => {
    const c = world.findCluster(ref, region);
    return c ? [c.name, c.arn] : [ref];
  });
}

export function handleEcs(
  world: World,
  operation: string,
  params: Record<string, unknown>,
  region: string,
  opts: EcsOptions,
): unknown {
  switch (operation) {
    case "ListClusters": {
      const max = limit(params, "maxResults", 1, 100, 100, invalid);
      const all = [...world.clusters.values()].filter((c) => c.region === region).sort(byKey((c) => c.arn));
      const p = page(all, (c) => c.arn, params.nextToken, max, badToken);
      return { clusterArns: p.items.map((c) => c.arn), ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    }
    case "DescribeClusters": {
      const refs = stringList(params, "clusters", invalid) ?? ["default"];
      if (refs.length > 100) throw invalid("Too many clusters were provided. The maximum is 100.");
      const include = stringList(params, "include", invalid) ?? [];
      const clusters: Wire<Cluster>[] = [];
      const failures: Failure[] = [];
      for (const ref of refs) {
        const c = world.findCluster(ref, region);
        if (c) clusters.push(renderCluster(world, c, include.includes("TAGS")));
        else
          failures.push({
            arn: ref.startsWith("arn:") ? ref : world.arn("ecs", region, `cluster/${ref}`),
            reason: "MISSING",
          });
      }
      return { clusters, failures };
    }
    case "ListTasks": {
      const cluster = clusterOrThrow(world, params, region);
      const max = limit(params, "maxResults", 1, 100, 100, invalid);
      const desired = optString(params, "desiredStatus", invalid) ?? "RUNNING";
      if (!["RUNNING", "PENDING", "STOPPED"].includes(desired))
        throw invalid(`desiredStatus must be one of RUNNING, PENDING, STOPPED, got ${desired}`);
      const serviceName = optString(params, "serviceName", invalid);
      const family = optString(params, "family", invalid);
      const startedBy = optString(params, "startedBy", invalid);
      const launchType = optString(params, "launchType", invalid);
      const instanceRef = optString(params, "containerInstance", invalid);
      if (serviceName && family)
        throw invalid("The serviceName and family parameters can't both be specified.");
      let service: ServiceRec | undefined;
      if (serviceName) {
        service = world.findService(cluster, serviceName);
        if (!service) throw new SimAwsError("ServiceNotFoundException", "Service not found.");
      }
      let instance: InstanceRec | undefined;
      if (instanceRef) {
        instance = world.findInstance(cluster, instanceRef);
        if (!instance) throw invalid("The referenced container instance was not found.");
      }
      const matching: TaskRec[] = [];
      for (const t of cluster.tasks.values()) {
        // PENDING lists tasks not yet RUNNING whose desired status is RUNNING.
        if (
          desired === "PENDING"
            ? t.desiredStatus !== "RUNNING" || t.lastStatus === "RUNNING"
            : t.desiredStatus !== desired
        )
          continue;
        if (service && t.service !== service) continue;
        if (family && t.td.family !== family) continue;
        if (startedBy && t.startedBy !== startedBy) continue;
        if (launchType && t.launchType !== launchType) continue;
        if (instance && t.instance !== instance) continue;
        matching.push(t);
      }
      const p = page(matching, (t) => t.seq, params.nextToken, max, badToken);
      return { taskArns: p.items.map((t) => t.arn), ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    }
    case "DescribeTasks": {
      const cluster = clusterOrThrow(world, params, region);
      const refs = stringList(params, "tasks", invalid);
      if (!refs || refs.length === 0) throw invalid("Tasks cannot be empty.");
      if (refs.length > 100) throw invalid("Too many tasks were provided. The maximum is 100.");
      const withTags = (stringList(params, "include", invalid) ?? []).includes("TAGS");
      const tasks: Wire<Task>[] = [];
      const failures: Failure[] = [];
      const shown: TaskRec[] = [];
      for (const ref of refs) {
        const t = world.findTask(cluster, ref);
        if (!t) {
          failures.push({ arn: ref, reason: "MISSING" });
          continue;
        }
        tasks.push(renderTask(world, t, withTags, opts));
        shown.push(t);
      }
      for (const t of shown) world.describedOnce(t);
      return { tasks, failures };
    }
    case "DescribeTaskDefinition": {
      const ref = optString(params, "taskDefinition", invalid);
      if (!ref) throw new SimAwsError("ClientException", "TaskDefinition cannot be empty.");
      const td = world.findTaskDef(ref);
      if (!td) throw new SimAwsError("ClientException", "Unable to describe task definition.");
      const withTags = (stringList(params, "include", invalid) ?? []).includes("TAGS");
      return { taskDefinition: renderTaskDefinition(td), ...(withTags ? { tags: tags(td.tags) } : {}) };
    }
    case "ListContainerInstances": {
      const cluster = clusterOrThrow(world, params, region);
      const max = limit(params, "maxResults", 1, 100, 100, invalid);
      const all = [...cluster.instances.values()].sort(byKey((i) => i.arn));
      const p = page(all, (i) => i.arn, params.nextToken, max, badToken);
      return {
        containerInstanceArns: p.items.map((i) => i.arn),
        ...(p.nextToken ? { nextToken: p.nextToken } : {}),
      };
    }
    case "DescribeContainerInstances": {
      const cluster = clusterOrThrow(world, params, region);
      const refs = stringList(params, "containerInstances", invalid);
      if (!refs || refs.length === 0) throw invalid("ContainerInstances cannot be empty.");
      if (refs.length > 100) throw invalid("Too many containerInstances were provided. The maximum is 100.");
      const containerInstances: Wire<ContainerInstance>[] = [];
      const failures: Failure[] = [];
      for (const ref of refs) {
        const inst = world.findInstance(cluster, ref);
        if (inst) containerInstances.push(renderInstance(cluster, inst));
        else failures.push({ arn: ref, reason: "MISSING" });
      }
      return { containerInstances, failures };
    }
    case "ListServices": {
      const cluster = clusterOrThrow(world, params, region);
      const max = limit(params, "maxResults", 1, 100, 10, invalid);
      const launchType = optString(params, "launchType", invalid);
      const all = [...cluster.services.values()]
        .filter((s) => !launchType || s.launchType === launchType)
        .sort(byKey((s) => s.arn));
      const p = page(all, (s) => s.arn, params.nextToken, max, badToken);
      return { serviceArns: p.items.map((s) => s.arn), ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    }
    case "DescribeServices": {
      const cluster = clusterOrThrow(world, params, region);
      const refs = stringList(params, "services", invalid);
      if (!refs || refs.length === 0) throw invalid("Services cannot be empty.");
      if (refs.length > 10) throw invalid("Too many services were provided. The maximum is 10.");
      const withTags = (stringList(params, "include", invalid) ?? []).includes("TAGS");
      const services: Wire<Service>[] = [];
      const failures: Failure[] = [];
      for (const ref of refs) {
        const s = world.findService(cluster, ref);
        if (s) services.push(renderService(world, s, withTags));
        else
          failures.push({
            arn: ref.startsWith("arn:") ? ref : world.arn("ecs", region, `service/${cluster.name}/${ref}`),
            reason: "MISSING",
          });
      }
      return { services, failures };
    }
    case "ListTagsForResource": {
      const arn = optString(params, "resourceArn", invalid);
      if (!arn) throw invalid("resourceArn cannot be empty.");
      const found = findTagged(world, arn);
      if (!found) throw invalid("The specified resource could not be found.");
      return { tags: tags(found) };
    }
    default:
      throw new SimAwsError(
        "UnknownOperationException",
        `The simulated ECS endpoint does not implement ${operation}.`,
      );
  }
}

function findTagged(world: World, arn: string): Record<string, string> | undefined {
  const c = world.clusters.get(arn);
  if (c) return c.tags;
  const td = world.taskDefs.get(arn);
  if (td) return td.tags;
  for (const cluster of world.clusters.values()) {
    if (!arn.includes(`/${cluster.name}/`)) continue;
    const t = world.findTask(cluster, arn);
    if (t) return t.tags;
    const s = world.findService(cluster, arn);
    if (s) return s.tags;
    if (world.findInstance(cluster, arn)) return {};
  }
  return undefined;
}

function renderCluster(world: World, c: ClusterRec, withTags: boolean): Wire<Cluster> {
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
function containerArn(world: World, t: TaskRec, name: string): string {
  let byName = containerArns.get(t);
  if (!byName) containerArns.set(t, (byName = new Map()));
  let arn = byName.get(name);
  if (!arn) {
    arn = world.arn(
      "ecs",
      t.cluster.region,
      `container/${t.cluster.name}/${t.id}/${uuidFrom(`${t.id}/${name}`)}`,
    );
    byName.set(name, arn);
  }
  return arn;
}

/** The task as DescribeTasks returns it; network details appear only once the task has them. */
export function renderTask(world: World, t: TaskRec, withTags: boolean, opts: EcsOptions): Wire<Task> {
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
      containerArn: containerArn(world, t, cd.name),
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

function renderInstance(cluster: ClusterRec, i: InstanceRec): Wire<ContainerInstance> {
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

function renderService(world: World, s: ServiceRec, withTags: boolean): Wire<Service> {
  const tasks = world.serviceTasks(s).filter((t) => t.desiredStatus === "RUNNING");
  const running = tasks.filter((t) => t.lastStatus === "RUNNING").length;
  const pending = tasks.length - running;
  const reg = s.registry
    ? world.findNamespace(s.registry.namespace, world.clusters.get(s.clusterArn)!.region)
    : undefined;
  const regService = reg?.services.get(s.registry!.service);
  return {
    serviceArn: s.arn,
    serviceName: s.name,
    clusterArn: s.clusterArn,
    loadBalancers: [],
    serviceRegistries: regService ? [{ registryArn: regService.arn }] : [],
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
              subnets: world.azs.map((az) => `subnet-${stableHex(`${s.arn.split(":")[3]}/${az}`, 17)}`),
              securityGroups: ["sg-0sim"],
              assignPublicIp: "DISABLED",
            },
          },
        }
      : {}),
    schedulingStrategy: "REPLICA",
    deploymentController: { type: "ECS" },
    ...(withTags ? { tags: tags(s.tags) } : {}),
    createdBy: `arn:aws:iam::${world.accountId}:root`,
    enableECSManagedTags: false,
    propagateTags: Object.keys(s.taskTags).length > 0 ? "SERVICE" : "NONE",
    enableExecuteCommand: false,
  };
}
