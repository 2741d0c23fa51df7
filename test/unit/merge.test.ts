// One target per (address, metrics path) across sources: what /sd serves when ECS and Cloud Map both list
// a task, which labels win, and which `?source=`/`?namespace=` lists still show it.
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../core/log.js";
import { createSelfMetrics } from "../../core/metrics.js";
import { parseFilter, renderSd } from "../../sd/httpsd.js";
import { mergeTargets } from "../../sd/merge.js";
import type { DiscoveredTarget } from "../../sd/model.js";
import { Discovery, type Source } from "../../sd/refresh.js";

/** An ECS target as sd/ecs/targets.ts builds it: path, job and ECS labels from the task. */
const ecs = (addr: string, extra: Record<string, string> = {}): DiscoveredTarget => ({
  source: "ecs",
  cluster: "demo",
  service: "web",
  group: {
    targets: [addr],
    labels: {
      __meta_ecs_cluster: "demo",
      __meta_ecs_service: "web",
      __meta_ecs_task_arn: `arn:aws:ecs:us-east-1:123456789012:task/demo/${addr}`,
      __meta_ecs_availability_zone: "us-east-1a",
      __metrics_path__: "/metrics",
      job: "web",
      ...extra,
    },
  },
});

/** A Cloud Map instance ECS registered: no path (so /metrics), ECS attributes mapped to __meta_ecs_*. */
const cloudmap = (addr: string, extra: Record<string, string> = {}): DiscoveredTarget => ({
  source: "cloudmap",
  namespace: "demo-apps",
  service: "web-sd",
  cluster: "demo",
  group: {
    targets: [addr],
    labels: {
      __meta_cloudmap_namespace_name: "demo-apps",
      __meta_cloudmap_service_name: "web-sd",
      __meta_cloudmap_instance_id: `id-${addr}`,
      __meta_cloudmap_health_status: "HEALTHY",
      __meta_ecs_cluster: "demo",
      __meta_ecs_service: "web-from-attributes",
      __meta_ecs_availability_zone: "us-east-1a",
      ...extra,
    },
  },
});

const addresses = (ts: DiscoveredTarget[]) => ts.map((t) => t.group.targets[0]).sort();

describe("mergeTargets", () => {
  it("serves an endpoint ECS and Cloud Map both list once, with both label sets; ECS wins conflicts", () => {
    const { targets, merged } = mergeTargets([cloudmap("10.0.0.2:9101"), ecs("10.0.0.2:9101")]);
    expect(merged).toBe(1);
    expect(targets).toHaveLength(1);
    const [t] = targets;
    expect(t!.source).toBe("ecs");
    expect(t!.group.targets).toEqual(["10.0.0.2:9101"]);
    expect(t!.group.labels).toMatchObject({
      job: "web",
      __metrics_path__: "/metrics",
      __meta_ecs_service: "web", // ECS's value, not the Cloud Map attribute's
      __meta_ecs_task_arn: "arn:aws:ecs:us-east-1:123456789012:task/demo/10.0.0.2:9101",
      __meta_cloudmap_instance_id: "id-10.0.0.2:9101",
      __meta_cloudmap_namespace_name: "demo-apps",
    });
    // Byte-stable: keys sorted, as every source emits them.
    expect(Object.keys(t!.group.labels)).toEqual(Object.keys(t!.group.labels).sort());
  });

  it("keeps two paths on one address apart; an absent path is /metrics", () => {
    const apart = mergeTargets([
      ecs("10.0.0.2:9101", { __metrics_path__: "/internal/metrics" }),
      cloudmap("10.0.0.2:9101"),
    ]);
    expect(apart.merged).toBe(0);
    expect(apart.targets).toHaveLength(2);
    const noEcsPath = ecs("10.0.0.3:9101");
    delete noEcsPath.group.labels.__metrics_path__;
    const same = mergeTargets([noEcsPath, cloudmap("10.0.0.3:9101", { __metrics_path__: "/metrics" })]);
    expect(same.targets).toHaveLength(1);
    expect(same.targets[0]!.group.labels.__metrics_path__).toBeUndefined(); // the winner's: default /metrics
  });

  it("finds the matching path among several on one address, wherever it comes in the list", () => {
    const r = mergeTargets([
      cloudmap("10.0.0.4:9101", { __metrics_path__: "/a" }),
      cloudmap("10.0.0.4:9101", { __metrics_path__: "/b" }),
      ecs("10.0.0.4:9101", { __metrics_path__: "/b" }),
      ecs("10.0.0.4:9101", { __metrics_path__: "/a" }),
    ]);
    expect(r.merged).toBe(2);
    expect(r.targets.map((t) => [t.source, t.group.labels.__metrics_path__, t.also?.length])).toEqual([
      ["ecs", "/a", 1],
      ["ecs", "/b", 1],
    ]);
  });

  it("takes job, __scheme__ and other scrape labels from the winner alone, __meta_* from all", () => {
    const plain = ecs("10.0.0.5:80");
    delete plain.group.labels.job;
    const { targets } = mergeTargets([
      cloudmap("10.0.0.5:80", { __scheme__: "https", job: "cloudmap-job", __param_x: "1" }),
      plain,
    ]);
    const labels = targets[0]!.group.labels;
    expect(labels.__scheme__).toBeUndefined();
    expect(labels.job).toBeUndefined();
    expect(labels.__param_x).toBeUndefined();
    expect(labels.__meta_cloudmap_health_status).toBe("HEALTHY");
  });

  it("gives the same result whatever the input order", () => {
    const inputs = [
      cloudmap("10.0.0.2:9101"),
      ecs("10.0.0.2:9101"),
      cloudmap("10.0.0.2:9101", { __meta_cloudmap_instance_id: "other" }),
      ecs("10.0.0.9:1"),
    ];
    const a = mergeTargets(inputs);
    const b = mergeTargets([...inputs].reverse());
    const norm = (ts: DiscoveredTarget[]) => ts.map((t) => JSON.stringify(t)).sort();
    expect(norm(a.targets)).toEqual(norm(b.targets));
    expect(a.merged).toBe(2);
  });

  it("passes a list without duplicates through untouched", () => {
    const list = [ecs("10.0.0.1:1"), cloudmap("10.0.0.2:1"), ecs("10.0.0.1:2")];
    const { targets, merged } = mergeTargets(list);
    expect(merged).toBe(0);
    expect(targets).toBe(list);
  });
});

