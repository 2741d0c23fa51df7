// IAM policies in deploy/iam and the ones the CDK construct synthesises (deploy/cdk): structure, read-only
// exact actions that exist as SDK commands, and agreement with the code: every AWS operation the container's
// code sends is granted by its feature's policy, and every granted action is one the code sends (no spare
// permissions).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ACTION_OF_BATCH,
  PREFIX_BY_SDK_PACKAGE,
  actionsOf,
  checkPolicyStructure,
  isReadOnlyAction,
  sdkCommandExists,
  type PolicyDocument,
} from "../../deploy/check/iam.js";
import { synthBridge } from "../../deploy/cdk/test/synth.js";

const IAM_DIR = "deploy/iam";
const read = (name: string): PolicyDocument =>
  JSON.parse(readFileSync(join(IAM_DIR, `${name}.json`), "utf8")) as PolicyDocument;

/** EcsPrometheusBridge with every feature on: its policies by name, split by the role they are attached to. */
const bridge = synthBridge({
  bridgeModeLookups: true,
  cloudMap: true,
  exporter: true,
  crossAccount: true,
  bearerToken: "ssm",
  events: {},
}).template.Resources;
const taskDefinition = Object.values(bridge).find((r) => r.Type === "AWS::ECS::TaskDefinition")!.Properties!;
const policiesOfRole = (roleArn: unknown): Record<string, PolicyDocument> => {
  const role = (roleArn as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0];
  return Object.fromEntries(
    Object.values(bridge)
      .filter((r) => r.Type === "AWS::IAM::Policy")
      .filter((r) => JSON.stringify(r.Properties!.Roles) === JSON.stringify([{ Ref: role }]))
      .map((r) => [String(r.Properties!.PolicyName), r.Properties!.PolicyDocument as PolicyDocument]),
  );
};
const synthesised = policiesOfRole(taskDefinition.TaskRoleArn);
const fromCdk = (name: string): PolicyDocument => {
  const doc = synthesised[name];
  if (!doc) throw new Error(`the CDK construct synthesises no ${name} policy`);
  return doc;
};
/** Where feature policies come from: the reviewed files, and the CDK construct. */
const SOURCES: [string, (name: string) => PolicyDocument][] = [
  [IAM_DIR, read],
  ["deploy/cdk", fromCdk],
];

/** Feature policy file -> the IAM prefix of the SDK client its feature's code uses. */
const FEATURES: Record<string, string> = {
  "ecs-discovery": "ecs",
  "ec2-bridge-mode": "ec2",
  cloudmap: "servicediscovery",
  "cloudwatch-exporter": "cloudwatch",
  "cross-account-assume-role": "sts",
  "ecs-events": "sqs",
};
/** Features whose policy may write: consuming the events queue deletes its messages (checked on its own below). */
const NOT_READ_ONLY = ["cross-account-assume-role", "ecs-events"];
/**
 * Actions of another client that a feature's code sends whatever else is enabled: the ECS source asks EC2
 * for every awsvpc task's ENI public IP (Fargate too), so that call belongs to ECS discovery, not to the
 * optional EC2 host lookups.
 */
const ALSO_GRANTED: Record<string, string[]> = { "ecs-discovery": ["ec2:DescribeNetworkInterfaces"] };
const belongsTo = (action: string, feature: string): boolean =>
  action.startsWith(`${FEATURES[feature]}:`) || (ALSO_GRANTED[feature] ?? []).includes(action);
const TRUST = ["cross-account-trust-policy", "task-role-trust-policy"];
const EXECUTION = "task-execution-role";
/** What ECS itself needs to start the task (AmazonECSTaskExecutionRolePolicy, plus reading SSM secrets). */
const EXECUTION_ACTIONS = new Set([
  "ecr:GetAuthorizationToken",
  "ecr:BatchCheckLayerAvailability",
  "ecr:GetDownloadUrlForLayer",
  "ecr:BatchGetImage",
  "logs:CreateLogStream",
  "logs:PutLogEvents",
  "ssm:GetParameters",
]);

/** The code the container runs (not tests, not the simulated AWS, not the Lambda with its own role). */
const CODE_DIRS = ["core", "sd", "exporter"];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });
}

/**
 * The `{ names }` and SDK package of every value import in a file: `import { X } from "pkg"` (not
 * `import type`), `export { X } from "pkg"`, `const { X } = await import("pkg")`, and `const { X } = await sdk()` where
 * `const sdk = () => import("pkg")` (the SDK modules are loaded on first use).
 */
