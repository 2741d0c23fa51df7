// ECS over AWS JSON 1.1 (X-Amz-Target AmazonEC2ContainerServiceV20141113.<Op>): the read operations a
// discovery tool uses, with ECS's batch limits, pagination and response shapes.
import type { Cluster, ContainerInstance, Failure, Service, Task } from "@aws-sdk/client-ecs";
import { byKey, limit, optString, page, stringList, type Wire } from "./paging.js";
import { SimAwsError } from "./protocol.js";
import type { ClusterRec, InstanceRec, ServiceRec, TaskRec } from "./ecs-model.js";
import {
  renderCluster,
  renderInstance,
  renderService,
  renderTask,
  renderTaskDefinition,
  tags,
  type EcsOptions,
} from "./ecs-render.js";
import type { EcsState } from "./ecs-state.js";

const invalid = (message: string) => new SimAwsError("InvalidParameterException", message);
const badToken = () => invalid("Invalid nextToken");

function clusterOrThrow(ecs: EcsState, params: Record<string, unknown>, region: string): ClusterRec {
  const ref = optString(params, "cluster", invalid) ?? "default";
  const cluster = ecs.findCluster(ref, region);
  if (!cluster) throw new SimAwsError("ClusterNotFoundException", "Cluster not found.");
  return cluster;
}

/** Cluster names and ARNs a request touches (for per-cluster fault rules). */
export function ecsClusters(
  ecs: EcsState,
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
    const c = ecs.findCluster(ref, region);
    return c ? [c.name, c.arn] : [ref];
  });
}

export function handleEcs(
  ecs: EcsState,
  operation: string,
  params: Record<string, unknown>,
  region: string,
  opts: EcsOptions,
): unknown {
  switch (operation) {
    case "ListClusters": {
      const max = limit(params, "maxResults", 1, 100, 100, invalid);
      const all = [...ecs.clusters.values()].filter((c) => c.region === region).sort(byKey((c) => c.arn));
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
        const c = ecs.findCluster(ref, region);
        if (c) clusters.push(renderCluster(ecs, c, include.includes("TAGS")));
        else
          failures.push({
            arn: ref.startsWith("arn:") ? ref : ecs.ctx.arn("ecs", region, `cluster/${ref}`),
            reason: "MISSING",
          });
      }
      return { clusters, failures };
    }
    case "ListTasks": {
      const cluster = clusterOrThrow(ecs, params, region);
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
        service = ecs.findService(cluster, serviceName);
        if (!service) throw new SimAwsError("ServiceNotFoundException", "Service not found.");
      }
      let instance: InstanceRec | undefined;
      if (instanceRef) {
        instance = ecs.findInstance(cluster, instanceRef);
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
      const cluster = clusterOrThrow(ecs, params, region);
      const refs = stringList(params, "tasks", invalid);
      if (!refs || refs.length === 0) throw invalid("Tasks cannot be empty.");
      if (refs.length > 100) throw invalid("Too many tasks were provided. The maximum is 100.");
      const withTags = (stringList(params, "include", invalid) ?? []).includes("TAGS");
      const tasks: Wire<Task>[] = [];
      const failures: Failure[] = [];
      const shown: TaskRec[] = [];
      for (const ref of refs) {
        const t = ecs.findTask(cluster, ref);
        if (!t) {
          failures.push({ arn: ref, reason: "MISSING" });
          continue;
        }
        tasks.push(renderTask(ecs, t, withTags, opts));
        shown.push(t);
      }
      for (const t of shown) ecs.describedOnce(t);
      return { tasks, failures };
    }
    case "DescribeTaskDefinition": {
      const ref = optString(params, "taskDefinition", invalid);
      if (!ref) throw new SimAwsError("ClientException", "TaskDefinition cannot be empty.");
      const td = ecs.findTaskDef(ref);
      if (!td) throw new SimAwsError("ClientException", "Unable to describe task definition.");
      const withTags = (stringList(params, "include", invalid) ?? []).includes("TAGS");
      return { taskDefinition: renderTaskDefinition(td), ...(withTags ? { tags: tags(td.tags) } : {}) };
    }
    case "ListContainerInstances": {
      const cluster = clusterOrThrow(ecs, params, region);
      const max = limit(params, "maxResults", 1, 100, 100, invalid);
      const all = [...cluster.instances.values()].sort(byKey((i) => i.arn));
      const p = page(all, (i) => i.arn, params.nextToken, max, badToken);
      return {
        containerInstanceArns: p.items.map((i) => i.arn),
        ...(p.nextToken ? { nextToken: p.nextToken } : {}),
      };
    }
    case "DescribeContainerInstances": {
      const cluster = clusterOrThrow(ecs, params, region);
      const refs = stringList(params, "containerInstances", invalid);
      if (!refs || refs.length === 0) throw invalid("ContainerInstances cannot be empty.");
      if (refs.length > 100) throw invalid("Too many containerInstances were provided. The maximum is 100.");
      const containerInstances: Wire<ContainerInstance>[] = [];
      const failures: Failure[] = [];
      for (const ref of refs) {
        const inst = ecs.findInstance(cluster, ref);
        if (inst) containerInstances.push(renderInstance(cluster, inst));
        else failures.push({ arn: ref, reason: "MISSING" });
      }
      return { containerInstances, failures };
    }
    case "ListServices": {
      const cluster = clusterOrThrow(ecs, params, region);
      const max = limit(params, "maxResults", 1, 100, 10, invalid);
      const launchType = optString(params, "launchType", invalid);
      const all = [...cluster.services.values()]
        .filter((s) => !launchType || s.launchType === launchType)
        .sort(byKey((s) => s.arn));
      const p = page(all, (s) => s.arn, params.nextToken, max, badToken);
      return { serviceArns: p.items.map((s) => s.arn), ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
    }
    case "DescribeServices": {
      const cluster = clusterOrThrow(ecs, params, region);
      const refs = stringList(params, "services", invalid);
      if (!refs || refs.length === 0) throw invalid("Services cannot be empty.");
      if (refs.length > 10) throw invalid("Too many services were provided. The maximum is 10.");
      const withTags = (stringList(params, "include", invalid) ?? []).includes("TAGS");
      const services: Wire<Service>[] = [];
      const failures: Failure[] = [];
      for (const ref of refs) {
        const s = ecs.findService(cluster, ref);
        if (s) services.push(renderService(ecs, s, withTags));
        else
          failures.push({
            arn: ref.startsWith("arn:") ? ref : ecs.ctx.arn("ecs", region, `service/${cluster.name}/${ref}`),
            reason: "MISSING",
          });
      }
      return { services, failures };
    }
    case "ListTagsForResource": {
      const arn = optString(params, "resourceArn", invalid);
      if (!arn) throw invalid("resourceArn cannot be empty.");
      const found = findTagged(ecs, arn);
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

function findTagged(ecs: EcsState, arn: string): Record<string, string> | undefined {
  const c = ecs.clusters.get(arn);
  if (c) return c.tags;
  const td = ecs.taskDefs.get(arn);
  if (td) return td.tags;
  for (const cluster of ecs.clusters.values()) {
    if (!arn.includes(`/${cluster.name}/`)) continue;
    const t = ecs.findTask(cluster, arn);
    if (t) return t.tags;
    const s = ecs.findService(cluster, arn);
    if (s) return s.tags;
    if (ecs.findInstance(cluster, arn)) return {};
  }
  return undefined;
}
