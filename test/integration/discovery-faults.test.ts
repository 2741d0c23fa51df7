// Discovery failures a real bridge must make visible, on the simulated AWS endpoint: an account whose
// AssumeRole is denied from the start, an expired session token, a throttled cluster. Then the shipped
// alerts are run by `promtool test rules` on the series this bridge really exposed on /metrics.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import type { Bridge } from "../../cmd/bridge.js";
import { startSimAws, type Scenario, type SimAws } from "../../sim/index.js";
import { bridgeOnSim } from "../helpers/bridge.js";

const MAIN = "123456789012";
const OTHER = "210987654321";
const ROLE = (account: string) => `arn:aws:iam::${account}:role/prometheus-discovery`;

const TASK_DEF = {
  family: "web",
  containerDefinitions: [
    {
      name: "app",
      portMappings: [{ containerPort: 9100 }],
      dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9100" },
    },
  ],
};
const SCENARIO: Scenario = {
  taskDefinitions: [TASK_DEF],
  clusters: [
    { name: "main", services: [{ name: "web", taskDefinition: "web", desiredCount: 1 }] },
    { name: "flaky", services: [{ name: "web", taskDefinition: "web", desiredCount: 1 }] },
  ],
  accounts: [
    {
      accountId: OTHER,
      externalId: "s3cret",
      taskDefinitions: [TASK_DEF],
      clusters: [{ name: "other", services: [{ name: "web", taskDefinition: "web", desiredCount: 2 }] }],
    },
  ],
};

let sim: SimAws | undefined;
let bridge: Bridge | undefined;

afterEach(async () => {
  await bridge?.close();
  await sim?.close();
  bridge = sim = undefined;
});

async function start(otherExternalId: string): Promise<{ sim: SimAws; bridge: Bridge }> {
  sim = await startSimAws({ scenario: SCENARIO });
  bridge = await bridgeOnSim(sim, {
    BRIDGE_ACCOUNTS: `${ROLE(MAIN)},${ROLE(OTHER)}|${otherExternalId}`,
  });
  return { sim, bridge };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function scrape(b: Bridge): Promise<Sample[]> {
  const text = await (await fetch(`${b.url}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`unparsable metrics line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, k, v] of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

interface Rule {
  alert: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const RULES = (
  parse(readFileSync("deploy/prometheus/alerts.yml", "utf8")) as { groups: { rules: Rule[] }[] }
).groups.flatMap((g) => g.rules);

/** The alert promtool must find at 25m: the rule's labels and annotations, with `$labels` filled in. */
function expected(alertname: string, labels: Record<string, string>) {
  const rule = RULES.find((r) => r.alert === alertname);
  if (!rule) throw new Error(`no alert ${alertname} in alerts.yml`);
  const fill = (text: string) =>
    text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? "");
  const exp_annotations = Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, fill(v)]));
  return {
    eval_time: "25m",
    alertname,
    exp_alerts: [{ exp_labels: { ...rule.labels, ...labels }, exp_annotations }],
  };
}

interface ScopeJson {
  source: string;
  scope: string;
  ok: boolean;
  lastError?: string;
}

