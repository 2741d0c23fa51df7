// Smoke test of what the image runs, assembled without a Docker engine: the Dockerfile's `deps` stage is
// replayed (its RUN lines, verbatim, in a scratch directory), dist/ is compiled by the package's build
// script, and both are laid out as the runtime stage's COPY lines say. Then the ENTRYPOINT and HEALTHCHECK
// commands of the Dockerfile run against it: --help, config errors (exit 2), serving, health, SIGTERM.
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPTIONS } from "../../cmd/config.js";
import { execForm, healthcheckCommand, parseStages, type Stage } from "../../deploy/check/dockerfile.js";
import { startSimAws } from "../../sim/index.js";

const stages = parseStages(readFileSync("Dockerfile", "utf8"));
const runtime = stages.at(-1)!;
const workdirOf = (s: Stage): string =>
  s.steps
    .filter((x) => x.keyword === "WORKDIR")
    .at(-1)
    ?.args.trim() ?? "/";
const entrypoint = execForm(runtime.steps.find((s) => s.keyword === "ENTRYPOINT")!.args)!;
const healthcheck = healthcheckCommand(runtime.steps.find((s) => s.keyword === "HEALTHCHECK")!)!;
/** The image's node binary is /nodejs/bin/node; here it is the node running the tests. */
const local = (argv: string[]): string[] =>
  argv.map((a) => (a === "/nodejs/bin/node" ? process.execPath : a));

let root: string;
let app: string;

function du(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, name) => sum + du(join(path, name)), 0);
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout: 240_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
}

/** Lays out a stage's /app (its WORKDIR) in a directory: COPY from the context, then its RUN lines via sh. */
function replayStage(stage: Stage, dir: string): void {
  for (const step of stage.steps) {
    if (step.keyword === "COPY" && !step.flags.from)
      for (const src of step.words.slice(0, -1))
        cpSync(src, join(dir, posix.basename(src)), { recursive: true });
    if (step.keyword === "RUN")
      // Offline-first: the packages are already in the npm cache after the repository's own `npm ci`.
      run("sh", ["-c", step.args], dir, { ...process.env, npm_config_prefer_offline: "true" });
  }
}

/** A clean environment: explicit fake credentials and an AWS endpoint on loopback, so nothing leaves the host. */
function bridgeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: root,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "eu-west-1",
    AWS_ENDPOINT_URL: "http://127.0.0.1:9",
    AWS_EC2_METADATA_DISABLED: "true",
    ...extra,
  };
}

