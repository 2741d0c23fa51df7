// The ECS task and service definitions in deploy/ecs (and the CloudFormation task definition) against the
// input shapes of RegisterTaskDefinition / CreateService read from @aws-sdk/client-ecs, plus the settings
// the deployment depends on (Fargate, read-only root, init process, logs, health check, config env vars).
import { readFileSync } from "node:fs";
import {
  ApplicationProtocol,
  AssignPublicIp,
  Compatibility,
  CPUArchitecture,
  CreateServiceRequest$,
  LaunchType,
  LogDriver,
  NetworkMode,
  OSFamily,
  PropagateTags,
  RegisterTaskDefinitionRequest$,
  TransportProtocol,
  type CreateServiceRequest,
  type RegisterTaskDefinitionRequest,
  type Task,
  type TaskDefinition,
} from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { OPTIONS, loadConfig } from "../../cmd/config.js";
import { parseCloudFormation } from "../../deploy/check/cfn-yaml.js";
import { checkShape } from "../../deploy/check/sdk-shape.js";
import { buildTaskTargets } from "../../sd/ecs/targets.js";

const ENUMS: Record<string, readonly string[]> = {
  networkMode: Object.values(NetworkMode),
  requiresCompatibilities: Object.values(Compatibility),
  logDriver: Object.values(LogDriver),
  protocol: Object.values(TransportProtocol),
  appProtocol: Object.values(ApplicationProtocol),
  launchType: Object.values(LaunchType),
  assignPublicIp: Object.values(AssignPublicIp),
  propagateTags: Object.values(PropagateTags),
  operatingSystemFamily: Object.values(OSFamily),
  cpuArchitecture: Object.values(CPUArchitecture),
};

/** Fargate task sizes (CPU units -> allowed MiB), from the ECS developer guide. */
const FARGATE_SIZES: Record<string, number[]> = {
  "256": [512, 1024, 2048],
  "512": [1024, 2048, 3072, 4096],
  "1024": [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  "2048": Array.from({ length: 13 }, (_, i) => 4096 + i * 1024),
  "4096": Array.from({ length: 23 }, (_, i) => 8192 + i * 1024),
};

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, "utf8")) as T;
const taskDef = readJson<RegisterTaskDefinitionRequest>("deploy/ecs/task-definition.json");
const service = readJson<CreateServiceRequest>("deploy/ecs/service.json");
const cfn = parseCloudFormation(readFileSync("deploy/cloudformation.yaml", "utf8"));
type Obj = Record<string, unknown>;
const cfnResources = cfn.Resources as Record<string, { Type: string; Properties: Obj }>;
const cfnTaskDef = cfnResources.TaskDefinition!.Properties;

const KNOWN_ENV = new Set(OPTIONS.map((o) => o.env));

