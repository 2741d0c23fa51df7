export { EcsPrometheusBridge, BRIDGE_PORT, BRIDGE_USER } from "./bridge.js";
export type { BearerToken, EcsPrometheusBridgeProps } from "./bridge.js";
export { EcsPrometheusBridgeTargetRole } from "./target-role.js";
export type { EcsPrometheusBridgeTargetRoleProps } from "./target-role.js";
export { EcsPrometheusBridgeLambda } from "./lambda.js";
export type { EcsPrometheusBridgeLambdaProps } from "./lambda.js";
export { FEATURE_POLICIES, CROSS_ACCOUNT_POLICY } from "./features.js";
export type { CrossAccountRole, DiscoveryFeatures, FeatureName } from "./features.js";
