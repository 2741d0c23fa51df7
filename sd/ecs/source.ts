// ECS source: per cluster one ListTasks walk, DescribeTasks only for task ARNs not seen before. Task
// definitions, container instance -> EC2 instance ids and EC2 private IPs never change for their ARN or
// id, so each cluster keeps exactly those its last refresh referenced: no TTL, and memory follows the
// cluster's size.
import type { Task, TaskDefinition } from "@aws-sdk/client-ecs";
import { settle, UnitBackoff, type Settled } from "../../core/backoff.js";
import type { Config } from "../../cmd/config.js";
import type { Logger } from "../../core/log.js";
import type { AwsScope } from "../../core/scopes.js";
import type { SelfMetrics } from "../../core/metrics.js";
import type { DiscoveredTarget } from "../model.js";
import type { Source, SourceRefresh, UnitOutcome } from "../refresh.js";
import { createEcsApi, describeInBatches, type EcsApi } from "./api.js";
import {
  buildTaskTargets,
  clusterNameFromArn,
  needsHostIp,
  type HostInfo,
  type OptInOptions,
  SKIP_REASONS,
  type SkipReason,
} from "./targets.js";

function hasHealthCheck(def: TaskDefinition): boolean {
  return (def.containerDefinitions ?? []).some((c) => c.healthCheck !== undefined);
}

export interface EcsSourceDeps {
  scopes: AwsScope[];
  config: Config;
  metrics: SelfMetrics;
  logger: Logger;
  /** The ECS API of a scope; tests pass a fake. Defaults to the SDK clients behind a limiter. */
  api?: (scope: AwsScope) => EcsApi;
}

/** What the source remembers per cluster between refreshes: what its last refresh referenced. */
interface ClusterState {
  /** Settled task descriptions (RUNNING with an address), by task ARN. */
  tasks: Map<string, Task>;
  taskDefinitions: Map<string, TaskDefinition>;
  /** Container instance ARN -> EC2 instance id. */
  instanceIds: Map<string, string>;
  /** EC2 instance id -> private IP. */
  privateIps: Map<string, string>;
}

const emptyState = (): ClusterState => ({
  tasks: new Map(),
  taskDefinitions: new Map(),
  instanceIds: new Map(),
  privateIps: new Map(),
});

export class EcsSource implements Source {
  readonly name = "ecs" as const;
  private readonly clusters = new Map<string, ClusterState>();
  private readonly apis = new Map<string, EcsApi>();
  private readonly backoff = new UnitBackoff();
  /** ListClusters per scope backs off like a cluster when throttled or failing with 5xx. */
  private readonly listingBackoff = new UnitBackoff();
  private readonly opts: OptInOptions;
  private skipped = new Map<SkipReason, number>();

  constructor(private readonly deps: EcsSourceDeps) {
    const { ecs } = deps.config;
    this.opts = { optIn: ecs.optIn, labelPrefix: ecs.labelPrefix, portName: ecs.portName };
  }

  async refresh(): Promise<SourceRefresh> {
    this.skipped = new Map();
    const units: UnitOutcome[] = [];
    const failedScopes: string[] = [];
    const scopeErrors = new Map<string, Error>();
    await Promise.all(
      this.deps.scopes.map(async (scope) => {
        const api = this.api(scope);
        const configured = this.deps.config.clusters;
        const listing: Settled<string[]> =
          configured.length > 0
            ? { ok: true, value: configured }
            : await this.listingBackoff.run<Settled<string[]>>(
                scope.key,
                () => settle(() => api.listClusters()),
                (error) => ({ ok: false, error }),
              );
        if (!listing.ok) {
          failedScopes.push(`${scope.key}/`);
          scopeErrors.set(`${scope.key}/`, listing.error);
          this.deps.logger.warn("ListClusters failed; keeping last-good targets", {
            scope: scope.key,
            error: listing.error.name,
            message: listing.error.message,
          });
          return;
        }
        const clusters = listing.value;
        await Promise.all(
          clusters.map(async (cluster) => {
            const unit = `${scope.key}/${clusterNameFromArn(cluster) ?? cluster}`;
            const outcome = await this.backoff.run<UnitOutcome>(
              unit,
              async () => {
                try {
                  return { unit, ok: true, targets: await this.refreshCluster(api, cluster, unit) };
                } catch (err) {
                  return { unit, ok: false, error: err as Error };
                }
              },
              (error) => ({ unit, ok: false, error }),
            );
            units.push(outcome);
          }),
        );
        // Forget clusters no longer listed in this scope.
        const live = new Set(clusters.map((c) => `${scope.key}/${clusterNameFromArn(c) ?? c}`));
        for (const key of this.clusters.keys())
          if (key.startsWith(`${scope.key}/`) && !live.has(key)) this.clusters.delete(key);
        this.backoff.retain((unit) => !unit.startsWith(`${scope.key}/`) || live.has(unit));
      }),
    );
    for (const reason of SKIP_REASONS)
      this.deps.metrics.skipped.set({ source: "ecs", reason }, this.skipped.get(reason) ?? 0);
    return { units, failedScopes, scopeErrors };
  }

  /** One API (and so one limiter) per scope, made on first use. */
  private api(scope: AwsScope): EcsApi {
    let api = this.apis.get(scope.key);
    if (!api) {
      const maxConcurrency = this.deps.config.aws.maxConcurrency;
      api = this.deps.api?.(scope) ?? createEcsApi(scope.clients, maxConcurrency);
      this.apis.set(scope.key, api);
    }
    return api;
  }

