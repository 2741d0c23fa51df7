// The in-memory AWS world the simulated endpoint serves: ECS clusters, services, tasks, container instances
// (and their EC2 hosts), Cloud Map namespaces/services/instances and CloudWatch series. Handlers read it;
// mutations (startTask, scaleService, ...) change it the way ECS would.
import { cloudMapId, IpPool, stableHex } from "./ids.js";
import { SimScenarioError } from "./protocol.js";
import { serviceConnectSeries } from "./serviceconnect.js";
import type {
  CloudMapHealth,
  ContainerDefinitionSpec,
  LaunchType,
  MetricSeriesSpec,
  NetworkMode,
  Scenario,
  ServiceRegistrySpec,
  Statistic,
  Tags,
  TaskHealth,
  TaskSpec,
  TaskStatus,
  ValueSpec,
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

export interface CmInstanceRec {
  id: string;
  attributes: Record<string, string>;
  health: CloudMapHealth;
}

export interface CmServiceRec {
  id: string;
  arn: string;
  name: string;
  namespace: NamespaceRec;
  description?: string;
  tags: Tags;
  instances: Map<string, CmInstanceRec>;
  revision: number;
  customHealthCheck: boolean;
  createdAt: number;
}

export interface NamespaceRec {
  id: string;
  arn: string;
  name: string;
  type: "HTTP" | "DNS_PRIVATE" | "DNS_PUBLIC";
  region: string;
  description?: string;
  tags: Tags;
  services: Map<string, CmServiceRec>;
  hostedZoneId?: string;
  createdAt: number;
}

export interface SeriesRec {
  /** Canonical identity: region|namespace|metric|sorted dimensions. */
  key: string;
  namespace: string;
  metricName: string;
  dimensions: { Name: string; Value: string }[];
  region: string;
  unit?: string;
  value: ValueSpec;
  stats: Partial<Record<Statistic, ValueSpec>>;
  /** Epoch seconds. */
  from?: number;
  until?: number;
}

/** What tests and the demo see of a task. */
export interface SimTaskInfo {
  arn: string;
  id: string;
  cluster: string;
  clusterArn: string;
  service?: string;
  group: string;
  taskDefinitionArn: string;
  launchType: LaunchType;
  networkMode: NetworkMode;
  lastStatus: TaskStatus;
  desiredStatus: "RUNNING" | "STOPPED";
  availabilityZone: string;
  /** awsvpc task IP (only once the task left PROVISIONING/PENDING). */
  ip?: string;
  containerInstanceArn?: string;
  ec2InstanceId?: string;
  hostIp?: string;
  ports: SimEndpoint[];
}

/** A reachable scrape address of a RUNNING task port or of a Cloud Map instance. */
export interface SimEndpoint {
  source: "ecs" | "cloudmap";
  host: string;
  port: number;
  /** ECS. */
  cluster?: string;
  service?: string;
  taskArn?: string;
  container?: string;
  containerPort?: number;
  portName?: string;
  dockerLabels?: Record<string, string>;
  /** Cloud Map. */
  namespace?: string;
  cloudMapService?: string;
  instanceId?: string;
}

const DEFAULT_ACCOUNT = "123456789012";
const DEFAULT_REGION = "us-east-1";

function toEpochSeconds(v: number | string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return v;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new SimScenarioError(`${what}: not a timestamp: ${JSON.stringify(v)}`);
  return ms / 1000;
}

export function seriesKey(
  region: string,
  namespace: string,
  metricName: string,
  dims: Record<string, string>,
): string {
  const d = Object.keys(dims)
    .sort()
    .map((k) => `${k}=${dims[k]}`)
    .join(",");
  return `${region}|${namespace}|${metricName}|${d}`;
}

export class World {
  readonly accountId: string;
  readonly region: string;
  readonly azs: string[];
  readonly taskDefs = new Map<string, TaskDefRec>(); // by ARN
  readonly clusters = new Map<string, ClusterRec>(); // by ARN
  readonly namespaces = new Map<string, NamespaceRec>(); // by id
  readonly series = new Map<string, SeriesRec>(); // by key
  readonly cloudwatch: { lagSeconds: number; maxDatapointsPerPage: number };
  private readonly taskIps: IpPool;
  private readonly instanceIps: IpPool;
  private readonly hostPortStart: number;
  private readonly hostPortEnd: number;
  private readonly lifecycle: {
    pendingDescribes: number | "advance";
    pendingStatus: "PROVISIONING" | "PENDING";
  };
  private seq = 0;

  constructor(
    scenario: Scenario,
    readonly now: () => number,
  ) {
    this.accountId = scenario.accountId ?? DEFAULT_ACCOUNT;
    if (!/^\d{12}$/.test(this.accountId))
      throw new SimScenarioError(`accountId must be 12 digits, got ${JSON.stringify(this.accountId)}`);
    this.region = scenario.region ?? DEFAULT_REGION;
    this.azs = scenario.availabilityZones ?? ["a", "b", "c"].map((s) => this.region + s);
    const taken = new Set<string>();
    this.taskIps = new IpPool(scenario.ipPool?.tasks ?? "127.0.0.2", taken);
    this.instanceIps = new IpPool(scenario.ipPool?.instances ?? "127.0.200.1", taken);
    this.hostPortStart = scenario.hostPorts?.start ?? 32768;
    this.hostPortEnd = scenario.hostPorts?.end ?? 60999;
    this.lifecycle = {
      pendingDescribes: scenario.lifecycle?.pendingDescribes ?? 0,
      pendingStatus: scenario.lifecycle?.pendingStatus ?? "PROVISIONING",
    };
    this.cloudwatch = {
      lagSeconds: scenario.cloudwatch?.lagSeconds ?? 0,
      maxDatapointsPerPage: scenario.cloudwatch?.maxDatapointsPerPage ?? 100_800,
    };
    this.load(scenario);
  }

  private load(s: Scenario): void {
    // Explicit addresses first, so pools never hand them out.
    for (const c of s.clusters ?? []) {
      if (Array.isArray(c.containerInstances))
        for (const ci of c.containerInstances) if (ci.privateIp) this.instanceIps.reserve(ci.privateIp);
      for (const t of c.tasks ?? []) {
        if (t.ip && (t.count ?? 1) > 1)
          throw new SimScenarioError(`cluster ${c.name}: a task with a fixed ip cannot have count > 1`);
        if (t.ip) this.taskIps.reserve(t.ip);
      }
    }
    for (const [i, td] of (s.taskDefinitions ?? []).entries()) {
      const where = `taskDefinitions[${i}]`;
      if (!td.family) throw new SimScenarioError(`${where}: family is required`);
      if (!Array.isArray(td.containerDefinitions) || td.containerDefinitions.length === 0)
        throw new SimScenarioError(
          `${where} (${td.family}): containerDefinitions must list at least one container`,
        );
      const networkMode = td.networkMode ?? "awsvpc";
      const rec: TaskDefRec = {
        arn: this.arn("ecs", this.region, `task-definition/${td.family}:${td.revision ?? 1}`),
        family: td.family,
        revision: td.revision ?? 1,
        networkMode,
        compat: td.requiresCompatibilities ?? (networkMode === "awsvpc" ? ["FARGATE"] : ["EC2"]),
        cpu: td.cpu ?? "256",
        memory: td.memory ?? "512",
        containers: td.containerDefinitions,
        tags: td.tags ?? {},
        registeredAt: this.now(),
      };
      if (this.taskDefs.has(rec.arn))
        throw new SimScenarioError(`${where}: duplicate task definition ${rec.arn}`);
      this.taskDefs.set(rec.arn, rec);
    }
    for (const [i, ns] of (s.namespaces ?? []).entries()) {
      const region = ns.region ?? this.region;
      const id = ns.id ?? cloudMapId("ns", `${region}/${ns.name}`);
      const rec: NamespaceRec = {
        id,
        arn: this.arn("servicediscovery", region, `namespace/${id}`),
        name: ns.name,
        type: ns.type ?? "HTTP",
        region,
        ...(ns.description ? { description: ns.description } : {}),
        tags: ns.tags ?? {},
        services: new Map(),
        ...(ns.type && ns.type !== "HTTP" ? { hostedZoneId: "Z" + stableHex(id, 20).toUpperCase() } : {}),
        createdAt: this.now(),
      };
      if (this.namespaces.has(id))
        throw new SimScenarioError(`namespaces[${i}]: duplicate namespace id ${id}`);
      this.namespaces.set(id, rec);
      for (const svc of ns.services ?? []) {
        const srv = this.createCloudMapService(rec, svc.name, {
          id: svc.id,
          description: svc.description,
          tags: svc.tags,
          customHealthCheck: svc.customHealthCheck,
        });
        for (const inst of svc.instances ?? [])
          this.registerInstance(rec.name, svc.name, inst.id, inst.attributes ?? {}, inst.health, region);
        if (svc.generate) {
          for (let n = 0; n < svc.generate.count; n++) {
            const attrs: Record<string, string> = {
              AWS_INSTANCE_IPV4: this.taskIps.allocate(),
              ...svc.generate.attributes,
            };
            if (svc.generate.port !== undefined) attrs.AWS_INSTANCE_PORT = String(svc.generate.port);
            this.registerInstance(
              rec.name,
              srv.name,
              `${srv.name}-${n + 1}`,
              attrs,
              svc.generate.health,
              region,
            );
          }
        }
      }
    }
    for (const [i, c] of (s.clusters ?? []).entries()) {
      const region = c.region ?? this.region;
      const cluster: ClusterRec = {
        arn: this.arn("ecs", region, `cluster/${c.name}`),
        name: c.name,
        region,
        tags: c.tags ?? {},
        instances: new Map(),
        services: new Map(),
        tasks: new Map(),
        rrInstance: 0,
        rrAz: 0,
      };
      if (!c.name) throw new SimScenarioError(`clusters[${i}]: name is required`);
      if (this.clusters.has(cluster.arn))
        throw new SimScenarioError(`clusters[${i}]: duplicate cluster ${c.name}`);
      this.clusters.set(cluster.arn, cluster);
      const instances =
        typeof c.containerInstances === "number"
          ? Array.from({ length: c.containerInstances }, () => ({}))
          : (c.containerInstances ?? []);
      for (const ci of instances) this.addContainerInstance(cluster, ci);
      for (const svc of c.services ?? []) {
        const where = `clusters[${i}] (${c.name}) service ${svc.name}`;
        const td = this.resolveTaskDef(svc.taskDefinition, where);
        if (cluster.services.has(svc.name)) throw new SimScenarioError(`${where}: duplicate service`);
        if (svc.serviceRegistry)
          this.findCloudMapService(svc.serviceRegistry.namespace, svc.serviceRegistry.service, region, where);
        const rec: ServiceRec = {
          arn: this.arn("ecs", region, `service/${c.name}/${svc.name}`),
          name: svc.name,
          clusterArn: cluster.arn,
          td,
          desiredCount: 0,
          launchType:
            svc.launchType ??
            (td.networkMode === "awsvpc" && td.compat.includes("FARGATE") ? "FARGATE" : "EC2"),
          tags: svc.tags ?? {},
          taskTags: svc.taskTags ?? {},
          health: svc.healthStatus ?? "UNKNOWN",
          ...(svc.serviceRegistry ? { registry: svc.serviceRegistry } : {}),
          deploymentId: String(BigInt("0x" + stableHex(`${cluster.arn}/${svc.name}`, 15))).slice(0, 19),
          createdAt: this.now(),
        };
        cluster.services.set(svc.name, rec);
        this.scaleService(cluster.arn, svc.name, svc.desiredCount, { pendingDescribes: 0 });
      }
      for (const [j, t] of (c.tasks ?? []).entries()) {
        const initial = t.lastStatus ?? "RUNNING";
        for (let n = 0; n < (t.count ?? 1); n++)
          this.startTask(
            cluster.arn,
            {
              ...t,
              pendingDescribes: initial === "RUNNING" ? 0 : "advance",
              ...(initial !== "RUNNING" ? { pendingStatus: initial } : {}),
            } as TaskSpec & { pendingStatus?: "PROVISIONING" | "PENDING" },
            `clusters[${i}] (${c.name}) tasks[${j}]`,
          );
      }
    }
    for (const [i, m] of (s.metrics ?? []).entries()) this.putSeries(m, `metrics[${i}]`);
    for (const sc of s.serviceConnect ?? [])
      for (const m of serviceConnectSeries(sc)) this.putSeries(m, "serviceConnect");
  }

  arn(service: string, region: string, resource: string): string {
    return `arn:aws:${service}:${region}:${this.accountId}:${resource}`;
  }

  // ---------- lookups ----------

  /** A cluster by name (in `region`) or ARN; undefined when unknown. */
  findCluster(ref: string, region: string): ClusterRec | undefined {
    if (ref.startsWith("arn:")) return this.clusters.get(ref);
    return this.clusters.get(this.arn("ecs", region, `cluster/${ref}`));
  }

  /** For mutations: a name may live in any region; prefer the scenario region. */
  clusterForMutation(ref: string): ClusterRec {
    const found =
      this.findCluster(ref, this.region) ??
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

  private resolveTaskDef(ref: string, where: string): TaskDefRec {
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
    const id = ref.startsWith("arn:") ? ref.slice(ref.lastIndexOf("/") + 1) : ref;
    const task = cluster.tasks.get(id);
    return task && (!ref.startsWith("arn:") || task.arn === ref) ? task : undefined;
  }

  findInstance(cluster: ClusterRec, ref: string): InstanceRec | undefined {
    const id = ref.startsWith("arn:") ? ref.slice(ref.lastIndexOf("/") + 1) : ref;
    const inst = cluster.instances.get(id);
    return inst && (!ref.startsWith("arn:") || inst.arn === ref) ? inst : undefined;
  }

  findService(cluster: ClusterRec, ref: string): ServiceRec | undefined {
    const name = ref.startsWith("arn:") ? ref.slice(ref.lastIndexOf("/") + 1) : ref;
    const svc = cluster.services.get(name);
    return svc && (!ref.startsWith("arn:") || svc.arn === ref) ? svc : undefined;
  }

  /** A namespace by name or id in `region`. */
  findNamespace(ref: string, region: string): NamespaceRec | undefined {
    const byId = this.namespaces.get(ref);
    if (byId) return byId;
    for (const ns of this.namespaces.values()) if (ns.region === region && ns.name === ref) return ns;
    return undefined;
  }

  findCloudMapServiceById(id: string): CmServiceRec | undefined {
    for (const ns of this.namespaces.values())
      for (const s of ns.services.values()) if (s.id === id) return s;
    return undefined;
  }

  private findCloudMapService(
    namespace: string,
    service: string,
    region: string,
    where: string,
  ): CmServiceRec {
    const ns = this.findNamespace(namespace, region);
    if (!ns)
      throw new SimScenarioError(
        `${where}: unknown Cloud Map namespace ${JSON.stringify(namespace)} in ${region}`,
      );
    const svc = ns.services.get(service);
    if (!svc)
      throw new SimScenarioError(
        `${where}: unknown Cloud Map service ${JSON.stringify(service)} in namespace ${ns.name}`,
      );
    return svc;
  }

  // ---------- ECS mutations ----------

  addContainerInstance(
    cluster: ClusterRec,
    spec: {
      id?: string;
      ec2InstanceId?: string;
      privateIp?: string;
      availabilityZone?: string;
      instanceType?: string;
    },
  ): InstanceRec {
    const n = cluster.instances.size;
    const id = spec.id ?? stableHex(`${cluster.arn}/ci/${n}`, 32);
    if (spec.ec2InstanceId !== undefined && !/^i-[0-9a-f]{8,17}$/.test(spec.ec2InstanceId))
      throw new SimScenarioError(
        `container instance ${id}: ec2InstanceId must look like i-0123456789abcdef0, got ${JSON.stringify(spec.ec2InstanceId)}`,
      );
    const rec: InstanceRec = {
      arn: this.arn("ecs", cluster.region, `container-instance/${cluster.name}/${id}`),
      id,
      clusterArn: cluster.arn,
      ec2InstanceId: spec.ec2InstanceId ?? `i-${stableHex(`${cluster.arn}/ec2/${id}`, 17)}`,
      privateIp: spec.privateIp ?? this.instanceIps.allocate(),
      az: spec.availabilityZone ?? this.azs[n % this.azs.length]!,
      instanceType: spec.instanceType ?? "m5.large",
      region: cluster.region,
      usedPorts: new Set(),
      nextDynamicPort: this.hostPortStart,
      registeredAt: this.now(),
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
    const az = spec.availabilityZone ?? instance?.az ?? this.azs[cluster.rrAz++ % this.azs.length]!;
    let ip: string | undefined;
    if (td.networkMode === "awsvpc") {
      ip = spec.ip ?? this.taskIps.allocate();
      this.taskIps.reserve(ip);
    }
    const pending = spec.pendingDescribes ?? this.lifecycle.pendingDescribes;
    const task: TaskRec = {
      seq,
      id,
      arn: this.arn("ecs", cluster.region, `task/${cluster.name}/${id}`),
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
      health: spec.healthStatus ?? service?.health ?? "UNKNOWN",
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
      createdAt: this.now(),
      pending,
      pendingStatus: spec.pendingStatus ?? this.lifecycle.pendingStatus,
      version: 1,
    };
    cluster.tasks.set(id, task);
    if (task.lastStatus === "RUNNING") this.markRunning(task);
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
    task.startedAt ??= this.now();
    task.version++;
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
      this.registerInstance(reg.namespace, reg.service, task.id, attrs, "HEALTHY", task.cluster.region);
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
    if (task.desiredStatus === "STOPPED") return task;
    task.desiredStatus = "STOPPED";
    task.lastStatus = "STOPPED";
    task.stoppedAt = this.now();
    task.stoppedReason = reason;
    task.stopCode = stopCode;
    task.version++;
    if (task.instance)
      for (const p of task.ports)
        if (p.hostPort) task.instance.usedPorts.delete(`${p.protocol}/${p.hostPort}`);
    const reg = task.service?.registry;
    if (reg) this.deregisterInstance(reg.namespace, reg.service, task.id, task.cluster.region, true);
    this.pruneStopped(cluster);
    return task;
  }

  /** ECS forgets stopped tasks after a while; keep the newest 1,000 per cluster. */
  private pruneStopped(cluster: ClusterRec): void {
    const stopped = [...cluster.tasks.values()].filter((t) => t.desiredStatus === "STOPPED");
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

  // ---------- Cloud Map ----------

  createCloudMapService(
    ns: NamespaceRec,
    name: string,
    opts: { id?: string; description?: string; tags?: Tags; customHealthCheck?: boolean } = {},
  ): CmServiceRec {
    if (ns.services.has(name))
      throw new SimScenarioError(`duplicate Cloud Map service ${name} in namespace ${ns.name}`);
    const id = opts.id ?? cloudMapId("srv", `${ns.id}/${name}`);
    const rec: CmServiceRec = {
      id,
      arn: this.arn("servicediscovery", ns.region, `service/${id}`),
      name,
      namespace: ns,
      ...(opts.description ? { description: opts.description } : {}),
      tags: opts.tags ?? {},
      instances: new Map(),
      revision: 1,
      customHealthCheck: opts.customHealthCheck ?? true,
      createdAt: this.now(),
    };
    ns.services.set(name, rec);
    return rec;
  }

  registerInstance(
    namespace: string,
    service: string,
    instanceId: string,
    attributes: Record<string, string>,
    health: CloudMapHealth = "HEALTHY",
    region = this.region,
  ): CmInstanceRec {
    const svc = this.findCloudMapService(namespace, service, region, "registerInstance");
    const rec: CmInstanceRec = { id: instanceId, attributes: { ...attributes }, health };
    svc.instances.set(instanceId, rec);
    svc.revision++;
    return rec;
  }

  deregisterInstance(
    namespace: string,
    service: string,
    instanceId: string,
    region = this.region,
    quiet = false,
  ): boolean {
    const svc = this.findCloudMapService(namespace, service, region, "deregisterInstance");
    const had = svc.instances.delete(instanceId);
    if (!had && !quiet)
      throw new SimScenarioError(`deregisterInstance: no instance ${instanceId} in ${namespace}/${service}`);
    if (had) svc.revision++;
    return had;
  }

  setInstanceHealth(
    namespace: string,
    service: string,
    instanceId: string,
    health: CloudMapHealth,
    region = this.region,
  ): void {
    const svc = this.findCloudMapService(namespace, service, region, "setInstanceHealth");
    const inst = svc.instances.get(instanceId);
    if (!inst)
      throw new SimScenarioError(`setInstanceHealth: no instance ${instanceId} in ${namespace}/${service}`);
    inst.health = health;
    svc.revision++;
  }

  // ---------- CloudWatch ----------

  putSeries(m: MetricSeriesSpec, where = "putMetricSeries"): SeriesRec {
    if (!m.metricName) throw new SimScenarioError(`${where}: metricName is required`);
    if (!m.dimensions || typeof m.dimensions !== "object")
      throw new SimScenarioError(`${where}: dimensions must be a map`);
    if (Object.keys(m.dimensions).length > 30) throw new SimScenarioError(`${where}: at most 30 dimensions`);
    const region = m.region ?? this.region;
    const namespace = m.namespace ?? "AWS/ECS";
    const from = toEpochSeconds(m.from, `${where}.from`);
    const until = toEpochSeconds(m.until, `${where}.until`);
    const rec: SeriesRec = {
      key: seriesKey(region, namespace, m.metricName, m.dimensions),
      namespace,
      metricName: m.metricName,
      dimensions: Object.entries(m.dimensions).map(([Name, Value]) => ({ Name, Value: String(Value) })),
      region,
      ...(m.unit ? { unit: m.unit } : {}),
      value: m.value ?? 0,
      stats: m.stats ?? {},
      ...(from !== undefined ? { from } : {}),
      ...(until !== undefined ? { until } : {}),
    };
    this.series.set(rec.key, rec);
    return rec;
  }

  removeSeries(m: Pick<MetricSeriesSpec, "namespace" | "metricName" | "dimensions" | "region">): boolean {
    return this.series.delete(
      seriesKey(m.region ?? this.region, m.namespace ?? "AWS/ECS", m.metricName, m.dimensions),
    );
  }

  // ---------- views ----------

  taskInfo(task: TaskRec): SimTaskInfo {
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

  /** Every reachable address: RUNNING task ports and Cloud Map instances with IPv4 and port. */
  endpoints(): SimEndpoint[] {
    const out: SimEndpoint[] = [];
    for (const cluster of this.clusters.values())
      for (const task of cluster.tasks.values()) out.push(...taskEndpoints(task));
    for (const ns of this.namespaces.values())
      for (const svc of ns.services.values())
        for (const inst of svc.instances.values()) {
          const host = inst.attributes.AWS_INSTANCE_IPV4;
          const port = Number(inst.attributes.AWS_INSTANCE_PORT);
          if (!host || !Number.isInteger(port) || port <= 0) continue;
          out.push({
            source: "cloudmap",
            host,
            port,
            namespace: ns.name,
            cloudMapService: svc.name,
            instanceId: inst.id,
          });
        }
    return out;
  }

  summary(): Record<string, unknown> {
    return {
      accountId: this.accountId,
      region: this.region,
      clusters: [...this.clusters.values()].map((c) => ({
        name: c.name,
        region: c.region,
        arn: c.arn,
        containerInstances: c.instances.size,
        services: [...c.services.values()].map((s) => ({
          name: s.name,
          desiredCount: s.desiredCount,
          running: this.serviceTasks(s).filter((t) => t.lastStatus === "RUNNING").length,
        })),
        tasks: [...c.tasks.values()].map((t) => this.taskInfo(t)),
      })),
      namespaces: [...this.namespaces.values()].map((ns) => ({
        id: ns.id,
        name: ns.name,
        type: ns.type,
        services: [...ns.services.values()].map((s) => ({
          id: s.id,
          name: s.name,
          instances: [...s.instances.values()],
        })),
      })),
      metricSeries: this.series.size,
    };
  }
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

function macFrom(seed: string): string {
  const hex = stableHex(seed + "mac", 10);
  return ["0a", ...hex.match(/../g)!].join(":");
}

function uuidFrom(seed: string): string {
  const h = stableHex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export { uuidFrom };
