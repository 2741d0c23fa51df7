// Debian's Chromium (/usr/bin/chromium, installed by scripts/test-deps.sh) driven by playwright-core, for
// tests of pages the bridge serves. Never `npx playwright install`: the browser comes from the distribution.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import type { Bridge } from "../../cmd/bridge.js";
import type { SimAws } from "../../sim/index.js";
import { bridgeOnSim } from "./bridge.js";

export const CHROMIUM_BIN = "/usr/bin/chromium";

/** Headless, no sandbox (CI runs as root), and nothing that reaches the network on its own. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Screenshots land here (git-ignored), for a person to look at after a run. */
export const SCREENSHOT_DIR = ".tmp";

/** False only outside CI when Chromium is missing; in CI a missing browser fails the browser tests. */
export function browserAvailable(): boolean {
  return existsSync(CHROMIUM_BIN) || Boolean(process.env.CI);
}

export interface BrowserSession {
  page: Page;
  /** console.error messages and uncaught exceptions of the page, in order. */
  consoleErrors: string[];
  /** Saves a full-page screenshot as .tmp/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

export async function openBrowser(): Promise<BrowserSession> {
  // A fresh profile per session. Playwright refuses --user-data-dir in args: a persistent context takes it.
  const userDataDir = mkdtempSync(join(tmpdir(), "bridge-chromium-"));
  const removeProfile = () => rmSync(userDataDir, { recursive: true, force: true });
  const context = await chromium
    .launchPersistentContext(userDataDir, { executablePath: CHROMIUM_BIN, args: CHROMIUM_ARGS })
    .catch((err: unknown) => {
      removeProfile();
      throw err;
    });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  page.on("console", (m) => {
    // The browser asks every document's origin for /favicon.ico on its own (a JSON reply has no <link
    // rel="icon"> to prevent it); its 404 is not the page's error. HTML pages set `href="data:,"`.
    if (m.type() === "error" && new URL(m.location().url || "about:blank").pathname !== "/favicon.ico")
      consoleErrors.push(m.text());
  });
  page.on("pageerror", (err) => consoleErrors.push(`uncaught: ${err.message}`));
  return {
    page,
    consoleErrors,
    async screenshot(name) {
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      const path = join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      try {
        await context.close();
      } finally {
        removeProfile();
      }
    },
  };
}

export interface PageRig {
  bridge: Bridge;
  browser: BrowserSession;
  /** Closes the browser, the bridge and the simulator. */
  close(): Promise<void>;
}

/**
 * The setup of page tests: a bridge on `sim` (Cloud Map on) after one refresh, and a browser. Owns `sim`
 * from here on: a failed start closes what was started, and close() closes the simulator too.
 */
export async function pageRig(sim: SimAws): Promise<PageRig> {
  let bridge: Bridge | undefined;
  let browser: BrowserSession | undefined;
  const close = async () => {
    await browser?.close();
    await bridge?.close();
    await sim.close();
  };
  try {
    bridge = await bridgeOnSim(sim, { BRIDGE_CLOUDMAP_ENABLED: "true" });
    await bridge.discovery.refreshOnce();
    browser = await openBrowser();
  } catch (err) {
    await close();
    throw err;
  }
  return { bridge, browser, close };
}
