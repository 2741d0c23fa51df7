// The CDK constructs in deploy/cdk, synthesised offline per feature combination: the resources each
// feature adds, IAM actions exactly as the code calls them (the reviewed files in deploy/iam), no
// wildcard actions, a non-root container on a read-only root filesystem, cdk-nag AwsSolutions clean, and
// every template valid against the CloudFormation resource specification.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { checkTemplate, type CfnSpec } from "../../deploy/check/cfn-spec.js";
import { actionsOf, checkPolicyStructure, type PolicyDocument } from "../../deploy/check/iam.js";
import {
  ACCOUNT,
  FunctionUrlAuthType,
  LAMBDA_SECRET,
  Match,
  TARGET_ROLE_ARN,
  synthBridge,
  synthLambda,
  synthTargetRole,
  synthesise,
  type BridgeCombination,
  type Synthesised,
} from "../../deploy/cdk/test/synth.js";
import { BridgeSampleStack } from "../../deploy/cdk/examples/sample-stack.js";

const require = createRequire(import.meta.url);
const spec = require("@aws-cdk/cfnspec/spec/specification.json") as CfnSpec;

type Obj = Record<string, unknown>;
const iamFile = (name: string): PolicyDocument =>
  JSON.parse(readFileSync(`deploy/iam/${name}.json`, "utf8")) as PolicyDocument;
const ofType = (s: Synthesised, type: string) =>
  Object.values(s.template.Resources)
    .filter((r) => r.Type === type)
    .map((r) => r.Properties ?? {});
const policies = (s: Synthesised) => ofType(s, "AWS::IAM::Policy");
const policyNamed = (s: Synthesised, name: string) => policies(s).find((p) => p.PolicyName === name);

/**
 * Properties CloudFormation added after the last @aws-cdk/cfnspec release (2023), which CDK sets: the
 * Lambda's log group (LoggingConfig, Nov 2023) and the function URL's invoke permission (2025).
 */
const NEWER_THAN_SPEC = [/\.LoggingConfig: unknown property/, /\.InvokedViaFunctionUrl: unknown property/];

/** Checks every synthesised template shares: spec-valid, nag clean, every policy of exact actions. */
function expectSound(s: Synthesised) {
  expect(s.nagFindings).toEqual([]);
  expect(checkTemplate(s.template, spec).filter((p) => !NEWER_THAN_SPEC.some((re) => re.test(p)))).toEqual(
    [],
  );
  for (const p of policies(s))
    expect(checkPolicyStructure(p.PolicyDocument), String(p.PolicyName)).toEqual([]);
  for (const r of ofType(s, "AWS::IAM::Role")) {
    expect(checkPolicyStructure(r.AssumeRolePolicyDocument, { trust: true })).toEqual([]);
    expect(r.ManagedPolicyArns, "no managed policies").toBeUndefined();
  }
}

/** The feature policies equal the reviewed files in deploy/iam (same Sid, same actions, same resources). */
function expectFeaturePolicies(s: Synthesised, names: string[]) {
  const feature = policies(s).filter((p) => !String(p.PolicyName).includes("DefaultPolicy"));
  expect(feature.map((p) => p.PolicyName).sort()).toEqual([...names].sort());
  for (const name of names) {
    const doc = policyNamed(s, name)!.PolicyDocument as PolicyDocument;
    const file = iamFile(name);
    expect(doc.Statement.map((st) => st.Sid)).toEqual(file.Statement.map((st) => st.Sid));
    expect(doc.Statement.flatMap(actionsOf).sort()).toEqual(file.Statement.flatMap(actionsOf).sort());
    if (name === "cross-account-assume-role") expect(doc.Statement[0]!.Resource).toBe(TARGET_ROLE_ARN);
    else expect(doc.Statement.map((st) => st.Resource)).toEqual(file.Statement.map((st) => st.Resource));
  }
}

