// ECS source: per cluster one ListTasks walk, DescribeTasks only for task ARNs not seen before,
// task definitions cached forever by ARN, container instances and EC2 IPs cached with a TTL.
import {
  DescribeContainerInstancesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListClustersCommand,
  ListTasksCommand,
  type Task,
  type TaskDefinition,
} from "@aws-sdk/client-ecs";
import { DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import { chunk } from "../../core/aws.js";
import { UnitBackoff } from "../../core/backoff.js";
import { LruCache, TtlCache, createLimiter } from "../../core/cache.js";
import type { Config } from "../../cmd/config.js";
import type { Logger } from "../../core/log.js";
import type { AwsScope } from "../../core/scopes.js";
import type { SelfMetrics } from "../../core/metrics.js";
import type { DiscoveredTarget } from "../model.js";
import type { Source, SourceRefresh, UnitOutcome } from "../refresh.js";
import {
  buildTaskTargets,
  clusterNameFromArn,
  needsHostIp,
  type HostInfo,
  type OptInOptions,
  SKIP_REASONS,
  type SkipReason,
} from "./ecs-targets.js";

// The former ecs.taskDefinitionCacheSize / ecs.containerInstanceTtlSeconds defaults, until the source keeps
// exactly what the last refresh referenced.
const TASK_DEFINITION_CACHE_SIZE = 5000;
const CONTAINER_INSTANCE_TTL_MS = 600_000;

function hasHealthCheck(def: TaskDefinition): boolean {
  return (def.containerDefinitions ?? []).some((c) => c.healthCheck !== undefined);
}

export interface EcsSourceDeps {
  scopes: AwsScope[];
  config: Config;
  metrics: SelfMetrics;
  logger: Logger;
  now?: () => number;
}

/** What the source remembers per cluster between refreshes. */
interface ClusterState {
  /** Settled task descriptions (RUNNING with an address), by task ARN. */
  tasks: Map<string, Task>;
}

type Call = <T>(fn: () => Promise<T>) => Promise<T>;

export class EcsSource implements Source {
  readonly name = "ecs" as const;
  private readonly clusters = new Map<string, ClusterState>();
  private readonly taskDefinitions: LruCache<string, TaskDefinition>;
  private readonly containerInstances: TtlCache<string, string>;
  private readonly ec2Ips: TtlCache<string, string>;
  private readonly limiters = new Map<string, Call>();
  private readonly backoff = new UnitBackoff();
  private readonly opts: OptInOptions;
  private skipped = new Map<SkipReason, number>();

  constructor(private readonly deps: EcsSourceDeps) {
    const { ecs } = deps.config;
    const now = deps.now ?? Date.now;
    this.taskDefinitions = new LruCache(TASK_DEFINITION_CACHE_SIZE);
    this.containerInstances = new TtlCache(CONTAINER_INSTANCE_TTL_MS, now);
    this.ec2Ips = new TtlCache(CONTAINER_INSTANCE_TTL_MS, now);
    this.opts = { optIn: ecs.optIn, labelPrefix: ecs.labelPrefix, portName: ecs.portName };
  }

  async refresh(): Promise<SourceRefresh> {
    this.skipped = new Map();
    const units: UnitOutcome[] = [];
    const failedScopes: string[] = [];
    await Promise.all(
      this.deps.scopes.map(async (scope) => {
        const call = this.limiter(scope.key);
        let clusters: string[];
        try {
          clusters =
            this.deps.config.clusters.length > 0
              ? this.deps.config.clusters
              : await this.listClusters(scope, call);
        } catch (err) {
          failedScopes.push(`${scope.key}/`);
          this.deps.logger.warn("ListClusters failed; keeping last-good targets", {
            scope: scope.key,
            error: (err as Error).name,
            message: (err as Error).message,
          });
          return;
        }
        await Promise.all(
          clusters.map(async (cluster) => {
            const unit = `${scope.key}/${clusterNameFromArn(cluster) ?? cluster}`;
            const outcome = await this.backoff.run<UnitOutcome>(
              unit,
              async () => {
                try {
                  return { unit, ok: true, targets: await this.refreshCluster(scope, cluster, unit, call) };
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
    return { units, failedScopes };
  }

  private limiter(scopeKey: string): Call {
    let l = this.limiters.get(scopeKey);
    if (!l) {
      l = createLimiter(this.deps.config.aws.maxConcurrency);
      this.limiters.set(scopeKey, l);
    }
    return l;
  }

  private async listClusters(scope: AwsScope, call: Call): Promise<string[]> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await call(() =>
        scope.clients.ecs.send(new ListClustersCommand({ nextToken, maxResults: 100 })),
      );
      arns.push(...(page.clusterArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return arns.sort();
  }

  private async listTasks(scope: AwsScope, cluster: string, call: Call): Promise<string[]> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await call(() =>
        scope.clients.ecs.send(
          new ListTasksCommand({ cluster, desiredStatus: "RUNNING", maxResults: 100, nextToken }),
        ),
      );
      arns.push(...(page.taskArns ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return arns;
  }

  private async refreshCluster(
    scope: AwsScope,
    cluster: string,
    unit: string,
    call: Call,
  ): Promise<DiscoveredTarget[]> {
    const ecs = scope.clients.ecs;
    const state = this.clusters.get(unit) ?? { tasks: new Map<string, Task>() };
    const arns = await this.listTasks(scope, cluster, call);

    // Describe only what we have not settled before; known RUNNING tasks come from the cache.
    const current = new Map<string, Task>();
    const unknown: string[] = [];
    for (const arn of arns) {
      const known = state.tasks.get(arn);
      if (known) current.set(arn, known);
      else unknown.push(arn);
    }
    const include = this.deps.config.ecs.taskTags ? (["TAGS"] as const) : undefined;
    const described = await Promise.all(
      chunk(unknown, 100).map((batch) =>
        call(() =>
          ecs.send(
            new DescribeTasksCommand({
              cluster,
              tasks: batch,
              ...(include ? { include: [...include] } : {}),
            }),
          ),
        ),
      ),
    );
    for (const page of described) for (const t of page.tasks ?? []) if (t.taskArn) current.set(t.taskArn, t);

    // Held for this refresh: the LRU may evict some when more definitions are in use than it holds.
    const defs = await this.loadTaskDefinitions(scope, [...current.values()], call);
    const hosts = await this.loadHosts(scope, cluster, [...current.values()], defs, call);

    const targets: DiscoveredTarget[] = [];
    const settled = new Map<string, Task>();
    for (const [arn, task] of current) {
      const def = task.taskDefinitionArn ? defs.get(task.taskDefinitionArn) : undefined;
      const host = task.containerInstanceArn ? hosts.get(task.containerInstanceArn) : undefined;
      const result = buildTaskTargets(task, def, host, this.opts);
      targets.push(...result.targets);
      for (const reason of result.skipped) this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
      // Cache only settled tasks; PROVISIONING/PENDING ones, ones without an address, and ones whose
      // container health checks have not reported yet are described again (so the health label is not stuck).
      const settledNow =
        task.lastStatus === "RUNNING" &&
        def !== undefined &&
        !result.skipped.includes("no_ip") &&
        !result.skipped.includes("unresolved_host_port") &&
        !(task.healthStatus === "UNKNOWN" && hasHealthCheck(def));
      if (settledNow) settled.set(arn, task);
    }
    state.tasks = settled; // ARNs that vanished from ListTasks are dropped here.
    this.clusters.set(unit, state);
    return targets;
  }

  private async loadTaskDefinitions(
    scope: AwsScope,
    tasks: Task[],
    call: Call,
  ): Promise<Map<string, TaskDefinition>> {
    const defs = new Map<string, TaskDefinition>();
    const missing = new Set<string>();
    for (const t of tasks) {
      if (!t.taskDefinitionArn || defs.has(t.taskDefinitionArn)) continue;
      const cached = this.taskDefinitions.get(t.taskDefinitionArn);
      if (cached) defs.set(t.taskDefinitionArn, cached);
      else missing.add(t.taskDefinitionArn);
    }
    await Promise.all(
      [...missing].map(async (arn) => {
        const out = await call(() =>
          scope.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn })),
        );
        if (!out.taskDefinition) return;
        this.taskDefinitions.set(arn, out.taskDefinition);
        defs.set(arn, out.taskDefinition);
      }),
    );
    return defs;
  }

  /** Container instance -> EC2 instance id (ECS API) and, for bridge/host tasks only, its private IP (EC2 API). */
  private async loadHosts(
    scope: AwsScope,
    cluster: string,
    tasks: Task[],
    defs: Map<string, TaskDefinition>,
    call: Call,
  ): Promise<Map<string, HostInfo>> {
    const ciArns = new Set<string>();
    const needIp = new Set<string>();
    for (const t of tasks) {
      if (!t.containerInstanceArn || t.lastStatus !== "RUNNING") continue;
      ciArns.add(t.containerInstanceArn);
      const def = t.taskDefinitionArn ? defs.get(t.taskDefinitionArn) : undefined;
      if (needsHostIp(t, def)) needIp.add(t.containerInstanceArn);
    }
    const unknownCi = [...ciArns].filter((a) => this.containerInstances.get(a) === undefined);
    const pages = await Promise.all(
      chunk(unknownCi, 100).map((batch) =>
        call(() =>
          scope.clients.ecs.send(
            new DescribeContainerInstancesCommand({ cluster, containerInstances: batch }),
          ),
        ),
      ),
    );
    for (const page of pages)
      for (const ci of page.containerInstances ?? [])
        if (ci.containerInstanceArn && ci.ec2InstanceId)
          this.containerInstances.set(ci.containerInstanceArn, ci.ec2InstanceId);

    const instanceIds = new Set<string>();
    for (const a of needIp) {
      const id = this.containerInstances.get(a);
      // External (ECS Anywhere) instances carry an SSM id (mi-...): EC2 would reject the whole batch.
      if (id?.startsWith("i-") && this.ec2Ips.get(id) === undefined) instanceIds.add(id);
    }
    const reservations = await Promise.all(
      chunk([...instanceIds], 100).map((batch) =>
        call(() => scope.clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: batch }))),
      ),
    );
    for (const page of reservations)
      for (const r of page.Reservations ?? [])
        for (const i of r.Instances ?? [])
          if (i.InstanceId && i.PrivateIpAddress) this.ec2Ips.set(i.InstanceId, i.PrivateIpAddress);

    const hosts = new Map<string, HostInfo>();
    for (const a of ciArns) {
      const id = this.containerInstances.get(a);
      const ip = id && needIp.has(a) ? this.ec2Ips.get(id) : undefined;
      hosts.set(a, { ...(id ? { ec2InstanceId: id } : {}), ...(ip ? { privateIp: ip } : {}) });
    }
    return hosts;
  }
}
