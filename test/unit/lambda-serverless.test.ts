// serverless.yml packages offline with osls (the open-source Serverless v3-line CLI: no account, no AWS
// credentials, no network), and the CloudFormation it generates is what docs/lambda.md promises.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPTIONS, loadConfig } from "../../cmd/config.js";
import { ROOT, buildLambda } from "../../lambda/build.mjs";

const OSLS = join(ROOT, "node_modules", ".bin", "osls");

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string[];
  Resource: unknown;
}

let dir: string;
let bundleBytes: number;

beforeAll(async () => {
  // A copy of the service directory: serverless.yml and the freshly built bundle, nothing else.
  dir = mkdtempSync(join(tmpdir(), "bridge-sls-"));
  copyFileSync(join(ROOT, "serverless.yml"), join(dir, "serverless.yml"));
  mkdirSync(join(dir, "build", "lambda"), { recursive: true });
  bundleBytes = (await buildLambda(join(dir, "build", "lambda", "handler.mjs"))).bytes;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A shared secret for the runs that are not about it: packaging refuses a public URL without one. */
const SECRET = { BRIDGE_LAMBDA_SHARED_SECRET: "test-shared-secret" };

/** `osls package` with only PATH and the given deployer environment (no credentials). */
let runs = 0;
function runPackage(env: Record<string, string>) {
  const out = join(dir, `out-${++runs}`);
  const r = spawnSync(OSLS, ["package", "--stage", "test", "--region", "eu-west-1", "--package", out], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, SLS_TELEMETRY_DISABLED: "1", ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { ...r, out };
}

function slsPackage(env: Record<string, string>): { resources: Resources; out: string } {
  const { out, ...r } = runPackage({ ...SECRET, ...env });
  if (r.status !== 0) throw new Error(`osls package failed (${r.status}): ${r.stdout}\n${r.stderr}`);
  const template = JSON.parse(
    readFileSync(join(out, "cloudformation-template-update-stack.json"), "utf8"),
  ) as {
    Resources: Resources;
  };
  return { resources: template.Resources, out };
}

/** File names in a zip's central directory (no unzip tool needed). */
function zipEntries(zip: string): string[] {
  const buf = readFileSync(zip);
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const nameLen = buf.readUInt16LE(at + 28);
    names.push(buf.toString("utf8", at + 46, at + 46 + nameLen));
    at += 46 + nameLen + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
  }
  return names;
}

function statements(resources: Resources): Statement[] {
  const role = resources.IamRoleLambdaExecution!.Properties as {
    Policies: { PolicyDocument: { Statement: Statement[] } }[];
  };
  return role.Policies.flatMap((p) => p.PolicyDocument.Statement);
}

describe("serverless.yml", () => {
  it("packages offline: the zip holds only the bundle; function URL AuthType NONE; runtime, memory, timeout", () => {
    const role = "arn:aws:iam::111122223333:role/bridge-read";
    const { resources, out } = slsPackage({
      BRIDGE_CLUSTERS: "prod,staging",
      BRIDGE_ACCOUNTS: `${role}|ext-1`,
    });
    expect(zipEntries(join(out, "bridge.zip"))).toEqual(["build/lambda/handler.mjs"]);
    const fn = resources.BridgeLambdaFunction!.Properties;
    expect(fn).toMatchObject({
      Handler: "build/lambda/handler.handler",
      Runtime: "nodejs22.x",
      MemorySize: 256,
      Timeout: 10,
    });
    expect(resources.BridgeLambdaFunctionUrl).toMatchObject({
      Type: "AWS::Lambda::Url",
      Properties: { AuthType: "NONE" },
    });
    const permissions = Object.values(resources)
      .filter((r) => r.Type === "AWS::Lambda::Permission")
      .map((r) => r.Properties.Action);
    expect(permissions.sort()).toEqual(["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]);
    expect(bundleBytes).toBeGreaterThan(0);

    // The environment is the bridge's own configuration: every variable is a known option, and it loads.
    const vars = (fn.Environment as { Variables: Record<string, string> }).Variables;
    const known = new Set(OPTIONS.map((o) => o.env));
    for (const name of Object.keys(vars)) expect(known, name).toContain(name);
    expect(vars.BRIDGE_CLUSTERS).toBe("prod,staging");
    const config = loadConfig({ env: { ...vars, AWS_REGION: "eu-west-1" } });
    expect(config.clusters).toEqual(["prod", "staging"]);
    // docs/lambda.md lists `accounts` among the Lambda's settings: it must reach the function.
    expect(config.accounts).toEqual([{ roleArn: role, externalId: "ext-1" }]);
    expect(config.lambda.cacheSeconds).toBe(5);
    expect(config.cloudmap.enabled).toBe(false);
  }, 120_000);

  it("refuses to package the public function URL without a shared secret", () => {
    const unset: Record<string, string>[] = [{}, { BRIDGE_LAMBDA_SHARED_SECRET: "" }];
    for (const env of unset) {
      const r = runPackage(env);
      expect(r.status, JSON.stringify(env)).not.toBe(0);
      expect(`${r.stdout}${r.stderr}`).toContain(
        "BRIDGE_LAMBDA_SHARED_SECRET is empty - the public function URL needs a shared secret",
      );
    }
    // Any non-empty secret passes, whatever its characters, and reaches the function unchanged.
    const secret = "a.b,c}${x} 'q'";
    const { resources } = slsPackage({ BRIDGE_LAMBDA_SHARED_SECRET: secret });
    const fn = resources.BridgeLambdaFunction!.Properties as {
      Environment: { Variables: Record<string, string> };
    };
    expect(fn.Environment.Variables.BRIDGE_LAMBDA_SHARED_SECRET).toBe(secret);
  }, 240_000);

  it("least privilege: read-only discovery actions; Cloud Map read actions only when enabled", () => {
    const off = statements(slsPackage({}).resources).filter((s) => s.Sid);
    const allowed = off.filter((s) => s.Effect === "Allow").flatMap((s) => s.Action);
    expect(allowed.sort()).toEqual([
      "ec2:DescribeInstances",
      "ec2:DescribeNetworkInterfaces",
      "ecs:DescribeClusters",
      "ecs:DescribeContainerInstances",
      "ecs:DescribeServices",
      "ecs:DescribeTaskDefinition",
      "ecs:DescribeTasks",
      "ecs:ListClusters",
      "ecs:ListServices",
      "ecs:ListTasks",
    ]);
    expect(off.find((s) => s.Sid === "CloudMapDisabled")).toMatchObject({
      Effect: "Deny",
      Action: ["servicediscovery:*"],
    });

    const { resources } = slsPackage({ BRIDGE_CLOUDMAP_ENABLED: "true" });
    const on = statements(resources).filter((s) => s.Sid);
    const cloudMap = on.find((s) => s.Sid === "CloudMapDiscoveryReadOnly");
    expect(cloudMap?.Effect).toBe("Allow");
    for (const a of cloudMap!.Action) expect(a).toMatch(/^servicediscovery:(List|Get|Discover)[A-Za-z]+$/);
    expect(on.some((s) => s.Effect === "Deny")).toBe(false);
    const fn = resources.BridgeLambdaFunction!.Properties as {
      Environment: { Variables: Record<string, string> };
    };
    expect(fn.Environment.Variables.BRIDGE_CLOUDMAP_ENABLED).toBe("true");
    // No wildcard actions are ever allowed.
    for (const s of [...off, ...on])
      if (s.Effect === "Allow") for (const a of s.Action) expect(a).not.toContain("*");
  }, 240_000);
});
