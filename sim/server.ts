// The simulated AWS endpoint: one loopback HTTP server that unmodified AWS SDK v3 clients reach through an
// endpoint override. It routes by wire protocol (X-Amz-Target for the JSON services, Action/Version for the
// EC2 and STS query protocols) and by account (access keys from AssumeRole name theirs), applies the fault
// switches, counts every call, and serves the /_sim/* control endpoints.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { accountApi } from "./account.js";
import type { SimAws, SimAwsOptions, SimFaultRule } from "./api.js";
import { cloudMapNamespaces, handleCloudMap } from "./cloudmap.js";
import { cloudWatchClusters, handleCloudWatch } from "./cloudwatch.js";
import { handleControl } from "./control.js";
import { ec2Clusters, ec2Unfiltered, handleEc2 } from "./ec2.js";
import { ecsClusters, handleEcs } from "./ecs.js";
import { handleSqs } from "./sqs.js";
import { FaultBox, type CallScope, type ThrottleRule } from "./faults.js";
import {
  ec2Error,
  JSON_TARGETS,
  jsonError,
  jsonResponse,
  parseAuthorization,
  queryError,
  serverError,
  SimAwsError,
  SimScenarioError,
  throttleError,
  type SimResponse,
  type SimService,
} from "./protocol.js";
import { checkScenario, loadScenario } from "./scenario.js";
import { World } from "./world.js";
import { accountOfKey, handleSts, STS_XMLNS, type StsAccount } from "./sts.js";
import { AWS_THROTTLING } from "./throttling.js";
import type { Scenario } from "./types.js";

// Importers of this module get the endpoint's types with its constructor.
export type { FaultOptions, SimAws, SimAwsOptions, SimFaultRule } from "./api.js";

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
      service === "ec2"
        ? "UnauthorizedOperation"
        : service === "sts"
          ? "AccessDenied"
          : "AccessDeniedException",
      rule.message ?? "User is not authorized to perform this operation",
      status,
    );
  }
  return new SimAwsError(rule.code, rule.message ?? `Simulated ${rule.code}`, status);
}

function isList<T>(v: T | readonly T[]): v is readonly T[] {
  return Array.isArray(v);
}

/** The scenario's `throttling`: "aws" (the documented buckets), a list of rules, or off. */
function initialThrottling(t: Scenario["throttling"]): readonly ThrottleRule[] {
  if (t === undefined) return [];
  if (t === "aws") return AWS_THROTTLING;
  if (Array.isArray(t)) return t;
  throw new SimScenarioError(`throttling must be "aws" or a list of rules, got ${JSON.stringify(t)}`);
}

/** One World per account: the scenario's top level, then each entry of scenario.accounts. */
function buildWorlds(
  scenario: Scenario,
  now: () => number,
): { main: World; worlds: Map<string, World>; sts: Map<string, StsAccount> } {
  const main = new World(scenario, now);
  const worlds = new Map([[main.accountId, main]]);
  const sts = new Map<string, StsAccount>([[main.accountId, { accountId: main.accountId }]]);
  for (const [i, acc] of (scenario.accounts ?? []).entries()) {
    if (!acc.accountId) throw new SimScenarioError(`accounts[${i}]: accountId is required`);
    if (worlds.has(acc.accountId))
      throw new SimScenarioError(`accounts[${i}]: duplicate account ${acc.accountId}`);
    const { externalId, ...rest } = acc;
    const n = i + 1;
    const world = new World(
      {
        ...rest,
        region: acc.region ?? main.region,
        ipPool: { tasks: `127.${n}.0.2`, instances: `127.${n}.200.1`, ...acc.ipPool },
        ...(scenario.lifecycle ? { lifecycle: scenario.lifecycle } : {}),
        ...(scenario.cloudwatch ? { cloudwatch: scenario.cloudwatch } : {}),
      },
      now,
    );
    worlds.set(acc.accountId, world);
    sts.set(acc.accountId, { accountId: acc.accountId, ...(externalId !== undefined ? { externalId } : {}) });
  }
  return { main, worlds, sts };
}