describe("filters on a merged target", () => {
  const before = [
    ecs("10.0.0.2:9101"),
    cloudmap("10.0.0.2:9101"),
    ecs("10.0.0.3:9101"),
    cloudmap("10.0.0.50:9103", { __meta_ecs_cluster: "" }),
  ];
  before[3]!.cluster = undefined;
  const after = mergeTargets(before).targets;
  const listed = (ts: DiscoveredTarget[], query: Record<string, string>) =>
    (JSON.parse(renderSd(ts, parseFilter(query)).json.toString()) as { targets: string[] }[])
      .map((g) => g.targets[0])
      .sort();

  it.each<Record<string, string>>([
    {},
    { source: "ecs" },
    { source: "cloudmap" },
    { namespace: "demo-apps" },
    { source: "cloudmap", namespace: "demo-apps" },
    { source: "ecs", namespace: "demo-apps" },
    { cluster: "demo" },
    { source: "cloudmap", service: "web" },
    { service: "web-sd" },
  ])("%j lists every endpoint it listed before the merge, each once", (query) => {
    const was = [...new Set(listed(before, query))];
    expect(listed(after, query)).toEqual(was);
  });

  it("?source=cloudmap shows the endpoint ECS also lists, with the ECS labels", () => {
    const body = JSON.parse(renderSd(after, parseFilter({ source: "cloudmap" })).json.toString()) as {
      targets: string[];
      labels: Record<string, string>;
    }[];
    const web = body.find((g) => g.targets[0] === "10.0.0.2:9101");
    expect(web?.labels.__meta_ecs_task_arn).toBeDefined();
    expect(web?.labels.__meta_cloudmap_instance_id).toBe("id-10.0.0.2:9101");
  });
});

describe("Discovery.publish", () => {
  const source = (name: "ecs" | "cloudmap", targets: DiscoveredTarget[]): Source => ({
    name,
    refresh: async () => ({ units: [{ unit: `u-${name}`, ok: true, targets }], failedScopes: [] }),
  });

  it("snapshots one target per endpoint; ecs_bridge_targets counts what each source found", async () => {
    const metrics = createSelfMetrics({ defaults: false });
    const d = new Discovery({
      sources: [
        source("ecs", [ecs("10.0.0.2:9101"), ecs("10.0.0.3:9101")]),
        source("cloudmap", [cloudmap("10.0.0.2:9101"), cloudmap("10.0.0.50:9103")]),
      ],
      metrics,
      logger: silentLogger,
      intervalSeconds: 30,
    });
    await d.refreshOnce();
    expect(addresses(d.snapshot().targets)).toEqual(["10.0.0.2:9101", "10.0.0.3:9101", "10.0.0.50:9103"]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('ecs_bridge_targets{source="ecs"} 2');
    expect(text).toContain('ecs_bridge_targets{source="cloudmap"} 2');
    expect(text).toMatch(/^ecs_bridge_targets_merged 1$/m);
  });
});
