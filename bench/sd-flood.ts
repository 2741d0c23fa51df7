// Benchmark: /sd under hostile load at 10,000 targets, auth off (the default). A flood of distinct made-up
// filters (each a body the cache could keep) and clients that never read their answer, while /healthz is
// polled: RSS before and after, /healthz latency under it, and what one render of the list costs.
import { Agent, get } from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { renderSd, renderSdBody } from "../sd/httpsd.js";
import { serveTargets, syntheticTargets } from "./sd-serve.js";

const MiB = 1024 * 1024;
/** `,svc-0,...,svc-49`: every service of the synthetic list. */
const ALL_SERVICES = Array.from({ length: 50 }, (_, i) => `,svc-${i}`).join("");
const rssMiB = (): number => process.memoryUsage().rss / MiB;

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** One GET; resolves when the body has been read (and discarded). */
function fetchOnce(url: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      res.on("data", () => {});
      res.on("end", () => resolve(res.statusCode ?? 0));
    }).on("error", reject);
  });
}

/** Polls /healthz back to back until stopped; returns the latencies in ms. */
function pollHealth(base: string): { stop: () => Promise<number[]> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      await fetchOnce(`${base}/healthz`, agent);
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      agent.destroy();
      return latencies.sort((a, b) => a - b);
    },
  };
}

/** `count` requests over `concurrency` connections, one distinct query per request. */
async function flood(base: string, queries: (i: number) => string, count: number, concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const status = await fetchOnce(`${base}/sd?${queries(next++)}`, agent);
        if (status !== 200) throw new Error(`/sd answered ${status}`);
      }
    }),
  );
  agent.destroy();
}

/** Clients that ask for the full list and never read it: their sockets stay open, paused. */
function slowClients(base: string, n: number): () => void {
  const requests = Array.from({ length: n }, () => get(`${base}/sd`, (res) => res.pause()));
  return () => requests.forEach((r) => r.destroy());
}

export interface FloodPhase {
  name: string;
  requests: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  healthP50Ms: number;
  healthP99Ms: number;
  healthMaxMs: number;
}

export async function benchSdFlood(n = 10_000, onPhase?: (p: FloodPhase) => void) {
  const targets = syntheticTargets(n);
  // One render of the whole list: the old way (all synchronous) against the sliced one.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  let t = performance.now();
  const sync = renderSd(targets);
  const syncJsonMs = performance.now() - t;
  t = performance.now();
  gzipSync(sync.json);
  const syncGzipMs = performance.now() - t;
  delay.enable();
  t = performance.now();
  await renderSdBody(targets);
  const slicedTotalMs = performance.now() - t;
  delay.disable();
  const render = {
    jsonBytes: sync.json.length,
    syncJsonMs,
    syncGzipMs,
    slicedTotalMs,
    longestBlockMs: delay.max / 1e6,
  };

  const { server, base } = await serveTargets(targets);
  const phases: FloodPhase[] = [];
  const phase = async (name: string, requests: number, run: () => Promise<void>) => {
    const rssBeforeMiB = rssMiB();
    const health = pollHealth(base);
    await run();
    const lat = await health.stop();
    const done: FloodPhase = {
      name,
      requests,
      rssBeforeMiB,
      rssAfterMiB: rssMiB(),
      healthP50Ms: percentile(lat, 0.5),
      healthP99Ms: percentile(lat, 0.99),
      healthMaxMs: lat.at(-1) ?? 0,
    };
    phases.push(done);
    onPhase?.(done);
  };
  try {
    await fetchOnce(`${base}/sd`, new Agent());
    // Worst case per request: every made-up filter selects the whole list (all services, plus one that
    // does not exist), so each is a full-size body the cache could keep.
    await phase("70 distinct filters, each the full list", 70, () =>
      flood(base, (i) => `service=made-up-${i}${ALL_SERVICES}`, 70, 8),
    );
    // Many more: each a made-up service (an empty list, one cache entry per query), while 20 clients ask
    // for the full list and never read it.
    const releaseSlow = slowClients(base, 20);
    await phase("10,000 distinct filters + 20 slow clients", 10_000, () =>
      flood(base, (i) => `service=made-up-${i}`, 10_000, 16),
    );
    releaseSlow();
    return { targets: n, render, phases };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const f = await benchSdFlood(Number(process.argv[2] ?? 10_000), (p) =>
    process.stdout.write(
      `  ${p.name}: RSS ${p.rssBeforeMiB.toFixed(0)} -> ${p.rssAfterMiB.toFixed(0)} MiB; /healthz p50 ${p.healthP50Ms.toFixed(1)} ms, p99 ${p.healthP99Ms.toFixed(1)} ms, max ${p.healthMaxMs.toFixed(1)} ms\n`,
    ),
  );
  const r = f.render;
  process.stdout.write(
    [
      `/sd at ${f.targets} targets (${(r.jsonBytes / MiB).toFixed(1)} MiB JSON), auth off`,
      `  one render, all synchronous: JSON+hash ${r.syncJsonMs.toFixed(0)} ms + gzip ${r.syncGzipMs.toFixed(0)} ms`,
      `  one render, sliced + async gzip: ${r.slicedTotalMs.toFixed(0)} ms in all, longest event-loop block ${r.longestBlockMs.toFixed(1)} ms`,
      "",
    ].join("\n"),
  );
}
