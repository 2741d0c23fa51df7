// ECS state of one simulated account: task definitions, clusters with their container instances, services
// and tasks, and the mutations (start, stop, scale, place, lifecycle) that change it the way ECS would.
// Services with a registry register their RUNNING tasks in Cloud Map.
import type { CloudMapState } from "./cloudmap-state.js";
import type { AccountContext } from "./context.js";
import {
  macFrom,
  taskEndpoints,
  uuidFrom,
  type ClusterRec,
  type InstanceRec,
  type PortRec,
  type ServiceRec,
  type TaskDefRec,
  type TaskRec,
} from "./ecs-model.js";
import { stableHex } from "./ids.js";
import { SimScenarioError } from "./protocol.js";
import type { ContainerInstanceSpec, LaunchType, Scenario, SimEndpoint, TaskSpec } from "./types.js";

type Lifecycle = { pendingDescribes: number | "advance"; pendingStatus: "PROVISIONING" | "PENDING" };

/** A record by its key (the last ARN segment) or its full ARN. */
function byRef<T extends { arn: string }>(map: Map<string, T>, ref: string): T | undefined {
  const isArn = ref.startsWith("arn:");
  const rec = map.get(isArn ? ref.slice(ref.lastIndexOf("/") + 1) : ref);
  return rec && (!isArn || rec.arn === ref) ? rec : undefined;
}

export class EcsState {
  readonly taskDefs = new Map<string, TaskDefRec>(); // by ARN
  readonly clusters = new Map<string, ClusterRec>(); // by ARN
  private readonly hostPortStart: number;
  private readonly hostPortEnd: number;
  private readonly lifecycle: Lifecycle;
  private seq = 0;
  /**
   * Called after every change of a task's version (the event bus turns it into a task state change event);
   * `healthOnly` when only its health changed.
   */
  onTaskChange: ((task: TaskRec, healthOnly?: boolean) => void) | undefined;

  constructor(
    readonly ctx: AccountContext,
    readonly cloudMap: CloudMapState,
    scenario: Scenario,
  ) {
    this.hostPortStart = scenario.hostPorts?.start ?? 32768;
    this.hostPortEnd = scenario.hostPorts?.end ?? 60999;
    this.lifecycle = {
      pendingDescribes: scenario.lifecycle?.pendingDescribes ?? 0,
      pendingStatus: scenario.lifecycle?.pendingStatus ?? "PROVISIONING",
    };
  }

  /** A cluster by name (in `region`) or ARN; undefined when unknown. */
  findCluster(ref: string, region: string): ClusterRec | undefined {
    if (ref.startsWith("arn:")) return this.clusters.get(ref);
    return this.clusters.get(this.ctx.arn("ecs", region, `cluster/${ref}`));
  }

  /** For mutations: a name may live in any region; prefer the scenario region. */
  clusterForMutation(ref: string): ClusterRec {
    const found =
      this.findCluster(ref, this.ctx.region) ??
      [...this.clusters.values()].find((c) => c.name === ref || c.arn === ref);
    if (!found)
      throw new SimScenarioError(
        `unknown cluster ${JSON.stringify(ref)}; known: ${[...this.clusters.values()].map((c) => c.name).join(", ")}`,
      );
    return found;
  }

  /** `family`, `family:rev` or an ARN (any region of this account). */
  findTaskDef(ref: string): TaskDefRec | undefined {
    if (ref.startsWith("arn:")) return this.taskDefs.get(ref);
    const [family, rev] = ref.split(":");
    let best: TaskDefRec | undefined;
    for (const td of this.taskDefs.values()) {
      if (td.family !== family) continue;
      if (rev !== undefined) {
        if (String(td.revision) === rev) return td;
      } else if (!best || td.revision > best.revision) best = td;
    }
    return best;
  }

