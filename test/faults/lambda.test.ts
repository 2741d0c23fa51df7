// The Lambda when AWS never answers: wired like production (createLambdaRuntime) on the simulated AWS behind
// the fault proxy, invoked with a Lambda context. An instance that has discovered once answers from its
// last snapshot; a cold one answers 503 with Retry-After before its invocation's time is up, never hangs.
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../core/log.js";
import { functionUrlEvent } from "../../lambda/events.js";
import { createLambdaRuntime, type LambdaRuntime } from "../../lambda/runtime.js";
import { startSimAws, type SimAws } from "../../sim/index.js";
import { ECS_SCENARIO, failOnUnhandledRejection, settlesWithin, truth } from "./harness.js";
import { startFaultProxy, type FaultProxy } from "./proxy.js";

failOnUnhandledRejection();

interface LambdaReply {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let sim: SimAws;
let proxy: FaultProxy;
let rt: LambdaRuntime;

afterEach(async () => {
  // The proxy first: dropping its held sockets lets the hung refresh settle.
  await proxy.close();
  await rt.discovery.idle();
  await sim.close();
});

/** The invocation's time left, as Lambda reports it: a fixed 2 s here, less than any hung call's timeout. */
const CONTEXT = { awsRequestId: "fault-row", getRemainingTimeInMillis: () => 2_000 };

async function start(env: Record<string, string> = {}) {
  sim = await startSimAws({ scenario: ECS_SCENARIO });
  proxy = await startFaultProxy(sim.url);
  rt = createLambdaRuntime({
    env: {
      AWS_REGION: sim.region,
      AWS_ENDPOINT_URL: proxy.url,
      BRIDGE_AWS_MAX_ATTEMPTS: "1",
      BRIDGE_LAMBDA_CACHE_SECONDS: "0",
      ...env,
    },
    clientOptions: { credentials: { accessKeyId: "test", secretAccessKey: "test" } },
    logger: silentLogger,
  });
  // Bounded below the call timeout: an answer within it was not held by the hung call.
  return (url: string) =>
    settlesWithin(
      rt.api.run(functionUrlEvent({ url }) as never, CONTEXT as never) as Promise<LambdaReply>,
      4_500,
      `the Lambda's answer to ${url}`,
    );
}

const hang = () =>
  proxy.add({ service: "ecs", operation: "ListTasks", action: { kind: "hang" } }) as unknown as void;

const addresses = (r: LambdaReply) =>
  (JSON.parse(r.body) as { targets: string[] }[]).flatMap((g) => g.targets).sort();

describe("the Lambda's AWS calls hang", () => {
  it("cold: 503 with Retry-After and the reason before the invocation's time is up; healed, it serves", async () => {
    // A short call timeout, so the held call fails and the test can heal without waiting 10 s.
    const run = await start({ BRIDGE_AWS_CALL_TIMEOUT_SECONDS: "5" });
    hang();
    const r = await run("/sd");
    expect(r.statusCode).toBe(503);
    expect(Number(r.headers["retry-after"])).toBeGreaterThan(0);
    expect(JSON.stringify(JSON.parse(r.body))).toMatch(/still running/);
    proxy.clear();
    await rt.discovery.idle();
    // The next refresh (not timed: a test never races the clock) finds AWS healed.
    await rt.discovery.discovery.refreshOnce();
    const healed = await run("/sd");
    expect(healed.statusCode).toBe(200);
    expect(addresses(healed)).toEqual([...truth(sim, "prod"), ...truth(sim, "batch")].sort());
  });

  it("warm: answers from its last-good snapshot while the refresh it started hangs", async () => {
    const run = await start();
    const first = await run("/sd?cluster=prod");
    expect(first.statusCode).toBe(200);
    expect(addresses(first)).toEqual(truth(sim, "prod"));
    await rt.discovery.idle();
    hang();
    sim.scaleService("prod", "api", 5);
    const stale = await run("/sd?cluster=prod");
    expect(stale.statusCode).toBe(200);
    expect(addresses(stale)).toEqual(addresses(first));
    const redirect = await run("/targets/prod/api/0");
    expect(redirect.statusCode).toBe(308);
  });
});
