// The Cloud Map source: one unit per namespace per account/region. Namespace and service listings and
// service tags are cached with a TTL; instances come from DiscoverInstances (MaxResults 1000, health
// filter) every refresh, from ListInstances where DiscoverInstances cannot serve. Errors fail the
// namespace's unit so the refresh helper keeps its last-good targets; a role that cannot be assumed fails
// its scope once, as in the ECS source.
import type { LRUCache } from "lru-cache";
import { lruByCount } from "../../core/lru.js";
import { Counter } from "prom-client";
import { settle, UnitBackoff, type Settled } from "../../core/backoff.js";
import { failedOperation } from "../../core/aws.js";
import { withCallCounts } from "../../core/calls.js";
import type { Config } from "../../cmd/config.js";
import type { HealthFilter } from "./options.js";
import type { Logger } from "../../core/log.js";
import type { AwsScope } from "../../core/scopes.js";
import { METRIC_PREFIX, type SelfMetrics } from "../../core/metrics.js";
import type { DiscoveredTarget } from "../model.js";
import type { Source, SourceRefresh, UnitOutcome } from "../refresh.js";
import {
  cloudMapApi,
  discoverCannotServe,
  isAccessDenied,
  isNotFound,
  type CloudMapApi,
  type Instance,
  type Namespace,
  type Service,
} from "./api.js";
import { parseDefaultPorts } from "./options.js";
import { buildTarget, SKIP_REASONS, skipDetail, type SkipReason, type TargetOptions } from "./targets.js";
import { keptSkips, SkipCollector, type UnitSkips } from "../skips.js";

export interface CloudMapSourceOptions {
  scopes: AwsScope[];
  config: Config;
  metrics: SelfMetrics;
  logger: Logger;
  now?: () => number;
  /** Builds a scope's Cloud Map API; tests pass a fake. Defaults to the scope's ServiceDiscovery client. */
  api?: (scope: AwsScope) => CloudMapApi;
}

/** DiscoverInstances returns at most this many (AWS's maximum) and cannot page: a full page means "maybe more". */
const DISCOVER_MAX_RESULTS = 1000;

/**
 * Upper bound on cached service listings and tag sets per scope, well above Cloud Map's default quotas:
 * it bounds memory when namespaces and services come and go; an evicted entry costs one call.
 */
const MAX_CACHED = 10_000;

interface ScopeState {
  scope: AwsScope;
  api: CloudMapApi;
  /** Undefined when the listing TTL is 0: listings are then read every refresh. */
  namespaces?: LRUCache<"all", Namespace[]>;
  /** The last successful listing, used (with the scope marked failed) when ListNamespaces fails. */
  lastNamespaces?: Namespace[];
  services?: LRUCache<string, Service[]>;
  tags?: LRUCache<string, Record<string, string>>;
  /** Per service id: the instances of the last full read, the revision they had, and when it was made. */
  read: LRUCache<string, { revision: number; instances: Instance[]; at: number }>;
  tagsDeniedLogged: boolean;
}

type NamespaceOutcome = UnitOutcome & { skipped?: Map<SkipReason, number> };

/** The scope's namespaces (cached or listed), or why not: its role could not be assumed, or the listing failed. */
type Listing = Settled<Namespace[]> | { ok: false; error: Error; assumeRole: true };

export class CloudMapSource implements Source {
  readonly name = "cloudmap" as const;
  readonly awsServices = ["servicediscovery"] as const;
  private readonly states: ScopeState[];
  private readonly targetOptions: TargetOptions;
  private readonly health: HealthFilter;
  private readonly fallbacks: Counter<"reason">;
  private readonly backoff = new UnitBackoff();
  /** ListNamespaces per scope backs off like a namespace when throttled or failing with 5xx. */
  private readonly listingBackoff = new UnitBackoff();
  private collecting = new SkipCollector();
  private lastSkips = new Map<string, UnitSkips>();