function runBridge(args: string[], env: NodeJS.ProcessEnv) {
  const [cmd, ...rest] = local(entrypoint);
  return spawnSync(cmd!, [...rest, ...args], { cwd: app, env, encoding: "utf8", timeout: 30_000 });
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "bridge-image-"));
  const stageDirs = new Map<string, string>();
  // The stages the runtime copies from: `deps` replayed verbatim; `build` is the package's build script
  // with the output directory moved into the scratch tree (running its `npm ci` again would add nothing).
  for (const step of runtime.steps.filter((s) => s.keyword === "COPY" && s.flags.from)) {
    const name = step.flags.from!;
    if (stageDirs.has(name)) continue;
    const stage = stages.find((s) => s.name === name)!;
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    if (stage.steps.some((s) => s.keyword === "RUN" && s.args === "npm run build"))
      run("npm", ["run", "build", "--silent", "--", "--outDir", join(dir, "dist")], process.cwd());
    else replayStage(stage, dir);
    stageDirs.set(name, dir);
  }
  app = join(root, "app");
  mkdirSync(app);
  for (const step of runtime.steps.filter((s) => s.keyword === "COPY")) {
    const [src, dest] = step.words as [string, string];
    const from = step.flags.from
      ? join(
          stageDirs.get(step.flags.from)!,
          posix.relative(workdirOf(stages.find((s) => s.name === step.flags.from)!), src),
        )
      : src;
    // Docker semantics: a destination ending in "/" is a directory the source goes into.
    cpSync(from, join(app, dest, dest.endsWith("/") ? posix.basename(src) : ""), { recursive: true });
  }
}, 300_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("the image's artefact (deps stage replayed + build script output)", () => {
  it("stays small: production node_modules under 40 MB, dist under 5 MB", () => {
    const nodeModules = du(join(app, "node_modules"));
    const dist = du(join(app, "dist"));
    console.log(
      `image payload: node_modules ${(nodeModules / 1e6).toFixed(1)} MB, dist ${(dist / 1e6).toFixed(2)} MB`,
    );
    expect(nodeModules).toBeLessThan(40e6);
    expect(dist).toBeLessThan(5e6);
    // Development tooling never reaches the image.
    for (const dev of ["typescript", "vitest", "esbuild", "nock", "eslint"])
      expect(() => statSync(join(app, "node_modules", dev)), dev).toThrow();
  });

  it("--help exits 0 and lists every flag", () => {
    const r = runBridge(["--help"], bridgeEnv());
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Usage:");
    for (const o of OPTIONS) expect(r.stdout).toContain(o.flag);
  });

  it("an invalid flag value exits 2 naming the key", () => {
    const r = runBridge(["--listen-port", "70000"], bridgeEnv());
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/listen\.port \(flag --listen-port\)/);
  });

  it("an invalid environment value exits 2 naming the key and the variable", () => {
    const r = runBridge([], bridgeEnv({ BRIDGE_REFRESH_INTERVAL_SECONDS: "1" }));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/refreshIntervalSeconds \(env BRIDGE_REFRESH_INTERVAL_SECONDS\)/);
  });

  it("without any AWS credentials exits 2, says so and points to the demo", () => {
    const env = bridgeEnv();
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    const r = runBridge([], env);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no AWS credentials configured/);
    expect(r.stderr).toContain("npm run demo");
  });

  it("serves, passes the Dockerfile's HEALTHCHECK, and exits 0 on SIGTERM", async () => {
    const [cmd, ...rest] = local(entrypoint);
    const env = bridgeEnv({
      BRIDGE_LISTEN_HOST: "127.0.0.1",
      BRIDGE_LISTEN_PORT: "0",
      BRIDGE_REFRESH_INTERVAL_SECONDS: "3600",
      BRIDGE_AWS_MAX_ATTEMPTS: "1",
    });
    const child: ChildProcess = spawn(cmd!, rest, { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    try {
      let out = "";
      const port = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening" log line:\n${out}`)), 20_000);
        child.stdout!.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const m = /"listening".*?http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.once("exit", () => reject(new Error(`bridge exited early:\n${out}`)));
      });
      const check = () => {
        const [hcCmd, ...hcArgs] = local(healthcheck);
        return spawnSync(hcCmd!, hcArgs, { env: { BRIDGE_LISTEN_PORT: port }, timeout: 10_000 }).status;
      };
      expect(check()).toBe(0);
      child.kill("SIGTERM");
      const result = await Promise.race([
        exited,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error("no exit within 15 s of SIGTERM")), 15_000),
        ),
      ]);
      expect(result).toEqual({ code: 0, signal: null });
      expect(check()).toBe(1);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });

  it("discovers the demo estate with --once: ECS and EC2 answer through the bundled client subsets", async () => {
    // The build replaced the EC2 re-export with a bundle of the two operations the bridge calls.
    const subset = readFileSync(join(app, "dist/core/sdk/ec2.js"), "utf8");
    expect(subset).not.toMatch(/from ["']@aws-sdk\/client-ec2["']/);
    expect(subset).not.toContain("DescribeVpcsCommand");
    // And only the schemas those operations reach (core/sdk/bundle.mjs): without it every
    // one of EC2's structures was kept, unused, in a 1 MiB bundle.
    expect(subset).toContain("DescribeInstancesRequest$");
    expect(subset).not.toContain("AllocateAddressRequest$");
    // ECS likewise: the operations discovery makes, not the other sixty.
    const ecs = readFileSync(join(app, "dist/core/sdk/ecs.js"), "utf8");
    expect(ecs).not.toMatch(/from ["']@aws-sdk\/client-ecs["']/);
    expect(ecs).toContain("DescribeTasksCommand");
    expect(ecs).not.toContain("CreateClusterCommand");
    const sim = await startSimAws({ scenario: "sim/scenarios/demo.yaml" });
    try {
      const [cmd, ...rest] = local(entrypoint);
      // Asynchronously: the simulated AWS answers from this process.
      const r = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
        execFile(
          cmd!,
          [...rest, "--once"],
          {
            cwd: app,
            env: bridgeEnv({
              AWS_REGION: sim.region,
              AWS_ENDPOINT_URL: sim.url,
              BRIDGE_AWS_MAX_ATTEMPTS: "1",
            }),
            timeout: 60_000,
          },
          (err, stdout, stderr) => resolve({ status: err ? Number(err.code ?? -1) : 0, stdout, stderr }),
        ),
      );
      expect(r.status, r.stderr).toBe(0);
      const groups = JSON.parse(r.stdout) as { labels: Record<string, string> }[];
      // Bridge-mode tasks: their address and ec2_* labels come from DescribeInstances.
      const onEc2 = groups.filter((g) => g.labels.__meta_ecs_ec2_instance_id);
      expect(onEc2.length).toBeGreaterThan(0);
      expect(onEc2.every((g) => g.labels.__meta_ecs_ec2_instance_private_ip)).toBe(true);
      expect(sim.callCounts()).toMatchObject({ "ec2:DescribeInstances": expect.any(Number) });
    } finally {
      await sim.close();
    }
  });

  it("validates with the bundled zod subset exactly as with the package: same issues, same messages", async () => {
    // The build replaced core/zod.js with a bundle of the schema builders the options use, without the
    // package's 64 locales; its English messages must stay (config errors quote them).
    const bundle = readFileSync(join(app, "dist/core/zod.js"), "utf8");
    expect(bundle).not.toMatch(/from ["']zod["']/);
    expect(bundle).not.toContain("Nieprawidłowe"); // the Polish locale, one of those left out
    const cases = `[
      z.string().safeParse(1),
      z.number().int().min(5).safeParse(2.5),
      z.enum(["debug", "info"]).safeParse("loud"),
      z.strictObject({ a: z.string() }).safeParse({ a: "x", b: 1 }),
      z.stringbool().safeParse("maybe"),
      z.array(z.string()).min(1).safeParse([]),
      z.record(z.string(), z.number()).safeParse({ k: "v" }),
      z.object({ url: z.string().url() }).safeParse({ url: "not a url" }),
    ].map((r) => r.error?.issues)`;
    const run = (from: string): Promise<string> =>
      new Promise((resolve, reject) =>
        execFile(
          process.execPath,
          [
            "--input-type=module",
            "-e",
            `import * as z from "${from}"; console.log(JSON.stringify(${cases}));`,
          ],
          { cwd: app },
          (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)),
        ),
      );
    const [bundled, pkg] = await Promise.all([run("./dist/core/zod.js"), run("zod")]);
    expect(JSON.parse(bundled)).toEqual(JSON.parse(pkg));
    expect(bundled).toContain("Invalid input: expected string, received number");
  });
});