describe("deploy/ecs/task-definition.json", () => {
  const container = taskDef.containerDefinitions![0]!;

  it("fits the RegisterTaskDefinition input shape of @aws-sdk/client-ecs", () => {
    expect(checkShape(RegisterTaskDefinitionRequest$, taskDef, { enums: ENUMS })).toEqual([]);
  });

  it("the shape check rejects unknown fields, wrong types and bad enum values", () => {
    const bad = structuredClone(taskDef) as unknown as Obj;
    bad.networkmode = "awsvpc";
    bad.networkMode = "vpc";
    (bad.containerDefinitions as Obj[])[0]!.readonlyRootFilesystem = "true";
    (bad.containerDefinitions as Obj[])[0]!.linuxParameters = { initProcess: true };
    delete bad.family;
    const problems = checkShape(RegisterTaskDefinitionRequest$, bad, { enums: ENUMS });
    expect(problems.join("\n")).toMatch(/\$\.networkmode: not a member/);
    expect(problems.join("\n")).toMatch(/\$\.networkMode: "vpc" is not one of/);
    expect(problems.join("\n")).toMatch(/readonlyRootFilesystem: expected a boolean/);
    expect(problems.join("\n")).toMatch(/linuxParameters\.initProcess: not a member/);
    expect(problems.join("\n")).toMatch(/missing required member family/);
  });

  it("runs on Fargate in awsvpc mode with a valid task size", () => {
    expect(taskDef.requiresCompatibilities).toEqual(["FARGATE"]);
    expect(taskDef.networkMode).toBe("awsvpc");
    expect(FARGATE_SIZES[taskDef.cpu!]).toContain(Number(taskDef.memory));
  });

  it("hardens the container: read-only root filesystem, init process, no capabilities", () => {
    expect(taskDef.containerDefinitions).toHaveLength(1);
    expect(container.readonlyRootFilesystem).toBe(true);
    expect(container.linuxParameters?.initProcessEnabled).toBe(true);
    expect(container.linuxParameters?.capabilities?.drop).toEqual(["ALL"]);
    expect(container.essential).toBe(true);
  });

  it("logs to CloudWatch Logs with awslogs and exposes port 9100", () => {
    expect(container.logConfiguration?.logDriver).toBe("awslogs");
    expect(Object.keys(container.logConfiguration?.options ?? {})).toEqual(
      expect.arrayContaining(["awslogs-group", "awslogs-region", "awslogs-stream-prefix"]),
    );
    expect(container.portMappings).toEqual([
      expect.objectContaining({ containerPort: 9100, protocol: "tcp" }),
    ]);
  });

  it("health check runs an exec-form command on /healthz with the listen port from the environment", () => {
    expect(container.healthCheck?.command?.[0]).toBe("CMD");
    expect(container.healthCheck?.command?.join(" ")).toContain("/healthz");
    expect(container.healthCheck?.command?.join(" ")).toContain("BRIDGE_LISTEN_PORT");
  });

  it("configures the bridge only through options it knows, with values loadConfig accepts", () => {
    const env: NodeJS.ProcessEnv = {};
    for (const e of container.environment ?? []) {
      expect(KNOWN_ENV, `unknown env ${e.name}`).toContain(e.name);
      env[e.name!] = e.value;
    }
    for (const s of container.secrets ?? []) {
      expect(KNOWN_ENV, `unknown secret env ${s.name}`).toContain(s.name);
      expect(OPTIONS.find((o) => o.env === s.name)?.secret, `${s.name} is not a secret option`).toBe(true);
      env[s.name!] = "example-token";
    }
    const config = loadConfig({ env, argv: [] });
    expect(config.listen.port).toBe(container.portMappings![0]!.containerPort);
    expect(config.ecs.enabled).toBe(true);
  });

  it("passes credentials only as secrets, never as plain environment values", () => {
    const secretEnv = new Set(OPTIONS.filter((o) => o.secret).map((o) => o.env));
    for (const e of container.environment ?? []) expect(secretEnv.has(e.name!), e.name).toBe(false);
  });
});

describe("deploy/ecs/service.json", () => {
  it("fits the CreateService input shape of @aws-sdk/client-ecs", () => {
    expect(checkShape(CreateServiceRequest$, service, { enums: ENUMS })).toEqual([]);
  });

  it("runs the task definition family on Fargate in private subnets, replacing tasks without a gap", () => {
    expect(service.taskDefinition).toBe(taskDef.family);
    expect(service.launchType).toBe("FARGATE");
    expect(service.networkConfiguration?.awsvpcConfiguration?.assignPublicIp).toBe("DISABLED");
    expect(service.deploymentConfiguration?.minimumHealthyPercent).toBe(100);
    expect(service.deploymentConfiguration?.deploymentCircuitBreaker).toEqual({
      enable: true,
      rollback: true,
    });
  });
});

