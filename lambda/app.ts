// The Lambda's HTTP surface (lambda-api): 308 redirects to a running task's metrics endpoint, the
// service's http_sd list (same code as the service), and the redirect-mode list of function URL targets.
import lambdaApi, { type API, type Request, type Response } from "lambda-api";
import { safeEqual } from "../core/auth.js";
import type { Config } from "../cmd/config.js";
import { SECRET_HEADER } from "./options.js";
import type { Logger } from "../core/log.js";
import {
  BadRequest,
  SdCache,
  listReady,
  negotiateSd,
  parseFilter,
  type SdBody,
  type SdFilter,
} from "../sd/httpsd.js";
import type { DiscoveredTarget } from "../sd/model.js";
import type { Snapshot } from "../sd/refresh.js";
import { clusterNameFromArn } from "../sd/ecs/targets.js";
import { eventQuery, withoutCookies, type HttpEvent } from "./events.js";
import type { OnDemandDiscovery } from "./freshness.js";
import { parsePathForm, parseQueryForm, type RedirectRequest } from "./params.js";
import { parsePublicUrl, redirectTargets, type PublicUrl } from "./redirect-sd.js";
import { buildLocation, groupTasks, resolve, type TaskSlot } from "./select.js";

export interface LambdaAppDeps {
  config: Config;
  discovery: OnDemandDiscovery;
  logger: Logger;
}

// lambda-api's types describe a CommonJS module (default export under `.default`); its ESM build, which
// Node and esbuild load, exports createAPI itself as the default.
const createAPI = ((lambdaApi as unknown as { default?: unknown }).default ??
  lambdaApi) as typeof lambdaApi.default;

type Json = Record<string, unknown>;

/** Time kept back from the invocation's remaining time to send a reply (a 503) instead of timing out. */
const REPLY_MARGIN_MS = 1000;

/** How long a request may wait for a first refresh: what its invocation has left, less the margin. */
function waitBudget(req: Request): number | undefined {
  const remaining = (req.context as Partial<Request["context"]> | undefined)?.getRemainingTimeInMillis?.();
  return remaining === undefined ? undefined : Math.max(0, remaining - REPLY_MARGIN_MS);
}

/** Redirects (and the redirect-mode list) come from ECS tasks only: they wait for ECS, not other sources. */
const ECS_ONLY: SdFilter = { source: new Set(["ecs"]) };

function sendJson(res: Response, status: number, body: Json, headers: Record<string, string> = {}): void {
  res.status(status).header("Cache-Control", "no-store");
  for (const [k, v] of Object.entries(headers)) res.header(k, v);
  res.json(body);
}

/** http_sd body with ETag / 304 and gzip: the same negotiation as the service's router. */
function sendSd(req: Request, res: Response, body: SdBody): void {
  const out = negotiateSd(body, {
    ifNoneMatch: req.headers["if-none-match"],
    acceptEncoding: req.headers["accept-encoding"],
  });
  for (const [k, v] of Object.entries(out.headers)) res.header(k, v);
  if (!out.payload) return void res.status(304).send("");
  if (out.gzip) {
    // lambda-api has no per-response binary switch; its response object keeps the flag in _isBase64.
    (res as unknown as { _isBase64: boolean })._isBase64 = true;
    return void res.status(200).send(out.payload.toString("base64"));
  }
  res.status(200).send(out.payload.toString("utf8"));
}

/**
 * Groups of query values, the shape parseFilter takes (repeated keys become arrays). A null prototype, so
 * keys such as `constructor` or `__proto__` are plain own keys (then refused as unknown), not Object's.
 */
function queryObject(query: URLSearchParams): Record<string, string[]> {
  const out = Object.create(null) as Record<string, string[]>;
  for (const [k, v] of query) (out[k] ??= []).push(v);
  return out;
}

/**
 * Builds the API. Its `run` handles one event at a time, in arrival order, as one Lambda instance does:
 * lambda-api keeps per-request state on the API object, and the app reads the raw event (for the query
 * string with repeated keys) from it.
 */
