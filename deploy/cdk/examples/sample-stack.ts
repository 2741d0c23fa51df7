// The sample app's stacks: the bridge in the monitoring account, and the discovery role in a second account.
// Everything it needs is passed in (no lookups), so `cdk synth` runs offline.
import { Stack, type StackProps, aws_ec2 as ec2, aws_ecr as ecr, aws_ecs as ecs } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { EcsPrometheusBridge, EcsPrometheusBridgeTargetRole } from "../src/index.js";

export interface BridgeSampleProps extends StackProps {
  /** The existing VPC (ID, CIDR, AZs, private subnets): no lookup, so synthesis needs no AWS account. */
  readonly vpc: ec2.VpcAttributes;
  readonly clusterName: string;
  readonly repositoryName: string;
  readonly imageTag: string;
  /** A role created by BridgeTargetAccountStack in another account, and its external ID. */
  readonly targetRoleArn: string;
  readonly externalId: string;
}

export class BridgeSampleStack extends Stack {
  readonly bridge: EcsPrometheusBridge;

  constructor(scope: Construct, id: string, props: BridgeSampleProps) {
    super(scope, id, props);
    const vpc = ec2.Vpc.fromVpcAttributes(this, "Vpc", props.vpc);
    const cluster = ecs.Cluster.fromClusterAttributes(this, "Cluster", {
      clusterName: props.clusterName,
      vpc,
    });
    const repository = ecr.Repository.fromRepositoryName(this, "Repository", props.repositoryName);
    this.bridge = new EcsPrometheusBridge(this, "Bridge", {
      cluster,
      image: ecs.ContainerImage.fromEcrRepository(repository, props.imageTag),
      bridgeModeLookups: true,
      cloudMap: true,
      crossAccountRoles: [{ roleArn: props.targetRoleArn, externalId: props.externalId }],
      bearerToken: { ssmParameterName: "ecs-prometheus-bridge/bearer-token" },
      // Task starts and stops from EventBridge through an SQS queue; the full walk every 5 minutes.
      events: {},
    });
    // Prometheus scrapes from inside the VPC.
    this.bridge.connections.allowFrom(ec2.Peer.ipv4(vpc.vpcCidrBlock), ec2.Port.tcp(9100));
  }
}

export interface BridgeTargetAccountProps extends StackProps {
  readonly bridgeTaskRoleArn: string;
  readonly externalId: string;
}

export class BridgeTargetAccountStack extends Stack {
  constructor(scope: Construct, id: string, props: BridgeTargetAccountProps) {
    super(scope, id, props);
    new EcsPrometheusBridgeTargetRole(this, "DiscoveryRole", {
      bridgeTaskRoleArn: props.bridgeTaskRoleArn,
      externalId: props.externalId,
      bridgeModeLookups: true,
      cloudMap: true,
    });
  }
}
