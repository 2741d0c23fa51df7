// The ECS narrow API on the wire (nock on loopback): the requests it sends, the pages it walks, what it
// keeps from the replies, and that the client's call counter sees every operation.
import nock from "nock";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { MalformedResponse } from "../../core/aws.js";
import { createSelfMetrics } from "../../core/metrics.js";
import { createEcsApi } from "../../sd/ecs/api.js";
import { AwsError, mockEc2, mockJson, testClients } from "../helpers/aws-nock.js";
import { CLUSTER, CLUSTER_ARN, ciArn, fargateTask, taskArn, tdArn } from "../helpers/ecs-fixtures.js";

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

/** Pages of `items` by the request's maxResults and nextToken, as ECS pages them. */
function paged(items: string[], body: Record<string, unknown>): { page: string[]; nextToken?: string } {
  const start = body.nextToken ? Number(body.nextToken) : 0;
  const max = (body.maxResults as number) ?? 100;
  const next = start + max < items.length ? { nextToken: String(start + max) } : {};
  return { page: items.slice(start, start + max), ...next };
}

function api() {
  const metrics = createSelfMetrics({ defaults: false });
  return { api: createEcsApi(testClients(metrics), 4), metrics };
}

describe("ECS API requests", () => {
  it("ListTasks: RUNNING tasks, 100 a page, every page walked", async () => {
    const arns = Array.from({ length: 250 }, (_, i) => taskArn(`t${i}`));
    const ecs = mockJson({
      ListTasks: (body) => {
        const { page, nextToken } = paged(arns, body);
        return { taskArns: page, ...(nextToken ? { nextToken } : {}) };
      },
    });
    expect(await api().api.listTasks(CLUSTER)).toEqual(arns);
    expect(ecs.calls.ListTasks).toBe(3);
    for (const body of ecs.bodies.ListTasks!)
      expect(body).toMatchObject({ cluster: CLUSTER, desiredStatus: "RUNNING", maxResults: 100 });
  });

  it("ListServices: 100 a page, every page walked", async () => {
    const arns = Array.from(
      { length: 130 },
      (_, i) => CLUSTER_ARN.replace(":cluster/", ":service/") + `/svc-${i}`,
    );
    const ecs = mockJson({
      ListServices: (body) => {
        const { page, nextToken } = paged(arns, body);
        return { serviceArns: page, ...(nextToken ? { nextToken } : {}) };
      },
    });
    expect(await api().api.listServices(CLUSTER)).toEqual(arns);
    expect(ecs.calls.ListServices).toBe(2);
    for (const body of ecs.bodies.ListServices!)
      expect(body).toMatchObject({ cluster: CLUSTER, maxResults: 100 });
  });

  it("ListClusters: every page walked, ARNs sorted", async () => {
    const arns = Array.from({ length: 150 }, (_, i) => CLUSTER_ARN.replace(CLUSTER, `c${149 - i}`));
    const ecs = mockJson({
      ListClusters: (body) => {
        const { page, nextToken } = paged(arns, body);
        return { clusterArns: page, ...(nextToken ? { nextToken } : {}) };
      },
    });
    expect(await api().api.listClusters()).toEqual([...arns].sort());
    expect(ecs.calls.ListClusters).toBe(2);
  });

  it("DescribeTasks asks for tags only when told to", async () => {
    const task = fargateTask("t1", tdArn("api", 1), "10.0.0.1", { tags: { team: "core" } });
    const ecs = mockJson({ DescribeTasks: () => ({ tasks: [task], failures: [] }) });
    const { api: ecsApi } = api();
    const { found } = await ecsApi.describeTasks(CLUSTER, [task.taskArn!], true);
    expect(found[0]!.parse().tags).toEqual([{ key: "team", value: "core" }]);
    await ecsApi.describeTasks(CLUSTER, [task.taskArn!], false);
    expect(ecs.bodies.DescribeTasks).toEqual([
      { cluster: CLUSTER, tasks: [task.taskArn], include: ["TAGS"] },
      { cluster: CLUSTER, tasks: [task.taskArn] },
    ]);
  });

  it("DescribeTasks whose tasks are missing or not a list is a MalformedResponse", async () => {
    for (const tasks of [undefined, null, "t1", 5, { taskArn: "t1" }]) {
      mockJson({ DescribeTasks: () => ({ tasks, failures: [] }) });
      const err = await api()
        .api.describeTasks(CLUSTER, [taskArn("t1")], false)
        .catch((e: unknown) => e);
      expect(err, JSON.stringify(tasks)).toBeInstanceOf(MalformedResponse);
      nock.cleanAll();
    }
  });

  it("DescribeContainerInstances keeps the instance id; DescribeInstances the private IP", async () => {
    const ecs = mockJson({
      DescribeContainerInstances: () => ({
        containerInstances: [
          { containerInstanceArn: ciArn("ci1"), ec2InstanceId: "i-01", status: "ACTIVE" },
          { containerInstanceArn: ciArn("ci2"), status: "REGISTERING" },
        ],
        failures: [],
      }),
    });
    const ec2 = mockEc2({ "i-01": "10.0.3.1" });
    const { api: ecsApi } = api();
    expect(await ecsApi.describeContainerInstances(CLUSTER, [ciArn("ci1"), ciArn("ci2")])).toEqual([
      { containerInstanceArn: ciArn("ci1"), ec2InstanceId: "i-01" },
    ]);
    expect(ecs.bodies.DescribeContainerInstances).toEqual([
      { cluster: CLUSTER, containerInstances: [ciArn("ci1"), ciArn("ci2")] },
    ]);
    expect(await ecsApi.describeInstances(["i-01"])).toEqual([
      { instanceId: "i-01", privateIp: "10.0.3.1", tags: {} },
    ]);
    expect(ec2.bodies.DescribeInstances).toEqual([{ ids: ["i-01"] }]);
  });

  it("DescribeTasks keeps the failures AWS answers (a task gone since ListTasks)", async () => {
    const gone = taskArn("gone");
    mockJson({ DescribeTasks: () => ({ tasks: [], failures: [{ arn: gone, reason: "MISSING" }] }) });
    expect(await api().api.describeTasks(CLUSTER, [gone], false)).toEqual({
      found: [],
      failures: [{ arn: gone, reason: "MISSING" }],
    });
  });

  it("DescribeClusters and DescribeServices ask for tags and keep status, tags and failures", async () => {
    const serviceArn = `arn:aws:ecs:us-east-1:123456789012:service/${CLUSTER}/api`;
    const ecs = mockJson({
      DescribeClusters: () => ({
        clusters: [{ clusterArn: CLUSTER_ARN, clusterName: CLUSTER, tags: [{ key: "env", value: "prod" }] }],
        failures: [{ arn: CLUSTER_ARN.replace(CLUSTER, "gone"), reason: "MISSING" }],
      }),
      DescribeServices: () => ({
        services: [
          {
            serviceArn,
            serviceName: "api",
            status: "DRAINING",
            tags: [{ key: "team", value: "core" }],
            // A rolling deployment: the new revision's tasks pending, the old one's running, one done.
            deployments: [
              { taskDefinition: tdArn("api", 4), runningCount: 0, pendingCount: 2 },
              { taskDefinition: tdArn("api", 3), runningCount: 3, pendingCount: 0 },
              { taskDefinition: tdArn("api", 2), runningCount: 0, pendingCount: 0 },
            ],
            taskSets: [{ taskDefinition: tdArn("api", 3), runningCount: 1 }],
          },
        ],
        failures: [],
      }),
    });
    const { api: ecsApi } = api();
    expect(await ecsApi.describeClusters([CLUSTER, "gone"])).toEqual({
      found: [{ arn: CLUSTER_ARN, name: CLUSTER, tags: { env: "prod" } }],
      failures: [{ arn: CLUSTER_ARN.replace(CLUSTER, "gone"), reason: "MISSING" }],
    });
    expect(await ecsApi.describeServices(CLUSTER, ["api"])).toEqual({
      found: [
        {
          name: "api",
          arn: serviceArn,
          status: "DRAINING",
          tags: { team: "core" },
          taskDefinitions: [tdArn("api", 4), tdArn("api", 3)],
        },
      ],
      failures: [],
    });
    expect(ecs.bodies.DescribeClusters).toEqual([{ clusters: [CLUSTER, "gone"], include: ["TAGS"] }]);
    expect(ecs.bodies.DescribeServices).toEqual([{ cluster: CLUSTER, services: ["api"], include: ["TAGS"] }]);
  });
});

