// `npm run bench` (scale part): the standard estate at each size, the naive strategy and the bridge side
// by side, then the bridge in events mode, each in its own process against one simulated AWS (this
// process). Writes bench/results.md.
// Sizes: `--size N` (repeatable) or BENCH_SIZES=1000,10000; default 1,000.
import { fork, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AWS_THROTTLING, startSimAws, type SimAws } from "../../sim/index.js";
import type { ChildCommand, ChildFigures, Strategy } from "./child.js";
import { ESTATE, clusterName, estateScenario } from "./estate.js";
import { refreshFloorMs, summarise, type CallSummary } from "./floor.js";
import { load, type LoadFigures } from "./load.js";
import { imageNodeFlags } from "../node-flags.js";
import { loadConfig } from "../../cmd/config.js";
import { RECONCILE_REDESCRIBE_EVERY } from "../../sd/ecs/events.js";

const here = dirname(fileURLToPath(import.meta.url));
// BENCH_STRATEGIES=bridge measures the bridge alone (quick before/after checks); the table needs both.
type Compared = "naive" | "bridge";
const CHOSEN = (process.env.BENCH_STRATEGIES ?? "naive,bridge,events").split(",");
const STRATEGIES = (["naive", "bridge"] as const).filter((s) => CHOSEN.includes(s));
const PHASES = ["cold", "steady", "churn"] as const;
/** Events mode: the first reconcile, a refresh between reconciles, a reconcile, and churn as events. */
const EVENT_PHASES = ["cold", "steady", "reconcile", "churn"] as const;
const LOADS = [16, 64].flatMap((connections) => [true, false].map((gzip) => ({ connections, gzip })));
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 3);
/**
 * The bridge's and the floor's /sd loads alternate, this many rounds each, and the round with the median p99
 * is reported: on a shared machine one 3 s load's p99 moved 2-3x from run to run.
 */
const SD_ROUNDS = Number(process.env.BENCH_SD_ROUNDS ?? 3);
/**
 * How long a drained bucket takes to fill again (the longest burst / refill per second: 5 s). The bridge's
 * pacer keeps its own count of each bucket, so refilling only the simulator's would start its steady and
 * churn refreshes from buckets it believes empty; each refresh after the first waits this long instead.
 */
const REFILL_MS =
  Math.max(...AWS_THROTTLING.map((r) => (r.refillPerSecond > 0 ? r.burst / r.refillPerSecond : 0))) * 1000;

interface PhaseFigures extends ChildFigures, CallSummary {
  floorMs: number;
}
type EventFigures = Record<(typeof EVENT_PHASES)[number], ChildFigures & CallSummary>;
interface StrategyFigures {
  phases: Record<(typeof PHASES)[number], PhaseFigures>;
  /** The bridge's run also measures the /sd floor with its body. */
  sd: { load: LoadFigures[]; loopP99Ms: number; loopMaxMs: number; floor: LoadFigures[] };
  peakRssMiB: number;
}

function sizes(): number[] {
  const fromArgs: number[] = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) if (argv[i] === "--size") fromArgs.push(Number(argv[++i]));
  const list = fromArgs.length > 0 ? fromArgs : (process.env.BENCH_SIZES ?? "1000").split(",").map(Number);
  for (const n of list)
    if (!Number.isInteger(n) || n < ESTATE.services)
      throw new Error(`bench size must be an integer of at least ${ESTATE.services} tasks, got ${n}`);
  return list;
}

/** Replaces 5% of every service's tasks (a rolling deployment step). */
function churn(sim: SimAws, tasks: number): void {
  for (let c = 0; c < ESTATE.clusters; c++)
    for (const t of sim.tasks({ cluster: clusterName(c) }).filter((_, i) => i % 20 === 0))
      sim.stopTask(clusterName(c), t.arn);
  const perCluster = ESTATE.services / ESTATE.clusters;
  for (let s = 0; s < ESTATE.services; s++) {
    const c = Math.floor(s / perCluster);
    const want = Math.floor(tasks / ESTATE.services) + (s < tasks % ESTATE.services ? 1 : 0);
    sim.scaleService(clusterName(c), `svc-${s}`, want, { pendingDescribes: 0 });
  }
}

