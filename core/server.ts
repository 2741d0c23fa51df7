// The HTTP surface of the long-running bridge: /sd, /metrics, /healthz, /readyz and a JSON status page.
import express, { type Express, type NextFunction, type Request, type Response, type Router } from "express";
import type { Server } from "node:http";
import type { Registry } from "prom-client";
import { sdRouter } from "../sd/router.js";
import type { Discovery } from "../sd/refresh.js";
import type { AuthCheck } from "./auth.js";

export interface AppDeps {
  /** scopeStatus is optional for surfaces without AWS scopes (benchmarks, static test stubs). */
  discovery: Pick<Discovery, "snapshot" | "status"> & Partial<Pick<Discovery, "scopeStatus">>;
  registry: Registry;
  auth?: AuthCheck;
  /** Routes with their own authentication (the exporter's Firehose delivery route in stream mode). */
  routes?: readonly Router[];
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const requireAuth = (req: Request, res: Response, next: NextFunction): void => {
    if (!deps.auth || deps.auth(req.headers.authorization)) return next();
    res
      .status(401)
      .set("WWW-Authenticate", 'Bearer realm="ecs-prometheus-bridge", Basic realm="ecs-prometheus-bridge"');
    res.json({ error: "missing or wrong credentials" });
  };
  for (const route of deps.routes ?? []) app.use(route);
  app.use("/sd", requireAuth);
  app.use("/metrics", requireAuth);
  app.use("/status", requireAuth);
  app.use(sdRouter(() => deps.discovery.snapshot()));
  app.get("/metrics", async (_req, res) => {
    res.set("Content-Type", deps.registry.contentType);
    res.send(await deps.registry.metrics());
  });
  app.get("/healthz", (_req, res) => void res.json({ status: "ok" }));
  app.get("/readyz", (_req, res) => {
    const ready = deps.discovery.snapshot().ready;
    res.status(ready ? 200 : 503).json({ ready });
  });
  app.get("/status", (_req, res) => {
    const snap = deps.discovery.snapshot();
    res.json({
      ready: snap.ready,
      targets: snap.targets.length,
      units: deps.discovery.status(),
      scopes: deps.discovery.scopeStatus?.() ?? [],
    });
  });
  app.get("/", (_req, res) => {
    res.json({
      name: "ecs-prometheus-bridge",
      endpoints: ["/sd", "/metrics", "/healthz", "/readyz", "/status"],
    });
  });
  app.use((_req, res) => void res.status(404).json({ error: "not found" }));
  // Express 5 routes async errors here; never leak internals.
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: "internal error", name: err.name });
  });
  return app;
}

export function listen(app: Express, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
    server.on("error", reject);
    // Prometheus keeps connections alive between refreshes.
    server.keepAliveTimeout = 65_000;
  });
}
