// On-demand discovery for the Lambda: no schedule (a frozen Lambda cannot run one); an invocation
// refreshes when the last refresh is older than the cache age. Concurrent callers share one refresh;
// the Discovery keeps last-good targets per unit when AWS fails.
import type { Logger } from "../core/log.js";
import type { Discovery, Snapshot } from "../sd/refresh.js";

export type DiscoveryLike = Pick<Discovery, "refreshOnce" | "snapshot" | "status" | "failedScopes">;

export interface Failure {
  unit: string;
  error: string;
}

/**
 * Remembers the warnings logged during the last refresh. Failures before any unit exists (ListClusters
 * denied, a source throwing) leave no unit status, but they are logged: this turns them into 503 reasons.
 */
export class WarningLog {
  private items: Failure[] = [];

  wrap(inner: Logger): Logger {
    return {
      ...inner,
      warn: (msg, fields) => {
        const f = fields ?? {};
        const err = f.err instanceof Error ? `${f.err.name}: ${f.err.message}` : undefined;
        const detail = err ?? [f.error, f.message].filter((x) => typeof x === "string").join(": ");
        const where = [f.source, f.scope ?? f.unit].filter((x) => typeof x === "string").join(":");
        this.items.push({ unit: where || "discovery", error: detail ? `${msg}: ${detail}` : msg });
        inner.warn(msg, fields);
      },
    };
  }

  clear(): void {
    this.items = [];
  }

  list(): Failure[] {
    return [...this.items];
  }
}

export class OnDemandDiscovery {
  private lastDone: number | undefined;
  private pending: Promise<void> | undefined;

  constructor(
    readonly discovery: DiscoveryLike,
    private readonly cacheMs: number,
    private readonly opts: { now?: () => number; warnings?: WarningLog } = {},
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** The snapshot, refreshed first if older than the cache age (the first call always refreshes). */
  async current(): Promise<Snapshot> {
    if (!this.pending && (this.lastDone === undefined || this.now() - this.lastDone >= this.cacheMs)) {
      this.opts.warnings?.clear();
      this.pending = this.discovery.refreshOnce().finally(() => {
        this.lastDone = this.now();
        this.pending = undefined;
      });
    }
    if (this.pending) await this.pending;
    return this.discovery.snapshot();
  }

  /**
   * Why discovery is not (fully) serving: units whose last refresh failed and scopes whose listing failed
   * (with the logged warning, which has the AWS error); else the last warnings.
   */
  failures(): Failure[] {
    const warnings = this.opts.warnings?.list() ?? [];
    const units = this.discovery
      .status()
      .filter((u) => !u.ok)
      .map((u) => ({ unit: u.unit, error: u.lastError ?? "refresh failed" }));
    const scopes = this.discovery.failedScopes().map(({ source, scope }) => {
      const unit = scope.replace(/\/$/, "") || source;
      // Listing warnings name the scope without a trailing slash (and without the source).
      const logged = warnings.filter((w) => w.unit === unit || w.unit === `${source}:${unit}`);
      const error = logged.length > 0 ? logged.map((w) => w.error).join("; ") : "listing failed";
      return { unit, error: `${source}: ${error}` };
    });
    const all = [...units, ...scopes];
    return all.length > 0 ? all : warnings;
  }

  /** True if the ECS source's last refresh failed anywhere: a task missing from the snapshot may exist. */
  ecsFailing(): boolean {
    return (
      this.discovery.failedScopes().some((f) => f.source === "ecs") ||
      this.discovery.status().some((u) => u.source === "ecs" && !u.ok)
    );
  }

  /**
   * True if a unit of this cluster (by name) failed its last refresh, or an ECS listing failed (the
   * cluster's units may be stale, or the cluster not yet known): a missing task may exist. A unit whose
   * cluster is absent from its account/region is ok (and empty), so a same-named cluster absent from
   * another scope never makes this true.
   */
  clusterFailing(cluster: string): boolean {
    return (
      this.discovery.failedScopes().some((f) => f.source === "ecs") ||
      this.discovery.status().some((u) => u.source === "ecs" && !u.ok && u.unit.split("/").pop() === cluster)
    );
  }
}
