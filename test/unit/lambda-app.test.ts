// The Lambda app through api.run with function URL (payload 2.0), API Gateway v1 and ALB events.
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../cmd/config.js";
import { silentLogger } from "../../core/log.js";
import { createLambdaApi } from "../../lambda/app.js";
import { functionUrlEvent } from "../../lambda/events.js";
import { OnDemandDiscovery } from "../../lambda/freshness.js";
import { testConfig } from "../helpers/config.js";
import { ACCOUNT, REGION, taskArn } from "../helpers/ecs-fixtures.js";
import { StubDiscovery, json, testApp, type LambdaResult } from "./lambda-fixtures.js";

const loc = (r: LambdaResult) => r.headers.location;

describe("redirect routes", () => {
  it("path form: index counts the service's tasks in task ARN order, 308 to ip:port/path", async () => {
    const app = testApp();
    const got = [];
    for (const i of [0, 1, 2]) {
      const r = await app.run(`/targets/prod/api/${i}`);
      expect(r.statusCode).toBe(308);
      expect(r.headers["cache-control"]).toBe("no-store");
      expect(json(r).location).toBe(loc(r));
      got.push(loc(r));
    }
    // Task ids a1a1a1 < b2b2b2 < c3c3c3 carry IPs .3, .2, .1.
    expect(got).toEqual([
      "http://10.0.0.3:9100/metrics",
      "http://10.0.0.2:9100/metrics",
      "http://10.0.0.1:9100/metrics",
    ]);
  });

  it("query form with cluster name or ARN, and a trailing slash", async () => {
    const app = testApp();
    const r = await app.run("/targets?cluster=prod&service=api&index=1");
    expect(r.statusCode).toBe(308);
    expect(loc(r)).toBe("http://10.0.0.2:9100/metrics");
    const arn = encodeURIComponent(`arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prod`);
    const byArn = await app.run(`/targets/?cluster=${arn}&service=api&index=1`);
    expect(loc(byArn)).toBe("http://10.0.0.2:9100/metrics");
  });

  it("selects by task id or task ARN, including standalone tasks", async () => {
    const app = testApp();
    expect(loc(await app.run("/targets?task=b2b2b2"))).toBe("http://10.0.0.2:9100/metrics");
    const arn = encodeURIComponent(taskArn("c3c3c3"));
    expect(loc(await app.run(`/targets?task=${arn}`))).toBe("http://10.0.0.1:9100/metrics");
    expect(loc(await app.run("/targets?task=s0s0s0"))).toBe("http://10.0.2.1:9091/metrics");
  });

  it("clusters are separate: the same service name elsewhere has its own indexes", async () => {
    const app = testApp();
    expect(loc(await app.run("/targets/staging/api/0"))).toBe("http://10.1.0.1:9100/metrics");
    expect((await app.run("/targets/staging/api/1")).statusCode).toBe(404);
  });

  it("a task with several endpoints: first by container, port, path; port/path/container narrow it", async () => {
    const app = testApp();
    expect(loc(await app.run("/targets/prod/multi/0"))).toBe("http://10.0.1.1:8080/metrics");
    expect(loc(await app.run("/targets/prod/multi/0?port=9901"))).toBe(
      "https://10.0.1.1:9901/stats/prometheus",
    );
    expect(loc(await app.run("/targets/prod/multi/0?container=envoy"))).toBe(
      "https://10.0.1.1:9901/stats/prometheus",
    );
    expect(loc(await app.run("/targets/prod/multi/0/internal/metrics"))).toBe(
      "http://10.0.1.1:8080/internal/metrics",
    );
    expect(loc(await app.run("/targets?cluster=prod&service=multi&index=0&path=/internal/metrics"))).toBe(
      "http://10.0.1.1:8080/internal/metrics",
    );
  });

  it("port/path that the task does not declare -> 400 listing the declared endpoints", async () => {
    const app = testApp();
    for (const url of [
      "/targets/prod/multi/0?port=22",
      "/targets/prod/multi/0/etc/passwd",
      "/targets/prod/api/0?path=/admin",
      "/targets/prod/multi/0?container=envoy&port=8080",
    ]) {
      const r = await app.run(url);
      expect(r.statusCode, url).toBe(400);
      expect(r.headers.location).toBeUndefined();
      expect(json(r).declared).toBeInstanceOf(Array);
    }
  });

  it("forwards the scrape's own query parameters (repeated keys kept), never ours or the secret", async () => {
    const app = testApp({ BRIDGE_LAMBDA_SHARED_SECRET: "s3cret" });
    const r = await app.run(
      "/targets/prod/api/0?match[]=up&match[]=go_info&module=http_2xx&secret=s3cret&port=9100",
    );
    expect(r.statusCode).toBe(308);
    const url = new URL(loc(r)!);
    expect(url.origin).toBe("http://10.0.0.3:9100");
    expect(url.searchParams.getAll("match[]")).toEqual(["up", "go_info"]);
    expect(url.searchParams.get("module")).toBe("http_2xx");
    expect(url.searchParams.has("secret")).toBe(false);
    expect(url.searchParams.has("port")).toBe(false);
  });

  it("accepts a verbatim function URL event (AWS documentation shape)", async () => {
    const app = testApp();
    const r = await app.runEvent({
      version: "2.0",
      routeKey: "$default",
      rawPath: "/targets",
      rawQueryString: "cluster=prod&service=api&index=2&match[]=a&match[]=b",
      cookies: ["cookie1", "cookie2"],
      headers: { "user-agent": "Prometheus/2.42.0", accept: "text/plain", "x-amzn-trace-id": "Root=1-5e" },
      queryStringParameters: { cluster: "prod", service: "api", index: "2", "match[]": "a,b" },
      requestContext: {
        accountId: "123456789012",
        apiId: "abcdefghij",
        domainName: "abcdefghij.lambda-url.us-west-2.on.aws",
        domainPrefix: "abcdefghij",
        http: {
          method: "GET",
          path: "/targets",
          protocol: "HTTP/1.1",
          sourceIp: "123.123.123.123",
          userAgent: "Prometheus/2.42.0",
        },
        requestId: "id",
        routeKey: "$default",
        stage: "$default",
        time: "12/Mar/2020:19:03:58 +0000",
        timeEpoch: 1583348638390,
      },
      isBase64Encoded: false,
    } as never);
    expect(r.statusCode).toBe(308);
    expect(loc(r)).toBe("http://10.0.0.1:9100/metrics?match%5B%5D=a&match%5B%5D=b");
  });

  it("API Gateway v1 and ALB events work too", async () => {
    const app = testApp();
    const v1 = await app.runEvent({
      resource: "/{proxy+}",
      path: "/targets",
      httpMethod: "GET",
      headers: { Host: "x.execute-api.us-east-1.amazonaws.com" },
      multiValueHeaders: { Host: ["x.execute-api.us-east-1.amazonaws.com"] },
      queryStringParameters: { cluster: "prod", service: "api", index: "0" },
      multiValueQueryStringParameters: { cluster: ["prod"], service: ["api"], index: ["0"], q: ["a b"] },
      pathParameters: null,
      stageVariables: null,
      requestContext: { stage: "prod", identity: { sourceIp: "1.2.3.4" } },
      body: null,
      isBase64Encoded: false,
    } as never);
    expect(v1.statusCode).toBe(308);
    // A v1 event with multiValueHeaders gets multiValueHeaders back.
    const v1Headers = (v1 as unknown as { multiValueHeaders: Record<string, string[]> }).multiValueHeaders;
    expect(v1Headers.location).toEqual(["http://10.0.0.3:9100/metrics?q=a+b"]);
    const alb = await app.runEvent({
      requestContext: { elb: { targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1" } },
      httpMethod: "GET",
      path: "/targets/prod/api/1",
      queryStringParameters: { "match%5B%5D": "up%7Bjob%3D%22x%22%7D" },
      headers: { host: "alb.example.com" },
      body: "",
      isBase64Encoded: false,
    } as never);
    expect(alb.statusCode).toBe(308);
    expect((alb as unknown as { statusDescription: string }).statusDescription).toBe(
      "308 Permanent Redirect",
    );
    expect(new URL(loc(alb)!).searchParams.get("match[]")).toBe('up{job="x"}');
  });
});

describe("inputs lambda-api cannot parse", () => {
  it("a malformed cookie does not break the request: the app reads no cookies", async () => {
    const app = testApp();
    // Function URL: cookies split out of the headers; API Gateway v1: the Cookie header.
    const r = await app.run({ url: "/targets/prod/api/0", headers: { cookie: "theme=dark; q=100%zz" } });
    expect(r.statusCode).toBe(308);
    expect(loc(r)).toBe("http://10.0.0.3:9100/metrics");
    const v1 = await app.runEvent({
      path: "/targets/prod/api/1",
      httpMethod: "GET",
      headers: { Cookie: "q=%E0%A4%A" },
      multiValueHeaders: { Cookie: ["q=%E0%A4%A"] },
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      requestContext: { stage: "prod", identity: { sourceIp: "1.2.3.4" } },
      body: null,
      isBase64Encoded: false,
    } as never);
    expect(v1.statusCode).toBe(308);
  });

  it("bad percent-encoding in an ALB query string -> 400 JSON, not a 500", async () => {
    const app = testApp();
    const r = await app.runEvent({
      requestContext: { elb: { targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1" } },
      httpMethod: "GET",
      path: "/targets/prod/api/0",
      multiValueQueryStringParameters: { q: ["100%zz"] },
      multiValueHeaders: { host: ["alb.example.com"] },
      body: "",
      isBase64Encoded: false,
    } as never);
    expect(r.statusCode).toBe(400);
    const headers = (r as unknown as { multiValueHeaders: Record<string, string[]> }).multiValueHeaders;
    expect(headers["content-type"]).toEqual(["application/json"]);
    expect(json(r).error).toMatch(/percent-encoding/);
  });

  it("query keys named like Object.prototype members -> 400 JSON naming the key, never 500", async () => {
    const app = testApp();
    for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"])
      for (const url of [
        `/sd?${key}=1`,
        `/sd?mode=redirect&${key}=x`,
        `/sd?cluster=prod&${key}=1&${key}=2`,
      ]) {
        const r = await app.run(url);
        expect(r.statusCode, url).toBe(400);
        expect(json(r), url).toEqual({ error: expect.stringContaining(`"${key}"`), param: key });
      }
    // The same keys are plain parameters forwarded to the task on the redirect routes.
    const r = await app.run("/targets/prod/api/0?constructor=1&__proto__=2");
    expect(r.statusCode).toBe(308);
    expect(loc(r)).toBe("http://10.0.0.3:9100/metrics?constructor=1&__proto__=2");
  });
});

describe("errors", () => {
  it("index past the running count -> 404 with a JSON reason", async () => {
    const app = testApp();
    const r = await app.run("/targets/prod/api/3");
    expect(r.statusCode).toBe(404);
    expect(json(r)).toMatchObject({ running: 3 });
    expect(r.headers.location).toBeUndefined();
    const none = await app.run("/targets?cluster=prod&service=nosuch&index=0");
    expect(none.statusCode).toBe(404);
    expect(json(none)).toMatchObject({ running: 0 });
    expect((await app.run("/targets?task=ffffff")).statusCode).toBe(404);
  });

  it("bad parameters -> 400 JSON naming the parameter, without calling AWS", async () => {
    const app = testApp();
    const cases: [string, string][] = [
      ["/targets/prod/api/-1", "index"],
      ["/targets/prod/api/01", "index"],
      ["/targets/prod/api/x", "index"],
      ["/targets/pr%zz/api/0", "cluster"],
      ["/targets/prod!/api/0", "cluster"],
      ["/targets?cluster=prod&service=api", "index"],
      ["/targets?cluster=prod&service=api&index=0&index=1", "index"],
      ["/targets?task=abc&cluster=prod", "task"],
      ["/targets?task=../../x", "task"],
      ["/targets/prod/api/0?index=1", "index"],
      ["/targets/prod/api/0?port=70000", "port"],
      ["/targets/prod/api/0?port=0", "port"],
      ["/targets/prod/api/0/metrics?path=/metrics", "path"],
      ["/targets/prod/api/0?path=metrics", "path"],
      ["/targets?cluster=prod&service=a%20b&index=0", "service"],
    ];
    for (const [url, param] of cases) {
      const r = await app.run(url);
      expect(r.statusCode, url).toBe(400);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(json(r).param, url).toBe(param);
      expect(typeof json(r).error).toBe("string");
    }
    expect(app.stub.refreshes).toBe(0);
  });

  it("first discovery not successful -> 503 with the reason and Retry-After", async () => {
    const stub = new StubDiscovery([], false);
    stub.units = [
      {
        source: "ecs",
        unit: "default/us-east-1/prod",
        ok: false,
        targets: 0,
        lastError: "AccessDeniedException: no",
      },
    ];
    const app = testApp({}, stub);
    for (const url of ["/targets/prod/api/0", "/targets?task=a1a1a1", "/sd"]) {
      const r = await app.run(url);
      expect(r.statusCode, url).toBe(503);
      expect(r.headers["retry-after"]).toBe("5");
      expect(json(r).failures).toEqual([
        { unit: "default/us-east-1/prod", error: "AccessDeniedException: no" },
      ]);
    }
  });

  it("index past the count while the cluster's refresh fails -> 503, not 404 (the task may exist)", async () => {
    const stub = new StubDiscovery();
    stub.units = [
      {
        source: "ecs",
        unit: "default/us-east-1/prod",
        ok: false,
        targets: 3,
        lastError: "ThrottlingException: slow",
      },
    ];
    const app = testApp({}, stub);
    expect((await app.run("/targets/prod/api/3")).statusCode).toBe(503);
    // Last-good targets still redirect; another cluster's 404 is unaffected.
    expect((await app.run("/targets/prod/api/0")).statusCode).toBe(308);
    expect((await app.run("/targets/staging/api/1")).statusCode).toBe(404);
  });

  it("index past the count while ECS cluster listing fails (no unit marked failing) -> 503 with a reason", async () => {
    const stub = new StubDiscovery();
    stub.failed = [{ source: "ecs", scope: "default/us-east-1/" }];
    const app = testApp({}, stub);
    for (const url of ["/targets/prod/api/3", "/targets/newcluster/api/0", "/targets?task=ffffff"]) {
      const r = await app.run(url);
      expect(r.statusCode, url).toBe(503);
      expect(json(r).failures, url).toEqual([
        { unit: "default/us-east-1", error: expect.stringMatching(/^ecs: listing failed/) },
      ]);
    }
    expect((await app.run("/targets/prod/api/0")).statusCode).toBe(308);
  });

  it("only ECS failures turn a missing task into a 503: Cloud Map failures leave the 404", async () => {
    const stub = new StubDiscovery();
    stub.failed = [{ source: "cloudmap", scope: "default/us-east-1/" }];
    stub.units = [
      { source: "cloudmap", unit: "default/us-east-1/prod", ok: false, targets: 0, lastError: "Denied: no" },
    ];
    const app = testApp({}, stub);
    for (const url of ["/targets/prod/api/3", "/targets?task=ffffff"])
      expect((await app.run(url)).statusCode, url).toBe(404);
  });

  it("redirects need only the ECS source ready, not a Cloud Map source that never succeeds", async () => {
    const stub = new StubDiscovery();
    stub.snap = { ...stub.snap, ready: false, readySources: ["ecs"] };
    const app = testApp({}, stub);
    expect((await app.run("/targets/prod/api/0")).statusCode).toBe(308);
    expect((await app.run("/targets?task=a1a1a1")).statusCode).toBe(308);
    stub.snap = { ...stub.snap, readySources: ["cloudmap"] };
    expect((await testApp({}, stub).run("/targets/prod/api/0")).statusCode).toBe(503);
  });

  it("unknown routes -> 404 JSON, other methods -> 405", async () => {
    const app = testApp();
    const r = await app.run("/metrics");
    expect(r.statusCode).toBe(404);
    expect(json(r).error).toMatch(/not found/);
    const post = await app.run({ method: "POST", url: "/targets/prod/api/0", body: "x" });
    expect(post.statusCode).toBe(405);
  });
});

describe("shared secret", () => {
  const SECRET = { BRIDGE_LAMBDA_SHARED_SECRET: "s3cret-value" };

  it("without a configured secret every route is open", async () => {
    expect((await testApp().run("/targets/prod/api/0")).statusCode).toBe(308);
  });

  it("required on every route but /healthz: header, Bearer or ?secret=", async () => {
    const app = testApp(SECRET);
    for (const url of ["/targets/prod/api/0", "/targets?cluster=prod&service=api&index=0", "/sd"]) {
      const r = await app.run(url);
      expect(r.statusCode, url).toBe(401);
      expect(r.headers.location).toBeUndefined();
      expect(r.body).not.toContain("s3cret");
    }
    expect((await app.run("/healthz")).statusCode).toBe(200);
    const header = await app.run({
      url: "/targets/prod/api/0",
      headers: { "X-Bridge-Secret": "s3cret-value" },
    });
    expect(header.statusCode).toBe(308);
    const bearer = await app.run({ url: "/sd", headers: { Authorization: "Bearer s3cret-value" } });
    expect(bearer.statusCode).toBe(200);
    const query = await app.run("/targets/prod/api/0?secret=s3cret-value");
    expect(query.statusCode).toBe(308);
    expect(loc(query)).toBe("http://10.0.0.3:9100/metrics");
    expect(app.stub.refreshes).toBe(1);
  });

  it("wrong or partial secrets are refused before discovery runs", async () => {
    const app = testApp(SECRET);
    for (const h of [
      { "x-bridge-secret": "s3cret" },
      { "x-bridge-secret": "s3cret-value " },
      { authorization: "Basic s3cret-value" },
      { authorization: "Bearer S3CRET-VALUE" },
    ]) {
      const r = await app.run({ url: "/targets/prod/api/0", headers: h });
      expect(r.statusCode, JSON.stringify(h)).toBe(401);
    }
    expect((await app.run("/targets/prod/api/0?secret=")).statusCode).toBe(401);
    expect(app.stub.refreshes).toBe(0);
  });
});

describe("discovery cache", () => {
  it("refreshes on the first request, then only when older than lambda.cacheSeconds", async () => {
    let now = 1_000_000;
    const app = testApp({ BRIDGE_LAMBDA_CACHE_SECONDS: "10" }, new StubDiscovery(), () => now);
    await app.run("/targets/prod/api/0");
    expect(app.stub.refreshes).toBe(1);
    now += 9_999;
    await app.run("/targets/prod/api/1");
    await app.run("/sd");
    expect(app.stub.refreshes).toBe(1);
    now += 1;
    await app.run("/targets/prod/api/0");
    expect(app.stub.refreshes).toBe(2);
  });

  it("concurrent callers share one refresh", async () => {
    const stub = new StubDiscovery();
    let release!: () => void;
    stub.refreshOnce = () => {
      stub.refreshes++;
      return new Promise<void>((r) => (release = r));
    };
    const d = new OnDemandDiscovery(stub, 5000, { now: () => 0 });
    const a = d.current();
    const b = d.current();
    release();
    await Promise.all([a, b]);
    expect(stub.refreshes).toBe(1);
  });

  /** A Discovery whose refreshes finish only when the test says so, and count themselves. */
  function gatedStub(ready = true) {
    const stub = new StubDiscovery(undefined, ready);
    const gates: (() => void)[] = [];
    stub.refreshOnce = () => {
      stub.refreshes++;
      return new Promise<void>((r) => gates.push(r));
    };
    /** Lets the running refresh end; one that succeeds leaves the snapshot ready. */
    const finish = async (d: OnDemandDiscovery, succeeds = true) => {
      while (gates.length === 0) await new Promise((r) => setImmediate(r));
      if (succeeds) stub.snap = { ...stub.snap, ready: true };
      gates.splice(0).forEach((open) => open());
      await d.idle();
    };
    return { stub, finish };
  }

  it("a stale snapshot is served at once while one background refresh runs; bursts make one per period", async () => {
    let now = 0;
    const { stub, finish } = gatedStub(false);
    const d = new OnDemandDiscovery(stub, 10_000, { now: () => now });
    // Cold start: the first request waits for the first refresh.
    let first = false;
    const cold = d.current().then(() => (first = true));
    await Promise.resolve();
    expect(first).toBe(false);
    await finish(d);
    await cold;
    expect(stub.refreshes).toBe(1);

    for (let period = 1; period <= 3; period++) {
      now = period * 10_000;
      // A burst while the refresh it started is still running: every request is answered (from the last
      // snapshot) without waiting, and the burst starts exactly one refresh.
      const version = stub.snap.version;
      const answers = await Promise.all(Array.from({ length: 50 }, () => d.current()));
      for (const a of answers) expect(a.version).toBe(version);
      expect(stub.refreshes).toBe(1 + period);
      stub.snap = { ...stub.snap, version: version + 1 };
      await finish(d);
      // Within the same period, even after the refresh ended, nothing more is refreshed.
      now += 9_999;
      await Promise.all(Array.from({ length: 50 }, () => d.current()));
      expect(stub.refreshes).toBe(1 + period);
      expect((await d.current()).version).toBe(version + 1);
    }
  });

  it("through the app: requests within a period never refresh twice, and a burst never waits on AWS", async () => {
    let now = 0;
    const { stub, finish } = gatedStub(false);
    const config = testConfig({ BRIDGE_LAMBDA_CACHE_SECONDS: "5" });
    const d = new OnDemandDiscovery(stub, config.lambda.cacheSeconds * 1000, { now: () => now });
    const api = createLambdaApi({ config, discovery: d, logger: silentLogger });
    const run = (url: string) =>
      api.run(functionUrlEvent({ url }) as never, {} as never) as Promise<LambdaResult>;
    const cold = run("/sd");
    await finish(d);
    expect((await cold).statusCode).toBe(200);
    now = 60_000;
    // The refresh this burst starts never finishes during it: the answers come from the last snapshot.
    const urls = ["/sd", "/targets/prod/api/0", "/sd?cluster=prod", "/targets?task=s0s0s0"];
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => run(urls[i % urls.length]!)));
    for (const r of burst) expect([200, 308]).toContain(r.statusCode);
    expect(stub.refreshes).toBe(2);
    await finish(d);
  });

  it("while nothing has ever been discovered, a due refresh is awaited so the 503 carries its reasons", async () => {
    let now = 0;
    const { stub, finish } = gatedStub(false);
    const d = new OnDemandDiscovery(stub, 1_000, { now: () => now });
    const a = d.current();
    await finish(d, false);
    expect((await a).ready).toBe(false);
    // Within the period: answered from the not-ready snapshot, no refresh.
    await d.current();
    expect(stub.refreshes).toBe(1);
    now = 1_000;
    let answered = false;
    const b = d.current().then(() => (answered = true));
    await Promise.resolve();
    expect(answered).toBe(false);
    await finish(d);
    await b;
    expect(stub.refreshes).toBe(2);
  });

  it("a first refresh that AWS never answers is awaited only while the invocation has time: then 503", async () => {
    const { stub, finish } = gatedStub(false);
    const config = testConfig({ BRIDGE_LAMBDA_CACHE_SECONDS: "5" });
    const d = new OnDemandDiscovery(stub, 5_000, { now: () => 0 });
    const api = createLambdaApi({ config, discovery: d, logger: silentLogger });
    // 1 s kept back to reply: this invocation can wait 0 ms.
    const context = { getRemainingTimeInMillis: () => 1_000 };
    const r = (await api.run(functionUrlEvent({ url: "/sd" }) as never, context as never)) as LambdaResult;
    expect(r.statusCode).toBe(503);
    expect(r.headers["retry-after"]).toBe("5");
    expect(json(r).failures).toEqual([
      { unit: "discovery", error: "the first refresh is still running: AWS has not answered yet" },
    ]);
    expect(stub.refreshes).toBe(1);
    await finish(d);
    const ok = (await api.run(functionUrlEvent({ url: "/sd" }) as never, context as never)) as LambdaResult;
    expect(ok.statusCode).toBe(200);
  });

  it("lambda.publicUrl must be an absolute http(s) URL without query or credentials", () => {
    for (const bad of [
      "lambda-url.example",
      "ftp://x.example",
      "https://u:p@x.example",
      "https://x.example/?a=1",
    ])
      expect(
        () =>
          createLambdaApi({
            config: testConfig({ BRIDGE_LAMBDA_PUBLIC_URL: bad }),
            discovery: new OnDemandDiscovery(new StubDiscovery(), 0),
            logger: silentLogger,
          }),
        bad,
      ).toThrow(ConfigError);
  });
});