  constructor(private readonly opts: CloudMapSourceOptions) {
    const { config, metrics } = opts;
    const ttlMs = config.cloudmap.servicesTtlSeconds * 1000;
    const api =
      opts.api ??
      ((scope: AwsScope) => cloudMapApi(scope.clients.servicediscovery, config.aws.maxConcurrency, metrics));
    this.health = config.cloudmap.healthStatus;
    this.targetOptions = {
      portAttribute: config.cloudmap.portAttribute,
      pathAttribute: config.cloudmap.pathAttribute,
      defaultPorts: parseDefaultPorts(config.cloudmap.defaultPorts ?? []),
    };
    this.states = opts.scopes.map((scope) => ({
      scope,
      api: api(scope),
      namespaces: listingCache<"all", Namespace[]>(ttlMs, 1, opts.now),
      services: listingCache<string, Service[]>(ttlMs, MAX_CACHED, opts.now),
      tags: listingCache<string, Record<string, string>>(ttlMs, MAX_CACHED, opts.now),
      read: lruByCount(MAX_CACHED),
      tagsDeniedLogged: false,
    }));
    this.fallbacks = fallbackCounter(metrics);
    for (const reason of SKIP_REASONS) metrics.skipped.set({ source: this.name, reason }, 0);
  }

  skips(): ReadonlyMap<string, UnitSkips> {
    return this.lastSkips;
  }

  async refresh(): Promise<SourceRefresh> {
    this.collecting = new SkipCollector();
    const perScope = await Promise.all(this.states.map((st) => this.refreshScope(st)));
    const skipped = new Map<SkipReason, number>(SKIP_REASONS.map((r) => [r, 0]));
    const units: UnitOutcome[] = [];
    for (const { outcomes } of perScope)
      for (const { skipped: counts, ...outcome } of outcomes) {
        units.push(outcome as UnitOutcome);
        for (const [reason, n] of counts ?? []) skipped.set(reason, (skipped.get(reason) ?? 0) + n);
      }
    for (const [reason, n] of skipped) this.opts.metrics.skipped.set({ source: this.name, reason }, n);
    const scopeErrors = new Map(perScope.flatMap((s) => (s.listingError ? [s.listingError] : [])));
    this.lastSkips = keptSkips(this.lastSkips, this.collecting, units, [...scopeErrors.keys()]);
    return { units, failedScopes: [...scopeErrors.keys()], scopeErrors };
  }

  private async refreshScope(
    st: ScopeState,
  ): Promise<{ outcomes: NamespaceOutcome[]; listingError?: [string, Error] }> {
    let namespaces = st.namespaces?.get("all");
    let listingError: [string, Error] | undefined;
    const listing = await this.listingBackoff.run<Listing>(
      st.scope.key,
      async () => {
        // A denied AssumeRole fails the scope once, with STS's error, rather than each namespace's calls.
        const credentials = await settle(async () => st.scope.clients.assumeRole?.());
        if (!credentials.ok) return { ...credentials, assumeRole: true };
        return namespaces ? { ok: true, value: namespaces } : settle(() => st.api.listNamespaces());
      },
      (error) => ({ ok: false, error }),
    );
    if ("assumeRole" in listing) return this.deniedScope(st, listing.error);
    if (listing.ok && !namespaces) {
      namespaces = listing.value;
      st.namespaces?.set("all", namespaces);
      st.lastNamespaces = namespaces;
      this.warnMissing(st, namespaces);
    } else if (!listing.ok) {
      // Units of this scope keep last-good state; namespaces known from the last listing still refresh.
      listingError = [`${st.scope.key}/`, listing.error];
      namespaces = st.lastNamespaces ?? [];
      this.opts.logger.warn("ListNamespaces failed; keeping last-good namespaces", {
        scope: st.scope.key,
        err: listing.error,
      });
    }
    const outcomes = await Promise.all(
      // Each namespace's AWS requests by operation, as ECS counts each cluster's (the scope's listing is
      // the scope's, in the source's total).
      this.units(st, this.select(namespaces ?? [])).map(([ns, unit]) =>
        withCallCounts((counted) =>
          this.backoff.run(
            unit,
            counted(() => this.refreshNamespace(st, ns, unit)),
            (error): NamespaceOutcome => ({ unit, ok: false, error }),
          ),
        ),
      ),
    );
    return { outcomes, ...(listingError ? { listingError } : {}) };
  }

