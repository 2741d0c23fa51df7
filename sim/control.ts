// /_sim/* — the simulated AWS's own small JSON API, mirroring the in-process SimAws methods so the demo
// (or a shell) can start/stop tasks, scale services, register Cloud Map instances and flip fault switches.
import { jsonResponse, SimScenarioError, type SimResponse } from "./protocol.js";
import type { SimAccount } from "./account.js";
import type { SimAws } from "./api.js";

type Body = Record<string, unknown>;
type Route = (sim: SimAws, body: Body, query: URLSearchParams) => unknown;

const str = (b: Body, k: string): string => {
  const v = b[k];
  if (typeof v !== "string" || v === "") throw new SimScenarioError(`body field ${k} (string) is required`);
  return v;
};

/** The account a request acts on: body field or query parameter `account`, else the main account. */
const acct = (sim: SimAws, b: Body, q?: URLSearchParams): SimAccount => {
  const id = typeof b.account === "string" ? b.account : q?.get("account");
  return id ? sim.account(id) : sim;
};

/** Method + path -> handler. Bodies are JSON objects; answers are JSON. */
const ROUTES: Record<string, Route> = {
  "GET /_sim": (sim) => ({ accounts: sim.accounts(), endpoints: Object.keys(ROUTES) }),
  "GET /_sim/state": (sim, b, q) => acct(sim, b, q).state(),
  "GET /_sim/endpoints": (sim, b, q) =>
    acct(sim, b, q).endpoints({
      ...(q.get("source") ? { source: q.get("source") as "ecs" | "cloudmap" } : {}),
      ...(q.get("cluster") ? { cluster: q.get("cluster")! } : {}),
      ...(q.get("service") ? { service: q.get("service")! } : {}),
      ...(q.get("namespace") ? { namespace: q.get("namespace")! } : {}),
    }),
  "GET /_sim/tasks": (sim, b, q) =>
    acct(sim, b, q).tasks({
      ...(q.get("cluster") ? { cluster: q.get("cluster")! } : {}),
      ...(q.get("service") ? { service: q.get("service")! } : {}),
      includeStopped: q.get("includeStopped") === "true",
    }),
  "GET /_sim/calls": (sim) => sim.callCounts(),
  "POST /_sim/calls/reset": (sim) => (sim.resetCalls(), { ok: true }),
  "POST /_sim/tasks/start": (sim, b) =>
    acct(sim, b).startTask(str(b, "cluster"), { ...(b as object), taskDefinition: str(b, "taskDefinition") }),
  "POST /_sim/tasks/stop": (sim, b) =>
    acct(sim, b).stopTask(
      str(b, "cluster"),
      str(b, "task"),
      typeof b.reason === "string" ? b.reason : undefined,
    ),
  "POST /_sim/tasks/health": (sim, b) => {
    const health = str(b, "health");
    if (!["HEALTHY", "UNHEALTHY", "UNKNOWN"].includes(health))
      throw new SimScenarioError("body field health must be HEALTHY, UNHEALTHY or UNKNOWN");
    return acct(sim, b).setTaskHealth(str(b, "cluster"), str(b, "task"), health as "HEALTHY");
  },
  "POST /_sim/tasks/drain": (sim, b) => acct(sim, b).drainTask(str(b, "cluster"), str(b, "task")),
  "POST /_sim/queues": (sim, b) => acct(sim, b).createQueue(str(b, "name")),
  "POST /_sim/events/subscribe": (sim, b) => (
    acct(sim, b).subscribeTaskEvents(str(b, "queue")),
    { ok: true }
  ),
  "POST /_sim/events/delivery": (sim, b) => {
    const rates = ["duplicateRate", "reorderRate", "reorderMs", "delayMs", "lossRate"] as const;
    for (const k of rates)
      if (b[k] !== undefined && typeof b[k] !== "number")
        throw new SimScenarioError(`body field ${k} must be a number`);
    acct(sim, b).setEventDelivery(
      Object.fromEntries(rates.filter((k) => b[k] !== undefined).map((k) => [k, b[k]])),
    );
    return { ok: true };
  },
  "POST /_sim/services/scale": (sim, b) => {
    const n = b.desiredCount;
    if (typeof n !== "number") throw new SimScenarioError("body field desiredCount (number) is required");
    return acct(sim, b).scaleService(str(b, "cluster"), str(b, "service"), n);
  },
  "POST /_sim/advance": (sim, b) => ({
    moved: acct(sim, b).advance(typeof b.task === "string" ? b.task : undefined),
  }),
  "POST /_sim/cloudmap/register": (sim, b) => {
    acct(sim, b).registerInstance({
      namespace: str(b, "namespace"),
      service: str(b, "service"),
      instanceId: str(b, "instanceId"),
      attributes: (b.attributes ?? {}) as Record<string, string>,
      ...(typeof b.health === "string" ? { health: b.health as "HEALTHY" } : {}),
    });
    return { ok: true };
  },
  "POST /_sim/cloudmap/deregister": (sim, b) => {
    acct(sim, b).deregisterInstance({
      namespace: str(b, "namespace"),
      service: str(b, "service"),
      instanceId: str(b, "instanceId"),
    });
    return { ok: true };
  },
  "POST /_sim/cloudmap/health": (sim, b) => {
    acct(sim, b).setInstanceHealth({
      namespace: str(b, "namespace"),
      service: str(b, "service"),
      instanceId: str(b, "instanceId"),
      health: str(b, "health") as "HEALTHY",
    });
    return { ok: true };
  },
  "POST /_sim/metrics": (sim, b) => {
    acct(sim, b).putMetricSeries(
      (Array.isArray(b.series) ? b.series : [b]) as Parameters<SimAccount["putMetricSeries"]>[0],
    );
    return { ok: true };
  },
  "POST /_sim/faults": (sim, b) => ({ id: sim.addFault(b as Parameters<SimAws["addFault"]>[0]) }),
  "DELETE /_sim/faults": (sim) => (sim.clearFaults(), { ok: true }),
  "POST /_sim/throttling": (sim, b) => {
    const rules = (Array.isArray(b.rules) ? b.rules : [b]) as Parameters<SimAws["setThrottling"]>[0];
    sim.setThrottling(rules);
    return { ok: true };
  },
  "DELETE /_sim/throttling": (sim) => (sim.setThrottling(null), { ok: true }),
  "POST /_sim/latency": (sim, b) => {
    sim.setLatency(
      Array.isArray(b.rules)
        ? (b.rules as Parameters<SimAws["setLatency"]>[0])
        : (b as unknown as { ms: number }),
    );
    return { ok: true };
  },
  "DELETE /_sim/latency": (sim) => (sim.setLatency(null), { ok: true }),
};

export function handleControl(
  sim: SimAws,
  method: string,
  path: string,
  rawBody: string,
  query = new URLSearchParams(),
): SimResponse {
  const normalized = path.replace(/\/+$/, "") || "/_sim";
  const del = /^\/_sim\/faults\/([^/]+)$/.exec(normalized);
  try {
    if (method === "DELETE" && del)
      return jsonResponse("application/json", { removed: sim.removeFault(decodeURIComponent(del[1]!)) });
    const route = ROUTES[`${method} ${normalized}`];
    if (!route)
      return jsonResponse(
        "application/json",
        { error: `no such sim endpoint: ${method} ${path}`, endpoints: Object.keys(ROUTES) },
        404,
      );
    let body: Body = {};
    if (rawBody) {
      const parsed: unknown = JSON.parse(rawBody);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
        throw new SimScenarioError("body must be a JSON object");
      body = parsed as Body;
    }
    return jsonResponse("application/json", route(sim, body, query) ?? { ok: true });
  } catch (err) {
    const status =
      err instanceof SimScenarioError || err instanceof SyntaxError || err instanceof RangeError ? 400 : 500;
    return jsonResponse("application/json", { error: (err as Error).message }, status);
  }
}
