// The refresh helper: owns scheduling, single-flight, jitter, errors and last-good state for every
// source. Sources only turn AWS state into targets; they never see HTTP or keep last-good state.
// Each source refreshes and publishes on its own, so a slow or throttled source never delays another's targets.
// Every failure is visible: unit_up per unit, scope_up per account/region listing, unit_stale past the
// maximum age of last-good data, and a deadline on each source's refresh so single-flight can never stick.
import { setImmediate as setImmediateAsync } from "node:timers/promises";
import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../core/log.js";
import { DEFAULT_CALL_TIMEOUT_SECONDS, failedOperation, type ServiceKey } from "../core/aws.js";
import type { SelfMetrics } from "../core/metrics.js";
import { mergeTargets } from "./merge.js";
import { compareTargets, type DiscoveredTarget, type SourceName } from "./model.js";
import { RefreshReports, type SourceReport, type TargetChanges } from "./report.js";
import type { UnitSkips } from "./skips.js";

/** The outcome of one unit (a cluster in one account/region, a Cloud Map namespace). */
export type UnitOutcome = (
  | { unit: string; ok: true; targets: DiscoveredTarget[]; absent?: boolean }
  | { unit: string; ok: false; error: Error }
) & {
  /** The unit's AWS requests in this refresh, by operation (sources that count them). */
  calls?: Record<string, number>;
};

export interface SourceRefresh {
  units: UnitOutcome[];
  /**
   * Units whose listing failed (ListClusters, ListNamespaces for one account/region): every unit whose key
   * starts with one of these prefixes keeps its last-good state even if absent from `units`.
   */
  failedScopes: string[];
  /** The error of each failed scope (same keys as failedScopes), shown on /status. */
  scopeErrors?: ReadonlyMap<string, Error>;
}

export interface Source {
  readonly name: SourceName;
  refresh(): Promise<SourceRefresh>;
  /** What each unit left out in its last good refresh, and why (status page, explain); optional. */
  skips?(): ReadonlyMap<string, UnitSkips>;
  /**
   * A source that learns of changes between refreshes (ECS task state change events) registers here; the
   * listener refreshes it now (after the one in flight, if any) and resolves once the result is published.
   */
  onChange?(listener: () => Promise<void>): void;
  /** Stops what the source runs on its own (event polling). */
  stop?(): Promise<void>;
  /** The AWS services its refreshes call, whose SDK modules startup loads (core/aws.ts loadSdkModules). */
  readonly awsServices?: readonly ServiceKey[];
}

interface UnitState {
  /** In compareTargets order, sorted when the unit's targets change; never mutated (publish compares identity). */
  targets: readonly DiscoveredTarget[];
  ok: boolean;
  /** The configured unit does not exist in this scope (an ok, empty unit). */
  absent?: boolean;
  lastSuccess?: number;
  lastError?: string;
  /** The AWS operation that failed (`ListTasks`), when known. */
  lastStep?: string;
  /** AWS requests of its last refresh, by operation. */
  calls?: Record<string, number>;
  /** Its last-good targets are older than maxStaleSeconds (they are still served). */
  stale?: boolean;
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
  /** The AWS operation that failed, when known. */
  failedStep?: string;
  /** AWS requests of its last refresh, by operation (sources that count them). */
  calls?: Record<string, number>;
  /** Served from last-good data older than maxStaleSeconds (always set by Discovery). */
  stale?: boolean;
}

/** One account/region of a source: whether its listing (and AssumeRole) succeeded in the last refresh. */
export interface ScopeStatus {
  source: SourceName;
  scope: string;
  ok: boolean;
  /** `<AWS error name>: <message>` of the failure. */
  lastError?: string;
  /** The AWS operation that failed (`ListClusters`, `AssumeRole`), when known. */
  failedStep?: string;
}

/** A listing scope (e.g. `<account>/<region>/`) whose units may be stale or missing after the last refresh. */
export interface ScopeFailure {
  source: SourceName;
  /** A unit-key prefix, as in SourceRefresh.failedScopes; "" when the source's refresh threw as a whole. */
  scope: string;
  /** `<AWS error name>: <message>`. */
  error?: string;
  step?: string;
}

