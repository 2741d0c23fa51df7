// The ECS and EC2 calls the ECS source makes: the only place their SDK clients are called for discovery.
// Each method is one AWS request (the list methods walk their pages one at a time with the SDK
// paginators); the clients' pacers (core/pacer.ts) pace every request to its AWS throttling bucket.
import type { Tag, Task, TaskDefinition } from "@aws-sdk/client-ecs";
import type { Tag as Ec2Tag } from "@aws-sdk/client-ec2";
import { hash } from "node:crypto";
import { chunk, MalformedResponse, requiredList, type AwsClients } from "../../core/aws.js";
import { taskTextsOf } from "../../core/ecs-protocol.js";
import { paginateDescribeInstances, paginateDescribeNetworkInterfaces } from "../../core/sdk/ec2.js";
import type { SelfMetrics } from "../../core/metrics.js";
import { Pacer, paced } from "../../core/pacer.js";
import {
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  paginateListClusters,
  paginateListServices,
  paginateListTasks,
} from "../../core/sdk/ecs.js";

/** The most ARNs or ids DescribeTasks, DescribeContainerInstances, DescribeClusters and EC2 describes take. */
export const DESCRIBE_BATCH = 100;
/** The most services one DescribeServices call takes. */
export const DESCRIBE_SERVICES_BATCH = 10;

export type Tags = Record<string, string>;

/** A container instance and the EC2 (or, for ECS Anywhere, SSM `mi-...`) instance it runs on. */
export interface ContainerInstanceHost {
  containerInstanceArn: string;
  ec2InstanceId: string;
}

/** What discovery labels an EC2 instance with (DescribeInstances). */
export interface InstanceFacts {
  instanceId: string;
  instanceType?: string;
  privateIp?: string;
  publicIp?: string;
  subnetId?: string;
  tags: Tags;
}

/** A cluster DescribeClusters found, with its tags. */
export interface ClusterFacts {
  arn: string;
  name: string;
  tags: Tags;
}

/** A service DescribeServices found, with its status and tags. */
export interface ServiceFacts {
  name: string;
  arn: string;
  status?: string;
  tags: Tags;
  /** The task definitions of its deployments and task sets that have tasks running or pending. */
  taskDefinitions: string[];
}

/** An ENI's public IP (DescribeNetworkInterfaces Association.PublicIp), absent when it has none. */
export interface EniFacts {
  eniId: string;
  publicIp?: string;
}

/**
 * A task as DescribeTasks described it, parsed on demand: a refresh that re-describes every task (the
 * default) parses only those whose description changed, found by digest. At 10,000 tasks, parsing all of
 * them built ~23 MB of objects every refresh only to find nothing had changed.
 */
export interface DescribedTask {
  /** SHA-1 of the task's JSON text: equal digests, equal descriptions. */
  digest: string;
  /** The description, parsed anew on each call. */
  parse(): Task;
}

export function describedTask(text: string): DescribedTask {
  return { digest: hash("sha1", text, "base64"), parse: () => JSON.parse(text) as Task };
}

/** A `failures` entry of an ECS describe call: the ARN (or name) asked for and why it was not described. */
export interface DescribeFailure {
  arn: string;
  reason: string;
}

export interface Described<T> {
  found: T[];
  failures: DescribeFailure[];
}

