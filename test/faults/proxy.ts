// A fault proxy on loopback between the bridge's AWS clients and the simulated AWS: it passes requests
// through, or, for a rule matched on service, operation and request parameters, corrupts the wire: delays a
// reply, never replies (holds the socket), resets the connection, answers its own status and body (empty,
// garbage, an error of its own), truncates the upstream reply, or rewrites its JSON. The simulator's own
// switches (sim/faults.ts) stay the tool for well-formed AWS errors; this one is for what AWS should never send.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { buffer } from "node:stream/consumers";
import { gunzipSync } from "node:zlib";
import { JSON_TARGETS } from "../../sim/protocol.js";
import type { SimService } from "../../sim/index.js";

export type ProxyAction =
  /** Wait, then pass through. */
  | { kind: "delay"; ms: number }
  /** Read the request and never answer: the socket stays open until the client or the proxy gives up. */
  | { kind: "hang" }
  /** Destroy the connection without an answer (ECONNRESET on the client). */
  | { kind: "reset" }
  /** Answer this instead of asking upstream (default status 200, the request's JSON content type). */
  | { kind: "reply"; status?: number; body: string; contentType?: string }
  /** Pass through, then cut the upstream body to its first `fraction` (default a half). */
  | { kind: "truncate"; fraction?: number }
  /** Pass through, then replace the upstream JSON body by what `rewrite` returns. */
  | { kind: "rewrite"; rewrite: (body: Record<string, unknown>) => unknown };

export interface ProxyRule {
  service?: SimService;
  operation?: string;
  /** Further condition on the request's parameters (JSON body, or the query form for EC2/STS). */
  when?: (params: Record<string, unknown>) => boolean;
  /** Apply to the next N matching requests only, then the rule is removed. */
  count?: number;
  action: ProxyAction;
}

export interface FaultProxy {
  /** What the bridge's clients use as AWS_ENDPOINT_URL. */
  readonly url: string;
  /** Adds a rule (rules are tried in the order added); returns a function that removes it. */
  add(rule: ProxyRule): () => void;
  /** Removes every rule: pass-through from now on (requests already held stay held). */
  clear(): void;
  /** Stops listening and drops every connection: the clients get "connection refused". */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /** Requests matched by a rule so far, by `service:Operation`. */
  hits(op: string): number;
  close(): Promise<void>;
}

interface Call {
  service: SimService | undefined;
  operation: string;
  params: Record<string, unknown>;
  contentType: string;
}

/** Service, operation and parameters of an AWS request, read the way the simulator reads them. */
function describeCall(req: IncomingMessage, raw: Buffer): Call {
  const body = (
    /gzip/i.test(String(req.headers["content-encoding"] ?? "")) ? gunzipSync(raw) : raw
  ).toString();
  const target = req.headers["x-amz-target"];
  if (typeof target === "string") {
    const [prefix = "", operation = ""] = target.split(".");
    const spec = JSON_TARGETS[prefix];
    let params: Record<string, unknown> = {};
    try {
      params = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    } catch {
      // Not ours to judge: upstream answers the malformed request.
    }
    return {
      service: spec?.service,
      operation,
      params,
      contentType: spec?.contentType ?? "application/x-amz-json-1.1",
    };
  }
  const form = Object.fromEntries(new URLSearchParams(body));
  const service: SimService | undefined =
    form.Version === "2016-11-15" ? "ec2" : form.Version === "2011-06-15" ? "sts" : undefined;
  return { service, operation: form.Action ?? "", params: form, contentType: "text/xml" };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a proxy in front of `upstream` (the simulator's URL) on a free loopback port. */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  let rules: ProxyRule[] = [];
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();

  function ruleFor(call: Call): ProxyRule | undefined {
    const rule = rules.find(
      (r) =>
        (!r.service || r.service === call.service) &&
        (!r.operation || r.operation === call.operation) &&
        (!r.when || r.when(call.params)),
    );
    if (!rule) return undefined;
    if (rule.count !== undefined && --rule.count <= 0) rules = rules.filter((r) => r !== rule);
    const key = `${call.service}:${call.operation}`;
    hits.set(key, (hits.get(key) ?? 0) + 1);
    return rule;
  }

  function forward(
    req: IncomingMessage,
    raw: Buffer,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const up = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host, "content-length": String(raw.length) },
        },
        (res) => {
          void buffer(res).then((body) => {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers))
              if (v !== undefined && k !== "content-length" && k !== "connection" && k !== "keep-alive")
                headers[k] = Array.isArray(v) ? v.join(", ") : v;
            resolve({ status: res.statusCode ?? 502, headers, body });
          }, reject);
        },
      );
      up.on("error", reject);
      up.end(raw);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await buffer(req);
    const call = describeCall(req, raw);
    const action = ruleFor(call)?.action;
    if (action?.kind === "hang") return;
    if (action?.kind === "reset") return void req.socket.destroy();
    if (action?.kind === "reply") {
      const body = Buffer.from(action.body);
      res.writeHead(action.status ?? 200, {
        "content-type": action.contentType ?? call.contentType,
        "content-length": body.length,
      });
      return void res.end(body);
    }
    if (action?.kind === "delay") await sleep(action.ms);
    const upstreamReply = await forward(req, raw);
    let body = upstreamReply.body;
    if (action?.kind === "truncate")
      body = body.subarray(0, Math.floor(body.length * (action.fraction ?? 0.5)));
    if (action?.kind === "rewrite")
      body = Buffer.from(
        JSON.stringify(action.rewrite(JSON.parse(body.toString()) as Record<string, unknown>)),
      );
    res.writeHead(upstreamReply.status, { ...upstreamReply.headers, "content-length": body.length });
    res.end(body);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(`fault proxy: ${err.message}`);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });

  await listen(0);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    add(rule) {
      const own = { ...rule };
      rules.push(own);
      return () => void (rules = rules.filter((r) => r !== own));
    },
    clear: () => void (rules = []),
    down: stop,
    up: () => listen(port),
    hits: (op) => hits.get(op) ?? 0,
    close: async () => {
      rules = [];
      if (server.listening) await stop();
    },
  };
}
