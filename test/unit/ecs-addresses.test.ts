// Addresses AWS supplies are validated before they become targets: an ENI address that is not an IP
// literal (a host name with a path, a number) is skipped and counted, and never cached, so the task is
// published as soon as AWS answers a real address.
import type { Task } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { validAddress } from "../../sd/model.js";
import { FakeEcsApi, fakeEcsSource } from "../helpers/ecs-fake.js";
import { fargateTask, taskDefinition, tdArn } from "../helpers/ecs-fixtures.js";

const TD = taskDefinition("api", 1, "awsvpc", [
  {
    name: "app",
    dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9100" },
    portMappings: [{ containerPort: 9100 }],
  },
]);

/** A RUNNING Fargate task whose ENI reports `ip` (of whatever type AWS sent). */
function taskWithIp(id: string, ip: unknown): Task {
  const task = fargateTask(id, tdArn("api", 1), "10.0.0.1");
  for (const d of task.attachments![0]!.details!) if (d.name === "privateIPv4Address") d.value = ip as string;
  return task;
}

describe("validAddress", () => {
  it.each(["10.0.1.5", "2001:db8::1", "::1"])("accepts the IP literal %s", (ip) => {
    expect(validAddress(ip)).toBe(true);
  });
  it.each(["evil.example.com/x?y#", "10.0.1.5:80", "10.0.0.300", "[::1]", "", " 10.0.0.1", 167772161, null])(
    "rejects %j",
    (ip) => expect(validAddress(ip)).toBe(false),
  );
});

describe("ECS task addresses", () => {
  it("skips and counts hostile addresses, keeps the cluster up, and publishes the task once healed", async () => {
    const world = {
      taskDefs: [TD],
      tasks: [
        taskWithIp("good", "10.0.1.5"),
        taskWithIp("hostile", "evil.example.com/x?y#"),
        taskWithIp("numeric", 167772161),
      ],
    };
    const api = new FakeEcsApi(world);
    const { src, metrics } = fakeEcsSource(api);
    const targetsOf = async () => {
      const [unit] = (await src.refresh()).units;
      if (!unit?.ok) throw unit?.error ?? new Error("no unit");
      return unit.targets.map((t) => t.group.targets[0]).sort();
    };
    expect(await targetsOf()).toEqual(["10.0.1.5:9100"]);
    const skipped = (await metrics.skipped.get()).values.find((v) => v.labels.reason === "invalid_address");
    expect(skipped?.value).toBe(2);

    // AWS heals: the skipped tasks were not cached as settled, so they are described again.
    world.tasks = [
      taskWithIp("good", "10.0.1.5"),
      taskWithIp("hostile", "10.0.1.6"),
      taskWithIp("numeric", "10.0.1.7"),
    ];
    expect(await targetsOf()).toEqual(["10.0.1.5:9100", "10.0.1.6:9100", "10.0.1.7:9100"]);
  });
});