  /**
   * A scope whose role cannot be assumed fails as a whole, with STS's error; its namespaces are not read.
   * Configured namespaces are each reported down (unit_up 0, /status), even if never listed: by the unit
   * of the last listing, else by the name (an ARN by its ID) they are configured with.
   */
  private deniedScope(
    st: ScopeState,
    error: Error,
  ): { outcomes: NamespaceOutcome[]; listingError: [string, Error] } {
    this.opts.logger.warn("AssumeRole failed; keeping last-good targets", {
      scope: st.scope.key,
      operation: failedOperation(error),
      error: error.name,
      message: error.message,
    });
    const known = this.units(st, this.select(st.lastNamespaces ?? []));
    const units = new Set(
      this.opts.config.cloudmap.namespaces.map((w) => {
        const found = known.find(([ns]) => matchesNamespace(w, ns));
        return found?.[1] ?? `${st.scope.key}/${w.startsWith("arn:") ? w.slice(w.lastIndexOf("/") + 1) : w}`;
      }),
    );
    return {
      outcomes: [...units].map((unit) => ({ unit, ok: false, error })),
      listingError: [`${st.scope.key}/`, error],
    };
  }

  /** Each namespace with its unit key. */
  private units(st: ScopeState, namespaces: Namespace[]): [Namespace, string][] {
    const nameCount = new Map<string, number>();
    for (const ns of namespaces) nameCount.set(ns.name, (nameCount.get(ns.name) ?? 0) + 1);
    return namespaces.map((ns) => {
      // Private DNS namespaces of the same name can exist once per VPC: keep their units apart.
      const suffix = (nameCount.get(ns.name) ?? 0) > 1 ? `/${ns.id}` : "";
      return [ns, `${st.scope.key}/${ns.name}${suffix}`];
    });
  }

  private select(namespaces: Namespace[]): Namespace[] {
    const wanted = this.opts.config.cloudmap.namespaces;
    if (wanted.length === 0) return namespaces;
    return namespaces.filter((ns) => wanted.some((w) => matchesNamespace(w, ns)));
  }

  private warnMissing(st: ScopeState, namespaces: Namespace[]): void {
    for (const w of this.opts.config.cloudmap.namespaces)
      if (!namespaces.some((ns) => matchesNamespace(w, ns)))
        this.opts.logger.warn("configured Cloud Map namespace not found", {
          scope: st.scope.key,
          namespace: w,
        });
  }

  private async refreshNamespace(st: ScopeState, ns: Namespace, unit: string): Promise<NamespaceOutcome> {
    try {
      let services = st.services?.get(ns.id);
      if (!services) {
        services = await st.api.listServices(ns.id);
        st.services?.set(ns.id, services);
      }
      const found = await Promise.all(services.map((svc) => this.serviceInstances(st, ns, svc)));
      const targets: DiscoveredTarget[] = [];
      const skipped = new Map<SkipReason, number>();
      services.forEach((svc, i) => {
        const { instances, tags } = found[i]!;
        for (const inst of instances) {
          const t = buildTarget(ns, svc, inst, tags, this.targetOptions);
          if (!("skip" in t)) {
            targets.push(t);
            continue;
          }
          skipped.set(t.skip, (skipped.get(t.skip) ?? 0) + 1);
          this.collecting.add(unit, {
            task: inst.id,
            service: svc.name,
            reason: t.skip,
            detail: skipDetail(t.skip, this.targetOptions),
          });
        }
      });
      return { unit, ok: true, targets, skipped };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      return { unit, ok: false, error };
    }
  }

  /**
   * A service's instances: the last full read while DiscoverInstancesRevision is unchanged and the read is
   * younger than cloudmap.healthRefreshSeconds (health does not change the revision); else a full read.
   */
  private async serviceInstances(
    st: ScopeState,
    ns: Namespace,
    svc: Service,
  ): Promise<{ instances: Instance[]; tags: Record<string, string> }> {
    const healthMs = this.opts.config.cloudmap.healthRefreshSeconds * 1000;
    if (healthMs === 0) return this.readInstances(st, ns, svc);
    const now = this.opts.now?.() ?? Date.now();
    // A failed revision call costs nothing but the saving: the full read decides.
    const revision = await st.api
      .discoverRevision({ NamespaceName: ns.httpName, ServiceName: svc.name })
      .catch(() => undefined);
    const last = st.read.get(svc.id);
    if (last && revision !== undefined && last.revision === revision && now - last.at < healthMs)
      return {
        instances: last.instances,
        tags: last.instances.length > 0 ? await this.serviceTags(st, svc) : {},
      };
    const found = await this.readInstances(st, ns, svc);
    if (revision !== undefined) st.read.set(svc.id, { revision, instances: found.instances, at: now });
    else st.read.delete(svc.id);
    return found;
  }

