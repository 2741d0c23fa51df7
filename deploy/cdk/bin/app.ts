// Sample CDK app: `npm run synth` (or `npx cdk synth` with the aws-cdk CLI) writes cdk.out offline.
// Replace the IDs below with your own.
import { App } from "aws-cdk-lib";
import { BridgeSampleStack, BridgeTargetAccountStack } from "../examples/sample-stack.js";

const app = new App();
const externalId = "replace-with-a-random-external-id";
new BridgeSampleStack(app, "EcsPrometheusBridge", {
  env: { account: "111111111111", region: "eu-west-1" },
  vpc: {
    vpcId: "vpc-0123456789abcdef0",
    vpcCidrBlock: "10.0.0.0/16",
    availabilityZones: ["eu-west-1a", "eu-west-1b"],
    privateSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
  },
  clusterName: "monitoring",
  repositoryName: "ecs-prometheus-bridge",
  imageTag: "0.1.0",
  targetRoleArn: "arn:aws:iam::222222222222:role/ecs-prometheus-bridge-discovery",
  externalId,
});
new BridgeTargetAccountStack(app, "EcsPrometheusBridgeTarget", {
  env: { account: "222222222222", region: "eu-west-1" },
  // The bridge's task role name is generated: take it from the EcsPrometheusBridge stack after deploying it.
  bridgeTaskRoleArn: "arn:aws:iam::111111111111:role/replace-with-the-bridge-task-role",
  externalId,
});
app.synth();
