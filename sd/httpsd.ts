// The http_sd contract, free of any HTTP framework so the service and the Lambda share it:
// query filters -> validated filter -> JSON array of {targets, labels} in deterministic order.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { DiscoveredTarget, SourceName, TargetGroup } from "./model.js";
import { SOURCE_NAMES } from "./registry.js";

export const HTTP_SD_CONTENT_TYPE = "application/json; charset=utf-8";

export interface SdFilter {
  source?: Set<SourceName>;
  cluster?: Set<string>;
  service?: Set<string>;
  namespace?: Set<string>;
}

export const FILTER_KEYS = ["source", "cluster", "service", "namespace"] as const;
const VALUE = /^[A-Za-z0-9_.:/@+=-]{1,255}$/;

export class BadRequest extends Error {
  constructor(
    message: string,
    readonly param?: string,
  ) {
    super(message);
    this.name = "BadRequest";
  }
}

/**
 * Parses filters from a query object (values may be strings or arrays, as express and lambda-api give
 * them). `allowExtra` names parameters another layer handles (e.g. the Lambda's `secret`).
 */
export function parseFilter(query: Record<string, unknown>, allowExtra: readonly string[] = []): SdFilter {
  const filter: SdFilter = {};
  for (const [key, raw] of Object.entries(query)) {
    if (allowExtra.includes(key)) continue;
    if (!(FILTER_KEYS as readonly string[]).includes(key))
      throw new BadRequest(`unknown query parameter "${key}"; allowed: ${FILTER_KEYS.join(", ")}`, key);
    const list = (Array.isArray(raw) ? raw : [raw]).flatMap((v) =>
      typeof v === "string" ? v.split(",") : [v],
    );
    const values = new Set<string>();
    for (const v of list) {
      if (typeof v !== "string" || !VALUE.test(v))
        throw new BadRequest(
          `bad value for "${key}": expected 1-255 characters of A-Z a-z 0-9 _ . : / @ + = -, comma-separated`,
          key,
        );
      if (key === "source" && !(SOURCE_NAMES as readonly string[]).includes(v))
        throw new BadRequest(`bad value for "source": "${v}"; allowed: ${SOURCE_NAMES.join(", ")}`, key);
      // A cluster may be named by ARN (as in the bridge's own clusters option): match on its name.
      const clusterName =
        key === "cluster" ? /^arn:[^:]+:ecs:[^:]*:\d*:cluster\/(.+)$/.exec(v)?.[1] : undefined;
      values.add(clusterName ?? v);
    }
    (filter as Record<string, Set<string>>)[key] = values;
  }
  return filter;
}

/**
 * Whether a list for this filter is complete: every source is ready, or the filter restricts the list to
 * sources that are ready on their own (so `?source=ecs` need not wait for a Cloud Map that keeps failing).
 */
export function listReady(
  snap: { ready: boolean; readySources?: readonly SourceName[] },
  filter: SdFilter,
): boolean {
  if (snap.ready) return true;
  const sources = filter.source ? [...filter.source] : [];
  return sources.length > 0 && sources.every((s) => snap.readySources?.includes(s) ?? false);
}

export function matches(t: DiscoveredTarget, f: SdFilter): boolean {
  if (f.source && !f.source.has(t.source)) return false;
  if (f.cluster && (!t.cluster || !f.cluster.has(t.cluster))) return false;
  if (f.service && (!t.service || !f.service.has(t.service))) return false;
  if (f.namespace && (!t.namespace || !f.namespace.has(t.namespace))) return false;
  return true;
}

/** A canonical key for a filter, so equal filters share one cached body. */
export function filterKey(f: SdFilter): string {
  return FILTER_KEYS.map((k) => `${k}=${[...(f[k] ?? [])].sort().join(",")}`).join("&");
}

export interface SdBody {
  json: Buffer;
  gzip: Buffer;
  etag: string;
  count: number;
}

/** Serialises targets (already in deterministic order) to the http_sd JSON body. */
export function renderSd(targets: readonly DiscoveredTarget[], filter: SdFilter = {}): SdBody {
  const groups: TargetGroup[] = [];
  for (const t of targets)
    if (matches(t, filter)) groups.push({ targets: t.group.targets, labels: t.group.labels });
  const json = Buffer.from(JSON.stringify(groups));
  const etag = `"${createHash("sha256").update(json).digest("base64url").slice(0, 27)}"`;
  return { json, gzip: gzipSync(json), etag, count: groups.length };
}

/** Caches rendered bodies per filter for one snapshot version. */
export class SdCache {
  private version = -1;
  private readonly bodies = new Map<string, SdBody>();

  constructor(private readonly maxEntries = 256) {}

  get(version: number, targets: readonly DiscoveredTarget[], filter: SdFilter): SdBody {
    if (version !== this.version) {
      this.bodies.clear();
      this.version = version;
    }
    const key = filterKey(filter);
    let body = this.bodies.get(key);
    if (!body) {
      body = renderSd(targets, filter);
      if (this.bodies.size >= this.maxEntries) this.bodies.clear();
      this.bodies.set(key, body);
    }
    return body;
  }
}

/** Whether an Accept-Encoding header admits gzip (q > 0, directly or through `*`). */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  let gzip: number | undefined;
  let star: number | undefined;
  for (const part of (acceptEncoding ?? "").split(",")) {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (coding === "gzip" || coding === "x-gzip") gzip = Number.isFinite(q) ? q : 0;
    else if (coding === "*") star = Number.isFinite(q) ? q : 0;
  }
  return (gzip ?? star ?? 0) > 0;
}

export interface SdResponse {
  status: 200 | 304;
  headers: Record<string, string>;
  /** Absent for 304. */
  payload?: Buffer;
  gzip: boolean;
}

/**
 * Content negotiation for an http_sd body, shared by the service and the Lambda: gzip when accepted, an ETag
 * per representation (gzip and identity bytes differ), 304 when If-None-Match names it.
 */
export function negotiateSd(
  body: SdBody,
  req: { ifNoneMatch?: string; acceptEncoding?: string },
): SdResponse {
  const gzip = acceptsGzip(req.acceptEncoding);
  const etag = gzip ? `${body.etag.slice(0, -1)}-gz"` : body.etag;
  const headers: Record<string, string> = {
    "Content-Type": HTTP_SD_CONTENT_TYPE,
    ETag: etag,
    "Cache-Control": "no-cache",
    Vary: "Accept-Encoding",
  };
  const tags = (req.ifNoneMatch ?? "").split(",").map((t) => t.trim().replace(/^W\//, ""));
  if (tags.includes(etag) || tags.includes("*")) return { status: 304, headers, gzip };
  if (gzip) headers["Content-Encoding"] = "gzip";
  return { status: 200, headers, payload: gzip ? body.gzip : body.json, gzip };
}