  private async readInstances(
    st: ScopeState,
    ns: Namespace,
    svc: Service,
  ): Promise<{ instances: Instance[]; tags: Record<string, string> }> {
    let instances: Instance[] = [];
    let fallback: string | undefined;
    try {
      instances = await st.api.discoverInstances({
        NamespaceName: ns.httpName,
        ServiceName: svc.name,
        MaxResults: DISCOVER_MAX_RESULTS,
        HealthStatus: this.health,
      });
      // A full answer may be a truncated one: DiscoverInstances cannot page.
      if (instances.length >= DISCOVER_MAX_RESULTS) fallback = "truncated";
    } catch (err) {
      if (!discoverCannotServe(err)) throw err;
      fallback = (err as Error).name || "error";
    }
    if (fallback) {
      this.fallbacks.inc({ reason: fallback });
      this.opts.logger.debug("DiscoverInstances cannot serve; using ListInstances", {
        namespace: ns.name,
        service: svc.name,
        reason: fallback,
      });
      try {
        instances = await this.listWithHealth(st, svc);
      } catch (err) {
        // Deleted since the cached listing: it has no instances; list services again next time.
        if (!isNotFound(err, "ServiceNotFound")) throw err;
        st.services?.delete(ns.id);
        return { instances: [], tags: {} };
      }
    }
    if (instances.length === 0) return { instances, tags: {} };
    return { instances, tags: await this.serviceTags(st, svc) };
  }

  /** ListInstances carries no health: apply the health filter from GetInstancesHealthStatus ourselves. */
  private async listWithHealth(st: ScopeState, svc: Service): Promise<Instance[]> {
    const all = await st.api.listInstances(svc.id);
    if (!svc.healthChecked || all.length === 0) return all;
    const status = await st.api.instancesHealth(svc.id);
    const withHealth = all.map((i) => ({ ...i, health: status.get(i.id) ?? "UNKNOWN" }));
    if (this.health === "ALL") return withHealth;
    const healthy = withHealth.filter((i) => i.health === "HEALTHY");
    if (this.health === "HEALTHY") return healthy;
    return healthy.length > 0 ? healthy : withHealth;
  }

  private async serviceTags(st: ScopeState, svc: Service): Promise<Record<string, string>> {
    if (!svc.arn) return {};
    const cached = st.tags?.get(svc.arn);
    if (cached) return cached;
    let tags: Record<string, string>;
    try {
      tags = await st.api.serviceTags(svc.arn);
    } catch (err) {
      // Tags are optional: a policy without ListTagsForResource must not stop discovery.
      if (!isAccessDenied(err)) throw err;
      if (!st.tagsDeniedLogged)
        this.opts.logger.warn("ListTagsForResource denied; Cloud Map service tags are ignored", {
          scope: st.scope.key,
          err,
        });
      st.tagsDeniedLogged = true;
      tags = {};
    }
    st.tags?.set(svc.arn, tags);
    return tags;
  }
}

/** A configured namespace is named by its name, ID, HTTP name or ARN. */
const matchesNamespace = (wanted: string, ns: Namespace): boolean =>
  wanted === ns.name || wanted === ns.id || wanted === ns.httpName || wanted === ns.arn;

/**
 * A listing cache: entries expire after `ttlMs` and at most `max` are kept (lru-cache evicts the least
 * recently used, where a plain TTL map kept every key never read again). A TTL of 0 caches nothing, since
 * lru-cache reads 0 as "never expires". The clock is read on every check so an injected one is exact.
 */
function listingCache<K extends string, V extends object>(
  ttlMs: number,
  max: number,
  now: (() => number) | undefined,
): LRUCache<K, V> | undefined {
  if (ttlMs === 0) return undefined;
  return lruByCount<K, V>(max, { ttl: ttlMs, ttlResolution: 0, ...(now ? { perf: { now } } : {}) });
}

function fallbackCounter(metrics: SelfMetrics): Counter<"reason"> {
  const name = `${METRIC_PREFIX}cloudmap_list_instances_fallbacks_total`;
  const existing = metrics.registry.getSingleMetric(name);
  if (existing) return existing as Counter<"reason">;
  return new Counter({
    name,
    help: "Services read with ListInstances because DiscoverInstances could not serve them, by reason.",
    labelNames: ["reason"],
    registers: [metrics.registry],
  });
}
