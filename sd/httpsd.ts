// The http_sd contract, free of any HTTP framework so the service and the Lambda share it:
// query filters -> validated filter -> JSON array of {targets, labels} in deterministic order.
import { createHash, type Hash } from "node:crypto";
import { setImmediate as setImmediateAsync } from "node:timers/promises";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { LRUCache } from "lru-cache";
import pLimit from "p-limit";
import type { DiscoveredTarget, SourceName, TargetGroup, TargetOrigin } from "./model.js";
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

/**
 * Whether a target is listed for a filter. A merged target (sd/merge.ts) is listed when any target folded
 * into it would have been: `?source=cloudmap` still shows a Cloud Map instance that ECS also lists.
 */
export function matches(t: DiscoveredTarget, f: SdFilter): boolean {
  return matchesOrigin(t, f) || (t.also?.some((o) => matchesOrigin(o, f)) ?? false);
}

function matchesOrigin(t: TargetOrigin, f: SdFilter): boolean {
  if (f.source && !f.source.has(t.source)) return false;
  if (f.cluster && (!t.cluster || !f.cluster.has(t.cluster))) return false;
  if (f.service && (!t.service || !f.service.has(t.service))) return false;
  if (f.namespace && (!t.namespace || !f.namespace.has(t.namespace))) return false;
  return true;
}

/**
 * A canonical key for a filter, so equal filters share one cached body: keys in a fixed order, values
 * de-duplicated (a Set) and sorted, clusters by name (parseFilter turns ARNs into names).
 */
export function filterKey(f: SdFilter): string {
  return FILTER_KEYS.map((k) => `${k}=${[...(f[k] ?? [])].sort().join(",")}`).join("&");
}

const UNFILTERED_KEY = filterKey({});

/** The identity body of an http_sd list and what identifies it. */
export interface SdJson {
  json: Buffer;
  etag: string;
  count: number;
}

export interface SdBody extends SdJson {
  gzip: Buffer;
}

/** Groups serialised per turn of the event loop by renderSdBody: a few ms, so /healthz never waits long. */
const GROUPS_PER_SLICE = 500;

/** The JSON array in slices of GROUPS_PER_SLICE groups; joined, exactly JSON.stringify of the groups. */
function* jsonSlices(selected: readonly DiscoveredTarget[]): Generator<string> {
  if (selected.length === 0) yield "[]";
  for (let i = 0; i < selected.length; i += GROUPS_PER_SLICE) {
    const groups = selected
      .slice(i, i + GROUPS_PER_SLICE)
      .map((t) => JSON.stringify({ targets: t.group.targets, labels: t.group.labels } satisfies TargetGroup));
    const last = i + GROUPS_PER_SLICE >= selected.length;
    yield (i === 0 ? "[" : ",") + groups.join(",") + (last ? "]" : "");
  }
}

/** A strong ETag from the SHA-256 of the body. */
function etagOf(hash: Hash): string {
  return `"${hash.digest("base64url").slice(0, 27)}"`;
}

/** Serialises and hashes the selected targets; `pause` runs between slices to let other requests in. */
async function renderJson(
  selected: readonly DiscoveredTarget[],
  pause?: () => Promise<void>,
): Promise<SdJson> {
  const hash = createHash("sha256");
  const parts: Buffer[] = [];
  for (const slice of jsonSlices(selected)) {
    if (parts.length > 0 && pause) await pause();
    const part = Buffer.from(slice);
    hash.update(part);
    parts.push(part);
  }
  return { json: Buffer.concat(parts), etag: etagOf(hash), count: selected.length };
}

/**
 * The http_sd JSON body of targets (already in deterministic order), at once: for tests and tools. The
 * service and the Lambda use renderSdBody, which never holds the event loop for the whole list.
 */
export function renderSd(targets: readonly DiscoveredTarget[], filter: SdFilter = {}): SdJson {
  const selected = targets.filter((t) => matches(t, filter));
  const json = Buffer.from([...jsonSlices(selected)].join(""));
  return { json, etag: etagOf(createHash("sha256").update(json)), count: selected.length };
}

const gzipAsync = promisify(gzip);

/**
 * The body served for a filter: JSON serialised and hashed in slices (yielding between them), then
 * gzipped on libuv's thread pool, so a render of 10,000 targets blocks the event loop a few ms at a time.
 */
export async function renderSdBody(
  targets: readonly DiscoveredTarget[],
  filter: SdFilter = {},
): Promise<SdBody> {
  const rendered = await renderJson(
    targets.filter((t) => matches(t, filter)),
    () => setImmediateAsync(),
  );
  return { ...rendered, gzip: await gzipAsync(rendered.json) };
}

/** Bytes of filtered bodies an SdCache keeps (JSON and gzip, all filters together). */
export const FILTERED_CACHE_BYTES = 4 * 1024 * 1024;
/** Filtered renders running at once: a flood of new filters queues instead of piling up bodies. */
const FILTERED_RENDERS = 2;

/**
 * Rendered bodies for one snapshot version. The unfiltered body is kept for the snapshot; filtered bodies
 * share an LRU bounded in bytes (a query string is the client's to choose, and /sd may be unauthenticated,
 * so their number must not decide the memory used). Concurrent requests for one filter share its render.
 */
export class SdCache {
  private version = -1;
  private unfiltered: Promise<SdBody> | undefined;
  private readonly filtered: LRUCache<string, SdBody>;
  private readonly rendering = new Map<string, Promise<SdBody>>();
  private readonly renderSlot = pLimit(FILTERED_RENDERS);

  constructor(maxFilteredBytes = FILTERED_CACHE_BYTES) {
    this.filtered = new LRUCache<string, SdBody>({
      maxSize: maxFilteredBytes,
      sizeCalculation: (body, key) => body.json.length + body.gzip.length + key.length,
    });
  }

  get(version: number, targets: readonly DiscoveredTarget[], filter: SdFilter): Promise<SdBody> {
    if (version !== this.version) {
      this.version = version;
      this.unfiltered = undefined;
      this.filtered.clear();
      this.rendering.clear();
    }
    const key = filterKey(filter);
    if (key === UNFILTERED_KEY) {
      if (!this.unfiltered) {
        const render = renderSdBody(targets);
        // A failed render is not kept: the next request tries again.
        render.catch(() => this.unfiltered === render && (this.unfiltered = undefined));
        this.unfiltered = render;
      }
      return this.unfiltered;
    }
    const hit = this.filtered.get(key);
    if (hit) return Promise.resolve(hit);
    let render = this.rendering.get(key);
    if (!render) {
      const started = this.renderSlot(() => renderSdBody(targets, filter))
        .then((body) => {
          // A body larger than the whole budget is not kept (lru-cache skips it): served, then dropped.
          if (this.version === version) this.filtered.set(key, body);
          return body;
        })
        .finally(() => this.rendering.get(key) === started && this.rendering.delete(key));
      this.rendering.set(key, started);
      render = started;
    }
    return render;
  }

  /** Bytes held by cached filtered bodies. */
  get filteredBytes(): number {
    return this.filtered.calculatedSize;
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
