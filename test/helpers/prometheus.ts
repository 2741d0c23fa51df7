// Starts a real Prometheus (the Debian package's binary) on loopback for end-to-end tests.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";

/** False only outside CI when the binary is missing; in CI a missing Prometheus fails the e2e tests. */
export function prometheusAvailable(): boolean {
  return existsSync(PROMETHEUS_BIN) || Boolean(process.env.CI);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface ActiveTarget {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  health: "up" | "down" | "unknown";
  lastError: string;
}

export interface RunningPrometheus {
  url: string;
  targets(): Promise<ActiveTarget[]>;
  /** Polls until `check` passes (bounded); returns the last targets. Never asserts on time. */
  waitFor(
    check: (targets: ActiveTarget[]) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<ActiveTarget[]>;
  /** The vector an instant PromQL query returns (labels of each sample). */
  query(promql: string): Promise<Record<string, string>[]>;
  log(): string;
  stop(): Promise<void>;
}

/**
 * `configYaml` is the full prometheus.yml text; `files` are written next to it (e.g. a `credentials_file`,
 * which Prometheus resolves relative to the config file).
 */
export async function startPrometheus(
  configYaml: string,
  files: Record<string, string> = {},
): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), "bridge-prom-"));
  const configFile = join(dir, "prometheus.yml");
  writeFileSync(configFile, configYaml);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = "";
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));

  const targets = async (): Promise<ActiveTarget[]> => {
    const res = await fetch(`${url}/api/v1/targets?state=active`);
    const body = (await res.json()) as { data: { activeTargets: ActiveTarget[] } };
    return body.data.activeTargets;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  const ready = async (): Promise<void> => {
    for (let i = 0; i < 300; i++) {
      if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${output}`);
      try {
        if ((await fetch(`${url}/-/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`prometheus did not become ready: ${output}`);
  };
  await ready();

  return {
    url,
    targets,
    async waitFor(check, what, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: ActiveTarget[] = [];
      while (Date.now() < deadline) {
        last = await targets();
        if (check(last)) return last;
        await sleep(250);
      }
      throw new Error(
        `timed out waiting for ${what}; last targets: ${JSON.stringify(last, null, 1)}\n${output}`,
      );
    },
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { result: { metric: Record<string, string> }[] };
      };
      if (body.status !== "success") throw new Error(`query ${promql} failed: ${body.error}`);
      return body.data!.result.map((r) => r.metric);
    },
    log: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Scrape URLs among the active targets more than once (across jobs): endpoints scraped twice. */
export function scrapedTwice(targets: ActiveTarget[]): string[] {
  return targets.map((t) => t.scrapeUrl).filter((u, i, all) => all.indexOf(u) !== i);
}

/** A prometheus.yml with one job discovering through the bridge's http_sd URL, scraping every second. */
export function httpSdConfig(job: string, url: string, relabelRules: string[]): string {
  return [
    "global: { scrape_interval: 1s, scrape_timeout: 900ms }",
    "scrape_configs:",
    `  - job_name: ${job}`,
    "    http_sd_configs:",
    `      - url: ${url}`,
    "        refresh_interval: 1s",
    "    relabel_configs:",
    ...relabelRules.map((r) => `      - ${r}`),
  ].join("\n");
}
