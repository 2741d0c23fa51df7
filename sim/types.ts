// Scenario types of the simulated AWS endpoint: what a YAML/JSON scenario file (or a test's object) may say,
// and the views of the simulated world it hands back (tasks, reachable endpoints).
// Everything optional has a realistic default; IPs default to loopback so e2e tests can really scrape them.
import type { ThrottleRule } from "./faults.js";

export type Tags = Record<string, string>;
export type LaunchType = "FARGATE" | "EC2";
export type NetworkMode = "awsvpc" | "bridge" | "host" | "none";
/** ECS task lifecycle states (a subset the sim produces). */
export type TaskStatus = "PROVISIONING" | "PENDING" | "RUNNING" | "STOPPED";
export type TaskHealth = "HEALTHY" | "UNHEALTHY" | "UNKNOWN";

export interface PortMappingSpec {
  containerPort: number;
  /** bridge: absent or 0 = dynamic host port; host: always = containerPort; awsvpc: ignored. */
  hostPort?: number;
  protocol?: "tcp" | "udp";
  name?: string;
  appProtocol?: "http" | "http2" | "grpc";
}

export interface ContainerDefinitionSpec {
  name: string;
  image?: string;
  essential?: boolean;
  cpu?: number;
  memory?: number;
  dockerLabels?: Record<string, string>;
  portMappings?: PortMappingSpec[];
  /** A container health check: the task's health is then set by setTaskHealth (UNKNOWN until then). */
  healthCheck?: { command: string[] };
}

export interface TaskDefinitionSpec {
  family: string;
  /** Default 1. Several revisions of one family may be listed. */
  revision?: number;
  /** Default awsvpc. */
  networkMode?: NetworkMode;
  /** Default ["FARGATE"] for awsvpc, ["EC2"] otherwise. */
  requiresCompatibilities?: LaunchType[];
  cpu?: string;
  memory?: string;
  containerDefinitions: ContainerDefinitionSpec[];
  tags?: Tags;
}

export interface ContainerInstanceSpec {
  /** Container instance id (the last ARN segment); generated when absent. */
  id?: string;
  ec2InstanceId?: string;
  /** Private IP of the EC2 host; default from the instance IP pool (loopback). */
  privateIp?: string;
  availabilityZone?: string;
  instanceType?: string;
}

/** Registers a service's tasks in Cloud Map the way ECS service discovery does (on RUNNING, off on stop). */
export interface ServiceRegistrySpec {
  namespace: string;
  service: string;
  /** Container and port whose address is registered (AWS_INSTANCE_PORT); default the first port mapping. */
  containerName?: string;
  containerPort?: number;
}

export interface ServiceSpec {
  name: string;
  /** `family`, `family:revision` or a task definition ARN. */
  taskDefinition: string;
  desiredCount: number;
  /** Default FARGATE for awsvpc task definitions, EC2 otherwise. */
  launchType?: LaunchType;
  tags?: Tags;
  /** Tags every task of the service carries (propagateTags). */
  taskTags?: Tags;
  healthStatus?: TaskHealth;
  serviceRegistry?: ServiceRegistrySpec;
}

export interface TaskSpec {
  taskDefinition: string;
  launchType?: LaunchType;
  /** Default `family:<family>`. */
  group?: string;
  startedBy?: string;
  /** How many identical tasks (default 1). */
  count?: number;
  tags?: Tags;
  /** Fixed task IP (awsvpc); default from the task IP pool. */
  ip?: string;
  /** Container instance id or ARN to place on (bridge/host/EC2); default round-robin. */
  containerInstance?: string;
  /** Initial lastStatus (default RUNNING for scenario tasks). PROVISIONING/PENDING tasks have no IP yet. */
  lastStatus?: "PROVISIONING" | "PENDING" | "RUNNING";
  healthStatus?: TaskHealth;
  availabilityZone?: string;
  /** Mutations only: override the scenario's lifecycle.pendingDescribes for this task. */
  pendingDescribes?: number | "advance";
}

export interface ClusterSpec {
  name: string;
  /** Default: the scenario region. Requests are routed by the region in their SigV4 credential scope. */
  region?: string;
  tags?: Tags;
  /** A count (generated) or explicit instances; needed for bridge/host/EC2 tasks. */
  containerInstances?: number | ContainerInstanceSpec[];
  services?: ServiceSpec[];
  /** Standalone tasks (group family:NAME). */
  tasks?: TaskSpec[];
}

export type CloudMapHealth = "HEALTHY" | "UNHEALTHY" | "UNKNOWN";

export interface CloudMapInstanceSpec {
  id: string;
  /** e.g. AWS_INSTANCE_IPV4, AWS_INSTANCE_PORT, custom keys. */
  attributes?: Record<string, string>;
  /** Default HEALTHY. HEALTHY filters return only HEALTHY instances. */
  health?: CloudMapHealth;
}

export interface CloudMapServiceSpec {
  name: string;
  /** Default `srv-` + a stable hash. */
  id?: string;
  description?: string;
  tags?: Tags;
  instances?: CloudMapInstanceSpec[];
  /** Generate `count` instances with IPs from the task IP pool and AWS_INSTANCE_PORT=port (if given). */
  generate?: { count: number; port?: number; attributes?: Record<string, string>; health?: CloudMapHealth };
  /**
   * Default true (HealthCheckCustomConfig, as ECS service discovery creates). false: Cloud Map ignores the
   * DiscoverInstances health filter for this service and reports HealthStatus UNKNOWN.
   */
  customHealthCheck?: boolean;
}