  resolveTaskDef(ref: string, where: string): TaskDefRec {
    const td = this.findTaskDef(ref);
    if (!td) {
      const known = [...this.taskDefs.values()].map((t) => `${t.family}:${t.revision}`).join(", ") || "none";
      throw new SimScenarioError(
        `${where}: unknown task definition ${JSON.stringify(ref)} (known: ${known})`,
      );
    }
    return td;
  }

  findTask(cluster: ClusterRec, ref: string): TaskRec | undefined {
    return byRef(cluster.tasks, ref);
  }

  findInstance(cluster: ClusterRec, ref: string): InstanceRec | undefined {
    return byRef(cluster.instances, ref);
  }

  findService(cluster: ClusterRec, ref: string): ServiceRec | undefined {
    return byRef(cluster.services, ref);
  }

  // ---------- ECS mutations ----------

  addContainerInstance(cluster: ClusterRec, spec: ContainerInstanceSpec): InstanceRec {
    const n = cluster.instances.size;
    const id = spec.id ?? stableHex(`${cluster.arn}/ci/${n}`, 32);
    if (spec.ec2InstanceId !== undefined && !/^i-[0-9a-f]{8,17}$/.test(spec.ec2InstanceId))
      throw new SimScenarioError(
        `container instance ${id}: ec2InstanceId must look like i-0123456789abcdef0, got ${JSON.stringify(spec.ec2InstanceId)}`,
      );
    const rec: InstanceRec = {
      arn: this.ctx.arn("ecs", cluster.region, `container-instance/${cluster.name}/${id}`),
      id,
      clusterArn: cluster.arn,
      ec2InstanceId: spec.ec2InstanceId ?? `i-${stableHex(`${cluster.arn}/ec2/${id}`, 17)}`,
      privateIp: spec.privateIp ?? this.ctx.instanceIps.allocate(),
      az: spec.availabilityZone ?? this.ctx.azs[n % this.ctx.azs.length]!,
      instanceType: spec.instanceType ?? "m5.large",
      region: cluster.region,
      usedPorts: new Set(),
      nextDynamicPort: this.hostPortStart,
      registeredAt: this.ctx.now(),
    };
    cluster.instances.set(id, rec);
    return rec;
  }

