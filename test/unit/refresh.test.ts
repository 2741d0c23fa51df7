import { describe, expect, it, vi } from "vitest";
import { silentLogger } from "../../core/log.js";
import { createSelfMetrics } from "../../core/metrics.js";
import type { DiscoveredTarget } from "../../sd/model.js";
import express from "express";
import type { AddressInfo } from "node:net";
import { sdHandler } from "../../sd/endpoint.js";
import { Discovery, type Source, type SourceRefresh } from "../../sd/refresh.js";

const t = (addr: string, cluster: string): DiscoveredTarget => ({
  source: "ecs",
  cluster,
  group: { targets: [addr], labels: { __meta_ecs_cluster: cluster } },
});

const cm = (addr: string): DiscoveredTarget => ({
  source: "cloudmap",
  namespace: "ns",
  group: { targets: [addr], labels: { __meta_cloudmap_namespace_name: "ns" } },
});

class ScriptedSource implements Source {
  calls = 0;
  constructor(
    public next: () => Promise<SourceRefresh>,
    readonly name: "ecs" | "cloudmap" = "ecs",
  ) {}
  refresh(): Promise<SourceRefresh> {
    this.calls++;
    return this.next();
  }
}

function discovery(source: Source) {
  const metrics = createSelfMetrics({ defaults: false });
  return {
    d: new Discovery({ sources: [source], metrics, logger: silentLogger, intervalSeconds: 30 }),
    metrics,
  };
}

const addrs = (d: Discovery) => d.snapshot().targets.map((x) => x.group.targets[0]);

describe("Discovery refresh helper", () => {
  it("keeps a failing cluster's last-good targets while others update", async () => {
    const src = new ScriptedSource(async () => ({
      units: [
        { unit: "default/us-east-1/a", ok: true, targets: [t("10.0.0.1:1", "a")] },
        { unit: "default/us-east-1/b", ok: true, targets: [t("10.0.0.2:1", "b")] },
      ],
      failedScopes: [],
    }));
    const { d, metrics } = discovery(src);
    await d.refreshOnce();
    expect(addrs(d)).toEqual(["10.0.0.1:1", "10.0.0.2:1"]);
    src.next = async () => ({
      units: [
        { unit: "default/us-east-1/a", ok: true, targets: [t("10.0.0.3:1", "a")] },
        {
          unit: "default/us-east-1/b",
          ok: false,
          error: Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }),
        },
      ],
      failedScopes: [],
    });
    await d.refreshOnce();
    expect(addrs(d)).toEqual(["10.0.0.2:1", "10.0.0.3:1"]);
    const up = await metrics.unitUp.get();
    expect(up.values.find((v) => v.labels.unit === "default/us-east-1/b")?.value).toBe(0);
    expect(d.status().find((s) => s.unit === "default/us-east-1/b")?.lastError).toMatch(
      /ThrottlingException/,
    );
  });

  it("keeps every unit of a scope whose listing failed, and everything when the source throws", async () => {
    const src = new ScriptedSource(async () => ({
      units: [{ unit: "default/us-east-1/a", ok: true, targets: [t("10.0.0.1:1", "a")] }],
      failedScopes: [],
    }));
    const { d } = discovery(src);
    await d.refreshOnce();
    src.next = async () => ({ units: [], failedScopes: ["default/us-east-1/"] });
    await d.refreshOnce();
    expect(addrs(d)).toEqual(["10.0.0.1:1"]);
    src.next = () => Promise.reject(new Error("boom"));
    await d.refreshOnce();
    expect(addrs(d)).toEqual(["10.0.0.1:1"]);
  });

  it("drops a unit that vanished from a successful listing, and a scaled-to-zero cluster empties", async () => {
    const src = new ScriptedSource(async () => ({
      units: [
        { unit: "default/us-east-1/a", ok: true, targets: [t("10.0.0.1:1", "a")] },
        { unit: "default/us-east-1/b", ok: true, targets: [t("10.0.0.2:1", "b")] },
      ],
      failedScopes: [],
    }));
    const { d } = discovery(src);
    await d.refreshOnce();
    src.next = async () => ({
      units: [{ unit: "default/us-east-1/a", ok: true, targets: [] }],
      failedScopes: [],
    });
    await d.refreshOnce();
    expect(addrs(d)).toEqual([]);
    expect(d.snapshot().ready).toBe(true);
  });

  it("is single-flight: concurrent refreshes share one source call", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const src = new ScriptedSource(async () => {
      await gate;
      return { units: [], failedScopes: [] };
    });
    const { d } = discovery(src);
    const a = d.refreshOnce();
    const b = d.refreshOnce();
    release();
    await Promise.all([a, b]);
    expect(src.calls).toBe(1);
  });

  it("is not ready until something real can be served", async () => {
    const src = new ScriptedSource(async () => ({
      units: [{ unit: "default/us-east-1/a", ok: false, error: new Error("AccessDenied") }],
      failedScopes: [],
    }));
    const { d } = discovery(src);
    await d.refreshOnce();
    expect(d.snapshot().ready).toBe(false);
    src.next = async () => ({
      units: [{ unit: "default/us-east-1/a", ok: true, targets: [] }],
      failedScopes: [],
    });
    await d.refreshOnce();
    expect(d.snapshot().ready).toBe(true);
  });

  it("bumps the version only when targets change", async () => {
    let latest = t("10.0.0.1:1", "a");
    const src = new ScriptedSource(async () => ({
      units: [{ unit: "u", ok: true, targets: [(latest = t("10.0.0.1:1", "a"))] }],
      failedScopes: [],
    }));
    const { d } = discovery(src);
    await d.refreshOnce();
    const v = d.snapshot().version;
    await d.refreshOnce();
    expect(d.snapshot().version).toBe(v);
    // Equal targets rebuilt as new objects: served from those, so the old ones are not kept too.
    expect(d.snapshot().targets[0]).toBe(latest);
    src.next = async () => ({
      units: [{ unit: "u", ok: true, targets: [t("10.0.0.9:1", "a")] }],
      failedScopes: [],
    });
    await d.refreshOnce();
    expect(d.snapshot().version).toBe(v + 1);
  });

  it("serves every unit's targets in one order, whatever order each refresh lists them in", async () => {
    const a = [t("10.0.0.5:1", "a"), t("10.0.0.1:1", "a"), t("10.0.0.3:1", "a")];
    const b = [t("10.0.0.4:1", "b"), t("10.0.0.2:1", "b")];
    const src = new ScriptedSource(async () => ({
      units: [
        { unit: "a", ok: true, targets: a },
        { unit: "b", ok: true, targets: b },
      ],
      failedScopes: [],
    }));
    const { d } = discovery(src);
    await d.refreshOnce();
    expect(addrs(d)).toEqual(["10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", "10.0.0.4:1", "10.0.0.5:1"]);
    const first = d.snapshot();
    // The same target objects (reused by the source) in another order: the same snapshot.
    a.reverse();
    b.reverse();
    await d.refreshOnce();
    expect(d.snapshot()).toBe(first);
    // One replaced, one added, one gone: sorted into place.
    a.splice(0, 1, t("10.0.0.0:1", "a"));
    b.push(t("10.0.0.6:1", "b"));
    await d.refreshOnce();
    expect(addrs(d)).toEqual([
      "10.0.0.0:1",
      "10.0.0.1:1",
      "10.0.0.2:1",
      "10.0.0.4:1",
      "10.0.0.5:1",
      "10.0.0.6:1",
    ]);
    expect(d.snapshot().version).toBe(first.version + 1);
  });
});

