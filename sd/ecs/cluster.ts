// One cluster's refresh: one ListTasks walk, DescribeTasks for every listed task (batches of 100) on the
// re-describe cadence so health, status and tags follow the task, then the facts the labels need from
// other calls: task definitions (one call in flight per ARN across the scope's clusters), container
// instances, and the TTL-cached cluster, service, EC2 instance and ENI facts of the scope.
import { setImmediate as setImmediateAsync } from "node:timers/promises";
import type { Logger } from "../../core/log.js";
import type { DiscoveredTarget } from "../model.js";
import {
  describeInBatches,
  type ClusterFacts,
  type DescribeFailure,
  type InstanceFacts,
  type ServiceFacts,
} from "./api.js";
import type { FetchBatch } from "./facts.js";
import { isDenied, type ScopeFacts } from "./scope.js";
import { slimTask, StringTable, type SlimTask, type SlimTaskDefinition } from "./slim.js";
import {
  buildTaskTargets,
  labelNetworkMode,
  taskDefinitionUnavailable,
  taskEniAddress,
  type BuildResult,
  type OptInOptions,
  type SkipReason,
  type TaskDefinitionError,
  type TaskFacts,
} from "./targets.js";

/**
 * ECS's refusals to describe a task definition already warned about. The scope answers a standing refusal
 * with the same error (it carries `retry`) until it asks again, and a renewed refusal is a new error: so
 * each refusal is warned about once, not every refresh. Weak: an error goes with the scope's cache entry.
 */
const reportedRefusals = new WeakSet<TaskDefinitionError>();

/** What the source remembers per cluster between refreshes: what its last refresh referenced. */
export interface ClusterState {
  /** Settled tasks (RUNNING with an address), projected as described, by task ARN. */
  tasks: Map<string, SlimTask>;
  /** The same tasks by the digest of their description (DescribedTask), to know an unchanged one unparsed. */
  described: Map<string, SlimTask>;
  taskDefinitions: Map<string, SlimTaskDefinition>;
  /** Container instance ARN -> EC2 instance id. */
  instanceIds: Map<string, string>;
  /** Refreshes done, for the re-describe cadence. */
  refreshes: number;
  /** What each settled task's targets were built from, so an unchanged task reuses them (by task ARN). */
  built: Map<string, BuiltTask>;
  /** The task ARNs of the last ListTasks walk, as task state change events have changed them since. */
  listed: string[];
  /** Strings repeated across the cluster's tasks, shared by their projections. */
  strings: StringTable;
}

export const emptyClusterState = (): ClusterState => ({
  tasks: new Map(),
  described: new Map(),
  taskDefinitions: new Map(),
  instanceIds: new Map(),
  refreshes: 0,
  built: new Map(),
  listed: [],
  strings: new StringTable(),
});

export interface ClusterRefreshDeps {
  scope: ScopeFacts;
  logger: Logger;
  opts: OptInOptions;
  withTags: boolean;
  /**
   * Settled tasks without a container health check are described again once every this many walks, an
   * even share on each (1: every walk); those with one on every walk.
   */
  redescribeEvery: number;
  onDescribeFailures: (operation: string, failures: DescribeFailure[]) => void;
  onSkipped: (skip: BuildResult["skipped"][number]) => void;
}

function hasHealthCheck(def: SlimTaskDefinition): boolean {
  return (def.containerDefinitions ?? []).some((c) => c.healthCheck !== undefined);
}

/** The cluster's task definitions that declare a container health check (they are few). */
function healthCheckedDefinitions(state: ClusterState): Set<string> {
  const checked = new Set<string>();
  for (const [arn, def] of state.taskDefinitions) if (hasHealthCheck(def)) checked.add(arn);
  return checked;
}

/**
 * Which of `every` consecutive walks re-describes a settled task: FNV-1a of its ARN's last characters
 * (the task id, random), so each walk takes an even share instead of every task on one walk in `every`.
 */
