// The in-process API over one simulated AWS account: ECS/Cloud Map/CloudWatch mutations and views.
// SimAws exposes it for the main account, and sim.account(id) for each extra account.
import { SimScenarioError } from "./protocol.js";
import { taskInfo } from "./ecs-model.js";
import type { EventDeliveryOptions } from "./eventbridge.js";
import { queueUrl } from "./sqs.js";
import type { World } from "./world.js";
import type {
  CloudMapHealth,
  ContainerInstanceSpec,
  MetricSeriesSpec,
  ServiceConnectSpec,
  SimEndpoint,
  SimTaskInfo,
  TaskHealth,
  TaskSpec,
  TaskStatus,
} from "./types.js";

export interface SimAccount {
  readonly accountId: string;
  /** The account's default region. */
  readonly region: string;

  // --- ECS ---
  /** Starts one standalone task (group family:<family> unless `group` says otherwise). */
  startTask(cluster: string, spec: TaskSpec): SimTaskInfo;
  stopTask(cluster: string, task: string, reason?: string): SimTaskInfo;
  /** Sets a task's health status (HEALTHY, UNHEALTHY, UNKNOWN), as its container health checks would. */
  setTaskHealth(cluster: string, task: string, health: TaskHealth): SimTaskInfo;
  /** Desired status STOPPED while the task keeps RUNNING (ECS stopping it); stopTask completes the stop. */
  drainTask(cluster: string, task: string): SimTaskInfo;
  /** Sets desiredCount: new tasks start (lifecycle applies), the newest surplus tasks stop. */
  scaleService(
    cluster: string,
    service: string,
    desiredCount: number,
    opts?: { pendingDescribes?: number | "advance" },
  ): { started: SimTaskInfo[]; stopped: SimTaskInfo[] };
  /** PROVISIONING/PENDING tasks (all, or one by id/ARN) become RUNNING; returns how many. */
  advance(task?: string): number;
  addContainerInstance(
    cluster: string,
    spec?: ContainerInstanceSpec,
  ): { arn: string; ec2InstanceId: string; privateIp: string };
  /** Tasks in creation order; stopped ones only with includeStopped. */
  tasks(filter?: {
    cluster?: string;
    service?: string;
    lastStatus?: TaskStatus;
    includeStopped?: boolean;
  }): SimTaskInfo[];

  // --- Cloud Map ---
  addCloudMapService(
    namespace: string,
    service: string,
    opts?: { tags?: Record<string, string>; customHealthCheck?: boolean },
  ): { id: string; arn: string };
  registerInstance(i: {
    namespace: string;
    service: string;
    instanceId: string;
    attributes?: Record<string, string>;
    health?: CloudMapHealth;
  }): void;
  deregisterInstance(i: { namespace: string; service: string; instanceId: string }): void;
  setInstanceHealth(i: {
    namespace: string;
    service: string;
    instanceId: string;
    health: CloudMapHealth;
  }): void;

  // --- CloudWatch ---
  putMetricSeries(series: MetricSeriesSpec | MetricSeriesSpec[]): void;
  removeMetricSeries(
    series: Pick<MetricSeriesSpec, "namespace" | "metricName" | "dimensions" | "region">,
  ): boolean;
  /** Adds the Service Connect series of one discovery name; returns how many series. */
  putServiceConnect(spec: ServiceConnectSpec): number;

  // --- SQS and EventBridge ---
  /** Creates (or returns) a standard queue; its URL is on the sim's own endpoint. */
  createQueue(name: string, attributes?: Record<string, string>): { name: string; arn: string; url: string };
  /** Sends every ECS task state change of this account to the queue (name, ARN or URL), as a rule target. */
  subscribeTaskEvents(queue: string): void;
  unsubscribeTaskEvents(queue: string): void;
  /** Delivery switches of the task state change rule: duplicates, reordering, delay, loss. */
  setEventDelivery(opts: EventDeliveryOptions): void;
  /** Messages in a queue: visible, and in flight (received, not deleted, visibility timeout running). */
  queueDepth(queue: string): { visible: number; inFlight: number };

