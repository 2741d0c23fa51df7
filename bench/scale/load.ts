// A small keep-alive HTTP load generator (wrk is not everywhere): `connections` clients, each sending
// its next request when the last answer ended, for a fixed time; latency per request, p50/p99.
import { Agent, request } from "node:http";

export interface LoadFigures {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function load(
  url: string,
  opts: { connections: number; seconds: number; gzip: boolean },
): Promise<LoadFigures> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const headers = opts.gzip ? { "accept-encoding": "gzip" } : { "accept-encoding": "identity" };
  const latencies: number[] = [];
  let errors = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const req = request(url, { agent, headers }, (res) => {
        res.on("data", () => {});
        res.on("end", () => {
          if (res.statusCode === 200) latencies.push(performance.now() - t0);
          else errors++;
          resolve();
        });
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end();
    });
  const until = performance.now() + opts.seconds * 1000;
  await Promise.all(
    Array.from({ length: opts.connections }, async () => {
      while (performance.now() < until) await one();
    }),
  );
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
  };
}