export function redescribeSlice(taskArn: string, every: number): number {
  if (every <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = Math.max(0, taskArn.length - 16); i < taskArn.length; i++)
    h = Math.imul(h ^ taskArn.charCodeAt(i), 0x01000193);
  return (h >>> 0) % every;
}

/**
 * Whether a health pass (events mode: refreshCluster with `health`) would describe anything in the cluster:
 * a settled task whose definition has a container health check (task state change events carry no health
 * status), or a task not settled yet.
 */
export function healthPassDescribes(state: ClusterState): boolean {
  // Settled tasks are listed ones: more listed than settled means some are not settled yet.
  if (state.listed.length > state.tasks.size) return true;
  // The definitions the cluster's tasks reference are few: a cluster without a health check skips the tasks.
  const checked = healthCheckedDefinitions(state);
  if (checked.size === 0) return false;
  for (const task of state.tasks.values())
    if (task.taskDefinitionArn && checked.has(task.taskDefinitionArn)) return true;
  return false;
}

/** Tasks mapped to targets per turn of the event loop (a few ms when every one is built). */
const TASKS_PER_TURN = 100;

/** Skips that leave a task to be described again on the next refresh, whatever the cadence. */
const UNSETTLED_SKIPS: ReadonlySet<SkipReason> = new Set<SkipReason>([
  "no_ip",
  "invalid_address",
  "unresolved_host_port",
]);

const serviceKey = (clusterArn: string, name: string) => `${clusterArn} ${name}`;
const serviceName = (task: SlimTask) =>
  task.group?.startsWith("service:") ? task.group.slice("service:".length) : undefined;

/**
 * Refreshes one cluster whose DescribeClusters facts are known; returns its targets and its next state.
 * `listed` (events mode) replaces the ListTasks walk: only tasks not settled in `previous` are described,
 * and with `health` (its health pass) the settled ones whose definition has a container health check.
 */
