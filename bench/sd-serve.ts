// Benchmark: serving /sd from memory. Compares the precomputed body against rendering per request,
// for a snapshot of many targets, over loopback with bounded request counts.
import { Agent, get, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { createSelfMetrics } from "../core/metrics.js";
import { createApp, listen } from "../core/server.js";
import type { DiscoveredTarget } from "../sd/model.js";
import { renderSdBody } from "../sd/httpsd.js";

export function syntheticTargets(n: number): DiscoveredTarget[] {
  return Array.from({ length: n }, (_, i) => {
    const cluster = `cluster-${i % 5}`;
    const service = `svc-${i % 50}`;
    return {
      source: "ecs" as const,
      cluster,
      service,
      group: {
        targets: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:9100`],
        labels: {
          __meta_ecs_cluster: cluster,
          __meta_ecs_service: service,
          __meta_ecs_task_arn: `arn:aws:ecs:us-east-1:123456789012:task/${cluster}/${i.toString(16).padStart(32, "0")}`,
          __meta_ecs_task_definition_family: service,
          __meta_ecs_container_name: "app",
          __meta_ecs_container_port: "9100",
          __meta_ecs_availability_zone: "us-east-1a",
        },
      },
    };
  });
}

/** Requests over keep-alive connections with a raw client that does not decompress: measures the server. */
async function hammer(
  url: string,
  requests: number,
  concurrency: number,
  headers: Record<string, string>,
): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const one = () =>
    new Promise<void>((resolve, reject) => {
      get(url, { agent, headers }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
        res.on("data", () => {});
        res.on("end", resolve);
      }).on("error", reject);
    });
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < requests) await one();
    }),
  );
  const rate = requests / ((performance.now() - start) / 1000);
  agent.destroy();
  return rate;
}

export interface SdServeFigures {
  targets: number;
  jsonBytes: number;
  gzipBytes: number;
  renderMs: number;
  precomputedReqPerSec: number;
  filteredCachedReqPerSec: number;
}

/** The bridge's HTTP app on a free loopback port, serving a fixed snapshot of these targets. */
export async function serveTargets(targets: DiscoveredTarget[]): Promise<{ server: Server; base: string }> {
  const metrics = createSelfMetrics({ defaults: false });
  const app = createApp({
    discovery: { snapshot: () => ({ targets, version: 1, ready: true }), status: () => [] },
    registry: metrics.registry,
  });
  const server = await listen(app, "127.0.0.1", 0);
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export async function benchSdServe(n = 5000, requests = 2000): Promise<SdServeFigures> {
  const targets = syntheticTargets(n);
  const t0 = performance.now();
  const rounds = 10;
  let body = await renderSdBody(targets);
  for (let i = 1; i < rounds; i++) body = await renderSdBody(targets);
  const renderMs = (performance.now() - t0) / rounds;
  const { server, base } = await serveTargets(targets);
  try {
    const gz = { "accept-encoding": "gzip" };
    await hammer(`${base}/sd`, 20, 4, gz); // warm-up
    const precomputedReqPerSec = await hammer(`${base}/sd`, requests, 8, gz);
    const filteredCachedReqPerSec = await hammer(`${base}/sd?cluster=cluster-1`, requests, 8, gz);
    return {
      targets: n,
      jsonBytes: body.json.length,
      gzipBytes: body.gzip.length,
      renderMs,
      precomputedReqPerSec,
      filteredCachedReqPerSec,
    };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const f = await benchSdServe(Number(process.argv[2] ?? 5000));
  process.stdout.write(
    [
      `/sd serving ${f.targets} targets from memory: ${(f.jsonBytes / 1024).toFixed(0)} KiB JSON, ${(f.gzipBytes / 1024).toFixed(0)} KiB gzip`,
      `  render once per snapshot change: ${f.renderMs.toFixed(1)} ms`,
      `  GET /sd (precomputed, gzip):       ${f.precomputedReqPerSec.toFixed(0)} req/s`,
      `  GET /sd?cluster=... (cached):      ${f.filteredCachedReqPerSec.toFixed(0)} req/s`,
      `  ratio vs rendering per request:    ${(1000 / f.renderMs > 0 ? f.precomputedReqPerSec / (1000 / f.renderMs) : 0).toFixed(1)}x (render-only ceiling ${(1000 / f.renderMs).toFixed(0)} req/s)`,
      "",
    ].join("\n"),
  );
}
