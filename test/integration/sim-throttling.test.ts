// The simulated AWS's token buckets as AWS documents them: which operations share a bucket, burst and refill
// per group, one bucket per account and region, EC2's smaller bucket for unfiltered DescribeInstances.
import { DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import { DescribeTasksCommand, ListTasksCommand } from "@aws-sdk/client-ecs";
import { describe, expect, it, onTestFinished } from "vitest";
import { destroyClients, type AwsClients } from "../../core/aws.js";
import { FaultBox, type CallScope } from "../../sim/faults.js";
import {
  CLOUDMAP_THROTTLING,
  CLOUDWATCH_THROTTLING,
  EC2_THROTTLING,
  ECS_THROTTLING,
  startSimAws,
  type Scenario,
  type SimAws,
  type SimService,
  type ThrottleRule,
} from "../../sim/index.js";
import { rejection, simClients } from "./sim-helpers.js";

const SCENARIO: Scenario = {
  throttling: "aws",
  taskDefinitions: [
    { family: "web", containerDefinitions: [{ name: "app", portMappings: [{ containerPort: 80 }] }] },
    {
      family: "legacy",
      networkMode: "bridge",
      containerDefinitions: [{ name: "app", portMappings: [{ containerPort: 80 }] }],
    },
  ],
  clusters: [
    {
      name: "prod",
      containerInstances: 1,
      services: [
        { name: "web", taskDefinition: "web", desiredCount: 1 },
        { name: "legacy", taskDefinition: "legacy", desiredCount: 1 },
      ],
    },
  ],
};

/** A sim on a fixed clock, closed when the test finishes. */
async function start(scenario: Scenario, clock: { now: number }): Promise<SimAws> {
  const sim = await startSimAws({ scenario, now: () => clock.now });
  onTestFinished(() => sim.close());
  return sim;
}

function sdk(sim: SimAws, region = "us-east-1"): AwsClients {
  const c = simClients(sim, { region });
  onTestFinished(() => destroyClients(c));
  return c;
}

describe("documented buckets on the wire", () => {
  it("a burst of ListTasks leaves DescribeTasks throttled: one bucket, per account and region", async () => {
    const clock = { now: Date.UTC(2024, 0, 1) };
    const sim = await start(SCENARIO, clock);
    const c = sdk(sim);
    const listTasks = async () =>
      (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", maxResults: 1 }));
    const [arn] = (await listTasks()).taskArns!;
    for (let i = 1; i < 100; i++) await listTasks();
    const describe = await rejection(
      (await c.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: [arn!] })),
    );
    expect(describe.name).toBe("ThrottlingException");
    // Another region of the same account has a full bucket (the cluster is unknown there, not throttled).
    const west = sdk(sim, "us-west-2");
    const elsewhere = await rejection(
      (await west.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: [arn!] })),
    );
    expect(elsewhere.name).toBe("ClusterNotFoundException");
    clock.now += 50; // one token at 20/s
    await (await c.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: [arn!] }));
    expect((await rejection(listTasks())).name).toBe("ThrottlingException");
  });

  it("EC2 DescribeInstances without filter or ids draws from the smaller bucket (50 / 10 per s)", async () => {
    const sim = await start({ ...SCENARIO, throttling: [...EC2_THROTTLING] }, { now: 0 });
    const c = sdk(sim);
    const [host] = sim.tasks({ service: "legacy" }).map((t) => t.ec2InstanceId!);
    for (let i = 0; i < 50; i++) await (await c.ec2()).send(new DescribeInstancesCommand({}));
    const err = await rejection((await c.ec2()).send(new DescribeInstancesCommand({})));
    expect(err.name).toBe("RequestLimitExceeded");
    const byId = await (await c.ec2()).send(new DescribeInstancesCommand({ InstanceIds: [host!] }));
    expect(byId.Reservations?.[0]?.Instances?.[0]?.InstanceId).toBe(host);
  });

  it("a scenario's throttling must be aws or a list of rules", async () => {
    await expect(startSimAws({ scenario: { throttling: "AWS" as unknown as "aws" } })).rejects.toThrow(
      /throttling must be "aws" or a list of rules/,
    );
  });
});

/** One documented group: operations sharing a bucket, its burst and refill, and an operation outside it. */
interface Group {
  name: string;
  rules: readonly ThrottleRule[];
  service: SimService;
  operations: string[];
  burst: number;
  refillPerSecond: number;
  outside: string;
  unfiltered?: boolean;
}

