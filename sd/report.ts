// What one refresh of a source did, for people: its AWS calls by operation, targets added and removed,
// skips by reason and duration (one info log line per refresh, and the status page), and the fix hint
// for a failure. Read from the self-metrics and the source; nothing here calls AWS.
import type { Logger } from "../core/log.js";
import type { SelfMetrics } from "../core/metrics.js";
import type { DiscoveredTarget, SourceName } from "./model.js";
import type { ScopeStatus, UnitStatus } from "./refresh.js";
import type { UnitSkips } from "./skips.js";

/** The AWS services whose calls a source makes (the `service` label of ecs_bridge_aws_requests_total). */
const SOURCE_SERVICES: Record<SourceName, readonly string[]> = {
  ecs: ["ecs", "ec2"],
  cloudmap: ["servicediscovery"],
};

export interface SourceReport {
  source: SourceName;
  /** When the refresh ended (ISO 8601). */
  at: string;
  durationMs: number;
  unitsOk: number;
  unitsFailed: number;
  targets: number;
  added: number;
  removed: number;
  skipped: Record<string, number>;
  /** AWS requests of the refresh by operation (each retry attempt counts). */
  calls: Record<string, number>;
}

/** Target identity for added/removed: address and path. */
const keyOf = (t: DiscoveredTarget) => `${t.group.targets[0] ?? ""} ${t.group.labels.__metrics_path__ ?? ""}`;

/** Target objects that appeared in and left a source's units in one refresh. */
export interface TargetChanges {
  added: DiscoveredTarget[];
  removed: DiscoveredTarget[];
}

async function callCounts(metrics: SelfMetrics, source: SourceName): Promise<Map<string, number>> {
  const services = SOURCE_SERVICES[source];
  const out = new Map<string, number>();
  for (const v of (await metrics.awsRequests.get()).values) {
    if (!services.includes(String(v.labels.service))) continue;
    const op = String(v.labels.operation);
    out.set(op, (out.get(op) ?? 0) + v.value);
  }
  return out;
}

/** Keeps the last report of each source and logs one line per refresh. */
export class RefreshReports {
  private readonly last = new Map<SourceName, SourceReport>();

