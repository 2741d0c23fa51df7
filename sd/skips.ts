// What each source left out of its targets in the last refresh, and why, in words: the status page, the
// explain API and `--once --explain` read it. Bounded: a refresh keeps at most MAX_SKIP_RECORDS records
// per source; the rest are only counted (per unit and reason), so a cluster of idle sidecars cannot
// grow memory without bound.

/** A task (or one of its containers) that produced no target. */
export interface SkipRecord {
  /** Task ARN (ECS) or instance id (Cloud Map). */
  task: string;
  service?: string;
  container?: string;
  /** A stable code, the `reason` label of ecs_bridge_skipped. */
  reason: string;
  /** The reason in words, for a person. */
  detail: string;
}

/** One unit's skips in the last refresh. */
export interface UnitSkips {
  /** At most MAX_SKIP_RECORDS across the source; `byReason` counts every skip, kept or not. */
  records: SkipRecord[];
  /** Skips counted but not kept (over the cap). */
  dropped: number;
  byReason: Record<string, number>;
}

/** Records kept per source and refresh (about 300 bytes each). */
export const MAX_SKIP_RECORDS = 5000;

/** A detail longer than this is cut: AWS-supplied strings inside it are not ours to size. */
const MAX_DETAIL = 300;

/** Collects one refresh's skips per unit, up to `cap` records in all. */
export class SkipCollector {
  private readonly units = new Map<string, UnitSkips>();
  private kept = 0;

  constructor(private readonly cap = MAX_SKIP_RECORDS) {}

  add(unit: string, record: SkipRecord): void {
    let u = this.units.get(unit);
    if (!u) this.units.set(unit, (u = emptySkips()));
    u.byReason[record.reason] = (u.byReason[record.reason] ?? 0) + 1;
    if (this.kept >= this.cap) {
      u.dropped++;
      return;
    }
    this.kept++;
    const detail =
      record.detail.length > MAX_DETAIL ? `${record.detail.slice(0, MAX_DETAIL - 1)}…` : record.detail;
    u.records.push({ ...record, detail });
  }

  /** This refresh's skips of a unit (empty when it skipped nothing). */
  of(unit: string): UnitSkips {
    return this.units.get(unit) ?? emptySkips();
  }
}

/**
 * The skips a source keeps after a refresh: this refresh's for units that refreshed, the previous ones for
 * units that failed or whose scope's listing failed (they go with the last-good targets still served).
 */
export function keptSkips(
  previous: ReadonlyMap<string, UnitSkips>,
  collected: SkipCollector,
  units: readonly { unit: string; ok: boolean }[],
  failedScopes: readonly string[],
): Map<string, UnitSkips> {
  const next = new Map<string, UnitSkips>();
  for (const [unit, skips] of previous)
    if (failedScopes.some((scope) => unit.startsWith(scope))) next.set(unit, skips);
  for (const u of units) {
    const skips = u.ok ? collected.of(u.unit) : previous.get(u.unit);
    if (skips) next.set(u.unit, skips);
  }
  return next;
}

export const emptySkips = (): UnitSkips => ({ records: [], dropped: 0, byReason: {} });

/** The last segment of an ECS task ARN (`.../cluster/<id>`), or the string itself. */
export function taskIdOf(taskArn: string): string {
  return taskArn.slice(taskArn.lastIndexOf("/") + 1);
}