export function createLambdaApi(deps: LambdaAppDeps): API {
  const { config, discovery, logger } = deps;
  const api = createAPI({ logger: false });
  let event: HttpEvent = {} as HttpEvent;
  const publicUrl: PublicUrl | undefined = config.lambda.publicUrl
    ? parsePublicUrl(config.lambda.publicUrl)
    : undefined;
  const sdCache = new SdCache();
  const redirectCache = new SdCache();
  // Derived views of one snapshot version: tasks in index order, and the redirect-mode targets.
  let memo: { version: number; slots: TaskSlot[]; redirect?: DiscoveredTarget[] } | undefined;
  const view = (snap: Snapshot) => {
    if (memo?.version !== snap.version) memo = { version: snap.version, slots: groupTasks(snap.targets) };
    return memo;
  };

  /** Shared-secret check: the secret header, `Authorization: Bearer`, or `?secret=`; constant-time. */
  const authorized = (req: Request, query: URLSearchParams): boolean => {
    const secret = config.lambda.sharedSecret;
    if (!secret) return true;
    const auth = req.headers.authorization;
    const candidates = [
      req.headers[SECRET_HEADER],
      auth?.startsWith("Bearer ") ? auth.slice("Bearer ".length) : undefined,
      ...query.getAll("secret"),
    ];
    let ok = false;
    for (const c of candidates) if (c !== undefined && safeEqual(c, secret)) ok = true;
    return ok;
  };
  const deny = (res: Response): void =>
    sendJson(
      res,
      401,
      { error: "missing or wrong shared secret" },
      { "WWW-Authenticate": 'Bearer realm="ecs-prometheus-bridge"' },
    );

  const unavailable = (res: Response): void =>
    sendJson(
      res,
      503,
      { error: "discovery has not completed a successful refresh yet", failures: discovery.failures() },
      { "Retry-After": String(Math.max(1, config.lambda.cacheSeconds)) },
    );

  const redirect = async (req: Request, res: Response, parse: (q: URLSearchParams) => RedirectRequest) => {
    const query = eventQuery(event);
    if (!authorized(req, query)) return deny(res);
    let parsed: RedirectRequest;
    try {
      parsed = parse(query);
    } catch (err) {
      if (err instanceof BadRequest) return sendJson(res, 400, { error: err.message, param: err.param });
      throw err;
    }
    const snap = await discovery.current(waitBudget(req));
    if (!listReady(snap, ECS_ONLY)) return unavailable(res);
    const result = resolve(view(snap).slots, parsed.selector, parsed.filter);
    if (!result.ok) {
      const sel = parsed.selector;
      const failing =
        sel.kind === "slot"
          ? discovery.clusterFailing(clusterNameFromArn(sel.cluster) ?? sel.cluster)
          : discovery.ecsFailing();
      // A task missing while its cluster cannot be refreshed may exist: say so (503), not 404.
      if (result.status === 404 && failing)
        return sendJson(res, 503, {
          error: `${result.error}; discovery of this cluster is failing`,
          failures: discovery.failures(),
        });
      return sendJson(res, result.status, { error: result.error, ...result.detail });
    }
    const location = buildLocation(result.endpoint, parsed.forward);
    sendJson(res, 308, { location, task: result.slot.taskArn }, { Location: location });
  };

  api.get("/targets", (req: Request, res: Response) => redirect(req, res, parseQueryForm));
  const pathForm = (req: Request, res: Response) =>
    redirect(req, res, (query) => {
      const segments = req.path.replace(/^\/+/, "").replace(/\/+$/, "").split("/");
      return parsePathForm(
        {
          cluster: segments[1] ?? "",
          service: segments[2] ?? "",
          index: segments[3] ?? "",
          rest: segments.slice(4),
        },
        query,
      );
    });
  api.get("/targets/:cluster/:service/:index", pathForm);
  api.get("/targets/:cluster/:service/:index/*", pathForm);

  api.get("/sd", async (req: Request, res: Response) => {
    const query = eventQuery(event);
    if (!authorized(req, query)) return deny(res);
    const modes = query.getAll("mode");
    if (modes.length > 1 || (modes[0] !== undefined && modes[0] !== "redirect"))
      return sendJson(res, 400, {
        error: 'bad value for "mode": the only mode is "redirect"',
        param: "mode",
      });
    let filter;
    try {
      filter = parseFilter(queryObject(query), ["secret", "mode"]);
    } catch (err) {
      if (err instanceof BadRequest) return sendJson(res, 400, { error: err.message, param: err.param });
      throw err;
    }
    if (modes[0] === "redirect" && !publicUrl)
      return sendJson(res, 500, {
        error:
          "mode=redirect needs lambda.publicUrl (BRIDGE_LAMBDA_PUBLIC_URL): the function URL to point targets at",
      });
    const snap = await discovery.current(waitBudget(req));
    // The service's rule for plain lists; the redirect-mode list holds ECS tasks only.
    if (!listReady(snap, modes[0] === "redirect" ? ECS_ONLY : filter)) return unavailable(res);
    let body: SdBody;
    if (modes[0] === "redirect") {
      const v = view(snap);
      v.redirect ??= redirectTargets(v.slots, publicUrl!);
      body = await redirectCache.get(snap.version, v.redirect, filter);
    } else body = await sdCache.get(snap.version, snap.targets, filter);
    sendSd(req, res, body);
  });

  api.get("/healthz", (_req: Request, res: Response) => sendJson(res, 200, { status: "ok" }));

  // Unknown routes and methods keep lambda-api's 404/405; anything else is a 500 without internals.
  api.use((err: Error, _req: Request, res: Response, next: () => void) => {
    if (err.name === "RouteError")
      return sendJson(res, 404, {
        error:
          "not found; routes: /targets?cluster=&service=&index=, /targets?task=, /targets/{cluster}/{service}/{index}, /sd, /healthz",
      });
    if (err.name === "MethodError") return sendJson(res, 405, { error: "method not allowed; use GET" });
    if (err.name === "ApiError") return next();
    // lambda-api decodes an ALB query string itself and throws on a bad escape: the client's error.
    if (err instanceof URIError)
      return sendJson(res, 400, { error: "bad percent-encoding in the query string" });
    logger.error("request failed", { err, path: _req.path });
    sendJson(res, 500, { error: "internal error" });
  });

  const run = api.run.bind(api) as (e: HttpEvent, c: unknown) => Promise<unknown>;
  let tail: Promise<unknown> = Promise.resolve();
  const serialized = (e: HttpEvent, c: unknown): Promise<unknown> => {
    const result = tail.then(() => {
      event = e ?? ({} as HttpEvent);
      return run(e ? withoutCookies(e) : e, c);
    });
    tail = result.catch(() => undefined);
    return result;
  };
  Object.assign(api, { run: serialized });
  return api;
}
