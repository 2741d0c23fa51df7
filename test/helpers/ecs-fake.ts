// A typed fake of the ECS source's narrow API (sd/ecs/api.ts) over an in-memory world. It refuses what
// AWS refuses, with the SDK's own exception types: unknown clusters, empty or over-100 describe batches
// (over 10 for DescribeServices), unknown task definitions, EC2 ids that are malformed (`mi-...`) or
// unknown, and ENI ids no task of the world has. Services exist for every `service:` task group.
import {
  ClientException,
  ClusterNotFoundException,
  InvalidParameterException,
  type Task,
  type TaskDefinition,
} from "@aws-sdk/client-ecs";
import { EC2ServiceException } from "@aws-sdk/client-ec2";
import type { AwsScope } from "../../core/scopes.js";
import { silentLogger } from "../../core/log.js";
import { createSelfMetrics } from "../../core/metrics.js";
import { EcsSource, type EcsSourceDeps } from "../../sd/ecs/source.js";
import { testConfig } from "./config.js";
import type { AwsClients } from "../../core/aws.js";
import {
  DESCRIBE_BATCH,
  DESCRIBE_SERVICES_BATCH,
  type ClusterFacts,
  type ContainerInstanceHost,
  describedTask,
  type Described,
  type DescribedTask,
  type EcsApi,
  type EniFacts,
  type InstanceFacts,
  type ServiceFacts,
  type Tags,
} from "../../sd/ecs/api.js";
import { taskEniAddress } from "../../sd/ecs/targets.js";
import { CLUSTER, CLUSTER_ARN } from "./ecs-fixtures.js";

export interface EcsWorld {
  /** Cluster ARNs; by default CLUSTER_ARN. */
  clusters?: string[];
  taskDefs: TaskDefinition[];
  tasks: Task[];
  containerInstances?: ContainerInstanceHost[];
  /** EC2 instance id -> private IP. */
  ec2Ips?: Record<string, string>;
  /** More about EC2 instances (the private IP defaults to ec2Ips'). */
  ec2Instances?: Record<string, Omit<InstanceFacts, "instanceId" | "tags"> & { tags?: Tags }>;
  /** Cluster ARN -> tags. */
  clusterTags?: Record<string, Tags>;
  /** Service name -> status (default ACTIVE) and tags. */
  services?: Record<string, { status?: string; tags?: Tags }>;
  /** ENI id -> public IP (ENIs exist when a task has them; without an entry they have no public IP). */
  eniPublicIps?: Record<string, string>;
  /** Every call fails with this error while set (per operation). */
  failing?: Partial<Record<Operation, Error>>;
}

export type Operation =
  | "ListClusters"
  | "DescribeClusters"
  | "ListServices"
  | "DescribeServices"
  | "DescribeNetworkInterfaces"
  | "ListTasks"
  | "DescribeTasks"
  | "DescribeTaskDefinition"
  | "DescribeContainerInstances"
  | "DescribeInstances";

const $metadata = {};

/** A service's ARN in the cluster's (the new ARN format, with the cluster name). */
const serviceArnOf = (clusterArn: string, name: string): string =>
  `${clusterArn.replace(":cluster/", ":service/")}/${name}`;

function invalidParameter(message: string): InvalidParameterException {
  return new InvalidParameterException({ message, $metadata });
}

function ec2Error(name: string, message: string): EC2ServiceException {
  return new EC2ServiceException({ name, message, $fault: "client", $metadata });
}

export class FakeEcsApi implements EcsApi {
  /** Requests per operation, named as AWS names them. */
  readonly calls: Partial<Record<Operation, number>> = {};
  readonly requests = {
    DescribeTasks: [] as { cluster: string; taskArns: string[]; withTags: boolean }[],
    DescribeTaskDefinition: [] as string[],
    DescribeContainerInstances: [] as string[][],
    DescribeInstances: [] as string[][],
    DescribeServices: [] as string[][],
    DescribeNetworkInterfaces: [] as string[][],
  };

  /** The world is read on every call: tests change it between refreshes. */
  constructor(public world: EcsWorld) {}

