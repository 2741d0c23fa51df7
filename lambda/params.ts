// Request parameters of the redirect routes: validated selector and endpoint filter, plus the query
// parameters forwarded to the task (everything that is not ours). Bad input -> BadRequest (400).
import { BadRequest } from "../sd/httpsd.js";
import type { EndpointFilter, Selector } from "./select.js";

/** Parameters the Lambda reads itself; they are never forwarded to the task. */
export const RESERVED = [
  "cluster",
  "service",
  "index",
  "task",
  "port",
  "path",
  "container",
  "secret",
] as const;

const NAME = /^[A-Za-z0-9_-]{1,255}$/;
const CLUSTER_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:cluster\/[A-Za-z0-9_-]{1,255}$/;
const TASK_ID = /^[A-Za-z0-9_-]{1,64}$/;
const TASK_ARN =
  /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task\/(?:[A-Za-z0-9_-]{1,255}\/)?[A-Za-z0-9_-]{1,64}$/;
const INDEX = /^(?:0|[1-9]\d{0,5})$/;
const PORT = /^[1-9]\d{0,4}$/;
const PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,1023}$/;

export interface RedirectRequest {
  selector: Selector;
  filter: EndpointFilter;
  forward: URLSearchParams;
}

/** Path-form inputs: raw (percent-encoded) segments after /targets. */
export interface PathInput {
  cluster: string;
  service: string;
  index: string;
  rest: string[];
}

function decodeSegment(raw: string, param: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadRequest(`bad percent-encoding in the "${param}" path segment`, param);
  }
}

/** The single value of a parameter; repeating one of ours is ambiguous. */
function single(query: URLSearchParams, key: string): string | undefined {
  const all = query.getAll(key);
  if (all.length > 1)
    throw new BadRequest(`parameter "${key}" is given ${all.length} times; give it once`, key);
  return all[0];
}

function check(value: string, re: RegExp | RegExp[], param: string, expected: string): string {
  const res = Array.isArray(re) ? re : [re];
  if (!res.some((r) => r.test(value)))
    throw new BadRequest(`bad value for "${param}": expected ${expected}`, param);
  return value;
}

const CLUSTER_EXPECTED = "an ECS cluster name ([A-Za-z0-9_-], up to 255) or cluster ARN";
const SERVICE_EXPECTED = "an ECS service name ([A-Za-z0-9_-], up to 255)";
const INDEX_EXPECTED = "a task index: 0, 1, 2, ... (tasks ordered by task ARN)";

function parseFilter(query: URLSearchParams, restPath: string | undefined): EndpointFilter {
  const filter: EndpointFilter = {};
  const port = single(query, "port");
  if (port !== undefined) {
    check(port, PORT, "port", "a port number 1-65535");
    const n = Number(port);
    if (n > 65535) throw new BadRequest(`bad value for "port": expected a port number 1-65535`, "port");
    filter.port = n;
  }
  const path = single(query, "path");
  if (path !== undefined && restPath !== undefined)
    throw new BadRequest(
      'give the metrics path either after the index in the URL path or as "path", not both',
      "path",
    );
  const chosen = path ?? restPath;
  if (chosen !== undefined)
    filter.path = check(chosen, PATH, "path", "an absolute path such as /metrics (a declared metrics path)");
  const container = single(query, "container");
  if (container !== undefined) filter.container = check(container, NAME, "container", "a container name");
  return filter;
}

function forwarded(query: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const [k, v] of query) if (!(RESERVED as readonly string[]).includes(k)) out.append(k, v);
  return out;
}

/** `GET /targets?cluster=&service=&index=` or `GET /targets?task=`. */
export function parseQueryForm(query: URLSearchParams): RedirectRequest {
  const task = single(query, "task");
  const cluster = single(query, "cluster");
  const service = single(query, "service");
  const index = single(query, "index");
  let selector: Selector;
  if (task !== undefined) {
    if (cluster !== undefined || service !== undefined || index !== undefined)
      throw new BadRequest('give either "task" or "cluster", "service" and "index", not both', "task");
    selector = { kind: "task", task: check(task, [TASK_ID, TASK_ARN], "task", "an ECS task id or task ARN") };
  } else {
    const missing = [
      ["cluster", cluster],
      ["service", service],
      ["index", index],
    ].find(([, v]) => v === undefined);
    if (missing)
      throw new BadRequest(
        `missing parameter "${missing[0]}": give cluster, service and index, or task`,
        missing[0],
      );
    selector = {
      kind: "slot",
      cluster: check(cluster!, [NAME, CLUSTER_ARN], "cluster", CLUSTER_EXPECTED),
      service: check(service!, NAME, "service", SERVICE_EXPECTED),
      index: Number(check(index!, INDEX, "index", INDEX_EXPECTED)),
    };
  }
  return { selector, filter: parseFilter(query, undefined), forward: forwarded(query) };
}

/** `GET /targets/{cluster}/{service}/{index}/...rest`: the rest, if any, selects a declared metrics path. */
export function parsePathForm(input: PathInput, query: URLSearchParams): RedirectRequest {
  for (const key of ["cluster", "service", "index", "task"])
    if (query.has(key))
      throw new BadRequest(
        `parameter "${key}" is not allowed here: the URL path already selects the task`,
        key,
      );
  const cluster = decodeSegment(input.cluster, "cluster");
  const service = decodeSegment(input.service, "service");
  const index = decodeSegment(input.index, "index");
  const rest =
    input.rest.length > 0 ? `/${input.rest.map((s) => decodeSegment(s, "path")).join("/")}` : undefined;
  return {
    selector: {
      kind: "slot",
      cluster: check(cluster, [NAME, CLUSTER_ARN], "cluster", CLUSTER_EXPECTED),
      service: check(service, NAME, "service", SERVICE_EXPECTED),
      index: Number(check(index, INDEX, "index", INDEX_EXPECTED)),
    },
    filter: parseFilter(query, rest),
    forward: forwarded(query),
  };
}
