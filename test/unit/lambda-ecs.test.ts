// The Lambda wired like production (createLambdaRuntime / createHandler from env) with the real ECS
// source, against nock on loopback: redirects, module-scope caching measured in AWS calls, last-good
// on failure, 503 when the first discovery fails, configuration errors.
import nock from "nock";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger, silentLogger } from "../../core/log.js";
import type { SelfMetrics } from "../../core/metrics.js";
import { functionUrlEvent } from "../../lambda/events.js";
import { ConfigError } from "../../cmd/config.js";
import { createHandler, createLambdaRuntime, redactedConfigMessage } from "../../lambda/runtime.js";
import { AwsError, ENDPOINT, mockEc2, mockJson } from "../helpers/aws-nock.js";
import { CLUSTER, CLUSTER_ARN, fargateTask, taskDefinition, tdArn } from "../helpers/ecs-fixtures.js";
import { CONTEXT, json, type LambdaResult } from "./lambda-fixtures.js";

const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };
const ENV = {
  AWS_REGION: "us-east-1",
  AWS_ENDPOINT_URL: ENDPOINT,
  BRIDGE_CLUSTERS: "prod",
  BRIDGE_AWS_MAX_ATTEMPTS: "1",
};

const TD = taskDefinition("api", 7, "awsvpc", [
  { name: "app", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9100", PROMETHEUS_EXPORTER_PATH: "/m" } },
]);

/** A mutable cluster: tests change `tasks` or set `fail` (ListTasks) or `listFail` between invocations. */
const SERVICE_ARN = CLUSTER_ARN.replace(":cluster/", ":service/") + "/api";

function mockCluster() {
  const state = {
    tasks: [fargateTask("bbb", tdArn("api", 7), "10.0.9.2"), fargateTask("aaa", tdArn("api", 7), "10.0.9.1")],
    fail: undefined as AwsError | undefined,
    listFail: undefined as AwsError | undefined,
  };
  const mock = mockJson({
    ListClusters: () => {
      if (state.listFail) throw state.listFail;
      return { clusterArns: [CLUSTER_ARN] };
    },
    ListTasks: () => {
      if (state.fail) throw state.fail;
      return { taskArns: state.tasks.map((t) => t.taskArn) };
    },
    DescribeTasks: (body) => ({
      tasks: state.tasks.filter((t) => (body.tasks as string[]).includes(t.taskArn as string)),
      failures: [],
    }),
    DescribeTaskDefinition: () => ({ taskDefinition: TD }),
    DescribeClusters: () => ({ clusters: [{ clusterArn: CLUSTER_ARN, clusterName: CLUSTER }], failures: [] }),
    ListServices: () => ({ serviceArns: [SERVICE_ARN] }),
    DescribeServices: () => ({
      services: [
        {
          serviceArn: SERVICE_ARN,
          serviceName: "api",
          deployments: [{ taskDefinition: tdArn("api", 7), runningCount: state.tasks.length }],
        },
      ],
      failures: [],
    }),
  });
  const ec2 = mockEc2({});
  return { state, mock, ec2 };
}

async function awsCalls(metrics: SelfMetrics): Promise<number> {
  return (await metrics.awsRequests.get()).values.reduce((sum, v) => sum + v.value, 0);
}

function runtime(env: Record<string, string> = {}) {
  const rt = createLambdaRuntime({
    env: { ...ENV, ...env },
    clientOptions: { credentials: CREDENTIALS },
    logger: silentLogger,
  });
  const run = async (url: string) =>
    (await rt.api.run(functionUrlEvent({ url }) as never, CONTEXT as never)) as LambdaResult;
  /** Waits for the background refresh an invocation started (the next one is answered from its result). */
  const settled = () => rt.discovery.idle();
  return { rt, run, settled };
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());

describe("Lambda with the real ECS source (nock)", () => {
  it("redirects to the discovered task IP; a second invocation within cacheSeconds calls no AWS API", async () => {
    const { mock, ec2 } = mockCluster();
    const { rt, run } = runtime({ BRIDGE_LAMBDA_CACHE_SECONDS: "300" });
    const first = await run("/targets/prod/api/0");
    expect(first.statusCode).toBe(308);
    expect(first.headers.location).toBe("http://10.0.9.1:9100/m");
    const calls = await awsCalls(rt.metrics);
    expect(calls).toBe(7); // the six below and EC2 DescribeNetworkInterfaces (the ENIs' public IPs)
    expect(mock.calls).toEqual({
      DescribeClusters: 1,
      ListServices: 1,
      ListTasks: 1,
      DescribeTasks: 1,
      DescribeTaskDefinition: 1,
      DescribeServices: 1,
    });
    expect(ec2.calls).toEqual({ DescribeNetworkInterfaces: 1 });

    const second = await run("/targets?cluster=prod&service=api&index=1");
    expect(second.headers.location).toBe("http://10.0.9.2:9100/m");
    expect((await run("/sd")).statusCode).toBe(200);
    expect(await awsCalls(rt.metrics)).toBe(calls);
  });

  it("with cacheSeconds 0 every invocation refreshes, reusing the source's caches (known tasks not described again)", async () => {
    const { state, mock, ec2 } = mockCluster();
    const { run, settled } = runtime({
      BRIDGE_LAMBDA_CACHE_SECONDS: "0",
      BRIDGE_ECS_REDESCRIBE_EVERY_REFRESHES: "1000",
    });
    await run("/targets/prod/api/0");
    await run("/targets/prod/api/0");
    await settled();
    expect(mock.calls).toEqual({
      DescribeClusters: 1,
      ListServices: 1, // the cluster's first walk only
      ListTasks: 2,
      DescribeTasks: 1,
      DescribeTaskDefinition: 1,
      DescribeServices: 1,
    });
    expect(ec2.calls).toEqual({ DescribeNetworkInterfaces: 1 });
    // A task stops: the next invocation is answered from the last snapshot while it refreshes; its slot
    // disappears once that refresh is done.
    state.tasks = state.tasks.filter((t) => t.taskArn !== state.tasks[1]!.taskArn);
    expect((await run("/targets/prod/api/1")).statusCode).toBe(308);
    await settled();
    expect((await run("/targets/prod/api/1")).statusCode).toBe(404);
  });

  it("first discovery fails -> 503 with the AWS error as the reason; recovers on a later invocation", async () => {
    const { state } = mockCluster();
    state.fail = new AwsError("AccessDeniedException", "not authorized to perform ecs:ListTasks");
    const { run } = runtime({ BRIDGE_LAMBDA_CACHE_SECONDS: "0" });
    const r = await run("/targets/prod/api/0");
    expect(r.statusCode).toBe(503);
    expect(json(r).failures).toEqual([
      {
        unit: "default/us-east-1/prod",
        error: expect.stringContaining("not authorized to perform ecs:ListTasks"),
      },
    ]);
    expect((await run("/sd")).statusCode).toBe(503);
    state.fail = undefined;
    expect((await run("/targets/prod/api/0")).statusCode).toBe(308);
  });

  it("a failed refresh keeps the last-good tasks; an index past them answers 503 meanwhile", async () => {
    const { state } = mockCluster();
    const { run, settled } = runtime({ BRIDGE_LAMBDA_CACHE_SECONDS: "0" });
    expect((await run("/targets/prod/api/1")).statusCode).toBe(308);
    state.fail = new AwsError("ThrottlingException", "Rate exceeded");
    await run("/targets/prod/api/1");
    await settled();
    const kept = await run("/targets/prod/api/1");
    expect(kept.statusCode).toBe(308);
    expect(kept.headers.location).toBe("http://10.0.9.2:9100/m");
    expect((await run("/targets/prod/api/2")).statusCode).toBe(503);
  });

  it("ListClusters denied on the first discovery (no cluster configured) -> 503 naming it", async () => {
    mockJson({
      ListClusters: () => {
        throw new AwsError("AccessDeniedException", "not authorized to perform ecs:ListClusters");
      },
    });
    const rt = createLambdaRuntime({
      env: { ...ENV, BRIDGE_CLUSTERS: "" },
      clientOptions: { credentials: CREDENTIALS },
      logger: silentLogger,
    });
    const r = (await rt.api.run(
      functionUrlEvent({ url: "/targets/prod/api/0" }) as never,
      CONTEXT as never,
    )) as LambdaResult;
    expect(r.statusCode).toBe(503);
    expect(JSON.stringify(json(r).failures)).toMatch(/ListClusters failed.*AccessDeniedException/);
  });
});

describe("Lambda with the real sources: which failures make a missing task a 503", () => {
  it("no cluster configured and ListClusters starts failing: an index past the stale count -> 503", async () => {
    const { state } = mockCluster();
    const { run, settled } = runtime({ BRIDGE_CLUSTERS: "", BRIDGE_LAMBDA_CACHE_SECONDS: "0" });
    expect((await run("/targets/prod/api/2")).statusCode).toBe(404);
    state.listFail = new AwsError("AccessDeniedException", "not authorized to perform ecs:ListClusters");
    await run("/targets/prod/api/2");
    await settled();
    const r = await run("/targets/prod/api/2");
    expect(r.statusCode).toBe(503);
    expect(JSON.stringify(json(r).failures)).toMatch(/ListClusters failed.*AccessDeniedException/);
    // Last-good tasks still redirect meanwhile.
    expect((await run("/targets/prod/api/1")).headers.location).toBe("http://10.0.9.2:9100/m");
  });

  it("a Cloud Map warning (configured namespace not found) leaves a missing task a 404", async () => {
    mockCluster();
    const cloudmap = mockJson({ ListNamespaces: () => ({ Namespaces: [] }) });
    const { run } = runtime({ BRIDGE_CLOUDMAP_ENABLED: "true", BRIDGE_CLOUDMAP_NAMESPACES: "gone.local" });
    expect((await run("/targets?task=ffffff")).statusCode).toBe(404);
    expect((await run("/targets/prod/api/2")).statusCode).toBe(404);
    expect(cloudmap.calls.ListNamespaces).toBe(1);
  });
});

describe("handler configuration errors", () => {
  /** A handler for the environment, with the log lines it wrote. */
  function handlerLogging(env: Record<string, string>) {
    const lines: string[] = [];
    const handler = createHandler({
      env: { ...ENV, ...env },
      logger: createLogger("info", (l) => lines.push(l)),
    });
    return { handler, lines };
  }

  it("answer a generic 500 instead of failing the instance; the reason is in the log", async () => {
    const envs: Record<string, string>[] = [{ AWS_REGION: "" }, { BRIDGE_LAMBDA_CACHE_SECONDS: "soon" }];
    for (const env of envs) {
      const { handler, lines } = handlerLogging(env);
      for (const url of ["/targets/prod/api/0", "/sd", "/healthz", "/nowhere"]) {
        const r = (await handler(functionUrlEvent({ url }), CONTEXT)) as LambdaResult;
        expect(r.statusCode).toBe(500);
        expect(JSON.parse(r.body)).toEqual({ error: "configuration error; see the function's log" });
      }
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        msg: "configuration error",
        message: expect.stringMatching(/^invalid /),
      });
    }
  });

  it("never echoes a secret or URL credentials, in the reply or the log", async () => {
    for (const publicUrl of [
      "not a url hunter2",
      "https://user:pa55word@x.example/",
      "ftp://user:pa55word@x/",
    ]) {
      const { handler, lines } = handlerLogging({
        BRIDGE_LAMBDA_SHARED_SECRET: "hunter2",
        BRIDGE_LAMBDA_PUBLIC_URL: publicUrl,
      });
      const r = (await handler(functionUrlEvent({ url: "/sd" }), CONTEXT)) as LambdaResult;
      expect(r.statusCode).toBe(500);
      const log = lines.join("\n");
      expect(log).toContain("lambda.publicUrl");
      for (const secret of ["hunter2", "pa55word", "user:"]) {
        expect(r.body).not.toContain(secret);
        expect(log, publicUrl).not.toContain(secret);
      }
    }
  });

  it("redactedConfigMessage masks secret option values and URL credentials wherever they appear", () => {
    const env = { BRIDGE_LAMBDA_SHARED_SECRET: "s3cr3t", BRIDGE_AUTH_BEARER_TOKEN: "tok3n" };
    expect(redactedConfigMessage('got "https://a:b@h/x" and s3cr3t, tok3n', env)).toBe(
      'got "https://<redacted>@h/x" and <redacted>, <redacted>',
    );
  });
});

describe("Lambda configuration", () => {
  it("refuses ecs.events, which needs a long-running process", () => {
    expect(() =>
      createLambdaRuntime({
        env: {
          ...ENV,
          BRIDGE_ECS_EVENTS_ENABLED: "true",
          BRIDGE_ECS_EVENTS_QUEUE_URLS: "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        },
        clientOptions: { credentials: CREDENTIALS },
        logger: silentLogger,
      }),
    ).toThrow(ConfigError);
  });
});
