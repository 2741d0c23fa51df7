// The simulated AWS endpoint: one loopback HTTP server that unmodified AWS SDK v3 clients reach through an
// endpoint override. It routes by wire protocol (X-Amz-Target for the JSON services, Action/Version for EC2
// query), applies the fault switches, counts every call, and serves /_sim/* control endpoints.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { cloudMapNamespaces, handleCloudMap } from "./cloudmap.js";
import { cloudWatchClusters, handleCloudWatch } from "./cloudwatch.js";
import { handleControl } from "./control.js";
import { ec2Clusters, handleEc2 } from "./ec2.js";
import { ecsClusters, handleEcs } from "./ecs.js";
import {
  FaultBox,
  type CallRecord,
  type CallScope,
  type FaultRule,
  type LatencyRule,
  type ThrottleRule,
} from "./faults.js";
import {
  ec2Error,
  JSON_TARGETS,
  jsonError,
  jsonResponse,
  parseAuthorization,
  serverError,
  SimAwsError,
  SimScenarioError,
  throttleError,
  type SimResponse,
  type SimService,
} from "./protocol.js";
import { checkScenario, loadScenario } from "./scenario.js";
import { serviceConnectSeries } from "./serviceconnect.js";
import { World, type SimEndpoint, type SimTaskInfo } from "./state.js";
import type {
  CloudMapHealth,
  ContainerInstanceSpec,
  MetricSeriesSpec,
  Scenario,
  ServiceConnectSpec,
  TaskSpec,
  TaskStatus,
} from "./types.js";

export interface SimAwsOptions {
  /** A scenario object, or the path of a YAML/JSON scenario file. Default: an empty account. */
  scenario?: Scenario | string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Clock in epoch milliseconds (CloudWatch windows, token buckets, timestamps). Default Date.now. */
  now?: () => number;
  /** Seed of the PRNG behind rate-based faults and latency jitter. */
  seed?: number;
}

/** Errors a fault can force: a given AWS code and status, the service's throttling shape, or its 5xx. */
export interface FaultOptions {
  status?: number;
  code?: string;
  message?: string;
  count?: number;
  rate?: number;
}

export interface SimFaultRule extends FaultRule {
  /** Answer with the service's own throttling error (ThrottlingException, RequestLimitExceeded, Throttling). */
  throttle?: boolean;
}

export interface SimAws {
  /** Endpoint for the SDK clients (`endpoint` or AWS_ENDPOINT_URL). */
  readonly url: string;
  readonly accountId: string;
  readonly region: string;
  close(): Promise<void>;

  // --- call counter ---
  /** Calls received for an operation ("DescribeTasks", or "ecs:ListServices" to pick a service); all when omitted. */
  calls(operation?: string): number;
  /** Counts keyed "service:Operation". */
  callCounts(): Record<string, number>;
  /** Recent calls with their parameters and outcome (newest last). */
  callLog(filter?: { service?: SimService; operation?: string }): CallRecord[];
  resetCalls(): void;

  // --- fault switches ---
  /** Latency per call: a number applies to every call; rules match service/operation/cluster/namespace. null: off. */
  setLatency(latency: number | LatencyRule | LatencyRule[] | null): void;
  /** Token-bucket throttling (off by default); each rule is one bucket shared by the calls it matches. */
  setThrottling(rules: ThrottleRule | readonly ThrottleRule[] | null): void;
  /** Adds a forced failure; returns its id. Without code/throttle, status >= 500 answers the service's 5xx. */
  addFault(rule: SimFaultRule): string;
  removeFault(id: string): boolean;
  clearFaults(): void;
  /** Every call touching this ECS cluster (name or ARN) fails: 500 by default, or e.g. {status: 400, code: "AccessDeniedException"}. */
  failCluster(cluster: string, opts?: FaultOptions): string;
  /** Every call touching this Cloud Map namespace (name or id) fails. */
  failNamespace(namespace: string, opts?: FaultOptions): string;
  /** The next `count` matching calls answer the service's throttling error. */
  throttleNext(match: { service?: SimService; operation?: string | string[]; count: number }): string;
  /** Forced 5xx for a service/operation, for the next `count` calls or at `rate`. */
  forceServerErrors(match: {
    service?: SimService;
    operation?: string | string[];
    status?: number;
    count?: number;
    rate?: number;
  }): string;

  // --- ECS mutations ---
  startTask(cluster: string, spec: TaskSpec): SimTaskInfo;
  stopTask(cluster: string, task: string, reason?: string): SimTaskInfo;
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
  /** Tasks, newest last; stopped ones only with includeStopped. */
  tasks(filter?: {
    cluster?: string;
    service?: string;
    lastStatus?: TaskStatus;
    includeStopped?: boolean;
  }): SimTaskInfo[];

  // --- Cloud Map mutations ---
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

