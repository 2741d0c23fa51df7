// EcsPrometheusBridgeTargetRole: in each account the bridge discovers across accounts, a read-only role
// the bridge's task role may assume with an external ID. The same role as
// deploy/cloudformation-target-account.yaml.
import { Duration, aws_iam as iam } from "aws-cdk-lib";
import { Construct } from "constructs";
import { attachFeaturePolicies, enabledFeatures, type DiscoveryFeatures } from "./features.js";

export interface EcsPrometheusBridgeTargetRoleProps extends DiscoveryFeatures {
  /** The bridge's task role (`EcsPrometheusBridge.taskRole.roleArn`, in the monitoring account). */
  readonly bridgeTaskRoleArn: string;
  /** Shared external ID; the bridge sends it with the role ARN (`crossAccountRoles`). At least 2 characters. */
  readonly externalId: string;
  /** Default: `ecs-prometheus-bridge-discovery`. */
  readonly roleName?: string;
}

export class EcsPrometheusBridgeTargetRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: EcsPrometheusBridgeTargetRoleProps) {
    super(scope, id);
    if (props.externalId.length < 2) throw new Error("externalId: at least 2 characters");
    this.role = new iam.Role(this, "DiscoveryRole", {
      roleName: props.roleName ?? "ecs-prometheus-bridge-discovery",
      maxSessionDuration: Duration.hours(1),
      // Trust only the bridge's task role, and only with the external ID (sts:ExternalId condition).
      assumedBy: new iam.ArnPrincipal(props.bridgeTaskRoleArn),
      externalIds: [props.externalId],
    });
    attachFeaturePolicies(this, this.role, enabledFeatures(props));
  }
}
