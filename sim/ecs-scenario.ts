// Loads the ECS part of a scenario into an account's EcsState: task definitions, clusters, container
// instances, services (scaled to their desiredCount, tasks RUNNING at once) and standalone tasks.
import type { AccountContext } from "./context.js";
import type { ClusterRec, ServiceRec, TaskDefRec } from "./ecs-model.js";
import type { EcsState } from "./ecs-state.js";
import { stableHex } from "./ids.js";
import { SimScenarioError } from "./protocol.js";
import type { Scenario, TaskSpec } from "./types.js";

/** Explicit addresses of the scenario, reserved before any pool (ECS or Cloud Map) hands one out. */
export function reserveEcsAddresses(ctx: AccountContext, s: Scenario): void {
  for (const c of s.clusters ?? []) {
    if (Array.isArray(c.containerInstances))
      for (const ci of c.containerInstances) if (ci.privateIp) ctx.instanceIps.reserve(ci.privateIp);
    for (const t of c.tasks ?? []) {
      if (t.ip && (t.count ?? 1) > 1)
        throw new SimScenarioError(`cluster ${c.name}: a task with a fixed ip cannot have count > 1`);
      if (t.ip) ctx.taskIps.reserve(t.ip);
    }
  }
}

/** Task definitions, then clusters with their instances, services (scaled to desiredCount) and tasks. */
export function loadEcs(ecs: EcsState, s: Scenario): void {
  for (const [i, td] of (s.taskDefinitions ?? []).entries()) {
    const where = `taskDefinitions[${i}]`;
    if (!td.family) throw new SimScenarioError(`${where}: family is required`);
    if (!Array.isArray(td.containerDefinitions) || td.containerDefinitions.length === 0)
      throw new SimScenarioError(
        `${where} (${td.family}): containerDefinitions must list at least one container`,
      );
    const networkMode = td.networkMode ?? "awsvpc";
    const rec: TaskDefRec = {
      arn: ecs.ctx.arn("ecs", ecs.ctx.region, `task-definition/${td.family}:${td.revision ?? 1}`),
      family: td.family,
      revision: td.revision ?? 1,
      networkMode,
      compat: td.requiresCompatibilities ?? (networkMode === "awsvpc" ? ["FARGATE"] : ["EC2"]),
      cpu: td.cpu ?? "256",
      memory: td.memory ?? "512",
      containers: td.containerDefinitions,
      tags: td.tags ?? {},
      registeredAt: ecs.ctx.now(),
    };
    if (ecs.taskDefs.has(rec.arn))
      throw new SimScenarioError(`${where}: duplicate task definition ${rec.arn}`);
    ecs.taskDefs.set(rec.arn, rec);
  }
  for (const [i, c] of (s.clusters ?? []).entries()) {
    const region = c.region ?? ecs.ctx.region;
    const cluster: ClusterRec = {
      arn: ecs.ctx.arn("ecs", region, `cluster/${c.name}`),
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
    if (ecs.clusters.has(cluster.arn))
      throw new SimScenarioError(`clusters[${i}]: duplicate cluster ${c.name}`);
    ecs.clusters.set(cluster.arn, cluster);
    const instances =
      typeof c.containerInstances === "number"
        ? Array.from({ length: c.containerInstances }, () => ({}))
        : (c.containerInstances ?? []);
    for (const ci of instances) ecs.addContainerInstance(cluster, ci);
    for (const svc of c.services ?? []) {
      const where = `clusters[${i}] (${c.name}) service ${svc.name}`;
      const td = ecs.resolveTaskDef(svc.taskDefinition, where);
      if (cluster.services.has(svc.name)) throw new SimScenarioError(`${where}: duplicate service`);
      if (svc.serviceRegistry)
        ecs.cloudMap.service(svc.serviceRegistry.namespace, svc.serviceRegistry.service, region, where);
      const rec: ServiceRec = {
        arn: ecs.ctx.arn("ecs", region, `service/${c.name}/${svc.name}`),
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
        createdAt: ecs.ctx.now(),
      };
      cluster.services.set(svc.name, rec);
      ecs.scaleService(cluster.arn, svc.name, svc.desiredCount, { pendingDescribes: 0 });
    }
    for (const [j, t] of (c.tasks ?? []).entries()) {
      const initial = t.lastStatus ?? "RUNNING";
      for (let n = 0; n < (t.count ?? 1); n++)
        ecs.startTask(
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
}
