// ECS source: per account/region, the clusters (configured, else ListClusters) are described once per
// TTL (their tags, and whether a configured one exists there), then each cluster refreshes on its own
// (sd/ecs/cluster.ts). A configured cluster absent from a scope is an ok, empty unit marked absent,
// not a failure retried forever; a cluster that fails keeps its last-good targets.
import { settle, UnitBackoff, type Settled } from "../../core/backoff.js";
import { failedOperation, type ServiceKey } from "../../core/aws.js";
import { ClusterNotFoundException } from "../../core/sdk/ecs.js";
import { withCallCounts } from "../../core/calls.js";
import type { Config } from "../../cmd/config.js";
import type { Logger } from "../../core/log.js";
import type { AwsScope } from "../../core/scopes.js";
import type { SelfMetrics } from "../../core/metrics.js";
import type { Source, SourceRefresh, UnitOutcome } from "../refresh.js";
import { keptSkips, SkipCollector, type UnitSkips } from "../skips.js";
import { createEcsApi, type DescribeFailure, type EcsApi } from "./api.js";
import { emptyClusterState, refreshCluster, type ClusterRefreshDeps, type ClusterState } from "./cluster.js";
import { ScopeFacts } from "./scope.js";
import { clusterNameFromArn, type OptInOptions, SKIP_REASONS, type SkipReason } from "./targets.js";

export interface EcsSourceDeps {
  scopes: AwsScope[];
  config: Config;
  metrics: SelfMetrics;
  logger: Logger;
  /** The ECS API of a scope; tests pass a fake. Defaults to the SDK clients behind a limiter. */
  api?: (scope: AwsScope) => EcsApi;
  /** The clock of the fact caches' TTLs; tests inject one. */
  now?: () => number;
}

export class EcsSource implements Source {
  readonly name = "ecs" as const;
  private readonly clusters = new Map<string, ClusterState>();
  private readonly scopes = new Map<string, ScopeFacts>();
  private readonly absent = new Set<string>();
  private readonly backoff = new UnitBackoff();
  /** Throttled or failing listings (ListClusters) back off like units. */
  private readonly listingBackoff = new UnitBackoff();
  private readonly opts: OptInOptions;
  private skipped = new Map<SkipReason, number>();
  private collecting = new SkipCollector();
  private lastSkips = new Map<string, UnitSkips>();

  /** ENI public IPs and EC2 hosts come from EC2; events mode reads SQS. */
  readonly awsServices: readonly ServiceKey[];

  constructor(private readonly deps: EcsSourceDeps) {
    const { ecs } = deps.config;
    this.awsServices = ["ecs", "ec2", ...(ecs.events.enabled ? (["sqs"] as const) : [])];
    this.opts = { optIn: ecs.optIn, labelPrefix: ecs.labelPrefix, portName: ecs.portName };
    // MISSING (a task or instance gone between the list and the describe) is the reason AWS gives in
    // practice: its series exist from the start, so an increase() over them sees the first failure.
    for (const operation of ["DescribeTasks", "DescribeContainerInstances"])
      deps.metrics.ecsDescribeFailures.inc({ operation, reason: "MISSING" }, 0);
  }

  async refresh(): Promise<SourceRefresh> {
    this.skipped = new Map();
    this.collecting = new SkipCollector();
    const units: UnitOutcome[] = [];
    const failedScopes: string[] = [];
    const scopeErrors = new Map<string, Error>();
    await Promise.all(
      this.deps.scopes.map(async (scope) => {
        const facts = this.scopeFacts(scope);
        const configured = this.deps.config.clusters;
        const listing = await this.listingBackoff.run<Settled<string[]>>(
          scope.key,
          () =>
            settle(async () => {
              // A denied AssumeRole fails the scope once, with STS's error, rather than each of its calls.
              await scope.clients.assumeRole?.();
              return configured.length > 0 ? configured : facts.api.listClusters();
            }),
          (error) => ({ ok: false, error }),
        );
        if (!listing.ok) {
          failedScopes.push(`${scope.key}/`);
          scopeErrors.set(`${scope.key}/`, listing.error);
          this.deps.logger.warn("AssumeRole or ListClusters failed; keeping last-good targets", {
            scope: scope.key,
            operation: failedOperation(listing.error),
            error: listing.error.name,
            message: listing.error.message,
          });
          // Configured clusters are known by name: each is reported down (unit_up 0, /status), even if
          // it was never discovered.
          for (const cluster of configured)
            units.push({ unit: unitKey(scope.key, cluster), ok: false, error: listing.error });
          return;
        }
        const clusters = listing.value;
        const lookups = clusters.length > 0 ? await facts.lookupClusters(clusters) : undefined;
        await Promise.all(
          clusters.map(async (cluster) => {
            const unit = unitKey(scope.key, cluster);
            const lookup = lookups?.values.get(cluster);
            const outcome = await withCallCounts((counted) =>
              this.backoff.run<UnitOutcome>(
                unit,
                counted(async () => {
                  try {
                    if (!lookup)
                      throw lookups?.errors[0] ?? new Error(`DescribeClusters did not answer for ${cluster}`);
                    if ("missing" in lookup) return this.absentUnit(unit);
                    this.present(unit);
                    const previous = this.clusters.get(unit) ?? emptyClusterState();
                    const r = await refreshCluster(this.clusterDeps(facts, unit), lookup.found, previous);
                    this.clusters.set(unit, r.next);
                    return { unit, ok: true, targets: r.targets };
                  } catch (err) {
                    if (err instanceof ClusterNotFoundException) return this.absentUnit(unit);
                    return { unit, ok: false, error: err as Error };
                  }
                }),
                (error) => ({ unit, ok: false, error }),
              ),
            );
            units.push(outcome);
          }),
        );
        // Forget clusters no longer listed in this scope.
        const live = new Set(clusters.map((c) => unitKey(scope.key, c)));
        for (const key of this.clusters.keys())
          if (key.startsWith(`${scope.key}/`) && !live.has(key)) this.clusters.delete(key);
        for (const key of this.absent)
          if (key.startsWith(`${scope.key}/`) && !live.has(key)) this.present(key);
        this.backoff.retain((unit) => !unit.startsWith(`${scope.key}/`) || live.has(unit));
      }),
    );
    for (const reason of SKIP_REASONS)
      this.deps.metrics.skipped.set({ source: "ecs", reason }, this.skipped.get(reason) ?? 0);
    this.lastSkips = keptSkips(this.lastSkips, this.collecting, units, failedScopes);
    return { units, failedScopes, scopeErrors };
  }

