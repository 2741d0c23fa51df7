// Property tests: no request input (path, query, headers, Host, X-Forwarded-Host) and no task label can
// make the Lambda redirect anywhere but a discovered task's ip:port.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { functionUrlEvent } from "../../lambda/events.js";
import { RESERVED } from "../../lambda/params.js";
import { buildLocation, groupTasks, parseAddress } from "../../lambda/select.js";
import { FILTER_KEYS } from "../../sd/httpsd.js";
import type { DiscoveredTarget } from "../../sd/model.js";
import { StubDiscovery, json, targetsOf, testApp } from "./lambda-fixtures.js";

const TARGETS = targetsOf();
const ADDRESSES = new Set(TARGETS.map((t) => t.group.targets[0]!));

const hostile = [
  "evil.example",
  "evil.example:80",
  "@evil.example",
  "//evil.example",
  "\\\\evil.example",
  "http://evil.example/",
  "%2F%2Fevil.example",
  "%40evil.example",
  "10.0.0.1@evil.example",
  "..",
  "%00",
  "127.0.0.1",
  "[::1]",
];
const segment = fc.oneof(
  fc.constantFrom("prod", "staging", "api", "multi", "0", "1", "2", "3", "metrics", "internal", ...hostile),
  fc.webSegment(),
  fc.string({ maxLength: 12 }),
);
// Weighted towards the real route shapes so that many runs reach the redirect itself.
const rawPath = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom("prod", "staging", "prod", "x"),
        fc.constantFrom("api", "multi"),
        fc.constantFrom("0", "1", "2", "3"),
        fc.array(segment, { maxLength: 3 }),
      )
      .map(([c, s, i, rest]) => `/targets/${[c, s, i, ...rest].join("/")}`),
  },
  { weight: 1, arbitrary: fc.constantFrom("/targets", "/sd") },
  { weight: 2, arbitrary: fc.array(segment, { maxLength: 7 }).map((s) => `/targets/${s.join("/")}`) },
  { weight: 1, arbitrary: fc.array(segment, { maxLength: 5 }).map((s) => `/${s.join("/")}`) },
);
/** Keys that name Object.prototype members: a query parsed into a plain object would find them there. */
const PROTOTYPE_KEYS = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];
const queryKey = fc.oneof(
  // Every parameter the Lambda reads itself (the redirect routes' and /sd's), plus names an attacker might try.
  fc.constantFrom(...RESERVED, ...FILTER_KEYS, "mode", "match[]", "target", "host", "url", ...PROTOTYPE_KEYS),
  fc.string({ maxLength: 8 }),
);
const queryValue = fc.oneof(
  fc.constantFrom(
    "prod",
    "api",
    "multi",
    "0",
    "1",
    "2",
    "a1a1a1",
    "s0s0s0",
    "9100",
    "9901",
    "8080",
    "/metrics",
    "/internal/metrics",
    "envoy",
    ...hostile,
  ),
  fc.string({ maxLength: 16 }),
  fc.webUrl(),
);
const rawQuery = fc
  .array(fc.tuple(queryKey, queryValue, fc.boolean()), { maxLength: 6 })
  .map((pairs) =>
    pairs
      .map(([k, v, enc]) => (enc ? `${encodeURIComponent(k)}=${encodeURIComponent(v)}` : `${k}=${v}`))
      .join("&"),
  );
const headers = fc.record(
  {
    host: fc.constantFrom(...hostile),
    "x-forwarded-host": fc.constantFrom(...hostile),
    "x-forwarded-proto": fc.constantFrom("https", "gopher", "javascript"),
    forwarded: fc.constantFrom("host=evil.example;proto=https", "for=1.2.3.4"),
    "x-original-url": fc.constantFrom(...hostile),
    referer: fc.webUrl(),
  },
  { requiredKeys: [] },
);

function assertSafe(status: number, location: string | undefined, body: Record<string, unknown>): void {
  if (status !== 308) {
    expect(location).toBeUndefined();
    return;
  }
  const url = new URL(location!);
  expect(["http:", "https:"]).toContain(url.protocol);
  expect(url.username).toBe("");
  expect(url.password).toBe("");
  expect(ADDRESSES.has(url.host)).toBe(true);
  expect(body.location).toBe(location);
}

