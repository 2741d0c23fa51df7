// The esbuild bundle itself, in a fresh node process with only a Lambda's environment, against the
// simulated AWS endpoint: it loads, discovers, redirects, and serves the second request from its cache.
import { describe, expect, it } from "vitest";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildLambda } from "../../lambda/build.mjs";
import { runLambdaBench } from "../../bench/lambda.js";

describe("Lambda bundle (build/lambda/handler.mjs)", () => {
  it("a cold process answers the first request with a 308 to a simulated task IP, the second from cache", async () => {
    const r = await runLambdaBench({ runs: 1, tasks: 3 });
    const [run] = r.runs;
    expect(r.bundleBytes).toBeGreaterThan(0);
    expect(run!.firstStatus).toBe(308);
    expect(run!.location).toMatch(/^http:\/\/127\.0\.0\.\d+:9100\/metrics$/);
    // DescribeClusters, ListServices, ListTasks, DescribeTasks, DescribeTaskDefinition, DescribeServices and
    // EC2 DescribeNetworkInterfaces (the labels of Prometheus' ECS role); then nothing within lambda.cacheSeconds.
    expect(run!.awsCallsFirst).toBe(7);
    expect(run!.awsCallsCached).toBe(0);
  });

  it("carries the SDK schemas of the operations it calls and zod's English messages, not the rest", async () => {
    const out = join(tmpdir(), `bridge-lambda-schemas-${process.pid}.mjs`);
    try {
      const text = readFileSync((await buildLambda(out)).outfile, "utf8");
      // EC2: DescribeInstances and DescribeNetworkInterfaces only (core/sdk/bundle.mjs; a static import).
      expect(text).toContain("DescribeInstancesRequest");
      expect(text).toContain("DescribeNetworkInterfacesRequest");
      expect(text).not.toContain("AllocateAddressRequest");
      // ECS: none of the operations that change anything.
      expect(text).toContain("DescribeTasksRequest");
      expect(text).not.toContain("CreateClusterRequest");
      // zod through core/zod.ts: its English messages (config errors quote them), none of its other locales.
      expect(text).toContain("Invalid input: expected");
      expect(text).not.toContain("Nieprawidłowe"); // Polish
    } finally {
      rmSync(out, { force: true });
    }
  });
});
