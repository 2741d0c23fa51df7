// Before the first good refresh, /sd and /status say what failed and how to fix it, for a real SDK error
// from the simulated AWS and for an endpoint that does not answer at all.
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Bridge } from "../../cmd/bridge.js";
import { startSimAws, type SimAws } from "../../sim/index.js";
import { bridgeOnSim } from "../helpers/bridge.js";

interface Body {
  error: string;
  causes: { cause: string; hint?: string }[];
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe("503 bodies name the failing step", () => {
  let sim: SimAws | undefined;
  let bridge: Bridge | undefined;
  afterEach(async () => {
    await bridge?.close();
    await sim?.close();
  });

  it("ListClusters denied: the operation, the scope, the AWS error and the IAM fix", async () => {
    sim = await startSimAws({ scenario: { clusters: [{ name: "prod" }] } });
    sim.addFault({ service: "ecs", operation: "ListClusters", code: "AccessDeniedException", status: 400 });
    bridge = await bridgeOnSim(sim);
    await bridge.discovery.refreshOnce();
    for (const path of ["/sd", "/status"]) {
      const res = await fetch(`${bridge.url}${path}`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as Body;
      expect(body.causes).toEqual([
        {
          cause: expect.stringMatching(/^ListClusters in ecs default\/us-east-1: AccessDeniedException: /),
          hint: "grant ecs:ListClusters to the bridge's role (deploy/iam/ecs-discovery.json)",
        },
      ]);
    }
  });

  it("an endpoint that refuses connections: the operation and a network hint", async () => {
    sim = await startSimAws({ scenario: { clusters: [{ name: "prod" }] } });
    bridge = await bridgeOnSim(sim, {}, { endpoint: `http://127.0.0.1:${await closedPort()}` });
    await bridge.discovery.refreshOnce();
    const body = (await (await fetch(`${bridge.url}/sd`)).json()) as Body;
    expect(body.causes).toHaveLength(1);
    expect(body.causes[0]!.cause).toMatch(/^ListClusters in ecs default\/us-east-1: /);
    expect(body.causes[0]!.hint).toMatch(/network path/);
  });
});
