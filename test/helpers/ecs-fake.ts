// A typed fake of the ECS source's narrow API (sd/ecs/api.ts) over an in-memory world. It refuses what
// AWS refuses, with the SDK's own exception types: unknown clusters, empty or over-100 describe batches,
// unknown task definitions, and EC2 ids that are malformed (`mi-...`) or unknown.
import {
  ClientException,
  ClusterNotFoundException,
  InvalidParameterException,
  type Task,
  type TaskDefinition,
} from "@aws-sdk/client-ecs";
import { EC2ServiceException } from "@aws-sdk/client-ec2";
import type { AwsScope } from "../../core/scopes.js";
import type { AwsClients } from "../../core/aws.js";
import {
  DESCRIBE_BATCH,
  type ContainerInstanceHost,
  type EcsApi,
  type InstanceAddress,
} from "../../sd/ecs/api.js";
import { CLUSTER_ARN } from "./ecs-fixtures.js";

export interface EcsWorld {
  /** Cluster ARNs; by default CLUSTER_ARN. */
  clusters?: string[];
  taskDefs: TaskDefinition[];
  tasks: Task[];
  containerInstances?: ContainerInstanceHost[];
  /** EC2 instance id -> private IP. */
  ec2Ips?: Record<string, string>;
}

type Operation =
  | "ListClusters"
  | "ListTasks"
  | "DescribeTasks"
  | "DescribeTaskDefinition"
  | "DescribeContainerInstances"
  | "DescribeInstances";

const $metadata = {};

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
  };

  /** The world is read on every call: tests change it between refreshes. */
  constructor(public world: EcsWorld) {}

  private count(op: Operation): void {
    this.calls[op] = (this.calls[op] ?? 0) + 1;
  }

  /** The cluster's ARN for a name or ARN, as ECS accepts both; ClusterNotFoundException otherwise. */
  private clusterArn(cluster: string): string {
    const arn = (this.world.clusters ?? [CLUSTER_ARN]).find(
      (a) => a === cluster || a.endsWith(`:cluster/${cluster}`),
    );
    if (!arn) throw new ClusterNotFoundException({ message: "Cluster not found.", $metadata });
    return arn;
  }

  private checkBatch(items: string[], what: string): void {
    if (items.length === 0) throw invalidParameter(`${what} cannot be empty.`);
    if (items.length > DESCRIBE_BATCH) throw invalidParameter(`${what} cannot be more than 100.`);
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

  async describeTasks(cluster: string, taskArns: string[], withTags: boolean): Promise<Task[]> {
    this.count("DescribeTasks");
    this.requests.DescribeTasks.push({ cluster, taskArns, withTags });
    const arn = this.clusterArn(cluster);
    this.checkBatch(taskArns, "Tasks");
    return this.world.tasks
      .filter((t) => t.clusterArn === arn && taskArns.includes(t.taskArn!))
      .map(({ tags, ...task }) => (withTags && tags ? { ...task, tags } : task));
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

  async describeInstances(instanceIds: string[]): Promise<InstanceAddress[]> {
    this.count("DescribeInstances");
    this.requests.DescribeInstances.push(instanceIds);
    const ips = this.world.ec2Ips ?? {};
    // Like EC2, one bad id fails the whole call.
    const malformed = instanceIds.find((id) => !/^i-[0-9a-f]+$/.test(id));
    if (malformed) throw ec2Error("InvalidInstanceID.Malformed", `Invalid id: "${malformed}"`);
    const unknown = instanceIds.find((id) => ips[id] === undefined);
    if (unknown) throw ec2Error("InvalidInstanceID.NotFound", `The instance ID '${unknown}' does not exist`);
    return instanceIds.map((id) => ({ instanceId: id, privateIp: ips[id]! }));
  }
}

/** A scope for a source whose API is faked: its clients are never called. */
export function fakeScope(key = "default/us-east-1"): AwsScope {
  return { key, region: "us-east-1", clients: {} as AwsClients };
}