class Child {
  private readonly proc;
  private waiting: ((m: ChildFigures) => void) | undefined;
  readonly ready: Promise<void>;

  /** `arg`: events mode's queue URL; the wire floor's share of the known tasks to describe (child.ts). */
  constructor(strategy: Strategy, simUrl: string, arg?: string) {
    // The bridge runs with the image's node flags; the naive strategy and the floor client with node's defaults.
    const execArgv = strategy === "bridge" || strategy === "events" ? imageNodeFlags() : [];
    const args = [strategy, simUrl, ...(arg ? [arg] : [])];
    this.proc = fork(join(here, "child.js"), args, { execArgv, stdio: "inherit" });
    this.ready = new Promise((resolve, reject) => {
      this.proc.once("message", () => resolve());
      this.proc.once("exit", (code) => reject(new Error(`${strategy} process exited (${code})`)));
    });
    this.proc.on("message", (m) => this.waiting?.(m as ChildFigures));
  }

  ask(cmd: ChildCommand): Promise<ChildFigures> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.proc.send(cmd);
    });
  }

  exit(): Promise<void> {
    return new Promise((resolve) => {
      this.proc.once("exit", () => resolve());
      this.proc.send({ cmd: "exit" } satisfies ChildCommand);
    });
  }
}

async function runStrategy(sim: SimAws, strategy: Strategy, tasks: number): Promise<StrategyFigures> {
  const child = new Child(strategy, sim.url);
  await child.ready;
  const listPages = Math.ceil(tasks / ESTATE.clusters / 100);
  const phases = {} as StrategyFigures["phases"];
  for (const phase of PHASES) {
    if (phase === "churn") churn(sim, tasks);
    if (phase !== "cold") await new Promise((r) => setTimeout(r, REFILL_MS));
    sim.setThrottling(AWS_THROTTLING); // full buckets: each phase starts where the floor assumes
    sim.resetCalls();
    const f = await child.ask({ cmd: "refresh" });
    const summary = summarise(sim.callLog());
    phases[phase] = { ...f, ...summary, floorMs: refreshFloorMs(summary.calls, listPages, ESTATE.latencyMs) };
  }
  const { url } = await child.ask({ cmd: "serve" });
  // One request per encoding first: the body is rendered once per snapshot (that cost is the publish
  // bench's), as the floor's is before it serves; the load then measures serving from memory.
  for (const encoding of ["gzip", "identity"])
    await (await fetch(url!, { headers: { "accept-encoding": encoding } })).arrayBuffer();
  const floorServer = strategy === "bridge" ? await startSdFloor(url!) : undefined;
  const results: LoadFigures[] = [];
  const floor: LoadFigures[] = [];
  // The strategy's event loop is measured while its own loads run (the worst of them), not the floor's.
  let loop = { p99: 0, max: 0, peakRssMiB: 0 };
  for (const l of LOADS) {
    const rounds: { bridge: LoadFigures[]; floor: LoadFigures[] } = { bridge: [], floor: [] };
    for (let r = 0; r < (floorServer ? SD_ROUNDS : 1); r++) {
      await child.ask({ cmd: "begin" });
      rounds.bridge.push(await load(url!, { ...l, seconds: LOAD_SECONDS }));
      const f = await child.ask({ cmd: "done" });
      loop = {
        p99: Math.max(loop.p99, f.loopP99Ms),
        max: Math.max(loop.max, f.loopMaxMs),
        peakRssMiB: f.peakRssMiB,
      };
      if (floorServer) rounds.floor.push(await load(floorServer.url, { ...l, seconds: LOAD_SECONDS }));
    }
    results.push(medianRound(rounds.bridge));
    if (floorServer) floor.push(medianRound(rounds.floor));
  }
  await floorServer?.close();
  await child.exit();
  return {
    phases,
    sd: { load: results, loopP99Ms: loop.p99, loopMaxMs: loop.max, floor },
    peakRssMiB: loop.peakRssMiB,
  };
}

