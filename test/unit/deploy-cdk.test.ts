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
  type CfnTemplate,
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
    // The construct's own queue: the file names an example queue's ARN.
    else if (name === "ecs-events")
      expect(doc.Statement[0]!.Resource).toEqual({ "Fn::GetAtt": [expect.stringMatching(/Queue/), "Arn"] });
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
      events: {},
    },
    [
      "ecs-discovery",
      "ec2-bridge-mode",
      "cloudmap",
      "cloudwatch-exporter",
      "cross-account-assume-role",
      "ecs-events",
    ],
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
      expect(env.BRIDGE_ECS_EVENTS_ENABLED).toBe(expected.includes("ecs-events") ? "true" : undefined);
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

describe("EcsPrometheusBridge events (event-driven ECS discovery)", () => {
  const s = synthBridge({
    events: { reconcileIntervalSeconds: 600, drainingGraceSeconds: 60, clusters: ["prod"] },
  });
  const byType = (t: CfnTemplate, type: string) =>
    Object.entries(t.Resources).filter(([, r]) => r.Type === type);
  const only = (type: string) => {
    const all = byType(s.template, type);
    expect(all, type).toHaveLength(1);
    return all[0]!;
  };
  const [queueId, queue] = byType(s.template, "AWS::SQS::Queue").find(
    ([, r]) => r.Properties!.RedrivePolicy,
  )!;
  const [dlqId] = byType(s.template, "AWS::SQS::Queue").find(([id]) => id !== queueId)!;
  const [ruleId, rule] = only("AWS::Events::Rule");
  const queueArn = { "Fn::GetAtt": [queueId, "Arn"] };
  const containerEnv = () =>
    Object.fromEntries(
      (
        (ofType(s, "AWS::ECS::TaskDefinition")[0]!.ContainerDefinitions as Obj[])[0]!.Environment as {
          Name: string;
          Value: unknown;
        }[]
      ).map((e) => [e.Name, e.Value]),
    );

  it("is cdk-nag clean and spec-valid, with no suppression", () => expectSound(s));

  it("adds the rule, the queue with its dead-letter queue (both SSE, TLS only) and their queue policies", () => {
    s.assertions.resourceCountIs("AWS::SQS::Queue", 2);
    s.assertions.resourceCountIs("AWS::SQS::QueuePolicy", 2);
    s.assertions.resourceCountIs("AWS::IAM::Role", 2);
    expect(queue.Properties!.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [dlqId, "Arn"] },
      maxReceiveCount: 5,
    });
    for (const [, q] of byType(s.template, "AWS::SQS::Queue"))
      expect(q.Properties!.SqsManagedSseEnabled).toBe(true);
    for (const [, p] of byType(s.template, "AWS::SQS::QueuePolicy"))
      expect((p.Properties!.PolicyDocument as PolicyDocument).Statement).toContainEqual(
        expect.objectContaining({
          Effect: "Deny",
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }),
      );
  });

  it("the rule sends ECS task state changes of the given clusters to the queue, and only it may send", () => {
    expect(rule.Properties!.EventPattern).toMatchObject({
      source: ["aws.ecs"],
      "detail-type": ["ECS Task State Change"],
    });
    const narrowed = evaluateTemplate(s.template, {})[ruleId]!.Properties.EventPattern as Obj;
    expect(narrowed.detail).toEqual({ clusterArn: [`arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/prod`] });
    expect(rule.Properties!.Targets).toEqual([{ Arn: queueArn, Id: expect.any(String) }]);
    const allows = byType(s.template, "AWS::SQS::QueuePolicy")
      .flatMap(([, p]) => (p.Properties!.PolicyDocument as PolicyDocument).Statement)
      .filter((st) => st.Effect === "Allow");
    expect(allows).toEqual([
      {
        Sid: "EventBridgeRuleSends",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn,
        Condition: { ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": [ruleId, "Arn"] } } },
      },
    ]);
  });

  it("the task role may receive, delete and read attributes of that queue only (deploy/iam/ecs-events.json)", () => {
    expectFeaturePolicies(s, ["ecs-discovery", "ecs-events"]);
    const doc = policyNamed(s, "ecs-events")!.PolicyDocument as PolicyDocument;
    expect(doc.Statement).toHaveLength(1);
    expect(actionsOf(doc.Statement[0]!).sort()).toEqual([
      "sqs:DeleteMessage",
      "sqs:GetQueueAttributes",
      "sqs:ReceiveMessage",
    ]);
    expect(doc.Statement[0]!.Resource).toEqual(queueArn);
    const taskRole = (ofType(s, "AWS::ECS::TaskDefinition")[0]!.TaskRoleArn as { "Fn::GetAtt": [string] })[
      "Fn::GetAtt"
    ][0];
    expect(policyNamed(s, "ecs-events")!.Roles).toEqual([{ Ref: taskRole }]);
  });

  it("switches the bridge to events on that queue, with the given reconcile and draining grace", () => {
    expect(containerEnv()).toMatchObject({
      BRIDGE_ECS_ENABLED: "true",
      BRIDGE_ECS_EVENTS_ENABLED: "true",
      BRIDGE_ECS_EVENTS_QUEUE_URLS: { Ref: queueId },
      BRIDGE_ECS_EVENTS_RECONCILE_INTERVAL_SECONDS: "600",
      BRIDGE_ECS_EVENTS_DRAINING_GRACE_SECONDS: "60",
    });
    const env = Object.fromEntries(
      Object.entries(containerEnv()).map(([k, v]) => [
        k,
        typeof v === "string" ? v : `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/q`,
      ]),
    );
    const cfg = testConfig(env);
    expect(cfg.ecs.events).toMatchObject({
      enabled: true,
      reconcileIntervalSeconds: 600,
      drainingGraceSeconds: 60,
    });
  });

  it("without the optional settings: the bridge's defaults, every cluster unless discoverClusters narrows it", () => {
    const plain = synthBridge({ events: {} });
    expectSound(plain);
    const env = (
      plain.template.Resources[
        Object.keys(plain.template.Resources).find(
          (k) => plain.template.Resources[k]!.Type === "AWS::ECS::TaskDefinition",
        )!
      ]!.Properties!.ContainerDefinitions as Obj[]
    )[0]!.Environment as { Name: string }[];
    expect(
      env
        .map((e) => e.Name)
        .filter((n) => n.startsWith("BRIDGE_ECS_EVENTS_"))
        .sort(),
    ).toEqual(["BRIDGE_ECS_EVENTS_ENABLED", "BRIDGE_ECS_EVENTS_QUEUE_URLS"]);
    expect(ofType(plain, "AWS::Events::Rule")[0]!.EventPattern).toEqual({
      source: ["aws.ecs"],
      "detail-type": ["ECS Task State Change"],
    });
    const narrowed = synthBridge({
      events: {},
      discoverClusters: ["arn:aws:ecs:eu-west-1:123456789012:cluster/a"],
    });
    expect(ofType(narrowed, "AWS::Events::Rule")[0]!.EventPattern).toMatchObject({
      detail: { clusterArn: ["arn:aws:ecs:eu-west-1:123456789012:cluster/a"] },
    });
  });

  it("matches deploy/cloudformation-events.yaml where both describe the same thing", () => {
    const yaml = parseCloudFormation(readFileSync("deploy/cloudformation-events.yaml", "utf8"));
    const y = (id: string) => (yaml.Resources as Record<string, { Properties: Obj }>)[id]!.Properties;
    const plain = synthBridge({ events: {} });
    const one = (type: string) => ofType(plain, type);
    const [q] = one("AWS::SQS::Queue").filter((p) => p.RedrivePolicy);
    const [dlq] = one("AWS::SQS::Queue").filter((p) => !p.RedrivePolicy);
    for (const key of ["MessageRetentionPeriod", "SqsManagedSseEnabled"])
      expect(dlq![key], key).toEqual(y("DeadLetterQueue")[key]);
    expect(q!.MessageRetentionPeriod).toBe(3600); // the yaml's MessageRetentionSeconds default
    for (const key of ["VisibilityTimeout", "ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled"])
      expect(q![key], key).toEqual(y("Queue")[key]);
    expect((q!.RedrivePolicy as Obj).maxReceiveCount).toBe((y("Queue").RedrivePolicy as Obj).maxReceiveCount);
    const r = one("AWS::Events::Rule")[0]!;
    for (const key of ["Description", "State", "EventPattern"])
      expect(r[key], key).toEqual(y("TaskStateChangeRule")[key]);
    const strip = (st: PolicyDocument["Statement"][number]) => ({
      ...st,
      Resource: undefined,
      Condition: undefined,
    });
    const yamlSend = (y("QueuePolicy").PolicyDocument as PolicyDocument).Statement;
    const cdkSend = one("AWS::SQS::QueuePolicy")
      .flatMap((p) => (p.PolicyDocument as PolicyDocument).Statement)
      .filter((st) => st.Effect === "Allow");
    expect(cdkSend.map(strip)).toEqual(yamlSend.map(strip));
    const yamlConsume = (y("ConsumerPolicy").PolicyDocument as PolicyDocument).Statement;
    const cdkConsume = (policyNamed(plain, "ecs-events")!.PolicyDocument as PolicyDocument).Statement;
    expect(cdkConsume.map(strip)).toEqual(yamlConsume.map(strip));
    expect(policyNamed(plain, "ecs-events")!.PolicyName).toBe(y("ConsumerPolicy").PolicyName);
  });

  it("refuses events without ECS discovery, with several tasks on one queue, and settings the bridge refuses", () => {
    expect(() => synthBridge({ ecsDiscovery: false, cloudMap: true, events: {} })).toThrow(
      /events needs ecsDiscovery/,
    );
    expect(() => synthBridge({ events: {}, desiredCount: 2 })).toThrow(/one queue per replica/);
    expect(() => synthBridge({ events: { reconcileIntervalSeconds: 10 } })).toThrow(
      /events.reconcileIntervalSeconds: 10 is not a whole number from 30 to 86400/,
    );
    expect(() => synthBridge({ events: { drainingGraceSeconds: 3601 } })).toThrow(/from 0 to 3600/);
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
