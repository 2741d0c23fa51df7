// Benchmark: memory over a long run. The bridge runs in its own process under a fixed V8 heap
// (--max-old-space-size) against the standard estate (bench/scale/estate.ts) simulated in this process;
// between refreshes 5% of the tasks are replaced. Reports RSS and heap at start, peak and end, the heap
// after a forced GC along the run (its growth is the leak signal), refresh time p50/p99, and whether /sd
// matched the simulator's running tasks after every refresh. The same file is the bridge's process
// (`--child`): it answers {cmd} messages over IPC, a hook that exists only in this bench.
//
//   node dist/bench/soak.js [tasks=10000] [refreshes=100] [heapMiB=128] [--snapshot]
//
// Ctrl-C ends the run early and still reports. --snapshot writes a heap snapshot after the last refresh
// and prints what holds the heap: self size by constructor, and the largest retainers (dominator tree).
import { fork } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { writeHeapSnapshot } from "node:v8";
import { gunzipSync } from "node:zlib";
import type { SimAws } from "../sim/index.js";
import { benchBridge } from "./bridge.js";
import { ESTATE, clusterName, estateScenario } from "./scale/estate.js";
import { percentile } from "./scale/load.js";
import { imageNodeFlags } from "./node-flags.js";

const MiB = 1024 * 1024;

type Command = { cmd: "refresh" } | { cmd: "gc" } | { cmd: "snapshot"; path: string } | { cmd: "exit" };

interface Memory {
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
}
interface RefreshReply extends Memory {
  ms: number;
  sdUrl: string;
  /** Highest heap used / RSS sampled while the refresh ran (every 10 ms). */
  peakHeapMiB: number;
  peakRssMiB: number;
}

function memory(): Memory {
  const m = process.memoryUsage();
  return {
    rssMiB: m.rss / MiB,
    heapUsedMiB: m.heapUsed / MiB,
    heapTotalMiB: m.heapTotal / MiB,
    externalMiB: m.external / MiB,
  };
}

// ---------------------------------------------------------------- the bridge's process

async function child(simUrl: string, clusters: string[]): Promise<void> {
  const bridge = await benchBridge(simUrl, clusters);
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on("SIGINT", () => {}); // Ctrl-C reaches the whole process group; the parent decides when to stop
  process.on("message", (msg: Command) => {
    void (async () => {
      if (msg.cmd === "refresh") {
        let peakHeap = 0;
        let peakRss = 0;
        const sample = () => {
          const m = process.memoryUsage();
          peakHeap = Math.max(peakHeap, m.heapUsed);
          peakRss = Math.max(peakRss, m.rss);
        };
        const timer = setInterval(sample, 10);
        const t0 = performance.now();
        await bridge.discovery.refreshOnce();
        const ms = performance.now() - t0;
        clearInterval(timer);
        sample();
        const reply: RefreshReply = {
          ms,
          sdUrl: `${bridge.url}/sd`,
          peakHeapMiB: peakHeap / MiB,
          peakRssMiB: peakRss / MiB,
          ...memory(),
        };
        process.send!(reply);
      } else if (msg.cmd === "gc") {
        gc?.();
        process.send!(memory());
      } else if (msg.cmd === "snapshot") {
        gc?.();
        process.send!({ path: writeHeapSnapshot(msg.path) });
      } else {
        await bridge.close();
        process.exit(0);
      }
    })();
  });
  process.send!({ ready: true });
}

// ---------------------------------------------------------------- the simulated AWS and the run

/** Replaces every 20th running task of each cluster (5%), as a rolling deployment step would. */
function churn(sim: SimAws, tasks: number): number {
  let replaced = 0;
  for (let c = 0; c < ESTATE.clusters; c++)
    for (const t of sim.tasks({ cluster: clusterName(c) }).filter((_, i) => i % 20 === 0)) {
      sim.stopTask(clusterName(c), t.arn);
      replaced++;
    }
  const perCluster = ESTATE.services / ESTATE.clusters;
  for (let s = 0; s < ESTATE.services; s++) {
    const want = Math.floor(tasks / ESTATE.services) + (s < tasks % ESTATE.services ? 1 : 0);
    sim.scaleService(clusterName(Math.floor(s / perCluster)), `svc-${s}`, want, { pendingDescribes: 0 });
  }
  return replaced;
}