describe("no input redirects elsewhere than a discovered task", () => {
  it("arbitrary paths, queries and headers", async () => {
    const app = testApp();
    let redirects = 0;
    await fc.assert(
      fc.asyncProperty(rawPath, rawQuery, headers, async (path, query, hdrs) => {
        const r = await app.run({ url: query ? `${path}?${query}` : path, headers: hdrs });
        if (r.statusCode === 308) redirects++;
        expect([308, 400, 401, 404, 405, 503, 200]).toContain(r.statusCode);
        assertSafe(r.statusCode, r.headers.location, json(r));
      }),
      // A fixed seed: the count below is a property of the generators, not of a lucky run.
      { numRuns: 1500, seed: 20261202 },
    );
    // The generators must reach the redirect path often, or the property proves little.
    expect(redirects).toBeGreaterThan(20);
  });

  it("well-formed selectors with arbitrary extra parameters and headers still land on a task", async () => {
    const app = testApp();
    const selector = fc.constantFrom(
      "/targets/prod/api/0",
      "/targets/prod/multi/0",
      "/targets?cluster=prod&service=api&index=2",
      "/targets?task=s0s0s0",
    );
    await fc.assert(
      fc.asyncProperty(selector, rawQuery, headers, async (sel, extra, hdrs) => {
        const url = extra ? `${sel}${sel.includes("?") ? "&" : "?"}${extra}` : sel;
        const r = await app.run({ url, headers: hdrs });
        assertSafe(r.statusCode, r.headers.location, json(r));
      }),
      { numRuns: 800 },
    );
  });

  it("hostile __metrics_path__ / __scheme__ labels from a task definition cannot move the host", async () => {
    const labelPath = fc.oneof(fc.constantFrom(...hostile), fc.string({ maxLength: 24 }), fc.webUrl());
    const scheme = fc.constantFrom("http", "https", "ftp", "javascript", "HTTP", "");
    await fc.assert(
      fc.asyncProperty(labelPath, scheme, rawQuery, async (p, s, query) => {
        const targets: DiscoveredTarget[] = TARGETS.map((t) => ({
          ...t,
          group: {
            targets: t.group.targets,
            labels: { ...t.group.labels, __metrics_path__: p, __scheme__: s },
          },
        }));
        const app = testApp({}, new StubDiscovery(targets));
        const r = await app.run(`/targets/prod/api/1?${query}`);
        assertSafe(r.statusCode, r.headers.location, json(r));
        if (r.statusCode === 308) expect(new URL(r.headers.location!).host).toBe("10.0.0.2:9100");
      }),
      { numRuns: 500 },
    );
  });

  it("buildLocation keeps the endpoint origin for any path and forwarded query", () => {
    const [slot] = groupTasks(TARGETS);
    const endpoint = slot!.endpoints[0]!;
    fc.assert(
      fc.property(fc.string(), fc.array(fc.tuple(fc.string(), fc.string())), (path, pairs) => {
        const href = buildLocation({ ...endpoint, path: `/${path}` }, new URLSearchParams(pairs));
        expect(new URL(href).host).toBe(endpoint.address);
      }),
      { numRuns: 2000 },
    );
  });

  it("parseAddress accepts only IP literals with a port", () => {
    expect(parseAddress("10.0.0.1:9100")).toEqual({ ip: "10.0.0.1", port: 9100 });
    expect(parseAddress("[fd00::1]:9100")).toEqual({ ip: "fd00::1", port: 9100 });
    for (const bad of [
      "evil.example:80",
      "10.0.0.1",
      "10.0.0.1:0",
      "10.0.0.1:65536",
      "fd00::1:80",
      "[10.0.0.1]:80",
      "1.2.3:80",
      "10.0.0.1:80/x",
    ])
      expect(parseAddress(bad), bad).toBeUndefined();
  });
});

describe("function URL event builder", () => {
  it("matches the payload 2.0 shape", () => {
    const e = functionUrlEvent({
      url: "/targets?a=1&a=2&b=x%20y",
      headers: { Host: "h", "X-Multi": ["1", "2"], Cookie: "a=1; b=2" },
    });
    expect(e).toMatchObject({
      version: "2.0",
      routeKey: "$default",
      rawPath: "/targets",
      rawQueryString: "a=1&a=2&b=x%20y",
      cookies: ["a=1", "b=2"],
      headers: { host: "h", "x-multi": "1,2" },
      queryStringParameters: { a: "1,2", b: "x y" },
      isBase64Encoded: false,
      requestContext: { http: { method: "GET", path: "/targets" }, stage: "$default" },
    });
    expect(e.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(functionUrlEvent({ url: "/sd" })).not.toHaveProperty("queryStringParameters");
  });
});