/**
 * The bridge in events mode, following task state change events from a queue the simulator's EventBridge
 * rule feeds: its first reconcile, a refresh between reconciles with nothing changed, a reconcile with
 * nothing changed, and the 5% churn arriving as events (measured from the change until every message has
 * been applied and deleted and the served targets are whole again).
 */
async function runEvents(sim: SimAws, tasks: number): Promise<EventFigures> {
  const queue = sim.createQueue(`scale-events-${tasks}`);
  sim.subscribeTaskEvents(queue.name);
  const child = new Child("events", sim.url, queue.url);
  try {
    await child.ready;
    const phases = {} as EventFigures;
    let whole = 0;
    for (const phase of EVENT_PHASES) {
      if (phase !== "cold") await new Promise((r) => setTimeout(r, REFILL_MS));
      sim.setThrottling(AWS_THROTTLING);
      sim.resetCalls();
      let f: ChildFigures;
      if (phase === "churn") {
        await child.ask({ cmd: "begin" });
        churn(sim, tasks);
        f = await applied(sim, queue.name, () => child.ask({ cmd: "done" }), whole);
      } else f = await child.ask({ cmd: "refresh", reconcile: phase === "reconcile" });
      if (phase === "cold") whole = f.targets;
      if (f.targets !== whole) throw new Error(`events mode, ${phase}: ${f.targets} targets, want ${whole}`);
      phases[phase] = { ...f, ...summarise(sim.callLog()) };
    }
    return phases;
  } finally {
    await child.exit();
    sim.unsubscribeTaskEvents(queue.name);
  }
}

