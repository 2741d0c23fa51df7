// GET /sd: serves the last snapshot from memory (bodies rendered once per snapshot and filter, within a
// byte budget; see SdCache). Never calls AWS.
//
// A plain node handler, not an Express route: /sd is what Prometheus polls, and Express's per-request
// layers cost about 11 KB of allocations that outlive a scavenge; under a flood of /sd requests (the scale
// bench, 16 connections) the heap grew by 60-130 MiB before a full GC and throughput was a third of this.
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseQuery } from "node:querystring";
import { refuseUnauthenticated, type AuthCheck } from "../core/auth.js";
import type { Snapshot } from "./refresh.js";
import type { FailureCause } from "./report.js";
import { BadRequest, SdCache, listReady, negotiateSd, parseFilter, type SdFilter } from "./httpsd.js";

export type SdHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface SdEndpointDeps {
  snapshot: () => Snapshot;
  /** Why discovery is not ready, in the 503 body (the failing step and its fix). */
  causes?: () => FailureCause[];
  /** Checks the Authorization header; absent when the endpoint is open. */
  auth?: AuthCheck;
}

/** The JSON error answers, as the rest of the app's (Express's res.json) writes them. */
function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": bytes.length,
  });
  res.end(bytes);
}

/** Serves GET and HEAD /sd; the caller routes only those here. */
export function sdHandler(deps: SdEndpointDeps): SdHandler {
  const cache = new SdCache();
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (deps.auth && !deps.auth(req.headers.authorization)) return refuseUnauthenticated(res);
    const url = req.url ?? "";
    const q = url.indexOf("?");
    let filter: SdFilter;
    try {
      // The query as Express's default ("simple") parser reads it: repeated keys become arrays.
      filter = parseFilter(parseQuery(q < 0 ? "" : url.slice(q + 1)));
    } catch (err) {
      if (err instanceof BadRequest) return sendJson(res, 400, { error: err.message, param: err.param });
      throw err;
    }
    const snap = deps.snapshot();
    if (!listReady(snap, filter))
      return sendJson(
        res,
        503,
        {
          error: "discovery has not completed its first successful refresh yet",
          causes: deps.causes?.() ?? [],
        },
        { "Retry-After": "5" },
      );
    const body = await cache.get(snap.version, snap.targets, filter);
    const out = negotiateSd(body, {
      ifNoneMatch: req.headers["if-none-match"],
      acceptEncoding: req.headers["accept-encoding"],
    });
    if (!out.payload) return void res.writeHead(out.status, out.headers).end();
    res.writeHead(out.status, { ...out.headers, "Content-Length": out.payload.length });
    res.end(req.method === "HEAD" ? undefined : out.payload);
  };
  return (req, res) =>
    void serve(req, res).catch((err: unknown) => {
      // Never a stack trace, and never an exception out of the server: the app's error handler's answer.
      if (res.headersSent) return void res.destroy();
      sendJson(res, 500, { error: "internal error", name: err instanceof Error ? err.name : "Error" });
    });
}

/** Whether a request is for /sd (GET or HEAD, any query): the requests sdHandler answers. */
export function isSdRequest(req: IncomingMessage): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const url = req.url ?? "";
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  return path === "/sd" || path === "/sd/";
}
