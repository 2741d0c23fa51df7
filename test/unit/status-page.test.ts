// The status page (GET /status for browsers) and /explain, rendered from a Discovery stand-in.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { syntheticStatus, measure } from "../../bench/status-page.js";
import { createAuthCheck } from "../../core/auth.js";
import { createSelfMetrics } from "../../core/metrics.js";
import { createApp, listen } from "../../core/server.js";
import { explainTask } from "../../sd/explain.js";
import type { DiscoveredTarget } from "../../sd/model.js";
import type { UnitSkips } from "../../sd/skips.js";
import { Discovery, type Source, type SourceRefresh } from "../../sd/refresh.js";
import { esc, renderStatusPage, StatusPageCache, type StatusView } from "../../sd/status-page.js";
import { silentLogger } from "../../core/log.js";

const EVIL = `<script>alert("x")</script>&'`;
const ARN = "arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef0123456789abcdef";
const SKIPPED_ARN = "arn:aws:ecs:us-east-1:123456789012:task/prod/fedcba9876543210fedcba9876543210";

function hostileView(ready = true): StatusView {
  const target: DiscoveredTarget = {
    source: "ecs",
    cluster: "prod",
    service: EVIL,
    group: {
      targets: ["10.0.0.1:9100"],
      labels: {
        __meta_ecs_task_arn: ARN,
        __meta_ecs_container_name: EVIL,
        job: EVIL,
        __metrics_path__: EVIL,
      },
    },
  };
  const skips = new Map<string, UnitSkips>([
    [
      "a/us-east-1/prod",
      {
        records: [
          { task: SKIPPED_ARN, service: EVIL, container: EVIL, reason: "invalid_address", detail: EVIL },
          { task: ARN, service: EVIL, container: "envoy", reason: "no_opt_in", detail: "not opted in" },
        ],
        dropped: 0,
        byReason: { invalid_address: 1, no_opt_in: 1 },
      },
    ],
  ]);
  return {
    snapshot: () => ({ targets: [target], version: 1, ready }),
    status: () => [
      { source: "ecs", unit: "a/us-east-1/prod", ok: true, targets: 1, stale: false },
      {
        source: "ecs",
        unit: `a/us-east-1/${EVIL}`,
        ok: false,
        targets: 0,
        lastError: `AccessDeniedException: ${EVIL}`,
        failedStep: "ListTasks",
        stale: false,
      },
    ],
    scopeStatus: () => [{ source: "ecs", scope: "a/us-east-1", ok: true }],
    skips: () => skips,
    unitTargets: () => new Map([["ecs:a/us-east-1/prod", [target]]]),
  };
}