export interface NamespaceSpec {
  name: string;
  /** Default `ns-` + a stable hash. */
  id?: string;
  /** Default HTTP. */
  type?: "HTTP" | "DNS_PRIVATE" | "DNS_PUBLIC";
  description?: string;
  region?: string;
  tags?: Tags;
  services?: CloudMapServiceSpec[];
}

export type Statistic = "Sum" | "Average" | "Maximum" | "Minimum" | "SampleCount";

/**
 * Value of a series for the period starting at `t` (epoch seconds), per 60 s of data (Sum and SampleCount
 * scale with Period/60): a constant; a list cycled by period index (floor(t/Period) mod length); a wave
 * base + amplitude*sin(2*pi*t/cycleSeconds), rounded if `integer`; or (objects only, not files) a function.
 */
export type ValueSpec =
  | number
  | number[]
  | { base: number; amplitude?: number; cycleSeconds?: number; integer?: boolean }
  | ((timestampSeconds: number, stat: Statistic) => number);

export interface MetricSeriesSpec {
  /** Default AWS/ECS. */
  namespace?: string;
  metricName: string;
  dimensions: Record<string, string>;
  region?: string;
  unit?: string;
  /** Default value of every statistic (SampleCount defaults to 1); default 0. */
  value?: ValueSpec;
  /** Per-statistic override. */
  stats?: Partial<Record<Statistic, ValueSpec>>;
  /** Datapoints exist only from/until these times (epoch seconds or ISO strings); for staleness tests. */
  from?: number | string;
  until?: number | string;
}

/** Generates the ECS Service Connect series (both families, 1- and 3-dimension sets) for one discovery name. */
export interface ServiceConnectSpec {
  cluster: string;
  service: string;
  discoveryName: string;
  region?: string;
  /** Multiplies the generated traffic (default 1). */
  scale?: number;
  /** Which dimension sets AWS publishes (default both, as AWS does). */
  dimensionSets?: ("1" | "3")[];
}

export interface Scenario {
  /** Default 123456789012. */
  accountId?: string;
  /** Default us-east-1. */
  region?: string;
  /** Default [<region>a, <region>b, <region>c]. */
  availabilityZones?: string[];
  ipPool?: {
    /** First task IP (awsvpc tasks, generated Cloud Map instances); default 127.0.0.2. */
    tasks?: string;
    /** First EC2 container-instance private IP; default 127.0.200.1. */
    instances?: string;
  };
  /** Dynamic host port range of bridge-mode tasks; default 32768-60999 (the ECS default). */
  hostPorts?: { start?: number; end?: number };
  lifecycle?: {
    /**
     * Tasks created after startup (startTask, scaleService) stay PROVISIONING, without an IP, for this many
     * DescribeTasks responses, then turn RUNNING; "advance" keeps them there until sim.advance(). Default 0.
     */
    pendingDescribes?: number | "advance";
    /** Status shown while waiting: PROVISIONING (default) or PENDING; neither has an IP yet. */
    pendingStatus?: "PROVISIONING" | "PENDING";
  };
  ecs?: {
    /** Bridge/host tasks also report an IPv6 ("::") networkBinding per port, as current ECS agents can. */
    ipv6Bindings?: boolean;
  };
  cloudwatch?: {
    /** Datapoints younger than this are not yet visible (CloudWatch ingestion lag); default 0. */
    lagSeconds?: number;
    /** GetMetricData datapoints per page before NextToken (AWS: 100,800; lower it to test pagination). */
    maxDatapointsPerPage?: number;
  };
  /**
   * Token-bucket throttling from the start: "aws" for the buckets AWS documents (sim/throttling.ts), or a
   * list of rules. Default off; sim.setThrottling changes it at run time.
   */
  throttling?: "aws" | ThrottleRule[];
  taskDefinitions?: TaskDefinitionSpec[];
  clusters?: ClusterSpec[];
  namespaces?: NamespaceSpec[];
  metrics?: MetricSeriesSpec[];
  serviceConnect?: ServiceConnectSpec[];
  /**
   * Further AWS accounts, reached through STS AssumeRole (role ARN arn:aws:iam::<accountId>:role/...): calls
   * signed with the credentials AssumeRole returned are served from that account. Lifecycle, ecs and cloudwatch
   * settings are inherited; default IP pools are 127.<n>.0.2 and 127.<n>.200.1 for the n-th account.
   */
  accounts?: AccountSpec[];
}

export interface AccountSpec extends Omit<
  Scenario,
  "accounts" | "lifecycle" | "ecs" | "cloudwatch" | "accountId" | "throttling"
> {
  accountId: string;
  /** When set, AssumeRole into this account must present this ExternalId (else AccessDenied). */
  externalId?: string;
}

/** What tests and the demo see of a task. */
export interface SimTaskInfo {
  arn: string;
  id: string;
  cluster: string;
  clusterArn: string;
  service?: string;
  group: string;
  taskDefinitionArn: string;
  launchType: LaunchType;
  networkMode: NetworkMode;
  lastStatus: TaskStatus;
  desiredStatus: "RUNNING" | "STOPPED";
  availabilityZone: string;
  /** awsvpc task IP (only once the task left PROVISIONING/PENDING). */
  ip?: string;
  containerInstanceArn?: string;
  ec2InstanceId?: string;
  hostIp?: string;
  ports: SimEndpoint[];
}

/** A reachable scrape address of a RUNNING task port or of a Cloud Map instance. */
export interface SimEndpoint {
  source: "ecs" | "cloudmap";
  host: string;
  port: number;
  /** ECS. */
  cluster?: string;
  service?: string;
  taskArn?: string;
  container?: string;
  containerPort?: number;
  portName?: string;
  dockerLabels?: Record<string, string>;
  /** Cloud Map. */
  namespace?: string;
  cloudMapService?: string;
  instanceId?: string;
}
