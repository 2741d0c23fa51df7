// What the ECS source keeps per account/region: its API (paced per AWS bucket), the task definitions being
// described (one call in flight per ARN, whichever clusters ask at once; ones ECS cannot describe are not
// asked for again for a while) and the TTL-cached facts of clusters, services, EC2 instances and ENIs.
import { lruByCount } from "../../core/lru.js";
import {
  DESCRIBE_BATCH,
  DESCRIBE_SERVICES_BATCH,
  type ClusterFacts,
  type EcsApi,
  type EniFacts,
  type InstanceFacts,
  type ServiceFacts,
} from "./api.js";
import { BatchedFacts, type FactsResult } from "./facts.js";
import { slimTaskDefinition, type SlimTaskDefinition } from "./slim.js";
import type { TaskDefinitionError } from "./targets.js";

/** Cluster and service tags, service ARN and status: they change rarely, so minutes old is fine. */
export const RESOURCE_FACTS_TTL_MS = 5 * 60_000;
/** EC2 instance type, IPs, subnet and tags: keyed by instance id; tags and the public IP can change. */
export const INSTANCE_FACTS_TTL_MS = 5 * 60_000;
/** How long ENIs are not asked for after DescribeNetworkInterfaces was denied. */
export const ENI_DENIED_RETRY_MS = RESOURCE_FACTS_TTL_MS;
/**
 * How long a task definition ECS cannot describe (deleted: ClientException "Unable to describe task
 * definition.") is not asked for again; doubled at each further refusal, up to the maximum. Its tasks stay
 * skipped meanwhile. Throttling, 5xx and timeouts are asked again next refresh.
 */
export const UNDESCRIBABLE_RETRY_MS = 5 * 60_000;
export const UNDESCRIBABLE_RETRY_MAX_MS = 30 * 60_000;
/**
 * The most facts of each kind kept per scope (least recently used evicted first). Above the ENIs of the
 * largest estate the bench runs (24,000 at 30,000 tasks): a cap below the working set would re-ask AWS for
 * the evicted ones every refresh. An entry is a few short strings.
 */
const MAX_FACTS = 100_000;

/** A cluster as DescribeClusters answered for a configured or listed name/ARN. */
export type ClusterLookup = { found: ClusterFacts } | { missing: true };

export class ScopeFacts {
  readonly clusters: BatchedFacts<ClusterLookup>;
  /** Keyed by `<cluster ARN> <service name>`. */
  readonly services: BatchedFacts<ServiceFacts>;
  readonly instances: BatchedFacts<InstanceFacts>;
  /** An ENI's public IP is fixed for its life: kept until evicted. */
  readonly enis: BatchedFacts<EniFacts>;
  private readonly taskDefinitionsInFlight = new Map<string, Promise<SlimTaskDefinition | undefined>>();
  /** Task definitions ECS refused to describe: the refusal, until when it stands, and its length. */
  private readonly undescribable = lruByCount<
    string,
    { error: TaskDefinitionError; until: number; waitMs: number }
  >(MAX_FACTS);
  private readonly now: () => number;
  /** ListServices was denied: clusters' first walks no longer ask (it only names task definitions early). */
  listServicesRefused = false;
  /** Until when DescribeNetworkInterfaces is not called after a denial; 0 while it is allowed. */
  private enisDeniedUntil = 0;

  constructor(
    readonly api: EcsApi,
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
    const clock = now ? { now } : {};
    const resource = { ttlMs: RESOURCE_FACTS_TTL_MS, max: MAX_FACTS, ...clock };
    this.clusters = new BatchedFacts({ ...resource, batchSize: DESCRIBE_BATCH });
    this.services = new BatchedFacts({ ...resource, batchSize: DESCRIBE_SERVICES_BATCH });
    // Asked for with the same call by every cluster: the clusters refreshing together share batches.
    const ec2 = { max: MAX_FACTS, batchSize: DESCRIBE_BATCH, coalesce: true, ...clock };
    this.instances = new BatchedFacts({ ttlMs: INSTANCE_FACTS_TTL_MS, ...ec2 });
    this.enis = new BatchedFacts({ ttlMs: 0, ...ec2 });
  }