export async function refreshCluster(
  deps: ClusterRefreshDeps,
  cluster: ClusterFacts,
  previous: ClusterState,
  listed?: readonly string[],
  health = false,
): Promise<{ targets: DiscoveredTarget[]; next: ClusterState }> {
  const { api } = deps.scope;
  // New task definitions are asked for as soon as a DescribeTasks answer (or, on the cluster's first
  // walk, its services' deployments) names them, so their bucket works while the describes wait for theirs.
  const definitions = new Map<string, Promise<SlimTaskDefinition | undefined>>();
  const nameDefinition = (arn: string): void => {
    if (previous.taskDefinitions.has(arn) || definitions.has(arn)) return;
    const pending = deps.scope.describeTaskDefinition(arn);
    pending.catch(() => undefined); // awaited (and its error kept) in loadTaskDefinitions
    definitions.set(arn, pending);
  };
  const firstWalk = !listed && previous.refreshes === 0;
  const servicesDescribed = firstWalk ? describeClusterServices(deps, cluster, nameDefinition) : undefined;
  const arns = listed ?? (await api.listTasks(cluster.arn));

  // New and unsettled tasks are described; settled ones come from the last refresh, except on a walk:
  // tasks with a container health check every time (nothing else says their health changed) and the
  // others a slice at a time, each once every redescribeEvery walks (their tags). A status change needs
  // no describe: a task ECS stops gets desiredStatus STOPPED and leaves the RUNNING walk at once.
  const slice = listed ? undefined : previous.refreshes % deps.redescribeEvery;
  const checked = !listed || health ? healthCheckedDefinitions(previous) : undefined;
  const current = new Map<string, SlimTask>();
  const toDescribe: string[] = [];
  for (const arn of arns) {
    const known = previous.tasks.get(arn);
    const due =
      checked !== undefined &&
      known !== undefined &&
      ((slice !== undefined && redescribeSlice(arn, deps.redescribeEvery) === slice) ||
        (known.taskDefinitionArn !== undefined && checked.has(known.taskDefinitionArn)));
    if (known && !due) current.set(arn, known);
    else toDescribe.push(arn);
  }
  const failures: DescribeFailure[] = [];
  // Projected as each batch returns, so the SDK's task objects are garbage right away.
  const { strings } = previous;
  strings.bound(arns.length);
  const described = await describeInBatches(toDescribe, async (batch) => {
    const r = await api.describeTasks(cluster.arn, batch, deps.withTags);
    failures.push(...r.failures);
    // A task described exactly as last time keeps its projection unparsed; one whose state did not change
    // (same version, statuses, health and tags) keeps it too: no new objects for either.
    const slim = r.found.map(({ digest, parse }) => {
      const same = previous.described.get(digest);
      if (same) return same;
      const t = parse();
      if (t.taskDefinitionArn) nameDefinition(t.taskDefinitionArn);
      const known = t.taskArn === undefined ? undefined : previous.tasks.get(t.taskArn);
      if (known && sameTask(known, t)) return { ...known, digest };
      return slimTask(t, strings, digest);
    });
    // New tasks' ENI public IPs are asked for per answer too, so EC2's bucket works while ECS's is still
    // describing (asked after the cluster's last describe, they added 7 s to a cold refresh at 30,000
    // tasks); a kept projection's were looked up before. A lookup that fails here is asked again, with
    // its error kept, when the facts are loaded.
    const enis = eniIdsOf(
      slim.filter((t) => t.lastStatus === "RUNNING" && (!t.taskArn || previous.tasks.get(t.taskArn) !== t)),
    );
    if (enis.length > 0) void deps.scope.lookupEnis(enis, enisDenied(deps, cluster)).catch(() => undefined);
    return slim;
  });
  deps.onDescribeFailures("DescribeTasks", failures);
  for (const t of described) if (t.taskArn) current.set(t.taskArn, t);
  await servicesDescribed; // in the services cache before loadFacts asks for them

  const next: ClusterState = {
    ...emptyClusterState(),
    refreshes: previous.refreshes + (listed ? 0 : 1),
    listed: [...arns],
    strings,
  };
  const tasks = [...current.values()];
  // Independent, and on different buckets: the EC2, ENI and service lookups run while the task
  // definitions (their own bucket, often the cold refresh's longest) are still being described.
  const [unavailable, facts] = await Promise.all([
    loadTaskDefinitions(deps, cluster, tasks, previous, next, definitions),
    loadFacts(deps, cluster, tasks, previous, next),
  ]);

  const targets: DiscoveredTarget[] = [];
  let mapped = 0;
  for (const [arn, task] of current) {
    // Building a task's targets took 50 to 150 µs in the scale bench: a cold cluster of 2,000 tasks in one
    // piece held the event loop up to 300 ms.
    if (++mapped % TASKS_PER_TURN === 0) await setImmediateAsync();
    // Not settled either, so the definition is asked for again on the next refresh.
    const unavailableError = task.taskDefinitionArn ? unavailable.get(task.taskDefinitionArn) : undefined;
    if (unavailableError) {
      deps.onSkipped(taskDefinitionUnavailable(task, unavailableError));
      continue;
    }
    const def = task.taskDefinitionArn ? next.taskDefinitions.get(task.taskDefinitionArn) : undefined;
    const taskFacts = facts.of(task);
    const built = reuseOrBuild(previous.built.get(arn), task, def, taskFacts, deps.opts);
    const { result } = built;
    targets.push(...result.targets);
    for (const skip of result.skipped) deps.onSkipped(skip);
    // Keep only settled tasks; PROVISIONING/PENDING ones, ones without an address, and ones whose
    // container health checks have not reported yet are described again whatever the cadence.
    const settled =
      task.lastStatus === "RUNNING" &&
      def !== undefined &&
      !taskFacts.incomplete &&
      !result.skipped.some((s) => UNSETTLED_SKIPS.has(s.reason)) &&
      !(task.healthStatus === "UNKNOWN" && hasHealthCheck(def));
    if (settled) {
      next.tasks.set(arn, task);
      next.built.set(arn, built);
      if (task.digest) next.described.set(task.digest, task);
    }
  }
  // ARNs that vanished from ListTasks, and what only they referenced, are dropped here.
  return { targets, next };
}