/** Waits until the queue is empty (every event applied and deleted) and `figures` shows `targets`. */
async function applied(
  sim: SimAws,
  queue: string,
  figures: () => Promise<ChildFigures>,
  targets: number,
): Promise<ChildFigures> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const depth = sim.queueDepth(queue);
    if (depth.visible + depth.inFlight === 0) {
      const f = await figures();
      if (f.targets === targets) return f;
    }
    if (Date.now() > deadline) throw new Error(`events mode: the churn was not applied within 120 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The CPU floor of the steady refresh: the same ListTasks walks and DescribeTasks batches from a bare client
 * (wire.ts) in its own process, from full buckets; its second refresh is measured (the first warms it up).
 * It describes the share of the tasks the bridge's steady refresh (its second walk) describes with the
 * default ecs.redescribeEveryRefreshes (the estate declares no container health checks).
 */
async function wireFloor(sim: SimAws): Promise<ChildFigures & CallSummary> {
  const { ecs } = loadConfig({ env: { AWS_REGION: "us-east-1", BRIDGE_CLUSTERS: clusterName(0) } });
  const every = ecs.redescribeEveryRefreshes;
  const child = new Child("wire", sim.url, `${every}/${1 % every}`);
  await child.ready;
  let figures: ChildFigures | undefined;
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setTimeout(r, REFILL_MS));
    sim.setThrottling(AWS_THROTTLING);
    sim.resetCalls();
    figures = await child.ask({ cmd: "refresh" });
  }
  await child.exit();
  return { ...figures!, ...summarise(sim.callLog()) };
}

/**
 * The /sd floor: a bare node server answering the same bytes (precomputed), in its own process as the
 * bridge is (`sd-floor.ts`), with node's default flags.
 */
async function startSdFloor(bridgeUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const proc = fork(join(here, "sd-floor.js"), [bridgeUrl], { stdio: "inherit" });
  const url = await new Promise<string>((resolve, reject) => {
    proc.once("message", (m) => resolve((m as { url: string }).url));
    proc.once("exit", (code) => reject(new Error(`the /sd floor process exited (${code})`)));
  });
  // One request per encoding first, as the bridge gets.
  for (const encoding of ["gzip", "identity"])
    await (await fetch(url, { headers: { "accept-encoding": encoding } })).arrayBuffer();
  const close = () =>
    new Promise<void>((resolve) => {
      proc.once("exit", () => resolve());
      proc.send("exit");
    });
  return { url, close };
}

/** The round whose p99 is the median of the rounds'. */
function medianRound(rounds: LoadFigures[]): LoadFigures {
  const sorted = [...rounds].sort((a, b) => a.p99Ms - b.p99Ms);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : "—");
const calls = (c: Record<string, number>) =>
  Object.entries(c)
    .sort()
    .map(([k, v]) => `${k.replace(/^ecs:/, "")} ${v}`)
    .join(", ");

function section(
  tasks: number,
  figs: Record<Compared, StrategyFigures>,
  floor: LoadFigures[],
  wire: ChildFigures & CallSummary,
  events: EventFigures | undefined,
): string {
  const lines = [`## ${tasks.toLocaleString("en")} tasks`, ""];
  const targets = figs.bridge.phases.steady.targets;
  lines.push(`${targets.toLocaleString("en")} targets. Floor: the token-bucket floor (see the top).`, "");
  lines.push(
    "| refresh | strategy | time ms | floor ms | ratio | CPU ms | loop p99 / max ms | throttles | calls |",
  );
  lines.push("| --- | --- | --: | --: | --: | --: | --: | --: | --- |");
  for (const phase of PHASES)
    for (const s of STRATEGIES) {
      const p = figs[s].phases[phase];
      lines.push(
        `| ${phase} | ${s} | ${ms(p.ms)} | ${ms(p.floorMs)} | ${ratio(p.ms, p.floorMs)} | ${ms(p.cpuMs)} | ` +
          `${ms(p.loopP99Ms)} / ${ms(p.loopMaxMs)} | ${p.throttles} | ${calls(p.calls)} |`,
      );
    }
  const steady = figs.bridge.phases.steady;
  lines.push(
    "",
    `CPU floor of the steady refresh: ${ms(wire.cpuMs)} ms, the bridge's ${ms(steady.cpuMs)} (` +
      `${ratio(steady.cpuMs, wire.cpuMs)}). The floor is the same calls (${calls(wire.calls)}; ${wire.throttles} ` +
      "throttled) from a bare client in its own process: node's http module, SigV4-signed, paced to the bucket, " +
      "answers read as text (`bench/scale/wire.ts`).",
  );
  if (events) lines.push("", ...eventsTable(events, steady.cpuMs));
  lines.push("", "| memory | naive | bridge | ratio |", "| --- | --: | --: | --: |");
  // The refreshes' peak is what a deployment sees; the /sd load below (thousands of requests a second) is
  // far above Prometheus' polling and is reported apart.
  const refreshPeak = (f: StrategyFigures) => f.phases.churn.peakRssMiB;
  lines.push(
    `| peak RSS MiB, refreshes | ${ms(refreshPeak(figs.naive))} | ${ms(refreshPeak(figs.bridge))} | ${ratio(refreshPeak(figs.bridge), refreshPeak(figs.naive))} |`,
    `| peak RSS MiB, with the /sd load | ${ms(figs.naive.peakRssMiB)} | ${ms(figs.bridge.peakRssMiB)} | ${ratio(figs.bridge.peakRssMiB, figs.naive.peakRssMiB)} |`,
    `| heap after steady MiB | ${ms(figs.naive.phases.steady.heapMiB)} | ${ms(figs.bridge.phases.steady.heapMiB)} | ${ratio(figs.bridge.phases.steady.heapMiB, figs.naive.phases.steady.heapMiB)} |`,
  );
  lines.push(
    "",
    `| /sd p99 ms (${LOAD_SECONDS} s each after one request per encoding; bridge and floor: the median of ${SD_ROUNDS} rounds, alternating) | floor | naive | bridge | bridge / floor | bridge req |`,
    "| --- | --: | --: | --: | --: | --: |",
  );
  LOADS.forEach((l, i) => {
    const b = figs.bridge.sd.load[i]!;
    lines.push(
      `| ${l.connections} conns, ${l.gzip ? "gzip" : "identity"} | ${ms(floor[i]!.p99Ms)} | ${ms(figs.naive.sd.load[i]!.p99Ms)} | ` +
        `${ms(b.p99Ms)} | ${ratio(b.p99Ms, floor[i]!.p99Ms)} | ${b.requests}${b.errors ? ` (${b.errors} errors)` : ""} |`,
    );
  });
  lines.push(
    `| event loop while loaded, worst load's p99 / max ms | | ${ms(figs.naive.sd.loopP99Ms)} / ${ms(figs.naive.sd.loopMaxMs)} | ` +
      `${ms(figs.bridge.sd.loopP99Ms)} / ${ms(figs.bridge.sd.loopMaxMs)} | | |`,
    "",
  );
  return lines.join("\n");
}

