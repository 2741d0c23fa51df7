// The bridge's own /metrics, as Prometheus scrapes it (process and Node.js metrics included, ECS and Cloud
// Map discovery and the exporter on, after a refresh and a collection against the simulated AWS), must pass
// `promtool check metrics` (parse errors and lint warnings alike) with no output at all.
import { spawnSync } from "node:child_process";
import { afterEach, expect, it } from "vitest";
import type { Bridge } from "../../cmd/bridge.js";
import { loadScenario, startSimAws, type SimAws } from "../../sim/index.js";
import { bridgeOnSim } from "../helpers/bridge.js";

const PROMTOOL = process.env.PROMTOOL ?? "promtool";

let sim: SimAws | undefined;
let bridge: Bridge | undefined;

afterEach(async () => {
  await bridge?.close();
  bridge = undefined;
  await sim?.close();
  sim = undefined;
});

/** promtool's complaints about an exposition: "" when it is clean. */
function promtoolCheck(text: string): string {
  const res = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
  if (res.error)
    throw new Error(
      `cannot run ${PROMTOOL} (${res.error.message}); install it (Debian/Ubuntu: apt-get install prometheus) or set PROMTOOL`,
    );
  return `${res.stdout}${res.stderr}`.trim() + (res.status === 0 ? "" : `\n(exit ${res.status})`);
}

it("the bridge's /metrics, default process metrics included, passes promtool check metrics", async () => {
  sim = await startSimAws({
    scenario: loadScenario(new URL("../../sim/scenarios/demo.yaml", import.meta.url).pathname),
  });
  bridge = await bridgeOnSim(
    sim,
    { BRIDGE_CLOUDMAP_ENABLED: "true", BRIDGE_EXPORTER_ENABLED: "true" },
    { defaultMetrics: true },
  );
  await bridge.discovery.refreshOnce();
  await bridge.exporter!.collectOnce();
  const text = await (await fetch(`${bridge.url}/metrics`)).text();
  // What the scrape must carry for the check to mean something: process, discovery and exporter metrics.
  expect(text).toMatch(/^ecs_bridge_process_cpu_seconds_total /m);
  expect(text).toMatch(/^ecs_bridge_targets\{source="ecs"\} [1-9]/m);
  expect(text).toMatch(/^ecs_bridge_cloudwatch_metrics_requested_total\{/m);
  expect(promtoolCheck(text)).toBe("");
});

it("the check fails on what promtool rejects (a gauge named like a counter)", () => {
  const bad = "# HELP x_active_total Active things.\n# TYPE x_active_total gauge\nx_active_total 1\n";
  expect(promtoolCheck(bad)).toMatch(/non-counter metrics should not have "_total" suffix/);
});