function sdkImports(text: string): [names: string, pkg: string][] {
  const pkg = String.raw`["'](@aws-sdk\/client-[a-z0-9-]+)["']`;
  const out: [string, string][] = [];
  // `export { X } from "pkg"`: a client subset (core/sdk/) names what the code calls through it.
  for (const m of text.matchAll(
    new RegExp(String.raw`(?:import|export)\s*\{([^{}]*)\}\s*from\s*${pkg}`, "g"),
  ))
    out.push([m[1]!, m[2]!]);
  for (const m of text.matchAll(
    new RegExp(String.raw`\{([^{}]*)\}\s*=\s*await\s+import\(\s*${pkg}\s*\)`, "g"),
  ))
    out.push([m[1]!, m[2]!]);
  for (const alias of text.matchAll(
    new RegExp(String.raw`const\s+(\w+)\s*=\s*\(\)\s*=>\s*import\(\s*${pkg}\s*\)`, "g"),
  ))
    for (const m of text.matchAll(new RegExp(String.raw`\{([^{}]*)\}\s*=\s*await\s+${alias[1]}\(\)`, "g")))
      out.push([m[1]!, alias[2]!]);
  return out;
}

/** `prefix:Operation` for every SDK command or paginator the code imports as a value. */
function actionsUsedByCode(files: string[]): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const [names, sdkPackage] of sdkImports(text)) {
      const prefix = PREFIX_BY_SDK_PACKAGE[sdkPackage];
      for (const raw of names.split(",")) {
        const name = raw.trim().split(/\s+as\s+/)[0]!;
        if (!name || name.startsWith("type ")) continue;
        const op = /^([A-Z]\w+)Command$/.exec(name)?.[1] ?? /^paginate([A-Z]\w+)$/.exec(name)?.[1];
        if (!op) continue;
        if (!prefix)
          throw new Error(`${file} uses ${sdkPackage}, which has no IAM prefix in deploy/check/iam.ts`);
        const action = ACTION_OF_BATCH[`${prefix}:${op}`] ?? `${prefix}:${op}`;
        used.set(action, [...(used.get(action) ?? []), file]);
      }
    }
    // Assumed-role credentials: the provider calls STS AssumeRole.
    if (/\bfromTemporaryCredentials\s*\(/.test(text))
      used.set("sts:AssumeRole", [...(used.get("sts:AssumeRole") ?? []), file]);
  }
  return used;
}

describe("deploy/iam feature policies", () => {
  it("the directory holds exactly the documented policies", () => {
    const files = readdirSync(IAM_DIR).map((f) => f.replace(/\.json$/, ""));
    expect(files.sort()).toEqual([...Object.keys(FEATURES), ...TRUST, EXECUTION].sort());
  });

  describe.each(SOURCES)("%s", (_source, load) => {
    for (const [name, prefix] of Object.entries(FEATURES)) {
      describe(name, () => {
        const doc = load(name);
        it("is a well-formed identity policy of exact actions", () => {
          expect(checkPolicyStructure(doc)).toEqual([]);
        });
        it(`grants only ${prefix}: actions (and its ALSO_GRANTED ones), each an SDK operation`, async () => {
          for (const s of doc.Statement)
            for (const action of actionsOf(s)) {
              expect(belongsTo(action, name), action).toBe(true);
              expect(await sdkCommandExists(action), `${action} has no ${action.split(":")[1]}Command`).toBe(
                true,
              );
            }
        });
        if (!NOT_READ_ONLY.includes(name))
          it("grants only read actions (List*, Describe*, Get*, Discover*)", () => {
            for (const s of doc.Statement)
              for (const a of actionsOf(s)) expect(isReadOnlyAction(a), a).toBe(true);
          });
      });
    }

    it("cross-account: only sts:AssumeRole, on listed role ARNs rather than *", () => {
      const doc = load("cross-account-assume-role");
      for (const s of doc.Statement) {
        expect(actionsOf(s)).toEqual(["sts:AssumeRole"]);
        const resources = [s.Resource].flat() as string[];
        for (const r of resources) expect(r).toMatch(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/);
      }
    });
  });

  it("the construct synthesises exactly the feature policies of deploy/iam", () => {
    expect(Object.keys(synthesised).sort()).toEqual(Object.keys(FEATURES).sort());
  });

  it("the checks fail on a write action, a wildcard and an operation the SDK does not have", async () => {
    expect(isReadOnlyAction("ecs:UpdateService")).toBe(false);
    expect(
      checkPolicyStructure({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "ecs:*", Resource: "*" }],
      }),
    ).toEqual([expect.stringContaining("not one exact action")]);
    expect(await sdkCommandExists("ecs:DescribeTask")).toBe(false);
    expect(await sdkCommandExists("servicediscovery:DiscoverInstances")).toBe(true);
  });
});

