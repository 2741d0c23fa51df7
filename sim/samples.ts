// Tiny Prometheus /metrics servers on the simulated tasks' addresses (127.0.0.x:port; Linux routes all of
// 127/8 to lo), kept in step with the sim as tasks start and stop, so the demo's targets really answer.
import { createServer, type Server } from "node:http";
import type { SimAws } from "./api.js";
import type { SimEndpoint } from "./types.js";

export interface SampleServers {
  /** "host:port" of every server listening now. */
  addresses(): string[];
  /** Starts servers for new endpoints and stops those whose endpoint went away. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

function describe(e: SimEndpoint): Record<string, string> {
  return e.source === "ecs"
    ? { source: "ecs", cluster: e.cluster ?? "", service: e.service ?? "", container: e.container ?? "" }
    : {
        source: "cloudmap",
        namespace: e.namespace ?? "",
        service: e.cloudMapService ?? "",
        instance: e.instanceId ?? "",
      };
}

function metricsText(e: SimEndpoint, scrapes: number, started: number): string {
  const labels = Object.entries(describe(e))
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`)
    .join(",");
  return [
    "# HELP demo_info Which simulated endpoint answered.",
    "# TYPE demo_info gauge",
    `demo_info{${labels}} 1`,
    "# HELP demo_scrapes_total Scrapes this sample server answered.",
    "# TYPE demo_scrapes_total counter",
    `demo_scrapes_total ${scrapes}`,
    "# HELP demo_start_time_seconds When this sample server started.",
    "# TYPE demo_start_time_seconds gauge",
    `demo_start_time_seconds ${Math.floor(started / 1000)}`,
    "",
  ].join("\n");
}

function listenOn(e: SimEndpoint): Promise<Server> {
  let scrapes = 0;
  const started = Date.now();
  const server = createServer((req, res) => {
    // Every path answers, so docker-label paths like /metrics or /stats all work.
    scrapes++;
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    res.end(req.method === "HEAD" ? undefined : metricsText(e, scrapes, started));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(e.port, e.host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

export function startSampleServers(sim: SimAws, warn: (msg: string) => void = () => {}): SampleServers {
  const servers = new Map<string, Server>();
  const failed = new Set<string>();
  let syncing: Promise<void> | undefined;

  const doSync = async (): Promise<void> => {
    const wanted = new Map(sim.endpoints().map((e) => [`${e.host}:${e.port}`, e]));
    for (const [addr, server] of servers)
      if (!wanted.has(addr)) {
        servers.delete(addr);
        server.close();
        server.closeAllConnections();
      }
    for (const [addr, e] of wanted) {
      if (servers.has(addr) || failed.has(addr)) continue;
      try {
        servers.set(addr, await listenOn(e));
      } catch (err) {
        // e.g. another program holds the port on 0.0.0.0; skip this address (it will show as down).
        failed.add(addr);
        warn(`sample /metrics server on ${addr} not started: ${(err as Error).message}`);
      }
    }
  };

  return {
    addresses: () => [...servers.keys()].sort(),
    sync() {
      syncing ??= doSync().finally(() => (syncing = undefined));
      return syncing;
    },
    async close() {
      await syncing;
      await Promise.all(
        [...servers.values()].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      servers.clear();
    },
  };
}