  skips(): ReadonlyMap<string, UnitSkips> {
    return this.lastSkips;
  }

  /** A followed cluster's state as its last refresh or rebuild left it (events mode reads it). */
  clusterState(unit: string): ClusterState | undefined {
    return this.clusters.get(unit);
  }

  /**
   * Events mode (sd/ecs/events.ts): rebuilds one followed cluster from its last task list as `edit` changes
   * it, without ListTasks (only tasks not yet settled are described, and with `health` the health-checked
   * ones: refreshCluster); undefined for a cluster not followed.
   */
  async rebuildCluster(
    unit: string,
    edit: (state: ClusterState) => { state: ClusterState; listed: string[] },
    health = false,
  ): Promise<UnitOutcome | undefined> {
    const previous = this.clusters.get(unit);
    const scope = this.deps.scopes.find((s) => unit.startsWith(`${s.key}/`));
    if (!previous || !scope) return undefined;
    const facts = this.scopeFacts(scope);
    const name = unit.slice(scope.key.length + 1);
    try {
      const lookups = await facts.lookupClusters([name]);
      const lookup = lookups.values.get(name);
      if (!lookup) throw lookups.errors[0] ?? new Error(`DescribeClusters did not answer for ${name}`);
      if ("missing" in lookup) return undefined;
      const { state, listed } = edit(previous);
      const r = await refreshCluster(this.clusterDeps(facts, unit), lookup.found, state, listed, health);
      this.clusters.set(unit, r.next);
      return { unit, ok: true, targets: r.targets };
    } catch (err) {
      return { unit, ok: false, error: err as Error };
    }
  }

  /** A cluster that does not exist in this scope: reported (status, metric, one log line), not failed. */
  private absentUnit(unit: string): UnitOutcome {
    if (!this.absent.has(unit)) {
      this.absent.add(unit);
      this.deps.logger.info("configured cluster does not exist in this account/region; reported absent", {
        unit,
      });
    }
    this.clusters.delete(unit);
    this.deps.metrics.ecsClusterAbsent.set({ unit }, 1);
    return { unit, ok: true, targets: [], absent: true };
  }

  private present(unit: string): void {
    if (this.absent.delete(unit)) this.deps.metrics.ecsClusterAbsent.remove({ unit });
  }

  private clusterDeps(scope: ScopeFacts, unit: string): ClusterRefreshDeps {
    return {
      scope,
      logger: this.deps.logger,
      opts: this.opts,
      withTags: this.deps.config.ecs.taskTags,
      redescribeEvery: this.deps.config.ecs.redescribeEveryRefreshes,
      onDescribeFailures: (operation, failures) => this.countFailures(unit, operation, failures),
      onSkipped: (skip) => {
        this.skipped.set(skip.reason, (this.skipped.get(skip.reason) ?? 0) + 1);
        this.collecting.add(unit, skip);
      },
    };
  }

  private countFailures(unit: string, operation: string, failures: DescribeFailure[]): void {
    if (failures.length === 0) return;
    const byReason = new Map<string, number>();
    for (const f of failures) byReason.set(f.reason, (byReason.get(f.reason) ?? 0) + 1);
    for (const [reason, n] of byReason) this.deps.metrics.ecsDescribeFailures.inc({ operation, reason }, n);
    this.deps.logger.info("describe answered failures for some resources", {
      unit,
      operation,
      reasons: Object.fromEntries(byReason),
      example: failures[0]!.arn,
    });
  }

  /** One API (and so one set of pacers) and one set of fact caches per scope, made on first use. */
  private scopeFacts(scope: AwsScope): ScopeFacts {
    let facts = this.scopes.get(scope.key);
    if (!facts) {
      const maxConcurrency = this.deps.config.aws.maxConcurrency;
      const api = this.deps.api?.(scope) ?? createEcsApi(scope.clients, maxConcurrency, this.deps.metrics);
      facts = new ScopeFacts(api, this.deps.now);
      this.scopes.set(scope.key, facts);
    }
    return facts;
  }
}

/** A cluster's unit key: `<account>/<region>/<cluster name>`, whether it is configured by name or ARN. */
const unitKey = (scope: string, cluster: string): string =>
  `${scope}/${clusterNameFromArn(cluster) ?? cluster}`;
