// CloudFormation templates in deploy/: parsed with the short-form intrinsic tags, checked against the
// CloudFormation resource specification (@aws-cdk/cfnspec), every reference resolved, and the IAM policies
// they create identical to the reviewed files in deploy/iam.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { parseCloudFormation } from "../../deploy/check/cfn-yaml.js";
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