  /** Starts a standalone task (or a service task when `service` is given). */
  startTask(
    clusterRef: string,
    spec: TaskSpec & { pendingStatus?: "PROVISIONING" | "PENDING" },
    where = "startTask",
    service?: ServiceRec,
  ): TaskRec {
    const cluster = this.clusterForMutation(clusterRef);
    const td = service?.td ?? this.resolveTaskDef(spec.taskDefinition, where);
    const launchType: LaunchType =
      spec.launchType ??
      service?.launchType ??
      (td.networkMode === "awsvpc" && td.compat.includes("FARGATE") ? "FARGATE" : "EC2");
    if (launchType === "FARGATE" && td.networkMode !== "awsvpc")
      throw new SimScenarioError(
        `${where}: FARGATE needs networkMode awsvpc, ${td.family} has ${td.networkMode}`,
      );
    const seq = ++this.seq;
    const id = stableHex(`${cluster.arn}/task/${seq}`, 32);
    const ports: PortRec[] = td.containers.flatMap((c) =>
      (c.portMappings ?? []).map((pm) => ({
        container: c.name,
        containerPort: pm.containerPort,
        protocol: pm.protocol ?? "tcp",
        ...(pm.name ? { name: pm.name } : {}),
        ...(td.networkMode === "host" ? { hostPort: pm.containerPort } : {}),
        ...(td.networkMode === "bridge" ? { hostPort: pm.hostPort ?? 0 } : {}),
      })),
    );
    let instance: InstanceRec | undefined;
    if (launchType === "EC2") instance = this.place(cluster, ports, spec.containerInstance, where);
    const az = spec.availabilityZone ?? instance?.az ?? this.ctx.azs[cluster.rrAz++ % this.ctx.azs.length]!;
    let ip: string | undefined;
    if (td.networkMode === "awsvpc") {
      ip = spec.ip ?? this.ctx.taskIps.allocate();
      this.ctx.taskIps.reserve(ip);
    }
    const pending = spec.pendingDescribes ?? this.lifecycle.pendingDescribes;
    const task: TaskRec = {
      seq,
      id,
      arn: this.ctx.arn("ecs", cluster.region, `task/${cluster.name}/${id}`),
      cluster,
      td,
      launchType,
      group: service ? `service:${service.name}` : (spec.group ?? `family:${td.family}`),
      ...(service
        ? { startedBy: `ecs-svc/${service.deploymentId}`, service }
        : spec.startedBy
          ? { startedBy: spec.startedBy }
          : {}),
      lastStatus: pending === 0 ? "RUNNING" : (spec.pendingStatus ?? this.lifecycle.pendingStatus),
      desiredStatus: "RUNNING",
      health: reportedHealth(td, spec.healthStatus ?? service?.health ?? "UNKNOWN", where),
      az,
      subnetId: `subnet-${stableHex(`${cluster.region}/${az}`, 17)}`,
      ...(ip
        ? {
            ip,
            eni: {
              id: `eni-${stableHex(id + "eni", 17)}`,
              mac: macFrom(id),
              attachmentId: uuidFrom(id + "att"),
            },
          }
        : {}),
      ...(instance ? { instance } : {}),
      ports,
      tags: { ...service?.taskTags, ...spec.tags },
      createdAt: this.ctx.now(),
      pending,
      pendingStatus: spec.pendingStatus ?? this.lifecycle.pendingStatus,
      version: 1,
    };
    cluster.tasks.set(id, task);
    if (task.lastStatus === "RUNNING") this.markRunning(task);
    else this.onTaskChange?.(task);
    return task;
  }

  /** Picks a container instance with the static host ports free and assigns dynamic ports. */
  private place(cluster: ClusterRec, ports: PortRec[], ref: string | undefined, where: string): InstanceRec {
    const all = [...cluster.instances.values()];
    if (all.length === 0)
      throw new SimScenarioError(
        `${where}: cluster ${cluster.name} has no container instances (EC2, bridge and host tasks need containerInstances)`,
      );
    let candidates: InstanceRec[];
    if (ref) {
      const inst = this.findInstance(cluster, ref);
      if (!inst) throw new SimScenarioError(`${where}: unknown container instance ${ref} in ${cluster.name}`);
      candidates = [inst];
    } else {
      const start = cluster.rrInstance++ % all.length;
      candidates = [...all.slice(start), ...all.slice(0, start)];
    }
    const fixed = ports.filter((p) => p.hostPort);
    const inst = candidates.find((i) => fixed.every((p) => !i.usedPorts.has(`${p.protocol}/${p.hostPort}`)));
    if (!inst)
      throw new SimScenarioError(
        `${where}: no container instance in ${cluster.name} has host ports ${fixed.map((p) => p.hostPort).join(", ")} free (RESOURCE:PORTS)`,
      );
    for (const p of ports) {
      if (p.hostPort === 0) {
        while (inst.usedPorts.has(`${p.protocol}/${inst.nextDynamicPort}`)) this.bumpPort(inst);
        p.hostPort = inst.nextDynamicPort;
        this.bumpPort(inst);
      }
      if (p.hostPort) inst.usedPorts.add(`${p.protocol}/${p.hostPort}`);
    }
    return inst;
  }

  private bumpPort(inst: InstanceRec): void {
    inst.nextDynamicPort =
      inst.nextDynamicPort >= this.hostPortEnd ? this.hostPortStart : inst.nextDynamicPort + 1;
  }