const GROUPS: Group[] = [
  {
    name: "ECS cluster resource reads",
    rules: ECS_THROTTLING,
    service: "ecs",
    operations: [
      "ListTasks",
      "DescribeTasks",
      "DescribeContainerInstances",
      "ListContainerInstances",
      "ListAttributes",
    ],
    burst: 100,
    refillPerSecond: 20,
    outside: "DescribeServices",
  },
  {
    name: "ECS service reads",
    rules: ECS_THROTTLING,
    service: "ecs",
    operations: ["ListServices", "DescribeServices"],
    burst: 100,
    refillPerSecond: 20,
    outside: "ListTasks",
  },
  {
    name: "ECS cluster reads",
    rules: ECS_THROTTLING,
    service: "ecs",
    operations: ["ListClusters", "DescribeClusters"],
    burst: 50,
    refillPerSecond: 20,
    outside: "DescribeTaskDefinition",
  },
  {
    name: "ECS task definition reads",
    rules: ECS_THROTTLING,
    service: "ecs",
    operations: ["DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies"],
    burst: 50,
    refillPerSecond: 20,
    outside: "ListClusters",
  },
  {
    name: "ECS tag reads",
    rules: ECS_THROTTLING,
    service: "ecs",
    operations: ["ListTagsForResource"],
    burst: 50,
    refillPerSecond: 20,
    outside: "DescribeTasks",
  },
  {
    name: "Cloud Map DiscoverInstances",
    rules: CLOUDMAP_THROTTLING,
    service: "servicediscovery",
    operations: ["DiscoverInstances"],
    burst: 2000,
    refillPerSecond: 1000,
    outside: "DiscoverInstancesRevision",
  },
  {
    name: "Cloud Map DiscoverInstancesRevision",
    rules: CLOUDMAP_THROTTLING,
    service: "servicediscovery",
    operations: ["DiscoverInstancesRevision"],
    burst: 3000,
    refillPerSecond: 3000,
    outside: "DiscoverInstances",
  },
  {
    name: "EC2 DescribeInstances, filtered or paginated",
    rules: EC2_THROTTLING,
    service: "ec2",
    operations: ["DescribeInstances"],
    unfiltered: false,
    burst: 100,
    refillPerSecond: 20,
    outside: "DescribeInstances (unfiltered)",
  },
  {
    name: "EC2 DescribeInstances, unfiltered and unpaginated",
    rules: EC2_THROTTLING,
    service: "ec2",
    operations: ["DescribeInstances"],
    unfiltered: true,
    burst: 50,
    refillPerSecond: 10,
    outside: "DescribeInstances (filtered)",
  },
  {
    name: "CloudWatch GetMetricData",
    rules: CLOUDWATCH_THROTTLING,
    service: "cloudwatch",
    operations: ["GetMetricData"],
    burst: 50,
    refillPerSecond: 50,
    outside: "ListMetrics",
  },
  {
    name: "CloudWatch ListMetrics",
    rules: CLOUDWATCH_THROTTLING,
    service: "cloudwatch",
    operations: ["ListMetrics"],
    burst: 25,
    refillPerSecond: 25,
    outside: "GetMetricData",
  },
];

function scope(
  service: SimService,
  operation: string,
  unfiltered?: boolean,
  region = "us-east-1",
): CallScope {
  // "DescribeInstances (unfiltered)" names the EC2 call by the bucket it draws from.
  const m = /^(\w+) \((un)?filtered\)$/.exec(operation);
  return {
    service,
    operation: m ? m[1]! : operation,
    account: "123456789012",
    region,
    clusters: [],
    namespaces: [],
    ...(m ? { unfiltered: m[2] !== undefined } : unfiltered !== undefined ? { unfiltered } : {}),
  };
}

describe.each(GROUPS)("$name", (g) => {
  it(`shares ${g.burst} tokens refilled at ${g.refillPerSecond}/s across ${g.operations.join(", ")}`, () => {
    const clock = { now: 0 };
    const box = new FaultBox(() => clock.now);
    box.setThrottling(g.rules);
    const call = (i: number) =>
      box.admit(scope(g.service, g.operations[i % g.operations.length]!, g.unfiltered));
    for (let i = 0; i < g.burst; i++) expect(call(i)).toBe(true);
    for (const [i] of g.operations.entries()) expect(call(i)).toBe(false);
    expect(box.admit(scope(g.service, g.outside))).toBe(true);
    // Each account and region has its own bucket.
    expect(box.admit(scope(g.service, g.operations[0]!, g.unfiltered, "eu-west-1"))).toBe(true);
    clock.now += 1000;
    for (let i = 0; i < g.refillPerSecond; i++) expect(call(i)).toBe(true);
    expect(call(0)).toBe(false);
  });
});