describe("status page rendering", () => {
  it("escapes every AWS-supplied string: no markup of theirs reaches the page", () => {
    const html = renderStatusPage(hostileView(), { q: `"><b>${EVIL}` });
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<b>");
    expect(html).toContain(esc(EVIL));
    expect(html).toContain('<link rel="icon" href="data:,">');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it("shows the failing unit's step, error and fix, and a skipped container with its reason in words", () => {
    const html = renderStatusPage(hostileView());
    expect(html).toContain("<code>ListTasks</code>: AccessDeniedException");
    expect(html).toContain("grant ecs:ListTasks to the bridge&#39;s role (deploy/iam/ecs-discovery.json)");
    expect(html).toMatch(/<code>no_opt_in<\/code> not opted in/);
    expect(html).toContain(`href="explain?task=${encodeURIComponent(ARN)}"`);
  });

  it("filters by task id, service or IP, server-side", () => {
    const view = syntheticStatus(1000);
    const byService = renderStatusPage(view, { q: "svc-7" });
    expect(byService).toContain("<b>svc-7</b>");
    expect(byService).not.toContain("<b>svc-8</b>");
    const byIp = renderStatusPage(view, { q: "10.0.0.12:" });
    expect(byIp.match(/<tr><td>http:\/\//g)).toHaveLength(1);
    const id = (12).toString(16).padStart(32, "0");
    expect(renderStatusPage(view, { q: id })).toContain(`>${id}</a>`);
    expect(renderStatusPage(view, { q: "nothing-like-this" })).toContain("No target or skipped task matches");
  });

  it("stays under 1 MB at 10,000 targets, however they spread over services, and with a filter matching all", () => {
    for (const services of [1, 500, 10_000]) {
      const view = syntheticStatus(10_000, services);
      expect(measure(view, undefined, 1).bytes).toBeLessThan(1_000_000);
      expect(measure(view, "10.", 1).bytes).toBeLessThan(1_000_000);
    }
  });
});

describe("status page cache", () => {
  /** A one-unit ECS source whose next refresh returns `next` (its one target, or a failure). */
  function scriptedSource(): { source: Source; next: { fail?: boolean } } {
    const next: { fail?: boolean } = {};
    const target: DiscoveredTarget = {
      source: "ecs",
      cluster: "prod",
      service: "web",
      group: { targets: ["10.0.0.1:9100"], labels: { job: "web" } },
    };
    const source: Source = {
      name: "ecs",
      refresh: async (): Promise<SourceRefresh> => ({
        failedScopes: [],
        units: [
          next.fail
            ? {
                unit: "a/us-east-1/prod",
                ok: false,
                error: Object.assign(new Error("no"), { name: "Throttled" }),
              }
            : { unit: "a/us-east-1/prod", ok: true, targets: [target] },
        ],
      }),
    };
    return { source, next };
  }

  it("renders a repeated request once, per filter, until a refresh changes what the page shows", async () => {
    const { source, next } = scriptedSource();
    const metrics = createSelfMetrics({ defaults: false });
    const discovery = new Discovery({
      sources: [source],
      metrics,
      logger: silentLogger,
      intervalSeconds: 30,
    });
    await discovery.refreshOnce();
    let renders = 0;
    const view: StatusView = {
      snapshot: () => discovery.snapshot(),
      status: () => discovery.status(),
      report: (s) => discovery.report(s),
      unitTargets: () => (renders++, discovery.unitTargets()),
    };
    const cache = new StatusPageCache();
    const first = cache.get(view);
    expect(cache.get(view)).toBe(first);
    expect(cache.get(view, " ")).toBe(first);
    expect(renders).toBe(1);
    cache.get(view, "web");
    cache.get(view, "web");
    expect(renders).toBe(2);
    expect(cache.bytes).toBeGreaterThan(first.length);

    // The unit fails and keeps its target: the snapshot is unchanged, the page is not.
    next.fail = true;
    const version = discovery.snapshot().version;
    await discovery.refreshOnce();
    expect(discovery.snapshot().version).toBe(version);
    expect(first).not.toContain("failing");
    expect(cache.get(view)).toContain('<span class="down">failing</span>');
    expect(renders).toBe(3);
  });

  it("keeps no more pages than its byte budget", () => {
    const view = syntheticStatus(1000);
    const cache = new StatusPageCache(200_000);
    for (let i = 0; i < 50; i++) cache.get(view, `svc-${i}`);
    expect(cache.bytes).toBeLessThanOrEqual(200_000);
    expect(cache.bytes).toBeGreaterThan(0);
  });
});

describe("explain", () => {
  const view = hostileView();
  it("a target: its labels, and the containers of the same task that were skipped", () => {
    const r = explainTask(view, "0123456789abcdef0123456789abcdef");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      task: ARN,
      target: true,
      targets: [{ address: "10.0.0.1:9100", labels: { __meta_ecs_task_arn: ARN } }],
      skipped: [{ container: "envoy", reason: "no_opt_in" }],
    });
    expect(explainTask(view, ARN).body).toMatchObject({ target: true });
  });

  it("not a target: exactly why", () => {
    const r = explainTask(view, SKIPPED_ARN);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ target: false, targets: [], skipped: [{ reason: "invalid_address" }] });
  });

  it("400 for a missing or invalid task, 404 for one the last refresh did not see", () => {
    expect(explainTask(view, undefined)).toMatchObject({ status: 400, body: { param: "task" } });
    expect(explainTask(view, ["a", "b"]).status).toBe(400);
    expect(explainTask(view, "../etc<x>").status).toBe(400);
    expect(explainTask(view, "arn:aws:ecs:us-east-1:123456789012:cluster/prod").status).toBe(400);
    expect(explainTask(view, "ffffffffffffffffffffffffffffffff")).toMatchObject({ status: 404 });
  });
});