  /**
   * DescribeTaskDefinition, projected, sharing the call already in flight for the same ARN; a definition
   * ECS refused to describe fails with that refusal, without a call, until its retry time.
   */
  describeTaskDefinition(arn: string): Promise<SlimTaskDefinition | undefined> {
    const refused = this.undescribable.get(arn);
    if (refused && this.now() < refused.until) return Promise.reject(refused.error);
    let pending = this.taskDefinitionsInFlight.get(arn);
    if (!pending) {
      pending = this.api
        .describeTaskDefinition(arn)
        .then(
          (def) => {
            this.undescribable.delete(arn);
            return def && slimTaskDefinition(def);
          },
          (err: unknown) => {
            throw this.refused(arn, err, refused?.waitMs);
          },
        )
        .finally(() => this.taskDefinitionsInFlight.delete(arn));
      this.taskDefinitionsInFlight.set(arn, pending);
    }
    return pending;
  }

  /**
   * A DescribeTaskDefinition failure as it is reported: ECS's refusal to describe the definition is kept,
   * saying when it is asked again (after UNDESCRIBABLE_RETRY_MS, doubling from the last wait); any other
   * error is asked again next refresh.
   */
  private refused(arn: string, err: unknown, lastWaitMs: number | undefined): unknown {
    if (!(err instanceof Error && err.name === "ClientException")) return err;
    const waitMs = lastWaitMs ? Math.min(lastWaitMs * 2, UNDESCRIBABLE_RETRY_MAX_MS) : UNDESCRIBABLE_RETRY_MS;
    const until = this.now() + waitMs;
    const retry = `not asked again before ${new Date(until).toISOString()}`;
    const error = Object.assign(new Error(err.message, { cause: err }), { name: err.name, retry });
    this.undescribable.set(arn, { error, until, waitMs });
    return error;
  }

  /**
   * The ENIs' public IPs. A denial (a policy from before ecs-discovery granted DescribeNetworkInterfaces)
   * costs only the public_ip label: those ENIs are neither failed (their tasks settle, no re-describe
   * churn) nor asked for again before ENI_DENIED_RETRY_MS; `onDenied` hears of it once per denial spell.
   */
  lookupEnis(ids: string[], onDenied: (err: Error) => void): Promise<FactsResult<EniFacts>> {
    return this.enis.get(ids, async (batch) => {
      if (this.now() < this.enisDeniedUntil) return new Map();
      try {
        const found = await this.api.describeNetworkInterfaces(batch);
        this.enisDeniedUntil = 0;
        return new Map(found.map((e) => [e.eniId, e]));
      } catch (err) {
        if (!isDenied(err)) throw err;
        if (this.enisDeniedUntil === 0) onDenied(err as Error);
        this.enisDeniedUntil = this.now() + ENI_DENIED_RETRY_MS;
        return new Map();
      }
    });
  }

  /** DescribeClusters (with tags) for names or ARNs; the answer is keyed by what was asked. */
  async lookupClusters(refs: string[]) {
    return this.clusters.get(refs, async (batch) => {
      const r = await this.api.describeClusters(batch);
      const out = new Map<string, ClusterLookup>();
      for (const ref of batch) {
        const found = r.found.find((c) => c.arn === ref || c.name === ref);
        if (found) out.set(ref, { found });
        else if (
          r.failures.some((f) => f.reason === "MISSING" && (f.arn === ref || f.arn.endsWith(`/${ref}`)))
        )
          out.set(ref, { missing: true });
      }
      return out;
    });
  }
}

/** An IAM denial: EC2 answers UnauthorizedOperation, most other services AccessDenied(Exception). */
export function isDenied(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return typeof name === "string" && /^(UnauthorizedOperation|AccessDenied)/.test(name);
}
