// CloudFormation templates in deploy/: parsed with the short-form intrinsic tags, checked against the
// CloudFormation resource specification (@aws-cdk/cfnspec), every reference resolved, and the IAM policies
// they create identical to the reviewed files in deploy/iam.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { parseCloudFormation } from "../../deploy/check/cfn-yaml.js";
import { evaluateTemplate } from "../../deploy/check/cfn-eval.js";
import * as cdk from "../../deploy/cdk/test/synth.js";
import type { BridgeCombination } from "../../deploy/cdk/test/synth.js";
import type { DiscoveryFeatures } from "../../deploy/cdk/src/index.js";
import { checkTemplate, type CfnSpec } from "../../deploy/check/cfn-spec.js";
import {
  actionsOf,
  checkPolicyStructure,
  isReadOnlyAction,
  type PolicyDocument,
} from "../../deploy/check/iam.js";

const require = createRequire(import.meta.url);
const spec = require("@aws-cdk/cfnspec/spec/specification.json") as CfnSpec;

type Obj = Record<string, unknown>;
type Resource = { Type: string; Condition?: string; Properties: Obj };
const load = (path: string): Obj => parseCloudFormation(readFileSync(path, "utf8"));
const resources = (t: Obj) => t.Resources as Record<string, Resource>;
const iamFile = (name: string): PolicyDocument =>
  JSON.parse(readFileSync(`deploy/iam/${name}.json`, "utf8")) as PolicyDocument;

const TEMPLATES = ["deploy/cloudformation.yaml", "deploy/cloudformation-target-account.yaml"];

describe.each(TEMPLATES)("%s", (path) => {
  const template = load(path);

  it("parses and fits the CloudFormation resource specification, with every reference defined", () => {
    expect(checkTemplate(template, spec)).toEqual([]);
  });

  it("every AWS::IAM::Policy is a read-only feature policy identical to its file in deploy/iam", () => {
    const policies = Object.values(resources(template)).filter((r) => r.Type === "AWS::IAM::Policy");
    expect(policies.length).toBeGreaterThanOrEqual(4);
    for (const p of policies) {
      const name = String(p.Properties.PolicyName);
      const doc = p.Properties.PolicyDocument as PolicyDocument;
      const file = iamFile(name);
      if (name === "cross-account-assume-role") {
        // Same statement; the role ARNs come from the AssumeRoleArns parameter.
        expect(doc.Statement.map((s) => ({ ...s, Resource: undefined }))).toEqual(
          file.Statement.map((s) => ({ ...s, Resource: undefined })),
        );
        expect(doc.Statement[0]!.Resource).toEqual({ Ref: "AssumeRoleArns" });
        expect(p.Condition).toBe("HasAssumeRoles");
        continue;
      }
      expect(doc, name).toEqual(file);
      expect(p.Condition, `${name} must be attached only when its feature is enabled`).toBeDefined();
      for (const s of doc.Statement) for (const a of actionsOf(s)) expect(isReadOnlyAction(a), a).toBe(true);
    }
  });

  it("every role's trust policy is well formed and scoped", () => {
    for (const [name, r] of Object.entries(resources(template))) {
      if (r.Type !== "AWS::IAM::Role") continue;
      const trust = r.Properties.AssumeRolePolicyDocument as PolicyDocument;
      expect(checkPolicyStructure(trust, { trust: true }), name).toEqual([]);
      for (const s of trust.Statement)
        expect(s.Condition, `${name} trusts without a condition`).toBeDefined();
    }
  });
});

