// One target per endpoint across sources. ECS and Cloud Map both list a task that ECS registered in Cloud
// Map; served twice, Prometheus would scrape it twice. Targets with the same `__address__` and metrics path
// (`__metrics_path__`, /metrics when absent) become one, carrying both label sets.
import {
  compareTargets,
  sortedLabels,
  type DiscoveredTarget,
  type Labels,
  type SourceName,
  type TargetOrigin,
} from "./model.js";

/**
 * Which source's target wins an endpoint: the lower rank. ECS first: its labels are a superset of what
 * Cloud Map knows about an ECS task (container, port, task ARN), and its `job`, `__scheme__` and
 * `__metrics_path__` come from the container's own docker labels. A Record, so a new source must be ranked.
 */
const RANK: Record<SourceName, number> = { ecs: 0, cloudmap: 1 };

export interface MergeResult {
  /** One per endpoint; inputs without a duplicate pass through unchanged (the input array if none has one). */
  targets: DiscoveredTarget[];
  /** Targets folded into another one with the same endpoint (inputs minus outputs). */
  merged: number;
}

/** The endpoint key; undefined for a group of several addresses (no source emits one; left alone). */
function endpointKey(t: DiscoveredTarget): string | undefined {
  if (t.group.targets.length !== 1) return undefined;
  return `${t.group.targets[0]} ${t.group.labels.__metrics_path__ ?? "/metrics"}`;
}

function byRank(a: DiscoveredTarget, b: DiscoveredTarget): number {
  return RANK[a.source] - RANK[b.source] || compareTargets(a, b);
}

/**
 * The winner's labels, plus every `__meta_*` label of the others that the winner lacks (in rank order, so
 * the result does not depend on input order). Other labels (`job`, `__scheme__`, `__metrics_path__`,
 * `__param_*`) say how the endpoint is scraped and come from the winner alone.
 */
function mergeGroup(members: DiscoveredTarget[]): DiscoveredTarget {
  const [winner, ...others] = members.sort(byRank) as [DiscoveredTarget, ...DiscoveredTarget[]];
  const labels: Labels = { ...winner.group.labels };
  for (const o of others)
    for (const [name, value] of Object.entries(o.group.labels))
      if (name.startsWith("__meta_") && !(name in labels)) labels[name] = value;
  const also = others.map(({ source, cluster, service, namespace }): TargetOrigin => ({
    source,
    ...(cluster ? { cluster } : {}),
    ...(service ? { service } : {}),
    ...(namespace ? { namespace } : {}),
  }));
  return { ...winner, also, group: { targets: winner.group.targets, labels: sortedLabels(labels) } };
}

/**
 * Folds targets listing the same endpoint into one. O(n): one Map lookup per target by its address (a
 * string it already holds), and the endpoint key is built only for targets sharing an address, so there
 * is no allocation beyond the Map when there is no duplicate. The output is in input order, but for
 * merged targets, which take their first member's place; callers sort it.
 */
export function mergeTargets(targets: DiscoveredTarget[]): MergeResult {
  const byAddress = new Map<string, number>();
  const first = new Map<string, number>();
  let dups: Map<number, number[]> | undefined;
  targets.forEach((t, i) => {
    const address = t.group.targets.length === 1 ? t.group.targets[0] : undefined;
    if (address === undefined) return;
    const shared = byAddress.get(address);
    if (shared === undefined) {
      byAddress.set(address, i);
      return;
    }
    // Another target has this address (another source's, or another metrics path): compare endpoints.
    const sharedKey = endpointKey(targets[shared]!)!;
    if (!first.has(sharedKey)) first.set(sharedKey, shared);
    const endpoint = endpointKey(t)!;
    const j = first.get(endpoint);
    if (j === undefined) first.set(endpoint, i);
    else {
      dups ??= new Map();
      const list = dups.get(j);
      if (list) list.push(i);
      else dups.set(j, [i]);
    }
  });
  if (!dups) return { targets, merged: 0 };
  const folded = new Set([...dups.values()].flat());
  const out: DiscoveredTarget[] = [];
  targets.forEach((t, i) => {
    if (folded.has(i)) return;
    const others = dups!.get(i);
    out.push(others ? mergeGroup([t, ...others.map((j) => targets[j]!)]) : t);
  });
  return { targets: out, merged: folded.size };
}