export type EcsApi = {
  /** Every cluster ARN of the account and region. */
  listClusters(): Promise<string[]>;
  /** At most DESCRIBE_BATCH cluster names or ARNs, with their tags; absent ones are failures (MISSING). */
  describeClusters(clusters: string[]): Promise<Described<ClusterFacts>>;
  /** The ARNs of the cluster's services. */
  listServices(cluster: string): Promise<string[]>;
  /** At most DESCRIBE_SERVICES_BATCH service names of one cluster, with their tags. */
  describeServices(cluster: string, services: string[]): Promise<Described<ServiceFacts>>;
  /** The ARNs of the cluster's tasks whose desired status is RUNNING. */
  listTasks(cluster: string): Promise<string[]>;
  /** At most DESCRIBE_BATCH task ARNs; tasks AWS cannot find are failures. */
  describeTasks(cluster: string, taskArns: string[], withTags: boolean): Promise<Described<DescribedTask>>;
  describeTaskDefinition(arn: string): Promise<TaskDefinition | undefined>;
  /** At most DESCRIBE_BATCH ARNs; instances without an instance id are left out. */
  describeContainerInstances(cluster: string, arns: string[]): Promise<ContainerInstanceHost[]>;
  /** At most DESCRIBE_BATCH EC2 instance ids (`i-...`; EC2 rejects the whole call for any other). */
  describeInstances(instanceIds: string[]): Promise<InstanceFacts[]>;
  /** At most DESCRIBE_BATCH ENI ids (EC2 rejects the whole call for an unknown one). */
  describeNetworkInterfaces(eniIds: string[]): Promise<EniFacts[]>;
};

/** Runs `describe` over batches of DESCRIBE_BATCH in parallel (the clients' pacers bound them). */
export async function describeInBatches<T, R>(
  items: readonly T[],
  describe: (batch: T[]) => Promise<R[]>,
): Promise<R[]> {
  const pages = await Promise.all(chunk(items, DESCRIBE_BATCH).map(describe));
  return pages.flat();
}

const PAGE_SIZE = 100;

function ecsTags(tags: Tag[] | undefined): Tags {
  const out: Tags = {};
  for (const t of tags ?? []) if (t.key) out[t.key] = t.value ?? "";
  return out;
}

function ec2Tags(tags: Ec2Tag[] | undefined): Tags {
  const out: Tags = {};
  for (const t of tags ?? []) if (t.Key) out[t.Key] = t.Value ?? "";
  return out;
}

/** The task definitions of deployments or task sets with tasks running or pending, once each. */
function activeTaskDefinitions(
  rollouts: { taskDefinition?: string; runningCount?: number; pendingCount?: number }[],
): string[] {
  const arns = rollouts.flatMap((r) =>
    r.taskDefinition && (r.runningCount ?? 0) + (r.pendingCount ?? 0) > 0 ? [r.taskDefinition] : [],
  );
  return [...new Set(arns)];
}

function failuresOf(failures: { arn?: string; reason?: string }[] | undefined): DescribeFailure[] {
  return (failures ?? []).map((f) => ({ arn: f.arn ?? "", reason: f.reason ?? "UNKNOWN" }));
}

/**
 * The ECS API of one scope's clients. Their requests are paced to AWS's buckets, at most `maxConcurrency`
 * in flight per bucket; the pacers belong to the clients, so a scope makes one API (EcsSource.scopeFacts).
 */
