// One simulated AWS account: the state of each service (ECS with its EC2 hosts, Cloud Map, CloudWatch)
// built from a scenario over a shared account context. Request handlers read the service they serve;
// mutations go through the service's own state.
import { CloudMapState } from "./cloudmap-state.js";
import { CloudWatchState } from "./cloudwatch-state.js";
import { AccountContext } from "./context.js";
import { clusterSummary } from "./ecs-model.js";
import { loadEcs, reserveEcsAddresses } from "./ecs-scenario.js";
import { EcsState } from "./ecs-state.js";
import { EventBus } from "./eventbridge.js";
import { SqsState } from "./sqs-state.js";
import type { Scenario, SimEndpoint } from "./types.js";

export class World {
  readonly ctx: AccountContext;
  readonly ecs: EcsState;
  readonly cloudMap: CloudMapState;
  readonly cloudWatch: CloudWatchState;
  readonly sqs: SqsState;
  readonly events: EventBus;

  constructor(scenario: Scenario, now: () => number) {
    this.ctx = new AccountContext(scenario, now);
    // Explicit addresses first, so no pool hands them out; Cloud Map before ECS, whose services register in it.
    reserveEcsAddresses(this.ctx, scenario);
    this.cloudMap = new CloudMapState(this.ctx);
    this.cloudMap.load(scenario.namespaces ?? []);
    this.ecs = new EcsState(this.ctx, this.cloudMap, scenario);
    loadEcs(this.ecs, scenario);
    this.cloudWatch = new CloudWatchState(this.ctx, scenario);
    this.sqs = new SqsState(this.ctx);
    this.events = new EventBus(this.ecs, this.sqs, { ipv6Bindings: scenario.ecs?.ipv6Bindings ?? false });
  }

  get accountId(): string {
    return this.ctx.accountId;
  }

  get region(): string {
    return this.ctx.region;
  }

  /** Every reachable address: RUNNING task ports and Cloud Map instances with IPv4 and port. */
  endpoints(): SimEndpoint[] {
    return [...this.ecs.endpoints(), ...this.cloudMap.endpoints()];
  }

  summary(): Record<string, unknown> {
    return {
      accountId: this.accountId,
      region: this.region,
      clusters: [...this.ecs.clusters.values()].map(clusterSummary),
      namespaces: this.cloudMap.summary(),
      metricSeries: this.cloudWatch.series.size,
    };
  }
}
