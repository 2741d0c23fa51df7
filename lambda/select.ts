// Pure selection of a running task's metrics endpoint and the redirect URL built from it.
// The Location host is always the IP of a discovered target: nothing from the request reaches it.
import { isIP } from "node:net";
import { ECS_LABELS } from "../sd/ecs/labels.js";
import type { DiscoveredTarget } from "../sd/model.js";

export const DEFAULT_METRICS_PATH = "/metrics";

/** One metrics endpoint of a task, as discovery declared it. */
export interface TaskEndpoint {
  container: string;
  /** The declared (container) port; for bridge mode the address port is the host port. */
  containerPort: number;
  /** `ip:port` (IPv6 bracketed), exactly the target's `__address__`. */
  address: string;
  ip: string;
  port: number;
  scheme: "http" | "https";
  path: string;
  labels: Record<string, string>;
}

/** A running task with at least one metrics endpoint. */
export interface TaskSlot {
  taskArn: string;
  taskId: string;
  cluster: string;
  clusterArn: string;
  service?: string;
  endpoints: TaskEndpoint[];
}

export type Selector =
  { kind: "slot"; cluster: string; service: string; index: number } | { kind: "task"; task: string };

export interface EndpointFilter {
  port?: number;
  path?: string;
  container?: string;
}

export type Resolution =
  | { ok: true; slot: TaskSlot; endpoint: TaskEndpoint }
  | { ok: false; status: 400 | 404; error: string; detail?: Record<string, unknown> };

const ADDRESS = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$/;

/** Splits `__address__` into an IP literal and a port, or undefined when it is not exactly that. */
export function parseAddress(address: string): { ip: string; port: number } | undefined {
  const m = ADDRESS.exec(address);
  if (!m) return undefined;
  const ip = m[1] ?? m[2]!;
  const port = Number(m[3]);
  const family = isIP(ip);
  if (family === 0 || (m[1] !== undefined) !== (family === 6)) return undefined;
  return port >= 1 && port <= 65535 ? { ip, port } : undefined;
}

function toEndpoint(t: DiscoveredTarget): TaskEndpoint | undefined {
  const l = t.group.labels;
  const address = t.group.targets[0];
  const parsed = address ? parseAddress(address) : undefined;
  const scheme = l.__scheme__ ?? "http";
  const containerPort = Number(l[ECS_LABELS.containerPort]);
  if (!parsed || (scheme !== "http" && scheme !== "https") || !Number.isInteger(containerPort))
    return undefined;
  const rawPath = l.__metrics_path__ ?? DEFAULT_METRICS_PATH;
  return {
    container: l[ECS_LABELS.containerName] ?? "",
    containerPort,
    address: address!,
    ...parsed,
    scheme,
    path: rawPath.startsWith("/") ? rawPath : `/${rawPath}`,
    labels: l,
  };
}

function compareEndpoints(a: TaskEndpoint, b: TaskEndpoint): number {
  if (a.container !== b.container) return a.container < b.container ? -1 : 1;
  if (a.containerPort !== b.containerPort) return a.containerPort - b.containerPort;
  const ad = a.path === DEFAULT_METRICS_PATH;
  const bd = b.path === DEFAULT_METRICS_PATH;
  if (ad !== bd) return ad ? -1 : 1;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Groups ECS targets by task. Order (the meaning of an index): task ARN, ascending byte order; within a
 * task, endpoints by container name, container port, then path (/metrics first). Targets without an IP-literal address or with
 * a scheme other than http/https are left out: they could not be redirected to safely.
 */
export function groupTasks(targets: readonly DiscoveredTarget[]): TaskSlot[] {
  const byArn = new Map<string, TaskSlot>();
  for (const t of targets) {
    if (t.source !== "ecs") continue;
    const l = t.group.labels;
    const arn = l[ECS_LABELS.taskArn];
    const cluster = l[ECS_LABELS.cluster];
    const service = l[ECS_LABELS.service];
    const endpoint = toEndpoint(t);
    if (!arn || !endpoint || !cluster) continue;
    let slot = byArn.get(arn);
    if (!slot) {
      slot = {
        taskArn: arn,
        taskId: arn.slice(arn.lastIndexOf("/") + 1),
        cluster,
        clusterArn: l[ECS_LABELS.clusterArn] ?? "",
        ...(service ? { service } : {}),
        endpoints: [],
      };
      byArn.set(arn, slot);
    }
    slot.endpoints.push(endpoint);
  }
  const slots = [...byArn.values()].sort((a, b) =>
    a.taskArn < b.taskArn ? -1 : a.taskArn > b.taskArn ? 1 : 0,
  );
  for (const s of slots) s.endpoints.sort(compareEndpoints);
  return slots;
}

/** The tasks of one service in one cluster (by name or ARN), in index order. */
export function serviceSlots(slots: readonly TaskSlot[], cluster: string, service: string): TaskSlot[] {
  return slots.filter((s) => (s.cluster === cluster || s.clusterArn === cluster) && s.service === service);
}

function describe(e: TaskEndpoint): string {
  return `container=${e.container} port=${e.containerPort} path=${e.path}`;
}

/** Picks the endpoint of a task: the first in order, narrowed by the optional port/path/container. */
export function pickEndpoint(slot: TaskSlot, filter: EndpointFilter): Resolution {
  const matches = slot.endpoints.filter(
    (e) =>
      (filter.port === undefined || e.containerPort === filter.port || e.port === filter.port) &&
      (filter.path === undefined || e.path === filter.path) &&
      (filter.container === undefined || e.container === filter.container),
  );
  if (matches.length === 0)
    return {
      ok: false,
      status: 400,
      error: "no declared metrics endpoint of the task matches the port/path/container parameters",
      detail: { declared: slot.endpoints.map(describe) },
    };
  return { ok: true, slot, endpoint: matches[0]! };
}

export function resolve(slots: readonly TaskSlot[], selector: Selector, filter: EndpointFilter): Resolution {
  if (selector.kind === "task") {
    const found = slots.filter((s) => s.taskArn === selector.task || s.taskId === selector.task);
    if (found.length === 0)
      return { ok: false, status: 404, error: "no running task with metrics endpoints has this id or ARN" };
    if (found.length > 1)
      return {
        ok: false,
        status: 400,
        error: "the task id matches several tasks; give the task ARN",
        detail: { tasks: found.map((s) => s.taskArn) },
      };
    return pickEndpoint(found[0]!, filter);
  }
  const list = serviceSlots(slots, selector.cluster, selector.service);
  const slot = list[selector.index];
  if (!slot)
    return {
      ok: false,
      status: 404,
      error: "index is past the number of running tasks of this service",
      detail: { running: list.length },
    };
  return pickEndpoint(slot, filter);
}

/**
 * The absolute redirect URL: scheme and `ip:port` of the endpoint, its declared path, and the forwarded
 * query. The URL is parsed back and must have exactly the endpoint's origin, or this throws.
 */
export function buildLocation(endpoint: TaskEndpoint, forward: URLSearchParams): string {
  const origin = new URL(`${endpoint.scheme}://${endpoint.address}`);
  const url = new URL(origin.href);
  url.pathname = endpoint.path; // the setter percent-encodes `?`, `#` and spaces: it cannot leave the path
  url.search = forward.toString();
  const href = url.href;
  const check = new URL(href);
  if (check.origin !== origin.origin || check.username !== "" || check.password !== "")
    throw new Error(`refusing to redirect: built URL left the endpoint origin ${origin.origin}`);
  return href;
}
