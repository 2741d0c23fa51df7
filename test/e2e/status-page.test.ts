// The status page in a real browser (Debian's Chromium): a bridge on the simulated demo estate, plus a
// sidecar without opt-in labels and a cluster whose ListTasks is denied. A person sees every unit, the
// failing cluster's error with its fix, the skipped sidecar with its reason, and finds a task by id.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../../cmd/bridge.js";
import { startSimAws } from "../../sim/index.js";
import { browserAvailable, pageRig, type BrowserSession, type PageRig } from "../helpers/browser.js";
import { demoWithUnlabelledSidecar } from "../helpers/demo.js";

describe.skipIf(!browserAvailable())("status page in Chromium", () => {
  let rig: PageRig | undefined;
  let bridge: Bridge;
  let browser: BrowserSession;

  beforeAll(async () => {
    const scenario = demoWithUnlabelledSidecar();
    scenario.clusters!.push({ name: "restricted" });
    const sim = await startSimAws({ scenario });
    sim.addFault({
      service: "ecs",
      operation: "ListTasks",
      cluster: "restricted",
      code: "AccessDeniedException",
      status: 400,
      message: "User is not authorized to perform: ecs:ListTasks",
    });
    rig = await pageRig(sim);
    ({ bridge, browser } = rig);
  }, 120_000);

  afterAll(() => rig?.close());

  it("shows each unit, the failing cluster's error and fix, and a skipped container's reason", async () => {
    const res = await browser.page.goto(`${bridge.url}/status`);
    expect(res?.status()).toBe(200);
    const units = bridge.discovery.status().map((u) => u.unit);
    expect(units).toEqual(expect.arrayContaining(["default/us-east-1/demo", "default/us-east-1/restricted"]));
    const headings = await browser.page.locator("h3.unit").allTextContents();
    for (const unit of units) expect(headings.some((h) => h.startsWith(`${unit} `))).toBe(true);
    expect(headings.find((h) => h.startsWith("default/us-east-1/restricted"))).toContain("failing");

    // Each unit's own AWS calls of the last refresh, by operation.
    const demo = bridge.discovery.status().find((u) => u.unit === "default/us-east-1/demo")!;
    expect(demo.calls).toMatchObject({ ListTasks: 1, DescribeTasks: 1 });
    expect(await browser.page.locator("p", { hasText: "Last success" }).allTextContents()).toContainEqual(
      expect.stringMatching(/AWS calls: .*DescribeTasks 1, .*ListTasks 1/),
    );

    const failure = await browser.page.locator(".cause").first().textContent();
    expect(failure).toContain("ListTasks in ecs default/us-east-1/restricted: AccessDeniedException");
    expect(failure).toContain(
      "Fix: grant ecs:ListTasks to the bridge's role (deploy/iam/ecs-discovery.json)",
    );

    const sidecar = browser.page.locator("table.skipped tr", { hasText: "envoy" }).first();
    expect(await sidecar.textContent()).toMatch(
      /no_opt_in\s*not opted in: no PROMETHEUS_EXPORTER_PORT docker label/,
    );
    expect(browser.consoleErrors).toEqual([]);
    await browser.screenshot("status-page");
  });

  it("finds a task by id with the filter, and its explain link says it is a target", async () => {
    await browser.page.goto(`${bridge.url}/status`);
    const web = bridge.discovery
      .snapshot()
      .targets.find((t) => t.service === "web" && t.group.labels.__meta_ecs_task_arn)!;
    const arn = web.group.labels.__meta_ecs_task_arn!;
    const id = arn.slice(arn.lastIndexOf("/") + 1);
    await browser.page.getByLabel("Filter by task id, service or IP").fill(id);
    await browser.page.getByRole("button", { name: "Filter" }).click();
    await browser.page.waitForURL(/\?q=/);
    // The ECS target, and the Cloud Map instance ECS service discovery registered under the task's id.
    const rows = await browser.page.locator("table.targets tr:has(td)").allTextContents();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).toContain(id);
    expect(rows.some((r) => r.includes(web.group.targets[0]!))).toBe(true);
    expect(await browser.page.locator("table.skipped tr:has(td)").allTextContents()).toEqual([
      expect.stringContaining("envoy"),
    ]);

    await browser.page.locator("table.targets a", { hasText: id }).first().click();
    await browser.page.waitForURL(/\/explain\?task=/);
    const explained = JSON.parse((await browser.page.locator("pre").first().textContent()) ?? "") as {
      target: boolean;
      targets: { address: string }[];
      skipped: { container: string; reason: string }[];
    };
    expect(explained.target).toBe(true);
    expect(explained.targets.map((t) => t.address)).toEqual([web.group.targets[0]]);
    expect(explained.skipped).toEqual([expect.objectContaining({ container: "envoy", reason: "no_opt_in" })]);
    expect(browser.consoleErrors).toEqual([]);
  });
});