  constructor(
    private readonly metrics: SelfMetrics,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /**
   * Call before a source refreshes; call the returned function once its units are updated, with the
   * target objects that came and went (kept, reused targets are not compared at all).
   */
  async begin(
    source: SourceName,
  ): Promise<
    (
      units: { ok: number; failed: number },
      targets: number,
      changes: TargetChanges,
      skips?: ReadonlyMap<string, UnitSkips>,
    ) => Promise<void>
  > {
    const started = this.now();
    const calls = await callCounts(this.metrics, source);
    return async (units, targets, changes, skips) => {
      const ended = this.now();
      const callsNow = await callCounts(this.metrics, source);
      const delta: Record<string, number> = {};
      for (const [op, n] of callsNow) if (n - (calls.get(op) ?? 0) > 0) delta[op] = n - (calls.get(op) ?? 0);
      // By endpoint: a target replaced by one at the same address and path is neither.
      const gone = new Set(changes.removed.map(keyOf));
      const fresh = new Set(changes.added.map(keyOf));
      const skipped: Record<string, number> = {};
      for (const u of skips?.values() ?? [])
        for (const [reason, n] of Object.entries(u.byReason)) skipped[reason] = (skipped[reason] ?? 0) + n;
      const report: SourceReport = {
        source,
        at: new Date(ended).toISOString(),
        durationMs: ended - started,
        unitsOk: units.ok,
        unitsFailed: units.failed,
        targets,
        added: [...fresh].filter((k) => !gone.has(k)).length,
        removed: [...gone].filter((k) => !fresh.has(k)).length,
        skipped,
        calls: delta,
      };
      this.last.set(source, report);
      const { source: _s, at: _a, ...fields } = report;
      this.logger.info("refresh done", { source, ...fields });
    };
  }

  get(source: SourceName): SourceReport | undefined {
    return this.last.get(source);
  }
}

/** The IAM action of each operation the bridge calls, and the deploy/iam policy file that grants it. */
export const POLICY_FILES: Record<string, { action: string; file: string }> = {
  ListClusters: { action: "ecs:ListClusters", file: "ecs-discovery.json" },
  DescribeClusters: { action: "ecs:DescribeClusters", file: "ecs-discovery.json" },
  ListTasks: { action: "ecs:ListTasks", file: "ecs-discovery.json" },
  DescribeTasks: { action: "ecs:DescribeTasks", file: "ecs-discovery.json" },
  DescribeTaskDefinition: { action: "ecs:DescribeTaskDefinition", file: "ecs-discovery.json" },
  DescribeContainerInstances: { action: "ecs:DescribeContainerInstances", file: "ecs-discovery.json" },
  DescribeServices: { action: "ecs:DescribeServices", file: "ecs-discovery.json" },
  DescribeNetworkInterfaces: { action: "ec2:DescribeNetworkInterfaces", file: "ecs-discovery.json" },
  DescribeInstances: { action: "ec2:DescribeInstances", file: "ec2-bridge-mode.json" },
  ListNamespaces: { action: "servicediscovery:ListNamespaces", file: "cloudmap.json" },
  ListServices: { action: "servicediscovery:ListServices", file: "cloudmap.json" },
  ListInstances: { action: "servicediscovery:ListInstances", file: "cloudmap.json" },
  DiscoverInstances: { action: "servicediscovery:DiscoverInstances", file: "cloudmap.json" },
  GetInstancesHealthStatus: { action: "servicediscovery:GetInstancesHealthStatus", file: "cloudmap.json" },
  ListTagsForResource: { action: "servicediscovery:ListTagsForResource", file: "cloudmap.json" },
};

const THROTTLES = /Throttl|RequestLimitExceeded|TooManyRequests|SlowDown|RateExceeded/i;

/**
 * What to do about a failure, from its `<error name>: <message>` and the AWS operation that failed;
 * undefined when there is nothing better to say than the error itself.
 */
export function fixHint(error: string, operation?: string): string | undefined {
  const name = error.slice(0, Math.max(0, error.indexOf(":"))) || error;
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized|Forbidden/i.test(name)) {
    if (operation === "AssumeRole" || /sts:AssumeRole/.test(error))
      return (
        "the bridge may not assume this account's role: grant sts:AssumeRole on it " +
        "(deploy/iam/cross-account-assume-role.json) and trust the bridge's role in it " +
        "(deploy/iam/cross-account-trust-policy.json)"
      );
    const policy = operation ? POLICY_FILES[operation] : undefined;
    if (policy) return `grant ${policy.action} to the bridge's role (deploy/iam/${policy.file})`;
    return "grant the bridge's role the read-only policies in deploy/iam/";
  }
  if (THROTTLES.test(name))
    return "AWS is throttling these calls: raise refreshIntervalSeconds (BRIDGE_REFRESH_INTERVAL_SECONDS) or lower aws.maxConcurrency";
  if (
    /ExpiredToken|InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch|CredentialsProviderError/i.test(
      name,
    )
  )
    return "the AWS credentials are missing, invalid or expired: check the task role or AWS_PROFILE (`ecs-prometheus-bridge check-config` tests them)";
  if (
    /Timeout|RefreshDeadlineExceeded|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|NetworkingError/i.test(error)
  )
    return "the AWS endpoint could not be reached or did not answer in time: check the network path (VPC endpoints, proxy, AWS_ENDPOINT_URL) or raise aws.callTimeoutSeconds";
  if (/ClusterNotFound/i.test(name)) return "check the cluster's name and region (clusters, BRIDGE_CLUSTERS)";
  if (/MalformedResponse/i.test(name))
    return "the reply could not be read (a proxy in between, or an AWS fault); the next refresh retries it";
  return undefined;
}

/** `ListClusters in <account>/<region>: <error>`: the failing step, where, and the error. */
export function failureText(where: string, error: string, operation?: string): string {
  return `${operation ?? "refresh"} in ${where}: ${error}`;
}

export interface FailureCause {
  /** `ListClusters in <account>/<region>: AccessDeniedException: ...`. */
  cause: string;
  hint?: string;
}

/** Why discovery is not (fully) working: each failing scope, then each failing unit not under one. */
export function failureCauses(
  units: readonly UnitStatus[],
  scopes: readonly ScopeStatus[] = [],
): FailureCause[] {
  const out: FailureCause[] = [];
  const failedScopes = scopes.filter((s) => !s.ok && s.lastError);
  for (const s of failedScopes) {
    const hint = fixHint(s.lastError!, s.failedStep);
    out.push({
      cause: failureText(`${s.source} ${s.scope}`, s.lastError!, s.failedStep ?? "listing"),
      ...(hint ? { hint } : {}),
    });
  }
  for (const u of units) {
    if (u.ok || !u.lastError) continue;
    if (failedScopes.some((s) => s.source === u.source && u.unit.startsWith(`${s.scope}/`))) continue;
    const hint = fixHint(u.lastError, u.failedStep);
    out.push({
      cause: failureText(`${u.source} ${u.unit}`, u.lastError, u.failedStep),
      ...(hint ? { hint } : {}),
    });
  }
  return out;
}