export async function startSimAws(opts: SimAwsOptions = {}): Promise<SimAws> {
  const scenario =
    typeof opts.scenario === "string" ? loadScenario(opts.scenario) : checkScenario(opts.scenario ?? {});
  const now = opts.now ?? Date.now;
  const { main, worlds, sts } = buildWorlds(scenario, now);
  const faults = new FaultBox(now, opts.seed ?? 42);
  faults.setThrottling(initialThrottling(scenario.throttling));
  const ecsOpts = { ipv6Bindings: scenario.ecs?.ipv6Bindings ?? false };
  let closed = false;

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
              "the simulated AWS endpoint understands AWS JSON (X-Amz-Target), EC2 and STS query requests, and /_sim/*",
          },
          404,
        );
      }
      if (form.Version === "2016-11-15") service = "ec2";
      else if (form.Version === "2011-06-15") service = "sts";
      else
        return ec2Error(
          new SimAwsError(
            "InvalidAction",
            `The simulated endpoint serves EC2 (2016-11-15) and STS (2011-06-15) query requests, got Action=${form.Action} Version=${form.Version}`,
          ),
        );
      operation = form.Action;
      params = form;
    }
    const auth = parseAuthorization(req.headers.authorization);
    const world = worlds.get(accountOfKey(auth.accessKeyId) ?? "") ?? main;
    const region = auth.region ?? world.region;
    const scope: CallScope = {
      service,
      operation,
      account: world.accountId,
      region,
      ...(service === "ec2" ? { unfiltered: ec2Unfiltered(params) } : {}),
      clusters:
        service === "ecs"
          ? ecsClusters(world.ecs, operation, params, region)
          : service === "ec2"
            ? ec2Clusters(world.ecs, params, region)
            : service === "cloudwatch"
              ? cloudWatchClusters(params)
              : [],
      namespaces:
        service === "servicediscovery" ? cloudMapNamespaces(world.cloudMap, operation, params, region) : [],
    };
    const delay = faults.delayFor(scope);
    if (delay > 0) await sleep(delay);
    let response: SimResponse;
    let error: string | undefined;
    try {
      const rule = faults.fault(scope) as SimFaultRule | undefined;
      if (rule) throw faultError(service, operation, rule);
      if (!faults.admit(scope)) throw throttleError(service, operation);
      if (service === "ec2" || service === "sts") {
        const xml =
          service === "ec2"
            ? handleEc2(world.ecs, operation, params, region)
            : handleSts(
                operation,
                params,
                {
                  accountId: world.accountId,
                  ...(auth.accessKeyId ? { accessKeyId: auth.accessKeyId } : {}),
                },
                sts,
                now(),
              );
        response = { status: 200, headers: { "content-type": "text/xml;charset=UTF-8" }, body: xml };
      } else {
        const result =
          service === "ecs"
            ? handleEcs(world.ecs, operation, params, region, ecsOpts)
            : service === "servicediscovery"
              ? handleCloudMap(world.cloudMap, operation, params, region)
              : service === "sqs"
                ? // Queue URLs name the endpoint the client reached (long polls wait here).
                  await handleSqs(
                    world.sqs,
                    operation,
                    params,
                    region,
                    `http://${req.headers.host}`,
                    () => closed,
                  )
                : handleCloudWatch(world.cloudWatch, operation, params, region);
        response = jsonResponse(contentType, result);
      }
    } catch (err) {
      const e =
        err instanceof SimAwsError
          ? err
          : new SimAwsError("InternalFailure", `simulated AWS bug: ${(err as Error).message}`, 500);
      error = e.queryCode ?? e.code.split("#").pop();
      response =
        service === "ec2"
          ? ec2Error(e)
          : service === "sts"
            ? queryError(e, STS_XMLNS)
            : jsonError(service, contentType, e);
    }
    faults.count({
      service,
      operation,
      params,
      region,
      account: world.accountId,
      status: response.status,
      ...(error ? { error } : {}),
    });
    return response;
  }

  const apis = new Map([...worlds].map(([id, w]) => [id, accountApi(w, () => sim.url)]));
  const sim: SimAws = {
    ...apis.get(main.accountId)!,
    url: "",
    close: async () => {},
    account: (id) => {
      const api = apis.get(id);
      if (!api) throw new SimScenarioError(`unknown account ${id}; known: ${[...apis.keys()].join(", ")}`);
      return api;
    },
    accounts: () => [...apis.keys()],
    calls: (op) => faults.calls(op),
    callCounts: () => Object.fromEntries(faults.counts),
    callLog: (filter) =>
      faults.log.filter(
        (r) =>
          (!filter?.service || r.service === filter.service) &&
          (!filter?.operation || r.operation === filter.operation) &&
          (!filter?.account || r.account === filter.account),
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
        closed = true;
        for (const w of worlds.values()) {
          w.events.close();
          w.sqs.wakeAll();
        }
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
  return sim;
}
