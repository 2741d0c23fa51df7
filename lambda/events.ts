// The three event shapes lambda-api accepts (function URL / API Gateway v2 payload 2.0, API Gateway v1,
// ALB), and what the app needs from them that lambda-api does not keep: the query string with repeated
// keys intact (Prometheus `params` such as `match[]`). Also a builder of function URL events.
import { randomUUID } from "node:crypto";
import type { ALBEvent, APIGatewayProxyEvent, APIGatewayProxyEventV2 } from "aws-lambda";

export type HttpEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent | ALBEvent;

function isV2(event: HttpEvent): event is APIGatewayProxyEventV2 {
  return (event as { version?: string }).version === "2.0";
}

function isAlb(event: HttpEvent): event is ALBEvent {
  return Boolean((event as ALBEvent).requestContext?.elb);
}

/**
 * The query as URLSearchParams. Payload 2.0 carries it raw in `rawQueryString`; ALB passes keys and
 * values still percent-encoded; API Gateway v1 passes them decoded.
 */
export function eventQuery(event: HttpEvent): URLSearchParams {
  if (isV2(event)) return new URLSearchParams(event.rawQueryString ?? "");
  const multi = event.multiValueQueryStringParameters;
  const single = event.queryStringParameters;
  if (isAlb(event)) {
    const pairs: string[] = [];
    if (multi) for (const [k, vs] of Object.entries(multi)) for (const v of vs ?? []) pairs.push(`${k}=${v}`);
    else if (single) for (const [k, v] of Object.entries(single)) pairs.push(`${k}=${v ?? ""}`);
    return new URLSearchParams(pairs.join("&"));
  }
  const out = new URLSearchParams();
  if (multi) for (const [k, vs] of Object.entries(multi)) for (const v of vs ?? []) out.append(k, v);
  else if (single) for (const [k, v] of Object.entries(single)) out.append(k, v ?? "");
  return out;
}

/**
 * The event as handed to lambda-api: without cookies. The app reads none, and lambda-api decodes every
 * cookie while parsing the request, so one malformed cookie (`q=100%zz`) would fail every route with 500.
 */
export function withoutCookies(event: HttpEvent): HttpEvent {
  const out = { ...event } as Record<string, unknown>;
  delete out.cookies;
  for (const key of ["headers", "multiValueHeaders"]) {
    const h = out[key];
    if (h && typeof h === "object")
      out[key] = Object.fromEntries(Object.entries(h).filter(([k]) => k.toLowerCase() !== "cookie"));
  }
  return out as unknown as HttpEvent;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `12/Mar/2020:19:03:58 +0000`, the format of `requestContext.time`. */
function clfTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export interface FunctionUrlRequest {
  method?: string;
  /** Path and query as sent on the wire, e.g. `/targets?cluster=prod&index=0`. */
  url: string;
  headers?: Record<string, string | string[] | undefined>;
  body?: Buffer | string;
  sourceIp?: string;
  /** The function URL host (`<url-id>.lambda-url.<region>.on.aws`). */
  domainName?: string;
}

/**
 * A Lambda function URL event (payload format 2.0) as AWS sends it: lower-case headers with repeated
 * values comma-joined, cookies split out, `queryStringParameters` decoded (repeated keys comma-joined)
 * and omitted when there is no query, body base64-encoded.
 */
export function functionUrlEvent(req: FunctionUrlRequest): APIGatewayProxyEventV2 {
  const q = req.url.indexOf("?");
  const rawPath = q >= 0 ? req.url.slice(0, q) : req.url;
  const rawQueryString = q >= 0 ? req.url.slice(q + 1) : "";
  const domainName = req.domainName ?? "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws";
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {}))
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(",") : v;
  const cookies = headers.cookie?.split(/;\s*/).filter(Boolean);
  delete headers.cookie;
  headers.host ??= domainName;
  const query = new URLSearchParams(rawQueryString);
  // A Map, not an object: `constructor` or `__proto__` in a query are keys like any other.
  const params = new Map<string, string>();
  for (const [k, v] of query) params.set(k, params.has(k) ? `${params.get(k)},${v}` : v);
  const now = new Date();
  const method = (req.method ?? "GET").toUpperCase();
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(query.size > 0 ? { queryStringParameters: Object.fromEntries(params) } : {}),
    requestContext: {
      accountId: "anonymous",
      apiId: domainName.split(".")[0]!,
      domainName,
      domainPrefix: domainName.split(".")[0]!,
      http: {
        method,
        path: rawPath,
        protocol: "HTTP/1.1",
        sourceIp: req.sourceIp ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body && body.length > 0 ? { body: body.toString("base64") } : {}),
    isBase64Encoded: Boolean(body && body.length > 0),
  };
}
