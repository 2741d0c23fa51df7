// The refresh summary a person reads in the log and on /status, and the fix hints for failures.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../core/log.js";
import { createSelfMetrics } from "../../core/metrics.js";
import type { DiscoveredTarget } from "../../sd/model.js";
import { Discovery, type Source, type SourceRefresh } from "../../sd/refresh.js";
import { fixHint, POLICY_FILES } from "../../sd/report.js";
import type { UnitSkips } from "../../sd/skips.js";

const t = (addr: string): DiscoveredTarget => ({
  source: "ecs",
  cluster: "prod",
  group: { targets: [addr], labels: {} },
});

describe("refresh summary", () => {
  it("one info line per refresh: units, targets, added/removed, skipped by reason, calls by operation", async () => {
    const metrics = createSelfMetrics({ defaults: false });
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger("info", (l) => void lines.push(JSON.parse(l) as Record<string, unknown>));
    let targets = [t("10.0.0.1:1"), t("10.0.0.2:1")];
    const skips = new Map<string, UnitSkips>([
      ["a/r/prod", { records: [], dropped: 0, byReason: { no_opt_in: 3, not_running: 1 } }],
    ]);
    const source: Source = {
      name: "ecs",
      async refresh(): Promise<SourceRefresh> {
        metrics.awsRequests.inc({ service: "ecs", operation: "ListTasks" }, 2);
        metrics.awsRequests.inc({ service: "servicediscovery", operation: "ListNamespaces" });
        return {
          units: [
            { unit: "a/r/prod", ok: true, targets },
            { unit: "a/r/dev", ok: false, error: new Error("boom") },
          ],
          failedScopes: [],
        };
      },
      skips: () => skips,
    };
    const d = new Discovery({ sources: [source], metrics, logger, intervalSeconds: 30 });
    await d.refreshOnce();
    targets = [t("10.0.0.2:1"), t("10.0.0.3:1"), t("10.0.0.4:1")];
    await d.refreshOnce();
    const done = lines.filter((l) => l.msg === "refresh done");
    expect(done).toHaveLength(2);
    expect(done[1]).toMatchObject({
      source: "ecs",
      unitsOk: 1,
      unitsFailed: 1,
      targets: 3,
      added: 2,
      removed: 1,
      skipped: { no_opt_in: 3, not_running: 1 },
      calls: { ListTasks: 2 },
    });
    expect(d.report("ecs")?.calls).toEqual({ ListTasks: 2 });
  });
});

describe("fix hints", () => {
  it("AccessDenied names the IAM action and the policy file that grants it", () => {
    expect(fixHint("AccessDeniedException: User is not authorized", "ListClusters")).toBe(
      "grant ecs:ListClusters to the bridge's role (deploy/iam/ecs-discovery.json)",
    );
    expect(fixHint("UnauthorizedOperation: no", "DescribeInstances")).toMatch(
      /ec2:DescribeInstances .*deploy\/iam\/ec2-bridge-mode.json/,
    );
    expect(fixHint("AccessDenied: not authorized to perform: sts:AssumeRole", "AssumeRole")).toMatch(
      /cross-account-assume-role.json.*cross-account-trust-policy.json/,
    );
  });

  it.each(Object.entries(POLICY_FILES))(
    "%s: the policy file named grants the action",
    (_op, { action, file }) => {
      expect(readFileSync(`deploy/iam/${file}`, "utf8")).toContain(`"${action}"`);
    },
  );

  it("throttling points at the refresh interval, timeouts at the network, bad credentials at check-config", () => {
    expect(fixHint("ThrottlingException: Rate exceeded", "DescribeTasks")).toMatch(/refreshIntervalSeconds/);
    expect(fixHint("TimeoutError: ListTasks: no complete reply within 5 s")).toMatch(/network path/);
    expect(fixHint("ExpiredTokenException: expired")).toMatch(/check-config/);
    expect(fixHint("SomethingElse: what")).toBeUndefined();
  });
});