/** Targets on /sd, read the way Prometheus reads it (gzip). */
function sdTargets(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { "accept-encoding": "gzip" } }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`/sd answered ${res.statusCode}`));
        const body = Buffer.concat(parts);
        const json = res.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
        const groups = JSON.parse(json.toString("utf8")) as { targets: string[] }[];
        resolve(groups.reduce((n, g) => n + g.targets.length, 0));
      });
    }).on("error", reject);
  });
}

class Bridge {
  private readonly proc;
  private waiting: ((m: unknown) => void) | undefined;
  /** Set when the process ended before it was told to: its exit code or signal. */
  died: string | undefined;
  readonly ready: Promise<void>;

  constructor(simUrl: string, heapMiB: number) {
    const clusters = Array.from({ length: ESTATE.clusters }, (_, i) => clusterName(i));
    this.proc = fork(fileURLToPath(import.meta.url), ["--child", simUrl, clusters.join(",")], {
      execArgv: [...imageNodeFlags(), `--max-old-space-size=${heapMiB}`, "--expose-gc"],
      stdio: ["ignore", "inherit", "pipe", "ipc"],
    });
    // V8's out-of-memory report goes to stderr: keep its first line for the report.
    let stderr = "";
    this.proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    this.ready = new Promise((resolve) => this.proc.once("message", () => resolve()));
    this.proc.on("message", (m) => this.waiting?.(m));
    // "close", not "exit": stderr has then been read to its end.
    this.proc.on("close", (code, signal) => {
      const oom = /heap out of memory|Reached heap limit/i.exec(stderr)?.[0];
      // V8's last GC line before the abort: the heap it could not shrink.
      const lastGc = [
        ...stderr.matchAll(/Mark-Compact (?:\(reduce\) )?[\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB/g),
      ].at(-1)?.[0];
      this.died = `exit ${code ?? signal}${oom ? ` (${oom}${lastGc ? `; last GC ${lastGc}` : ""})` : ""}`;
      this.waiting?.(undefined);
    });
  }

  /** The reply, or undefined when the process died first. */
  ask<T>(cmd: Command): Promise<T | undefined> {
    if (this.died) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiting = (m) => resolve(m as T | undefined);
      this.proc.send(cmd);
    });
  }

  async exit(): Promise<void> {
    if (this.died) return;
    const done = new Promise((r) => this.proc.once("exit", r));
    this.proc.send({ cmd: "exit" } satisfies Command);
    await done;
  }
}

export interface SoakFigures {
  tasks: number;
  heapMiB: number;
  refreshesAsked: number;
  refreshesDone: number;
  died?: string;
  start?: Memory;
  end?: RefreshReply;
  peakHeapMiB: number;
  peakRssMiB: number;
  /** Heap used after a forced GC: after the first refresh, then every tenth of the run, then at the end. */
  gcHeapMiB: { refresh: number; heapMiB: number; rssMiB: number }[];
  refreshP50Ms: number;
  refreshP99Ms: number;
  refreshMaxMs: number;
  /** Refreshes after which /sd did not list exactly the simulator's running tasks. */
  sdMismatches: number;
  sdLast?: { sd: number; truth: number };
  replacedPerRefresh: number;
  snapshot?: string;
}