describe("AWS call accounting", () => {
  it("the call counter sees every operation", async () => {
    const task = fargateTask("a", tdArn("api", 3), "10.0.0.1");
    mockJson({
      ListClusters: () => ({ clusterArns: [CLUSTER_ARN] }),
      ListTasks: () => ({ taskArns: [task.taskArn] }),
      DescribeTasks: () => ({ tasks: [task], failures: [] }),
      DescribeTaskDefinition: () => ({ taskDefinition: { taskDefinitionArn: tdArn("api", 3) } }),
    });
    const { api: ecsApi, metrics } = api();
    await ecsApi.listClusters();
    await ecsApi.listTasks(CLUSTER);
    await ecsApi.describeTasks(CLUSTER, [task.taskArn!], true);
    await ecsApi.describeTaskDefinition(tdArn("api", 3));
    const counted = await metrics.awsRequests.get();
    const ops = Object.fromEntries(counted.values.map((v) => [v.labels.operation, v.value]));
    expect(ops).toMatchObject({ ListClusters: 1, ListTasks: 1, DescribeTasks: 1, DescribeTaskDefinition: 1 });
  });

  it("counts errors and throttles per operation", async () => {
    mockJson({
      ListTasks: () => {
        throw new AwsError("ThrottlingException", "Rate exceeded");
      },
    });
    const { api: ecsApi, metrics } = api();
    await expect(ecsApi.listTasks(CLUSTER)).rejects.toMatchObject({ name: "ThrottlingException" });
    const throttles = await metrics.awsThrottles.get();
    expect(throttles.values).toEqual([{ labels: { service: "ecs", operation: "ListTasks" }, value: 1 }]);
    const errors = await metrics.awsErrors.get();
    expect(errors.values[0]!.labels).toEqual({
      service: "ecs",
      operation: "ListTasks",
      code: "ThrottlingException",
    });
  });
});
