// Cross-account on the simulated AWS endpoint: core/aws.ts assumes a role through STS AssumeRole (awsQuery)
// on the sim, and the calls signed with the returned credentials are served from that account's resources.
// The STS client gets its endpoint from the same env overrides as the other clients.
import { DescribeTasksCommand, ListClustersCommand, ListTasksCommand } from "@aws-sdk/client-ecs";
import { afterEach, describe, expect, it } from "vitest";
import { createClients, destroyClients, type AwsClients } from "../../core/aws.js";
import { startSimAws, type Scenario, type SimAws } from "../../sim/index.js";
import { CREDENTIALS, rejection } from "./sim-helpers.js";

const OTHER = "210987654321";
const ROLE = `arn:aws:iam::${OTHER}:role/prometheus-discovery`;

const SCENARIO: Scenario = {
  taskDefinitions: [
    { family: "web", containerDefinitions: [{ name: "app", portMappings: [{ containerPort: 9100 }] }] },
  ],
  clusters: [{ name: "main", services: [{ name: "web", taskDefinition: "web", desiredCount: 1 }] }],
  accounts: [
    {
      accountId: OTHER,
      externalId: "s3cret",
      taskDefinitions: [
        { family: "api", containerDefinitions: [{ name: "api", portMappings: [{ containerPort: 8080 }] }] },
      ],
      clusters: [{ name: "other", services: [{ name: "api", taskDefinition: "api", desiredCount: 2 }] }],
    },
  ],
};

let sim: SimAws | undefined;
const clients: AwsClients[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) destroyClients(c);
  await sim?.close();
  sim = undefined;
});

async function start(): Promise<SimAws> {
  sim = await startSimAws({ scenario: SCENARIO });
  return sim;
}

function sdk(s: SimAws, externalId?: string): AwsClients {
  const c = createClients(
    { region: "us-east-1", ...(externalId !== undefined ? { account: { roleArn: ROLE, externalId } } : {}) },
    { credentials: CREDENTIALS, env: { AWS_ENDPOINT_URL: s.url }, maxAttempts: 1 },
  );
  clients.push(c);
  return c;
}

describe("accounts reached through STS AssumeRole", () => {
  it("serves an assumed account's own clusters and tasks, on its own addresses", async () => {
    const s = await start();
    const main = sdk(s);
    const other = sdk(s, "s3cret");
    expect((await (await main.ecs()).send(new ListClustersCommand({}))).clusterArns).toEqual([
      "arn:aws:ecs:us-east-1:123456789012:cluster/main",
    ]);
    expect((await (await other.ecs()).send(new ListClustersCommand({}))).clusterArns).toEqual([
      `arn:aws:ecs:us-east-1:${OTHER}:cluster/other`,
    ]);
    const arns = (await (await other.ecs()).send(new ListTasksCommand({ cluster: "other" }))).taskArns!;
    expect(arns).toHaveLength(2);
    const { tasks } = await (
      await other.ecs()
    ).send(new DescribeTasksCommand({ cluster: "other", tasks: arns }));
    for (const t of tasks!)
      expect(t.containers![0]!.networkInterfaces![0]!.privateIpv4Address).toMatch(/^127\.1\.0\./);
    expect(s.calls("sts:AssumeRole")).toBe(1);
    expect(s.callLog({ service: "ecs", account: OTHER })).toHaveLength(3);

    s.account(OTHER).scaleService("other", "api", 3);
    expect(
      (await (await other.ecs()).send(new ListTasksCommand({ cluster: "other" }))).taskArns,
    ).toHaveLength(3);
    expect(s.accounts()).toEqual(["123456789012", OTHER]);
    expect(() => s.account("999999999999")).toThrow(/unknown account/);
  });

  it("denies AssumeRole with the wrong external id; faults can target one account", async () => {
    const s = await start();
    const wrong = sdk(s, "guess");
    const err = await rejection((await wrong.ecs()).send(new ListClustersCommand({})));
    expect(err.name).toBe("AccessDenied");
    const other = sdk(s, "s3cret");
    const main = sdk(s);
    s.addFault({ service: "ecs", account: OTHER, status: 400, code: "AccessDeniedException" });
    expect((await rejection((await other.ecs()).send(new ListClustersCommand({})))).name).toBe(
      "AccessDeniedException",
    );
    await (await main.ecs()).send(new ListClustersCommand({}));
  });
});