  private count(op: Operation): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
    const failure = this.world.failing?.[op];
    if (failure) throw failure;
  }

  /** The cluster's ARN for a name or ARN, as ECS accepts both; ClusterNotFoundException otherwise. */
  private clusterArn(cluster: string): string {
    const arn = (this.world.clusters ?? [CLUSTER_ARN]).find(
      (a) => a === cluster || a.endsWith(`:cluster/${cluster}`),
    );
    if (!arn) throw new ClusterNotFoundException({ message: "Cluster not found.", $metadata });
    return arn;
  }

  private checkBatch(items: string[], what: string, max = DESCRIBE_BATCH): void {
    if (items.length === 0) throw invalidParameter(`${what} cannot be empty.`);
    if (items.length > max) throw invalidParameter(`${what} cannot be more than ${max}.`);
  }

  async describeClusters(clusters: string[]): Promise<Described<ClusterFacts>> {
    this.count("DescribeClusters");
    this.checkBatch(clusters, "Clusters");
    const all = this.world.clusters ?? [CLUSTER_ARN];
    const out: Described<ClusterFacts> = { found: [], failures: [] };
    for (const ref of clusters) {
      const arn = all.find((a) => a === ref || a.endsWith(`:cluster/${ref}`));
      if (arn)
        out.found.push({ arn, name: arn.split("/").pop()!, tags: this.world.clusterTags?.[arn] ?? {} });
      else
        out.failures.push({
          arn: ref.startsWith("arn:") ? ref : CLUSTER_ARN.replace(/[^/]+$/, ref),
          reason: "MISSING",
        });
    }
    return out;
  }

  async describeServices(cluster: string, services: string[]): Promise<Described<ServiceFacts>> {
    this.count("DescribeServices");
    this.requests.DescribeServices.push(services);
    const clusterArn = this.clusterArn(cluster);
    this.checkBatch(services, "Services", DESCRIBE_SERVICES_BATCH);
    const out: Described<ServiceFacts> = { found: [], failures: [] };
    for (const name of services) {
      const exists = this.world.tasks.some(
        (t) => t.clusterArn === clusterArn && t.group === `service:${name}`,
      );
      const spec = this.world.services?.[name];
      if (!exists && !spec) out.failures.push({ arn: serviceArnOf(clusterArn, name), reason: "MISSING" });
      else
        out.found.push({
          name,
          arn: serviceArnOf(clusterArn, name),
          status: spec?.status ?? "ACTIVE",
          tags: spec?.tags ?? {},
          taskDefinitions: [
            ...new Set(
              this.world.tasks.flatMap((t) =>
                t.clusterArn === clusterArn && t.group === `service:${name}` && t.taskDefinitionArn
                  ? [t.taskDefinitionArn]
                  : [],
              ),
            ),
          ],
        });
    }
    return out;
  }

  /** Services of `service:` task groups in the cluster, and the world's named services. */
  async listServices(cluster: string): Promise<string[]> {
    this.count("ListServices");
    const clusterArn = this.clusterArn(cluster);
    const names = new Set(Object.keys(this.world.services ?? {}));
    for (const t of this.world.tasks)
      if (t.clusterArn === clusterArn && t.group?.startsWith("service:")) names.add(t.group.slice(8));
    return [...names].map((name) => serviceArnOf(clusterArn, name));
  }

  async describeNetworkInterfaces(eniIds: string[]): Promise<EniFacts[]> {
    this.count("DescribeNetworkInterfaces");
    this.requests.DescribeNetworkInterfaces.push(eniIds);
    const known = new Set(this.world.tasks.map((t) => taskEniAddress(t).eniId));
    const unknown = eniIds.find((id) => !known.has(id));
    if (unknown)
      throw ec2Error(
        "InvalidNetworkInterfaceID.NotFound",
        `The networkInterface ID '${unknown}' does not exist`,
      );
    const publicIps = this.world.eniPublicIps ?? {};
    return eniIds.map((id) => ({ eniId: id, ...(publicIps[id] ? { publicIp: publicIps[id] } : {}) }));
  }

  async listClusters(): Promise<string[]> {
    this.count("ListClusters");
    return [...(this.world.clusters ?? [CLUSTER_ARN])];
  }

  async listTasks(cluster: string): Promise<string[]> {
    this.count("ListTasks");
    const arn = this.clusterArn(cluster);
    return this.world.tasks
      .filter((t) => t.clusterArn === arn && (t.desiredStatus ?? "RUNNING") === "RUNNING")
      .map((t) => t.taskArn!);
  }

  /** The tasks as AWS would describe them on the wire: their JSON texts, read as the real API reads them. */
  async describeTasks(
    cluster: string,
    taskArns: string[],
    withTags: boolean,
  ): Promise<Described<DescribedTask>> {
    this.count("DescribeTasks");
    this.requests.DescribeTasks.push({ cluster, taskArns, withTags });
    const arn = this.clusterArn(cluster);
    this.checkBatch(taskArns, "Tasks");
    const found = this.world.tasks
      .filter((t) => t.clusterArn === arn && taskArns.includes(t.taskArn!))
      .map(({ tags, ...task }) => (withTags && tags ? { ...task, tags } : task));
    const failures = taskArns
      .filter((a) => !found.some((t) => t.taskArn === a))
      .map((a) => ({ arn: a, reason: "MISSING" }));
    return { found: found.map((t) => describedTask(JSON.stringify(t))), failures };
  }

  async describeTaskDefinition(arn: string): Promise<TaskDefinition | undefined> {
    this.count("DescribeTaskDefinition");
    this.requests.DescribeTaskDefinition.push(arn);
    const def = this.world.taskDefs.find((d) => d.taskDefinitionArn === arn);
    if (!def) throw new ClientException({ message: "Unable to describe task definition.", $metadata });
    return def;
  }

  async describeContainerInstances(cluster: string, arns: string[]): Promise<ContainerInstanceHost[]> {
    this.count("DescribeContainerInstances");
    this.requests.DescribeContainerInstances.push(arns);
    this.clusterArn(cluster);
    this.checkBatch(arns, "ContainerInstances");
    return (this.world.containerInstances ?? []).filter((ci) => arns.includes(ci.containerInstanceArn));
  }

  async describeInstances(instanceIds: string[]): Promise<InstanceFacts[]> {
    this.count("DescribeInstances");
    this.requests.DescribeInstances.push(instanceIds);
    this.checkBatch(instanceIds, "InstanceIds");
    const ips = this.world.ec2Ips ?? {};
    const more = this.world.ec2Instances ?? {};
    // Like EC2, one bad id fails the whole call.
    const malformed = instanceIds.find((id) => !/^i-[0-9a-f]+$/.test(id));
    if (malformed) throw ec2Error("InvalidInstanceID.Malformed", `Invalid id: "${malformed}"`);
    const unknown = instanceIds.find((id) => ips[id] === undefined && more[id] === undefined);
    if (unknown) throw ec2Error("InvalidInstanceID.NotFound", `The instance ID '${unknown}' does not exist`);
    return instanceIds.map((id) => {
      const { tags, ...facts } = more[id] ?? {};
      const privateIp = facts.privateIp ?? ips[id];
      return { instanceId: id, ...facts, ...(privateIp ? { privateIp } : {}), tags: tags ?? {} };
    });
  }
}

/** A scope for a source whose API is faked: its clients are never called. */
export function fakeScope(key = "default/us-east-1"): AwsScope {
  return { key, region: "us-east-1", clients: {} as AwsClients };
}

/** An ECS source over `api` in one fake scope, silent unless given a logger, with its own metrics. */
export function fakeEcsSource(
  api: FakeEcsApi,
  env: Record<string, string> = { BRIDGE_CLUSTERS: CLUSTER },
  opts: Partial<Pick<EcsSourceDeps, "now" | "logger">> = {},
): { src: EcsSource; metrics: ReturnType<typeof createSelfMetrics> } {
  const metrics = createSelfMetrics({ defaults: false });
  const src = new EcsSource({
    scopes: [fakeScope()],
    config: testConfig(env),
    metrics,
    api: () => api,
    ...opts,
    logger: opts.logger ?? silentLogger,
  });
  return { src, metrics };
}