describe("publication per source", () => {
  it("a source whose refresh hangs does not delay another source's targets, nor its next refresh", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = new ScriptedSource(async () => {
      await gate;
      return { units: [{ unit: "ns", ok: true, targets: [cm("10.0.0.9:1")] }], failedScopes: [] };
    }, "cloudmap");
    const fast = new ScriptedSource(async () => ({
      units: [{ unit: "default/us-east-1/a", ok: true, targets: [t("10.0.0.1:1", "a")] }],
      failedScopes: [],
    }));
    const metrics = createSelfMetrics({ defaults: false });
    const d = new Discovery({ sources: [slow, fast], metrics, logger: silentLogger, intervalSeconds: 30 });
    const first = d.refreshOnce();
    await vi.waitFor(() => expect(addrs(d)).toEqual(["10.0.0.1:1"]));
    expect(d.snapshot().readySources).toEqual(["ecs"]);
    expect(d.snapshot().ready).toBe(false);
    // The next round refreshes the fast source again and shares the slow one's refresh in flight.
    fast.next = async () => ({
      units: [{ unit: "default/us-east-1/a", ok: true, targets: [t("10.0.0.2:1", "a")] }],
      failedScopes: [],
    });
    const second = d.refreshOnce();
    await vi.waitFor(() => expect(addrs(d)).toEqual(["10.0.0.2:1"]));
    expect([slow.calls, fast.calls]).toEqual([1, 2]);
    const before = d.snapshot().version;
    release();
    await Promise.all([first, second]);
    expect(addrs(d)).toEqual(["10.0.0.9:1", "10.0.0.2:1"]);
    expect(d.snapshot().ready).toBe(true);
    expect(d.snapshot().version).toBe(before + 1);
  });
});