  // --- views ---
  /** Reachable addresses of RUNNING task ports and Cloud Map instances (for sample /metrics servers). */
  endpoints(filter?: {
    source?: "ecs" | "cloudmap";
    cluster?: string;
    service?: string;
    namespace?: string;
  }): SimEndpoint[];
  /** A JSON summary of the account. */
  state(): Record<string, unknown>;
}

export function accountApi(world: World, baseUrl: () => string): SimAccount {
  const { ecs, cloudMap, cloudWatch, sqs, events } = world;
  return {
    accountId: world.accountId,
    region: world.region,
    startTask: (cluster, spec) => {
      if ((spec.count ?? 1) !== 1)
        throw new SimScenarioError("startTask starts one task; call it again or use scaleService");
      return taskInfo(ecs.startTask(cluster, spec));
    },
    stopTask: (cluster, task, reason) => taskInfo(ecs.stopTask(cluster, task, reason)),
    setTaskHealth: (cluster, taskRef, health) => taskInfo(ecs.setTaskHealth(cluster, taskRef, health)),
    drainTask: (cluster, task) => taskInfo(ecs.drainTask(cluster, task)),
    scaleService: (cluster, service, n, o) => {
      const r = ecs.scaleService(cluster, service, n, o);
      return {
        started: r.started.map(taskInfo),
        stopped: r.stopped.map(taskInfo),
      };
    },
    advance: (task) => ecs.advance(task),
    addContainerInstance: (cluster, spec = {}) => {
      const i = ecs.addContainerInstance(ecs.clusterForMutation(cluster), spec);
      return { arn: i.arn, ec2InstanceId: i.ec2InstanceId, privateIp: i.privateIp };
    },
    tasks: (f = {}) => {
      const out: SimTaskInfo[] = [];
      for (const c of ecs.clusters.values()) {
        if (f.cluster && c.name !== f.cluster && c.arn !== f.cluster) continue;
        for (const t of c.tasks.values()) {
          if (!f.includeStopped && t.desiredStatus === "STOPPED") continue;
          if (f.service && t.service?.name !== f.service) continue;
          if (f.lastStatus && t.lastStatus !== f.lastStatus) continue;
          out.push(taskInfo(t));
        }
      }
      return out;
    },
    addCloudMapService: (namespace, service, o = {}) => {
      const ns = cloudMap.findNamespace(namespace, world.region);
      if (!ns) throw new SimScenarioError(`addCloudMapService: unknown namespace ${namespace}`);
      const s = cloudMap.createService(ns, service, o);
      return { id: s.id, arn: s.arn };
    },
    registerInstance: (i) =>
      void cloudMap.registerInstance(i.namespace, i.service, i.instanceId, i.attributes ?? {}, i.health),
    deregisterInstance: (i) => void cloudMap.deregisterInstance(i.namespace, i.service, i.instanceId),
    setInstanceHealth: (i) => cloudMap.setInstanceHealth(i.namespace, i.service, i.instanceId, i.health),
    putMetricSeries: (s) => {
      for (const m of Array.isArray(s) ? s : [s]) cloudWatch.putSeries(m);
    },
    removeMetricSeries: (s) => cloudWatch.removeSeries(s),
    putServiceConnect: (spec) => cloudWatch.putServiceConnect(spec),
    createQueue: (name, attributes) => {
      const q = sqs.createQueue(name, world.region, attributes);
      return { name: q.name, arn: q.arn, url: queueUrl(baseUrl(), world.accountId, q) };
    },
    subscribeTaskEvents: (queue) => events.subscribe(queue),
    unsubscribeTaskEvents: (queue) => events.unsubscribe(queue),
    setEventDelivery: (o) => events.setDelivery(o),
    queueDepth: (queue) => sqs.counts(sqs.require(queue)),
    endpoints: (f = {}) =>
      world
        .endpoints()
        .filter(
          (e) =>
            (!f.source || e.source === f.source) &&
            (!f.cluster || e.cluster === f.cluster) &&
            (!f.service || e.service === f.service || e.cloudMapService === f.service) &&
            (!f.namespace || e.namespace === f.namespace),
        ),
    state: () => world.summary(),
  };
}
