// Faults of one account's credentials (ExpiredToken, AssumeRole denied), of Cloud Map and of CloudWatch; what
// each must make visible (scope_up, unit_up, STS errors, /status) is checked in hardening.test.ts.
import { afterEach, describe, expect, it } from "vitest";
import { checkFaultRow, failOnUnhandledRejection, startRig, truth, unitOf, type Rig } from "./harness.js";
import {
  checkNamespaceRow,
  CLOUDMAP_ENV,
  CLOUDMAP_SCENARIO,
  denyAssumeRole,
  ecsAccount,
  EXPORTER_ENV,
  roleOf,
  SERVICE_CONNECT_SCENARIO,
} from "./fixtures.js";

failOnUnhandledRejection();

let rig: Rig;
afterEach(async () => {
  await rig.close();
});

const OTHER = "210987654321";
const A = "111111111111";
const B = "222222222222";

describe("credentials", () => {
  it("ExpiredToken on one account's calls: its units down on last-good targets, then recovery", async () => {
    rig = await startRig({
      scenario: { accounts: [ecsAccount(OTHER)] },
      env: { BRIDGE_ACCOUNTS: roleOf(OTHER), BRIDGE_CLUSTERS: "prod,batch" },
    });
    let fault = "";
    await checkFaultRow(rig, {
      down: ["prod", "batch"],
      account: rig.sim.account(OTHER),
      scope: `${OTHER}/us-east-1`,
      inject: () =>
        (fault = rig.sim.addFault({
          service: "ecs",
          account: OTHER,
          status: 400,
          code: "ExpiredTokenException",
        })),
      heal: () => rig.sim.removeFault(fault),
      error: /ExpiredToken/,
    });
  });

  it("AssumeRole denied for one account from the start: the other publishes; healed, both do", async () => {
    rig = await startRig({
      scenario: { accounts: [ecsAccount(A), ecsAccount(B)] },
      env: { BRIDGE_ACCOUNTS: `${roleOf(A)},${roleOf(B)}` },
    });
    const targetsOf = (account: string) =>
      ["prod", "batch"].flatMap((c) => truth(rig.sim.account(account), c));
    rig.proxy.add(denyAssumeRole(roleOf(B)));
    await rig.refresh();
    expect(await rig.sd()).toEqual(targetsOf(A).sort());
    expect((await rig.status()).ready).toBe(true);
    rig.proxy.clear();
    await rig.refresh();
    expect(await rig.sd()).toEqual([...targetsOf(A), ...targetsOf(B)].sort());
    for (const c of ["prod", "batch"])
      expect(
        await rig.metric("ecs_bridge_unit_up", { source: "ecs", unit: unitOf(c, `${B}/us-east-1`) }),
      ).toBe(1);
  });
});

describe("Cloud Map", () => {
  it("DiscoverInstances answers garbage: the namespace is down on its last-good targets, then recovers", async () => {
    rig = await startRig({ scenario: CLOUDMAP_SCENARIO, env: CLOUDMAP_ENV });
    await checkNamespaceRow(rig, { kind: "reply", body: "{not json" });
  });
});

describe("CloudWatch", () => {
  for (const operation of ["GetMetricData", "ListMetrics"]) {
    it(`${operation} answering 200 with an empty body keeps the exported series and values`, async () => {
      rig = await startRig({ scenario: SERVICE_CONNECT_SCENARIO, env: EXPORTER_ENV });
      const exporter = rig.bridge.exporter!;
      const first = await exporter.collectOnce();
      expect(first.ok).toBe(true);
      expect(first.exported).toBeGreaterThan(0);
      const kept = await rig.exportedSeries();
      rig.proxy.add({ service: "cloudwatch", operation, action: { kind: "reply", body: "" } });
      await exporter.collectOnce();
      expect(rig.proxy.hits(`cloudwatch:${operation}`)).toBeGreaterThan(0);
      expect(await rig.exportedSeries()).toEqual(kept);
      rig.proxy.clear();
      const healed = await exporter.collectOnce();
      expect(healed.ok).toBe(true);
      expect(healed.exported).toBe(first.exported);
    });
  }
});
