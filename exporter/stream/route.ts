// The Firehose delivery route: key check on the headers before the body is read, a bounded body (gzip
// decoded by express' body parser, the limit counting decoded bytes), then the handler; every answer is
// the JSON Firehose expects, with the request id echoed.
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import {
  ACCESS_KEY_HEADER,
  DeliveryError,
  REQUEST_ID_HEADER,
  accessKeyMatches,
  deliveryResponse,
} from "./firehose.js";

export interface DeliveryRouteOptions {
  path: string;
  accessKey: string;
  maxBodyBytes: number;
  now: () => number;
  /** Applies one delivery; throws DeliveryError to refuse it. */
  handle(body: Buffer, requestId: string): void;
  /** Every answer, for self-metrics and logs. */
  onAnswer(status: number, requestId: string, errorMessage?: string): void;
}

/** What body-parser's errors (type field) mean for Firehose. */
function bodyError(err: { type?: string; status?: number }, maxBodyBytes: number): [number, string] {
  if (err.type === "entity.too.large") return [413, `body larger than ${maxBodyBytes} bytes after decoding`];
  if (err.type === "encoding.unsupported")
    return [415, "unsupported Content-Encoding; expected gzip or none"];
  const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
  return [status, status === 500 ? "internal error" : "body could not be read (corrupt gzip or aborted)"];
}

export function deliveryRouter(o: DeliveryRouteOptions): Router {
  const router = express.Router();
  const reply = (res: Response, status: number, requestId: string, errorMessage?: string): void => {
    o.onAnswer(status, requestId, errorMessage);
    res.status(status).json(deliveryResponse(requestId, o.now(), errorMessage));
  };
  const checkHeaders = (req: Request, res: Response, next: NextFunction): void => {
    const requestId = req.get(REQUEST_ID_HEADER) ?? "";
    if (!accessKeyMatches(req.get(ACCESS_KEY_HEADER), o.accessKey))
      return reply(res, 401, requestId, "missing or wrong X-Amz-Firehose-Access-Key");
    if (!requestId) return reply(res, 400, requestId, "missing X-Amz-Firehose-Request-Id header");
    next();
  };
  // Any Content-Type: Firehose always sends application/json, and the envelope is parsed strictly anyway.
  const readBody = express.raw({ type: () => true, limit: o.maxBodyBytes, inflate: true });
  router.post(o.path, checkHeaders, readBody, (req: Request, res: Response) => {
    const requestId = req.get(REQUEST_ID_HEADER)!;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    try {
      o.handle(body, requestId);
    } catch (err) {
      if (!(err instanceof DeliveryError)) throw err;
      return reply(res, err.status, requestId, err.message);
    }
    reply(res, 200, requestId);
  });
  router.use(o.path, (err: Error, req: Request, res: Response, _next: NextFunction) => {
    const [status, message] = bodyError(err as { type?: string; status?: number }, o.maxBodyBytes);
    reply(res, status, req.get(REQUEST_ID_HEADER) ?? "", message);
  });
  return router;
}
