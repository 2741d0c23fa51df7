// The CDK constructs in deploy/cdk, synthesised offline per feature combination: the resources each
// feature adds, IAM actions exactly as the code calls them (the reviewed files in deploy/iam), no
// wildcard actions, a non-root container on a read-only root filesystem, cdk-nag AwsSolutions clean, and
// every template valid against the CloudFormation resource specification.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { evaluateTemplate } from "../../deploy/check/cfn-eval.js";
import { checkTemplate, type CfnSpec } from "../../deploy/check/cfn-spec.js";
import { parseCloudFormation } from "../../deploy/check/cfn-yaml.js";
import { actionsOf, checkPolicyStructure, type PolicyDocument } from "../../deploy/check/iam.js";
import { METRICS } from "../../exporter/catalog.js";
import { testConfig } from "../helpers/config.js";
import {
  ACCESS_KEY_SECRET,
  ACCOUNT,
  CERTIFICATE_ARN,
  ENDPOINT_HOST_NAME,
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
const NEWER_THAN_SPEC = [
  /\.LoggingConfig: unknown property/,
  /\.InvokedViaFunctionUrl: unknown property/,
  /IncludeFilters\[0\]\.MetricNames: unknown property/,
];

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

describe("EcsPrometheusBridge metricStream (the exporter in stream mode)", () => {
  const s = synthBridge({ metricStream: true });
  // Fn::Join of the partition and the like resolved, as CloudFormation would.
  const evaluated = evaluateTemplate(s.template, {});
  const one = (type: string) => {
    const all = Object.values(evaluated).filter((r) => r.Type === type);
    expect(all, type).toHaveLength(1);
    return all[0]!.Properties;
  };
  const container = () => (one("AWS::ECS::TaskDefinition").ContainerDefinitions as Obj[])[0]!;
  const env = () =>
    Object.fromEntries(
      (container().Environment as { Name: string; Value: string }[]).map((e) => [e.Name, e.Value]),
    );
  /** The inline policy attached to the role of the given logical ID. */
  const policyOf = (roleId: string): PolicyDocument =>
    policies(s).find((p) => JSON.stringify(p.Roles) === JSON.stringify([{ Ref: roleId }]))!
      .PolicyDocument as PolicyDocument;
  const roleTrusting = (service: string): string =>
    Object.entries(s.template.Resources).find(
      ([, r]) =>
        r.Type === "AWS::IAM::Role" &&
        JSON.stringify(r.Properties!.AssumeRolePolicyDocument).includes(`"Service":"${service}"`),
    )![0];

  it("is cdk-nag clean and spec-valid; the task role needs no CloudWatch policy (no API call in stream mode)", () => {
    expectSound(s);
    const taskRole = (one("AWS::ECS::TaskDefinition").TaskRoleArn as string).replace(
      /^GetAtt\((\w+)\.Arn\)$/,
      "$1",
    );
    const ofTaskRole = policies(s).filter(
      (p) => JSON.stringify(p.Roles) === JSON.stringify([{ Ref: taskRole }]),
    );
    expect(ofTaskRole.map((p) => p.PolicyName)).toEqual(["ecs-discovery"]);
  });

  it("adds the metric stream, the Firehose stream, two roles, the backup bucket, the listener, its rule and target group", () => {
    for (const type of [
      "AWS::CloudWatch::MetricStream",
      "AWS::KinesisFirehose::DeliveryStream",
      "AWS::S3::Bucket",
      "AWS::ElasticLoadBalancingV2::Listener",
      "AWS::ElasticLoadBalancingV2::ListenerRule",
      "AWS::ElasticLoadBalancingV2::TargetGroup",
    ])
      s.assertions.resourceCountIs(type, 1);
    s.assertions.resourceCountIs("AWS::IAM::Role", 4);
  });

  it("switches the bridge to stream mode on its default route, the access key injected from the secret", () => {
    expect(env()).toMatchObject({
      BRIDGE_EXPORTER_ENABLED: "true",
      BRIDGE_EXPORTER_MODE: "stream",
      BRIDGE_EXPORTER_STREAM_PATH: testConfig().exporter.stream.path,
    });
    expect(JSON.stringify(container().Environment)).not.toContain(ACCESS_KEY_SECRET);
    expect(container().Secrets).toEqual([
      {
        Name: "BRIDGE_EXPORTER_STREAM_ACCESS_KEY",
        ValueFrom: `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${ACCESS_KEY_SECRET}`,
      },
    ]);
  });

  it("streams exactly the exporter's Service Connect metrics as JSON", () => {
    const stream = one("AWS::CloudWatch::MetricStream");
    expect(stream.OutputFormat).toBe("json");
    const filters = stream.IncludeFilters as { Namespace: string; MetricNames: string[] }[];
    expect(filters.map((f) => f.Namespace)).toEqual(["AWS/ECS"]);
    expect([...filters[0]!.MetricNames].sort()).toEqual([...new Set(METRICS.map((m) => m.name))].sort());
  });

  it("Firehose delivers gzip over HTTPS to the route, the key as a deploy-time reference, failures to S3", () => {
    const dest = one("AWS::KinesisFirehose::DeliveryStream").HttpEndpointDestinationConfiguration as Obj;
    expect(dest).toMatchObject({
      EndpointConfiguration: {
        Url: `https://${ENDPOINT_HOST_NAME}${testConfig().exporter.stream.path}`,
        AccessKey: `{{resolve:secretsmanager:arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:${ACCESS_KEY_SECRET}:SecretString:::}}`,
      },
      RequestConfiguration: { ContentEncoding: "GZIP" },
      S3BackupMode: "FailedDataOnly",
    });
  });

  it("each role may do exactly its one job", () => {
    const toStream = policyOf(roleTrusting("streams.metrics.cloudwatch.amazonaws.com")).Statement;
    expect(toStream.flatMap(actionsOf).sort()).toEqual(["firehose:PutRecord", "firehose:PutRecordBatch"]);
    expect(toStream[0]!.Resource).toEqual({
      "Fn::GetAtt": [expect.stringMatching(/DeliveryStream/), "Arn"],
    });
    const backup = policyOf(roleTrusting("firehose.amazonaws.com")).Statement;
    for (const a of backup.flatMap(actionsOf))
      expect(a).toMatch(/^s3:(PutObject|AbortMultipartUpload|GetBucketLocation|ListBucket)/);
    for (const p of policies(s))
      for (const a of (p.PolicyDocument as PolicyDocument).Statement.flatMap(actionsOf))
        expect(a).not.toMatch(/^(firehose|s3):.*(Delete|\*)/);
  });

  it("only POST on the delivery route reaches the bridge; everything else on 443 is a 404; nothing opened to the internet", () => {
    s.assertions.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
      Port: 443,
      Protocol: "HTTPS",
      Certificates: [{ CertificateArn: CERTIFICATE_ARN }],
      DefaultActions: [
        Match.objectLike({
          Type: "fixed-response",
          FixedResponseConfig: Match.objectLike({ StatusCode: "404" }),
        }),
      ],
    });
    s.assertions.hasResourceProperties("AWS::ElasticLoadBalancingV2::ListenerRule", {
      Priority: 1,
      Conditions: Match.arrayWith([
        Match.objectLike({
          Field: "path-pattern",
          PathPatternConfig: { Values: [testConfig().exporter.stream.path] },
        }),
        Match.objectLike({ Field: "http-request-method", HttpRequestMethodConfig: { Values: ["POST"] } }),
      ]),
    });
    s.assertions.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      TargetType: "ip",
      Port: 9100,
      Protocol: "HTTP",
      HealthCheckPath: "/healthz",
    });
    s.assertions.hasResourceProperties("AWS::ECS::Service", {
      LoadBalancers: [Match.objectLike({ ContainerName: "bridge", ContainerPort: 9100 })],
    });
    expect(JSON.stringify(s.template)).not.toContain("0.0.0.0/0");
  });

  it("matches deploy/cloudformation-metric-stream.yaml where both describe the same thing", () => {
    const yaml = evaluateTemplate(
      parseCloudFormation(readFileSync("deploy/cloudformation-metric-stream.yaml", "utf8")),
      {
        LoadBalancerArn: "alb",
        CertificateArn: CERTIFICATE_ARN,
        EndpointHostName: ENDPOINT_HOST_NAME,
        VpcId: "vpc-0123456789abcdef0",
        AccessKey: "0123456789abcdef",
      },
    );
    const fromYaml = (type: string) => Object.values(yaml).find((r) => r.Type === type)!.Properties;
    const yamlDest = fromYaml("AWS::KinesisFirehose::DeliveryStream")
      .HttpEndpointDestinationConfiguration as Obj;
    const cdkDest = one("AWS::KinesisFirehose::DeliveryStream").HttpEndpointDestinationConfiguration as Obj;
    for (const key of ["RequestConfiguration", "BufferingHints", "RetryOptions", "S3BackupMode"])
      expect(cdkDest[key], key).toEqual(yamlDest[key]);
    expect((cdkDest.EndpointConfiguration as Obj).Url).toBe((yamlDest.EndpointConfiguration as Obj).Url);
    expect(one("AWS::CloudWatch::MetricStream").IncludeFilters).toEqual(
      fromYaml("AWS::CloudWatch::MetricStream").IncludeFilters,
    );
    const listener = one("AWS::ElasticLoadBalancingV2::Listener");
    const yamlListener = fromYaml("AWS::ElasticLoadBalancingV2::Listener");
    for (const key of ["Port", "Protocol", "SslPolicy", "DefaultActions"])
      expect(listener[key], key).toEqual(yamlListener[key]);
  });

  it("refuses poll mode (exporter) and stream mode at once", () => {
    expect(() => synthBridge({ exporter: true, metricStream: true })).toThrow(/exclude each other/);
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
