// GET /sd on the Lambda: the service's http_sd list (same code, same bytes), and mode=redirect.
import type { Server } from "node:http";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSelfMetrics } from "../../core/metrics.js";
import { createApp, listen } from "../../core/server.js";
import { StubDiscovery, json, targetsOf, testApp, type LambdaResult } from "./lambda-fixtures.js";

const PUBLIC = { BRIDGE_LAMBDA_PUBLIC_URL: "https://abcdefgh.lambda-url.eu-west-1.on.aws" };
type Group = { targets: string[]; labels: Record<string, string> };
const groups = (r: LambdaResult) => json(r) as unknown as Group[];

describe("/sd is the service's http_sd list", () => {
  let server: Server;
  let base: string;
  const stub = new StubDiscovery();
  beforeAll(async () => {
    const app = createApp({ discovery: stub, registry: createSelfMetrics({ defaults: false }).registry });
    server = await listen(app, "127.0.0.1", 0);
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("same bytes and ETag as the service for the same targets, with and without filters", async () => {
    const app = testApp({}, stub);
    for (const q of [
      "",
      "?cluster=prod",
      "?service=api,multi",
      "?source=ecs&cluster=staging",
      "?service=none",
    ]) {
      const lambda = await app.run(`/sd${q}`);
      // Same representation on both sides: the ETag differs between gzip and identity bytes.
      const service = await fetch(`${base}/sd${q}`, { headers: { "accept-encoding": "identity" } });
      expect(lambda.statusCode, q).toBe(200);
      expect(lambda.body, q).toBe(await service.text());
      expect(lambda.headers.etag).toBe(service.headers.get("etag"));
      expect(lambda.headers["content-type"]).toBe(service.headers.get("content-type"));
    }
    expect(groups(await app.run("/sd"))).toHaveLength(targetsOf().length);
  });

  it("same 400s as the service for bad filters", async () => {
    const app = testApp({}, stub);
    for (const q of ["?bogus=1", "?source=k8s", "?cluster=a%20b"]) {
      const lambda = await app.run(`/sd${q}`);
      const service = await fetch(`${base}/sd${q}`);
      expect(lambda.statusCode, q).toBe(400);
      expect(service.status).toBe(400);
      expect(json(lambda).error).toBe(((await service.json()) as { error: string }).error);
    }
  });

  it("while Cloud Map is not ready: same 503/200 as the service per source filter", async () => {
    const partial = new StubDiscovery();
    partial.snap = { ...partial.snap, ready: false, readySources: ["ecs"] };
    const svc = createApp({ discovery: partial, registry: createSelfMetrics({ defaults: false }).registry });
    const s = await listen(svc, "127.0.0.1", 0);
    const url = `http://127.0.0.1:${(s.address() as { port: number }).port}`;
    try {
      const app = testApp({}, partial);
      const expected: [string, number][] = [
        ["", 503],
        ["?source=cloudmap", 503],
        ["?source=ecs,cloudmap", 503],
        ["?source=ecs", 200],
        ["?source=ecs&cluster=prod", 200],
      ];
      for (const [q, status] of expected) {
        const lambda = await app.run(`/sd${q}`);
        const service = await fetch(`${url}/sd${q}`);
        expect(service.status, q).toBe(status);
        expect(lambda.statusCode, q).toBe(status);
        if (status === 200) expect(lambda.body, q).toBe(await service.text());
      }
      // The redirect-mode list holds only ECS tasks: it needs only ECS.
      const r = await testApp(PUBLIC, partial).run("/sd?mode=redirect");
      expect(r.statusCode).toBe(200);
      expect(groups(r)).toHaveLength(targetsOf().length);
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  it("gzip when accepted (base64 body), 304 on a matching If-None-Match", async () => {
    const app = testApp({}, stub);
    const plain = await app.run("/sd");
    const gz = await app.run({ url: "/sd", headers: { "accept-encoding": "gzip, deflate" } });
    expect(gz.isBase64Encoded).toBe(true);
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(Buffer.from(gz.body, "base64")).toString()).toBe(plain.body);
    const again = await app.run({ url: "/sd", headers: { "if-none-match": plain.headers.etag! } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe("");
  });
});

describe("/sd?mode=redirect: targets are the function URL itself", () => {
  it("one group per task endpoint, pointing at lambda.publicUrl with __param_* labels", async () => {
    const app = testApp(PUBLIC);
    const r = await app.run("/sd?mode=redirect&cluster=prod&service=api");
    expect(r.statusCode).toBe(200);
    const list = groups(r);
    expect(list).toHaveLength(3);
    list.forEach((g, i) => {
      expect(g.targets).toEqual(["abcdefgh.lambda-url.eu-west-1.on.aws"]);
      expect(g.labels).toMatchObject({
        __scheme__: "https",
        __metrics_path__: "/targets",
        __param_cluster: "prod",
        __param_service: "api",
        __param_index: String(i),
        __meta_ecs_service: "api",
        instance: `prod/api/${i}`,
      });
      expect(g.labels).not.toHaveProperty("__param_port");
    });
  });

  it("every redirect target, scraped, is redirected to the task it describes", async () => {
    const app = testApp(PUBLIC);
    const list = groups(await app.run("/sd?mode=redirect"));
    expect(list).toHaveLength(targetsOf().length);
    const multi = list.filter((g) => g.labels.__param_service === "multi");
    expect(multi.map((g) => g.labels.__param_port)).toEqual(["8080", "8080", "9901"]);
    expect(multi.map((g) => g.labels.__param_path)).toEqual(["/metrics", "/internal/metrics", undefined]);
    expect(multi.map((g) => g.labels.instance)).toEqual([
      "prod/multi/0/app:8080/metrics",
      "prod/multi/0/app:8080/internal/metrics",
      "prod/multi/0/envoy:9901",
    ]);
    const standalone = list.find((g) => g.labels.__meta_ecs_task_group === "family:batch");
    expect(standalone?.labels.__param_task).toMatch(/task\/prod\/s0s0s0$/);
    expect(standalone?.labels.instance).toBe("prod/task/s0s0s0");
    // Distinct instances: series of different slots never collide.
    expect(new Set(list.map((g) => g.labels.instance)).size).toBe(list.length);
    for (const g of list) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(g.labels))
        if (k.startsWith("__param_")) params.set(k.slice("__param_".length), v);
      const res = await app.run(`${g.labels.__metrics_path__}?${params}`);
      expect(res.statusCode, params.toString()).toBe(308);
      const url = new URL(res.headers.location!);
      expect(url.hostname).toBe(g.labels.__meta_ecs_ip_address);
      expect(url.port).toBe(g.labels.__meta_ecs_container_port);
    }
  });

  it("the host comes from configuration, never from Host or X-Forwarded-Host", async () => {
    const app = testApp(PUBLIC);
    const r = await app.run({
      url: "/sd?mode=redirect",
      headers: { host: "evil.example", "x-forwarded-host": "evil.example", forwarded: "host=evil.example" },
    });
    for (const g of groups(r)) expect(g.targets).toEqual(["abcdefgh.lambda-url.eu-west-1.on.aws"]);
  });

  it("a path prefix in lambda.publicUrl is kept (custom domain behind a proxy)", async () => {
    const app = testApp({ BRIDGE_LAMBDA_PUBLIC_URL: "http://127.0.0.1:8080/bridge/" });
    const [g] = groups(await app.run("/sd?mode=redirect&service=api"));
    expect(g!.targets).toEqual(["127.0.0.1:8080"]);
    expect(g!.labels.__scheme__).toBe("http");
    expect(g!.labels.__metrics_path__).toBe("/bridge/targets");
  });

  it("without lambda.publicUrl -> 500 naming the setting; unknown mode -> 400", async () => {
    const app = testApp();
    const r = await app.run("/sd?mode=redirect");
    expect(r.statusCode).toBe(500);
    expect(json(r).error).toMatch(/BRIDGE_LAMBDA_PUBLIC_URL/);
    expect((await testApp(PUBLIC).run("/sd?mode=proxy")).statusCode).toBe(400);
  });
});