/** Each projected task's ENI id (null: none), worked out once: a kept task is asked again every refresh. */
const eniIds = new WeakMap<SlimTask, string | null>();

/** An awsvpc task's ENI id, whose public IP DescribeNetworkInterfaces gives. */
function eniIdOf(task: SlimTask): string | undefined {
  let id = eniIds.get(task);
  if (id === undefined) {
    id = (labelNetworkMode(task) === "awsvpc" ? taskEniAddress(task).eniId : undefined) ?? null;
    eniIds.set(task, id);
  }
  return id ?? undefined;
}

function eniIdsOf(tasks: readonly SlimTask[]): string[] {
  return tasks.flatMap((t) => {
    const eniId = eniIdOf(t);
    return eniId ? [eniId] : [];
  });
}

/** Said once per denial (the scope holds lookups back after one). */
const enisDenied =
  (deps: ClusterRefreshDeps, cluster: ClusterFacts) =>
  (err: Error): void =>
    deps.logger.warn(
      "DescribeNetworkInterfaces denied: awsvpc tasks go without the public_ip label until it is granted (deploy/iam/ecs-discovery.json)",
      { source: "ecs", unit: cluster.name, error: err.name, message: err.message },
    );

/** A task's targets and what they were built from. */
export interface BuiltTask {
  task: SlimTask;
  def: SlimTaskDefinition | undefined;
  facts: TaskFacts;
  result: BuildResult;
}

/**
 * The last refresh's targets when nothing they are built from changed, else new ones. Reused targets
 * keep their identity, so publication sees them unchanged without comparing labels. Facts and task
 * definitions are the same objects while cached; a re-described task is unchanged when its version
 * (which ECS increments on every state change) and the fields outside it (health, tags) are equal.
 */
function reuseOrBuild(
  last: BuiltTask | undefined,
  task: SlimTask,
  def: SlimTaskDefinition | undefined,
  facts: TaskFacts,
  opts: OptInOptions,
): BuiltTask {
  if (last && last.def === def && sameFacts(last.facts, facts) && sameTask(last.task, task))
    return last.task === task ? last : { ...last, task };
  return { task, def, facts, result: buildTaskTargets(task, def, facts, opts) };
}

function sameFacts(a: TaskFacts, b: TaskFacts): boolean {
  return (
    a.cluster === b.cluster &&
    a.service === b.service &&
    a.instance === b.instance &&
    a.ec2InstanceId === b.ec2InstanceId &&
    a.eniPublicIp === b.eniPublicIp
  );
}

function sameTask(a: SlimTask, b: SlimTask): boolean {
  if (a === b) return true;
  if (a.version === undefined || a.version !== b.version) return false;
  if (a.lastStatus !== b.lastStatus || a.desiredStatus !== b.desiredStatus) return false;
  if (a.healthStatus !== b.healthStatus) return false;
  const at = a.tags ?? [];
  const bt = b.tags ?? [];
  return at.length === bt.length && at.every((t, i) => t.key === bt[i]!.key && t.value === bt[i]!.value);
}

/**
 * The task definitions the tasks reference, into `next`: from the last refresh, else described (awaiting
 * the description `started` while DescribeTasks answered, if any). Returns the ARNs that could not be
 * described (deleted, denied, throttled, timed out): only the tasks referencing them
 * are skipped, the rest of the cluster is served. A definition once described is never asked for again,
 * so a transient error can only hold back tasks that were not served yet.
 */
