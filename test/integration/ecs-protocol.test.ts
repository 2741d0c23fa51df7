// The ECS client's ListTasks and DescribeTasks shortcut (core/ecs-protocol.ts) against the simulator: what the task
// cache keeps from a reply parsed with JSON.parse is exactly what it keeps from the SDK's schema walk, for
// Fargate, EC2 bridge-mode and tagged tasks; AWS errors still arrive as the SDK's typed exceptions.
import {
  ClusterNotFoundException,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EcsProtocol, taskTextsOf } from "../../core/ecs-protocol.js";
import { slimTask, StringTable } from "../../sd/ecs/slim.js";
import { estateScenario } from "../../bench/scale/estate.js";
import { startSimAws, type SimAws } from "../../sim/index.js";

let sim: SimAws;
const client = (fast: boolean) =>
  new ECSClient({
    region: "us-east-1",
    endpoint: sim.url,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    ...(fast ? { protocol: EcsProtocol } : {}),
  });

beforeAll(async () => {
  const scenario = estateScenario(400);
  delete scenario.throttling;
  sim = await startSimAws({ scenario });
});
afterAll(() => sim.close());

describe("EcsProtocol", () => {
  it("keeps exactly what the SDK's own deserialiser yields for every field the task cache reads", async () => {
    const stock = client(false);
    const fast = client(true);
    for (const cluster of ["prod-0", "prod-4"]) {
      const listed = await stock.send(new ListTasksCommand({ cluster, maxResults: 30 }));
      const fastListed = await fast.send(new ListTasksCommand({ cluster, maxResults: 30 }));
      expect(fastListed.taskArns).toEqual(listed.taskArns);
      expect(fastListed.nextToken).toBe(listed.nextToken);
      expect(listed.nextToken).toBeDefined();
      const { taskArns } = await stock.send(new ListTasksCommand({ cluster }));
      expect(taskArns!.length).toBeGreaterThan(0);
      const input = { cluster, tasks: taskArns!.slice(0, 100), include: ["TAGS" as const] };
      const [a, b] = await Promise.all([
        stock.send(new DescribeTasksCommand(input)),
        fast.send(new DescribeTasksCommand(input)),
      ]);
      // The shortcut ran: the tasks come as their JSON texts, each parsed on its own.
      const bTasks = taskTextsOf(b)!.map((text) => JSON.parse(text) as Task);
      expect(bTasks.length).toBe(a.tasks!.length);
      expect(b.failures).toEqual(a.failures);
      expect(b.$metadata.httpStatusCode).toBe(200);
      // Timestamps stay the wire's epoch seconds (the cache keeps none).
      expect(typeof bTasks[0]!.createdAt).toBe("number");
      expect(a.tasks![0]!.createdAt).toBeInstanceOf(Date);
      const slim = (tasks: Task[]) => tasks.map((t) => slimTask(t, new StringTable()));
      expect(slim(bTasks)).toEqual(slim(a.tasks!));
      // The estate mixes both: bridge-mode tasks with host ports and awsvpc tasks with ENIs.
      expect(bTasks.some((t) => t.containers?.some((c) => c.networkBindings?.length))).toBe(true);
      expect(bTasks.some((t) => t.attachments?.some((x) => x.type === "ElasticNetworkInterface"))).toBe(true);
    }
  });

  it("decodes an answer whose multi-byte characters are split across chunks", async () => {
    const body = Buffer.from(
      JSON.stringify({
        tasks: [{ taskArn: "arn:t", tags: [{ key: "team", value: "équipe-🚀" }] }],
        failures: [],
      }),
    );
    const cut = body.indexOf(Buffer.from("🚀")) + 2; // inside the 4-byte sequence
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
      res.write(body.subarray(0, cut));
      setTimeout(() => res.end(body.subarray(cut)), 10);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const fast = new ECSClient({
        region: "us-east-1",
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        protocol: EcsProtocol,
      });
      const out = await fast.send(new DescribeTasksCommand({ cluster: "c", tasks: ["arn:t"] }));
      expect((JSON.parse(taskTextsOf(out)![0]!) as Task).tags).toEqual([{ key: "team", value: "équipe-🚀" }]);
    } finally {
      server.close();
    }
  });

  it("leaves errors to the SDK: a missing cluster is its typed ClusterNotFoundException", async () => {
    const err = await client(true)
      .send(
        new DescribeTasksCommand({ cluster: "no-such-cluster", tasks: ["arn:aws:ecs:us-east-1:1:task/x/y"] }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterNotFoundException);
  });
});
