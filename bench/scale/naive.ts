// The naive strategy the bridge is measured against: every refresh lists and describes everything (tasks,
// task definitions, container instances, EC2 instances), keeps no cache between refreshes, and renders
// /sd (JSON, gzip) for every request. It maps with the bridge's own target builder, so only the
// strategy differs.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import type { Task, TaskDefinition } from "@aws-sdk/client-ecs";
import { createClients, type ClientOptions } from "../../core/aws.js";
import type { DiscoveredTarget } from "../../sd/model.js";
import { createEcsApi, describeInBatches, type EcsApi, type InstanceFacts } from "../../sd/ecs/api.js";
import { buildTaskTargets, needsHostIp, type OptInOptions, type TaskFacts } from "../../sd/ecs/targets.js";

const OPTS: OptInOptions = { optIn: ["labels"], labelPrefix: "PROMETHEUS_EXPORTER_", portName: "metrics" };

export class NaiveStrategy {
  private readonly api: EcsApi;
  targets: DiscoveredTarget[] = [];

  constructor(
    private readonly clusters: string[],
    clientOptions: ClientOptions,
    maxConcurrency: number,
  ) {
    this.api = createEcsApi(createClients({ region: "us-east-1" }, clientOptions), maxConcurrency);
  }

  async refresh(): Promise<void> {
    const perCluster = await Promise.all(this.clusters.map((c) => this.cluster(c)));
    this.targets = perCluster.flat();
  }

  private async cluster(cluster: string): Promise<DiscoveredTarget[]> {
    const arns = await this.api.listTasks(cluster);
    const tasks = await describeInBatches(arns, async (b) =>
      (await this.api.describeTasks(cluster, b, false)).found.map((t) => t.parse()),
    );
    const defs = new Map<string, TaskDefinition>();
    const defArns = [...new Set(tasks.flatMap((t) => (t.taskDefinitionArn ? [t.taskDefinitionArn] : [])))];
    await Promise.all(
      defArns.map(async (arn) => {
        const def = await this.api.describeTaskDefinition(arn);
        if (def) defs.set(arn, def);
      }),
    );
    const defOf = (t: Task) => (t.taskDefinitionArn ? defs.get(t.taskDefinitionArn) : undefined);
    const ciArns = [
      ...new Set(tasks.flatMap((t) => (t.containerInstanceArn ? [t.containerInstanceArn] : []))),
    ];
    const cis = await describeInBatches(ciArns, (b) => this.api.describeContainerInstances(cluster, b));
    const idOf = new Map(cis.map((ci) => [ci.containerInstanceArn, ci.ec2InstanceId]));
    const ids = [
      ...new Set(
        tasks.filter((t) => needsHostIp(t, defOf(t))).map((t) => idOf.get(t.containerInstanceArn ?? "")),
      ),
    ];
    const addresses = await describeInBatches(
      ids.filter((id): id is string => id !== undefined),
      (b) => this.api.describeInstances(b),
    );
    const instanceOf = new Map<string, InstanceFacts>(addresses.map((a) => [a.instanceId, a]));
    return tasks.flatMap((t) => {
      const id = idOf.get(t.containerInstanceArn ?? "");
      const instance = id ? instanceOf.get(id) : undefined;
      const facts: TaskFacts = { ...(id ? { ec2InstanceId: id } : {}), ...(instance ? { instance } : {}) };
      return buildTaskTargets(t, defOf(t), facts, OPTS).targets;
    });
  }

  /** /sd rendered per request: JSON, then gzip when asked for. */
  async serve(): Promise<{ url: string; server: Server }> {
    const server = createServer((req, res) => {
      const json = Buffer.from(JSON.stringify(this.targets.map((t) => t.group)));
      const gzip = /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
      res.writeHead(200, {
        "content-type": "application/json",
        ...(gzip ? { "content-encoding": "gzip" } : {}),
      });
      res.end(gzip ? gzipSync(json) : json);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sd`, server };
  }
}
