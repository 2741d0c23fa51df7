// Public surface of the simulated AWS endpoint (tests, benchmarks, the demo).
export {
  startSimAws,
  type SimAws,
  type SimAwsOptions,
  type SimFaultRule,
  type FaultOptions,
} from "./server.js";
export type { SimAccount } from "./account.js";
export { loadScenario, parseScenario, checkScenario } from "./scenario.js";
export {
  serviceConnectSeries,
  DISCOVERY_NAME_METRICS,
  TARGET_DISCOVERY_NAME_METRICS,
} from "./serviceconnect.js";
export {
  ECS_THROTTLING,
  type CallRecord,
  type FaultRule,
  type LatencyRule,
  type ThrottleRule,
} from "./faults.js";
export { SimAwsError, SimScenarioError, type SimService } from "./protocol.js";
export type { SimEndpoint, SimTaskInfo } from "./state.js";
export type * from "./types.js";
