// Tiny /metrics servers on the addresses the simulated AWS hands out (127.x), so a real Prometheus
// can scrape what the bridge discovered.
import { createServer, type Server } from "node:http";

export interface SampleExporters {
  count: number;
  close(): Promise<void>;
}

export async function startSampleExporters(
  endpoints: { host: string; port: number }[],
): Promise<SampleExporters> {
  const servers: Server[] = [];
  const seen = new Set<string>();
  for (const { host, port } of endpoints) {
    const key = `${host}:${port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(
        `# HELP sample_up A sample exporter.\n# TYPE sample_up gauge\nsample_up{addr="${key}",path="${req.url ?? ""}"} 1\n`,
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    servers.push(server);
  }
  return {
    count: servers.length,
    close: () =>
      Promise.all(
        servers.map((s) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())))),
      ).then(() => undefined),
  };
}
