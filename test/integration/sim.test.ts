// The simulated AWS endpoint as the unmodified SDK clients see it: ECS and EC2 wire behaviour (pagination,
// batch limits, response shapes per network mode, lifecycle), fault switches, call counters, /_sim API.
import {
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListClustersCommand,
  ListServicesCommand,
  ListTasksCommand,
  paginateListTasks,
  type Task,
} from "@aws-sdk/client-ecs";
import { DescribeInstancesCommand, paginateDescribeInstances } from "@aws-sdk/client-ec2";
import { ListServicesCommand as ListCloudMapServicesCommand } from "@aws-sdk/client-servicediscovery";
import { afterEach, describe, expect, it } from "vitest";
import { destroyClients, type AwsClients } from "../../core/aws.js";
import {
  ECS_THROTTLING,
  loadScenario,
  SimScenarioError,
  startSimAws,
  type Scenario,
  type SimAws,
} from "../../sim/index.js";
import { rejection, simClients, stockEcs } from "./sim-helpers.js";

const SCENARIO: Scenario = {
  taskDefinitions: [
    {
      family: "web",
      networkMode: "awsvpc",
      containerDefinitions: [
        {
          name: "app",
          dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9101", PROMETHEUS_EXPORTER_PATH: "/metrics" },
          portMappings: [
            { containerPort: 8080, name: "http" },
            { containerPort: 9101, name: "metrics" },
          ],
        },
        { name: "sidecar", portMappings: [{ containerPort: 9102 }] },
      ],
    },
    {
      family: "legacy",
      networkMode: "bridge",
      containerDefinitions: [{ name: "app", portMappings: [{ containerPort: 8080, name: "metrics" }] }],
    },
    {
      family: "agent",
      networkMode: "host",
      containerDefinitions: [{ name: "agent", portMappings: [{ containerPort: 9100 }] }],
    },
    {
      family: "batch",
      networkMode: "awsvpc",
      containerDefinitions: [{ name: "job", portMappings: [{ containerPort: 9200 }] }],
    },
    {
      family: "worker",
      networkMode: "awsvpc",
      requiresCompatibilities: ["EC2"],
      containerDefinitions: [{ name: "w", portMappings: [{ containerPort: 7000 }] }],
    },
  ],
  clusters: [
    {
      name: "prod",
      tags: { team: "platform" },
      containerInstances: 2,
      services: [
        { name: "web", taskDefinition: "web", desiredCount: 250, taskTags: { app: "web" } },
        { name: "legacy", taskDefinition: "legacy", desiredCount: 2 },
        { name: "agent", taskDefinition: "agent", desiredCount: 2 },
        { name: "worker", taskDefinition: "worker", desiredCount: 1 },
      ],
      tasks: [{ taskDefinition: "batch", tags: { kind: "batch" } }],
    },
    { name: "staging" },
    { name: "eu", region: "eu-west-1", services: [] },
  ],
};

let sim: SimAws | undefined;
let clients: AwsClients[] = [];

afterEach(async () => {
  for (const c of clients) destroyClients(c);
  clients = [];
  await sim?.close();
  sim = undefined;
});

async function start(scenario: Scenario = SCENARIO): Promise<SimAws> {
  sim = await startSimAws({ scenario });
  return sim;
}

function sdk(s: SimAws, opts: { region?: string; maxAttempts?: number } = {}): AwsClients {
  const c = simClients(s, opts);
  clients.push(c);
  return c;
}

async function allTaskArns(c: AwsClients, cluster: string): Promise<string[]> {
  const arns: string[] = [];
  for await (const page of paginateListTasks(
    { client: await c.ecs() },
    { cluster, desiredStatus: "RUNNING", maxResults: 100 },
  ))
    arns.push(...(page.taskArns ?? []));
  return arns;
}

async function describe100(c: AwsClients, cluster: string, arns: string[]): Promise<Task[]> {
  const out: Task[] = [];
  for (let i = 0; i < arns.length; i += 100) {
    const r = await (
      await c.ecs()
    ).send(new DescribeTasksCommand({ cluster, tasks: arns.slice(i, i + 100), include: ["TAGS"] }));
    out.push(...(r.tasks ?? []));
  }
  return out;
}

