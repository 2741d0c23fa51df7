// EcsPrometheusBridge: the bridge as a Fargate service, with a task role holding exactly the read-only
// policy of each enabled feature. The same deployment as deploy/cloudformation.yaml (proved equivalent by
// test/unit/deploy-cloudformation.test.ts).
import {
  Duration,
  Size,
  Stack,
  ArnFormat,
  Validations,
  aws_ec2 as ec2,
  aws_ecs as ecs,
  aws_iam as iam,
  aws_logs as logs,
  aws_secretsmanager as secretsmanager,
  aws_servicediscovery as servicediscovery,
} from "aws-cdk-lib";
import { Construct } from "constructs";
import {
  attachFeaturePolicies,
  discoveryEnvironment,
  enabledFeatures,
  type CrossAccountRole,
  type DiscoveryFeatures,
} from "./features.js";
import { BridgeEvents, type EventsProps } from "./events.js";
import { BridgeMetricStream, STREAM_PATH, type MetricStreamProps } from "./metric-stream.js";

/** The port the bridge serves /sd, /metrics and /healthz on. */
export const BRIDGE_PORT = 9100;
/** `nonroot` of the distroless base image (see Dockerfile). */
export const BRIDGE_USER = "65532:65532";

/** Where the bearer token that /sd and /metrics require comes from. */
export type BearerToken =
  /** Name of an SSM SecureString parameter (encrypted with the AWS managed key). */
  | { readonly ssmParameterName: string }
  /** A Secrets Manager secret whose whole value is the token. */
  | { readonly secret: secretsmanager.ISecret };

export interface EcsPrometheusBridgeProps extends DiscoveryFeatures {
  /** The ECS cluster the bridge service runs in (its VPC places the task). */
  readonly cluster: ecs.ICluster;
  /** The bridge image, e.g. `ContainerImage.fromEcrRepository(repo, "0.1.0")` (grants a scoped pull). */
  readonly image: ecs.ContainerImage;
  /** Subnets for the task; need a route to the AWS APIs. Default: the VPC's private subnets. */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Default: a new group with no inbound rule; allow Prometheus with `bridge.connections.allowFrom(...)`. */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** Default false. */
  readonly assignPublicIp?: boolean;
  /** Fargate CPU units. Default 256. */
  readonly cpu?: number;
  /** Fargate memory in MiB. Default 512. */
  readonly memoryLimitMiB?: number;
  /** Default X86_64. */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /** One task is enough; each extra task repeats every AWS call. Default 1. */
  readonly desiredCount?: number;
  /** Regions to discover in (BRIDGE_REGIONS). Default: the stack's region. */
  readonly regions?: string[];
  /** ECS cluster names or ARNs to discover (BRIDGE_CLUSTERS). Default: every cluster. */
  readonly discoverClusters?: string[];
  /** Cloud Map namespace names or IDs (BRIDGE_CLOUDMAP_NAMESPACES). Default: every namespace. */
  readonly cloudMapNamespaces?: string[];
  /** Roles in other accounts to discover through (BRIDGE_ACCOUNTS, and sts:AssumeRole on exactly these). */
  readonly crossAccountRoles?: CrossAccountRole[];
  /** The bearer token /sd and /metrics require (BRIDGE_AUTH_BEARER_TOKEN). Default: no authentication. */
  readonly bearerToken?: BearerToken;
  /** Register the bridge in a Cloud Map DNS namespace, so Prometheus reaches it at `<name>.<namespace>:9100`. */
  readonly registry?: { readonly namespace: servicediscovery.INamespace; readonly name?: string };
  /**
   * The exporter in stream mode: a CloudWatch metric stream delivered by Firehose through an HTTPS listener
   * on an existing load balancer (BRIDGE_EXPORTER_MODE=stream). No CloudWatch API call, so no
   * `cloudwatch-exporter` policy; excludes `exporter` (poll mode). Default: none.
   */
  readonly metricStream?: MetricStreamProps;
  /**
   * Event-driven ECS discovery (docs/events.md): an EventBridge rule sends ECS task state changes to an SQS
   * queue the bridge consumes (BRIDGE_ECS_EVENTS_*), and the task role may consume that queue only
   * (`ecs-events` policy). Needs ecsDiscovery and one task (one queue per replica). Default: none (polling).
   */
  readonly events?: EventsProps;
  /** Default one month. */
  readonly logRetention?: logs.RetentionDays;
  /** More BRIDGE_* settings (see docs/configuration.md); cannot override the ones the props set. */
  readonly environment?: Record<string, string>;
}

