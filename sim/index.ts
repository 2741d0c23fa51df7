// Public surface of the simulated AWS endpoint (tests, benchmarks, the demo).
export { startSimAws } from "./server.js";
export type { FaultOptions, SimAws, SimAwsOptions, SimFaultRule } from "./api.js";
export type { SimAccount } from "./account.js";
export { loadScenario, parseScenario, checkScenario } from "./scenario.js";
export { fargateApiScenario } from "./fixtures.js";
export {
  serviceConnectSeries,
  DISCOVERY_NAME_METRICS,
  TARGET_DISCOVERY_NAME_METRICS,
} from "./serviceconnect.js";
export type { CallRecord, FaultRule, LatencyRule, ThrottleRule } from "./faults.js";
export {
  AWS_THROTTLING,
  CLOUDMAP_THROTTLING,
  CLOUDWATCH_THROTTLING,
  EC2_THROTTLING,
  ECS_THROTTLING,
} from "./throttling.js";
export { SimAwsError, SimScenarioError, type SimService } from "./protocol.js";
export type * from "./types.js";
