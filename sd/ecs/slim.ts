// What is kept of a described task or task definition: exactly the fields targets, labels, the settled
// check and target reuse read. DescribeTasks answers carry much more (overrides, attributes, managed
// agents, every attachment detail...); cached whole, 10,000 tasks did not fit a 128 MB heap. The types
// are subsets of the SDK's, so a full SDK object is accepted wherever a slim one is, and the compiler
// rejects reading a field the projection does not keep.
import type {
  Attachment,
  Container,
  ContainerDefinition,
  KeyValuePair,
  NetworkBinding,
  NetworkInterface,
  PortMapping,
  Tag,
  Task,
  TaskDefinition,
} from "@aws-sdk/client-ecs";
import { isEniAttachment, taskEniAddress } from "./targets.js";

export type SlimAttachment = Pick<Attachment, "type"> & { details?: Pick<KeyValuePair, "name" | "value">[] };
export type SlimContainer = Pick<Container, "name"> & {
  networkBindings?: Pick<NetworkBinding, "containerPort" | "hostPort" | "protocol">[];
  networkInterfaces?: Pick<NetworkInterface, "privateIpv4Address" | "ipv6Address">[];
};
export type SlimTask = Pick<
  Task,
  | "taskArn"
  | "clusterArn"
  | "group"
  | "taskDefinitionArn"
  | "launchType"
  | "lastStatus"
  | "desiredStatus"
  | "healthStatus"
  | "availabilityZone"
  | "platformFamily"
  | "platformVersion"
  | "containerInstanceArn"
  | "version"
> & {
  attachments?: SlimAttachment[];
  containers?: SlimContainer[];
  tags?: Pick<Tag, "key" | "value">[];
  /** The digest of the description it was projected from (DescribedTask), when it came from one. */
  digest?: string;
};

/** A container definition's health check is only tested for presence (see the settled check). */
export type SlimContainerDefinition = Pick<ContainerDefinition, "name" | "dockerLabels"> & {
  portMappings?: Pick<PortMapping, "containerPort" | "name">[];
  healthCheck?: object;
};
export type SlimTaskDefinition = Pick<TaskDefinition, "family" | "revision" | "networkMode"> & {
  containerDefinitions?: SlimContainerDefinition[];
};

/**
 * Repeated strings (cluster, task definition and container instance ARNs, groups, statuses, zones,
 * container names, tags) shared across the tasks of a cluster instead of one copy per task. The table is
 * emptied when it outgrows its bound, which costs only sharing.
 */
const MIN_STRINGS = 1024;
const STRINGS_PER_TASK = 16;

export class StringTable {
  private readonly strings = new Map<string, string>();
  private max = MIN_STRINGS;

  /** Bounds the table by the cluster's task count (a few dozen distinct strings per task at most). */
  bound(tasks: number): void {
    this.max = MIN_STRINGS + STRINGS_PER_TASK * tasks;
  }

  intern<S extends string | undefined>(s: S): S {
    if (s === undefined) return s;
    const known = this.strings.get(s);
    if (known !== undefined) return known as S;
    if (this.strings.size >= this.max) this.strings.clear();
    this.strings.set(s, s);
    return s;
  }
}

/** The attachment details an ENI address is read from (see taskEniAddress). */
const ENI_DETAILS = new Set(["privateIPv4Address", "ipv6Address", "subnetId", "networkInterfaceId"]);

/** Sets `key` only when defined, so a projected object has no keys the SDK object lacked. */
function put<T extends object, K extends keyof T>(out: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) out[key] = value;
}

export function slimTask(task: Task, strings: StringTable, digest?: string): SlimTask {
  const s = <V extends string | undefined>(v: V) => strings.intern(v);
  const out: SlimTask = {};
  put(out, "digest", digest);
  put(out, "taskArn", task.taskArn);
  put(out, "clusterArn", s(task.clusterArn));
  put(out, "group", s(task.group));
  put(out, "taskDefinitionArn", s(task.taskDefinitionArn));
  put(out, "launchType", s(task.launchType));
  put(out, "lastStatus", s(task.lastStatus));
  put(out, "desiredStatus", s(task.desiredStatus));
  put(out, "healthStatus", s(task.healthStatus));
  put(out, "availabilityZone", s(task.availabilityZone));
  put(out, "platformFamily", s(task.platformFamily));
  put(out, "platformVersion", s(task.platformVersion));
  put(out, "containerInstanceArn", s(task.containerInstanceArn));
  put(out, "version", task.version);
  // Only ENI attachments are read (network mode and address); other kinds would only cost memory.
  const enis = (task.attachments ?? []).filter((a) => isEniAttachment(a.type));
  if (enis.length > 0)
    out.attachments = enis.map((a) => ({
      type: s(a.type),
      details: (a.details ?? [])
        .filter((d) => d.name !== undefined && ENI_DETAILS.has(d.name))
        .map((d) => ({ name: s(d.name), value: d.name === "subnetId" ? s(d.value) : d.value })),
    }));
  // The containers' interfaces are read only when no ENI attachment gives the address.
  const addressed = out.attachments !== undefined && taskEniAddress({ attachments: out.attachments }).ip;
  if (task.containers)
    out.containers = task.containers.map((c) => {
      const slim: SlimContainer = {};
      put(slim, "name", s(c.name));
      if (c.networkBindings?.length)
        slim.networkBindings = c.networkBindings.map((b) => {
          const nb: NonNullable<SlimContainer["networkBindings"]>[number] = {};
          put(nb, "containerPort", b.containerPort);
          put(nb, "hostPort", b.hostPort);
          put(nb, "protocol", s(b.protocol));
          return nb;
        });
      if (!addressed && c.networkInterfaces?.length)
        slim.networkInterfaces = c.networkInterfaces.map((ni) => {
          const n: NonNullable<SlimContainer["networkInterfaces"]>[number] = {};
          put(n, "privateIpv4Address", ni.privateIpv4Address);
          put(n, "ipv6Address", ni.ipv6Address);
          return n;
        });
      return slim;
    });
  if (task.tags) out.tags = task.tags.map((t) => ({ key: s(t.key), value: s(t.value) }));
  return out;
}

/** Shared by every projected container definition with a health check: only its presence is read. */
const HEALTH_CHECK_PRESENT: object = Object.freeze({});

export function slimTaskDefinition(def: TaskDefinition): SlimTaskDefinition {
  const out: SlimTaskDefinition = {};
  put(out, "family", def.family);
  put(out, "revision", def.revision);
  put(out, "networkMode", def.networkMode);
  if (def.containerDefinitions)
    out.containerDefinitions = def.containerDefinitions.map((c) => {
      const slim: SlimContainerDefinition = {};
      put(slim, "name", c.name);
      put(slim, "dockerLabels", c.dockerLabels);
      if (c.portMappings)
        slim.portMappings = c.portMappings.map((pm) => {
          const p: NonNullable<SlimContainerDefinition["portMappings"]>[number] = {};
          put(p, "containerPort", pm.containerPort);
          put(p, "name", pm.name);
          return p;
        });
      if (c.healthCheck !== undefined) slim.healthCheck = HEALTH_CHECK_PRESENT;
      return slim;
    });
  return out;
}