export function createEcsApi(clients: AwsClients, maxConcurrency: number, metrics?: SelfMetrics): EcsApi {
  const ecsClient = paced(clients.ecs, new Pacer("ecs", maxConcurrency, metrics));
  const ec2Client = paced(clients.ec2, new Pacer("ec2", maxConcurrency, metrics));
  const api: EcsApi = {
    async listClusters() {
      const arns: string[] = [];
      for await (const page of paginateListClusters({ client: await ecsClient(), pageSize: PAGE_SIZE }, {}))
        arns.push(...requiredList(page.clusterArns, "ListClusters", "clusterArns"));
      return arns.sort();
    },
    async describeClusters(clusters) {
      const out = await (
        await ecsClient()
      ).send(new DescribeClustersCommand({ clusters, include: ["TAGS"] }));
      return {
        found: (out.clusters ?? []).flatMap((c) =>
          c.clusterArn && c.clusterName
            ? [{ arn: c.clusterArn, name: c.clusterName, tags: ecsTags(c.tags) }]
            : [],
        ),
        failures: failuresOf(out.failures),
      };
    },
    async describeServices(cluster, services) {
      const out = await (
        await ecsClient()
      ).send(new DescribeServicesCommand({ cluster, services, include: ["TAGS"] }));
      return {
        found: (out.services ?? []).flatMap((s) =>
          s.serviceName && s.serviceArn
            ? [
                {
                  name: s.serviceName,
                  arn: s.serviceArn,
                  ...(s.status ? { status: s.status } : {}),
                  tags: ecsTags(s.tags),
                  taskDefinitions: activeTaskDefinitions([...(s.deployments ?? []), ...(s.taskSets ?? [])]),
                },
              ]
            : [],
        ),
        failures: failuresOf(out.failures),
      };
    },
    async listServices(cluster) {
      const arns: string[] = [];
      const input = { cluster };
      for await (const page of paginateListServices(
        { client: await ecsClient(), pageSize: PAGE_SIZE },
        input,
      ))
        arns.push(...requiredList(page.serviceArns, "ListServices", "serviceArns"));
      return arns;
    },
    async listTasks(cluster) {
      const arns: string[] = [];
      const input = { cluster, desiredStatus: "RUNNING" as const };
      for await (const page of paginateListTasks({ client: await ecsClient(), pageSize: PAGE_SIZE }, input))
        arns.push(...requiredList(page.taskArns, "ListTasks", "taskArns"));
      return arns;
    },
    async describeTasks(cluster, taskArns, withTags) {
      const out = await (
        await ecsClient()
      ).send(
        new DescribeTasksCommand({ cluster, tasks: taskArns, ...(withTags ? { include: ["TAGS"] } : {}) }),
      );
      // Not split (another client, another shape): the parsed tasks, checked as every list is, as JSON.
      const texts =
        taskTextsOf(out) ?? requiredList(out.tasks, "DescribeTasks", "tasks").map((t) => JSON.stringify(t));
      return { found: texts.map(describedTask), failures: failuresOf(out.failures) };
    },
    async describeTaskDefinition(arn) {
      const out = await (await ecsClient()).send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
      if (!out.taskDefinition) throw new MalformedResponse("DescribeTaskDefinition", "taskDefinition");
      return out.taskDefinition;
    },
    async describeContainerInstances(cluster, arns) {
      const out = await (
        await ecsClient()
      ).send(new DescribeContainerInstancesCommand({ cluster, containerInstances: arns }));
      return requiredList(out.containerInstances, "DescribeContainerInstances", "containerInstances").flatMap(
        (ci) =>
          ci.containerInstanceArn && ci.ec2InstanceId
            ? [{ containerInstanceArn: ci.containerInstanceArn, ec2InstanceId: ci.ec2InstanceId }]
            : [],
      );
    },
    async describeInstances(instanceIds) {
      const out: InstanceFacts[] = [];
      const client = await ec2Client();
      for await (const page of paginateDescribeInstances({ client }, { InstanceIds: instanceIds }))
        for (const r of requiredList(page.Reservations, "DescribeInstances", "Reservations"))
          for (const i of r.Instances ?? [])
            if (i.InstanceId)
              out.push({
                instanceId: i.InstanceId,
                ...(i.InstanceType ? { instanceType: i.InstanceType } : {}),
                ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}),
                ...(i.PublicIpAddress ? { publicIp: i.PublicIpAddress } : {}),
                ...(i.SubnetId ? { subnetId: i.SubnetId } : {}),
                tags: ec2Tags(i.Tags),
              });
      return out;
    },
    async describeNetworkInterfaces(eniIds) {
      const out: EniFacts[] = [];
      const input = { NetworkInterfaceIds: eniIds };
      for await (const page of paginateDescribeNetworkInterfaces({ client: await ec2Client() }, input))
        for (const ni of requiredList(
          page.NetworkInterfaces,
          "DescribeNetworkInterfaces",
          "NetworkInterfaces",
        ))
          if (ni.NetworkInterfaceId)
            out.push({
              eniId: ni.NetworkInterfaceId,
              ...(ni.Association?.PublicIp ? { publicIp: ni.Association.PublicIp } : {}),
            });
      return out;
    },
  };
  return api;
}
