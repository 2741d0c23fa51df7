// Pure mapping from described ECS objects to targets: opt-in, address resolution and labels.
// No AWS calls here, so every response shape can be tested directly.
import {
  formatAddress,
  parseArn,
  setLabel,
  sortedLabels,
  validAddress,
  type DiscoveredTarget,
  type Labels,
} from "../model.js";
import type { SkipRecord } from "../skips.js";
import type { OptInMode } from "./options.js";
import type { ClusterFacts, InstanceFacts, ServiceFacts, Tags } from "./api.js";
import { ECS_LABELS, containerLabelName, tagLabelName, type TagPrefix } from "./labels.js";
import type { SlimContainerDefinition, SlimTask, SlimTaskDefinition } from "./slim.js";

export interface OptInOptions {
  optIn: OptInMode[];
  labelPrefix: string;
  portName: string;
}

/** One metrics endpoint declared by a container. */
export interface Endpoint {
  containerPort: number;
  path?: string;
  scheme?: string;
  job?: string;
}

/** What other calls than DescribeTasks tell about a task: its cluster, service, host and ENI. */
export interface TaskFacts {
  cluster?: ClusterFacts;
  service?: ServiceFacts;
  /** From DescribeContainerInstances (an `i-...` EC2 id, or `mi-...` for ECS Anywhere). */
  ec2InstanceId?: string;
  /** From DescribeInstances, for EC2 (`i-...`) hosts. */
  instance?: InstanceFacts;
  /** The task ENI's public IP (DescribeNetworkInterfaces). */
  eniPublicIp?: string;
}

export const SKIP_REASONS = [
  "not_running",
  "no_ip",
  "no_host_ip",
  "unresolved_host_port",
  "bad_port_label",
  "task_definition_missing",
  // DescribeTaskDefinition failed for it (deleted, denied, throttled): retried on the next refresh.
  "task_definition_unavailable",
  "invalid_address",
  "no_opt_in",
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** A skip as the mapping sees it; the task's ARN and service are added by buildTaskTargets. */
export interface Skip {
  reason: SkipReason;
  detail: string;
  container?: string;
}

export interface BuildResult {
  targets: DiscoveredTarget[];
  skipped: (SkipRecord & { reason: SkipReason })[];
}

const PORT_RE = /^\d{1,5}$/;

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || !PORT_RE.test(value.trim())) return undefined;
  const n = Number(value);
  return n >= 1 && n <= 65535 ? n : undefined;
}

const numberedPortPatterns = new Map<string, RegExp>();