describe("deploy/cloudformation.yaml", () => {
  const template = load("deploy/cloudformation.yaml");
  const res = resources(template);

  it("has the parameters the deployment needs: cluster, subnets, security groups, image, feature switches", () => {
    expect(Object.keys(template.Parameters as Obj)).toEqual(
      expect.arrayContaining([
        "ClusterName",
        "Subnets",
        "SecurityGroups",
        "Image",
        "EnableEcsDiscovery",
        "EnableBridgeModeLookups",
        "EnableCloudMap",
        "EnableExporter",
        "AssumeRoleArns",
      ]),
    );
  });

  it("feature switches gate the matching policy and the matching bridge option", () => {
    const env = Object.fromEntries(
      ((res.TaskDefinition!.Properties.ContainerDefinitions as Obj[])[0]!.Environment as Obj[]).map((e) => [
        e.Name,
        e.Value,
      ]),
    );
    expect(env.BRIDGE_ECS_ENABLED).toEqual({ Ref: "EnableEcsDiscovery" });
    expect(env.BRIDGE_CLOUDMAP_ENABLED).toEqual({ Ref: "EnableCloudMap" });
    expect(env.BRIDGE_EXPORTER_ENABLED).toEqual({ Ref: "EnableExporter" });
    const conditions = template.Conditions as Obj;
    expect(res.CloudMapPolicy!.Condition).toBe("CloudMapEnabled");
    expect(conditions.CloudMapEnabled).toEqual({ "Fn::Equals": [{ Ref: "EnableCloudMap" }, "true"] });
    expect(res.CloudWatchExporterPolicy!.Condition).toBe("ExporterEnabled");
    expect(conditions.ExporterEnabled).toEqual({ "Fn::Equals": [{ Ref: "EnableExporter" }, "true"] });
  });

  it("the task role gets every feature policy and the task runs with it", () => {
    for (const r of Object.values(res).filter((x) => x.Type === "AWS::IAM::Policy"))
      expect(r.Properties.Roles).toEqual([{ Ref: "TaskRole" }]);
    expect(res.TaskDefinition!.Properties.TaskRoleArn).toEqual({ "Fn::GetAtt": ["TaskRole", "Arn"] });
    expect(res.TaskDefinition!.Properties.ExecutionRoleArn).toEqual({
      "Fn::GetAtt": ["ExecutionRole", "Arn"],
    });
  });
});

describe("the template checker catches mistakes (so a clean result means something)", () => {
  const base = load("deploy/cloudformation.yaml");
  const mutate = (fn: (t: Obj) => void): string => {
    const t = structuredClone(base);
    fn(t);
    return checkTemplate(t, spec).join("\n");
  };
  const td = (t: Obj) => resources(t).TaskDefinition!.Properties;

  it("unknown property, wrong type, missing required property", () => {
    expect(mutate((t) => void (td(t).ReadOnlyRootFilesystem = true))).toMatch(
      /ReadOnlyRootFilesystem: unknown property/,
    );
    expect(mutate((t) => void ((td(t).ContainerDefinitions as Obj[])[0]!.Essential = [true]))).toMatch(
      /Essential: expected a boolean/,
    );
    expect(mutate((t) => void delete resources(t).TaskRole!.Properties.AssumeRolePolicyDocument)).toMatch(
      /missing required AssumeRolePolicyDocument/,
    );
  });

  it("undefined Ref, Sub variable, GetAtt attribute, condition; unused parameter; unguarded conditional resource", () => {
    expect(mutate((t) => void (td(t).Family = { Ref: "StackName" }))).toMatch(/Ref to undefined StackName/);
    expect(mutate((t) => void (td(t).Family = { "Fn::Sub": "${Nope}-bridge" }))).toMatch(/undefined Nope/);
    expect(mutate((t) => void (td(t).TaskRoleArn = { "Fn::GetAtt": ["TaskRole", "Name"] }))).toMatch(
      /has no attribute Name/,
    );
    expect(mutate((t) => void (resources(t).CloudMapPolicy!.Condition = "CloudMapOn"))).toMatch(
      /Condition CloudMapOn is not defined/,
    );
    expect(mutate((t) => void ((t.Parameters as Obj).Unused = { Type: "String" }))).toMatch(
      /Unused: never used/,
    );
    expect(
      mutate(
        (t) =>
          void (resources(t).Service!.Properties.ServiceRegistries = [
            { RegistryArn: { "Fn::GetAtt": ["RegistryService", "Arn"] } },
          ]),
      ),
    ).toMatch(/refers to RegistryService, which exists only if HasRegistry/);
  });
});

