// Offline synthesis for the tests: one stack per feature combination, in a fixed account and region, with
// cdk-nag's AwsSolutions pack as a validation plugin. The tests in test/unit import this module (the CDK
// packages resolve from deploy/cdk/node_modules).
import {
  App,
  DefaultStackSynthesizer,
  SecretValue,
  Stack,
  Validations,
  aws_ec2 as ec2,
  aws_ecr as ecr,
  aws_ecs as ecs,
  aws_elasticloadbalancingv2 as elbv2,
  aws_lambda,
  aws_secretsmanager as secretsmanager,
  aws_servicediscovery as servicediscovery,
} from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { Construct } from "constructs";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  EcsPrometheusBridge,
  EcsPrometheusBridgeLambda,
  EcsPrometheusBridgeTargetRole,
  type DiscoveryFeatures,
  type EcsPrometheusBridgeLambdaProps,
  type EventsProps,
} from "../src/index.js";

export { Match, Template } from "aws-cdk-lib/assertions";
export const FunctionUrlAuthType = aws_lambda.FunctionUrlAuthType;

export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";
export const TARGET_ROLE_ARN = "arn:aws:iam::210987654321:role/ecs-prometheus-bridge-discovery";
export const EXTERNAL_ID = "bridge-external-id";
export const REPOSITORY = "ecs-prometheus-bridge";
export const IMAGE = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${REPOSITORY}:0.1.0`;
export const TOKEN_PARAMETER = "ecs-prometheus-bridge/bearer-token";
export const NAMESPACE_ID = "ns-0123456789abcdef";
export const REGISTRY_NAME = "ecs-prometheus-bridge";
export const CLUSTER = "bridge-cluster";
export const SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"];
export const SECURITY_GROUP = "sg-0123456789abcdef0";
export const LOAD_BALANCER_ARN = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/metrics-in/0123456789abcdef`;
export const LOAD_BALANCER_SECURITY_GROUP = "sg-0fedcba9876543210";
export const CERTIFICATE_ARN = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/01234567-89ab-cdef-0123-456789abcdef`;
export const ENDPOINT_HOST_NAME = "metrics-in.example.com";
export const ACCESS_KEY_SECRET = "ecs-prometheus-bridge/stream-access-key";

/** A feature combination of EcsPrometheusBridge, in the terms of the CloudFormation template's switches. */
export interface BridgeCombination extends DiscoveryFeatures {
  crossAccount?: boolean;
  bearerToken?: "ssm" | "secretsmanager";
  registry?: boolean;
  /** Stream mode: the metric stream through an HTTPS listener on an existing load balancer. */
  metricStream?: boolean;
  /** Event-driven ECS discovery: the rule, the queue and its dead-letter queue, the ecs-events policy. */
  events?: EventsProps;
  discoverClusters?: string[];
  desiredCount?: number;
}

export type CfnTemplate = Record<string, unknown> & {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
};

export interface Synthesised {
  template: CfnTemplate;
  assertions: Template;
  /** cdk-nag AwsSolutions findings (errors and warnings), `rule at construct path`. */
  nagFindings: string[];
}

/** Synthesises `build(stack)` in a fresh app with cdk-nag's AwsSolutions checks; the cloud assembly is removed. */
export function synthesise(build: (stack: Stack) => void): Synthesised {
  const outdir = mkdtempSync(join(tmpdir(), "bridge-cdk-"));
  try {
    // The project's own spec check validates the templates; CDK's built-in validation would add ~10 s.
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    const stack = new Stack(app, "Bridge", {
      env: { account: ACCOUNT, region: REGION },
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
    });
    build(stack);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    let template: CfnTemplate;
    try {
      template = app.synth().getStackByName("Bridge").template as CfnTemplate;
    } catch (e) {
      // Error-level findings stop the synthesis; the report says which.
      if (!existsSync(join(outdir, "validation-report.json"))) throw e;
      return {
        template: { Resources: {} },
        assertions: Template.fromJSON({}),
        nagFindings: findings(outdir),
      };
    }
    return { template, assertions: Template.fromJSON(template), nagFindings: findings(outdir) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

interface ValidationReport {
  pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
}

function findings(outdir: string): string[] {
  const path = join(outdir, "validation-report.json");
  if (!existsSync(path)) return [];
  const report = JSON.parse(readFileSync(path, "utf8")) as ValidationReport;
  return report.pluginReports.flatMap((p) =>
    p.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} at ${c.constructPath}`)),
  );
}