describe("routes", () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  async function serve(view: StatusView, auth?: ReturnType<typeof createAuthCheck>): Promise<string> {
    const app = createApp({
      discovery: view,
      registry: createSelfMetrics({ defaults: false }).registry,
      ...(auth ? { auth } : {}),
    });
    server = await listen(app, "127.0.0.1", 0);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("HTML for browsers, JSON by default; both, and /explain, behind the same auth as /sd", async () => {
    const url = await serve(hostileView(), createAuthCheck({ bearerToken: "s3cret" }));
    const html = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
    for (const path of ["/status", "/explain?task=" + ARN, "/sd"])
      expect((await fetch(url + path, { headers: html })).status).toBe(401);
    const auth = { authorization: "Bearer s3cret" };
    const page = await fetch(`${url}/status`, { headers: { ...html, ...auth } });
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await page.text()).toContain("<h1>ecs-prometheus-bridge</h1>");
    const json = await fetch(`${url}/status`, { headers: auth });
    expect(((await json.json()) as { units: unknown[] }).units).toHaveLength(2);
    const explained = await fetch(`${url}/explain?task=${SKIPPED_ARN}`, { headers: auth });
    expect(await explained.json()).toMatchObject({ target: false });
    const bad = await fetch(`${url}/status?q=a&q=b`, { headers: { ...html, ...auth } });
    expect(bad.status).toBe(400);
  });

  it("the page links to its JSON form and to /sd; ?format=json answers JSON to a browser, behind the same auth", async () => {
    const url = await serve(hostileView(), createAuthCheck({ bearerToken: "s3cret" }));
    const html = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
    const auth = { authorization: "Bearer s3cret" };
    const page = await (await fetch(`${url}/status`, { headers: { ...html, ...auth } })).text();
    const links = [...page.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
    expect(links).toContain("sd");
    const jsonLink = links.find((l) => l?.startsWith("status?") && l.includes("format=json"));
    expect(jsonLink).toBeDefined();
    // Relative, as a browser resolves it against /status.
    const target = new URL(jsonLink!, `${url}/status`).href;
    expect((await fetch(target, { headers: html })).status).toBe(401);
    const json = await fetch(target, { headers: { ...html, ...auth } });
    expect(json.headers.get("content-type")).toMatch(/^application\/json/);
    expect(((await json.json()) as { units: unknown[] }).units).toHaveLength(2);
    const asPage = await fetch(`${url}/status?format=html`, { headers: auth });
    expect(asPage.headers.get("content-type")).toMatch(/^text\/html/);
    const bad = await fetch(`${url}/status?format=xml`, { headers: auth });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ param: "format" });
  });

  it("before the first good refresh, /sd and /status answer 503 naming the failing step and its fix", async () => {
    const view: StatusView = {
      snapshot: () => ({ targets: [], version: 0, ready: false }),
      status: () => [],
      scopeStatus: () => [
        {
          source: "ecs",
          scope: "prod/eu-west-1",
          ok: false,
          lastError: "AccessDeniedException: not authorized",
          failedStep: "ListClusters",
        },
      ],
    };
    const url = await serve(view);
    for (const path of ["/sd", "/status"]) {
      const res = await fetch(url + path);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        causes: [
          {
            cause: "ListClusters in ecs prod/eu-west-1: AccessDeniedException: not authorized",
            hint: "grant ecs:ListClusters to the bridge's role (deploy/iam/ecs-discovery.json)",
          },
        ],
      });
    }
  });
});