const COMBINATIONS: [BridgeCombination, string[]][] = [
  [{}, ["ecs-discovery"]],
  [{ bridgeModeLookups: true }, ["ecs-discovery", "ec2-bridge-mode"]],
  [{ ecsDiscovery: false, cloudMap: true }, ["cloudmap"]],
  [{ exporter: true, registry: true }, ["ecs-discovery", "cloudwatch-exporter"]],
  [{ crossAccount: true, bearerToken: "ssm" }, ["ecs-discovery", "cross-account-assume-role"]],
  [
    {
      bridgeModeLookups: true,
      cloudMap: true,
      exporter: true,
      crossAccount: true,
      bearerToken: "secretsmanager",
      registry: true,
    },
    ["ecs-discovery", "ec2-bridge-mode", "cloudmap", "cloudwatch-exporter", "cross-account-assume-role"],
  ],
];

describe("EcsPrometheusBridge", () => {
  describe.each(COMBINATIONS)("%o", (combination, expected) => {
    const s = synthBridge(combination);

    it("is cdk-nag clean, spec-valid, and its policies are exact read-only actions", () => expectSound(s));

    it(`the task role holds exactly ${expected.join(", ")}`, () => {
      expectFeaturePolicies(s, expected);
      const taskRoleArn = (
        ofType(s, "AWS::ECS::TaskDefinition")[0]!.TaskRoleArn as { "Fn::GetAtt": [string] }
      )["Fn::GetAtt"][0];
      for (const name of expected) expect(policyNamed(s, name)!.Roles).toEqual([{ Ref: taskRoleArn }]);
    });

    it("creates the service, task definition, log group and (only when asked) the Cloud Map registration", () => {
      s.assertions.resourceCountIs("AWS::ECS::Service", 1);
      s.assertions.resourceCountIs("AWS::ECS::TaskDefinition", 1);
      s.assertions.resourceCountIs("AWS::Logs::LogGroup", 1);
      s.assertions.resourceCountIs("AWS::IAM::Role", 2);
      s.assertions.resourceCountIs("AWS::ServiceDiscovery::Service", combination.registry ? 1 : 0);
      s.assertions.hasResourceProperties("AWS::ECS::Service", {
        LaunchType: "FARGATE",
        ServiceRegistries: combination.registry ? Match.anyValue() : Match.absent(),
      });
    });

    it("runs the container as a non-root user on a read-only root filesystem, without capabilities", () => {
      s.assertions.hasResourceProperties("AWS::ECS::TaskDefinition", {
        ContainerDefinitions: [
          Match.objectLike({
            User: "65532:65532",
            ReadonlyRootFilesystem: true,
            LinuxParameters: { Capabilities: { Drop: ["ALL"] }, InitProcessEnabled: true },
          }),
        ],
      });
    });

    it("switches the bridge's features to match the policies", () => {
      const env = Object.fromEntries(
        (
          (ofType(s, "AWS::ECS::TaskDefinition")[0]!.ContainerDefinitions as Obj[])[0]!.Environment as {
            Name: string;
            Value: string;
          }[]
        ).map((e) => [e.Name, e.Value]),
      );
      expect(env.BRIDGE_ECS_ENABLED).toBe(String(expected.includes("ecs-discovery")));
      expect(env.BRIDGE_CLOUDMAP_ENABLED).toBe(String(expected.includes("cloudmap")));
      expect(env.BRIDGE_EXPORTER_ENABLED).toBe(String(expected.includes("cloudwatch-exporter")));
      expect(env.BRIDGE_ACCOUNTS).toBe(
        combination.crossAccount ? `${TARGET_ROLE_ARN}|bridge-external-id` : "",
      );
    });
  });

  it("injects the bearer token from SSM or Secrets Manager, readable only by the execution role", () => {
    const ssm = synthBridge({ bearerToken: "ssm" });
    ssm.assertions.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: "ssm:GetParameters", Resource: Match.anyValue() }),
        ]),
      },
    });
    const sm = synthBridge({ bearerToken: "secretsmanager" });
    for (const s of [ssm, sm])
      s.assertions.hasResourceProperties("AWS::ECS::TaskDefinition", {
        ContainerDefinitions: [
          Match.objectLike({ Secrets: [{ Name: "BRIDGE_AUTH_BEARER_TOKEN", ValueFrom: Match.anyValue() }] }),
        ],
      });
    const smActions = policies(sm).flatMap((p) =>
      (p.PolicyDocument as PolicyDocument).Statement.flatMap(actionsOf),
    );
    expect(smActions).toContain("secretsmanager:GetSecretValue");
    // Only the execution role (ECS) reads the token; the task role never gets ssm or secretsmanager.
    for (const s of [ssm, sm])
      for (const p of policies(s).filter((x) => !String(x.PolicyName).includes("DefaultPolicy")))
        for (const a of (p.PolicyDocument as PolicyDocument).Statement.flatMap(actionsOf))
          expect(a).not.toMatch(/^(ssm|secretsmanager):/);
  });

  it("refuses bridge/host mode lookups without ECS discovery", () => {
    expect(() => synthBridge({ ecsDiscovery: false, bridgeModeLookups: true })).toThrow(
      /bridgeModeLookups needs ecsDiscovery/,
    );
  });
});