export async function benchSoak(
  tasks: number,
  refreshes: number,
  heapMiB: number,
  opts: { snapshot?: boolean; onProgress?: (line: string) => void } = {},
): Promise<SoakFigures> {
  const { startSimAws } = await import("../sim/index.js");
  const sim = await startSimAws({ scenario: estateScenario(tasks) });
  // Memory, not AWS's pace, is under test: no token buckets (refreshes run back to back) and no latency.
  sim.setThrottling(null);
  const bridge = new Bridge(sim.url, heapMiB);
  const figs: SoakFigures = {
    tasks,
    heapMiB,
    refreshesAsked: refreshes,
    refreshesDone: 0,
    peakHeapMiB: 0,
    peakRssMiB: 0,
    gcHeapMiB: [],
    refreshP50Ms: 0,
    refreshP99Ms: 0,
    refreshMaxMs: 0,
    sdMismatches: 0,
    replacedPerRefresh: 0,
  };
  const durations: number[] = [];
  const gcEvery = Math.max(1, Math.floor(refreshes / 10));
  const gcPoint = async (refresh: number) => {
    const m = await bridge.ask<Memory>({ cmd: "gc" });
    if (m) {
      figs.gcHeapMiB.push({ refresh, heapMiB: m.heapUsedMiB, rssMiB: m.rssMiB });
      figs.peakRssMiB = Math.max(figs.peakRssMiB, m.rssMiB);
    }
    return m;
  };
  try {
    await bridge.ready;
    const t0 = performance.now();
    // Ctrl-C (or SIGTERM) ends the run after the current refresh; the figures are still reported.
    let stop = false;
    const onSignal = () => (stop = true);
    process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
    for (let i = 1; i <= refreshes && !stop; i++) {
      if (i > 1) figs.replacedPerRefresh = churn(sim, tasks);
      const r = await bridge.ask<RefreshReply>({ cmd: "refresh" });
      if (!r) break;
      figs.refreshesDone = i;
      figs.end = r;
      durations.push(r.ms);
      figs.peakHeapMiB = Math.max(figs.peakHeapMiB, r.peakHeapMiB);
      figs.peakRssMiB = Math.max(figs.peakRssMiB, r.peakRssMiB);
      const truth = sim.tasks({ lastStatus: "RUNNING" }).length;
      const sd = await sdTargets(r.sdUrl);
      figs.sdLast = { sd, truth };
      if (sd !== truth) figs.sdMismatches++;
      if (i === 1) figs.start = await gcPoint(i);
      else if (i % gcEvery === 0 || i === refreshes || stop) await gcPoint(i);
      if (i % gcEvery === 0)
        opts.onProgress?.(
          `  ${i}/${refreshes} refreshes, ${((performance.now() - t0) / 1000).toFixed(0)} s: heap ` +
            `${r.heapUsedMiB.toFixed(0)} MiB (after GC ${figs.gcHeapMiB.at(-1)?.heapMiB.toFixed(1) ?? "?"}), ` +
            `RSS ${r.rssMiB.toFixed(0)} MiB, refresh ${r.ms.toFixed(0)} ms, /sd ${sd} of ${truth}`,
        );
    }
    if (opts.snapshot && !bridge.died) {
      const path = join(tmpdir(), `soak-${process.pid}.heapsnapshot`);
      const written = await bridge.ask<{ path: string }>({ cmd: "snapshot", path });
      if (written) {
        figs.snapshot = summariseSnapshot(written.path);
        rmSync(written.path, { force: true });
      }
    }
    figs.died = bridge.died;
    durations.sort((a, b) => a - b);
    figs.refreshP50Ms = percentile(durations, 50);
    figs.refreshP99Ms = percentile(durations, 99);
    figs.refreshMaxMs = durations.at(-1) ?? 0;
    return figs;
  } finally {
    await bridge.exit();
    await sim.close();
  }
}

// ---------------------------------------------------------------- heap snapshot summary

interface Snapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/**
 * What holds the heap: self size by constructor, and the objects that retain the most (their retained size
 * from the dominator tree, as the DevTools "Retainers" view computes it), named by the property that holds
 * them and the chain of their dominators. Only objects where the memory fans out are listed: one whose
 * largest dominated child keeps 80% of it is shown through that child instead.
 */
