// A stream-mode ingest mounted on its own loopback HTTP app, for the delivery contract and mode comparison tests.
import express, { type RequestHandler } from "express";
import type { Server } from "node:http";
import { listen } from "../../core/server.js";
import { createSelfMetrics, type SelfMetrics } from "../../core/metrics.js";
import { createStreamIngest, type StreamIngest } from "../../exporter/index.js";
import { testConfig } from "./config.js";

export const ACCESS_KEY = "test-access-key-0123456789";
export const STREAM_PATH = "/firehose/metric-stream";

export interface StreamApp {
  url: string;
  ingest: StreamIngest;
  metrics: SelfMetrics;
  close(): Promise<void>;
}

/** `before` runs ahead of the route (a flaky network in front of it, for retry tests). */
export async function startStreamApp(
  env: Record<string, string>,
  now: () => number,
  before?: RequestHandler,
): Promise<StreamApp> {
  const metrics = createSelfMetrics({ defaults: false });
  const config = testConfig({
    BRIDGE_EXPORTER_ENABLED: "true",
    BRIDGE_EXPORTER_MODE: "stream",
    BRIDGE_EXPORTER_STREAM_ACCESS_KEY: ACCESS_KEY,
    ...env,
  });
  const ingest = createStreamIngest({ config, scopes: [{}], metrics, now });
  const app = express();
  if (before) app.use(before);
  app.use(ingest.router);
  const server: Server = await listen(app, "127.0.0.1", 0);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}${STREAM_PATH}`,
    ingest,
    metrics,
    async close() {
      ingest.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** Sample lines (no HELP/TYPE) of one metric name in a registry's exposition. */
export async function samples(metrics: SelfMetrics, name: string): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}
