// The command line as a user runs it, in a child process against the simulated AWS: --once, --once
// --explain, check-config, and SIGHUP reloading the config file (a bad file keeps the running bridge).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSimAws, type SimAws } from "../../sim/index.js";
import { demoWithUnlabelledSidecar } from "../helpers/demo.js";

const MAIN = ["--import", "tsx", "cmd/main.ts"];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let sim: SimAws;
let env: NodeJS.ProcessEnv;

function run(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...MAIN, ...args],
      { env: { ...env, ...extraEnv }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  // A skip to explain: the demo estate's web tasks carry a sidecar without opt-in labels.
  sim = await startSimAws({ scenario: demoWithUnlabelledSidecar() });
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_REGION: sim.region,
    AWS_ENDPOINT_URL: sim.url,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    BRIDGE_AWS_MAX_ATTEMPTS: "1",
    BRIDGE_LISTEN_HOST: "127.0.0.1",
    BRIDGE_LISTEN_PORT: "0",
  };
}, 60_000);

afterAll(async () => {
  await sim?.close();
});

afterEach(() => sim.clearFaults());

describe("--once", () => {
  it("prints the http_sd JSON on stdout, logs only on stderr, exits 0", async () => {
    const r = await run(["--once"]);
    expect(r.code).toBe(0);
    const groups = JSON.parse(r.stdout) as { targets: string[]; labels: Record<string, string> }[];
    expect(groups.map((g) => g.targets[0])).toContain("127.0.0.2:9101");
    expect(r.stderr).toContain('"msg":"refresh done"');
  });

  it("--explain prints the skip table: the sidecar without opt-in, with its reason in words", async () => {
    const r = await run(["--once", "--explain"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[1]).toMatch(/^UNIT +TASK +SERVICE +CONTAINER +REASON +WHY$/);
    expect(
      lines.filter((l) => /\bweb +envoy +no_opt_in +not opted in: no PROMETHEUS_EXPORTER_PORT/.test(l)),
    ).toHaveLength(2);
  });

  it("exits 1 when a unit fails, naming the failing step and the fix on stderr", async () => {
    sim.addFault({ service: "ecs", operation: "ListTasks", code: "AccessDeniedException", status: 400 });
    const r = await run(["--once"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("ListTasks in ecs default/us-east-1/demo: AccessDeniedException");
    expect(r.stderr).toContain(
      "fix: grant ecs:ListTasks to the bridge's role (deploy/iam/ecs-discovery.json)",
    );
  });
});

describe("check-config", () => {
  it("exits 0 for a valid configuration whose credentials resolve", async () => {
    const r = await run(["check-config"]);
    expect(r.stderr).not.toContain("ecs-prometheus-bridge:");
    expect(r.stdout).toContain("configuration ok");
    expect(r.code).toBe(0);
  });

  it("exits 2 for an invalid value, naming it", async () => {
    const r = await run(["check-config"], { BRIDGE_REFRESH_INTERVAL_SECONDS: "soon" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refresh/i);
  });

  it("exits 2 when an account's role cannot be assumed", async () => {
    sim.addFault({ service: "sts", code: "AccessDenied", status: 403 });
    const r = await run(["check-config"], {
      BRIDGE_ACCOUNTS: "arn:aws:iam::210987654321:role/bridge",
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/credentials do not resolve:\n {2}210987654321\/us-east-1: AccessDenied/);
  });
});

describe("SIGHUP", () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill("SIGTERM");
  });

  it("a bad file keeps the running configuration and says why; a good one is applied", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bridge-hup-"));
    const file = join(dir, "bridge.yaml");
    writeFileSync(file, "clusters: [demo]\n");
    child = spawn(process.execPath, [...MAIN, "--config", file], { env });
    const lines: Record<string, unknown>[] = [];
    let buffered = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      for (const p of parts) if (p.startsWith("{")) lines.push(JSON.parse(p) as Record<string, unknown>);
    });
    const logged = async (msg: string, after = 0) => {
      await expect
        .poll(() => lines.slice(after).find((l) => l.msg === msg), { timeout: 20_000 })
        .toBeTruthy();
      return lines.slice(after).find((l) => l.msg === msg)!;
    };
    const first = (await logged("listening")).url as string;
    const units = async (url: string) =>
      ((await (await fetch(`${url}/status`)).json()) as { units: { unit: string }[] }).units.map(
        (u) => u.unit,
      );
    await expect.poll(() => units(first), { timeout: 20_000 }).toEqual(["default/us-east-1/demo"]);

    writeFileSync(file, "clusters: [demo\nrefreshIntervalSeconds: [\n");
    let mark = lines.length;
    child.kill("SIGHUP");
    const refused = await logged("config reload failed; keeping the running configuration", mark);
    expect(String(refused.error)).toMatch(/bridge\.yaml/);
    expect((await fetch(`${first}/healthz`)).status).toBe(200);

    writeFileSync(file, "clusters: [demo, elsewhere]\n");
    mark = lines.length;
    child.kill("SIGHUP");
    const url = (await logged("configuration reloaded", mark)).url as string;
    await expect
      .poll(() => units(url), { timeout: 20_000 })
      .toEqual(["default/us-east-1/demo", "default/us-east-1/elsewhere"]);
  }, 60_000);
});
