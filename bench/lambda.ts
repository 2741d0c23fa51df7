// Lambda benchmark: bundle size, and per fresh node process (a cold Lambda instance) the time to import
// the bundle and to answer the first request (which runs the first discovery against the simulated AWS
// endpoint on loopback), then a second, cached request. Standalone:
//   npm run build --silent && node dist/bench/lambda.js [runs] [tasks]
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { functionUrlEvent } from "../lambda/events.js";
import { startSimAws, type Scenario } from "../sim/index.js";

export interface ColdStart {
  /** Node process start until the bench script runs (runtime bootstrap, not ours). */
  nodeBootMs: number;
  /** `import()` of the bundle: parse and evaluate, build config, clients and the API. */
  moduleLoadMs: number;
  /** First invocation: first discovery (AWS calls) + redirect. */
  firstRequestMs: number;
  /** Second invocation within lambda.cacheSeconds: served from the module-scope cache. */
  cachedRequestMs: number;
  firstStatus: number;
  location?: string;
  awsCallsFirst: number;
  awsCallsCached: number;
}

export interface LambdaBench {
  bundleBytes: number;
  buildMs: number;
  tasks: number;
  runs: ColdStart[];
  median: Pick<ColdStart, "nodeBootMs" | "moduleLoadMs" | "firstRequestMs" | "cachedRequestMs">;
}

type BuildModule = {
  buildLambda(outfile?: string): Promise<{ outfile: string; bytes: number }>;
};

/** The repository root: where lambda/build.mjs is (works from bench/ and from dist/bench/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "lambda", "build.mjs"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("bench/lambda: cannot find lambda/build.mjs above " + import.meta.url);
    dir = up;
  }
  return dir;
}

// Runs in the fresh process: import the bundle, invoke twice, report timings on stdout.
const CHILD = `
const t0 = performance.now();
const { handler } = await import(process.env.BENCH_BUNDLE);
const t1 = performance.now();
const events = JSON.parse(process.env.BENCH_EVENTS);
const ctx = { awsRequestId: "bench", functionName: "bench" };
const r1 = await handler(events[0], ctx);
const t2 = performance.now();
process.stdout.write(JSON.stringify({ mark: "first", t0, t1, t2, status: r1.statusCode, location: r1.headers?.location }) + "\\n");
await new Promise((r) => process.stdin.once("data", r));
const t3 = performance.now();
await handler(events[1], ctx);
const t4 = performance.now();
process.stdout.write(JSON.stringify({ mark: "second", t3, t4 }) + "\\n");
process.exit(0);
`;

function scenario(tasks: number): Scenario {
  return {
    region: "us-east-1",
    ipPool: { tasks: "127.0.0.2" },
    taskDefinitions: [
      {
        family: "app",
        networkMode: "awsvpc",
        containerDefinitions: [{ name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9100" } }],
      },
    ],
    clusters: [{ name: "bench", services: [{ name: "app", taskDefinition: "app", desiredCount: tasks }] }],
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One cold start: a fresh node process with only the Lambda's environment. */
async function coldStart(bundle: string, env: NodeJS.ProcessEnv, calls: () => number): Promise<ColdStart> {
  const events = [
    functionUrlEvent({ url: "/targets/bench/app/0", headers: { "user-agent": "Prometheus/2.42.0" } }),
    functionUrlEvent({ url: "/targets/bench/app/1", headers: { "user-agent": "Prometheus/2.42.0" } }),
  ];
  const before = calls();
  const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD], {
    env: { ...env, BENCH_BUNDLE: pathToFileURL(bundle).href, BENCH_EVENTS: JSON.stringify(events) },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const lines: Record<string, number | string>[] = [];
  let buf = "";
  let afterFirst = 0;
  const done = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as Record<string, number | string>;
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (line.mark === "first") {
          afterFirst = calls();
          child.stdin.write("go\n");
        }
      }
    });
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`bench child exited ${code}: ${stderr}`)),
    );
  });
  await done;
  const [first, second] = lines as [Record<string, number>, Record<string, number>];
  return {
    nodeBootMs: first.t0!,
    moduleLoadMs: first.t1! - first.t0!,
    firstRequestMs: first.t2! - first.t1!,
    cachedRequestMs: second.t4! - second.t3!,
    firstStatus: first.status!,
    ...(first.location ? { location: String(first.location) } : {}),
    awsCallsFirst: afterFirst - before,
    awsCallsCached: calls() - afterFirst,
  };
}

export async function runLambdaBench(opts: { runs?: number; tasks?: number } = {}): Promise<LambdaBench> {
  const runs = opts.runs ?? 5;
  const tasks = opts.tasks ?? 20;
  const root = repoRoot();
  const { buildLambda } = (await import(
    pathToFileURL(join(root, "lambda", "build.mjs")).href
  )) as BuildModule;
  const dir = mkdtempSync(join(tmpdir(), "bench-lambda-"));
  const sim = await startSimAws({ scenario: scenario(tasks) });
  try {
    const start = performance.now();
    const { outfile, bytes } = await buildLambda(join(dir, "handler.mjs"));
    const buildMs = performance.now() - start;
    // Only what a Lambda would have: region, credentials, configuration; the endpoint is the simulator.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_ENDPOINT_URL: sim.url,
      BRIDGE_CLUSTERS: "bench",
      BRIDGE_LOG_LEVEL: "error",
      NODE_NO_WARNINGS: "1",
    };
    const results: ColdStart[] = [];
    for (let i = 0; i < runs; i++) results.push(await coldStart(outfile, env, () => sim.calls()));
    return {
      bundleBytes: bytes,
      buildMs,
      tasks,
      runs: results,
      median: {
        nodeBootMs: median(results.map((r) => r.nodeBootMs)),
        moduleLoadMs: median(results.map((r) => r.moduleLoadMs)),
        firstRequestMs: median(results.map((r) => r.firstRequestMs)),
        cachedRequestMs: median(results.map((r) => r.cachedRequestMs)),
      },
    };
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const runs = Number(process.argv[2] ?? 5);
  const tasks = Number(process.argv[3] ?? 20);
  const r = await runLambdaBench({ runs, tasks });
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  process.stdout.write(
    [
      `bundle: ${(r.bundleBytes / 1024).toFixed(0)} KiB (esbuild ${ms(r.buildMs)})`,
      `cold start, median of ${r.runs.length} fresh node processes, ${r.tasks} tasks behind the simulated AWS:`,
      `  node boot            ${ms(r.median.nodeBootMs)}`,
      `  bundle import        ${ms(r.median.moduleLoadMs)}`,
      `  first request        ${ms(r.median.firstRequestMs)} (${r.runs[0]!.awsCallsFirst} AWS calls, status ${r.runs[0]!.firstStatus})`,
      `  cached request       ${ms(r.median.cachedRequestMs)} (${r.runs[0]!.awsCallsCached} AWS calls)`,
      "",
    ].join("\n"),
  );
}