  /** PROVISIONING/PENDING -> RUNNING; registers the task in Cloud Map if its service says so. */
  markRunning(task: TaskRec): void {
    if (task.desiredStatus === "STOPPED") return;
    task.lastStatus = "RUNNING";
    task.pending = 0;
    task.startedAt ??= this.ctx.now();
    task.version++;
    this.onTaskChange?.(task);
    const reg = task.service?.registry;
    if (reg) {
      const endpoint = taskEndpoints(task).find(
        (e) =>
          (!reg.containerName || e.container === reg.containerName) &&
          (!reg.containerPort || e.containerPort === reg.containerPort),
      );
      const attrs: Record<string, string> = {
        AVAILABILITY_ZONE: task.az,
        AWS_INIT_HEALTH_STATUS: "HEALTHY",
        ECS_CLUSTER_NAME: task.cluster.name,
        ECS_SERVICE_NAME: task.service!.name,
        ECS_TASK_DEFINITION_FAMILY: task.td.family,
        REGION: task.cluster.region,
      };
      if (endpoint) {
        attrs.AWS_INSTANCE_IPV4 = endpoint.host;
        attrs.AWS_INSTANCE_PORT = String(endpoint.port);
      } else if (task.ip) attrs.AWS_INSTANCE_IPV4 = task.ip;
      this.cloudMap.registerInstance(
        reg.namespace,
        reg.service,
        task.id,
        attrs,
        "HEALTHY",
        task.cluster.region,
      );
    }
  }

  /** Called after a DescribeTasks response showed this task: counts down the pending lifecycle. */
  describedOnce(task: TaskRec): void {
    if (task.lastStatus === "RUNNING" || task.lastStatus === "STOPPED" || task.pending === "advance") return;
    task.pending -= 1;
    if (task.pending <= 0) this.markRunning(task);
  }

  /** Moves pending tasks (all, or the one given by id/ARN) to RUNNING; returns how many moved. */
  advance(taskRef?: string): number {
    let moved = 0;
    for (const cluster of this.clusters.values())
      for (const task of cluster.tasks.values()) {
        if (taskRef && task.arn !== taskRef && task.id !== taskRef) continue;
        if (task.lastStatus === "RUNNING" || task.lastStatus === "STOPPED") continue;
        this.markRunning(task);
        moved++;
      }
    return moved;
  }

  stopTask(
    clusterRef: string,
    taskRef: string,
    reason = "Task stopped by user",
    stopCode = "UserInitiated",
  ): TaskRec {
    const cluster = this.clusterForMutation(clusterRef);
    const task = this.findTask(cluster, taskRef);
    if (!task) throw new SimScenarioError(`stopTask: unknown task ${taskRef} in cluster ${cluster.name}`);
    if (task.lastStatus === "STOPPED") return task;
    task.desiredStatus = "STOPPED";
    task.lastStatus = "STOPPED";
    task.stoppedAt = this.ctx.now();
    task.stoppedReason = reason;
    task.stopCode = stopCode;
    task.version++;
    this.onTaskChange?.(task);
    if (task.instance)
      for (const p of task.ports)
        if (p.hostPort) task.instance.usedPorts.delete(`${p.protocol}/${p.hostPort}`);
    const reg = task.service?.registry;
    if (reg) this.cloudMap.deregisterInstance(reg.namespace, reg.service, task.id, task.cluster.region, true);
    this.pruneStopped(cluster);
    return task;
  }

  /** Desired status STOPPED while the task still runs (ECS is stopping it); stopTask finishes the stop. */
  drainTask(clusterRef: string, taskRef: string): TaskRec {
    const cluster = this.clusterForMutation(clusterRef);
    const task = this.findTask(cluster, taskRef);
    if (!task) throw new SimScenarioError(`drainTask: unknown task ${taskRef} in cluster ${cluster.name}`);
    if (task.desiredStatus === "STOPPED") return task;
    task.desiredStatus = "STOPPED";
    task.version++;
    this.onTaskChange?.(task);
    return task;
  }