/** Units of at least this many targets are each given their own turn of the event loop when published. */
const UNIT_TARGETS_PER_TURN = 5_000;

/** A source's refresh is abandoned (as failed) after this many call timeouts: refreshes cannot hang. */
export const REFRESH_DEADLINE_CALL_TIMEOUTS = 20;

/** Default maximum age of last-good data, in refresh intervals, before a unit is reported stale. */
export const DEFAULT_MAX_STALE_INTERVALS = 10;

export interface DiscoveryOptions {
  sources: Source[];
  metrics: SelfMetrics;
  logger: Logger;
  intervalSeconds: number;
  /** Fraction of the interval taken off each wait at random, so many bridges do not hit AWS in step. */
  jitter?: number;
  now?: () => number;
  /** The AWS scope keys (`<account>/<region>`) every source covers, so each has a scope_up series from start. */
  scopes?: readonly string[];
  /** Bound on one AWS call attempt; a source's refresh is failed after REFRESH_DEADLINE_CALL_TIMEOUTS of it. */
  callTimeoutSeconds?: number;
  /** Age of last-good data past which a failing unit is reported stale; default 10 refresh intervals. */
  maxStaleSeconds?: number;
}

export class Discovery {
  private readonly units = new Map<string, { source: SourceName; state: UnitState }>();
  private readonly readySources = new Set<SourceName>();
  private readonly failed = new Map<SourceName, readonly ScopeFailure[]>();
  /** One refresh in flight per source (single-flight per source, not for all of them together). */
  private readonly inFlight = new Map<SourceName, Promise<void>>();
  /** Out-of-cycle refreshes asked for while one was in flight: one more runs after it. */
  private readonly again = new Map<SourceName, Promise<void>>();
  private task: ScheduledTask | undefined;
  private nextDue = 0;
  private snap: Snapshot = { targets: [], version: 0, ready: false };
  /** The unit target arrays the snapshot was built from: publication is skipped while they are the same. */
  private published: readonly (readonly DiscoveredTarget[])[] | undefined;
  /** Publications run one after another (each spans turns of the event loop). */
  private publishing: Promise<void> = Promise.resolve();
  private readonly reports: RefreshReports;