const detail = (t: Task, name: string) => t.attachments?.[0]?.details?.find((d) => d.name === name)?.value;

describe("ECS over AWS JSON 1.1", () => {
  it("paginates ListTasks at 100 and rejects DescribeTasks with more than 100 tasks", async () => {
    const s = await start();
    const c = sdk(s);
    const first = await (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", serviceName: "web" }));
    expect(first.taskArns).toHaveLength(100);
    expect(first.nextToken).toBeTruthy();
    const web: string[] = [];
    for await (const page of paginateListTasks(
      { client: await c.ecs() },
      { cluster: "prod", serviceName: "web" },
    ))
      web.push(...page.taskArns!);
    expect(web).toHaveLength(250);
    expect(new Set(web).size).toBe(250);
    // One walk per cluster covers services and standalone tasks: 250 + 2 + 2 + 1 + 1.
    expect(await allTaskArns(c, "prod")).toHaveLength(256);

    const err = await rejection(
      (await c.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: web.slice(0, 101) })),
    );
    expect(err.name).toBe("InvalidParameterException");
    expect(err.message).toMatch(/100/);
    const ok = await (
      await c.ecs()
    ).send(new DescribeTasksCommand({ cluster: "prod", tasks: web.slice(0, 100) }));
    expect(ok.tasks).toHaveLength(100);

    const bad = await rejection(
      (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", maxResults: 101 })),
    );
    expect(bad.name).toBe("InvalidParameterException");
  });

  it("answers unknown task ARNs with failures MISSING and unknown clusters with ClusterNotFoundException", async () => {
    const s = await start();
    const c = sdk(s);
    const [arn] = (await (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", maxResults: 1 })))
      .taskArns!;
    const gone = arn!.replace(/[0-9a-f]{32}$/, "0".repeat(32));
    const r = await (await c.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: [arn!, gone] }));
    expect(r.tasks!.map((t) => t.taskArn)).toEqual([arn]);
    expect(r.failures).toEqual([{ arn: gone, reason: "MISSING" }]);
    const err = await rejection((await c.ecs()).send(new ListTasksCommand({ cluster: "nope" })));
    expect(err.name).toBe("ClusterNotFoundException");
    const svc = await rejection(
      (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", serviceName: "nope" })),
    );
    expect(svc.name).toBe("ServiceNotFoundException");
  });

  it("describes awsvpc tasks with the ENI attachment and container network interfaces", async () => {
    const s = await start();
    const c = sdk(s);
    const arns = (
      await (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", serviceName: "web", maxResults: 3 }))
    ).taskArns!;
    const { tasks } = await stockEcs(s).send(
      new DescribeTasksCommand({ cluster: "prod", tasks: arns, include: ["TAGS"] }),
    );
    const ips = new Set<string>();
    for (const t of tasks!) {
      expect(t).toMatchObject({
        group: "service:web",
        lastStatus: "RUNNING",
        desiredStatus: "RUNNING",
        launchType: "FARGATE",
        clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
        taskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1",
        tags: [{ key: "app", value: "web" }],
      });
      expect(t.containerInstanceArn).toBeUndefined();
      expect(t.startedAt).toBeInstanceOf(Date);
      expect(t.availabilityZone).toMatch(/^us-east-1[abc]$/);
      expect(t.attachments![0]).toMatchObject({ type: "ElasticNetworkInterface", status: "ATTACHED" });
      const ip = detail(t, "privateIPv4Address")!;
      expect(ip).toMatch(/^127\./);
      expect(detail(t, "subnetId")).toMatch(/^subnet-/);
      expect(detail(t, "networkInterfaceId")).toMatch(/^eni-/);
      expect(detail(t, "macAddress")).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      expect(t.containers!.map((k) => k.name)).toEqual(["app", "sidecar"]);
      for (const k of t.containers!)
        expect(k.networkInterfaces).toEqual([
          { attachmentId: t.attachments![0]!.id, privateIpv4Address: ip },
        ]);
      ips.add(ip);
    }
    expect(ips.size).toBe(3);

    const td = await (
      await c.ecs()
    ).send(new DescribeTaskDefinitionCommand({ taskDefinition: tasks![0]!.taskDefinitionArn! }));
    expect(td.taskDefinition).toMatchObject({ family: "web", revision: 1, networkMode: "awsvpc" });
    expect(td.taskDefinition!.containerDefinitions![0]).toMatchObject({
      dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9101", PROMETHEUS_EXPORTER_PATH: "/metrics" },
      portMappings: [
        { containerPort: 8080, hostPort: 8080, protocol: "tcp", name: "http" },
        { containerPort: 9101, hostPort: 9101, protocol: "tcp", name: "metrics" },
      ],
    });
    expect(td.taskDefinition!.containerDefinitions![1]!.dockerLabels).toBeUndefined();
    const missing = await rejection(
      (await c.ecs()).send(new DescribeTaskDefinitionCommand({ taskDefinition: "nope:1" })),
    );
    expect(missing.name).toBe("ClientException");
  });

  it("describes bridge tasks with dynamic host ports and host tasks with hostPort = containerPort, resolvable through EC2", async () => {
    const s = await start();
    const c = sdk(s);
    const byService = async (serviceName: string) => {
      const arns = (await (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", serviceName })))
        .taskArns!;
      return (await (await c.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: arns }))).tasks!;
    };
    const legacy = await byService("legacy");
    expect(legacy).toHaveLength(2);
    const hostPorts = new Set<string>();
    for (const t of legacy) {
      expect(t.attachments).toEqual([]);
      expect(t.launchType).toBe("EC2");
      expect(t.containerInstanceArn).toMatch(
        /^arn:aws:ecs:us-east-1:123456789012:container-instance\/prod\/[0-9a-f]{32}$/,
      );
      const [b] = t.containers![0]!.networkBindings!;
      expect(b).toMatchObject({ bindIP: "0.0.0.0", containerPort: 8080, protocol: "tcp" });
      expect(b!.hostPort).toBeGreaterThanOrEqual(32768);
      hostPorts.add(`${t.containerInstanceArn}:${b!.hostPort}`);
    }
    expect(hostPorts.size).toBe(2);

    const agents = await byService("agent");
    // Two host-mode tasks on port 9100 cannot share an instance.
    expect(new Set(agents.map((t) => t.containerInstanceArn)).size).toBe(2);
    for (const t of agents)
      expect(t.containers![0]!.networkBindings).toEqual([
        { bindIP: "0.0.0.0", containerPort: 9100, hostPort: 9100, protocol: "tcp" },
      ]);

    const worker = (await byService("worker"))[0]!;
    expect(worker.launchType).toBe("EC2");
    expect(worker.containerInstanceArn).toBeTruthy();
    expect(detail(worker, "privateIPv4Address")).toMatch(/^127\./);

    const ci = await (
      await c.ecs()
    ).send(
      new DescribeContainerInstancesCommand({
        cluster: "prod",
        containerInstances: [...new Set(legacy.map((t) => t.containerInstanceArn!))],
      }),
    );
    expect(ci.failures).toEqual([]);
    const ids = ci.containerInstances!.map((i) => i.ec2InstanceId!);
    expect(ids.every((id) => /^i-[0-9a-f]{17}$/.test(id))).toBe(true);
    const ec2 = await (await c.ec2()).send(new DescribeInstancesCommand({ InstanceIds: ids }));
    const instances = ec2.Reservations!.flatMap((r) => r.Instances!);
    expect(instances.map((i) => i.InstanceId).sort()).toEqual([...ids].sort());
    for (const i of instances) {
      expect(i.PrivateIpAddress).toMatch(/^127\./);
      expect(i.State).toEqual({ Code: 16, Name: "running" });
    }
    const expected = s.tasks({ cluster: "prod", service: "legacy" }).map((t) => t.hostIp);
    expect(new Set(instances.map((i) => i.PrivateIpAddress))).toEqual(new Set(expected));
  });

  it("optionally reports the IPv6 binding of bridge ports too, as current ECS agents can", async () => {
    const s = await start({ ...SCENARIO, ecs: { ipv6Bindings: true } });
    const c = sdk(s);
    const arns = (
      await (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", serviceName: "legacy" }))
    ).taskArns!;
    const t = (await (await c.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: arns })))
      .tasks![0]!;
    const bindings = t.containers![0]!.networkBindings!;
    expect(bindings.map((b) => b.bindIP)).toEqual(["0.0.0.0", "::"]);
    expect(new Set(bindings.map((b) => b.hostPort)).size).toBe(1);
  });

  it("EC2 DescribeInstances: unknown ids are InvalidInstanceID.NotFound; MaxResults pages via NextToken", async () => {
    const s = await start({ clusters: [{ name: "hosts", containerInstances: 7 }] });
    const c = sdk(s);
    const err = await rejection(
      (await c.ec2()).send(new DescribeInstancesCommand({ InstanceIds: ["i-0123456789abcdef0"] })),
    );
    expect(err.name).toBe("InvalidInstanceID.NotFound");
    const pages: number[] = [];
    for await (const page of paginateDescribeInstances({ client: await c.ec2() }, { MaxResults: 5 }))
      pages.push(page.Reservations!.length);
    expect(pages).toEqual([5, 2]);
  });

  it("lists and describes clusters and services per region, with ListServices' default page of 10", async () => {
    const many: Scenario = {
      ...SCENARIO,
      clusters: [
        {
          name: "big",
          services: Array.from({ length: 12 }, (_, i) => ({
            name: `svc${i}`,
            taskDefinition: "batch",
            desiredCount: 0,
          })),
        },
        { name: "eu", region: "eu-west-1" },
      ],
    };
    const s = await start(many);
    const us = sdk(s);
    const eu = sdk(s, { region: "eu-west-1" });
    expect((await (await us.ecs()).send(new ListClustersCommand({}))).clusterArns).toEqual([
      "arn:aws:ecs:us-east-1:123456789012:cluster/big",
    ]);
    expect((await (await eu.ecs()).send(new ListClustersCommand({}))).clusterArns).toEqual([
      "arn:aws:ecs:eu-west-1:123456789012:cluster/eu",
    ]);
    const dc = await (await us.ecs()).send(new DescribeClustersCommand({ clusters: ["big", "ghost"] }));
    expect(dc.clusters![0]).toMatchObject({ clusterName: "big", status: "ACTIVE", activeServicesCount: 12 });
    expect(dc.failures).toEqual([
      { arn: "arn:aws:ecs:us-east-1:123456789012:cluster/ghost", reason: "MISSING" },
    ]);
    const page1 = await (await us.ecs()).send(new ListServicesCommand({ cluster: "big" }));
    expect(page1.serviceArns).toHaveLength(10);
    const page2 = await (
      await us.ecs()
    ).send(new ListServicesCommand({ cluster: "big", nextToken: page1.nextToken }));
    expect(page2.serviceArns).toHaveLength(2);
    expect(page2.nextToken).toBeUndefined();
    const ds = await (
      await us.ecs()
    ).send(new DescribeServicesCommand({ cluster: "big", services: ["svc1", "nope"] }));
    expect(ds.services![0]).toMatchObject({
      serviceName: "svc1",
      desiredCount: 0,
      runningCount: 0,
      status: "ACTIVE",
    });
    expect(ds.failures![0]!.reason).toBe("MISSING");
    const tooMany = await rejection(
      (await us.ecs()).send(
        new DescribeServicesCommand({
          cluster: "big",
          services: Array.from({ length: 11 }, (_, i) => `svc${i}`),
        }),
      ),
    );
    expect(tooMany.name).toBe("InvalidParameterException");
  });
});

describe("task lifecycle and mutations", () => {
  it("a started task is PROVISIONING without an IP for K describes, then RUNNING with one", async () => {
    const s = await start({ ...SCENARIO, lifecycle: { pendingDescribes: 2 } });
    const c = sdk(s);
    const info = s.startTask("prod", { taskDefinition: "batch" });
    expect(info).toMatchObject({ lastStatus: "PROVISIONING", group: "family:batch" });
    expect(info.ip).toBeUndefined();
    expect((await allTaskArns(c, "prod")).includes(info.arn)).toBe(true);
    const describeOne = async () =>
      (await (await c.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: [info.arn] })))
        .tasks![0]!;
    for (let i = 0; i < 2; i++) {
      const t = await describeOne();
      expect(t.lastStatus).toBe("PROVISIONING");
      expect(t.attachments![0]!.status).toBe("PRECREATED");
      expect(detail(t, "privateIPv4Address")).toBeUndefined();
      expect(t.containers![0]!.networkInterfaces).toEqual([]);
    }
    const running = await describeOne();
    expect(running.lastStatus).toBe("RUNNING");
    expect(detail(running, "privateIPv4Address")).toMatch(/^127\./);
  });

  it("with pendingDescribes 'advance' a task waits for sim.advance()", async () => {
    const s = await start({
      ...SCENARIO,
      lifecycle: { pendingDescribes: "advance", pendingStatus: "PENDING" },
    });
    const c = sdk(s);
    const { started } = s.scaleService("prod", "legacy", 3);
    expect(started).toHaveLength(1);
    const describeNew = async () =>
      (await (await c.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: [started[0]!.arn] })))
        .tasks![0]!;
    for (let i = 0; i < 3; i++) {
      const t = await describeNew();
      expect(t.lastStatus).toBe("PENDING");
      expect(t.containers![0]!.networkBindings).toEqual([]);
    }
    expect(s.advance()).toBe(1);
    const t = await describeNew();
    expect(t.lastStatus).toBe("RUNNING");
    expect(t.containers![0]!.networkBindings![0]!.hostPort).toBeGreaterThanOrEqual(32768);
  });

  it("stopping and scaling down remove tasks from ListTasks RUNNING; they stay describable as STOPPED", async () => {
    const s = await start();
    const c = sdk(s);
    const before = await allTaskArns(c, "prod");
    const [batch] = s.tasks({ cluster: "prod" }).filter((t) => t.group === "family:batch");
    s.stopTask("prod", batch!.arn);
    const { stopped } = s.scaleService("prod", "web", 240);
    expect(stopped).toHaveLength(10);
    const after = await allTaskArns(c, "prod");
    expect(after).toHaveLength(before.length - 11);
    expect(after).not.toContain(batch!.arn);
    const listedStopped = (
      await (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", desiredStatus: "STOPPED" }))
    ).taskArns!;
    expect(new Set(listedStopped)).toEqual(new Set([batch!.arn, ...stopped.map((t) => t.arn)]));
    const d = (await stockEcs(s).send(new DescribeTasksCommand({ cluster: "prod", tasks: [batch!.arn] })))
      .tasks![0]!;
    expect(d).toMatchObject({ lastStatus: "STOPPED", desiredStatus: "STOPPED", stopCode: "UserInitiated" });
    expect(d.stoppedAt).toBeInstanceOf(Date);
  });

  it("the /_sim control API scales services and starts tasks like the in-process API", async () => {
    const s = await start();
    const c = sdk(s);
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${s.url}${path}`, { method: "POST", body: JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const scaled = await post("/_sim/services/scale", {
      cluster: "prod",
      service: "legacy",
      desiredCount: 0,
    });
    expect(scaled.status).toBe(200);
    expect((scaled.body.stopped as unknown[]).length).toBe(2);
    expect(
      (await (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", serviceName: "legacy" }))).taskArns,
    ).toEqual([]);
    const started = await post("/_sim/tasks/start", {
      cluster: "staging",
      taskDefinition: "batch",
      group: "cron",
    });
    expect(started.status).toBe(200);
    expect((await (await c.ecs()).send(new ListTasksCommand({ cluster: "staging" }))).taskArns).toEqual([
      started.body.arn,
    ]);
    const bad = await post("/_sim/services/scale", { cluster: "prod", service: "nope", desiredCount: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/unknown service/);
    const endpoints = (await (await fetch(`${s.url}/_sim/endpoints?cluster=staging`)).json()) as {
      host: string;
      port: number;
    }[];
    expect(endpoints).toEqual([expect.objectContaining({ port: 9200, container: "job", source: "ecs" })]);
  });

  it("serves 1,000 tasks of one service: 10 ListTasks pages and 10 DescribeTasks batches, distinct loopback IPs", async () => {
    const s = await start({
      taskDefinitions: SCENARIO.taskDefinitions!,
      clusters: [{ name: "big", services: [{ name: "web", taskDefinition: "web", desiredCount: 1000 }] }],
    });
    const c = sdk(s);
    const t0 = performance.now();
    const arns = await allTaskArns(c, "big");
    const tasks = await describe100(c, "big", arns);
    const ms = performance.now() - t0;
    expect(tasks).toHaveLength(1000);
    expect(new Set(tasks.map((t) => detail(t, "privateIPv4Address"))).size).toBe(1000);
    expect(s.calls("ListTasks")).toBe(10);
    expect(s.calls("DescribeTasks")).toBe(10);
    console.log(`sim: 1,000 tasks listed and described in ${ms.toFixed(0)} ms (20 calls)`);
  });
});

describe("fault switches and call counters", () => {
  it("a throttling bucket raises ThrottlingException once empty, also after the SDK's retries", async () => {
    const s = await start();
    s.setThrottling({ service: "ecs", operation: "DescribeTasks", burst: 3, refillPerSecond: 0 });
    const c = sdk(s);
    const [arn] = (await (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", maxResults: 1 })))
      .taskArns!;
    for (let i = 0; i < 3; i++)
      await (await c.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: [arn!] }));
    const err = await rejection(
      (await c.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: [arn!] })),
    );
    expect(err.name).toBe("ThrottlingException");
    expect(err.$metadata?.httpStatusCode).toBe(400);
    // Other operations have their own budget.
    await (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", maxResults: 1 }));

    const retrying = sdk(s, { maxAttempts: 2 });
    s.resetCalls();
    const again = await rejection(
      (await retrying.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: [arn!] })),
    );
    expect(again.name).toBe("ThrottlingException");
    expect(again.$metadata?.attempts).toBe(2);
    expect(s.calls("DescribeTasks")).toBe(2);
    expect(s.callLog({ operation: "DescribeTasks" }).map((r) => r.error)).toEqual([
      "ThrottlingException",
      "ThrottlingException",
    ]);

    s.setThrottling(null);
    await (await c.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: [arn!] }));
  });

  it("ECS_THROTTLING: ListTasks, DescribeTasks and DescribeContainerInstances share 100 tokens refilled at 20/s", async () => {
    const clock = { now: Date.UTC(2024, 0, 1) };
    sim = await startSimAws({ scenario: SCENARIO, now: () => clock.now });
    const s = sim;
    s.setThrottling(ECS_THROTTLING);
    const c = sdk(s);
    const listTasks = async () =>
      (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", maxResults: 1 }));
    const [arn] = (await listTasks()).taskArns!;
    const describeTask = async () =>
      (await c.ecs()).send(new DescribeTasksCommand({ cluster: "prod", tasks: [arn!] }));
    const [ci] = s.tasks({ cluster: "prod", service: "legacy" }).map((t) => t.containerInstanceArn!);
    const describeInstance = async () =>
      (await c.ecs()).send(
        new DescribeContainerInstancesCommand({ cluster: "prod", containerInstances: [ci!] }),
      );
    for (let i = 0; i < 59; i++) await describeTask();
    for (let i = 0; i < 40; i++) await describeInstance();
    expect((await rejection(describeTask())).name).toBe("ThrottlingException");
    expect((await rejection(describeInstance())).name).toBe("ThrottlingException");
    expect((await rejection(listTasks())).name).toBe("ThrottlingException");
    // Service reads have their own bucket.
    await (await c.ecs()).send(new ListServicesCommand({ cluster: "prod" }));
    // One second later 20 tokens are back.
    clock.now += 1000;
    for (let i = 0; i < 20; i++) await describeTask();
    expect((await rejection(describeTask())).name).toBe("ThrottlingException");
  });

  it("rate-based 5xx fail a share of calls, reproducibly", async () => {
    const s = await start();
    const c = sdk(s);
    s.forceServerErrors({ service: "ecs", operation: "ListClusters", rate: 0.5 });
    const outcomes: boolean[] = [];
    for (let i = 0; i < 40; i++)
      outcomes.push(
        await (await c.ecs()).send(new ListClustersCommand({})).then(
          () => true,
          () => false,
        ),
      );
    const failed = outcomes.filter((ok) => !ok).length;
    expect(failed).toBeGreaterThan(5);
    expect(failed).toBeLessThan(35);
    expect(s.callLog({ operation: "ListClusters" }).filter((r) => r.status === 500)).toHaveLength(failed);
  });

  it("fault switches over the /_sim HTTP API", async () => {
    const s = await start();
    const c = sdk(s);
    const added = await fetch(`${s.url}/_sim/faults`, {
      method: "POST",
      body: JSON.stringify({ cluster: "prod", status: 400, code: "AccessDeniedException" }),
    });
    expect(added.status).toBe(200);
    expect((await rejection((await c.ecs()).send(new ListTasksCommand({ cluster: "prod" })))).name).toBe(
      "AccessDeniedException",
    );
    expect((await fetch(`${s.url}/_sim/faults`, { method: "DELETE" })).status).toBe(200);
    await (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", maxResults: 1 }));
    await fetch(`${s.url}/_sim/throttling`, {
      method: "POST",
      body: JSON.stringify({ service: "ecs", burst: 1, refillPerSecond: 0 }),
    });
    await (await c.ecs()).send(new ListClustersCommand({}));
    expect((await rejection((await c.ecs()).send(new ListClustersCommand({})))).name).toBe(
      "ThrottlingException",
    );
    await fetch(`${s.url}/_sim/throttling`, { method: "DELETE" });
    await (await c.ecs()).send(new ListClustersCommand({}));
    const counts = (await (await fetch(`${s.url}/_sim/calls`)).json()) as Record<string, number>;
    expect(counts["ecs:ListClusters"]).toBe(3);
  });

  it("throttles EC2 with RequestLimitExceeded (503)", async () => {
    const s = await start();
    const c = sdk(s);
    s.throttleNext({ service: "ec2", count: 1 });
    const err = await rejection((await c.ec2()).send(new DescribeInstancesCommand({})));
    expect(err.name).toBe("RequestLimitExceeded");
    expect(err.$metadata?.httpStatusCode).toBe(503);
    await (await c.ec2()).send(new DescribeInstancesCommand({}));
  });

  it("forced 5xx are retried by the SDK; a failing cluster fails alone", async () => {
    const s = await start();
    s.forceServerErrors({ service: "ecs", operation: "ListTasks", count: 1 });
    const retrying = sdk(s, { maxAttempts: 2 });
    const r = await (await retrying.ecs()).send(new ListTasksCommand({ cluster: "prod", maxResults: 1 }));
    expect(r.$metadata.attempts).toBe(2);
    expect(s.calls("ListTasks")).toBe(2);

    const c = sdk(s);
    s.forceServerErrors({ service: "ecs", count: 1, status: 503 });
    const five = await rejection((await c.ecs()).send(new ListTasksCommand({ cluster: "prod" })));
    expect(five.name).toBe("ServerException");
    expect(five.$fault).toBe("server");
    expect(five.$metadata?.httpStatusCode).toBe(503);

    const id = s.failCluster("staging", {
      status: 400,
      code: "AccessDeniedException",
      message: "no access to staging",
    });
    const denied = await rejection((await c.ecs()).send(new ListTasksCommand({ cluster: "staging" })));
    expect(denied.name).toBe("AccessDeniedException");
    expect(denied.message).toBe("no access to staging");
    const byArn = await rejection(
      (await c.ecs()).send(
        new ListTasksCommand({ cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/staging" }),
      ),
    );
    expect(byArn.name).toBe("AccessDeniedException");
    await (await c.ecs()).send(new ListTasksCommand({ cluster: "prod", maxResults: 1 }));
    expect(s.removeFault(id)).toBe(true);
    await (await c.ecs()).send(new ListTasksCommand({ cluster: "staging" }));

    // The default 500 of a failed cluster is ECS's ServerException.
    s.failCluster("prod");
    expect(
      (await rejection((await c.ecs()).send(new DescribeClustersCommand({ clusters: ["prod"] })))).name,
    ).toBe("ServerException");
  });

  it("latency delays only the matching operation", async () => {
    const s = await start();
    const c = sdk(s);
    s.setLatency({ service: "ecs", operation: "ListClusters", ms: 400 });
    const order: string[] = [];
    await Promise.all([
      (await c.ecs()).send(new ListClustersCommand({})).then(() => order.push("slow")),
      (await c.ecs())
        .send(new ListTasksCommand({ cluster: "prod", maxResults: 1 }))
        .then(() => order.push("fast")),
    ]);
    expect(order).toEqual(["fast", "slow"]);
  });

  it("counts calls per operation and per service:operation, and resets", async () => {
    const s = await start({ ...SCENARIO, namespaces: [{ name: "apps" }] });
    const c = sdk(s);
    await (await c.ecs()).send(new ListServicesCommand({ cluster: "prod" }));
    await (await c.ecs()).send(new ListServicesCommand({ cluster: "prod" }));
    await (await c.servicediscovery()).send(new ListCloudMapServicesCommand({}));
    expect(s.calls("ListServices")).toBe(3);
    expect(s.calls("ecs:ListServices")).toBe(2);
    expect(s.calls("servicediscovery:ListServices")).toBe(1);
    expect(s.calls("DescribeTasks")).toBe(0);
    expect(s.calls()).toBe(3);
    expect(s.callCounts()).toEqual({ "ecs:ListServices": 2, "servicediscovery:ListServices": 1 });
    expect(s.callLog({ service: "ecs" })[0]!.params).toMatchObject({ cluster: "prod" });
    s.resetCalls();
    expect(s.calls()).toBe(0);
  });
});

describe("scenarios", () => {
  it("loads the demo scenario file", async () => {
    const scenario = loadScenario(new URL("../../sim/scenarios/demo.yaml", import.meta.url).pathname);
    const s = await start(scenario);
    const c = sdk(s);
    expect((await (await c.ecs()).send(new ListClustersCommand({}))).clusterArns).toEqual([
      "arn:aws:ecs:us-east-1:123456789012:cluster/demo",
    ]);
    const endpoints = s.endpoints();
    expect(endpoints.length).toBeGreaterThan(0);
    for (const e of endpoints) expect(e.host).toMatch(/^127\./);
  });

  it("rejects misspelt keys and unknown references with the path named", async () => {
    await expect(
      startSimAws({ scenario: { clusters: [{ name: "x", servics: [] }] } as unknown as Scenario }),
    ).rejects.toThrow(/unknown key clusters\[0\]\.servics/);
    await expect(
      startSimAws({
        scenario: {
          clusters: [{ name: "x", services: [{ name: "s", taskDefinition: "nope", desiredCount: 1 }] }],
        },
      }),
    ).rejects.toThrow(SimScenarioError);
    await expect(
      startSimAws({
        scenario: {
          taskDefinitions: [{ family: "b", networkMode: "bridge", containerDefinitions: [{ name: "a" }] }],
          clusters: [{ name: "x", services: [{ name: "s", taskDefinition: "b", desiredCount: 1 }] }],
        },
      }),
    ).rejects.toThrow(/no container instances/);
  });

  it("a health status other than UNKNOWN needs a container health check, as in ECS", async () => {
    const taskDefinitions = [
      { family: "plain", networkMode: "awsvpc" as const, containerDefinitions: [{ name: "a" }] },
      {
        family: "checked",
        networkMode: "awsvpc" as const,
        containerDefinitions: [{ name: "a", healthCheck: { command: ["CMD-SHELL", "true"] } }],
      },
    ];
    const service = (taskDefinition: string) => ({
      name: taskDefinition,
      taskDefinition,
      desiredCount: 1,
      healthStatus: "HEALTHY" as const,
    });
    await expect(
      startSimAws({ scenario: { taskDefinitions, clusters: [{ name: "x", services: [service("plain")] }] } }),
    ).rejects.toThrow(/plain:1 declares no container healthCheck/);
    const s = await start({ taskDefinitions, clusters: [{ name: "x", services: [service("checked")] }] });
    const plain = s.startTask("x", { taskDefinition: "plain" });
    expect(() => s.setTaskHealth("x", plain.id, "UNHEALTHY")).toThrow(SimScenarioError);
    const checked = s.tasks({ cluster: "x", service: "checked" })[0]!;
    expect(() => s.setTaskHealth("x", checked.id, "UNHEALTHY")).not.toThrow();
  });
});
