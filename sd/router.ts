// GET /sd: serves the last snapshot from memory (bodies rendered once per snapshot and filter, within a
// byte budget; see SdCache). Never calls AWS.
import type { Request, RequestHandler, Response } from "express";
import type { Snapshot } from "./refresh.js";
import type { FailureCause } from "./report.js";
import { BadRequest, SdCache, listReady, negotiateSd, parseFilter, type SdBody } from "./httpsd.js";

/**
 * The GET /sd handler, mounted as a route of its own (not a nested router): Prometheus polls it, and each
 * layer a request passes costs allocations. `causes` says why discovery is not ready, in the 503 body (the
 * failing step and its fix).
 */
export function sdHandler(snapshot: () => Snapshot, causes: () => FailureCause[] = () => []): RequestHandler {
  const cache = new SdCache();
  return async (req: Request, res: Response) => {
    let filter;
    try {
      filter = parseFilter(req.query as Record<string, unknown>);
    } catch (err) {
      if (err instanceof BadRequest)
        return void res.status(400).json({ error: err.message, param: err.param });
      throw err;
    }
    const snap = snapshot();
    if (!listReady(snap, filter))
      return void res
        .status(503)
        .set("Retry-After", "5")
        .json({ error: "discovery has not completed its first successful refresh yet", causes: causes() });
    sendBody(req, res, await cache.get(snap.version, snap.targets, filter));
  };
}

function sendBody(req: Request, res: Response, body: SdBody): void {
  const out = negotiateSd(body, {
    ifNoneMatch: req.headers["if-none-match"],
    acceptEncoding: req.headers["accept-encoding"],
  });
  res.set(out.headers);
  if (!out.payload) return void res.status(out.status).end();
  res.status(out.status).send(out.payload);
}