describe("deploy/cloudformation.yaml TaskDefinition", () => {
  it("fits the same RegisterTaskDefinition shape (PascalCase properties, intrinsics left to CloudFormation)", () => {
    expect(
      checkShape(RegisterTaskDefinitionRequest$, cfnTaskDef, { enums: ENUMS, cloudFormation: true }),
    ).toEqual([]);
  });

  it("matches task-definition.json in every setting the deployment depends on", () => {
    const c = (cfnTaskDef.ContainerDefinitions as Obj[])[0]!;
    const j = taskDef.containerDefinitions![0]!;
    expect(cfnTaskDef.NetworkMode).toBe(taskDef.networkMode);
    expect(cfnTaskDef.RequiresCompatibilities).toEqual(taskDef.requiresCompatibilities);
    expect(c.ReadonlyRootFilesystem).toBe(j.readonlyRootFilesystem);
    expect((c.LinuxParameters as Obj).InitProcessEnabled).toBe(true);
    expect((c.HealthCheck as Obj).Command).toEqual(j.healthCheck?.command);
    expect((c.LogConfiguration as Obj).LogDriver).toBe("awslogs");
    expect((c.PortMappings as Obj[])[0]!.ContainerPort).toBe(9100);
  });

  it("sets only environment variables the bridge knows", () => {
    const c = (cfnTaskDef.ContainerDefinitions as Obj[])[0]!;
    for (const e of c.Environment as Obj[]) expect(KNOWN_ENV, String(e.Name)).toContain(e.Name);
  });

  it("the ECS service fits the CreateService shape", () => {
    const props = cfnResources.Service!.Properties;
    expect(checkShape(CreateServiceRequest$, props, { enums: ENUMS, cloudFormation: true })).toEqual([]);
  });
});

describe("deploy/ecs/example-app-task-definition.json (how an application opts in)", () => {
  const app = readJson<RegisterTaskDefinitionRequest>("deploy/ecs/example-app-task-definition.json");
  const arn = "arn:aws:ecs:eu-west-1:123456789012";
  const task: Task = {
    taskArn: `${arn}:task/prod/0123456789abcdef0123456789abcdef`,
    clusterArn: `${arn}:cluster/prod`,
    taskDefinitionArn: `${arn}:task-definition/api:7`,
    group: "service:api",
    launchType: "FARGATE",
    lastStatus: "RUNNING",
    desiredStatus: "RUNNING",
    attachments: [
      { type: "ElasticNetworkInterface", details: [{ name: "privateIPv4Address", value: "10.0.1.23" }] },
    ],
  };
  const def = { ...app, taskDefinitionArn: task.taskDefinitionArn, revision: 7 } as TaskDefinition;
  const build = (optIn: ("labels" | "port-name")[]) =>
    buildTaskTargets(
      task,
      def,
      {},
      {
        optIn,
        labelPrefix: "PROMETHEUS_EXPORTER_",
        portName: "metrics",
      },
    );

  it("fits the RegisterTaskDefinition input shape", () => {
    expect(checkShape(RegisterTaskDefinitionRequest$, app, { enums: ENUMS })).toEqual([]);
  });

  it("its dockerLabels are the README's example, and the ECS source turns them into two targets", () => {
    const readme = readFileSync("README.md", "utf8");
    const snippet = /```json\n"dockerLabels": (\{[\s\S]*?\})\n```/.exec(readme)?.[1];
    expect(JSON.parse(snippet ?? "null")).toEqual(app.containerDefinitions![0]!.dockerLabels);
    const { targets } = build(["labels"]);
    expect(targets.map((t) => ({ ...t.group.labels, __address__: t.group.targets[0] }))).toEqual([
      expect.objectContaining({ __address__: "10.0.1.23:8080", __metrics_path__: "/metrics", job: "api" }),
      expect.objectContaining({
        __address__: "10.0.1.23:9090",
        __metrics_path__: "/admin/metrics",
        job: "api",
      }),
    ]);
    expect(targets[0]!.group.labels).toMatchObject({ __meta_ecs_cluster: "prod", __meta_ecs_service: "api" });
  });

  it("the sidecar's port named `metrics` is scraped only with the port-name opt-in", () => {
    const addresses = (optIn: ("labels" | "port-name")[]) =>
      build(optIn).targets.map((t) => t.group.targets[0]);
    expect(addresses(["labels"])).not.toContain("10.0.1.23:9901");
    expect(addresses(["labels", "port-name"])).toContain("10.0.1.23:9901");
  });

  it("the same labels set anywhere but dockerLabels (e.g. a Dockerfile LABEL) opt nothing in", () => {
    const withoutLabels = structuredClone(def);
    delete withoutLabels.containerDefinitions![0]!.dockerLabels;
    const r = buildTaskTargets(
      task,
      withoutLabels,
      {},
      {
        optIn: ["labels"],
        labelPrefix: "PROMETHEUS_EXPORTER_",
        portName: "metrics",
      },
    );
    expect(r.targets).toEqual([]);
  });
});