  /** Sets a task's health status, as its container health checks would. */
  setTaskHealth(clusterRef: string, taskRef: string, health: TaskRec["health"]): TaskRec {
    const cluster = this.clusterForMutation(clusterRef);
    const task = this.findTask(cluster, taskRef);
    if (!task)
      throw new SimScenarioError(`setTaskHealth: unknown task ${taskRef} in cluster ${cluster.name}`);
    task.health = reportedHealth(task.td, health, "setTaskHealth");
    task.version++;
    this.onTaskChange?.(task, true);
    return task;
  }

  /** ECS forgets stopped tasks after a while; keep the newest 1,000 per cluster. */
  private pruneStopped(cluster: ClusterRec): void {
    const stopped = [...cluster.tasks.values()].filter((t) => t.lastStatus === "STOPPED");
    for (const t of stopped.slice(0, Math.max(0, stopped.length - 1000))) cluster.tasks.delete(t.id);
  }

  /** Sets desiredCount, starting new tasks or stopping the newest ones; returns both lists. */
  scaleService(
    clusterRef: string,
    serviceRef: string,
    desiredCount: number,
    opts: { pendingDescribes?: number | "advance" } = {},
  ): { started: TaskRec[]; stopped: TaskRec[] } {
    if (!Number.isInteger(desiredCount) || desiredCount < 0)
      throw new SimScenarioError(`scaleService: desiredCount must be an integer >= 0, got ${desiredCount}`);
    const cluster = this.clusterForMutation(clusterRef);
    const service = this.findService(cluster, serviceRef);
    if (!service)
      throw new SimScenarioError(`scaleService: unknown service ${serviceRef} in cluster ${cluster.name}`);
    service.desiredCount = desiredCount;
    const live = this.serviceTasks(service).filter((t) => t.desiredStatus === "RUNNING");
    const started: TaskRec[] = [];
    const stopped: TaskRec[] = [];
    for (let n = live.length; n < desiredCount; n++)
      started.push(
        this.startTask(
          cluster.arn,
          {
            taskDefinition: service.td.arn,
            ...(opts.pendingDescribes !== undefined ? { pendingDescribes: opts.pendingDescribes } : {}),
          },
          `service ${service.name}`,
          service,
        ),
      );
    for (const t of live.slice(desiredCount).reverse())
      stopped.push(
        this.stopTask(
          cluster.arn,
          t.id,
          `Scaling activity initiated by (deployment ecs-svc/${service.deploymentId})`,
          "ServiceSchedulerInitiated",
        ),
      );
    return { started, stopped };
  }

  serviceTasks(service: ServiceRec): TaskRec[] {
    const cluster = this.clusters.get(service.clusterArn)!;
    return [...cluster.tasks.values()].filter((t) => t.service === service);
  }

  /** The Cloud Map service ARN a service registers its tasks in (DescribeServices serviceRegistries). */
  registryArn(s: ServiceRec): string | undefined {
    if (!s.registry) return undefined;
    const region = this.clusters.get(s.clusterArn)!.region;
    return this.cloudMap.findNamespace(s.registry.namespace, region)?.services.get(s.registry.service)?.arn;
  }

  /** Reachable addresses of every RUNNING task port. */
  endpoints(): SimEndpoint[] {
    return [...this.clusters.values()].flatMap((c) => [...c.tasks.values()].flatMap(taskEndpoints));
  }
}

/**
 * ECS reports a task's health from its containers' health checks: a task whose definition declares none is
 * UNKNOWN for its whole life, so a scenario or mutation that says otherwise is an error, not a state.
 */
function reportedHealth(td: TaskDefRec, health: TaskRec["health"], where: string): TaskRec["health"] {
  if (health !== "UNKNOWN" && !td.containers.some((c) => c.healthCheck))
    throw new SimScenarioError(
      `${where}: task definition ${td.family}:${td.revision} declares no container healthCheck, so ECS reports its tasks' health as UNKNOWN; add a healthCheck to a container definition`,
    );
  return health;
}
