// A loopback stand-in for a Lambda function URL: a node http server that turns each request into a
// payload 2.0 event, invokes the handler and writes its result back. Used by the e2e test and for trying
// the Lambda locally; not part of the bundle.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { functionUrlEvent } from "./events.js";
import type { LambdaHandler } from "./runtime.js";

interface HandlerResult {
  statusCode?: number;
  headers?: Record<string, string | number | boolean>;
  multiValueHeaders?: Record<string, (string | number | boolean)[]>;
  cookies?: string[];
  body?: string;
  isBase64Encoded?: boolean;
}

export interface LocalAdapter {
  url: string;
  server: Server;
  /** Requests turned into invocations so far. */
  invocations: number;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function write(res: ServerResponse, result: HandlerResult): void {
  res.statusCode = result.statusCode ?? 200;
  for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, String(v));
  for (const [k, vs] of Object.entries(result.multiValueHeaders ?? {})) res.setHeader(k, vs.map(String));
  if (result.cookies?.length) res.setHeader("set-cookie", result.cookies);
  const body = result.body ?? "";
  res.end(result.isBase64Encoded ? Buffer.from(body, "base64") : body);
}

export async function startLocalAdapter(
  handler: LambdaHandler,
  opts: { host?: string; port?: number } = {},
): Promise<LocalAdapter> {
  const host = opts.host ?? "127.0.0.1";
  const adapter = { invocations: 0 } as LocalAdapter;
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        const event = functionUrlEvent({
          method: req.method ?? "GET",
          url: req.url ?? "/",
          headers: req.headers,
          ...(body.length > 0 ? { body } : {}),
          sourceIp: req.socket.remoteAddress ?? "127.0.0.1",
          domainName: req.headers.host ?? host,
        });
        adapter.invocations++;
        write(
          res,
          ((await handler(event, { awsRequestId: event.requestContext.requestId })) ?? {}) as HandlerResult,
        );
      } catch {
        // What a function URL answers when the function throws.
        res.statusCode = 502;
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ Message: "Internal Server Error" }));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return Object.assign(adapter, {
    url: `http://${host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