// One source of truth: for each feature combination, the hand-written template (evaluated with the
// matching parameter values) and the CDK construct (synthesised with the matching props) create the same
// deployment. Resources are compared under common names; CDK's generated names and IDs are not compared.
describe("the templates and the CDK constructs create the same deployment", () => {
  type Resources = ReturnType<typeof evaluateTemplate>;
  const BRIDGE = load("deploy/cloudformation.yaml");
  const TARGET = load("deploy/cloudformation-target-account.yaml");
  const flag = (on: boolean | undefined) => String(Boolean(on));

  const bridgeParameters = (c: BridgeCombination) => ({
    ClusterName: cdk.CLUSTER,
    Subnets: cdk.SUBNETS.join(","),
    SecurityGroups: cdk.SECURITY_GROUP,
    Image: cdk.IMAGE,
    EnableEcsDiscovery: String(c.ecsDiscovery ?? true),
    EnableBridgeModeLookups: flag(c.bridgeModeLookups),
    EnableCloudMap: flag(c.cloudMap),
    EnableExporter: flag(c.exporter),
    AssumeRoleArns: c.crossAccount ? cdk.TARGET_ROLE_ARN : "",
    Accounts: c.crossAccount ? `${cdk.TARGET_ROLE_ARN}|${cdk.EXTERNAL_ID}` : "",
    BearerTokenParameterName: c.bearerToken === "ssm" ? cdk.TOKEN_PARAMETER : "",
    RegistryNamespaceId: c.registry ? cdk.NAMESPACE_ID : "",
  });

  /** CDK logical ID -> the hand-written template's name for the same resource. */
  function commonNames(template: cdk.CfnTemplate): (id: string) => string {
    const names = new Map<string, string>();
    const BY_TYPE: Record<string, string> = {
      "AWS::ECS::TaskDefinition": "TaskDefinition",
      "AWS::ECS::Service": "Service",
      "AWS::Logs::LogGroup": "LogGroup",
      "AWS::ServiceDiscovery::Service": "RegistryService",
    };
    const roles = Object.entries(template.Resources).filter(([, r]) => r.Type === "AWS::IAM::Role");
    if (roles.length === 1) names.set(roles[0]![0], "DiscoveryRole");
    for (const [id, r] of Object.entries(template.Resources)) {
      if (BY_TYPE[r.Type]) names.set(id, BY_TYPE[r.Type]!);
      if (r.Type !== "AWS::ECS::TaskDefinition") continue;
      const roleOf = (key: string) => (r.Properties![key] as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0];
      names.set(roleOf("TaskRoleArn"), "TaskRole");
      names.set(roleOf("ExecutionRoleArn"), "ExecutionRole");
    }
    return (id) => names.get(id) ?? id;
  }

  const sorted = (v: unknown) => [v].flat().map(String).sort();
  const policy = (doc: PolicyDocument) =>
    doc.Statement.map(({ Action, Resource, ...rest }) => ({
      ...rest,
      Action: sorted(Action),
      Resource: sorted(Resource),
    }));
  const trust = (role: { Properties: Obj } | undefined) =>
    role &&
    (role.Properties.AssumeRolePolicyDocument as PolicyDocument).Statement.map(({ Sid: _, ...s }) => s);
  const pick = (o: Obj | undefined, keys: string[]) => o && Object.fromEntries(keys.map((k) => [k, o[k]]));

  /** What a deployment grants and runs, independent of how the template names things. */
  function deployment(res: Resources, roleName: string) {
    const ofType = (type: string) => Object.values(res).filter((r) => r.Type === type);
    const attachedTo = (role: string) =>
      ofType("AWS::IAM::Policy").filter(
        (p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([`Ref(${role})`]),
      );
    const container = (res.TaskDefinition?.Properties.ContainerDefinitions as Obj[] | undefined)?.[0];
    const execution = res.ExecutionRole && [
      ...((res.ExecutionRole.Properties.Policies ?? []) as { PolicyDocument: PolicyDocument }[]).map(
        (p) => p.PolicyDocument,
      ),
      ...attachedTo("ExecutionRole").map((p) => p.Properties.PolicyDocument as PolicyDocument),
    ];
    const service = res.Service?.Properties;
    return {
      featurePolicies: Object.fromEntries(
        attachedTo(roleName).map((p) => [
          p.Properties.PolicyName,
          policy(p.Properties.PolicyDocument as PolicyDocument),
        ]),
      ),
      roleTrust: trust(res[roleName]),
      role: pick(res[roleName]?.Properties, ["RoleName", "MaxSessionDuration"]),
      executionTrust: trust(res.ExecutionRole),
      executionActions:
        execution && [...new Set(execution.flatMap((d) => d.Statement.flatMap(actionsOf)))].sort(),
      logRetention: res.LogGroup?.Properties.RetentionInDays,
      task: pick(res.TaskDefinition?.Properties, [
        "TaskRoleArn",
        "ExecutionRoleArn",
        "NetworkMode",
        "RequiresCompatibilities",
        "RuntimePlatform",
        "Cpu",
        "Memory",
      ]),
      container: container && {
        ...pick(container, [
          "Name",
          "Image",
          "Essential",
          "User",
          "ReadonlyRootFilesystem",
          "LinuxParameters",
          "PortMappings",
          "Secrets",
          "HealthCheck",
          "StopTimeout",
          "LogConfiguration",
        ]),
        Environment: Object.fromEntries(
          (container.Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]),
        ),
      },
      service: service && {
        ...pick(service, [
          "Cluster",
          "TaskDefinition",
          "LaunchType",
          "PlatformVersion",
          "EnableECSManagedTags",
          "PropagateTags",
          "ServiceRegistries",
        ]),
        DesiredCount: Number(service.DesiredCount),
        network: service.NetworkConfiguration,
        deployment: pick(service.DeploymentConfiguration as Obj, [
          "MinimumHealthyPercent",
          "MaximumPercent",
          "DeploymentCircuitBreaker",
        ]),
      },
      registry: pick(res.RegistryService?.Properties, ["Name", "NamespaceId", "HealthCheckCustomConfig"]),
      registryDns: pick(res.RegistryService?.Properties.DnsConfig as Obj | undefined, [
        "RoutingPolicy",
        "DnsRecords",
      ]),
    };
  }

  const COMBINATIONS: BridgeCombination[] = [
    {},
    {
      ecsDiscovery: true,
      bridgeModeLookups: true,
      cloudMap: true,
      exporter: true,
      crossAccount: true,
      bearerToken: "ssm",
      registry: true,
    },
    { ecsDiscovery: false, cloudMap: true },
    { bridgeModeLookups: true, exporter: true },
    { bearerToken: "ssm", registry: true },
    { crossAccount: true, cloudMap: true },
  ];

  it.each(COMBINATIONS)("deploy/cloudformation.yaml = EcsPrometheusBridge %o", (c) => {
    const synthesised = cdk.synthBridge(c).template;
    const fromCdk = deployment(evaluateTemplate(synthesised, {}, commonNames(synthesised)), "TaskRole");
    const fromYaml = deployment(evaluateTemplate(BRIDGE, bridgeParameters(c)), "TaskRole");
    expect(fromCdk).toEqual(fromYaml);
    // The comparison sees the features (so equality means something).
    expect(Object.keys(fromYaml.featurePolicies).length).toBe(
      [c.ecsDiscovery ?? true, c.bridgeModeLookups, c.cloudMap, c.exporter, c.crossAccount].filter(Boolean)
        .length,
    );
  });

  const TARGET_FEATURES: DiscoveryFeatures[] = [
    {},
    { bridgeModeLookups: true, cloudMap: true, exporter: true },
    { ecsDiscovery: false, cloudMap: true },
  ];

  it.each(TARGET_FEATURES)(
    "deploy/cloudformation-target-account.yaml = EcsPrometheusBridgeTargetRole %o",
    (f) => {
      const synthesised = cdk.synthTargetRole(f).template;
      const fromCdk = deployment(
        evaluateTemplate(synthesised, {}, commonNames(synthesised)),
        "DiscoveryRole",
      );
      const fromYaml = deployment(
        evaluateTemplate(TARGET, {
          BridgeTaskRoleArn: `arn:aws:iam::${cdk.ACCOUNT}:role/bridge-task-role`,
          ExternalId: cdk.EXTERNAL_ID,
          EnableEcsDiscovery: String(f.ecsDiscovery ?? true),
          EnableBridgeModeLookups: flag(f.bridgeModeLookups),
          EnableCloudMap: flag(f.cloudMap),
          EnableExporter: flag(f.exporter),
        }),
        "DiscoveryRole",
      );
      expect(fromCdk).toEqual(fromYaml);
      expect(fromYaml.roleTrust).toHaveLength(1);
    },
  );

  it("the comparison notices a difference", () => {
    const synthesised = cdk.synthBridge({ cloudMap: true }).template;
    const fromCdk = deployment(evaluateTemplate(synthesised, {}, commonNames(synthesised)), "TaskRole");
    expect(fromCdk).not.toEqual(
      deployment(evaluateTemplate(BRIDGE, bridgeParameters({ cloudMap: false })), "TaskRole"),
    );
    expect(fromCdk).not.toEqual(
      deployment(
        evaluateTemplate(BRIDGE, { ...bridgeParameters({ cloudMap: true }), LogRetentionInDays: 7 }),
        "TaskRole",
      ),
    );
  });
});

