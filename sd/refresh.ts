// The refresh helper: owns scheduling, single-flight, jitter, errors and last-good state for every
// source. Sources only turn AWS state into targets; they never see HTTP or keep last-good state.
// Each source refreshes and publishes on its own, so a slow or throttled source never delays another's targets.
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../core/log.js";
import type { SelfMetrics } from "../core/metrics.js";
import { compareTargets, type DiscoveredTarget, type SourceName } from "./model.js";

/** The outcome of one unit (a cluster in one account/region, a Cloud Map namespace). */
export type UnitOutcome =
  | { unit: string; ok: true; targets: DiscoveredTarget[]; absent?: boolean }
  | { unit: string; ok: false; error: Error };

export interface SourceRefresh {
  units: UnitOutcome[];
  /**
   * Units whose listing failed (ListClusters, ListNamespaces for one account/region): every unit whose key
   * starts with one of these prefixes keeps its last-good state even if absent from `units`.
   */
  failedScopes: string[];
}

export interface Source {
  readonly name: SourceName;
  refresh(): Promise<SourceRefresh>;
}

interface UnitState {
  targets: DiscoveredTarget[];
  ok: boolean;
  /** The configured unit does not exist in this scope (an ok, empty unit). */
  absent?: boolean;
  lastSuccess?: number;
  lastError?: string;
}

export interface Snapshot {
  /** Every target, in deterministic order. */
  targets: DiscoveredTarget[];
  /** Changes whenever targets change; lets readers cache serialised forms. */
  version: number;
  /** False until every source has completed one refresh with its unit listing intact. */
  ready: boolean;
  /** Sources that are ready on their own, so a `?source=` list need not wait for a failing other source. */
  readySources?: readonly SourceName[];
}

export interface UnitStatus {
  source: SourceName;
  unit: string;
  ok: boolean;
  absent?: boolean;
  targets: number;
  lastSuccess?: string;
  lastError?: string;
}

/** A listing scope (e.g. `<account>/<region>/`) whose units may be stale or missing after the last refresh. */
export interface ScopeFailure {
  source: SourceName;
  /** A unit-key prefix, as in SourceRefresh.failedScopes; "" when the source's refresh threw as a whole. */
  scope: string;
}

export interface DiscoveryOptions {
  sources: Source[];
  metrics: SelfMetrics;
  logger: Logger;
  intervalSeconds: number;
  /** Fraction of the interval taken off each wait at random, so many bridges do not hit AWS in step. */
  jitter?: number;
  now?: () => number;
}

export class Discovery {
  private readonly units = new Map<string, { source: SourceName; state: UnitState }>();
  private readonly readySources = new Set<SourceName>();
  private readonly failed = new Map<SourceName, readonly string[]>();
  /** One refresh in flight per source (single-flight per source, not for all of them together). */
  private readonly inFlight = new Map<SourceName, Promise<void>>();
  private task: ScheduledTask | undefined;
  private nextDue = 0;
  private snap: Snapshot = { targets: [], version: 0, ready: false };