async function loadTaskDefinitions(
  deps: ClusterRefreshDeps,
  cluster: ClusterFacts,
  tasks: SlimTask[],
  previous: ClusterState,
  next: ClusterState,
  started: ReadonlyMap<string, Promise<SlimTaskDefinition | undefined>>,
): Promise<Map<string, Error>> {
  const missing = new Set<string>();
  for (const { taskDefinitionArn: arn } of tasks) {
    if (!arn || next.taskDefinitions.has(arn)) continue;
    const known = previous.taskDefinitions.get(arn);
    if (known) next.taskDefinitions.set(arn, known);
    else missing.add(arn);
  }
  const unavailable = new Map<string, TaskDefinitionError>();
  await Promise.all(
    [...missing].map(async (arn) => {
      try {
        const def = await (started.get(arn) ?? deps.scope.describeTaskDefinition(arn));
        if (def) next.taskDefinitions.set(arn, def);
      } catch (err) {
        unavailable.set(arn, err instanceof Error ? err : new Error(String(err)));
      }
    }),
  );
  // Other errors (throttled, 5xx, denied) are asked again, and warned about, every refresh.
  const fresh = [...unavailable].filter(([, e]) => !reportedRefusals.has(e));
  const [first] = fresh;
  if (first) {
    for (const [, e] of fresh) if (e.retry) reportedRefusals.add(e);
    const [arn, error] = first;
    deps.logger.warn("DescribeTaskDefinition failed; the tasks using it are skipped until it succeeds", {
      source: "ecs",
      unit: cluster.name,
      definitions: unavailable.size,
      example: arn,
      error: error.name,
      message: error.message,
    });
  }
  return unavailable;
}

interface LoadedFacts {
  /** The task's facts, and whether one of them could not be fetched (the task is then not settled). */
  of(task: SlimTask): TaskFacts & { incomplete: boolean };
}

/** Container instances (per cluster), then the scope's cached service, EC2 instance and ENI facts. */
async function loadFacts(
  deps: ClusterRefreshDeps,
  cluster: ClusterFacts,
  tasks: SlimTask[],
  previous: ClusterState,
  next: ClusterState,
): Promise<LoadedFacts> {
  const { api } = deps.scope;
  const running = tasks.filter((t) => t.lastStatus === "RUNNING");
  const unknownCi = new Set<string>();
  for (const { containerInstanceArn: ci } of running) {
    if (!ci || next.instanceIds.has(ci)) continue;
    const id = previous.instanceIds.get(ci);
    if (id) next.instanceIds.set(ci, id);
    else unknownCi.add(ci);
  }
  const found = await describeInBatches([...unknownCi], (batch) =>
    api.describeContainerInstances(cluster.arn, batch),
  );
  for (const ci of found) next.instanceIds.set(ci.containerInstanceArn, ci.ec2InstanceId);

  // External (ECS Anywhere) instances carry an SSM id (mi-...): EC2 would reject the whole batch.
  const ec2Ids = running.flatMap((t) => {
    const id = t.containerInstanceArn ? next.instanceIds.get(t.containerInstanceArn) : undefined;
    return id?.startsWith("i-") ? [id] : [];
  });
  const eniIds = eniIdsOf(running);
  // A cluster's tasks come in a few groups: each group's service key is made once, not once per task.
  const keysByGroup = new Map<string, string | undefined>();
  const serviceKeyOf = (task: SlimTask): string | undefined => {
    if (task.group === undefined) return undefined;
    if (keysByGroup.has(task.group)) return keysByGroup.get(task.group);
    const name = serviceName(task);
    const key = name ? serviceKey(cluster.arn, name) : undefined;
    keysByGroup.set(task.group, key);
    return key;
  };
  const serviceKeys = new Set<string>();
  for (const t of running) {
    const key = serviceKeyOf(t);
    if (key) serviceKeys.add(key);
  }
  const [instances, enis, services] = await Promise.all([
    deps.scope.instances.get(ec2Ids, async (ids) =>
      byKey(await api.describeInstances(ids), (i) => i.instanceId),
    ),
    deps.scope.lookupEnis(eniIds, enisDenied(deps, cluster)),
    deps.scope.services.get(serviceKeys, fetchServices(deps, cluster)),
  ]);
  const failedCalls = [
    ["DescribeInstances", instances.errors],
    ["DescribeNetworkInterfaces", enis.errors],
    ["DescribeServices", services.errors],
  ] as const;
  for (const [operation, errors] of failedCalls)
    if (errors.length > 0)
      deps.logger.warn(
        "describe failed; only the tasks that need it lose those labels (bridge/host: skipped)",
        {
          source: "ecs",
          unit: cluster.name,
          operation,
          error: errors[0]!.name,
          message: errors[0]!.message,
        },
      );

  return {
    of(task) {
      const ec2InstanceId = task.containerInstanceArn
        ? next.instanceIds.get(task.containerInstanceArn)
        : undefined;
      const instance: InstanceFacts | undefined = ec2InstanceId
        ? instances.values.get(ec2InstanceId)
        : undefined;
      const eniId = eniIdOf(task);
      const sKey = serviceKeyOf(task);
      const service = sKey ? services.values.get(sKey) : undefined;
      const eniPublicIp = eniId ? enis.values.get(eniId)?.publicIp : undefined;
      const incomplete =
        (ec2InstanceId !== undefined && instances.failed.has(ec2InstanceId)) ||
        (eniId !== undefined && enis.failed.has(eniId)) ||
        (sKey !== undefined && services.failed.has(sKey));
      // Assigned one by one: absent facts have no key, and no spread object is made per task.
      const facts: TaskFacts & { incomplete: boolean } = { cluster, incomplete };
      if (service) facts.service = service;
      if (ec2InstanceId) facts.ec2InstanceId = ec2InstanceId;
      if (instance) facts.instance = instance;
      if (eniPublicIp) facts.eniPublicIp = eniPublicIp;
      return facts;
    },
  };
}