export function summariseSnapshot(path: string, top = 12): string {
  const snap = JSON.parse(readFileSync(path, "utf8")) as Snapshot;
  const { meta } = snap.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [nType, nName, nSelf, nEdges] = ["type", "name", "self_size", "edge_count"].map((f) =>
    meta.node_fields.indexOf(f),
  ) as [number, number, number, number];
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((f) =>
    meta.edge_fields.indexOf(f),
  ) as [number, number, number];
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snap;
  const count = nodes.length / nf;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i]! + nodes[i * nf + nEdges]!;
  const weak = edgeTypes.indexOf("weak");
  const shortcut = edgeTypes.indexOf("shortcut");
  const strongEdge = (e: number) => edges[e * ef + eType] !== weak && edges[e * ef + eType] !== shortcut;
  const toNode = (e: number) => edges[e * ef + eTo]! / nf;
  const typeOf = (n: number) => nodeTypes[nodes[n * nf + nType]!]!;
  const label = (n: number) => {
    const t = typeOf(n);
    return t === "object" || t === "native" ? strings[nodes[n * nf + nName]!]! : `(${t})`;
  };
  const selfOf = (n: number) => nodes[n * nf + nSelf]!;

  // Self size by constructor.
  const byName = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let n = 0; n < count; n++) {
    total += selfOf(n);
    const e = byName.get(label(n)) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += selfOf(n);
    byName.set(label(n), e);
  }

  // Post-order from the root (node 0) over strong edges, remembering each node's first retainer edge.
  const post = new Int32Array(count).fill(-1);
  const order: number[] = [];
  const via = new Int32Array(count).fill(-1);
  const visited = new Uint8Array(count);
  const stack = [0];
  const cursor = new Uint32Array(count);
  visited[0] = 1;
  for (let i = 0; i < count; i++) cursor[i] = firstEdge[i]!;
  while (stack.length > 0) {
    const n = stack.at(-1)!;
    if (cursor[n]! < firstEdge[n + 1]!) {
      const e = cursor[n]!++;
      const to = toNode(e);
      if (!visited[to] && strongEdge(e)) {
        visited[to] = 1;
        via[to] = e;
        stack.push(to);
      }
    } else {
      post[n] = order.length;
      order.push(n);
      stack.pop();
    }
  }
  // Predecessors (strong edges between reached nodes), then Cooper-Harvey-Kennedy immediate dominators.
  const predCount = new Uint32Array(count + 1);
  for (let n = 0; n < count; n++)
    if (visited[n])
      for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++) if (strongEdge(e)) predCount[toNode(e) + 1]!++;
  for (let i = 0; i < count; i++) predCount[i + 1]! += predCount[i]!;
  const preds = new Uint32Array(predCount[count]!);
  const fill = predCount.slice(0, count);
  for (let n = 0; n < count; n++)
    if (visited[n])
      for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++)
        if (strongEdge(e)) preds[fill[toNode(e)]!++] = n;
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (post[a]! < post[b]!) a = idom[a]!;
      while (post[b]! < post[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let i = order.length - 2; i >= 0; i--) {
      const n = order[i]!;
      let d = -1;
      for (let p = predCount[n]!; p < predCount[n + 1]!; p++) {
        const q = preds[p]!;
        if (idom[q] === -1) continue;
        d = d === -1 ? q : intersect(q, d);
      }
      if (d !== idom[n]) {
        idom[n] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(count);
  const biggestChild = new Float64Array(count);
  for (const n of order) {
    retained[n]! += selfOf(n);
    if (n === 0) continue;
    retained[idom[n]!]! += retained[n]!;
    biggestChild[idom[n]!] = Math.max(biggestChild[idom[n]!]!, retained[n]!);
  }

  const heldAs = (n: number) => {
    const e = via[n]!;
    if (e < 0) return label(n);
    const t = edgeTypes[edges[e * ef + eType]!]!;
    const name = edges[e * ef + eName]!;
    const prop = t === "element" || t === "hidden" ? `[${name}]` : `.${strings[name]}`;
    return `${label(n)} (${label(ownerOf(e))}${prop})`;
  };
  // The node an edge leaves from: the last node whose first edge is at or before it.
  function ownerOf(e: number): number {
    let lo = 0;
    let hi = count - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (firstEdge[mid]! <= e) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
  const chain = (n: number) => {
    const out: string[] = [];
    for (let d = idom[n]!, i = 0; d > 0 && i < 4; d = idom[d]!, i++) out.push(heldAs(d));
    return out.join(" <- ");
  };
  const fanOut = order
    .filter((n) => n !== 0 && retained[n]! > total / 100 && biggestChild[n]! < 0.8 * retained[n]!)
    .filter((n) => typeOf(n) !== "synthetic")
    .sort((a, b) => retained[b]! - retained[a]!)
    .slice(0, top);

  const mib = (b: number) => (b / MiB).toFixed(1);
  const lines = [
    `heap snapshot: ${mib(total)} MiB in ${count.toLocaleString("en")} nodes`,
    "self size by constructor:",
  ];
  for (const [k, v] of [...byName].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top))
    lines.push(`  ${mib(v.bytes).padStart(7)} MiB  ${v.count.toString().padStart(8)}  ${k}`);
  lines.push("largest retainers (retained MiB, held as, dominated by):");
  for (const n of fanOut) lines.push(`  ${mib(retained[n]!).padStart(7)} MiB  ${heldAs(n)}  <- ${chain(n)}`);
  return lines.join("\n");
}

// ---------------------------------------------------------------- command line

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] === "--child") {
    await child(process.argv[3]!, process.argv[4]!.split(","));
  } else {
    const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
    const [tasks, refreshes, heapMiB] = [args[0] ?? 10_000, args[1] ?? 100, args[2] ?? 128].map(Number) as [
      number,
      number,
      number,
    ];
    if (!Number.isInteger(tasks) || tasks < ESTATE.services || !(refreshes >= 1) || !(heapMiB >= 16)) {
      process.stderr.write(
        `usage: soak.js [tasks >= ${ESTATE.services}] [refreshes >= 1] [heapMiB >= 16] [--snapshot]\n`,
      );
      process.exit(2);
    }
    process.stdout.write(
      `soak: ${tasks} tasks in ${ESTATE.clusters} clusters, ${refreshes} refreshes, 5% replaced between ` +
        `refreshes, bridge heap --max-old-space-size=${heapMiB}\n`,
    );
    const f = await benchSoak(tasks, refreshes, heapMiB, {
      snapshot: process.argv.includes("--snapshot"),
      onProgress: (l) => process.stdout.write(l + "\n"),
    });
    const m = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? "?" : n.toFixed(1));
    const firstGc = f.gcHeapMiB[0];
    const lastGc = f.gcHeapMiB.at(-1);
    process.stdout.write(
      [
        `refreshes: ${f.refreshesDone} of ${f.refreshesAsked}` +
          `${f.died ? `; the bridge died during refresh ${f.refreshesDone + 1}: ${f.died}` : ""}; ` +
          `${f.replacedPerRefresh} tasks replaced between refreshes`,
        `refresh ms: p50 ${m(f.refreshP50Ms)}, p99 ${m(f.refreshP99Ms)}, max ${m(f.refreshMaxMs)}`,
        `heap used MiB: start ${m(f.start?.heapUsedMiB)} (after GC), peak ${m(f.peakHeapMiB)}, end ${m(f.end?.heapUsedMiB)}`,
        `RSS MiB: start ${m(f.start?.rssMiB)}, peak ${m(f.peakRssMiB)}, end ${m(f.end?.rssMiB)}`,
        `heap after GC MiB by refresh: ${f.gcHeapMiB.map((g) => `${g.refresh}: ${g.heapMiB.toFixed(1)}`).join(", ")}`,
        `growth after GC, end - start: ${firstGc && lastGc ? (lastGc.heapMiB - firstGc.heapMiB).toFixed(1) : "?"} MiB heap, ` +
          `${firstGc && lastGc ? (lastGc.rssMiB - firstGc.rssMiB).toFixed(1) : "?"} MiB RSS`,
        `/sd: ${f.sdMismatches} refreshes of ${f.refreshesDone} did not match the simulator; last ${f.sdLast?.sd ?? "?"} targets, truth ${f.sdLast?.truth ?? "?"}`,
        ...(f.snapshot ? [f.snapshot] : []),
        "",
      ].join("\n"),
    );
    process.exit(f.died || f.sdMismatches > 0 ? 1 : 0);
  }
}
