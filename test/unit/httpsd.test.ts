import { gunzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSelfMetrics } from "../../core/metrics.js";
import { createApp } from "../../core/server.js";
import { createAuthCheck } from "../../core/auth.js";
import type { DiscoveredTarget } from "../../sd/model.js";
import type { Snapshot } from "../../sd/refresh.js";
import { acceptsGzip, negotiateSd, parseFilter, renderSd } from "../../sd/httpsd.js";

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
  server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
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

  it("is deterministic: same snapshot, same bytes", () => {
    const a = renderSd(targets);
    const b = renderSd([...targets]);
    expect(a.json.equals(b.json)).toBe(true);
    expect(gunzipSync(a.gzip).equals(a.json)).toBe(true);
    expect(renderSd([]).json.toString()).toBe("[]");
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

  it("parseFilter keeps extra parameters another layer owns", () => {
    expect(parseFilter({ secret: "x", cluster: "a" }, ["secret"]).cluster).toEqual(new Set(["a"]));
    expect(() => parseFilter({ secret: "x" })).toThrow(/unknown query parameter "secret"/);
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
    const s = app.listen(0, "127.0.0.1");
    await new Promise((r) => s.once("listening", r));
    const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    try {
      expect((await fetch(`${url}/sd`)).status).toBe(401);
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
  it("gzip only when accepted with q > 0, and one ETag per representation", () => {
    const body = renderSd(targets);
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