describe("EcsPrometheusBridgeTargetRole", () => {
  it.each([
    [{}, ["ecs-discovery"]],
    [
      { bridgeModeLookups: true, cloudMap: true, exporter: true },
      ["ecs-discovery", "ec2-bridge-mode", "cloudmap", "cloudwatch-exporter"],
    ],
  ])(
    "%o: one role trusting the bridge's task role with the external ID, holding %o",
    (features, expected) => {
      const s = synthTargetRole(features);
      expectSound(s);
      expectFeaturePolicies(s, expected);
      s.assertions.resourceCountIs("AWS::IAM::Role", 1);
      s.assertions.hasResourceProperties("AWS::IAM::Role", {
        MaxSessionDuration: 3600,
        AssumeRolePolicyDocument: {
          Statement: [
            Match.objectLike({
              Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/bridge-task-role` },
              Condition: { StringEquals: { "sts:ExternalId": "bridge-external-id" } },
            }),
          ],
        },
      });
    },
  );
});

describe("EcsPrometheusBridgeLambda", () => {
  it("refuses a public function URL (AuthType NONE) without a shared secret", () => {
    expect(() => synthLambda({})).toThrow(/AuthType NONE is public; set sharedSecret/);
  });

  it("with a shared secret: function URL AuthType NONE, the secret resolved at deploy time, exact policies", () => {
    const s = synthLambda({
      sharedSecret: LAMBDA_SECRET,
      cloudMap: true,
      crossAccountRoles: [{ roleArn: TARGET_ROLE_ARN }],
    });
    expectSound(s);
    expectFeaturePolicies(s, ["ecs-discovery", "cloudmap", "cross-account-assume-role"]);
    s.assertions.hasResourceProperties("AWS::Lambda::Url", { AuthType: "NONE" });
    s.assertions.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "handler.handler",
      Architectures: ["arm64"],
      Environment: {
        Variables: Match.objectLike({
          BRIDGE_LAMBDA_SHARED_SECRET: Match.stringLikeRegexp("^\\{\\{resolve:secretsmanager:"),
          BRIDGE_CLOUDMAP_ENABLED: "true",
          BRIDGE_ACCOUNTS: TARGET_ROLE_ARN,
        }),
      },
    });
  });

  it("AuthType AWS_IAM needs no shared secret", () => {
    const s = synthLambda({ functionUrlAuthType: FunctionUrlAuthType.AWS_IAM });
    expectSound(s);
    s.assertions.hasResourceProperties("AWS::Lambda::Url", { AuthType: "AWS_IAM" });
  });
});

describe("the sample app (deploy/cdk/examples)", () => {
  it("synthesises offline, cdk-nag clean and spec-valid", () => {
    const s = synthesise(
      (stack) =>
        new BridgeSampleStack(stack, "Sample", {
          vpc: {
            vpcId: "vpc-0123456789abcdef0",
            vpcCidrBlock: "10.0.0.0/16",
            availabilityZones: ["eu-west-1a"],
            privateSubnetIds: ["subnet-0123456789abcdef0"],
          },
          clusterName: "monitoring",
          repositoryName: "ecs-prometheus-bridge",
          imageTag: "0.1.0",
          targetRoleArn: TARGET_ROLE_ARN,
          externalId: "bridge-external-id",
        }),
    );
    expect(s.nagFindings).toEqual([]);
  });
});
