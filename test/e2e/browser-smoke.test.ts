// The browser harness works end to end: Debian's Chromium loads the status the bridge serves (on the
// simulated AWS), shows its page, reports no console errors, and a screenshot is written under .tmp/.
import { existsSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bridge } from "../../cmd/bridge.js";
import { defaultScenarioFile } from "../../cmd/demo.js";
import { startSimAws } from "../../sim/index.js";
import { browserAvailable, pageRig, type BrowserSession, type PageRig } from "../helpers/browser.js";

describe.skipIf(!browserAvailable())("Chromium against the bridge", () => {
  let rig: PageRig | undefined;
  let bridge: Bridge;
  let browser: BrowserSession;

  beforeAll(async () => {
    rig = await pageRig(await startSimAws({ scenario: defaultScenarioFile() }));
    ({ bridge, browser } = rig);
  }, 120_000);

  afterAll(() => rig?.close());

  it("shows /status (the HTML page browsers get) with no console errors, and saves a screenshot", async () => {
    const res = await browser.page.goto(`${bridge.url}/status`);
    expect(res?.status()).toBe(200);
    expect(await browser.page.locator("h1").textContent()).toBe("ecs-prometheus-bridge");
    expect(await browser.page.locator("h3.unit").count()).toBe(bridge.discovery.status().length);
    expect(browser.consoleErrors).toEqual([]);
    const file = await browser.screenshot("browser-smoke-status");
    expect(existsSync(file) && statSync(file).size).toBeGreaterThan(0);
  });

  it("collects console errors and uncaught exceptions (what page tests assert is empty)", async () => {
    // A blank document first: the status page's Content-Security-Policy forbids inline scripts.
    await browser.page.goto("about:blank");
    const before = browser.consoleErrors.length;
    await browser.page.setContent(
      "<script>console.error('reported'); setTimeout(() => { throw new Error('thrown'); });</script>",
    );
    await expect.poll(() => browser.consoleErrors.slice(before)).toEqual(["reported", "uncaught: thrown"]);
  });
});