describe.each(SOURCES)("%s ecs-events", (source, load) => {
  const doc = load("ecs-events");
  it("is well-formed and grants only receiving, deleting and reading attributes of one queue", () => {
    expect(checkPolicyStructure(doc)).toEqual([]);
    expect(doc.Statement.flatMap(actionsOf).sort()).toEqual([
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ReceiveMessage",
    ]);
    for (const s of doc.Statement)
      if (source === IAM_DIR)
        expect(s.Resource).toMatch(/^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}$/);
      // The construct's own queue, by reference.
      else expect(s.Resource).toEqual({ "Fn::GetAtt": [expect.stringMatching(/Queue/), "Arn"] });
  });
});

describe("deploy/iam trust and execution policies", () => {
  it("the target-account role trusts the bridge's task role only with the external ID", () => {
    const doc = read("cross-account-trust-policy");
    expect(checkPolicyStructure(doc, { trust: true })).toEqual([]);
    const [s] = doc.Statement;
    expect(s!.Principal).toEqual({ AWS: expect.stringMatching(/^arn:aws:iam::\d{12}:role\//) });
    expect(s!.Condition?.StringEquals?.["sts:ExternalId"]).toEqual(expect.any(String));
  });

  it("the task role trusts ECS tasks of its own account only", () => {
    const doc = read("task-role-trust-policy");
    expect(checkPolicyStructure(doc, { trust: true })).toEqual([]);
    expect(doc.Statement[0]!.Principal).toEqual({ Service: "ecs-tasks.amazonaws.com" });
    expect(doc.Statement[0]!.Condition?.StringEquals?.["aws:SourceAccount"]).toMatch(/^\d{12}$/);
  });

  it("the execution role only pulls the image, writes logs and reads the token parameter", () => {
    const synthesisedExecution = Object.values(policiesOfRole(taskDefinition.ExecutionRoleArn));
    expect(synthesisedExecution).toHaveLength(1);
    for (const doc of [read(EXECUTION), ...synthesisedExecution]) {
      expect(checkPolicyStructure(doc)).toEqual([]);
      for (const s of doc.Statement) for (const a of actionsOf(s)) expect(EXECUTION_ACTIONS, a).toContain(a);
    }
  });
});

describe.each(SOURCES)("%s policies agree with the code", (_source, load) => {
  const used = actionsUsedByCode(CODE_DIRS.flatMap(sourceFiles));
  const granted = new Map<string, string>();
  for (const name of Object.keys(FEATURES))
    for (const s of load(name).Statement) for (const a of actionsOf(s)) granted.set(a, name);

  it("finds the operations the ECS source sends (the scan itself works)", () => {
    expect([...used.keys()]).toEqual(
      expect.arrayContaining(["ecs:ListTasks", "ecs:DescribeTasks", "sts:AssumeRole"]),
    );
  });

  it("every AWS operation the code sends is granted by its feature's policy", () => {
    const missing = [...used.entries()]
      .filter(([a]) => !granted.has(a))
      .map(([a, files]) => `${a} (called in ${files.join(", ")})`);
    expect(missing).toEqual([]);
    for (const action of used.keys())
      expect(belongsTo(action, granted.get(action)!), `${action} is in ${granted.get(action)}`).toBe(true);
  });

  it("the ENI public IPs (public_ip of every awsvpc task) need only ECS discovery, not the EC2 host lookups", () => {
    expect(granted.get("ec2:DescribeNetworkInterfaces")).toBe("ecs-discovery");
    expect(granted.get("ec2:DescribeInstances")).toBe("ec2-bridge-mode");
  });

  it("every granted action is sent by the code (least privilege)", () => {
    const spare = [...granted.keys()].filter((a) => !used.has(a));
    expect(spare).toEqual([]);
  });
});