describe("deploy/cloudformation-events.yaml", () => {
  const template = load("deploy/cloudformation-events.yaml");
  const r = resources(template);

  it("parses and fits the CloudFormation resource specification, with every reference defined", () => {
    expect(checkTemplate(template, spec)).toEqual([]);
  });

  it("the rule sends ECS task state change events to the queue, which has a dead-letter queue", () => {
    const rule = r.TaskStateChangeRule!.Properties;
    expect(rule.EventPattern).toEqual({ source: ["aws.ecs"], "detail-type": ["ECS Task State Change"] });
    expect(rule.Targets).toEqual([{ Id: "bridge-queue", Arn: { "Fn::GetAtt": ["Queue", "Arn"] } }]);
    expect(r.Queue!.Properties.RedrivePolicy).toMatchObject({
      deadLetterTargetArn: { "Fn::GetAtt": ["DeadLetterQueue", "Arn"] },
    });
  });

  it("only that rule may send to the queue", () => {
    const doc = r.QueuePolicy!.Properties.PolicyDocument as PolicyDocument;
    expect(doc.Statement).toHaveLength(1);
    const [s] = doc.Statement;
    expect(s!.Principal).toEqual({ Service: "events.amazonaws.com" });
    expect(actionsOf(s!)).toEqual(["sqs:SendMessage"]);
    expect(s!.Resource).toEqual({ "Fn::GetAtt": ["Queue", "Arn"] });
    expect(s!.Condition).toEqual({
      ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": ["TaskStateChangeRule", "Arn"] } },
    });
  });

  it("the consumer policy is deploy/iam/ecs-events.json on this queue only, attached only when asked", () => {
    const p = r.ConsumerPolicy!;
    const file = iamFile("ecs-events");
    const doc = p.Properties.PolicyDocument as PolicyDocument;
    expect(doc.Statement.map((s) => ({ ...s, Resource: undefined }))).toEqual(
      file.Statement.map((s) => ({ ...s, Resource: undefined })),
    );
    expect(doc.Statement[0]!.Resource).toEqual({ "Fn::GetAtt": ["Queue", "Arn"] });
    expect(p.Condition).toBe("HasTaskRole");
    expect(checkPolicyStructure(file)).toEqual([]);
  });
});