  constructor(private readonly opts: DiscoveryOptions) {
    if (opts.sources.length === 0) this.snap.ready = true;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  status(): UnitStatus[] {
    return [...this.units.entries()]
      .map(([key, { source, state }]) => ({
        source,
        unit: key.slice(source.length + 1), // same unit name as the unit_up metric label
        ok: state.ok,
        ...(state.absent ? { absent: true } : {}),
        targets: state.targets.length,
        ...(state.lastSuccess ? { lastSuccess: new Date(state.lastSuccess).toISOString() } : {}),
        ...(state.lastError ? { lastError: state.lastError } : {}),
      }))
      .sort((a, b) => (a.source + a.unit < b.source + b.unit ? -1 : 1));
  }

  /** Listing scopes that failed in each source's last refresh (their old units still look ok in status()). */
  failedScopes(): ScopeFailure[] {
    return [...this.failed].flatMap(([source, scopes]) => scopes.map((scope) => ({ source, scope })));
  }

  /**
   * Refreshes every source; resolves when all are done. A source whose refresh is already in flight is
   * not started again (its running refresh is awaited instead). Each source publishes as soon as it is done.
   */
  async refreshOnce(): Promise<void> {
    await Promise.all(this.opts.sources.map((s) => this.refreshSource(s)));
  }

  private refreshSource(source: Source): Promise<void> {
    let running = this.inFlight.get(source.name);
    if (!running) {
      running = this.runSource(source)
        .then(() => this.publish())
        .finally(() => this.inFlight.delete(source.name));
      this.inFlight.set(source.name, running);
    }
    return running;
  }

  /** Refreshes now, then on a one-second node-cron tick whenever the jittered interval has elapsed. */
  start(): void {
    if (this.task) return;
    void this.refreshOnce();
    this.scheduleNext();
    this.task = cron.schedule(
      "* * * * * *",
      () => {
        if (this.now() < this.nextDue) return;
        this.scheduleNext();
        void this.refreshOnce();
      },
      { name: "discovery-refresh", noOverlap: true },
    );
  }

  async stop(): Promise<void> {
    await this.task?.destroy();
    this.task = undefined;
    await Promise.all(this.inFlight.values());
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Jitter shortens the wait, never lengthens it: a task still shows up within one interval. */
  private scheduleNext(): void {
    const interval = this.opts.intervalSeconds * 1000;
    this.nextDue = this.now() + interval - Math.random() * (this.opts.jitter ?? 0.1) * interval;
  }

  private async runSource(source: Source): Promise<void> {
    const { metrics, logger } = this.opts;
    const end = metrics.refreshDuration.startTimer({ source: source.name });
    let result: SourceRefresh;
    try {
      result = await source.refresh();
    } catch (err) {
      // A source that throws as a whole keeps all of its last-good units.
      end();
      this.failed.set(source.name, [""]);
      metrics.refreshFailures.inc({ source: source.name, unit: "*" });
      for (const { source: s, state } of this.units.values()) if (s === source.name) state.ok = false;
      logger.warn("refresh failed; keeping last-good targets", { source: source.name, err });
      return;
    }
    end();
    this.failed.set(source.name, [...result.failedScopes]);
    const seen = new Set<string>();
    const now = this.now();
    let allOk = result.failedScopes.length === 0;
    for (const outcome of result.units) {
      const key = `${source.name}:${outcome.unit}`;
      seen.add(key);
      const entry = this.units.get(key);
      if (outcome.ok) {
        this.units.set(key, {
          source: source.name,
          state: {
            targets: outcome.targets,
            ok: true,
            lastSuccess: now,
            ...(outcome.absent ? { absent: true } : {}),
          },
        });
        metrics.unitUp.set({ source: source.name, unit: outcome.unit }, 1);
      } else {
        allOk = false;
        metrics.refreshFailures.inc({ source: source.name, unit: outcome.unit });
        metrics.unitUp.set({ source: source.name, unit: outcome.unit }, 0);
        const message = outcome.error.message;
        logger.warn("unit refresh failed; keeping last-good targets", {
          source: source.name,
          unit: outcome.unit,
          error: outcome.error.name,
          message,
        });
        if (entry) {
          entry.state.ok = false;
          entry.state.lastError = `${outcome.error.name}: ${message}`;
        } else {
          this.units.set(key, {
            source: source.name,
            state: { targets: [], ok: false, lastError: `${outcome.error.name}: ${message}` },
          });
        }
      }
    }
    // Units that vanished from a successful listing are gone (cluster deleted, namespace removed).
    for (const [key, { source: s }] of this.units) {
      if (s !== source.name || seen.has(key)) continue;
      const unit = key.slice(source.name.length + 1);
      if (result.failedScopes.some((scope) => unit.startsWith(scope))) continue;
      this.units.delete(key);
      metrics.unitUp.remove({ source: source.name, unit });
    }
    for (const scope of result.failedScopes)
      metrics.refreshFailures.inc({ source: source.name, unit: scope });
    if (allOk) metrics.lastSuccess.set({ source: source.name }, now / 1000);
    // Ready once something real can be served: a unit succeeded, or the listing succeeded and was empty.
    // Serving [] while every unit fails would make a restarted bridge wipe Prometheus' targets.
    const listedEmpty = result.failedScopes.length === 0 && result.units.length === 0;
    if (listedEmpty || result.units.some((u) => u.ok)) this.readySources.add(source.name);
  }

  private publish(): void {
    const targets: DiscoveredTarget[] = [];
    for (const { state } of this.units.values()) targets.push(...state.targets);
    targets.sort(compareTargets);
    const counts = new Map<SourceName, number>(this.opts.sources.map((s) => [s.name, 0]));
    for (const t of targets) counts.set(t.source, (counts.get(t.source) ?? 0) + 1);
    for (const [source, n] of counts) this.opts.metrics.targets.set({ source }, n);
    const ready = this.opts.sources.every((s) => this.readySources.has(s.name));
    const readySources = [...this.readySources].sort();
    const changed =
      ready !== this.snap.ready ||
      readySources.length !== (this.snap.readySources?.length ?? 0) ||
      targets.length !== this.snap.targets.length ||
      targets.some((t, i) => t.group !== this.snap.targets[i]?.group && !sameGroup(t, this.snap.targets[i]));
    if (!changed) return;
    this.snap = { targets, version: this.snap.version + 1, ready, readySources };
  }
}

function sameGroup(a: DiscoveredTarget, b: DiscoveredTarget | undefined): boolean {
  return b !== undefined && compareTargets(a, b) === 0;
}