describe("readiness per source", () => {
  it("a source that never succeeds does not keep /sd?source=<other> at 503", async () => {
    const ecs = new ScriptedSource(async () => ({
      units: [{ unit: "default/us-east-1/a", ok: true, targets: [t("10.0.0.1:1", "a")] }],
      failedScopes: [],
    }));
    // e.g. no servicediscovery:ListNamespaces permission
    const cloudmap = new ScriptedSource(
      async () => ({ units: [], failedScopes: ["default/us-east-1/"] }),
      "cloudmap",
    );
    const metrics = createSelfMetrics({ defaults: false });
    const d = new Discovery({ sources: [ecs, cloudmap], metrics, logger: silentLogger, intervalSeconds: 30 });
    await d.refreshOnce();
    expect(d.snapshot().ready).toBe(false);
    const app = express().get("/sd", sdHandler({ snapshot: () => d.snapshot() }));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      // Unfiltered (or Cloud Map) lists would lack Cloud Map's targets: still 503.
      expect((await fetch(`${base}/sd`)).status).toBe(503);
      expect((await fetch(`${base}/sd?source=cloudmap`)).status).toBe(503);
      expect((await fetch(`${base}/sd?source=ecs,cloudmap`)).status).toBe(503);
      const res = await fetch(`${base}/sd?source=ecs`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { targets: string[] }[]).map((g) => g.targets[0])).toEqual([
        "10.0.0.1:1",
      ]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe("the schedule", () => {
  it("refreshes at start, then again within one interval (jitter only shortens the wait), and stops", async () => {
    let now = 1_000_000;
    const src = new ScriptedSource(async () => ({ units: [], failedScopes: [] }));
    const metrics = createSelfMetrics({ defaults: false });
    const d = new Discovery({
      sources: [src],
      metrics,
      logger: silentLogger,
      intervalSeconds: 30,
      now: () => now,
    });
    const waitTicks = () => new Promise((r) => setTimeout(r, 2200)); // the node-cron tick is one second
    d.start();
    await waitTicks();
    expect(src.calls).toBe(1);
    now += 26_000; // less than 90% of the interval: never due yet
    await waitTicks();
    expect(src.calls).toBe(1);
    now += 4_000; // a full interval since the last start: always due
    await waitTicks();
    expect(src.calls).toBe(2);
    await d.stop();
    now += 60_000;
    await waitTicks();
    expect(src.calls).toBe(2);
  });
});

describe("Discovery: every failure is visible", () => {
  const A = "default/us-east-1/a";
  const B = "default/us-east-1/b";
  const ok = async (): Promise<SourceRefresh> => ({
    units: [
      { unit: A, ok: true, targets: [t("10.0.0.1:1", "a")] },
      { unit: B, ok: true, targets: [t("10.0.0.2:1", "b")] },
    ],
    failedScopes: [],
  });
  const gauge = async (
    m: ReturnType<typeof createSelfMetrics>,
    name: string,
    labels: Record<string, string>,
  ) =>
    (await m.registry.getSingleMetric(name)!.get()).values.find((v) =>
      Object.entries(labels).every(([k, val]) => v.labels[k] === val),
    )?.value;

  function visible(source: Source, opts: { now?: () => number; callTimeoutSeconds?: number } = {}) {
    const metrics = createSelfMetrics({ defaults: false });
    const d = new Discovery({
      sources: [source],
      metrics,
      logger: silentLogger,
      intervalSeconds: 30,
      scopes: ["default/us-east-1"],
      maxStaleSeconds: 60,
      ...opts,
    });
    return { d, metrics };
  }

  it("series exist before the first refresh: last success 0 and the scope down", async () => {
    const { d, metrics } = visible(new ScriptedSource(ok));
    expect(await gauge(metrics, "ecs_bridge_last_success_timestamp_seconds", { source: "ecs" })).toBe(0);
    expect(await gauge(metrics, "ecs_bridge_scope_up", { scope: "default/us-east-1" })).toBe(0);
    await d.refreshOnce();
    expect(await gauge(metrics, "ecs_bridge_scope_up", { scope: "default/us-east-1" })).toBe(1);
    expect(
      await gauge(metrics, "ecs_bridge_last_success_timestamp_seconds", { source: "ecs" }),
    ).toBeGreaterThan(0);
  });

  it("a failed listing marks every unit of its scope down, with the AWS error on the scope", async () => {
    const src = new ScriptedSource(ok);
    const { d, metrics } = visible(src);
    await d.refreshOnce();
    const denied = Object.assign(new Error("not authorized to perform: sts:AssumeRole"), {
      name: "AccessDenied",
    });
    src.next = async () => ({
      units: [],
      failedScopes: ["default/us-east-1/"],
      scopeErrors: new Map([["default/us-east-1/", denied]]),
    });
    await d.refreshOnce();
    expect(addrs(d)).toEqual(["10.0.0.1:1", "10.0.0.2:1"]);
    expect(d.status().map((u) => [u.unit, u.ok, u.lastError])).toEqual([
      [A, false, "AccessDenied: not authorized to perform: sts:AssumeRole"],
      [B, false, "AccessDenied: not authorized to perform: sts:AssumeRole"],
    ]);
    expect(await gauge(metrics, "ecs_bridge_unit_up", { unit: A })).toBe(0);
    // Each unit counts its failure (alerts and dashboards group by unit), the listing its own.
    for (const unit of [A, B, "default/us-east-1/"])
      expect(await gauge(metrics, "ecs_bridge_refresh_failures_total", { unit })).toBe(1);
    expect(await gauge(metrics, "ecs_bridge_scope_up", { scope: "default/us-east-1" })).toBe(0);
    expect(d.scopeStatus()).toEqual([
      {
        source: "ecs",
        scope: "default/us-east-1",
        ok: false,
        lastError: "AccessDenied: not authorized to perform: sts:AssumeRole",
      },
    ]);
  });

  it("a source whose refresh never settles is failed after the deadline; single-flight is released", async () => {
    const src = new ScriptedSource(ok);
    const { d, metrics } = visible(src, { callTimeoutSeconds: 0.005 });
    await d.refreshOnce();
    src.next = () => new Promise<SourceRefresh>(() => undefined);
    await d.refreshOnce();
    expect(addrs(d)).toEqual(["10.0.0.1:1", "10.0.0.2:1"]);
    expect(d.status().every((u) => !u.ok && /RefreshDeadlineExceeded/.test(u.lastError ?? ""))).toBe(true);
    expect(await gauge(metrics, "ecs_bridge_unit_up", { unit: B })).toBe(0);
    expect(await gauge(metrics, "ecs_bridge_refresh_failures_total", { unit: B })).toBe(1);
    src.next = ok;
    await d.refreshOnce();
    expect(src.calls).toBe(3);
    expect(d.status().every((u) => u.ok)).toBe(true);
  });

  it("a unit failing for longer than maxStaleSeconds is stale; its targets are still served and ready", async () => {
    let now = 1_000_000;
    const src = new ScriptedSource(ok);
    const { d, metrics } = visible(src, { now: () => now });
    await d.refreshOnce();
    src.next = async () => ({
      units: [
        { unit: A, ok: true, targets: [t("10.0.0.1:1", "a")] },
        { unit: B, ok: false, error: new Error("ListTasks failed") },
      ],
      failedScopes: [],
    });
    now += 30_000;
    await d.refreshOnce();
    expect(d.status().find((u) => u.unit === B)?.stale).toBe(false);
    now += 60_000;
    await d.refreshOnce();
    expect(d.status().map((u) => [u.unit, u.stale])).toEqual([
      [A, false],
      [B, true],
    ]);
    expect(await gauge(metrics, "ecs_bridge_unit_stale", { unit: B })).toBe(1);
    expect(await gauge(metrics, "ecs_bridge_unit_stale", { unit: A })).toBe(0);
    expect(addrs(d)).toEqual(["10.0.0.1:1", "10.0.0.2:1"]);
    expect(d.snapshot().ready).toBe(true);
    src.next = ok;
    await d.refreshOnce();
    expect(await gauge(metrics, "ecs_bridge_unit_stale", { unit: B })).toBe(0);
  });
});

describe("Source.onChange", () => {
  it("publishes between refreshes; a change during a refresh runs one more refresh after it", async () => {
    let notify: (() => Promise<void>) | undefined;
    let addr = "10.0.0.1:1";
    let release: (() => void) | undefined;
    const src: Source & { calls: number } = {
      name: "ecs",
      calls: 0,
      async refresh() {
        this.calls++;
        if (this.calls === 2) await new Promise<void>((r) => (release = r));
        return {
          units: [{ unit: "default/us-east-1/a", ok: true, targets: [t(addr, "a")] }],
          failedScopes: [],
        };
      },
      onChange(listener) {
        notify = listener;
      },
    };
    const { d } = discovery(src);
    await notify!();
    expect(addrs(d)).toEqual(["10.0.0.1:1"]);
    // The second refresh is in flight (held); the change comes in meanwhile: both asks share one more refresh.
    const inFlight = d.refreshOnce();
    while (!release) await new Promise((r) => setImmediate(r)); // the refresh has reached the source
    addr = "10.0.0.2:1";
    const a = notify!();
    const b = notify!();
    release!();
    await Promise.all([inFlight, a, b]);
    expect(src.calls).toBe(3);
    expect(addrs(d)).toEqual(["10.0.0.2:1"]);
  });
});
