// GET /sd: serves the last snapshot from memory (bodies rendered once per snapshot and filter, within a
// byte budget; see SdCache). Never calls AWS.
import { Router, type Request, type Response } from "express";
import type { Snapshot } from "./refresh.js";
import type { FailureCause } from "./report.js";
import { BadRequest, SdCache, listReady, negotiateSd, parseFilter, type SdBody } from "./httpsd.js";

/** `causes` says why discovery is not ready, in the 503 body (the failing step and its fix). */
export function sdRouter(snapshot: () => Snapshot, causes: () => FailureCause[] = () => []): Router {
  const router = Router();
  const cache = new SdCache();
  router.get("/sd", async (req: Request, res: Response) => {
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
  });
  return router;
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