  // --- CloudWatch mutations ---
  putMetricSeries(series: MetricSeriesSpec | MetricSeriesSpec[]): void;
  removeMetricSeries(
    series: Pick<MetricSeriesSpec, "namespace" | "metricName" | "dimensions" | "region">,
  ): boolean;
  putServiceConnect(spec: ServiceConnectSpec): number;

  // --- views ---
  /** Reachable addresses of RUNNING task ports and Cloud Map instances (for sample /metrics servers). */
  endpoints(filter?: {
    source?: "ecs" | "cloudmap";
    cluster?: string;
    service?: string;
    namespace?: string;
  }): SimEndpoint[];
  /** A JSON summary of the whole simulated account. */
  state(): Record<string, unknown>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let buf = Buffer.concat(chunks);
      if (/gzip/i.test(String(req.headers["content-encoding"] ?? ""))) buf = gunzipSync(buf);
      resolve(buf.toString("utf8"));
    });
    req.on("error", reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function send(res: ServerResponse, r: SimResponse): void {
  res.writeHead(r.status, { ...r.headers, "content-length": Buffer.byteLength(r.body) });
  res.end(r.body);
}

function faultError(service: SimService, operation: string, rule: SimFaultRule): SimAwsError {
  if (rule.throttle) return throttleError(service, operation);
  const status = rule.status ?? (rule.code ? 400 : 500);
  if (!rule.code) {
    if (status >= 500) return serverError(service, status);
    return new SimAwsError(
      service === "ec2" ? "UnauthorizedOperation" : "AccessDeniedException",
      rule.message ?? "User is not authorized to perform this operation",
      status,
    );
  }
  return new SimAwsError(rule.code, rule.message ?? `Simulated ${rule.code}`, status);
}

export async function startSimAws(opts: SimAwsOptions = {}): Promise<SimAws> {
  const scenario =
    typeof opts.scenario === "string" ? loadScenario(opts.scenario) : checkScenario(opts.scenario ?? {});
  const now = opts.now ?? Date.now;
  const world = new World(scenario, now);
  const faults = new FaultBox(now, opts.seed ?? 42);
  const ecsOpts = { ipv6Bindings: scenario.ecs?.ipv6Bindings ?? false };

  async function handleAws(req: IncomingMessage, body: string): Promise<SimResponse> {
    const target = req.headers["x-amz-target"];
    let service: SimService;
    let operation: string;
    let params: Record<string, unknown>;
    let contentType = "application/x-amz-json-1.1";
    if (typeof target === "string") {
      const [prefix = "", op = ""] = target.split(".");
      const spec = JSON_TARGETS[prefix];
      if (!spec)
        return jsonResponse(
          contentType,
          { __type: "UnknownOperationException", message: `unknown target ${target}` },
          400,
        );
      service = spec.service;
      operation = op;
      contentType = spec.contentType;
      try {
        params = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      } catch {
        return jsonError(
          service,
          contentType,
          new SimAwsError("SerializationException", "Request body is not valid JSON"),
        );
      }
    } else {
      const form = Object.fromEntries(new URLSearchParams(body));
      if (!form.Action) {
        return jsonResponse(
          "application/json",
          {
            message:
              "the simulated AWS endpoint understands AWS JSON (X-Amz-Target) and EC2 query requests, and /_sim/*",
          },
          404,
        );
      }
      if (form.Version !== "2016-11-15")
        return ec2Error(
          new SimAwsError(
            "InvalidAction",
            `The simulated endpoint serves EC2 (Version 2016-11-15) query requests only, got Action=${form.Action} Version=${form.Version}`,
          ),
        );
      service = "ec2";
      operation = form.Action;
      params = form;
    }
    const auth = parseAuthorization(req.headers.authorization);
    const region = auth.region ?? world.region;
    const scope: CallScope = {
      service,
      operation,
      clusters:
        service === "ecs"
          ? ecsClusters(world, operation, params, region)
          : service === "ec2"
            ? ec2Clusters(world, params, region)
            : service === "cloudwatch"
              ? cloudWatchClusters(params)
              : [],
      namespaces: service === "servicediscovery" ? cloudMapNamespaces(world, operation, params, region) : [],
    };
    const delay = faults.delayFor(scope);
    if (delay > 0) await sleep(delay);
    let response: SimResponse;
    let error: string | undefined;
    try {
      const rule = faults.fault(scope) as SimFaultRule | undefined;
      if (rule) throw faultError(service, operation, rule);
      if (!faults.admit(scope)) throw throttleError(service, operation);
      if (service === "ec2") {
        response = {
          status: 200,
          headers: { "content-type": "text/xml;charset=UTF-8" },
          body: handleEc2(world, operation, params, region),
        };
      } else {
        const result =
          service === "ecs"
            ? handleEcs(world, operation, params, region, ecsOpts)
            : service === "servicediscovery"
              ? handleCloudMap(world, operation, params, region)
              : handleCloudWatch(world, operation, params, region);
        response = jsonResponse(contentType, result);
      }
    } catch (err) {
      const e =
        err instanceof SimAwsError
          ? err
          : new SimAwsError("InternalFailure", `simulated AWS bug: ${(err as Error).message}`, 500);
      error = e.queryCode ?? e.code.split("#").pop();
      response = service === "ec2" ? ec2Error(e) : jsonError(service, contentType, e);
    }
    faults.count({
      service,
      operation,
      params,
      region,
      status: response.status,
      ...(error ? { error } : {}),
    });
    return response;
  }

  const sim: SimAws = {
    url: "",
    accountId: world.accountId,
    region: world.region,
    close: async () => {},
    calls: (op) => faults.calls(op),
    callCounts: () => Object.fromEntries(faults.counts),
    callLog: (filter) =>
      faults.log.filter(
        (r) =>
          (!filter?.service || r.service === filter.service) &&
          (!filter?.operation || r.operation === filter.operation),
      ),
    resetCalls: () => faults.resetCalls(),
    setLatency: (l) =>
      faults.setLatency(l === null ? [] : typeof l === "number" ? [{ ms: l }] : Array.isArray(l) ? l : [l]),
    setThrottling: (r) => faults.setThrottling(r === null ? [] : isList(r) ? r : [r]),
    addFault: (rule) => faults.addFault(rule),
    removeFault: (id) => faults.removeFault(id),
    clearFaults: () => faults.clearFaults(),
    failCluster: (cluster, o = {}) => faults.addFault({ ...o, cluster }),
    failNamespace: (namespace, o = {}) => faults.addFault({ ...o, namespace }),
    throttleNext: (m) => faults.addFault({ ...m, throttle: true } as SimFaultRule),
    forceServerErrors: (m) => faults.addFault({ ...m, status: m.status ?? 500 }),
    startTask: (cluster, spec) => {
      if ((spec.count ?? 1) !== 1)
        throw new SimScenarioError("startTask starts one task; call it again or use scaleService");
      return world.taskInfo(world.startTask(cluster, spec));
    },
    stopTask: (cluster, task, reason) => world.taskInfo(world.stopTask(cluster, task, reason)),
    scaleService: (cluster, service, n, o) => {
      const r = world.scaleService(cluster, service, n, o);
      return {
        started: r.started.map((t) => world.taskInfo(t)),
        stopped: r.stopped.map((t) => world.taskInfo(t)),
      };
    },
    advance: (task) => world.advance(task),
    addContainerInstance: (cluster, spec = {}) => {
      const i = world.addContainerInstance(world.clusterForMutation(cluster), spec);
      return { arn: i.arn, ec2InstanceId: i.ec2InstanceId, privateIp: i.privateIp };
    },
    tasks: (f = {}) => {
      const out: SimTaskInfo[] = [];
      for (const c of world.clusters.values()) {
        if (f.cluster && c.name !== f.cluster && c.arn !== f.cluster) continue;
        for (const t of c.tasks.values()) {
          if (!f.includeStopped && t.desiredStatus === "STOPPED") continue;
          if (f.service && t.service?.name !== f.service) continue;
          if (f.lastStatus && t.lastStatus !== f.lastStatus) continue;
          out.push(world.taskInfo(t));
        }
      }
      return out;
    },
    addCloudMapService: (namespace, service, o = {}) => {
      const ns = world.findNamespace(namespace, world.region) ?? world.namespaces.get(namespace);
      if (!ns) throw new SimScenarioError(`addCloudMapService: unknown namespace ${namespace}`);
      const s = world.createCloudMapService(ns, service, o);
      return { id: s.id, arn: s.arn };
    },
    registerInstance: (i) =>
      void world.registerInstance(i.namespace, i.service, i.instanceId, i.attributes ?? {}, i.health),
    deregisterInstance: (i) => void world.deregisterInstance(i.namespace, i.service, i.instanceId),
    setInstanceHealth: (i) => world.setInstanceHealth(i.namespace, i.service, i.instanceId, i.health),
    putMetricSeries: (s) => {
      for (const m of Array.isArray(s) ? s : [s]) world.putSeries(m);
    },
    removeMetricSeries: (s) => world.removeSeries(s),
    putServiceConnect: (spec) => {
      const series = serviceConnectSeries(spec);
      for (const m of series) world.putSeries(m, "putServiceConnect");
      return series.length;
    },
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

  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        const url = new URL(req.url ?? "/", "http://sim");
        const r = url.pathname.startsWith("/_sim")
          ? handleControl(sim, req.method ?? "GET", url.pathname, body, url.searchParams)
          : await handleAws(req, body);
        send(res, r);
      } catch (err) {
        send(
          res,
          jsonResponse("application/json", { message: `simulated AWS bug: ${(err as Error).message}` }, 500),
        );
      }
    })();
  });
  server.keepAliveTimeout = 30_000;
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  Object.assign(sim, {
    url: `http://${urlHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
  return sim;
}

function isList<T>(v: T | readonly T[]): v is readonly T[] {
  return Array.isArray(v);
}