/** DescribeServices for a batch of the services cache's keys; `onFound` hears of each answer's services. */
function fetchServices(
  deps: ClusterRefreshDeps,
  cluster: ClusterFacts,
  onFound?: (found: ServiceFacts[]) => void,
): FetchBatch<ServiceFacts> {
  return async (keys) => {
    const r = await deps.scope.api.describeServices(
      cluster.arn,
      keys.map((k) => k.slice(cluster.arn.length + 1)),
    );
    deps.onDescribeFailures("DescribeServices", r.failures);
    onFound?.(r.found);
    return byKey(r.found, (s) => serviceKey(cluster.arn, s.name));
  };
}

/**
 * A cluster's first walk: ListServices and DescribeServices (their own bucket) while ListTasks walks, so the
 * task definitions of the services' deployments are named within a few calls rather than as DescribeTasks
 * answers arrive behind the whole listing. DescribeTaskDefinition's bucket (50, then 20 a second) is a cold
 * refresh's longest: every second it idles at the start is a second at the end. The services land in the
 * services cache loadFacts reads. Only an optimisation: a failure (a policy without ecs:ListServices) is
 * said once per scope and the refresh goes on naming definitions from the tasks.
 */
async function describeClusterServices(
  deps: ClusterRefreshDeps,
  cluster: ClusterFacts,
  nameDefinition: (arn: string) => void,
): Promise<void> {
  const { scope } = deps;
  if (scope.listServicesRefused) return;
  try {
    const names = (await scope.api.listServices(cluster.arn)).map((arn) =>
      arn.slice(arn.lastIndexOf("/") + 1),
    );
    const found = (services: ServiceFacts[]) => {
      for (const s of services) for (const arn of s.taskDefinitions) nameDefinition(arn);
    };
    await scope.services.get(
      names.map((name) => serviceKey(cluster.arn, name)),
      fetchServices(deps, cluster, found),
    );
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    if (isDenied(error)) {
      if (scope.listServicesRefused) return; // another cluster's first walk said so
      scope.listServicesRefused = true;
      deps.logger.warn(
        "ListServices denied: a cold start names task definitions only as tasks are described (slower); grant ecs:ListServices (deploy/iam/ecs-discovery.json)",
        { source: "ecs", unit: cluster.name, error: error.name, message: error.message },
      );
    } else
      deps.logger.debug("ListServices failed; task definitions are named as tasks are described", {
        source: "ecs",
        unit: cluster.name,
        error: error.name,
        message: error.message,
      });
  }
}

function byKey<V>(items: V[], key: (v: V) => string): Map<string, V> {
  return new Map(items.map((v) => [key(v), v]));
}