export class EcsPrometheusBridge extends Construct implements ec2.IConnectable {
  /** The role the bridge's AWS SDK clients use: trust it in target accounts. */
  readonly taskRole: iam.Role;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly service: ecs.FargateService;
  readonly logGroup: logs.LogGroup;
  readonly connections: ec2.Connections;
  /** The stream-mode resources, when `metricStream` is set. */
  readonly metricStream?: BridgeMetricStream;
  /** The events rule and queues, when `events` is set. */
  readonly events?: BridgeEvents;

  constructor(scope: Construct, id: string, props: EcsPrometheusBridgeProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const features = enabledFeatures(props);
    const crossAccount = props.crossAccountRoles ?? [];
    if (props.exporter && props.metricStream)
      throw new Error(
        "exporter (poll mode) and metricStream (stream mode) exclude each other: the exporter runs in one mode",
      );
    if (props.events && !features.includes("ecs-discovery"))
      throw new Error("events needs ecsDiscovery: the events update the ECS discovery's targets");
    // An SQS message goes to one consumer: two tasks on one queue would each miss half of the events.
    if (props.events && (props.desiredCount ?? 1) > 1)
      throw new Error(
        "events: one queue per replica, so desiredCount must be 1 (deploy a bridge per replica)",
      );
    const secrets: Record<string, ecs.Secret> = {};
    if (props.bearerToken) secrets.BRIDGE_AUTH_BEARER_TOKEN = bearerTokenSecret(this, props.bearerToken);
    if (props.metricStream)
      secrets.BRIDGE_EXPORTER_STREAM_ACCESS_KEY = ecs.Secret.fromSecretsManager(props.metricStream.accessKey);

    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    // Used by ECS itself (image pull, log delivery, secret injection), never by the bridge's code.
    const executionRole = new iam.Role(this, "ExecutionRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
    });
    Validations.of(executionRole).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "ecr:GetAuthorizationToken supports no resource-level permissions; the image pull actions are scoped to the repository.",
    });
    this.taskRole = new iam.Role(this, "TaskRole", {
      assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com", {
        conditions: {
          StringEquals: { "aws:SourceAccount": stack.account },
          ArnLike: { "aws:SourceArn": stack.formatArn({ service: "ecs", resource: "*" }) },
        },
      }),
    });
    attachFeaturePolicies(
      this,
      this.taskRole,
      features,
      crossAccount.map((r) => r.roleArn),
    );
    if (props.events)
      this.events = new BridgeEvents(
        this,
        "Events",
        { ...props.events, clusters: props.events.clusters ?? props.discoverClusters },
        this.taskRole,
      );

    this.taskDefinition = new ecs.FargateTaskDefinition(this, "TaskDefinition", {
      cpu: props.cpu ?? 256,
      memoryLimitMiB: props.memoryLimitMiB ?? 512,
      taskRole: this.taskRole,
      executionRole,
      runtimePlatform: {
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
        cpuArchitecture: props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64,
      },
    });
    const linuxParameters = new ecs.LinuxParameters(this, "LinuxParameters", { initProcessEnabled: true });
    linuxParameters.dropCapabilities(ecs.Capability.ALL);
    this.taskDefinition.addContainer("bridge", {
      containerName: "bridge",
      image: props.image,
      essential: true,
      user: BRIDGE_USER,
      readonlyRootFilesystem: true,
      linuxParameters,
      portMappings: [
        {
          name: "http",
          containerPort: BRIDGE_PORT,
          protocol: ecs.Protocol.TCP,
          appProtocol: ecs.AppProtocol.http,
        },
      ],
      environment: {
        ...props.environment,
        ...discoveryEnvironment({ ...props, regions: props.regions ?? [stack.region] }),
        BRIDGE_LISTEN_PORT: String(BRIDGE_PORT),
        BRIDGE_ECS_ENABLED: String(features.includes("ecs-discovery")),
        BRIDGE_EXPORTER_ENABLED: String((props.exporter ?? false) || props.metricStream !== undefined),
        ...(props.metricStream
          ? { BRIDGE_EXPORTER_MODE: "stream", BRIDGE_EXPORTER_STREAM_PATH: STREAM_PATH }
          : {}),
        ...this.events?.environment,
      },
      secrets: Object.keys(secrets).length > 0 ? secrets : undefined,
      // The image's own HEALTHCHECK, which ECS ignores: /healthz answers while the process serves HTTP.
      healthCheck: {
        command: [
          "CMD",
          "/nodejs/bin/node",
          "-e",
          "fetch('http://127.0.0.1:'+(process.env.BRIDGE_LISTEN_PORT||9100)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))",
        ],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(15),
      },
      stopTimeout: Duration.seconds(15),
      logging: ecs.LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: "bridge",
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(4),
      }),
    });
    Validations.of(this.taskDefinition).acknowledge({
      id: "AwsSolutions-ECS2",
      reason:
        "The environment holds the bridge's non-secret settings (regions, clusters, feature switches); the bearer token and the stream access key are injected from SSM or Secrets Manager.",
    });

    const securityGroups = props.securityGroups ?? [
      new ec2.SecurityGroup(this, "SecurityGroup", {
        vpc: props.cluster.vpc,
        description: "ecs-prometheus-bridge: HTTPS out to the AWS APIs; allow TCP 9100 in from Prometheus",
        allowAllOutbound: true,
      }),
    ];
    this.service = new ecs.FargateService(this, "Service", {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: props.desiredCount ?? 1,
      assignPublicIp: props.assignPublicIp ?? false,
      vpcSubnets: props.vpcSubnets,
      securityGroups,
      platformVersion: ecs.FargatePlatformVersion.LATEST,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      enableECSManagedTags: true,
      propagateTags: ecs.PropagatedTagSource.SERVICE,
      cloudMapOptions: props.registry
        ? {
            cloudMapNamespace: props.registry.namespace,
            name: props.registry.name ?? "ecs-prometheus-bridge",
            dnsRecordType: servicediscovery.DnsRecordType.A,
            dnsTtl: Duration.seconds(10),
          }
        : undefined,
    });
    this.connections = this.service.connections;
    if (props.metricStream)
      this.metricStream = new BridgeMetricStream(this, "MetricStream", props.metricStream, {
        service: this.service,
        containerName: "bridge",
        containerPort: BRIDGE_PORT,
      });
  }
}

/** ECS injects the token at start; the execution role may read exactly that parameter or secret. */
function bearerTokenSecret(scope: Construct, token: BearerToken): ecs.Secret {
  if ("secret" in token) return ecs.Secret.fromSecretsManager(token.secret);
  const name = token.ssmParameterName.replace(/^\//, "");
  if (!/^[A-Za-z0-9_.-][A-Za-z0-9_./-]*$/.test(name))
    throw new Error(`bearerToken.ssmParameterName: "${token.ssmParameterName}" is not an SSM parameter name`);
  const arn = Stack.of(scope).formatArn({
    service: "ssm",
    resource: "parameter",
    resourceName: name,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
  return new SsmSecureStringSecret(arn);
}

/**
 * An SSM SecureString for ECS `secrets`. `ecs.Secret.fromSsmParameter` would also grant ssm:GetParameter,
 * GetParameterHistory and DescribeParameters; ECS only calls ssm:GetParameters.
 */
class SsmSecureStringSecret extends ecs.Secret {
  readonly hasField = false;
  constructor(readonly arn: string) {
    super();
  }
  override grantRead(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ["ssm:GetParameters"], resourceArns: [this.arn] });
  }
}