function existingCluster(scope: Construct): ecs.ICluster {
  const vpc = ec2.Vpc.fromVpcAttributes(scope, "Vpc", {
    vpcId: "vpc-0123456789abcdef0",
    availabilityZones: [`${REGION}a`, `${REGION}b`],
    privateSubnetIds: SUBNETS,
  });
  return ecs.Cluster.fromClusterAttributes(scope, "Cluster", { clusterName: CLUSTER, vpc });
}

export function synthBridge(c: BridgeCombination): Synthesised {
  return synthesise((stack) => {
    const repository = ecr.Repository.fromRepositoryName(stack, "Repository", REPOSITORY);
    new EcsPrometheusBridge(stack, "Bridge", {
      cluster: existingCluster(stack),
      image: ecs.ContainerImage.fromEcrRepository(repository, "0.1.0"),
      securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, "Sg", SECURITY_GROUP)],
      ecsDiscovery: c.ecsDiscovery,
      bridgeModeLookups: c.bridgeModeLookups,
      cloudMap: c.cloudMap,
      exporter: c.exporter,
      events: c.events,
      discoverClusters: c.discoverClusters,
      desiredCount: c.desiredCount,
      crossAccountRoles: c.crossAccount ? [{ roleArn: TARGET_ROLE_ARN, externalId: EXTERNAL_ID }] : undefined,
      bearerToken:
        c.bearerToken === "ssm"
          ? { ssmParameterName: TOKEN_PARAMETER }
          : c.bearerToken === "secretsmanager"
            ? { secret: secretsmanager.Secret.fromSecretNameV2(stack, "Token", TOKEN_PARAMETER) }
            : undefined,
      registry: c.registry
        ? {
            namespace: servicediscovery.PrivateDnsNamespace.fromPrivateDnsNamespaceAttributes(stack, "Ns", {
              namespaceName: "monitoring.internal",
              namespaceId: NAMESPACE_ID,
              namespaceArn: `arn:aws:servicediscovery:${REGION}:${ACCOUNT}:namespace/${NAMESPACE_ID}`,
            }),
            name: REGISTRY_NAME,
          }
        : undefined,
      metricStream: c.metricStream
        ? {
            loadBalancer: elbv2.ApplicationLoadBalancer.fromApplicationLoadBalancerAttributes(stack, "Alb", {
              loadBalancerArn: LOAD_BALANCER_ARN,
              securityGroupId: LOAD_BALANCER_SECURITY_GROUP,
            }),
            certificateArn: CERTIFICATE_ARN,
            endpointHostName: ENDPOINT_HOST_NAME,
            accessKey: secretsmanager.Secret.fromSecretNameV2(stack, "AccessKey", ACCESS_KEY_SECRET),
          }
        : undefined,
    });
  });
}

export function synthTargetRole(features: DiscoveryFeatures): Synthesised {
  return synthesise(
    (stack) =>
      new EcsPrometheusBridgeTargetRole(stack, "Target", {
        bridgeTaskRoleArn: `arn:aws:iam::${ACCOUNT}:role/bridge-task-role`,
        externalId: EXTERNAL_ID,
        ...features,
      }),
  );
}

export const LAMBDA_SECRET = SecretValue.secretsManager("ecs-prometheus-bridge/lambda-secret");

/** The Lambda with a stand-in bundle (a directory holding handler.mjs), as `npm run build:lambda` leaves it. */
export function synthLambda(props: Omit<EcsPrometheusBridgeLambdaProps, "bundleDirectory">): Synthesised {
  const bundleDirectory = mkdtempSync(join(tmpdir(), "bridge-lambda-"));
  try {
    writeFileSync(join(bundleDirectory, "handler.mjs"), "export const handler = async () => ({});\n");
    return synthesise(
      (stack) => new EcsPrometheusBridgeLambda(stack, "Lambda", { bundleDirectory, ...props }),
    );
  } finally {
    rmSync(bundleDirectory, { recursive: true, force: true });
  }
}
