// ECS discovery under AWS faults that the bridge handles today: each row injects one fault (the simulator's
// switches for AWS errors, the fault proxy for what is wrong on the wire) and checks /sd, /status and the
// self-metrics through it and after healing. Malformed replies, hostile addresses, timeouts and credential
// rows are in hardening.test.ts.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkFaultRow, failOnUnhandledRejection, startRig, truth, unitOf, type Rig } from "./harness.js";
import { batchListTasks, outage, throttleStorm } from "./fixtures.js";

failOnUnhandledRejection();

let rig: Rig;
afterEach(async () => {
  await rig.close();
});

describe("fault rows, clusters listed", () => {
  beforeEach(async () => {
    rig = await startRig();
  });

  it("one cluster failing (5xx on every call about it)", async () => {
    let fault = "";
    await checkFaultRow(rig, {
      down: ["batch"],
      inject: () => (fault = rig.sim.failCluster("batch")),
      heal: () => rig.sim.removeFault(fault),
      error: /ServerException|Internal|500/i,
    });
  });

  it("one cluster denied (AccessDeniedException)", async () => {
    let fault = "";
    await checkFaultRow(rig, {
      down: ["batch"],
      inject: () => (fault = rig.sim.failCluster("batch", { status: 400, code: "AccessDeniedException" })),
      heal: () => rig.sim.removeFault(fault),
      error: /AccessDenied/,
    });
  });

  it("garbage body (200, not JSON)", async () => {
    await checkFaultRow(rig, {
      down: ["batch"],
      inject: () =>
        rig.proxy.add({ ...batchListTasks, action: { kind: "reply", body: "<html>oops</html>" } }),
      heal: () => rig.proxy.clear(),
    });
  });

  it("truncated JSON body", async () => {
    await checkFaultRow(rig, {
      down: ["batch"],
      inject: () => rig.proxy.add({ ...batchListTasks, action: { kind: "truncate" } }),
      heal: () => rig.proxy.clear(),
    });
  });

  it("connection reset", async () => {
    await checkFaultRow(rig, {
      down: ["batch"],
      inject: () => rig.proxy.add({ ...batchListTasks, action: { kind: "reset" } }),
      heal: () => rig.proxy.clear(),
    });
  });

  it("wrong type: ListTasks taskArns a number", async () => {
    await checkFaultRow(rig, {
      down: ["batch"],
      inject: () =>
        rig.proxy.add({
          ...batchListTasks,
          action: { kind: "rewrite", rewrite: (b) => ({ ...b, taskArns: 42 }) },
        }),
      heal: () => rig.proxy.clear(),
    });
  });

  it("duplicate ARNs in ListTasks: each task served once", async () => {
    await rig.refresh();
    rig.sim.scaleService("prod", "api", 4);
    rig.sim.scaleService("batch", "worker", 3);
    rig.proxy.add({
      service: "ecs",
      operation: "ListTasks",
      action: {
        kind: "rewrite",
        rewrite: (b) => ({ ...b, taskArns: [...(b.taskArns as string[]), ...(b.taskArns as string[])] }),
      },
    });
    await rig.refresh();
    for (const c of ["prod", "batch"]) {
      expect(await rig.sd(`?cluster=${c}`)).toEqual(truth(rig.sim, c));
      expect(await rig.metric("ecs_bridge_unit_up", { source: "ecs", unit: unitOf(c) })).toBe(1);
    }
    expect(await rig.metric("ecs_bridge_targets", { source: "ecs" })).toBe(7);
    expect(rig.proxy.hits("ecs:ListTasks")).toBeGreaterThan(0);
  });

  it("flapping tasks: stopped, restarted, listed while already stopped", async () => {
    const { sim } = rig;
    await rig.refresh();
    for (const n of [3, 1, 4, 2]) {
      sim.scaleService("batch", "worker", n);
      await rig.refresh();
      expect(await rig.sd("?cluster=batch")).toEqual(truth(sim, "batch"));
    }
    // A task starts and stops between two refreshes, and a lagging listing still names it: described STOPPED.
    const { started } = sim.scaleService("batch", "worker", 3);
    const flash = started[0]!;
    expect(flash.ip).toBeDefined();
    sim.stopTask("batch", flash.arn, "flap");
    rig.proxy.add({
      ...batchListTasks,
      action: {
        kind: "rewrite",
        rewrite: (b) => ({ ...b, taskArns: [...(b.taskArns as string[]), flash.arn] }),
      },
    });
    await rig.refresh();
    expect(await rig.sd("?cluster=batch")).toEqual(truth(sim, "batch"));
    expect(await rig.sd("?cluster=batch")).not.toContain(`${flash.ip}:9101`);
    expect(await rig.metric("ecs_bridge_unit_up", { source: "ecs", unit: unitOf("batch") })).toBe(1);
  });
});

describe("fault rows, clusters configured", () => {
  beforeEach(async () => {
    rig = await startRig({ env: { BRIDGE_CLUSTERS: "prod,batch" } });
  });

  it("throttle storm keeps last-good targets, every unit down", async () => {
    await checkFaultRow(rig, throttleStorm(rig));
  });

  it("outage: connection refused, then 5xx", async () => {
    await checkFaultRow(rig, outage(rig));
  });
});
