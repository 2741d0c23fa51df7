// `npm run demo`: the bridge against a simulated AWS account, no AWS credentials needed. Starts the simulated
// endpoint with sim/scenarios/demo.yaml, sample /metrics servers on the simulated task addresses, and the
// bridge (ECS + Cloud Map discovery, Service Connect exporter) on 127.0.0.1:9100 or a free port.
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { loadConfig } from "./config.js";
import { createLogger } from "../core/log.js";
import { startSampleServers, type SampleServers } from "../sim/samples.js";
import { loadScenario } from "../sim/scenario.js";
import { startSimAws, type SimAws } from "../sim/server.js";
import type { Scenario } from "../sim/types.js";
import type { DiscoveredTarget } from "../sd/model.js";
import { startBridge, type Bridge } from "./bridge.js";
import { closeOnSignals, runIfEntry } from "./process.js";

export interface DemoOptions {
  /** Scenario file; default sim/scenarios/demo.yaml. */
  scenarioFile?: string;
  /** A scenario object instead of a file (tests move the demo to their own addresses). */
  scenario?: Scenario;
  /** Preferred bridge port (default 9100); a free port is used when it is taken. */
  bridgePort?: number;
  /** Extra bridge CLI flags, e.g. ["--log-level", "debug"]. */
  argv?: string[];
  /** Where the banner goes (default stdout). */
  print?: (text: string) => void;
}

export interface Demo {
  sim: SimAws;
  bridge: Bridge;
  samples: SampleServers;
  close(): Promise<void>;
}

