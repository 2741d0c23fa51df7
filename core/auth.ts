// Optional bearer-token or basic auth for /sd and /metrics, compared in constant time.
import { createHash, timingSafeEqual } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { CoreConfig as Config } from "./options.js";

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/** Constant-time string equality (hashing first makes lengths equal). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export type AuthCheck = (authorization: string | undefined) => boolean;

const UNAUTHENTICATED = Buffer.from(JSON.stringify({ error: "missing or wrong credentials" }));

/** The 401 every endpoint that reveals topology answers without valid credentials (/sd, Express routes). */
export function refuseUnauthenticated(res: ServerResponse): void {
  res.writeHead(401, {
    "WWW-Authenticate": 'Bearer realm="ecs-prometheus-bridge", Basic realm="ecs-prometheus-bridge"',
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": UNAUTHENTICATED.length,
  });
  res.end(UNAUTHENTICATED);
}

/** Returns undefined when no auth is configured. */
export function createAuthCheck(auth: Config["auth"]): AuthCheck | undefined {
  if (auth.bearerToken) {
    const expected = `Bearer ${auth.bearerToken}`;
    return (header) => header !== undefined && safeEqual(header, expected);
  }
  if (auth.basicUser && auth.basicPassword) {
    const expected = `Basic ${Buffer.from(`${auth.basicUser}:${auth.basicPassword}`).toString("base64")}`;
    return (header) => header !== undefined && safeEqual(header, expected);
  }
  return undefined;
}
