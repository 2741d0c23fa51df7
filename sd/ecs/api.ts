// The ECS and EC2 calls the ECS source makes: the only place their SDK clients are called for discovery.
// Each method is one AWS request (the list methods walk their pages one at a time with the SDK
// paginators), so the concurrency decorator around the object bounds the requests in flight.
import {
  DescribeContainerInstancesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  paginateListClusters,
  paginateListTasks,
  type Task,
  type TaskDefinition,
} from "@aws-sdk/client-ecs";
import { paginateDescribeInstances } from "@aws-sdk/client-ec2";
import { chunk, MalformedResponse, requiredList, type AwsClients } from "../../core/aws.js";
import { limited } from "../../core/limit.js";

/** The most ARNs or ids DescribeTasks, DescribeContainerInstances and DescribeInstances take at once. */
export const DESCRIBE_BATCH = 100;

/** A container instance and the EC2 (or, for ECS Anywhere, SSM `mi-...`) instance it runs on. */
export interface ContainerInstanceHost {
  containerInstanceArn: string;
  ec2InstanceId: string;
}

export interface InstanceAddress {
  instanceId: string;
  privateIp: string;
}

// A type alias, not an interface: `limited` needs the index signature only aliases get implicitly.
export type EcsApi = {
  /** Every cluster ARN of the account and region. */
  listClusters(): Promise<string[]>;
  /** The ARNs of the cluster's tasks whose desired status is RUNNING. */
  listTasks(cluster: string): Promise<string[]>;
  /** At most DESCRIBE_BATCH task ARNs; tasks AWS cannot find are left out. */
  describeTasks(cluster: string, taskArns: string[], withTags: boolean): Promise<Task[]>;
  describeTaskDefinition(arn: string): Promise<TaskDefinition | undefined>;
  /** At most DESCRIBE_BATCH ARNs; instances without an instance id are left out. */
  describeContainerInstances(cluster: string, arns: string[]): Promise<ContainerInstanceHost[]>;
  /** At most DESCRIBE_BATCH EC2 instance ids (`i-...`; EC2 rejects the whole call for any other). */
  describeInstances(instanceIds: string[]): Promise<InstanceAddress[]>;
};

/** Runs `describe` over batches of DESCRIBE_BATCH in parallel (the API's limiter bounds them). */
export async function describeInBatches<T, R>(
  items: readonly T[],
  describe: (batch: T[]) => Promise<R[]>,
): Promise<R[]> {
  const pages = await Promise.all(chunk(items, DESCRIBE_BATCH).map(describe));
  return pages.flat();
}

const PAGE_SIZE = 100;

/** The ECS API of one scope's clients, at most `maxConcurrency` requests in flight. */
export function createEcsApi(clients: AwsClients, maxConcurrency: number): EcsApi {
  const { ecs, ec2 } = clients;
  const api: EcsApi = {
    async listClusters() {
      const arns: string[] = [];
      for await (const page of paginateListClusters({ client: ecs, pageSize: PAGE_SIZE }, {}))
        arns.push(...requiredList(page.clusterArns, "ListClusters", "clusterArns"));
      return arns.sort();
    },
    async listTasks(cluster) {
      const arns: string[] = [];
      const input = { cluster, desiredStatus: "RUNNING" as const };
      for await (const page of paginateListTasks({ client: ecs, pageSize: PAGE_SIZE }, input))
        arns.push(...requiredList(page.taskArns, "ListTasks", "taskArns"));
      return arns;
    },
    async describeTasks(cluster, taskArns, withTags) {
      const out = await ecs.send(
        new DescribeTasksCommand({ cluster, tasks: taskArns, ...(withTags ? { include: ["TAGS"] } : {}) }),
      );
      return requiredList(out.tasks, "DescribeTasks", "tasks");
    },
    async describeTaskDefinition(arn) {
      const out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
      if (!out.taskDefinition) throw new MalformedResponse("DescribeTaskDefinition", "taskDefinition");
      return out.taskDefinition;
    },
    async describeContainerInstances(cluster, arns) {
      const out = await ecs.send(
        new DescribeContainerInstancesCommand({ cluster, containerInstances: arns }),
      );
      return requiredList(out.containerInstances, "DescribeContainerInstances", "containerInstances").flatMap(
        (ci) =>
          ci.containerInstanceArn && ci.ec2InstanceId
            ? [{ containerInstanceArn: ci.containerInstanceArn, ec2InstanceId: ci.ec2InstanceId }]
            : [],
      );
    },
    async describeInstances(instanceIds) {
      const out: InstanceAddress[] = [];
      for await (const page of paginateDescribeInstances({ client: ec2 }, { InstanceIds: instanceIds }))
        for (const r of page.Reservations ?? [])
          for (const i of r.Instances ?? [])
            if (i.InstanceId && i.PrivateIpAddress)
              out.push({ instanceId: i.InstanceId, privateIp: i.PrivateIpAddress });
      return out;
    },
  };
  return limited(api, maxConcurrency);
}
