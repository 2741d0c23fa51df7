// The bridge's optional features, shared by the ECS service, the Lambda and the target-account role: one
// read-only IAM policy per feature (the same documents as deploy/iam/*.json, checked by
// test/unit/deploy-iam.test.ts) and the BRIDGE_* variables that switch the feature on in the bridge.
//
// Features that need resources of their own live beside the construct, not here: the ECS task events
// (events.ts) create their queue and a policy scoped to it, so theirs cannot be one of these Resource "*"
// documents; the CloudWatch metric stream (metric-stream.ts) needs no task role policy at all (in stream mode
// the bridge calls no AWS API).
import { Validations, aws_iam as iam } from "aws-cdk-lib";
import type { Construct } from "constructs";

/** Which AWS APIs the bridge reads. Each enabled feature adds exactly its read-only policy. */
export interface DiscoveryFeatures {
  /** Discover ECS tasks (BRIDGE_ECS_ENABLED). Default true. */
  readonly ecsDiscovery?: boolean;
  /** Look up EC2 host IPs of bridge/host network mode tasks (ec2:DescribeInstances). Needs ecsDiscovery. Default false. */
  readonly bridgeModeLookups?: boolean;
  /** Discover Cloud Map instances (BRIDGE_CLOUDMAP_ENABLED). Default false. */
  readonly cloudMap?: boolean;
  /** Export Service Connect CloudWatch metrics (BRIDGE_EXPORTER_ENABLED; GetMetricData is billed). Default false. */
  readonly exporter?: boolean;
}

/** A role in another account that the bridge assumes to discover there (deploy with EcsPrometheusBridgeTargetRole). */
export interface CrossAccountRole {
  readonly roleArn: string;
  /** The external ID the target role's trust policy requires. */
  readonly externalId?: string;
}

export type FeatureName = "ecs-discovery" | "ec2-bridge-mode" | "cloudmap" | "cloudwatch-exporter";

interface FeaturePolicy {
  readonly sid: string;
  readonly actions: readonly string[];
  /** Why Resource is "*" (cdk-nag AwsSolutions-IAM5). */
  readonly whyAnyResource: string;
}

/** One read-only statement per feature: exactly the operations the bridge's code sends. */
export const FEATURE_POLICIES: Record<FeatureName, FeaturePolicy> = {
  "ecs-discovery": {
    sid: "EcsDiscoveryReadOnly",
    actions: [
      "ecs:ListClusters",
      "ecs:DescribeClusters",
      "ecs:ListServices",
      "ecs:DescribeServices",
      "ecs:ListTasks",
      "ecs:DescribeTasks",
      "ecs:DescribeTaskDefinition",
      "ecs:DescribeContainerInstances",
      // The awsvpc tasks' ENI public IPs (public_ip label), Fargate included.
      "ec2:DescribeNetworkInterfaces",
    ],
    whyAnyResource:
      "ecs:ListClusters, ecs:DescribeTaskDefinition and ec2:DescribeNetworkInterfaces support no resource-level permissions, and the clusters are chosen at run time (BRIDGE_CLUSTERS, empty means every cluster).",
  },
  "ec2-bridge-mode": {
    sid: "Ec2HostFacts",
    actions: ["ec2:DescribeInstances"],
    whyAnyResource: "ec2:DescribeInstances supports no resource-level permissions.",
  },
  cloudmap: {
    sid: "CloudMapDiscoveryReadOnly",
    actions: [
      "servicediscovery:ListNamespaces",
      "servicediscovery:ListServices",
      "servicediscovery:DiscoverInstances",
      "servicediscovery:DiscoverInstancesRevision",
      "servicediscovery:ListInstances",
      "servicediscovery:GetInstancesHealthStatus",
      "servicediscovery:ListTagsForResource",
    ],
    whyAnyResource:
      "servicediscovery:ListNamespaces, ListServices and DiscoverInstances support no resource-level permissions, and the namespaces are chosen at run time (BRIDGE_CLOUDMAP_NAMESPACES).",
  },
  "cloudwatch-exporter": {
    sid: "ServiceConnectMetricsReadOnly",
    actions: ["cloudwatch:ListMetrics", "cloudwatch:GetMetricData"],
    whyAnyResource:
      "cloudwatch:ListMetrics and cloudwatch:GetMetricData support no resource-level permissions.",
  },
};

export const CROSS_ACCOUNT_POLICY = "cross-account-assume-role";

/** The features switched on, in a fixed order; rejects combinations the bridge cannot use. */
export function enabledFeatures(f: DiscoveryFeatures): FeatureName[] {
  const ecs = f.ecsDiscovery ?? true;
  if (f.bridgeModeLookups && !ecs)
    throw new Error("bridgeModeLookups needs ecsDiscovery: it finds ECS tasks' hosts");
  const on: FeatureName[] = [];
  if (ecs) on.push("ecs-discovery");
  if (ecs && f.bridgeModeLookups) on.push("ec2-bridge-mode");
  if (f.cloudMap) on.push("cloudmap");
  if (f.exporter) on.push("cloudwatch-exporter");
  return on;
}

/** Attaches one inline policy per enabled feature (and the cross-account AssumeRole policy) to `role`. */
export function attachFeaturePolicies(
  scope: Construct,
  role: iam.IRole,
  features: FeatureName[],
  assumeRoleArns: string[] = [],
): iam.Policy[] {
  const policies = features.map((name) => {
    const { sid, actions, whyAnyResource } = FEATURE_POLICIES[name];
    const policy = new iam.Policy(scope, policyId(name), {
      policyName: name,
      roles: [role],
      statements: [new iam.PolicyStatement({ sid, actions: [...actions], resources: ["*"] })],
    });
    Validations.of(policy).acknowledge({ id: "AwsSolutions-IAM5[Resource::*]", reason: whyAnyResource });
    return policy;
  });
  if (assumeRoleArns.length > 0)
    policies.push(
      new iam.Policy(scope, policyId(CROSS_ACCOUNT_POLICY), {
        policyName: CROSS_ACCOUNT_POLICY,
        roles: [role],
        statements: [
          new iam.PolicyStatement({
            sid: "AssumeDiscoveryRolesInOtherAccounts",
            actions: ["sts:AssumeRole"],
            resources: assumeRoleArns,
          }),
        ],
      }),
    );
  return policies;
}

/** `ecs-discovery` -> `EcsDiscoveryPolicy`: the construct id, and so the start of the logical ID. */
function policyId(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_, _dash: string, c: string) => c.toUpperCase()) + "Policy";
}

/** The BRIDGE_* variables shared by the service and the Lambda: regions, clusters, accounts, Cloud Map. */
export function discoveryEnvironment(opts: {
  regions: string[];
  discoverClusters?: string[];
  cloudMap?: boolean;
  cloudMapNamespaces?: string[];
  crossAccountRoles?: CrossAccountRole[];
}): Record<string, string> {
  return {
    BRIDGE_REGIONS: opts.regions.join(","),
    BRIDGE_CLUSTERS: (opts.discoverClusters ?? []).join(","),
    BRIDGE_CLOUDMAP_ENABLED: String(opts.cloudMap ?? false),
    BRIDGE_CLOUDMAP_NAMESPACES: (opts.cloudMapNamespaces ?? []).join(","),
    BRIDGE_ACCOUNTS: (opts.crossAccountRoles ?? [])
      .map((r) => (r.externalId ? `${r.roleArn}|${r.externalId}` : r.roleArn))
      .join(","),
  };
}
