// Realistic ECS API response shapes for unit tests, typed as the SDK returns them and free of Date
// fields, so the same objects serve the typed fake and, serialised, the JSON wire protocol.
import type { NetworkMode, PortMapping, Task, TaskDefinition } from "@aws-sdk/client-ecs";

export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";
export const CLUSTER = "prod";
export const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${CLUSTER}`;

export function taskArn(id: string, cluster = CLUSTER): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${cluster}/${id}`;
}

export function tdArn(family: string, revision: number): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${family}:${revision}`;
}

export function ciArn(id: string): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/${CLUSTER}/${id}`;
}

export interface ContainerSpec {
  name: string;
  dockerLabels?: Record<string, string>;
  portMappings?: PortMapping[];
}

export function taskDefinition(
  family: string,
  revision: number,
  networkMode: NetworkMode | undefined,
  containers: ContainerSpec[],
): TaskDefinition {
  return {
    taskDefinitionArn: tdArn(family, revision),
    family,
    revision,
    ...(networkMode ? { networkMode } : {}),
    status: "ACTIVE",
    containerDefinitions: containers.map((c) => ({
      name: c.name,
      image: `example/${c.name}:1`,
      essential: true,
      ...(c.dockerLabels ? { dockerLabels: c.dockerLabels } : {}),
      portMappings: (c.portMappings ?? []).map((p) => ({ protocol: "tcp" as const, ...p })),
    })),
  };
}

export function fargateTask(
  id: string,
  td: string,
  ip: string,
  opts: { group?: string; containers?: string[]; tags?: Record<string, string>; lastStatus?: string } = {},
): Task {
  const lastStatus = opts.lastStatus ?? "RUNNING";
  const hasIp = lastStatus === "RUNNING" || lastStatus === "ACTIVATING";
  return {
    taskArn: taskArn(id),
    clusterArn: CLUSTER_ARN,
    taskDefinitionArn: td,
    group: opts.group ?? "service:api",
    launchType: "FARGATE",
    lastStatus,
    desiredStatus: "RUNNING",
    healthStatus: "HEALTHY",
    availabilityZone: "us-east-1a",
    attachments: [
      {
        id: `att-${id}`,
        type: "ElasticNetworkInterface",
        status: hasIp ? "ATTACHED" : "PRECREATED",
        details: hasIp
          ? [
              { name: "subnetId", value: "subnet-0abc" },
              { name: "networkInterfaceId", value: `eni-${id}` },
              { name: "macAddress", value: "0a:00:00:00:00:01" },
              { name: "privateIPv4Address", value: ip },
            ]
          : [{ name: "subnetId", value: "subnet-0abc" }],
      },
    ],
    containers: (opts.containers ?? ["app"]).map((name) => ({
      name,
      lastStatus,
      networkInterfaces: hasIp ? [{ attachmentId: `att-${id}`, privateIpv4Address: ip }] : [],
    })),
    ...(opts.tags ? { tags: Object.entries(opts.tags).map(([key, value]) => ({ key, value })) } : {}),
  };
}

export function ec2Task(
  id: string,
  td: string,
  containerInstance: string,
  containers: { name: string; bindings?: { containerPort: number; hostPort: number }[] }[],
  opts: { group?: string; lastStatus?: string; eniIp?: string } = {},
): Task {
  return {
    taskArn: taskArn(id),
    clusterArn: CLUSTER_ARN,
    taskDefinitionArn: td,
    group: opts.group ?? "service:worker",
    launchType: "EC2",
    lastStatus: opts.lastStatus ?? "RUNNING",
    desiredStatus: "RUNNING",
    availabilityZone: "us-east-1b",
    containerInstanceArn: containerInstance,
    ...(opts.eniIp
      ? {
          attachments: [
            {
              type: "ElasticNetworkInterface",
              status: "ATTACHED",
              details: [
                { name: "subnetId", value: "subnet-0def" },
                { name: "privateIPv4Address", value: opts.eniIp },
              ],
            },
          ],
        }
      : {}),
    containers: containers.map((c) => ({
      name: c.name,
      lastStatus: opts.lastStatus ?? "RUNNING",
      ...(c.bindings
        ? { networkBindings: c.bindings.map((b) => ({ bindIP: "0.0.0.0", protocol: "tcp" as const, ...b })) }
        : {}),
    })),
  };
}
