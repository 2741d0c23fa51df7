// AWS replies the bridge must not trust, on the wire (nock on loopback, real SDK deserialisation): a
// required list that is missing or null is a MalformedResponse, never "nothing there"; a reply that is
// late (headers or body) fails its attempt with a TimeoutError instead of hanging the refresh.
import nock from "nock";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createClients, MalformedResponse } from "../../core/aws.js";
import { createSelfMetrics, type SelfMetrics } from "../../core/metrics.js";
import { cloudMapApi } from "../../sd/cloudmap/api.js";
import { createEcsApi } from "../../sd/ecs/api.js";
import { ENDPOINT, mockEc2, mockJson, testClients } from "../helpers/aws-nock.js";
import { CLUSTER, ciArn, taskArn, tdArn } from "../helpers/ecs-fixtures.js";

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

const ecsApi = () => createEcsApi(testClients(), 4);
const sdApi = () => cloudMapApi(testClients().servicediscovery, 4);

describe("a reply without its required list is an error, never an empty result", () => {
  it.each([
    ["ListClusters", { clusterArns: null }, () => ecsApi().listClusters()],
    ["ListClusters", {}, () => ecsApi().listClusters()],
    ["ListTasks", { taskArns: null }, () => ecsApi().listTasks(CLUSTER)],
    [
      "DescribeTasks",
      { tasks: null, failures: [] },
      () => ecsApi().describeTasks(CLUSTER, [taskArn("a")], false),
    ],
    [
      "DescribeTaskDefinition",
      { taskDefinition: null },
      () => ecsApi().describeTaskDefinition(tdArn("web", 1)),
    ],
    [
      "DescribeContainerInstances",
      { containerInstances: null },
      () => ecsApi().describeContainerInstances(CLUSTER, [ciArn("ci-1")]),
    ],
  ])("ECS %s answering %j", async (operation, reply, call) => {
    mockJson({ [operation]: () => reply });
    const err = await call().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedResponse);
    expect((err as Error).message).toMatch(new RegExp(`^${operation} returned no `));
  });

  it.each([
    ["ListNamespaces", { Namespaces: null }, () => sdApi().listNamespaces()],
    ["ListServices", { Services: null }, () => sdApi().listServices("ns-1")],
    ["ListInstances", {}, () => sdApi().listInstances("srv-1")],
    [
      "DiscoverInstances",
      { Instances: null },
      () =>
        sdApi().discoverInstances({
          NamespaceName: "ns",
          ServiceName: "svc",
          MaxResults: 1000,
          HealthStatus: "HEALTHY_OR_ELSE_ALL",
        }),
    ],
  ])("Cloud Map %s answering %j", async (operation, reply, call) => {
    mockJson({ [operation]: () => reply });
    const err = await call().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedResponse);
    expect((err as Error).name).toBe("MalformedResponse");
    expect((err as Error).message).toMatch(new RegExp(`^${operation} returned no \\w+ list$`));
  });

  it.each([
    ["DescribeInstances", () => ecsApi().describeInstances(["i-0123"])],
    ["DescribeNetworkInterfaces", () => ecsApi().describeNetworkInterfaces(["eni-0123"])],
  ])(
    "EC2 %s answering without its set (no reservationSet / networkInterfaceSet)",
    async (operation, call) => {
      nock(ENDPOINT)
        .post("/")
        .reply(
          200,
          `<?xml version="1.0" encoding="UTF-8"?><${operation}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">` +
            `<requestId>r</requestId></${operation}Response>`,
          { "content-type": "text/xml" },
        );
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MalformedResponse);
      expect((err as Error).message).toMatch(new RegExp(`^${operation} returned no \\w+ list$`));
    },
  );

  it("an empty EC2 set is a real empty result", async () => {
    mockEc2({});
    expect(await ecsApi().describeInstances(["i-0123"])).toEqual([]);
  });

  it("an empty list is a real empty result", async () => {
    mockJson({ ListTasks: () => ({ taskArns: [] }), DiscoverInstances: () => ({ Instances: [] }) });
    expect(await ecsApi().listTasks(CLUSTER)).toEqual([]);
    const request = { NamespaceName: "ns", ServiceName: "s", MaxResults: 1000, HealthStatus: "ALL" } as const;
    expect(await sdApi().discoverInstances(request)).toEqual([]);
  });
});

describe("every attempt has a timeout", () => {
  function slowClients(metrics: SelfMetrics) {
    return createClients(
      { region: "us-east-1" },
      {
        metrics,
        maxAttempts: 2,
        callTimeoutSeconds: 0.2,
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        env: { AWS_ENDPOINT_URL: ENDPOINT },
      },
    );
  }

  it.each([
    ["headers", (s: nock.Interceptor) => s.delay(5_000)],
    ["body", (s: nock.Interceptor) => s.delayBody(5_000)],
  ])("a reply whose %s never come in time fails every attempt with TimeoutError", async (_, slow) => {
    slow(nock(ENDPOINT).persist().post("/")).reply(200, JSON.stringify({ taskArns: [taskArn("a")] }), {
      "content-type": "application/x-amz-json-1.1",
    });
    const metrics = createSelfMetrics({ defaults: false });
    const err = await createEcsApi(slowClients(metrics), 4)
      .listTasks(CLUSTER)
      .catch((e: unknown) => e);
    expect((err as Error).name).toBe("TimeoutError");
    const errors = await metrics.awsErrors.get();
    const timeouts = errors.values.find(
      (v) => v.labels.code === "TimeoutError" && v.labels.operation === "ListTasks",
    );
    expect(timeouts?.value).toBe(2);
  });
});
