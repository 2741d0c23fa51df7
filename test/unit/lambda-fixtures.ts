// Lambda test fixtures: a discovery snapshot built by the real ECS mapping (buildTaskTargets) from
// realistic DescribeTasks/DescribeTaskDefinition shapes, a stub Discovery around it, and event helpers.
import type { Task, TaskDefinition } from "@aws-sdk/client-ecs";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { silentLogger } from "../../core/log.js";
import { createLambdaApi } from "../../lambda/app.js";
import { functionUrlEvent, type FunctionUrlRequest, type HttpEvent } from "../../lambda/events.js";
import { OnDemandDiscovery } from "../../lambda/freshness.js";
import { compareTargets, type DiscoveredTarget } from "../../sd/model.js";
import type { ScopeFailure, Snapshot, UnitStatus } from "../../sd/refresh.js";
import { buildTaskTargets } from "../../sd/ecs/targets.js";
import { ACCOUNT, REGION, fargateTask, taskArn, taskDefinition, tdArn } from "../helpers/ecs-fixtures.js";
import { testConfig } from "../helpers/config.js";

const OPTS = { optIn: ["labels" as const], labelPrefix: "PROMETHEUS_EXPORTER_", portName: "metrics" };

export const TD_API = taskDefinition("api", 1, "awsvpc", [
  {
    name: "app",
    dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9100" },
    portMappings: [{ containerPort: 9100 }],
  },
]);
export const TD_MULTI = taskDefinition("multi", 2, "awsvpc", [
  {
    name: "app",
    dockerLabels: {
      PROMETHEUS_EXPORTER_PORT: "8080",
      PROMETHEUS_EXPORTER_PORT_1: "8080",
      PROMETHEUS_EXPORTER_PATH_1: "/internal/metrics",
    },
  },
  {
    name: "envoy",
    dockerLabels: {
      PROMETHEUS_EXPORTER_PORT: "9901",
      PROMETHEUS_EXPORTER_PATH: "/stats/prometheus",
      PROMETHEUS_EXPORTER_SCHEME: "https",
    },
  },
]);
export const TD_BATCH = taskDefinition("batch", 1, "awsvpc", [
  { name: "job", dockerLabels: { PROMETHEUS_EXPORTER_PORT: "9091" } },
]);

export function clusterTask(cluster: string, id: string, td: string, ip: string, group: string): Task {
  const t = fargateTask(id, td, ip, { group });
  t.taskArn = taskArn(id, cluster);
  t.clusterArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${cluster}`;
  return t;
}

/** prod/api has 3 tasks whose ARN order (a1 < b2 < c3) differs from their IP order. */
export const WORLD: { task: Task; def: TaskDefinition }[] = [
  { task: clusterTask("prod", "c3c3c3", tdArn("api", 1), "10.0.0.1", "service:api"), def: TD_API },
  { task: clusterTask("prod", "a1a1a1", tdArn("api", 1), "10.0.0.3", "service:api"), def: TD_API },
  { task: clusterTask("prod", "b2b2b2", tdArn("api", 1), "10.0.0.2", "service:api"), def: TD_API },
  { task: clusterTask("prod", "m0m0m0", tdArn("multi", 2), "10.0.1.1", "service:multi"), def: TD_MULTI },
  { task: clusterTask("prod", "s0s0s0", tdArn("batch", 1), "10.0.2.1", "family:batch"), def: TD_BATCH },
  { task: clusterTask("staging", "d4d4d4", tdArn("api", 1), "10.1.0.1", "service:api"), def: TD_API },
];

export function targetsOf(world = WORLD): DiscoveredTarget[] {
  return world.flatMap(({ task, def }) => buildTaskTargets(task, def, {}, OPTS).targets).sort(compareTargets);
}

/** A Discovery stand-in: serves a fixed snapshot and counts refreshes (each one would call AWS). */
export class StubDiscovery {
  refreshes = 0;
  snap: Snapshot;
  units: UnitStatus[] = [];
  failed: ScopeFailure[] = [];
  constructor(targets: DiscoveredTarget[] = targetsOf(), ready = true) {
    this.snap = { targets, version: 1, ready };
  }
  refreshOnce(): Promise<void> {
    this.refreshes++;
    return Promise.resolve();
  }
  snapshot(): Snapshot {
    return this.snap;
  }
  status(): UnitStatus[] {
    return this.units;
  }
  failedScopes(): ScopeFailure[] {
    return this.failed;
  }
}

export interface TestApp {
  run(req: FunctionUrlRequest | string): Promise<LambdaResult>;
  runEvent(event: HttpEvent): Promise<LambdaResult>;
  stub: StubDiscovery;
  discovery: OnDemandDiscovery;
}

export interface LambdaResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

export const CONTEXT = {
  awsRequestId: "c6af9ac6-7b61-11e6-9a41-93e812345678",
  functionName: "ecs-prometheus-bridge",
  callbackWaitsForEmptyEventLoop: true,
};

export function testApp(
  env: Record<string, string> = {},
  stub = new StubDiscovery(),
  now: () => number = () => 0,
): TestApp {
  const config = testConfig(env);
  const discovery = new OnDemandDiscovery(stub, config.lambda.cacheSeconds * 1000, { now });
  const api = createLambdaApi({ config, discovery, logger: silentLogger });
  const runEvent = async (event: HttpEvent) =>
    (await api.run(event as never, CONTEXT as never)) as LambdaResult;
  return {
    stub,
    discovery,
    runEvent,
    run: (req) => runEvent(functionUrlEvent(typeof req === "string" ? { url: req } : req)),
  };
}

export function json(r: LambdaResult): Record<string, unknown> {
  return JSON.parse(r.isBase64Encoded ? Buffer.from(r.body, "base64").toString() : r.body) as Record<
    string,
    unknown
  >;
}

export type { APIGatewayProxyEventV2 };
