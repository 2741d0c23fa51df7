import { gunzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSelfMetrics } from "../../core/metrics.js";
import { createApp, listen } from "../../core/server.js";
import { createAuthCheck } from "../../core/auth.js";
import type { DiscoveredTarget } from "../../sd/model.js";
import type { Snapshot } from "../../sd/refresh.js";
import {
  SdCache,
  acceptsGzip,
  filterKey,
  negotiateSd,
  parseFilter,
  renderSd,
  renderSdBody,
} from "../../sd/httpsd.js";

const targets: DiscoveredTarget[] = [
  {
    source: "cloudmap",
    namespace: "internal",
    service: "billing",
    group: { targets: ["10.0.5.1:8080"], labels: { __meta_cloudmap_namespace_name: "internal" } },
  },
  {
    source: "ecs",
    cluster: "prod",
    service: "api",
    group: { targets: ["10.0.1.1:9100"], labels: { __meta_ecs_cluster: "prod", __meta_ecs_service: "api" } },
  },
  {
    source: "ecs",
    cluster: "staging",
    service: "web",
    group: {
      targets: ["10.0.2.1:9100"],
      labels: { __meta_ecs_cluster: "staging", __meta_ecs_service: "web" },
    },
  },
];

let snap: Snapshot = { targets, version: 1, ready: true };
let server: Server;
let base: string;