/** Events mode's refreshes, and what it costs per refresh interval when nothing changes. */
function eventsTable(events: EventFigures, pollSteadyCpuMs: number): string[] {
  const names = {
    cold: "first reconcile",
    steady: "refresh, nothing changed",
    reconcile: "reconcile, nothing changed",
    churn: "5% churn as events",
  };
  const lines = [
    "Events mode (`ecs.events`, the same estate; task state change events from the simulator's EventBridge " +
      "rule to an SQS queue): work follows change. Churn is timed from the change until every event is " +
      "applied and the served targets are whole again.",
    "",
    "| events mode | time ms | CPU ms | loop p99 / max ms | throttles | calls |",
    "| --- | --: | --: | --: | --: | --- |",
  ];
  for (const phase of EVENT_PHASES) {
    const p = events[phase];
    lines.push(
      `| ${names[phase]} | ${ms(p.ms)} | ${ms(p.cpuMs)} | ${ms(p.loopP99Ms)} / ${ms(p.loopMaxMs)} | ` +
        `${p.throttles} | ${calls(p.calls) || "none"} |`,
    );
  }
  // The defaults: a refresh every 30 s and a reconcile every 300 s; each reconcile also re-describes its
  // share of the known tasks (one in ecs.redescribeEveryRefreshes, at least 12), which the measured
  // reconcile includes.
  const defaults = loadConfig({ env: { AWS_REGION: "us-east-1", BRIDGE_CLUSTERS: clusterName(0) } });
  const refreshS = defaults.refreshIntervalSeconds;
  const reconcileS = defaults.ecs.events.reconcileIntervalSeconds;
  const every = Math.max(defaults.ecs.redescribeEveryRefreshes, RECONCILE_REDESCRIBE_EVERY);
  const perInterval = events.steady.cpuMs + (events.reconcile.cpuMs * refreshS) / reconcileS;
  lines.push(
    "",
    `With nothing changing, events mode costs ${ms(perInterval)} ms of CPU per ${refreshS} s refresh interval ` +
      `on average, polling ${ms(pollSteadyCpuMs)} ms (its steady refresh). Events mode's defaults: a refresh ` +
      `every ${refreshS} s, a reconcile every ${reconcileS} s, and each reconcile re-describes one in ${every} ` +
      "of the known tasks (for their tags).",
  );
  return lines;
}

