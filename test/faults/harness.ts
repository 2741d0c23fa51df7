// The fault suite's rig: one simulated AWS, a fault proxy in front of it and the real bridge behind that, all on
// free loopback ports, with refreshes driven by the test. Plus the checks every fault row makes: the failing
// units serve their last-good targets while the others follow AWS, /status and the self-metrics say which
// units failed and why, and the next refresh after healing recovers.
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import type { Bridge } from "../../cmd/bridge.js";
import { startSimAws, type Scenario, type SimAccount, type SimAws } from "../../sim/index.js";
import { bridgeOnSim, getSd } from "../helpers/bridge.js";
import { startFaultProxy, type FaultProxy } from "./proxy.js";

/** Two clusters of awsvpc services, each container opted in on its one port. */
export const ECS_SCENARIO: Scenario = {
  ipPool: { tasks: "127.0.30.1", instances: "127.0.40.1" },
  taskDefinitions: ["api", "worker", "cron"].map((family, i) => ({
    family,
    networkMode: "awsvpc" as const,
    containerDefinitions: [
      {
        name: family,
        dockerLabels: { PROMETHEUS_EXPORTER_PORT: String(9100 + i) },
        portMappings: [{ containerPort: 9100 + i }],
      },
    ],
  })),
  clusters: [
    { name: "prod", services: [{ name: "api", taskDefinition: "api", desiredCount: 3 }] },
    {
      name: "batch",
      services: [
        { name: "worker", taskDefinition: "worker", desiredCount: 2 },
        // No task until a test scales it: its task definition is first described under the fault.
        { name: "cron", taskDefinition: "cron", desiredCount: 0 },
      ],
    },
  ],
};

export const CLUSTERS = ["prod", "batch"] as const;
export type ClusterName = (typeof CLUSTERS)[number];

/** Longest a refresh may take before the test calls it hung (every fault here settles far sooner when handled). */
const REFRESH_BOUND_MS = 10_000;

export interface UnitStatusJson {
  source: string;
  unit: string;
  ok: boolean;
  targets: number;
  lastSuccess?: string;
  lastError?: string;
}

export interface StatusJson {
  ready: boolean;
  targets: number;
  units: UnitStatusJson[];
  /** Every account/region of each source: whether its listing (and AssumeRole) succeeded. */
  scopes: { source: string; scope: string; ok: boolean; lastError?: string }[];
}