/** `<prefix>PORT_<n>`, compiled once per prefix (this runs for every container of every task). */
function numberedPortPattern(prefix: string): RegExp {
  let re = numberedPortPatterns.get(prefix);
  if (!re) {
    re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}PORT_(\\d+)$`);
    numberedPortPatterns.set(prefix, re);
  }
  return re;
}

/** The endpoints a container opts in, deduplicated by port and path. */
export function containerEndpoints(
  container: SlimContainerDefinition,
  opts: OptInOptions,
  skipped: Skip[],
): Endpoint[] {
  const out: Endpoint[] = [];
  const labels = container.dockerLabels ?? {};
  const p = opts.labelPrefix;
  if (opts.optIn.includes("labels")) {
    const baseScheme = labels[`${p}SCHEME`];
    const baseJob = labels[`${p}JOB_NAME`];
    const suffixes: string[] = [];
    if (labels[`${p}PORT`] !== undefined) suffixes.push("");
    const numbered = numberedPortPattern(p);
    const nums = Object.keys(labels)
      .map((k) => numbered.exec(k)?.[1])
      .filter((n): n is string => n !== undefined)
      .sort((a, b) => Number(a) - Number(b));
    suffixes.push(...nums.map((n) => `_${n}`));
    for (const s of suffixes) {
      const port = parsePort(labels[`${p}PORT${s}`]);
      if (port === undefined) {
        skipped.push({
          reason: "bad_port_label",
          detail: `label ${p}PORT${s}=${JSON.stringify(labels[`${p}PORT${s}`])} is not a port number (1-65535)`,
          ...(container.name ? { container: container.name } : {}),
        });
        continue;
      }
      // Numbered endpoints inherit scheme and job from the unnumbered labels; the path is per endpoint.
      const path = labels[`${p}PATH${s}`];
      const scheme = labels[`${p}SCHEME${s}`] ?? baseScheme;
      const job = labels[`${p}JOB_NAME${s}`] ?? baseJob;
      out.push({
        containerPort: port,
        ...(path ? { path } : {}),
        ...(scheme ? { scheme } : {}),
        ...(job ? { job } : {}),
      });
    }
  }
  // A port the labels already declare keeps their path/scheme/job; a bare named-port copy would scrape
  // the default path on the same address.
  const labelled = new Set(out.map((e) => e.containerPort));
  for (const pm of container.portMappings ?? []) {
    if (pm.containerPort === undefined || !pm.name || labelled.has(pm.containerPort)) continue;
    const byName = opts.optIn.includes("port-name") && pm.name === opts.portName;
    if (byName || opts.optIn.includes("all-named-ports")) out.push({ containerPort: pm.containerPort });
  }
  const seen = new Set<string>();
  return out.filter((e) => {
    const key = `${e.containerPort} ${e.path ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export const isEniAttachment = (type: string | undefined) =>
  type === "ElasticNetworkInterface" || type === "eni";

interface EniAddress {
  ip?: string;
  subnetId?: string;
  eniId?: string;
}

/** The task's ENI address (awsvpc): attachment details first, then the containers' interfaces. */
export function taskEniAddress(task: SlimTask): EniAddress {
  for (const att of task.attachments ?? []) {
    if (!isEniAttachment(att.type)) continue;
    // Read in one pass without a map of the details: this runs for every task on every refresh.
    let ipv4: string | undefined, ipv6: string | undefined, subnetId: string | undefined;
    let eniId: string | undefined;
    for (const { name, value } of att.details ?? []) {
      if (name === "privateIPv4Address") ipv4 = value;
      else if (name === "ipv6Address") ipv6 = value;
      else if (name === "subnetId") subnetId = value;
      else if (name === "networkInterfaceId") eniId = value;
    }
    const ip = ipv4 ?? ipv6;
    if (ip) return { ip, ...(subnetId ? { subnetId } : {}), ...(eniId ? { eniId } : {}) };
  }
  for (const c of task.containers ?? [])
    for (const ni of c.networkInterfaces ?? []) {
      const ip = ni.privateIpv4Address ?? ni.ipv6Address;
      if (ip) return { ip };
    }
  return {};
}

/**
 * The `network_mode` label as Prometheus' own ECS discovery derives it: "awsvpc" when the task has an ENI
 * attachment, else "bridge" when it runs on a container instance (host mode included), else none.
 */
export function labelNetworkMode(task: SlimTask): string | undefined {
  if ((task.attachments ?? []).some((a) => isEniAttachment(a.type))) return "awsvpc";
  return task.containerInstanceArn ? "bridge" : undefined;
}

/** How the task is addressed (from its definition): awsvpc by ENI, host/bridge through the host. */
export function networkModeOf(task: SlimTask, def: SlimTaskDefinition): string {
  if (def.networkMode) return def.networkMode;
  return task.launchType === "FARGATE" ? "awsvpc" : "bridge";
}

export function clusterNameFromArn(arn: string | undefined): string | undefined {
  const resource = arn ? parseArn(arn)?.resource : undefined;
  return resource?.startsWith("cluster/") ? resource.slice("cluster/".length) : undefined;
}

function setTags(l: Labels, prefix: TagPrefix, tags: Tags | undefined): void {
  for (const [k, v] of Object.entries(tags ?? {})) setLabel(l, tagLabelName(prefix, k), v);
}

function taskLabels(task: SlimTask, def: SlimTaskDefinition, facts: TaskFacts): Labels {
  const l: Labels = {};
  const arn = parseArn(task.taskArn ?? "");
  const { cluster, service, instance } = facts;
  const networkMode = labelNetworkMode(task);
  const eni = taskEniAddress(task);
  setLabel(l, ECS_LABELS.cluster, cluster?.name ?? clusterNameFromArn(task.clusterArn));
  setLabel(l, ECS_LABELS.clusterArn, task.clusterArn);
  if (task.group?.startsWith("service:"))
    setLabel(l, ECS_LABELS.service, task.group.slice("service:".length));
  setLabel(l, ECS_LABELS.serviceArn, service?.arn);
  setLabel(l, ECS_LABELS.serviceStatus, service?.status);
  setLabel(l, ECS_LABELS.taskArn, task.taskArn);
  setLabel(l, ECS_LABELS.taskGroup, task.group);
  setLabel(l, ECS_LABELS.taskDefinition, task.taskDefinitionArn);
  setLabel(l, ECS_LABELS.taskDefinitionFamily, def.family);
  setLabel(l, ECS_LABELS.taskDefinitionRevision, def.revision);
  setLabel(l, ECS_LABELS.launchType, task.launchType);
  setLabel(l, ECS_LABELS.networkMode, networkMode);
  setLabel(l, ECS_LABELS.lastStatus, task.lastStatus);
  setLabel(l, ECS_LABELS.desiredStatus, task.desiredStatus);
  setLabel(l, ECS_LABELS.healthStatus, task.healthStatus);
  setLabel(l, ECS_LABELS.availabilityZone, task.availabilityZone);
  setLabel(l, ECS_LABELS.region, arn?.region);
  setLabel(l, ECS_LABELS.accountId, arn?.accountId);
  setLabel(l, ECS_LABELS.platformFamily, task.platformFamily);
  setLabel(l, ECS_LABELS.platformVersion, task.platformVersion);
  setLabel(l, ECS_LABELS.subnetId, eni.subnetId ?? instance?.subnetId);
  setLabel(l, ECS_LABELS.publicIp, networkMode === "awsvpc" ? facts.eniPublicIp : instance?.publicIp);
  setLabel(l, ECS_LABELS.containerInstanceArn, task.containerInstanceArn);
  setLabel(l, ECS_LABELS.ec2InstanceId, facts.ec2InstanceId);
  setLabel(l, ECS_LABELS.ec2InstanceType, instance?.instanceType);
  setLabel(l, ECS_LABELS.ec2InstancePrivateIp, instance?.privateIp);
  setLabel(l, ECS_LABELS.ec2InstancePublicIp, instance?.publicIp);
  setTags(l, ECS_LABELS.clusterTagPrefix, cluster?.tags);
  setTags(l, ECS_LABELS.serviceTagPrefix, service?.tags);
  for (const tag of task.tags ?? [])
    if (tag.key) setLabel(l, tagLabelName(ECS_LABELS.taskTagPrefix, tag.key), tag.value);
  setTags(l, ECS_LABELS.ec2TagPrefix, instance?.tags);
  return l;
}

/**
 * Targets for one task: one per (container, opted-in port). Tasks that are not RUNNING or have no
 * resolvable address are skipped with a reason, never emitted as `ip:0` or `:port`.
 */
export function buildTaskTargets(
  task: SlimTask,
  def: SlimTaskDefinition | undefined,
  facts: TaskFacts,
  opts: OptInOptions,
): BuildResult {
  const skips: Skip[] = [];
  const service = task.group?.startsWith("service:") ? task.group.slice("service:".length) : undefined;
  const result = (targets: DiscoveredTarget[]): BuildResult => ({
    targets,
    skipped: skips.map((s) => ({ task: task.taskArn ?? "", ...(service ? { service } : {}), ...s })),
  });
  if (!def) {
    skips.push({ reason: "task_definition_missing", detail: skipDetail.taskDefinitionMissing(task) });
    return result([]);
  }
  if (task.lastStatus !== "RUNNING") {
    skips.push({ reason: "not_running", detail: skipDetail.notRunning(task) });
    return result([]);
  }
  const networkMode = networkModeOf(task, def);
  const eni = networkMode === "awsvpc" ? taskEniAddress(task) : {};
  const base = taskLabels(task, def, facts);
  const cluster = base[ECS_LABELS.cluster];
  const targets: DiscoveredTarget[] = [];
  for (const container of def.containerDefinitions ?? []) {
    const before = skips.length;
    const endpoints = containerEndpoints(container, opts, skips);
    const on = container.name ? { container: container.name } : {};
    const skip = (reason: SkipReason, detail: string) => skips.push({ reason, detail, ...on });
    if (endpoints.length === 0) {
      // A container whose only opt-in was a bad label is already recorded as such.
      if (skips.length === before) skip("no_opt_in", skipDetail.noOptIn(opts));
      continue;
    }
    const running = task.containers?.find((c) => c.name === container.name);
    for (const ep of endpoints) {
      let ip: string | undefined;
      let port: number | undefined;
      if (networkMode === "awsvpc") {
        ip = eni.ip;
        port = ep.containerPort;
        if (!ip) {
          skip("no_ip", "the task has no IP address yet (its awsvpc network interface is not attached)");
          continue;
        }
      } else {
        ip = facts.instance?.privateIp;
        if (networkMode === "host") port = ep.containerPort;
        else {
          const binding = running?.networkBindings?.find(
            (b) => b.containerPort === ep.containerPort && (b.protocol ?? "tcp") === "tcp" && b.hostPort,
          );
          port = binding?.hostPort;
        }
        if (!port) {
          skip(
            "unresolved_host_port",
            `container port ${ep.containerPort} has no TCP host port binding (${networkMode} mode: map it in portMappings)`,
          );
          continue;
        }
        if (!ip) {
          skip(
            "no_host_ip",
            "the private IP of the EC2 instance it runs on is unknown (ECS Anywhere host, or DescribeContainerInstances/DescribeInstances failed)",
          );
          continue;
        }
      }
      if (!validAddress(ip)) {
        skip("invalid_address", `the address AWS gave, ${JSON.stringify(ip)}, is not an IP address`);
        continue;
      }
      const labels: Labels = { ...base };
      setLabel(labels, ECS_LABELS.ipAddress, ip);
      setLabel(labels, ECS_LABELS.containerName, container.name);
      setLabel(labels, ECS_LABELS.containerPort, ep.containerPort);
      const mapping = container.portMappings?.find((pm) => pm.containerPort === ep.containerPort);
      setLabel(labels, ECS_LABELS.portName, mapping?.name);
      for (const [k, v] of Object.entries(container.dockerLabels ?? {}))
        setLabel(labels, containerLabelName(k), v);
      setLabel(labels, "__metrics_path__", ep.path);
      setLabel(labels, "__scheme__", ep.scheme);
      setLabel(labels, "job", ep.job);
      targets.push({
        source: "ecs",
        ...(cluster ? { cluster } : {}),
        ...(service ? { service } : {}),
        group: { targets: [formatAddress(ip, port)], labels: sortedLabels(labels) },
      });
    }
  }
  return result(targets);
}

/** A DescribeTaskDefinition error that says when the definition is asked for again (else next refresh). */
export type TaskDefinitionError = Error & { retry?: string };

/** The skip of a task whose definition DescribeTaskDefinition could not answer this refresh. */
export function taskDefinitionUnavailable(
  task: SlimTask,
  error: TaskDefinitionError,
): BuildResult["skipped"][number] {
  const service = task.group?.startsWith("service:") ? task.group.slice("service:".length) : undefined;
  return {
    task: task.taskArn ?? "",
    ...(service ? { service } : {}),
    reason: "task_definition_unavailable",
    detail: `DescribeTaskDefinition failed for ${task.taskDefinitionArn ?? "its task definition"}: ${error.name}: ${error.message} (${error.retry ?? "asked again next refresh"})`,
  };
}

/** The sentences of the reasons whose wording depends on the task or the options. */
export const skipDetail = {
  taskDefinitionMissing: (task: SlimTask) =>
    `its task definition ${task.taskDefinitionArn ?? "(none named)"} could not be described (deleted, or DescribeTaskDefinition failed)`,
  notRunning: (task: SlimTask) =>
    `the task is ${task.lastStatus ?? "in an unknown state"}, not RUNNING (only running tasks are scraped)`,
  noOptIn: (opts: OptInOptions) => {
    const ways: string[] = [];
    if (opts.optIn.includes("labels")) ways.push(`no ${opts.labelPrefix}PORT docker label`);
    if (opts.optIn.includes("port-name")) ways.push(`no port mapping named "${opts.portName}"`);
    if (opts.optIn.includes("all-named-ports")) ways.push("no named port mapping");
    return `not opted in: ${ways.join(", ") || "no opt-in mode is enabled"}`;
  },
};

/** Whether the task needs the container instance's EC2 private IP to be addressed. */
export function needsHostIp(task: SlimTask, def: SlimTaskDefinition | undefined): boolean {
  return def !== undefined && networkModeOf(task, def) !== "awsvpc";
}