/** The scenario in the source tree, seen from cmd/demo.ts (tsx/vitest) or from dist/cmd/demo.js. */
export function defaultScenarioFile(): string {
  const candidates = [
    new URL("../sim/scenarios/demo.yaml", import.meta.url),
    new URL("../../sim/scenarios/demo.yaml", import.meta.url),
  ];
  const found = candidates.map((u) => fileURLToPath(u)).find((p) => existsSync(p));
  if (!found)
    throw new Error(
      `demo scenario not found; looked at ${candidates.map((u) => fileURLToPath(u)).join(", ")}`,
    );
  return found;
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

export async function runDemo(opts: DemoOptions = {}): Promise<Demo> {
  const print = opts.print ?? ((t: string) => void process.stdout.write(t + "\n"));
  const scenario = opts.scenario ?? loadScenario(opts.scenarioFile ?? defaultScenarioFile());
  const sim = await startSimAws({ scenario });
  const samples = startSampleServers(sim, (m) => print(`warning: ${m}`));
  await samples.sync();
  // Tasks come and go through /_sim/*; keep the sample servers in step.
  const syncTimer = setInterval(() => void samples.sync(), 1000);
  syncTimer.unref();

  const host = "127.0.0.1";
  const wanted = opts.bridgePort ?? 9100;
  const port = wanted !== 0 && (await portFree(host, wanted)) ? wanted : 0;
  const config = loadConfig({
    env: {
      AWS_REGION: sim.region,
      BRIDGE_LISTEN_HOST: host,
      BRIDGE_LISTEN_PORT: String(port),
      BRIDGE_REFRESH_INTERVAL_SECONDS: "10",
      BRIDGE_LOG_LEVEL: "warn",
      BRIDGE_CLOUDMAP_ENABLED: "true",
      BRIDGE_CLOUDMAP_HEALTH_STATUS: "HEALTHY_OR_ELSE_ALL",
      BRIDGE_EXPORTER_ENABLED: "true",
      BRIDGE_EXPORTER_SCHEDULE: "*/30 * * * * *",
    },
    argv: opts.argv ?? [],
  });
  let bridge: Bridge;
  try {
    bridge = await startBridge({
      config,
      logger: createLogger(config.logLevel),
      // The simulated endpoint ignores signatures; explicit credentials keep the SDK away from IMDS.
      clientOptions: {
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        env: { AWS_ENDPOINT_URL: sim.url },
      },
    });
  } catch (err) {
    clearInterval(syncTimer);
    await samples.close();
    await sim.close();
    throw err;
  }
  // Wait (briefly) for the first refresh so the banner can say what was found.
  for (let i = 0; i < 50 && !bridge.discovery.snapshot().ready; i++)
    await new Promise((r) => setTimeout(r, 100));
  print(banner(sim, bridge, samples, port !== wanted ? wanted : undefined));

  let closing: Promise<void> | undefined;
  return {
    sim,
    bridge,
    samples,
    close() {
      closing ??= (async () => {
        clearInterval(syncTimer);
        await bridge.close();
        await samples.close();
        await sim.close();
      })();
      return closing;
    },
  };
}

function banner(sim: SimAws, bridge: Bridge, samples: SampleServers, portTaken?: number): string {
  const b = bridge.url;
  const s = sim.url;
  const snap = bridge.discovery.snapshot();
  const post = (path: string, body: unknown) => `curl -s -XPOST ${s}${path} -d '${JSON.stringify(body)}'`;
  return [
    "",
    "ecs-prometheus-bridge demo: a simulated AWS account (cluster demo, Cloud Map namespace demo-apps)",
    portTaken ? `  (port ${portTaken} was taken; the bridge listens on a free port)` : undefined,
    "",
    `Bridge                     ${b}`,
    `  all targets (http_sd)    curl -s ${b}/sd`,
    `  one service              curl -s '${b}/sd?service=web'`,
    `  bridge-mode service      curl -s '${b}/sd?service=legacy'`,
    `  Cloud Map only           curl -s '${b}/sd?source=cloudmap&namespace=demo-apps'`,
    `  metrics (self + Service Connect from CloudWatch)   curl -s ${b}/metrics | grep -E '^(aws_ecs|ecs_bridge)_'`,
    `  status                   curl -s ${b}/status`,
    `  health                   curl -s ${b}/healthz ; curl -s ${b}/readyz`,
    "",
    `Simulated AWS              ${s}   (AWS_ENDPOINT_URL=${s}, credentials test/test)`,
    `  what it holds            curl -s ${s}/_sim/state`,
    `  API calls so far         curl -s ${s}/_sim/calls`,
    `  scale web to 4           ${post("/_sim/services/scale", { cluster: "demo", service: "web", desiredCount: 4 })}`,
    `  run a standalone task    ${post("/_sim/tasks/start", { cluster: "demo", taskDefinition: "nightly-report" })}`,
    `  stop a task              ${post("/_sim/tasks/stop", { cluster: "demo", task: "<task id or ARN>" })}`,
    `  register in Cloud Map    ${post("/_sim/cloudmap/register", { namespace: "demo-apps", service: "payments", instanceId: "payments-4", attributes: { AWS_INSTANCE_IPV4: "127.0.0.53", AWS_INSTANCE_PORT: "9103" } })}`,
    `  throttle ECS             ${post("/_sim/throttling", { service: "ecs", burst: 5, refillPerSecond: 1 })}   (curl -XDELETE ${s}/_sim/throttling)`,
    `  fail the cluster         ${post("/_sim/faults", { cluster: "demo", status: 500 })}   (curl -XDELETE ${s}/_sim/faults)`,
    "",
    `Sample /metrics servers    ${samples.addresses().length} listening: ${samples.addresses().join(" ")}`,
    `Discovered now             ${snap.ready ? discovered(snap.targets) : "first refresh still running"} (refresh every 10 s)`,
    "",
    "Prometheus: scrape_configs: [{job_name: ecs, http_sd_configs: [{url: " + `${b}/sd}]}]`,
    "Ctrl-C stops everything.",
    "",
  ]
    .filter((l) => l !== undefined)
    .join("\n");
}

/** "7 targets, 2 of them found by both ECS and Cloud Map (served once)". */
function discovered(targets: readonly DiscoveredTarget[]): string {
  const both = targets.filter((t) => t.also?.length).length;
  return `${targets.length} targets${both ? `, ${both} of them found by both ECS and Cloud Map (served once)` : ""}`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let scenarioFile: string | undefined;
  const i = argv.indexOf("--scenario");
  if (i >= 0) {
    scenarioFile = argv[i + 1];
    argv.splice(i, 2);
  }
  const demo = await runDemo({ argv, ...(scenarioFile ? { scenarioFile } : {}) });
  closeOnSignals(
    () => demo.close(),
    5000,
    (signal) => void process.stdout.write(`\n${signal}: stopping the demo\n`),
  );
}

runIfEntry(import.meta.url, "demo", main);