export interface Rig {
  sim: SimAws;
  proxy: FaultProxy;
  bridge: Bridge;
  /** One refresh of every source; rejects if it does not settle within a bound. */
  refresh(): Promise<void>;
  /** Sorted addresses on /sd (optionally filtered). */
  sd(query?: string): Promise<string[]>;
  status(): Promise<StatusJson>;
  /** The exporter's `aws_ecs_*` sample lines on the bridge's registry, values included. */
  exportedSeries(): Promise<string[]>;
  /** A sample of a self-metric; `undefined` when the series does not exist. */
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  /** Every series of a metric whose labels include `labels`. */
  samples(
    name: string,
    labels?: Record<string, string>,
  ): Promise<{ labels: Record<string, string>; value: number }[]>;
  /** Sum over every series of a metric whose labels include `labels`. */
  metricSum(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** Rejects with `what` when `promise` has not settled after `ms`: a hang is a failure, not a stuck test. */
export async function settlesWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startRig(
  opts: { scenario?: Scenario; env?: Record<string, string>; sim?: SimAws } = {},
): Promise<Rig> {
  const sim = opts.sim ?? (await startSimAws({ scenario: opts.scenario ?? ECS_SCENARIO }));
  const proxy = await startFaultProxy(sim.url);
  // One attempt per call: each fault is seen once per refresh, and retries do not stretch the run.
  const bridge = await bridgeOnSim(
    sim,
    { BRIDGE_AWS_MAX_ATTEMPTS: "1", ...opts.env },
    { endpoint: proxy.url },
  );
  const samples = async (name: string, labels: Record<string, string>) => {
    const metric = (await bridge.metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
    return (metric?.values ?? []).filter((v) =>
      Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want),
    );
  };
  return {
    sim,
    proxy,
    bridge,
    refresh: () => settlesWithin(bridge.discovery.refreshOnce(), REFRESH_BOUND_MS, "a refresh"),
    sd: async (query = "") => (await getSd(bridge, query)).flatMap((g) => g.targets).sort(),
    status: async () => (await (await fetch(`${bridge.url}/status`)).json()) as StatusJson,
    exportedSeries: async () =>
      (await bridge.metrics.registry.metrics()).split("\n").filter((l) => l.startsWith("aws_ecs_")),
    samples: async (name, labels = {}) =>
      (await samples(name, labels)).map((v) => ({
        labels: v.labels as Record<string, string>,
        value: v.value,
      })),
    metric: async (name, labels = {}) => (await samples(name, labels))[0]?.value,
    metricSum: async (name, labels = {}) => (await samples(name, labels)).reduce((n, v) => n + v.value, 0),
    close: async () => {
      // The proxy first: dropping its held sockets lets a hung refresh settle, so the bridge can stop.
      await proxy.close();
      await bridge.close();
      await sim.close();
    },
  };
}

/** What AWS holds now for a cluster: the addresses a correct bridge serves once it has refreshed. */
export function truth(account: SimAccount, cluster: string): string[] {
  return account
    .endpoints({ source: "ecs", cluster })
    .map((e) => `${e.host}:${e.port}`)
    .sort();
}

export const unitOf = (cluster: string, scope = "default/us-east-1"): string => `${scope}/${cluster}`;

/** True when a ListTasks/DescribeTasks/... request is about this cluster (by name or ARN). */
export const aboutCluster =
  (cluster: string) =>
  (params: Record<string, unknown>): boolean =>
    params.cluster === cluster || String(params.cluster ?? "").endsWith(`:cluster/${cluster}`);

export interface FaultRow {
  /** Clusters the fault makes fail; the others must keep following AWS. */
  down: readonly ClusterName[];
  inject(): unknown;
  heal(): unknown;
  /** What /status must say for a failing unit. */
  error?: RegExp;
  /** The simulated account the clusters live in, and the bridge's scope for it (default: the main account). */
  account?: SimAccount;
  scope?: string;
}

/**
 * The checks every fault row makes. A baseline refresh; then both services scale up and the fault is injected:
 * after one refresh the failing clusters serve exactly their last-good targets with unit_up 0, a counted
 * failure and an error on /status, while the others show the new task; after healing one refresh serves
 * what AWS holds with every unit up. Soft assertions: a failing row reports every wrong outcome at once.
 */
export async function checkFaultRow(rig: Rig, row: FaultRow): Promise<void> {
  const sim = row.account ?? rig.sim;
  const unitOfRow = (c: string) => unitOf(c, row.scope);
  await rig.refresh();
  const before = new Map<string, string[]>();
  for (const c of CLUSTERS) {
    before.set(c, await rig.sd(`?cluster=${c}`));
    expect(before.get(c)).toEqual(truth(sim, c));
    expect(before.get(c)!.length).toBeGreaterThan(0);
  }
  const failures = new Map<string, number>();
  for (const c of row.down)
    failures.set(c, await rig.metricSum("ecs_bridge_refresh_failures_total", { unit: unitOfRow(c) }));

  sim.scaleService("prod", "api", 4);
  sim.scaleService("batch", "worker", 3);
  await row.inject();
  await rig.refresh();
  const status = await rig.status();
  expect.soft(status.ready).toBe(true);
  for (const c of CLUSTERS) {
    const unit = unitOfRow(c);
    const failing = row.down.includes(c);
    expect
      .soft(await rig.sd(`?cluster=${c}`), `/sd of ${c}`)
      .toEqual(failing ? before.get(c) : truth(sim, c));
    expect
      .soft(await rig.metric("ecs_bridge_unit_up", { source: "ecs", unit }), `unit_up of ${c}`)
      .toBe(failing ? 0 : 1);
    const entry = status.units.find((u) => u.unit === unit);
    expect.soft(entry, `/status entry of ${unit}`).toBeDefined();
    expect.soft(entry!.ok, `/status ok of ${c}`).toBe(!failing);
    if (failing) {
      expect.soft(entry!.lastError, `/status lastError of ${c}`).toMatch(row.error ?? /./);
      expect
        .soft(
          await rig.metricSum("ecs_bridge_refresh_failures_total", { unit }),
          `refresh_failures_total of ${c}`,
        )
        .toBeGreaterThan(failures.get(c)!);
    }
  }

  await row.heal();
  await rig.refresh();
  const healed = await rig.status();
  for (const c of CLUSTERS) {
    expect.soft(await rig.sd(`?cluster=${c}`), `/sd of ${c} after healing`).toEqual(truth(sim, c));
    expect.soft(await rig.metric("ecs_bridge_unit_up", { source: "ecs", unit: unitOfRow(c) })).toBe(1);
    expect.soft(healed.units.find((u) => u.unit === unitOfRow(c))?.ok).toBe(true);
  }
}

/** Fails the test that saw an unhandled promise rejection (a fault must never surface as one). */
export function failOnUnhandledRejection(): void {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => void seen.push(reason);
  beforeAll(() => void process.on("unhandledRejection", listener));
  afterAll(() => void process.off("unhandledRejection", listener));
  afterEach(() => {
    expect(seen.splice(0), "unhandled rejections").toEqual([]);
  });
}
