// The HTTP surface of the long-running bridge: /sd, /metrics, /healthz, /readyz, /status (JSON, or an HTML
// page for browsers) and /explain.
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { createServer, type RequestListener, type Server } from "node:http";
import type { Registry } from "prom-client";
import { isSdRequest, sdHandler } from "../sd/endpoint.js";
import { explainTask } from "../sd/explain.js";
import { failureCauses } from "../sd/report.js";
import { MAX_QUERY, StatusPageCache, type StatusView } from "../sd/status-page.js";
import { refuseUnauthenticated, type AuthCheck } from "./auth.js";

export interface AppDeps {
  /** Discovery; the optional parts are absent on surfaces without AWS scopes (benchmarks, static test stubs). */
  discovery: StatusView;
  registry: Registry;
  auth?: AuthCheck;
  /** Routes with their own authentication (the exporter's Firehose delivery route in stream mode). */
  routes?: readonly Router[];
}

/**
 * The bridge's request listener: /sd is answered by a plain node handler (sd/endpoint.ts says why), every
 * other path by the Express app.
 */
export function createApp(deps: AppDeps): RequestListener {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const requireAuth = (req: Request, res: Response, next: NextFunction): void => {
    if (!deps.auth || deps.auth(req.headers.authorization)) return next();
    refuseUnauthenticated(res);
  };
  const pages = new StatusPageCache();
  const causes = () => failureCauses(deps.discovery.status(), deps.discovery.scopeStatus?.() ?? []);
  // Each route that reveals topology checks credentials itself (/sd in sd/endpoint.ts).
  for (const route of deps.routes ?? []) app.use(route);
  app.get("/metrics", requireAuth, async (_req, res) => {
    res.set("Content-Type", deps.registry.contentType);
    res.send(await deps.registry.metrics());
  });
  app.get("/healthz", (_req, res) => void res.json({ status: "ok" }));
  app.get("/readyz", (_req, res) => {
    const ready = deps.discovery.snapshot().ready;
    res.status(ready ? 200 : 503).json({ ready });
  });
  app.get("/status", requireAuth, (req, res) => {
    const snap = deps.discovery.snapshot();
    // Not ready answers 503 (as /readyz does) with what failed; a person sees the same on the page.
    const code = snap.ready ? 200 : 503;
    // `?format=json|html` overrides Accept, so the page can link to its JSON form.
    const format = req.query.format;
    if (format !== undefined && format !== "json" && format !== "html")
      return void res.status(400).json({ error: "format must be json or html", param: "format" });
    if ((format ?? req.accepts(["json", "html"])) === "html") {
      const q = req.query.q;
      if (q !== undefined && (typeof q !== "string" || q.length > MAX_QUERY))
        return void res
          .status(400)
          .json({ error: `q must be one string of at most ${MAX_QUERY} characters`, param: "q" });
      res.set(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'",
      );
      return void res.status(code).type("html").send(pages.get(deps.discovery, q));
    }
    res.status(code).json({
      ready: snap.ready,
      ...(snap.ready
        ? {}
        : { error: "discovery has not completed its first successful refresh yet", causes: causes() }),
      targets: snap.targets.length,
      units: deps.discovery.status(),
      scopes: deps.discovery.scopeStatus?.() ?? [],
    });
  });
  app.get("/explain", requireAuth, (req, res) => {
    const { status, body } = explainTask(deps.discovery, req.query.task);
    res.status(status).json(body);
  });
  app.get("/", (_req, res) => {
    res.json({
      name: "ecs-prometheus-bridge",
      endpoints: ["/sd", "/metrics", "/healthz", "/readyz", "/status", "/explain"],
    });
  });
  app.use((_req, res) => void res.status(404).json({ error: "not found" }));
  // Express 5 routes async errors here; never leak internals.
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: "internal error", name: err.name });
  });
  const sd = sdHandler({ snapshot: () => deps.discovery.snapshot(), causes, auth: deps.auth });
  return (req, res) => (isSdRequest(req) ? sd(req, res) : app(req, res));
}

export function listen(handler: RequestListener, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.on("error", reject);
    server.listen(port, host, () => resolve(server));
    // Prometheus keeps connections alive between refreshes.
    server.keepAliveTimeout = 65_000;
  });
}