describe("discovery failures on the simulated AWS", () => {
  it("an account whose AssumeRole is denied from the start is down, counted and named on /status", async () => {
    const { bridge: b } = await start("wrong");
    await b.discovery.refreshOnce();
    const samples = await scrape(b);
    expect(
      find(samples, "ecs_bridge_scope_up", { source: "ecs", scope: `${OTHER}/us-east-1` })[0]?.value,
    ).toBe(0);
    expect(
      find(samples, "ecs_bridge_scope_up", { source: "ecs", scope: `${MAIN}/us-east-1` })[0]?.value,
    ).toBe(1);
    expect(find(samples, "ecs_bridge_last_success_timestamp_seconds", { source: "ecs" })[0]?.value).toBe(0);
    expect(
      find(samples, "ecs_bridge_aws_errors_total", {
        service: "sts",
        operation: "AssumeRole",
        code: "AccessDenied",
      })[0]?.value,
    ).toBeGreaterThan(0);
    expect(
      find(samples, "ecs_bridge_aws_requests_total", { service: "sts", operation: "AssumeRole" })[0]?.value,
    ).toBeGreaterThan(0);

    const status = (await (await fetch(`${b.url}/status`)).json()) as { scopes: ScopeJson[] };
    const other = status.scopes.find((s) => s.scope === `${OTHER}/us-east-1`);
    expect(other).toMatchObject({ source: "ecs", ok: false });
    expect(other?.lastError).toMatch(/^AccessDenied: .*sts:AssumeRole/);
    expect(status.scopes.find((s) => s.scope === `${MAIN}/us-east-1`)).toMatchObject({ ok: true });
  });

  it("ExpiredToken makes the bridge assume the role again; discovery recovers on the next refresh", async () => {
    const { sim: s, bridge: b } = await start("s3cret");
    await b.discovery.refreshOnce();
    const assumed = s.calls("sts:AssumeRole");
    expect(assumed).toBe(2);
    s.addFault({ service: "ecs", account: OTHER, code: "ExpiredTokenException", status: 400, count: 1 });
    await b.discovery.refreshOnce();
    expect(b.discovery.scopeStatus().find((x) => x.scope === `${OTHER}/us-east-1`)?.ok).toBe(false);
    await b.discovery.refreshOnce();
    expect(s.calls("sts:AssumeRole")).toBe(assumed + 1);
    expect(b.discovery.scopeStatus().every((x) => x.ok)).toBe(true);
    expect(b.discovery.status().every((u) => u.ok)).toBe(true);
  });

  it("the shipped alerts fire on the series a failing bridge exposes (promtool test rules)", async () => {
    const { sim: s, bridge: b } = await start("wrong");
    s.addFault({ service: "ecs", operation: "ListTasks", cluster: "flaky", code: "ThrottlingException" });
    await b.discovery.refreshOnce();
    const samples = await scrape(b);

    const one = (name: string, labels: Record<string, string>) => {
      const found = find(samples, name, labels);
      expect(found, `${name} ${JSON.stringify(labels)} on /metrics`).toHaveLength(1);
      return found[0]!;
    };
    const series = (x: Sample) =>
      `${x.name}{${Object.entries(x.labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(", ")}}`;
    const unitDown = one("ecs_bridge_unit_up", { source: "ecs", unit: `${MAIN}/us-east-1/flaky` });
    const scopeDown = one("ecs_bridge_scope_up", { source: "ecs", scope: `${OTHER}/us-east-1` });
    const neverOk = one("ecs_bridge_last_success_timestamp_seconds", { source: "ecs" });
    const stale = one("ecs_bridge_unit_stale", { source: "ecs", unit: `${MAIN}/us-east-1/flaky` });
    const sts = one("ecs_bridge_aws_errors_total", { service: "sts", code: "AccessDenied" });
    const throttled = one("ecs_bridge_aws_throttles_total", { service: "ecs", operation: "ListTasks" });
    // What the bridge reported now, held for 30 minutes; counters keep growing at the rate they had.
    expect([unitDown.value, scopeDown.value, neverOk.value]).toEqual([0, 0, 0]);
    const held = (x: Sample) => ({ series: series(x), values: `${x.value}x30` });
    // A steady rate well above the throttling alert's threshold.
    const growing = (x: Sample) => ({ series: series(x), values: `0+${Math.max(x.value, 10)}x30` });
    const test = {
      rule_files: [resolve("deploy/prometheus/alerts.yml")],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: [
            held(unitDown),
            held(scopeDown),
            held(neverOk),
            // The stale flag is 0 until maxStaleSeconds have passed: the same series, set.
            { series: series(stale), values: "1x30" },
            growing(sts),
            growing(throttled),
          ],
          alert_rule_test: [
            ["EcsBridgeUnitFailing", { source: "ecs", unit: unitDown.labels.unit }],
            ["EcsBridgeScopeDown", { source: "ecs", scope: scopeDown.labels.scope }],
            ["EcsBridgeNoSuccessfulRefresh", { source: "ecs" }],
            ["EcsBridgeUnitStale", { source: "ecs", unit: stale.labels.unit }],
            ["EcsBridgeAssumeRoleFailing", { operation: "AssumeRole", code: "AccessDenied" }],
            ["EcsBridgeThrottled", { service: "ecs", operation: "ListTasks" }],
          ].map(([alertname, labels]) => expected(alertname as string, labels as Record<string, string>)),
        },
      ],
    };
    const dir = mkdtempSync(join(tmpdir(), "bridge-alerts-"));
    writeFileSync(join(dir, "live.test.yml"), stringify(test));
    const r = spawnSync("promtool", ["test", "rules", "live.test.yml"], { cwd: dir, encoding: "utf8" });
    expect(`${r.stdout}${r.stderr}`).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });
});
