// Fault rows of malformed replies, listing failures, hostile addresses, a task definition that cannot be
// described, timeouts and credentials. Soft assertions: a failing row reports every wrong outcome at once.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  aboutCluster,
  checkFaultRow,
  ECS_SCENARIO,
  failOnUnhandledRejection,
  startRig,
  truth,
  unitOf,
  type Rig,
} from "./harness.js";
import {
  batchListTasks,
  checkNamespaceRow,
  CLOUDMAP_ENV,
  CLOUDMAP_SCENARIO,
  denyAssumeRole,
  ecsAccount,
  ecsError,
  poisonAddress,
  roleOf,
  outage,
  throttleStorm,
} from "./fixtures.js";

failOnUnhandledRejection();

let rig: Rig;
afterEach(async () => {
  await rig.close();
});

describe("fault rows", () => {
  describe("replies that do not match the API's shape, and listing failures (clusters listed)", () => {
    beforeEach(async () => {
      rig = await startRig();
    });

    it("empty body (200, no content)", async () => {
      await checkFaultRow(rig, {
        down: ["batch"],
        inject: () => rig.proxy.add({ ...batchListTasks, action: { kind: "reply", body: "" } }),
        heal: () => rig.proxy.clear(),
      });
    });

    it("null list: ListTasks taskArns null", async () => {
      await checkFaultRow(rig, {
        down: ["batch"],
        inject: () =>
          rig.proxy.add({
            ...batchListTasks,
            action: { kind: "rewrite", rewrite: (b) => ({ ...b, taskArns: null }) },
          }),
        heal: () => rig.proxy.clear(),
      });
    });

    it("missing field: ListTasks without taskArns", async () => {
      await checkFaultRow(rig, {
        down: ["batch"],
        inject: () => rig.proxy.add({ ...batchListTasks, action: { kind: "rewrite", rewrite: () => ({}) } }),
        heal: () => rig.proxy.clear(),
      });
    });

    it("missing field: DescribeTasks without tasks", async () => {
      await checkFaultRow(rig, {
        down: ["batch"],
        inject: () =>
          rig.proxy.add({
            service: "ecs",
            operation: "DescribeTasks",
            when: aboutCluster("batch"),
            action: { kind: "rewrite", rewrite: () => ({ failures: [] }) },
          }),
        heal: () => rig.proxy.clear(),
      });
    });

    it("wrong type: ListTasks taskArns a string", async () => {
      await checkFaultRow(rig, {
        down: ["batch"],
        inject: () =>
          rig.proxy.add({
            ...batchListTasks,
            action: { kind: "rewrite", rewrite: (b) => ({ ...b, taskArns: (b.taskArns as string[])[0] }) },
          }),
        heal: () => rig.proxy.clear(),
      });
    });

    it("null list: ListClusters clusterArns null fails every cluster of the scope", async () => {
      await checkFaultRow(rig, {
        down: ["prod", "batch"],
        inject: () =>
          rig.proxy.add({
            service: "ecs",
            operation: "ListClusters",
            action: { kind: "rewrite", rewrite: (b) => ({ ...b, clusterArns: null }) },
          }),
        heal: () => rig.proxy.clear(),
      });
    });

    it("throttle storm: every ECS call throttled marks every unit down", async () => {
      await checkFaultRow(rig, throttleStorm(rig));
    });

    it("outage: connection refused, then 5xx, marks every unit down", async () => {
      await checkFaultRow(rig, outage(rig));
    });

    it("a throttled cluster listing backs off like a unit", async () => {
      await rig.refresh();
      rig.sim.addFault({ service: "ecs", operation: "ListClusters", throttle: true });
      rig.sim.resetCalls();
      const refreshes = 6;
      for (let i = 0; i < refreshes; i++) await rig.refresh();
      // Units back off 2^(k-1)-1 refreshes after k failures: 6 refreshes call at most 1+1+0+1+0+0 = 3 times.
      expect(rig.sim.calls("ListClusters")).toBeLessThan(refreshes);
    });
  });

  describe("per-task faults fail only that task", () => {
    for (const hostile of ["evil.example.com/x?y#", 12345, "999.1.1.1"]) {
      it(`hostile address ${JSON.stringify(hostile)}: that task skipped and counted, the others published`, async () => {
        rig = await startRig();
        await rig.refresh();
        const before = await rig.sd("?cluster=batch");
        const skipped = await rig.metricSum("ecs_bridge_skipped", { source: "ecs" });
        const { started } = rig.sim.scaleService("batch", "worker", 4);
        const [bad, good] = started;
        rig.proxy.add({
          service: "ecs",
          operation: "DescribeTasks",
          when: aboutCluster("batch"),
          action: { kind: "rewrite", rewrite: (b) => poisonAddress(b, bad!.arn, hostile) },
        });
        await rig.refresh();
        expect.soft(await rig.sd("?cluster=batch")).toEqual([...before, `${good!.ip}:9101`].sort());
        expect.soft(await rig.metric("ecs_bridge_unit_up", { source: "ecs", unit: unitOf("batch") })).toBe(1);
        expect.soft(await rig.metricSum("ecs_bridge_skipped", { source: "ecs" })).toBeGreaterThan(skipped);
        rig.proxy.clear();
        await rig.refresh();
        expect.soft(await rig.sd("?cluster=batch")).toEqual(truth(rig.sim, "batch"));
      });
    }

    it("deleted task definition: only its tasks are skipped and counted, it is not asked for again each refresh, and a redeploy recovers", async () => {
      // The cron service runs revision 1, which gets deleted; revision 2 is what it is redeployed with.
      const cronDef = ECS_SCENARIO.taskDefinitions!.find((d) => d.family === "cron")!;
      rig = await startRig({
        scenario: {
          ...ECS_SCENARIO,
          taskDefinitions: [...ECS_SCENARIO.taskDefinitions!, { ...cronDef, revision: 2 }],
          clusters: ECS_SCENARIO.clusters!.map((c) => ({
            ...c,
            services: c.services!.map((s) => (s.name === "cron" ? { ...s, taskDefinition: "cron:1" } : s)),
          })),
        },
      });
      const { sim } = rig;
      await rig.refresh();
      sim.scaleService("batch", "cron", 1);
      sim.scaleService("batch", "worker", 3);
      rig.proxy.add({
        service: "ecs",
        operation: "DescribeTaskDefinition",
        when: (p) => String(p.taskDefinition).endsWith("/cron:1"),
        action: {
          kind: "reply",
          status: 400,
          body: ecsError("ClientException", "Unable to describe task definition."),
        },
      });
      const cron = sim
        .endpoints({ source: "ecs", cluster: "batch", service: "cron" })
        .map((e) => `${e.host}:${e.port}`);
      expect(cron).toHaveLength(1);
      for (let i = 0; i < 2; i++) {
        await rig.refresh();
        expect
          .soft(await rig.sd("?cluster=batch"))
          .toEqual(truth(sim, "batch").filter((a) => !cron.includes(a)));
        expect
          .soft(
            await rig.metric("ecs_bridge_skipped", { source: "ecs", reason: "task_definition_unavailable" }),
          )
          .toBe(1);
        expect.soft(await rig.metric("ecs_bridge_unit_up", { source: "ecs", unit: unitOf("batch") })).toBe(1);
      }
      expect.soft(rig.proxy.hits("ecs:DescribeTaskDefinition"), "asked once, not every refresh").toBe(1);
      // Healed by a redeploy onto a definition that exists: one refresh serves it.
      sim.scaleService("batch", "cron", 0);
      sim.startTask("batch", { taskDefinition: "cron:2", group: "service:cron" });
      await rig.refresh();
      expect.soft(await rig.sd("?cluster=batch")).toEqual(truth(sim, "batch"));
      expect.soft(truth(sim, "batch")).toHaveLength(4);
      expect
        .soft(
          await rig.metric("ecs_bridge_skipped", { source: "ecs", reason: "task_definition_unavailable" }),
        )
        .toBe(0);
    });
  });

  describe("calls that are slow or never answered (aws.callTimeoutSeconds)", () => {
    const env = { BRIDGE_AWS_CALL_TIMEOUT_SECONDS: "1", BRIDGE_REFRESH_INTERVAL_SECONDS: "5" };

    it("slow replies beyond the interval: that cluster times out, the other publishes", async () => {
      rig = await startRig({ env });
      await checkFaultRow(rig, {
        down: ["batch"],
        inject: () => rig.proxy.add({ ...batchListTasks, action: { kind: "delay", ms: 6_000 } }),
        heal: () => rig.proxy.clear(),
        error: /time/i,
      });
    });

    it("a reply that never arrives: the refresh settles, and the next one recovers", async () => {
      rig = await startRig({ env });
      await checkFaultRow(rig, {
        down: ["batch"],
        inject: () => rig.proxy.add({ ...batchListTasks, action: { kind: "hang" } }),
        heal: () => rig.proxy.clear(),
        error: /time/i,
      });
    });
  });

  describe("credentials", () => {
    const OTHER = "210987654321";
    const A = "111111111111";
    const B = "222222222222";

    it("ExpiredToken re-assumes the role", async () => {
      rig = await startRig({
        scenario: { accounts: [ecsAccount(OTHER)] },
        env: { BRIDGE_ACCOUNTS: roleOf(OTHER), BRIDGE_CLUSTERS: "prod,batch" },
      });
      await rig.refresh();
      const assumed = rig.sim.calls("AssumeRole");
      expect(assumed).toBeGreaterThan(0);
      const fault = rig.sim.addFault({
        service: "ecs",
        account: OTHER,
        status: 400,
        code: "ExpiredTokenException",
      });
      await rig.refresh();
      rig.sim.removeFault(fault);
      await rig.refresh();
      expect(rig.sim.calls("AssumeRole")).toBeGreaterThan(assumed);
    });

    // Clusters found by ListClusters have no name to carry a unit_up series while the role is denied: the
    // scope's scope_up and /status entry say it. Configured clusters are each reported down by name.
    for (const [how, clusters] of [
      ["listed by ListClusters", {}],
      ["configured", { BRIDGE_CLUSTERS: "prod,batch" }],
    ] as const) {
      it(`AssumeRole denied for one account from the start (clusters ${how}) is visible: scope_up 0, its units down, last success 0, STS errors, /status`, async () => {
        rig = await startRig({
          scenario: { accounts: [ecsAccount(A), ecsAccount(B)] },
          env: { BRIDGE_ACCOUNTS: `${roleOf(A)},${roleOf(B)}`, ...clusters },
        });
        const denied = `${B}/us-east-1`;
        const unitsUp = async () =>
          (await rig.samples("ecs_bridge_unit_up", { source: "ecs" }))
            .filter((s) => s.labels.unit!.startsWith(`${B}/`))
            .map((s) => [s.labels.unit, s.value])
            .sort();
        rig.proxy.add(denyAssumeRole(roleOf(B)));
        await rig.refresh();
        expect.soft(await rig.metric("ecs_bridge_scope_up", { source: "ecs", scope: denied })).toBe(0);
        expect
          .soft(await rig.metric("ecs_bridge_scope_up", { source: "ecs", scope: `${A}/us-east-1` }))
          .toBe(1);
        const configured = "BRIDGE_CLUSTERS" in clusters;
        expect
          .soft(await unitsUp(), "unit_up series of the denied account")
          .toEqual(configured ? [unitOf("batch", denied), unitOf("prod", denied)].map((u) => [u, 0]) : []);
        expect.soft(await rig.metric("ecs_bridge_last_success_timestamp_seconds", { source: "ecs" })).toBe(0);
        expect
          .soft(await rig.metricSum("ecs_bridge_aws_errors_total", { service: "sts", code: "AccessDenied" }))
          .toBeGreaterThan(0);
        const status = await rig.status();
        const scope = status.scopes.find((s) => s.scope === denied);
        expect.soft(scope?.ok, "/status scope entry of the denied account").toBe(false);
        expect.soft(scope?.lastError).toMatch(/^AccessDenied: .*sts:AssumeRole/);
        const units = status.units.filter((u) => u.unit.startsWith(`${B}/`));
        expect.soft(units.length, "/status unit entries of the denied account").toBe(configured ? 2 : 0);
        for (const u of units) {
          expect.soft(u.ok).toBe(false);
          expect.soft(u.lastError).toMatch(/^AccessDenied: /);
        }

        rig.proxy.clear();
        await rig.refresh();
        expect.soft(await rig.metric("ecs_bridge_scope_up", { source: "ecs", scope: denied })).toBe(1);
        expect
          .soft(await unitsUp())
          .toEqual([unitOf("batch", denied), unitOf("prod", denied)].map((u) => [u, 1]));
        expect
          .soft(await rig.sd())
          .toEqual(
            [A, B]
              .flatMap((acct) => ["prod", "batch"].flatMap((c) => truth(rig.sim.account(acct), c)))
              .sort(),
          );
      });
    }
  });

  describe("Cloud Map", () => {
    it("AssumeRole denied for one account from the start, namespaces configured: scope_up 0, each namespace down, /status", async () => {
      const A = "111111111111";
      const B = "222222222222";
      // The same namespace in each account, its instances' addresses told apart by the account.
      const account = (accountId: string, net: string) => ({
        accountId,
        namespaces: CLOUDMAP_SCENARIO.namespaces!.map((ns) => ({
          ...ns,
          services: ns.services!.map((svc) => ({
            ...svc,
            instances: svc.instances!.map((i, k) => ({
              ...i,
              attributes: { ...i.attributes, AWS_INSTANCE_IPV4: `${net}.${k + 1}` },
            })),
          })),
        })),
      });
      rig = await startRig({
        scenario: { accounts: [account(A, "127.0.51"), account(B, "127.0.52")] },
        env: {
          ...CLOUDMAP_ENV,
          BRIDGE_ACCOUNTS: `${roleOf(A)},${roleOf(B)}`,
          BRIDGE_CLOUDMAP_NAMESPACES: "shop",
        },
      });
      const denied = `${B}/us-east-1`;
      const unitUp = (scope: string) =>
        rig.metric("ecs_bridge_unit_up", { source: "cloudmap", unit: `${scope}/shop` });
      rig.proxy.add(denyAssumeRole(roleOf(B)));
      await rig.refresh();
      expect.soft(await rig.metric("ecs_bridge_scope_up", { source: "cloudmap", scope: denied })).toBe(0);
      expect
        .soft(await rig.metric("ecs_bridge_scope_up", { source: "cloudmap", scope: `${A}/us-east-1` }))
        .toBe(1);
      expect.soft(await unitUp(denied), "unit_up of the denied account's namespace").toBe(0);
      expect.soft(await unitUp(`${A}/us-east-1`)).toBe(1);
      expect.soft(rig.sim.calls("ListNamespaces"), "no Cloud Map call without credentials").toBe(1);
      const status = await rig.status();
      const scope = status.scopes.find((s) => s.source === "cloudmap" && s.scope === denied);
      expect.soft(scope?.ok, "/status scope entry of the denied account").toBe(false);
      expect.soft(scope?.lastError).toMatch(/^AccessDenied: .*sts:AssumeRole/);
      const unit = status.units.find((u) => u.unit === `${denied}/shop`);
      expect.soft(unit?.ok, "/status unit entry of the denied account").toBe(false);
      expect.soft(unit?.lastError).toMatch(/^AccessDenied: /);
      expect.soft(await rig.sd()).toEqual(["127.0.51.1:8080", "127.0.51.2:8080"]);

      rig.proxy.clear();
      await rig.refresh();
      expect.soft(await rig.metric("ecs_bridge_scope_up", { source: "cloudmap", scope: denied })).toBe(1);
      expect.soft(await unitUp(denied)).toBe(1);
      expect
        .soft(await rig.sd())
        .toEqual(["127.0.51.1:8080", "127.0.51.2:8080", "127.0.52.1:8080", "127.0.52.2:8080"]);
    });

    it("DiscoverInstances Instances null: the namespace keeps its last-good targets and is down", async () => {
      rig = await startRig({ scenario: CLOUDMAP_SCENARIO, env: CLOUDMAP_ENV });
      await checkNamespaceRow(rig, { kind: "rewrite", rewrite: (b) => ({ ...b, Instances: null }) });
    });
  });
});