  private async refreshCluster(api: EcsApi, cluster: string, unit: string): Promise<DiscoveredTarget[]> {
    const previous = this.clusters.get(unit) ?? emptyState();
    const arns = await api.listTasks(cluster);

    // Describe only what we have not settled before; known RUNNING tasks come from the last refresh.
    const current = new Map<string, Task>();
    const unknown: string[] = [];
    for (const arn of arns) {
      const known = previous.tasks.get(arn);
      if (known) current.set(arn, known);
      else unknown.push(arn);
    }
    const withTags = this.deps.config.ecs.taskTags;
    const described = await describeInBatches(unknown, (batch) =>
      api.describeTasks(cluster, batch, withTags),
    );
    for (const t of described) if (t.taskArn) current.set(t.taskArn, t);

    const next: ClusterState = emptyState();
    await this.loadTaskDefinitions(api, [...current.values()], previous, next);
    const hosts = await this.loadHosts(api, cluster, [...current.values()], previous, next);

    const targets: DiscoveredTarget[] = [];
    for (const [arn, task] of current) {
      const def = task.taskDefinitionArn ? next.taskDefinitions.get(task.taskDefinitionArn) : undefined;
      const host = task.containerInstanceArn ? hosts.get(task.containerInstanceArn) : undefined;
      const result = buildTaskTargets(task, def, host, this.opts);
      targets.push(...result.targets);
      for (const reason of result.skipped) this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
      // Keep only settled tasks; PROVISIONING/PENDING ones, ones without an address, and ones whose
      // container health checks have not reported yet are described again (so the health label is not stuck).
      const settled =
        task.lastStatus === "RUNNING" &&
        def !== undefined &&
        !result.skipped.includes("no_ip") &&
        !result.skipped.includes("invalid_address") &&
        !result.skipped.includes("unresolved_host_port") &&
        !(task.healthStatus === "UNKNOWN" && hasHealthCheck(def));
      if (settled) next.tasks.set(arn, task);
    }
    // ARNs that vanished from ListTasks, and what only they referenced, are dropped here.
    this.clusters.set(unit, next);
    return targets;
  }

  /** The task definitions the tasks reference, into `next`: from the last refresh, else described. */
  private async loadTaskDefinitions(
    api: EcsApi,
    tasks: Task[],
    previous: ClusterState,
    next: ClusterState,
  ): Promise<void> {
    const missing = new Set<string>();
    for (const { taskDefinitionArn: arn } of tasks) {
      if (!arn || next.taskDefinitions.has(arn)) continue;
      const known = previous.taskDefinitions.get(arn);
      if (known) next.taskDefinitions.set(arn, known);
      else missing.add(arn);
    }
    await Promise.all(
      [...missing].map(async (arn) => {
        const def = await api.describeTaskDefinition(arn);
        if (def) next.taskDefinitions.set(arn, def);
      }),
    );
  }

  /**
   * Container instance -> EC2 instance id (ECS API) and, for bridge/host tasks only, its private IP (EC2
   * API), into `next`: from the last refresh, else described.
   */
  private async loadHosts(
    api: EcsApi,
    cluster: string,
    tasks: Task[],
    previous: ClusterState,
    next: ClusterState,
  ): Promise<Map<string, HostInfo>> {
    const ciArns = new Set<string>();
    const needIp = new Set<string>();
    for (const t of tasks) {
      if (!t.containerInstanceArn || t.lastStatus !== "RUNNING") continue;
      ciArns.add(t.containerInstanceArn);
      const def = t.taskDefinitionArn ? next.taskDefinitions.get(t.taskDefinitionArn) : undefined;
      if (needsHostIp(t, def)) needIp.add(t.containerInstanceArn);
    }
    const unknownCi: string[] = [];
    for (const arn of ciArns) {
      const id = previous.instanceIds.get(arn);
      if (id) next.instanceIds.set(arn, id);
      else unknownCi.push(arn);
    }
    const found = await describeInBatches(unknownCi, (batch) =>
      api.describeContainerInstances(cluster, batch),
    );
    for (const ci of found) next.instanceIds.set(ci.containerInstanceArn, ci.ec2InstanceId);

    const unknownIds = new Set<string>();
    for (const arn of needIp) {
      const id = next.instanceIds.get(arn);
      // External (ECS Anywhere) instances carry an SSM id (mi-...): EC2 would reject the whole batch.
      if (!id?.startsWith("i-")) continue;
      const ip = previous.privateIps.get(id);
      if (ip) next.privateIps.set(id, ip);
      else unknownIds.add(id);
    }
    const addresses = await describeInBatches([...unknownIds], (batch) => api.describeInstances(batch));
    for (const a of addresses) next.privateIps.set(a.instanceId, a.privateIp);

    const hosts = new Map<string, HostInfo>();
    for (const arn of ciArns) {
      const id = next.instanceIds.get(arn);
      const ip = id && needIp.has(arn) ? next.privateIps.get(id) : undefined;
      hosts.set(arn, { ...(id ? { ec2InstanceId: id } : {}), ...(ip ? { privateIp: ip } : {}) });
    }
    return hosts;
  }
}
