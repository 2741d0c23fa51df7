// A real Prometheus scrapes through the Lambda: a loopback adapter turns its requests into function URL
// events for the handler, Prometheus follows the 308 to sample exporters on the simulated tasks' IPs
// (127.0.0.x), and the targets are up. Only loopback traffic: AWS is the simulated endpoint.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../core/log.js";
import { startLocalAdapter, type LocalAdapter } from "../../lambda/local.js";
import { createHandler } from "../../lambda/runtime.js";
import { startSimAws, type SimAws } from "../../sim/index.js";
import {
  freePort,
  prometheusAvailable,
  startPrometheus,
  type ActiveTarget,
  type RunningPrometheus,
} from "../helpers/prometheus.js";

const SECRET = "e2e-shared-secret";

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
}

/** A sample exporter on one task IP; remembers what it was asked. */
function exporter(ip: string, port: number, seen: Seen[]): Promise<Server> {
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers });
    res.setHeader("content-type", "text/plain; version=0.0.4");
    res.end(`# TYPE e2e_exporter_up gauge\ne2e_exporter_up{exporter="${ip}"} 1\n`);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, ip, () => resolve(server));
  });
}

describe.skipIf(!prometheusAvailable())("Prometheus scrapes through the Lambda (308 to 127.0.0.x)", () => {
  let sim: SimAws;
  let adapter: LocalAdapter;
  let prom: RunningPrometheus;
  const exporters: Server[] = [];
  const seen = new Map<string, Seen[]>();

  beforeAll(async () => {
    // The exporter port is the task definition's label: take a free one on the first task IP.
    const first = await exporter("127.0.0.2", 0, []);
    const port = (first.address() as { port: number }).port;
    await new Promise((r) => first.close(r));
    sim = await startSimAws({
      scenario: {
        ipPool: { tasks: "127.0.0.2" },
        taskDefinitions: [
          {
            family: "app",
            networkMode: "awsvpc",
            containerDefinitions: [{ name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: String(port) } }],
          },
        ],
        clusters: [{ name: "e2e", services: [{ name: "app", taskDefinition: "app", desiredCount: 2 }] }],
      },
    });
    const ips = sim.tasks({ cluster: "e2e" }).map((t) => t.ip!);
    expect(ips).toHaveLength(2);
    for (const ip of ips) {
      seen.set(ip, []);
      exporters.push(await exporter(ip, port, seen.get(ip)!));
    }

    const adapterPort = await freePort();
    const handler = createHandler({
      env: {
        AWS_REGION: "us-east-1",
        AWS_ENDPOINT_URL: sim.url,
        BRIDGE_CLUSTERS: "e2e",
        BRIDGE_LAMBDA_CACHE_SECONDS: "1",
        BRIDGE_LAMBDA_SHARED_SECRET: SECRET,
        BRIDGE_LAMBDA_PUBLIC_URL: `http://127.0.0.1:${adapterPort}`,
      },
      clientOptions: { credentials: { accessKeyId: "test", secretAccessKey: "test" } },
      logger: silentLogger,
    });
    adapter = await startLocalAdapter(handler, { port: adapterPort });
    const lambda = `127.0.0.1:${adapterPort}`;
    prom = await startPrometheus(`
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  # Path form, secret as a query parameter (the Lambda never forwards it).
  - job_name: lambda-path
    metrics_path: /targets/e2e/app/0
    params: { secret: ["${SECRET}"] }
    static_configs: [{ targets: ["${lambda}"] }]
  # Query form via params, secret as a bearer token (Prometheus re-sends it to the redirect target).
  - job_name: lambda-query
    metrics_path: /targets
    params: { cluster: [e2e], service: [app], index: ["1"] }
    authorization: { credentials: "${SECRET}" }
    static_configs: [{ targets: ["${lambda}"] }]
  # http_sd from the Lambda itself: one function-URL target per running task, __param_* labels.
  - job_name: lambda-sd
    params: { secret: ["${SECRET}"] }
    http_sd_configs:
      - url: http://${lambda}/sd?mode=redirect&secret=${SECRET}
        refresh_interval: 1s
`);
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    await adapter?.close();
    for (const s of exporters) await new Promise((r) => s.close(r));
    await sim?.close();
  });

  it("every target is up, scraped through the function URL and redirected to a task", async () => {
    const byJob = (ts: ActiveTarget[], job: string) => ts.filter((t) => t.labels.job === job);
    const targets = await prom.waitFor(
      (ts) =>
        byJob(ts, "lambda-path").length === 1 &&
        byJob(ts, "lambda-query").length === 1 &&
        byJob(ts, "lambda-sd").length === 2 &&
        ts.every((t) => t.health === "up"),
      "all Lambda targets up",
    );
    for (const t of targets) expect(new URL(t.scrapeUrl).host).toBe(new URL(adapter.url).host);
    expect(
      byJob(targets, "lambda-sd")
        .map((t) => t.labels.instance)
        .sort(),
    ).toEqual(["e2e/app/0", "e2e/app/1"]);
    expect(adapter.invocations).toBeGreaterThan(0);

    // Both exporters were reached; Prometheus re-sent the bearer token to the task (documented), and the
    // query-parameter secret never left the Lambda.
    const all = [...seen.values()].flat();
    for (const [ip, requests] of seen) expect(requests.length, ip).toBeGreaterThan(0);
    expect(all.some((r) => r.headers.authorization === `Bearer ${SECRET}`)).toBe(true);
    for (const r of all) {
      expect(r.url).not.toContain("secret");
      expect(r.headers["user-agent"]).toMatch(/^Prometheus\//);
    }
  });
});
