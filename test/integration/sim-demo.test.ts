// The demo (`npm run demo`) end to end on loopback: simulated AWS, sample /metrics servers on the simulated
// task addresses and the real bridge. Every target /sd lists must answer a scrape; scaling a service through
// the /_sim API adds scrapeable targets. Runs on its own 127.x addresses so parallel e2e tests don't collide.
import { afterEach, expect, it } from "vitest";
import { defaultScenarioFile, runDemo, type Demo } from "../../cmd/demo.js";
import { loadScenario } from "../../sim/index.js";

let demo: Demo | undefined;

afterEach(async () => {
  await demo?.close();
  demo = undefined;
});

interface Group {
  targets: string[];
  labels: Record<string, string>;
}

async function sd(url: string): Promise<Group[]> {
  const r = await fetch(`${url}/sd`);
  expect(r.status).toBe(200);
  return (await r.json()) as Group[];
}

it("serves scrapeable ECS and Cloud Map targets and follows a scale-up", async () => {
  const scenario = loadScenario(defaultScenarioFile());
  scenario.ipPool = { tasks: "127.0.77.2", instances: "127.0.78.1" };
  for (const ns of scenario.namespaces ?? [])
    for (const svc of ns.services ?? [])
      for (const inst of svc.instances ?? [])
        if (inst.attributes?.AWS_INSTANCE_IPV4)
          inst.attributes.AWS_INSTANCE_IPV4 = inst.attributes.AWS_INSTANCE_IPV4.replace(
            /^127\.0\.0\./,
            "127.0.79.",
          );
  const lines: string[] = [];
  demo = await runDemo({ scenario, bridgePort: 0, print: (t) => lines.push(t) });
  expect(lines.join("\n")).toContain(`${demo.bridge.url}/sd`);
  await demo.bridge.discovery.refreshOnce();

  const groups = await sd(demo.bridge.url);
  const sources = new Set(groups.map((g) => (g.labels.__meta_ecs_task_arn ? "ecs" : "cloudmap")));
  expect(sources).toEqual(new Set(["ecs", "cloudmap"]));
  // web x2 (awsvpc), legacy x2 (bridge, host ports), nightly-report; payments x2 healthy in Cloud Map. The two
  // web tasks ECS registered in Cloud Map are one target each, with both sources' labels.
  expect(groups).toHaveLength(7);
  const endpoints = groups.map((g) => `${g.targets[0]}${g.labels.__metrics_path__ ?? "/metrics"}`);
  expect(new Set(endpoints).size, endpoints.join(" ")).toBe(7);
  const both = groups.filter((g) => g.labels.__meta_ecs_task_arn && g.labels.__meta_cloudmap_instance_id);
  expect(both.map((g) => g.labels.__meta_ecs_service)).toEqual(["web", "web"]);
  expect(lines.join("\n")).toContain("7 targets, 2 of them found by both ECS and Cloud Map (served once)");
  const bridgeMode = groups.filter((g) => g.labels.__meta_ecs_network_mode === "bridge");
  expect(bridgeMode.map((g) => g.targets[0])).toEqual(
    expect.arrayContaining([expect.stringMatching(/^127\.0\.78\.\d+:3\d{4}$/)]),
  );
  for (const g of groups) {
    const path = g.labels.__metrics_path__ ?? "/metrics";
    const res = await fetch(`http://${g.targets[0]}${path}`);
    expect(res.status, g.targets[0]).toBe(200);
    expect(await res.text()).toContain("demo_info{");
  }

  const scaled = await fetch(`${demo.sim.url}/_sim/services/scale`, {
    method: "POST",
    body: JSON.stringify({ cluster: "demo", service: "web", desiredCount: 3 }),
  });
  expect(scaled.status).toBe(200);
  await demo.samples.sync();
  await demo.bridge.discovery.refreshOnce();
  const web = (await sd(demo.bridge.url)).filter(
    (g) => g.labels.__meta_ecs_service === "web" && g.labels.__meta_ecs_task_arn,
  );
  expect(web).toHaveLength(3);
  for (const g of web) expect((await fetch(`http://${g.targets[0]}/metrics`)).status).toBe(200);

  // The exporter collects in the background; join (or repeat) its collection before reading /metrics.
  expect(demo.bridge.exporter).toBeDefined();
  await demo.bridge.exporter!.collectOnce();
  const metrics = await (await fetch(`${demo.bridge.url}/metrics`)).text();
  expect(metrics).toMatch(/^aws_ecs_request_count_sum\{cluster_name="demo",service_name="web"/m);
});
