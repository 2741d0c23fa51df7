// What every service of one simulated account shares: its id, default region and zones, the clock, ARN
// building, and the address pools (task IPs serve both ECS tasks and generated Cloud Map instances).
import { IpPool } from "./ids.js";
import { SimScenarioError } from "./protocol.js";
import type { Scenario } from "./types.js";

const DEFAULT_ACCOUNT = "123456789012";
const DEFAULT_REGION = "us-east-1";

export class AccountContext {
  readonly accountId: string;
  readonly region: string;
  readonly azs: string[];
  readonly taskIps: IpPool;
  readonly instanceIps: IpPool;

  constructor(
    scenario: Scenario,
    readonly now: () => number,
  ) {
    this.accountId = scenario.accountId ?? DEFAULT_ACCOUNT;
    if (!/^\d{12}$/.test(this.accountId))
      throw new SimScenarioError(`accountId must be 12 digits, got ${JSON.stringify(this.accountId)}`);
    this.region = scenario.region ?? DEFAULT_REGION;
    this.azs = scenario.availabilityZones ?? ["a", "b", "c"].map((s) => this.region + s);
    // One "taken" set: an address is never handed out twice, whichever pool it came from.
    const taken = new Set<string>();
    this.taskIps = new IpPool(scenario.ipPool?.tasks ?? "127.0.0.2", taken);
    this.instanceIps = new IpPool(scenario.ipPool?.instances ?? "127.0.200.1", taken);
  }

  arn(service: string, region: string, resource: string): string {
    return `arn:aws:${service}:${region}:${this.accountId}:${resource}`;
  }
}