  constructor(private readonly opts: DiscoveryOptions) {
    this.reports = new RefreshReports(opts.metrics, opts.logger, () => this.now());
    if (opts.sources.length === 0) this.snap.ready = true;
    // Series exist before the first refresh: 0 means "never succeeded", so the alerts on them can fire.
    for (const source of opts.sources) source.onChange?.(() => this.refreshAgain(source));
    for (const { name } of opts.sources) {
      opts.metrics.lastSuccess.set({ source: name }, 0);
      for (const scope of opts.scopes ?? []) opts.metrics.scopeUp.set({ source: name, scope }, 0);
    }
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
        ...(state.lastStep ? { failedStep: state.lastStep } : {}),
        ...(state.calls ? { calls: state.calls } : {}),
        stale: state.stale ?? false,
      }))
      .sort((a, b) => (a.source + a.unit < b.source + b.unit ? -1 : 1));
  }

  /** Listing scopes that failed in each source's last refresh, with their error. */
  failedScopes(): ScopeFailure[] {
    return [...this.failed.values()].flat();
  }

  /** Every configured scope of every source, failed or not (a source not refreshed yet counts as failed). */
  scopeStatus(): ScopeStatus[] {
    return this.opts.sources.flatMap(({ name: source }) =>
      (this.opts.scopes ?? []).map((scope) => {
        const failure = this.scopeFailure(source, scope);
        const never = !this.failed.has(source);
        return {
          source,
          scope,
          ok: !failure && !never,
          ...(failure?.step ? { failedStep: failure.step } : {}),
          ...(failure?.error
            ? { lastError: failure.error }
            : never
              ? { lastError: "not refreshed yet" }
              : {}),
        };
      }),
    );
  }

  /** The last refresh of a source: calls by operation, targets added and removed, skips, duration. */
  report(source: SourceName): SourceReport | undefined {
    return this.reports.get(source);
  }

  /** What each unit of a source left out in its last good refresh (sources that record it). */
  skips(source: SourceName): ReadonlyMap<string, UnitSkips> {
    return this.opts.sources.find((s) => s.name === source)?.skips?.() ?? new Map();
  }

  /** The targets each unit serves now (last-good included), by `<source>:<unit>`. */
  unitTargets(): ReadonlyMap<string, readonly DiscoveredTarget[]> {
    return new Map([...this.units].map(([key, { state }]) => [key, state.targets]));
  }

  private targetCount(source: SourceName): number {
    let n = 0;
    for (const u of this.units.values()) if (u.source === source) n += u.state.targets.length;
    return n;
  }

  private unitCounts(source: SourceName): { ok: number; failed: number } {
    const states = [...this.units.values()].filter((u) => u.source === source);
    const ok = states.filter((u) => u.state.ok).length;
    return { ok, failed: states.length - ok };
  }

  private scopeFailure(source: SourceName, scope: string): ScopeFailure | undefined {
    return this.failed.get(source)?.find((f) => f.scope === "" || f.scope === `${scope}/`);
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
        // Each step its own turn of the event loop, so none holds it long (requests are served between).
        .then(() => setImmediateAsync())
        .then(() => this.publish())
        .finally(() => this.inFlight.delete(source.name));
      this.inFlight.set(source.name, running);
    }
    return running;
  }

  /** A refresh that starts after the one in flight (which may have missed the change), sharing one such wait. */
  private refreshAgain(source: Source): Promise<void> {
    const running = this.inFlight.get(source.name);
    if (!running) return this.refreshSource(source);
    let queued = this.again.get(source.name);
    if (!queued) {
      queued = running
        .catch(() => undefined)
        .then(() => {
          this.again.delete(source.name);
          return this.refreshSource(source);
        });
      this.again.set(source.name, queued);
    }
    return queued;
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
    await Promise.all(this.opts.sources.map((s) => s.stop?.()));
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
    const report = await this.reports.begin(source.name);
    const changes: TargetChanges = { added: [], removed: [] };
    const done = () =>
      report(this.unitCounts(source.name), this.targetCount(source.name), changes, source.skips?.());
    const end = metrics.refreshDuration.startTimer({ source: source.name });
    let result: SourceRefresh;
    try {
      result = await this.withDeadline(source);
    } catch (err) {
      // A source that throws as a whole (or misses its deadline) keeps all of its last-good units.
      end();
      const error = describe(err);
      const step = failedOperation(err);
      this.failed.set(source.name, [{ source: source.name, scope: "", error, ...(step ? { step } : {}) }]);
      metrics.refreshFailures.inc({ source: source.name, unit: "*" });
      for (const [key, { source: s, state }] of this.units)
        if (s === source.name) this.markDown(source.name, key, state, error, step);
      this.updateScopesAndStaleness(source.name);
      logger.warn("refresh failed; its units keep their last-good targets, if any", {
        source: source.name,
        operation: step,
        keptTargets: this.targetCount(source.name),
        err,
      });
      await done();
      return;
    }
    end();
    this.failed.set(
      source.name,
      result.failedScopes.map((scope) => {
        const err = result.scopeErrors?.get(scope);
        const step = failedOperation(err);
        return {
          source: source.name,
          scope,
          ...(err ? { error: describe(err) } : {}),
          ...(step ? { step } : {}),
        };
      }),
    );
    const seen = new Set<string>();
    const now = this.now();
    let allOk = result.failedScopes.length === 0;
    for (const outcome of result.units) {
      const key = `${source.name}:${outcome.unit}`;
      seen.add(key);
      if (outcome.ok) {
        this.units.set(key, {
          source: source.name,
          state: {
            targets: sortedTargets(this.units.get(key)?.state.targets, outcome.targets, changes),
            ok: true,
            lastSuccess: now,
            ...(outcome.absent ? { absent: true } : {}),
            ...(outcome.calls ? { calls: outcome.calls } : {}),
          },
        });
        metrics.unitUp.set({ source: source.name, unit: outcome.unit }, 1);
        // A large unit's sort is a step of its own (20,000 targets: about 10 ms); the next starts a new turn.
        if (outcome.targets.length >= UNIT_TARGETS_PER_TURN) await setImmediateAsync();
        continue;
      }
      allOk = false;
      let entry = this.units.get(key);
      // The step, the AWS error name and message, and what is still served (none before a first success).
      logger.warn("unit refresh failed; its last-good targets stay served", {
        source: source.name,
        unit: outcome.unit,
        operation: failedOperation(outcome.error),
        error: outcome.error.name,
        message: outcome.error.message,
        keptTargets: entry?.state.targets.length ?? 0,
      });
      if (!entry) this.units.set(key, (entry = { source: source.name, state: { targets: [], ok: false } }));
      if (outcome.calls) entry.state.calls = outcome.calls;
      this.markDown(source.name, key, entry.state, describe(outcome.error), failedOperation(outcome.error));
    }
    for (const [key, { source: s, state }] of this.units) {
      if (s !== source.name || seen.has(key)) continue;
      const unit = key.slice(source.name.length + 1);
      const scope = result.failedScopes.find((prefix) => unit.startsWith(prefix));
      if (scope !== undefined) {
        // Not listed because its scope's listing failed: down, serving last-good targets.
        const err = result.scopeErrors?.get(scope);
        this.markDown(
          source.name,
          key,
          state,
          err ? describe(err) : "listing of its scope failed",
          failedOperation(err),
        );
        continue;
      }
      // Units that vanished from a successful listing are gone (cluster deleted, namespace removed).
      for (const t of state.targets) changes.removed.push(t);
      this.units.delete(key);
      metrics.unitUp.remove({ source: source.name, unit });
      metrics.unitStale.remove({ source: source.name, unit });
    }
    // The listing's own count, beside each unit's; the source logs it with the operation that failed.
    for (const scope of result.failedScopes)
      metrics.refreshFailures.inc({ source: source.name, unit: scope });
    this.updateScopesAndStaleness(source.name);
    if (allOk) metrics.lastSuccess.set({ source: source.name }, now / 1000);
    // Ready once something real can be served: a unit succeeded, or the listing succeeded and was empty.
    // Serving [] while every unit fails would make a restarted bridge wipe Prometheus' targets.
    const listedEmpty = result.failedScopes.length === 0 && result.units.length === 0;
    if (listedEmpty || result.units.some((u) => u.ok)) this.readySources.add(source.name);
    await setImmediateAsync();
    await done();
  }

  /**
   * The source's refresh, failed if it has not settled after REFRESH_DEADLINE_CALL_TIMEOUTS call timeouts
   * (every call has its own timeout; this is the backstop that keeps single-flight from sticking).
   */
  private async withDeadline(source: Source): Promise<SourceRefresh> {
    const seconds =
      (this.opts.callTimeoutSeconds ?? DEFAULT_CALL_TIMEOUT_SECONDS) * REFRESH_DEADLINE_CALL_TIMEOUTS;
    const refreshing = source.refresh();
    // If the deadline wins, a late rejection must not become an unhandled one.
    refreshing.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`the ${source.name} refresh did not settle within ${seconds} s`);
        err.name = "RefreshDeadlineExceeded";
        reject(err);
      }, seconds * 1000);
    });
    try {
      return await Promise.race([refreshing, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A unit failed this refresh, on its own or with its scope's listing: down, counted, last-good kept. */
  private markDown(source: SourceName, key: string, state: UnitState, error: string, step?: string): void {
    const unit = key.slice(source.length + 1);
    state.ok = false;
    state.lastError = error;
    if (step) state.lastStep = step;
    else delete state.lastStep;
    this.opts.metrics.unitUp.set({ source, unit }, 0);
    this.opts.metrics.refreshFailures.inc({ source, unit });
  }

  /** scope_up for every configured scope, and unit_stale for every unit of the source. */
  private updateScopesAndStaleness(source: SourceName): void {
    const { metrics } = this.opts;
    for (const st of this.scopeStatus())
      if (st.source === source) metrics.scopeUp.set({ source, scope: st.scope }, st.ok ? 1 : 0);
    const maxAgeMs =
      (this.opts.maxStaleSeconds ?? DEFAULT_MAX_STALE_INTERVALS * this.opts.intervalSeconds) * 1000;
    const now = this.now();
    for (const [key, { source: s, state }] of this.units) {
      if (s !== source) continue;
      state.stale = !state.ok && state.lastSuccess !== undefined && now - state.lastSuccess > maxAgeMs;
      metrics.unitStale.set({ source, unit: key.slice(source.length + 1) }, state.stale ? 1 : 0);
    }
  }

  private publish(): Promise<void> {
    const run = this.publishing.then(() => this.publishNow());
    this.publishing = run.catch(() => undefined);
    return run;
  }

  /**
   * A new snapshot when targets or readiness changed. Work is proportional to change: while every unit
   * keeps its target array (reused targets, same set), nothing is merged or compared.
   */
  private async publishNow(): Promise<void> {
    const runs = [...this.units.values()].map((u) => u.state.targets);
    let targets = this.snap.targets;
    let targetsChanged = false;
    const last = this.published;
    if (!last || runs.length !== last.length || runs.some((r, i) => r !== last[i])) {
      this.published = runs;
      const counts = new Map<SourceName, number>(this.opts.sources.map((s) => [s.name, 0]));
      for (const { source, state } of this.units.values())
        counts.set(source, (counts.get(source) ?? 0) + state.targets.length);
      for (const [source, n] of counts) this.opts.metrics.targets.set({ source }, n);
      // One target per endpoint across sources (each source above still counts what it found).
      // concat copies each unit's array at once; flat() walks element by element (20 ms at 100,000).
      const found = mergeTargets(([] as DiscoveredTarget[]).concat(...runs));
      this.opts.metrics.targetsMerged.set(found.merged);
      await setImmediateAsync();
      // Sorted runs, one per unit: the sort (TimSort) merges them, about n log(units) comparisons.
      const next = found.targets.sort(compareTargets);
      targetsChanged =
        next.length !== targets.length ||
        next.some((t, i) => t.group !== targets[i]!.group && !sameGroup(t, targets[i]));
      targets = next;
    }
    const ready = this.opts.sources.every((s) => this.readySources.has(s.name));
    const readySources = [...this.readySources].sort();
    const changed =
      targetsChanged ||
      ready !== this.snap.ready ||
      readySources.length !== (this.snap.readySources?.length ?? 0);
    if (changed) this.snap = { targets, version: this.snap.version + 1, ready, readySources };
    // Equal targets rebuilt as new objects: the same version, but the units' objects, so the old ones
    // are not kept as a second copy.
    else if (targets !== this.snap.targets) this.snap = { ...this.snap, targets };
  }
}

function sameGroup(a: DiscoveredTarget, b: DiscoveredTarget | undefined): boolean {
  return b !== undefined && compareTargets(a, b) === 0;
}

/**
 * A unit's targets in compareTargets order, from its last sorted array and the source's new, unordered
 * one: the last array itself when the set of target objects is the same (reused targets keep their
 * identity), else the kept ones with only the new ones sorted in, so a refresh sorts what changed.
 * Target objects that came and went are appended to `changes`.
 */
export function sortedTargets(
  last: readonly DiscoveredTarget[] | undefined,
  next: readonly DiscoveredTarget[],
  changes: TargetChanges = { added: [], removed: [] },
): readonly DiscoveredTarget[] {
  const is = new Set(next);
  // One object listed twice (no source does this) would be lost by the set arithmetic below.
  if (!last || is.size !== next.length) {
    // Loops, not push(...list): a spread of 100,000 arguments overflows the stack.
    for (const t of next) changes.added.push(t);
    for (const t of last ?? []) changes.removed.push(t);
    return [...next].sort(compareTargets);
  }
  const kept: DiscoveredTarget[] = [];
  for (const t of last) (is.has(t) ? kept : changes.removed).push(t);
  if (kept.length === next.length) return kept.length === last.length ? last : kept;
  const was = new Set(last);
  const added = next.filter((t) => !was.has(t));
  for (const t of added) changes.added.push(t);
  return kept.concat(added.sort(compareTargets)).sort(compareTargets);
}

/** `<AWS error name>: <message>`, as /status and the logs show it. */
function describe(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  return `${e.name}: ${e.message}`;
}