function header(): string {
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    // This file itself does not count as a change to the measured code.
    const status = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      encoding: "utf8",
    });
    if (status.split("\n").some((line) => line.trim() && !line.endsWith("bench/results.md")))
      commit += " (with uncommitted changes)";
  } catch {
    // not a git checkout
  }
  const cpu = cpus();
  return [
    "# Bench results",
    "",
    "Generated by `npm run bench` (`bench/scale/`; larger sizes: `npm run bench -- --size 10000`). Estate: " +
      `${ESTATE.clusters} clusters, ${ESTATE.services} services each with its own task definition, ` +
      `${ESTATE.bridgeServices} of them EC2 bridge-mode with dynamic host ports; ${ESTATE.latencyMs} ms per call; ` +
      "AWS's documented token buckets on (`sim/throttling.ts`); each refresh starts from full buckets, on both sides: " +
      `the simulator's are refilled and the bench waits ${REFILL_MS / 1000} s (the longest burst ÷ rate) so the bridge's pacer counts them full too.`,
    "",
    "- **naive**: lists and describes everything on every refresh, no cache, renders /sd per request.",
    "- **bridge**: this project with its defaults (polling); **events mode**: the same with `ecs.events` on.",
    "- **floor** (refresh): the least time the buckets allow for the successful calls made, from full buckets, " +
      "or the chain of calls that cannot overlap (one cluster's ListTasks pages, then one call per later phase) " +
      `at ${ESTATE.latencyMs} ms each, whichever is longer. **floor** (/sd): a bare node server answering the same bytes, in its own process. ` +
      "**CPU floor** (steady refresh): the same calls from a bare client (`bench/scale/wire.ts`).",
    "- CPU, event-loop delay (`monitorEventLoopDelay`, 1 ms resolution) and peak RSS are the strategy's own " +
      "process; the simulated AWS and the load generator run in the parent.",
    "",
    `Machine: ${cpu[0]?.model ?? "?"} x${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ` +
      `${loadavg()[0]!.toFixed(1)} at the start (a shared machine: times are noisy, calls and throttles are not). ` +
      `Node ${process.version}. Date ${new Date().toISOString().slice(0, 16)}Z. Commit ${commit}.`,
    "",
  ].join("\n");
}

// CI writes its run elsewhere (BENCH_RESULTS_FILE), so the committed figures stay the measured ones.
const out = process.env.BENCH_RESULTS_FILE ?? join(here, "../../../bench/results.md");
const sections = new Map<number, string>();
/** Sections that are not a size's tables (written by hand, e.g. before/after notes): kept, after the tables. */
const notes: string[] = [];
if (existsSync(out))
  for (const part of readFileSync(out, "utf8")
    .split(/\n(?=## )/)
    .slice(1)) {
    const n = Number(/^## ([\d,]+) tasks/.exec(part)?.[1]?.replace(/,/g, ""));
    if (n) sections.set(n, part.trimEnd() + "\n");
    else notes.push(part.trimEnd() + "\n");
  }
const head = header();
for (const tasks of sizes()) {
  const sim = await startSimAws({ scenario: estateScenario(tasks) });
  sim.setLatency(ESTATE.latencyMs);
  try {
    const figs = {} as Record<Compared, StrategyFigures>;
    for (const s of STRATEGIES) {
      figs[s] = await runStrategy(sim, s, tasks);
      process.stdout.write(`${tasks} tasks, ${s}: done\n`);
    }
    const events = CHOSEN.includes("events") ? await runEvents(sim, tasks) : undefined;
    if (events) process.stdout.write(`${tasks} tasks, events mode: done\n`);
    if (!figs.naive || !figs.bridge) {
      process.stdout.write(JSON.stringify({ ...figs, events }, null, 1) + "\n");
      continue;
    }
    const wire = await wireFloor(sim);
    const text = section(tasks, figs, figs.bridge.sd.floor, wire, events);
    process.stdout.write(text + "\n");
    sections.set(tasks, text);
  } finally {
    await sim.close();
  }
}
// A partial run (not every strategy) printed its figures above and leaves results.md alone.
if (STRATEGIES.length === 2 && CHOSEN.includes("events")) {
  const body = [...sections.keys()].sort((a, b) => a - b).map((n) => sections.get(n)!);
  writeFileSync(out, [head, ...body, ...notes].join("\n"));
  process.stdout.write(`written ${out}\n`);
}
