// On-demand discovery for the Lambda: no schedule (a frozen Lambda cannot run one). An invocation that
// finds the last refresh older than the cache age starts one refresh in the background and is answered
// from the last snapshot (stale-while-revalidate), so requests cost at most one refresh per cache period
// per instance and never wait on AWS once discovery has succeeded; before that, a request waits for the
// refresh at most as long as its invocation can afford. The Discovery keeps last-good targets per unit
// when AWS fails.
import type { Logger } from "../core/log.js";
import type { Discovery, Snapshot } from "../sd/refresh.js";

export type DiscoveryLike = Pick<Discovery, "refreshOnce" | "snapshot" | "status" | "failedScopes">;

export interface Failure {
  unit: string;
  error: string;
}

/**
 * Remembers the warnings logged during the last finished refresh. Failures before any unit exists
 * (ListClusters denied, a source throwing) leave no unit status, but they are logged: this turns them into
 * 503 reasons. A refresh running in the background collects its own list, so requests answered meanwhile
 * still see the last refresh's complete reasons.
 */
export class WarningLog {
  private items: Failure[] = [];
  private collecting: Failure[] | undefined;

  wrap(inner: Logger): Logger {
    return {
      ...inner,
      warn: (msg, fields) => {
        const f = fields ?? {};
        const err = f.err instanceof Error ? `${f.err.name}: ${f.err.message}` : undefined;
        const detail = err ?? [f.error, f.message].filter((x) => typeof x === "string").join(": ");
        const where = [f.source, f.scope ?? f.unit].filter((x) => typeof x === "string").join(":");
        (this.collecting ?? this.items).push({
          unit: where || "discovery",
          error: detail ? `${msg}: ${detail}` : msg,
        });
        inner.warn(msg, fields);
      },
    };
  }

  /** A refresh starts: its warnings go to a new list. */
  begin(): void {
    this.collecting = [];
  }

  /** The refresh ended: its warnings replace the last ones. */
  end(): void {
    if (this.collecting) this.items = this.collecting;
    this.collecting = undefined;
  }

  list(): Failure[] {
    return [...this.items];
  }
}

/** Settles when `work` does or after `ms`, whichever comes first (never rejects: failures are logged). */
async function within(work: Promise<void>, ms: number | undefined): Promise<void> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((r) => (timer = setTimeout(r, ms)));
  try {
    await Promise.race([work, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether some source has succeeded once, so the snapshot has something to serve. */
function servesAnything(snap: Snapshot): boolean {
  return snap.ready || (snap.readySources?.length ?? 0) > 0;
}

export class OnDemandDiscovery {
  /** When the last refresh started: the period is counted from there, so a slow AWS cannot stack them. */
  private lastStart: number | undefined;
  private pending: Promise<void> | undefined;

  constructor(
    readonly discovery: DiscoveryLike,
    private readonly cacheMs: number,
    private readonly opts: { now?: () => number; warnings?: WarningLog } = {},
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /**
   * The snapshot to answer with. A refresh starts when none is running and the last one started a cache
   * period ago (or never). The caller waits for it only while no source has ever succeeded (a cold start,
   * or every refresh failed so far): there is nothing better to serve, and a 503 should carry the reasons
   * of the refresh it just made, but for at most `maxWaitMs` (the invocation's remaining time): an AWS that
   * does not answer yields the not-ready snapshot (a 503), never a Lambda timeout. Otherwise the last
   * snapshot is served while the refresh runs.
   */
  async current(maxWaitMs?: number): Promise<Snapshot> {
    const due = this.lastStart === undefined || this.now() - this.lastStart >= this.cacheMs;
    if (!this.pending && due) {
      this.lastStart = this.now();
      const warnings = this.opts.warnings;
      warnings?.begin();
      // Discovery.refreshOnce keeps last-good state and logs its failures; nothing is left to reject here.
      this.pending = this.discovery
        .refreshOnce()
        .catch(() => undefined)
        .finally(() => {
          warnings?.end();
          this.pending = undefined;
        });
    }
    if (this.pending && !servesAnything(this.discovery.snapshot())) await within(this.pending, maxWaitMs);
    return this.discovery.snapshot();
  }

  /** Resolves when no refresh is running (tests, and a graceful end). */
  async idle(): Promise<void> {
    while (this.pending) await this.pending;
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
    if (all.length > 0) return all;
    if (warnings.length > 0 || !this.pending) return warnings;
    return [{ unit: "discovery", error: "the first refresh is still running: AWS has not answered yet" }];
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