beforeAll(async () => {
  const metrics = createSelfMetrics({ defaults: false });
  const discovery = { snapshot: () => snap, status: () => [] };
  const app = createApp({ discovery, registry: metrics.registry });
  server = await listen(app, "127.0.0.1", 0);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("GET /sd (http_sd contract)", () => {
  it("answers 200, application/json; charset=utf-8, an array of {targets, labels} only", async () => {
    const res = await fetch(`${base}/sd`, { headers: { "accept-encoding": "identity" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const body = (await res.json()) as { targets: string[]; labels: Record<string, string> }[];
    expect(body).toHaveLength(3);
    for (const g of body) expect(Object.keys(g).sort()).toEqual(["labels", "targets"]);
    expect(body[1]).toEqual({
      targets: ["10.0.1.1:9100"],
      labels: { __meta_ecs_cluster: "prod", __meta_ecs_service: "api" },
    });
  });

  it("filters by cluster, service, source and namespace (comma lists and repeats)", async () => {
    const get = async (q: string) =>
      ((await (await fetch(`${base}/sd?${q}`)).json()) as { targets: string[] }[]).map((g) => g.targets[0]);
    expect(await get("cluster=prod")).toEqual(["10.0.1.1:9100"]);
    expect(await get("cluster=prod,staging")).toEqual(["10.0.1.1:9100", "10.0.2.1:9100"]);
    expect(await get("service=web&service=api")).toEqual(["10.0.1.1:9100", "10.0.2.1:9100"]);
    expect(await get("source=cloudmap")).toEqual(["10.0.5.1:8080"]);
    expect(await get("namespace=internal")).toEqual(["10.0.5.1:8080"]);
    expect(await get("cluster=nope")).toEqual([]);
  });

  it("rejects unknown filters and bad values with 400 and a JSON reason", async () => {
    for (const q of ["clusterr=prod", "source=ec2", "cluster=" + encodeURIComponent("a b"), "cluster="]) {
      const res = await fetch(`${base}/sd?${q}`);
      expect(res.status, q).toBe(400);
      const body = (await res.json()) as { error: string };
      expect(body.error).toMatch(/unknown query parameter|bad value/);
    }
  });

  it("serves gzip and honours ETag with 304", async () => {
    const res = await fetch(`${base}/sd`, { headers: { "accept-encoding": "gzip" } });
    expect(res.headers.get("content-encoding")).toBe("gzip");
    const etag = res.headers.get("etag")!;
    expect(etag).toMatch(/^".+"$/);
    const again = await fetch(`${base}/sd`, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
  });

  it("is deterministic: same snapshot, same bytes", async () => {
    const a = await renderSdBody(targets);
    const b = await renderSdBody([...targets]);
    expect(a.json.equals(b.json)).toBe(true);
    expect(gunzipSync(a.gzip).equals(a.json)).toBe(true);
    expect((await renderSdBody([])).json.toString()).toBe("[]");
  });

  it("answers 503 with a JSON error only before the first successful refresh", async () => {
    snap = { targets: [], version: 2, ready: false };
    const res = await fetch(`${base}/sd`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(/first successful refresh/);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    snap = { targets: [], version: 3, ready: true };
    const empty = await fetch(`${base}/sd`);
    expect(empty.status).toBe(200);
    expect(await empty.text()).toBe("[]");
    snap = { targets, version: 4, ready: true };
  });

  it("HEAD and a trailing slash are /sd too; other methods are not found; a 503 says when to retry", async () => {
    const get = await fetch(`${base}/sd`);
    const head = await fetch(`${base}/sd`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe(get.headers.get("etag"));
    expect(head.headers.get("content-length")).toBe(get.headers.get("content-length"));
    expect(await head.text()).toBe("");
    expect(await (await fetch(`${base}/sd/?cluster=prod`)).json()).toEqual(
      await (await fetch(`${base}/sd?cluster=prod`)).json(),
    );
    const post = await fetch(`${base}/sd`, { method: "POST" });
    expect(post.status).toBe(404);
    expect(await post.json()).toEqual({ error: "not found" });
    snap = { targets: [], version: 5, ready: false };
    const notReady = await fetch(`${base}/sd`);
    expect(notReady.headers.get("retry-after")).toBe("5");
    expect(notReady.headers.get("content-type")).toBe("application/json; charset=utf-8");
    snap = { targets, version: 6, ready: true };
  });

  it("parseFilter keeps extra parameters another layer owns", () => {
    expect(parseFilter({ secret: "x", cluster: "a" }, ["secret"]).cluster).toEqual(new Set(["a"]));
    expect(() => parseFilter({ secret: "x" })).toThrow(/unknown query parameter "secret"/);
  });
});

describe("a failure inside /sd", () => {
  it("answers 500 with a JSON reason and no stack, and the server keeps serving", async () => {
    let broken = true;
    const app = createApp({
      discovery: {
        snapshot: () => {
          if (broken) throw new TypeError("snapshot exploded at /some/path.ts:1");
          return snap;
        },
        status: () => [],
      },
      registry: createSelfMetrics({ defaults: false }).registry,
    });
    const s = await listen(app, "127.0.0.1", 0);
    const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    try {
      const res = await fetch(`${url}/sd`);
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ error: "internal error", name: "TypeError" });
      expect(text).not.toMatch(/exploded|path\.ts/);
      broken = false;
      expect((await fetch(`${url}/sd`)).status).toBe(200);
    } finally {
      s.close();
    }
  });
});

describe("optional auth on /sd and /metrics", () => {
  it("requires the bearer token, leaves health endpoints open", async () => {
    const metrics = createSelfMetrics({ defaults: false });
    const auth = createAuthCheck({ bearerToken: "t0ken" })!;
    const app = createApp({
      discovery: { snapshot: () => snap, status: () => [] },
      registry: metrics.registry,
      auth,
    });
    const s = await listen(app, "127.0.0.1", 0);
    const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    try {
      const denied = await fetch(`${url}/sd`);
      expect(denied.status).toBe(401);
      expect(denied.headers.get("www-authenticate")).toMatch(/^Bearer realm=/);
      expect(await denied.json()).toEqual({ error: "missing or wrong credentials" });
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      expect((await fetch(`${url}/sd`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
      expect((await fetch(`${url}/sd`, { headers: { authorization: "Bearer t0ken" } })).status).toBe(200);
      expect((await fetch(`${url}/metrics`, { headers: { authorization: "Bearer t0ken" } })).status).toBe(
        200,
      );
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  it("basic auth", () => {
    const check = createAuthCheck({ basicUser: "prom", basicPassword: "pw" })!;
    expect(check(`Basic ${Buffer.from("prom:pw").toString("base64")}`)).toBe(true);
    expect(check(`Basic ${Buffer.from("prom:px").toString("base64")}`)).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(createAuthCheck({})).toBeUndefined();
  });
});

describe("content negotiation", () => {
  it("gzip only when accepted with q > 0, and one ETag per representation", async () => {
    const body = await renderSdBody(targets);
    expect(acceptsGzip("gzip")).toBe(true);
    expect(acceptsGzip("br, gzip;q=0.5")).toBe(true);
    expect(acceptsGzip("gzip;q=0")).toBe(false);
    expect(acceptsGzip("*")).toBe(true);
    expect(acceptsGzip("*;q=0")).toBe(false);
    expect(acceptsGzip("gzip;q=0, *")).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
    const zipped = negotiateSd(body, { acceptEncoding: "gzip" });
    const plain = negotiateSd(body, { acceptEncoding: "identity" });
    expect(zipped.headers["Content-Encoding"]).toBe("gzip");
    expect(plain.headers).not.toHaveProperty("Content-Encoding");
    expect(zipped.headers.ETag).not.toBe(plain.headers.ETag);
    // A cached identity body never validates a gzip request, and the reverse.
    expect(negotiateSd(body, { acceptEncoding: "gzip", ifNoneMatch: plain.headers.ETag }).status).toBe(200);
    expect(
      negotiateSd(body, { acceptEncoding: "gzip", ifNoneMatch: `"x", ${zipped.headers.ETag}` }).status,
    ).toBe(304);
  });
});

it("a cluster filter given as an ARN matches the cluster's targets", () => {
  const f = parseFilter({ cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/prod" });
  expect([...f.cluster!]).toEqual(["prod"]);
  expect(JSON.parse(renderSd(targets, f).json.toString())).toHaveLength(1);
});

/** `n` targets over 5 clusters and 50 services, with labels of a realistic size. */
function manyTargets(n: number): DiscoveredTarget[] {
  return Array.from({ length: n }, (_, i) => ({
    source: "ecs" as const,
    cluster: `c${i % 5}`,
    service: `s${i % 50}`,
    group: {
      targets: [`10.0.${(i >> 8) & 255}.${i & 255}:9100`],
      labels: {
        __meta_ecs_cluster: `c${i % 5}`,
        __meta_ecs_task_arn: `arn:aws:ecs:::task/c/${"a".repeat(32)}${i}`,
      },
    },
  }));
}

describe("rendering in slices", () => {
  it("renderSdBody gives the bytes of JSON.stringify, the same ETag as renderSd, and a valid gzip", async () => {
    for (const n of [0, 1, 499, 500, 501, 1000, 1234]) {
      const list = manyTargets(n);
      const body = await renderSdBody(list, parseFilter({}));
      const groups = list.map((t) => ({ targets: t.group.targets, labels: t.group.labels }));
      expect(body.json.toString(), String(n)).toBe(JSON.stringify(groups));
      expect(body.count).toBe(n);
      expect(body.etag).toBe(renderSd(list).etag);
      expect(gunzipSync(body.gzip).equals(body.json)).toBe(true);
      const filtered = await renderSdBody(list, parseFilter({ cluster: "c1,c2" }));
      expect(filtered.json.toString()).toBe(
        JSON.stringify(groups.filter((_, i) => i % 5 === 1 || i % 5 === 2)),
      );
    }
  });

  it("lets other callbacks run between slices of a large render", async () => {
    const list = manyTargets(3000);
    let ticks = 0;
    let rendering = true;
    const tick = () => {
      ticks++;
      if (rendering) setImmediate(tick);
    };
    setImmediate(tick);
    await renderSdBody(list);
    rendering = false;
    // 3,000 groups are 6 slices: the event loop turned between them.
    expect(ticks).toBeGreaterThanOrEqual(5);
  });
});

describe("SdCache", () => {
  it("normalised filters share one entry: order, duplicates and cluster ARNs do not matter", () => {
    const keys = [
      { cluster: "a,b", service: "x" },
      { service: "x", cluster: "b,a" },
      { cluster: ["b", "a", "b"], service: "x,x" },
      { cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/a,b", service: "x" },
    ].map((q) => filterKey(parseFilter(q)));
    expect(new Set(keys).size).toBe(1);
    expect(filterKey(parseFilter({ cluster: "a" }))).not.toBe(keys[0]);
  });

  it("one render per snapshot and filter, shared by concurrent requests; a new snapshot renders again", async () => {
    const list = manyTargets(100);
    const cache = new SdCache();
    const f = parseFilter({ cluster: "c1" });
    const [a, b] = await Promise.all([
      cache.get(1, list, f),
      cache.get(1, list, parseFilter({ cluster: "c1,c1" })),
    ]);
    expect(a).toBe(b);
    expect(await cache.get(1, list, f)).toBe(a);
    const unfiltered = await cache.get(1, list, {});
    expect(await cache.get(1, list, parseFilter({}))).toBe(unfiltered);
    const withoutOne = list.filter((_, i) => i !== 1);
    const next = await cache.get(2, withoutOne, f);
    expect(next).not.toBe(a);
    expect(next.count).toBe(a.count - 1);
    expect(await cache.get(2, withoutOne, {})).not.toBe(unfiltered);
  });

  it("filtered bodies stay within the byte budget whatever the number of distinct filters", async () => {
    const list = manyTargets(2000);
    const budget = 64 * 1024;
    const cache = new SdCache(budget);
    const unfiltered = await cache.get(1, list, {});
    expect(unfiltered.json.length).toBeGreaterThan(budget);
    const services = Array.from({ length: 50 }, (_, i) => `s${i}`);
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      // Distinct filters, each a different set of services.
      const pick = services.filter((_, j) => (i >> (j % 9)) & 1 || j === i % 50);
      const f = parseFilter({ service: pick.join(","), cluster: `c${i % 5}` });
      seen.add(filterKey(f));
      const body = await cache.get(1, list, f);
      expect(body.count).toBe(
        list.filter((t) => f.service!.has(t.service!) && t.cluster === `c${i % 5}`).length,
      );
      expect(cache.filteredBytes).toBeLessThanOrEqual(budget);
    }
    expect(seen.size).toBeGreaterThan(100);
    // The unfiltered body is kept for the snapshot, outside the budget.
    expect(await cache.get(1, list, {})).toBe(unfiltered);
    // A body larger than the whole budget is served but not kept.
    const big = parseFilter({ cluster: "c0,c1,c2,c3,c4" });
    expect((await cache.get(1, list, big)).count).toBe(2000);
    expect(cache.filteredBytes).toBeLessThanOrEqual(budget);
  });
});
