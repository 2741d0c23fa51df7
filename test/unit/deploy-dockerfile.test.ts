// The Dockerfile, checked without a Docker engine: it lints clean, builds in stages on Node 22, and the
// runtime stage is non-root, production-only, exec-form, with the health check ECS runs and OCI labels.
import { readFileSync } from "node:fs";
import type { RegisterTaskDefinitionRequest } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { imageNodeFlags } from "../../bench/node-flags.js";
import {
  execForm,
  healthcheckCommand,
  lint,
  parseStages,
  type Stage,
  type Step,
} from "../../deploy/check/dockerfile.js";

const text = readFileSync("Dockerfile", "utf8");
const stages = parseStages(text);
const runtime = stages.at(-1)!;
const steps = (stage: Stage, keyword: string): Step[] => stage.steps.filter((s) => s.keyword === keyword);
const stageNamed = (name: string | null): Stage | undefined => stages.find((s) => s.name === name);
const taskDef = JSON.parse(
  readFileSync("deploy/ecs/task-definition.json", "utf8"),
) as RegisterTaskDefinitionRequest;

describe("Dockerfile", () => {
  it("passes the dockerfile-utils linter (syntax, flags, durations, JSON forms)", () => {
    expect(lint(text)).toEqual([]);
  });

  it("the checks see problems in a broken Dockerfile", () => {
    const broken =
      "FROM node:22-bookworm-slim\nHEALTHCHECK --interval=30 CMD node x\nCOPY --frm=build a b\nCMD ['node', 'x']\n";
    expect(lint(broken).length).toBeGreaterThanOrEqual(2);
    expect(execForm("node dist/cmd/main.js")).toBeUndefined();
    expect(execForm(`["node", "dist/cmd/main.js"]`)).toEqual(["node", "dist/cmd/main.js"]);
  });

  it("is multi-stage and every stage is based on Node 22 (Debian 12)", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages)
      expect(s.image).toMatch(/^(node:22-bookworm-slim|gcr\.io\/distroless\/nodejs22-debian12(:\w+)?)$/);
  });

  it("the build stage installs all dependencies and runs the package's build script", () => {
    const build = stageNamed("build")!;
    const runs = steps(build, "RUN").map((s) => s.args);
    expect(runs).toContain("npm ci --no-audit --no-fund");
    expect(runs).toContain("npm run build");
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };
    // tsc, then the SDK client subsets bundled with esbuild (both dev dependencies, present in this stage).
    expect(pkg.scripts.build).toBe("node scripts/build.mjs");
  });

  it("the runtime stage copies only package.json, production node_modules and dist", () => {
    const copies = steps(runtime, "COPY").concat(steps(runtime, "ADD"));
    expect(steps(runtime, "ADD")).toEqual([]);
    const sources = copies.map((c) => `${c.flags.from ?? "context"}:${c.words[0]}`);
    expect(sources.sort()).toEqual(
      ["build:/app/dist", "context:package.json", "deps:/app/node_modules"].sort(),
    );
    const deps = stageNamed(copies.find((c) => c.words[0] === "/app/node_modules")!.flags.from!)!;
    const depsRun = steps(deps, "RUN")
      .map((s) => s.args)
      .join("\n");
    expect(depsRun).toMatch(/npm ci --omit=dev\b/);
    expect(steps(runtime, "RUN")).toEqual([]); // distroless: no shell to run anything in
  });

  it("runs as a non-root numeric user", () => {
    const users = steps(runtime, "USER");
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.args.trim().split(":").map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
  });

  it("starts node on dist/cmd/main.js in exec form (signals reach node, which handles SIGTERM)", () => {
    const entry = steps(runtime, "ENTRYPOINT");
    expect(entry).toHaveLength(1);
    const argv = execForm(entry[0]!.args);
    expect(argv, "ENTRYPOINT must be exec form").toBeDefined();
    expect(argv![0]).toBe("/nodejs/bin/node");
    expect(argv!.at(-1)).toBe("dist/cmd/main.js");
    // The benches run the bridge with the same flags (bench/node-flags.ts), V8's heap bounds among them.
    expect(imageNodeFlags()).toEqual(argv!.slice(1, -1));
    expect(imageNodeFlags()).toEqual(
      expect.arrayContaining(["--max-semi-space-size=2", "--heap-growing-percent=50"]),
    );
    for (const cmd of steps(runtime, "CMD"))
      expect(execForm(cmd.args), "CMD must be exec form").toBeDefined();
    expect(steps(runtime, "STOPSIGNAL").map((s) => s.args.trim())).not.toContain("SIGKILL");
  });

  it("has an exec-form HEALTHCHECK on /healthz, the same command the ECS task definition runs", () => {
    const hc = steps(runtime, "HEALTHCHECK");
    expect(hc).toHaveLength(1);
    const argv = healthcheckCommand(hc[0]!);
    expect(argv, "HEALTHCHECK CMD must be exec form").toBeDefined();
    expect(argv![0]).toBe("/nodejs/bin/node");
    expect(argv!.join(" ")).toMatch(/127\.0\.0\.1.*BRIDGE_LISTEN_PORT\|\|9100.*\/healthz/);
    expect(["CMD", ...argv!]).toEqual(taskDef.containerDefinitions![0]!.healthCheck!.command);
    expect(Object.keys(hc[0]!.flags).sort()).toEqual(["interval", "retries", "start-period", "timeout"]);
  });

  it("exposes 9100, sets NODE_ENV=production and carries OCI labels", () => {
    expect(steps(runtime, "EXPOSE").map((s) => s.args.trim())).toEqual(["9100"]);
    expect(steps(runtime, "ENV").flatMap((s) => Object.entries(s.properties))).toContainEqual([
      "NODE_ENV",
      "production",
    ]);
    const labels = Object.assign({}, ...steps(runtime, "LABEL").map((s) => s.properties)) as Record<
      string,
      string
    >;
    for (const key of ["title", "description", "licenses", "version", "revision", "created"])
      expect(labels[`org.opencontainers.image.${key}`], key).toBeTruthy();
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { license: string };
    expect(labels["org.opencontainers.image.licenses"]).toBe(pkg.license);
  });
});

describe(".dockerignore", () => {
  const lines = readFileSync(".dockerignore", "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));

  it("is an allow-list that re-includes exactly what `npm run build` compiles", () => {
    expect(lines[0]).toBe("*");
    const build = JSON.parse(readFileSync("tsconfig.build.json", "utf8")) as { include: string[] };
    // The build script itself: `node <file>`.
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };
    const script = /^node (\S+)$/.exec(pkg.scripts.build!)![1]!;
    const reincluded = lines.filter((l) => l.startsWith("!")).map((l) => l.slice(1));
    expect(reincluded.sort()).toEqual(
      [
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "tsconfig.build.json",
        script,
        ...build.include,
      ].sort(),
    );
  });
});
