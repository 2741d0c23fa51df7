// Series discovery: which Service Connect series exist, from ListMetrics (one paginated walk per family
// dimension), reduced to the one configured dimension set and the filters, cached with a TTL per scope.
import type { Dimension } from "@aws-sdk/client-cloudwatch";
import { FAMILIES, NAMESPACE, findMetric, type FamilyDimension, type MetricSpec } from "./catalog.js";
import type { CloudWatchApi } from "./api.js";

export type DimensionSet = "3" | "1";

export interface SeriesRef {
  metric: MetricSpec;
  /** The CloudWatch dimensions exactly as listed (needed verbatim in GetMetricData). */
  dimensions: Dimension[];
  /** From ListMetrics' OwningAccounts when CloudWatch returns it (monitoring accounts). */
  owningAccount?: string;
}

export interface SeriesFilter {
  dimensions: DimensionSet;
  clusters: readonly string[];
  services: readonly string[];
  discoveryNames: readonly string[];
}

/** What ListMetrics is asked for: the series filter, and whether a monitoring account's sources count. */
export interface ListFilter extends SeriesFilter {
  /** List the linked source accounts' series too (exporter.linkedAccounts). */
  linkedAccounts: boolean;
}

/** Dimension names of the configured set, sorted: the family dimension alone or with ServiceName and ClusterName. */
function wantedDimensions(family: FamilyDimension, set: DimensionSet): string {
  return (set === "3" ? [family, "ServiceName", "ClusterName"] : [family]).sort().join(",");
}

export function dimensionMap(dimensions: readonly Dimension[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of dimensions) if (d.Name) out[d.Name] = d.Value ?? "";
  return out;
}

/** Keeps a listed metric when it is a known metric of the family, in the configured set, and passes the filters. */
export function selectSeries(
  family: FamilyDimension,
  metricName: string | undefined,
  dimensions: readonly Dimension[],
  filter: SeriesFilter,
): MetricSpec | undefined {
  const spec = metricName ? findMetric(family, metricName) : undefined;
  if (!spec) return undefined;
  const names = dimensions.map((d) => d.Name ?? "").sort();
  // Exactly the configured set: the 1- and 3-dimension series count the same traffic, exporting both doubles it.
  if (names.join(",") !== wantedDimensions(family, filter.dimensions)) return undefined;
  const dims = dimensionMap(dimensions);
  if (filter.clusters.length > 0 && !filter.clusters.includes(dims.ClusterName ?? "")) return undefined;
  if (filter.services.length > 0 && !filter.services.includes(dims.ServiceName ?? "")) return undefined;
  if (filter.discoveryNames.length > 0 && !filter.discoveryNames.includes(dims[family] ?? ""))
    return undefined;
  return spec;
}

export interface ListResult {
  series: SeriesRef[];
  /** ListMetrics requests sent (each page is one request). */
  requests: number;
}

/** Lists every series of both families in one account and region. Throws on the first failed request. */
export async function listSeries(
  api: CloudWatchApi,
  filter: ListFilter,
  onRequest: () => void = () => {},
): Promise<ListResult> {
  const series: SeriesRef[] = [];
  const seen = new Set<string>();
  let requests = 0;
  for (const family of FAMILIES) {
    const input = {
      Namespace: NAMESPACE,
      Dimensions: [{ Name: family }],
      // Only series with data in the last 3 hours: deleted services stop costing GetMetricData calls at once
      // instead of lingering for the two weeks ListMetrics otherwise remembers them.
      RecentlyActive: "PT3H" as const,
      // Only then does CloudWatch list source accounts' series, each with its owner in OwningAccounts.
      ...(filter.linkedAccounts ? { IncludeLinkedAccounts: true } : {}),
    };
    await api.listMetrics(input, (page) => {
      requests++;
      onRequest();
      (page.Metrics ?? []).forEach((m, i) => {
        const dimensions = m.Dimensions ?? [];
        const spec = selectSeries(family, m.MetricName, dimensions, filter);
        if (!spec) return;
        const owningAccount = page.OwningAccounts?.[i];
        const key = seriesKey(spec, dimensions, owningAccount);
        if (seen.has(key)) return;
        seen.add(key);
        series.push({ metric: spec, dimensions, ...(owningAccount ? { owningAccount } : {}) });
      });
    });
  }
  return { series, requests };
}

export function seriesKey(spec: MetricSpec, dimensions: readonly Dimension[], account?: string): string {
  const dims = dimensions
    .map((d) => `${d.Name}=${d.Value}`)
    .sort()
    .join(",");
  return `${account ?? ""}|${spec.family}|${spec.name}|${dims}`;
}

interface Cached {
  series: SeriesRef[];
  expires: number;
}

export interface CachedList {
  series: SeriesRef[];
  /** True when ListMetrics failed and the previous listing is served past its TTL. */
  stale: boolean;
  error?: Error;
}

/** ListMetrics results per scope, cached for ttlMs; a failed refresh keeps the previous listing. */
export class SeriesCatalog {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly filter: ListFilter,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  async get(scopeKey: string, api: CloudWatchApi, onRequest?: () => void): Promise<CachedList> {
    const hit = this.cache.get(scopeKey);
    if (hit && hit.expires > this.now()) return { series: hit.series, stale: false };
    try {
      const { series } = await listSeries(api, this.filter, onRequest);
      this.cache.set(scopeKey, { series, expires: this.now() + this.ttlMs });
      return { series, stale: false };
    } catch (err) {
      if (!hit) throw err;
      return { series: hit.series, stale: true, error: err as Error };
    }
  }
}
