// EC2 DescribeInstances and DescribeNetworkInterfaces over the EC2 query protocol (form-encoded POST, XML
// response): the EC2 hosts behind the container instances (private and public IP, type, subnet, tags), and
// the ENIs of awsvpc tasks with their public IP (Fargate ENIs get one, as with assignPublicIp ENABLED).
import { randomUUID } from "node:crypto";
import { stableHex } from "./ids.js";
import { encodeToken, decodeToken, SimAwsError, xmlEscape } from "./protocol.js";
import type { InstanceRec, TaskRec } from "./ecs-model.js";
import type { EcsState } from "./ecs-state.js";

const invalidValue = (message: string) => new SimAwsError("InvalidParameterValue", message);

/** `InstanceId.1=a&InstanceId.2=b` -> [a, b] (in index order). */
function numbered(params: Record<string, unknown>, prefix: string): string[] {
  const re = new RegExp(`^${prefix.replace(/\./g, "\\.")}\\.(\\d+)$`);
  return Object.keys(params)
    .map((k) => [k, re.exec(k)] as const)
    .filter(([, m]) => m)
    .sort((a, b) => Number(a[1]![1]) - Number(b[1]![1]))
    .map(([k]) => String(params[k]));
}

function filters(params: Record<string, unknown>): { name: string; values: string[] }[] {
  const out: { name: string; values: string[] }[] = [];
  for (let i = 1; params[`Filter.${i}.Name`] !== undefined; i++)
    out.push({ name: String(params[`Filter.${i}.Name`]), values: numbered(params, `Filter.${i}.Value`) });
  return out;
}

function instancesIn(ecs: EcsState, region: string): InstanceRec[] {
  const out: InstanceRec[] = [];
  for (const c of ecs.clusters.values()) if (c.region === region) out.push(...c.instances.values());
  return out.sort((a, b) => (a.ec2InstanceId < b.ec2InstanceId ? -1 : 1));
}

/**
 * A request without a filter, instance ids or pagination: EC2 bills it to the smaller "unfiltered and
 * unpaginated" bucket. Instance ids count as a filter (the instance-id filter selects the same instances).
 */
export function ec2Unfiltered(params: Record<string, unknown>): boolean {
  return !Object.keys(params).some(
    (k) => k.startsWith("InstanceId.") || k.startsWith("Filter.") || k === "MaxResults" || k === "NextToken",
  );
}

/** Clusters whose EC2 hosts a request names (for per-cluster fault rules). */
export function ec2Clusters(ecs: EcsState, params: Record<string, unknown>, region: string): string[] {
  const ids = new Set(numbered(params, "InstanceId"));
  const out = new Set<string>();
  for (const c of ecs.clusters.values())
    if (c.region === region)
      for (const i of c.instances.values()) if (ids.has(i.ec2InstanceId)) out.add(c.name).add(c.arn);
  return [...out];
}

/** A stable public IPv4 address for a resource id (the sim never routes to it). */
export function publicIpFor(id: string): string {
  const h = stableHex(`${id}/public-ip`, 6);
  return `3.${parseInt(h.slice(0, 2), 16)}.${parseInt(h.slice(2, 4), 16)}.${(parseInt(h.slice(4, 6), 16) % 254) + 1}`;
}

/** ENI id -> the task it belongs to, for the region's tasks that have an ENI. */
function enisIn(ecs: EcsState, region: string): Map<string, TaskRec> {
  const out = new Map<string, TaskRec>();
  for (const c of ecs.clusters.values())
    if (c.region === region) for (const t of c.tasks.values()) if (t.eni) out.set(t.eni.id, t);
  return out;
}

function describeNetworkInterfaces(ecs: EcsState, params: Record<string, unknown>, region: string): string {
  const ids = numbered(params, "NetworkInterfaceId");
  const all = enisIn(ecs, region);
  const missing = ids.filter((id) => !all.has(id));
  if (missing.length > 0)
    throw new SimAwsError(
      "InvalidNetworkInterfaceID.NotFound",
      `The networkInterface ID '${missing.join(", ")}' does not exist`,
    );
  const x = xmlEscape;
  const items = (ids.length > 0 ? [...new Set(ids)] : [...all.keys()].sort()).map((id) => {
    const t = all.get(id)!;
    const association =
      t.launchType === "FARGATE"
        ? `<association><publicIp>${publicIpFor(id)}</publicIp><ipOwnerId>amazon</ipOwnerId></association>`
        : "";
    return (
      `<item><networkInterfaceId>${x(id)}</networkInterfaceId><subnetId>${x(t.subnetId)}</subnetId>` +
      `<availabilityZone>${x(t.az)}</availabilityZone><interfaceType>interface</interfaceType>` +
      `<macAddress>${x(t.eni!.mac)}</macAddress><privateIpAddress>${x(t.ip ?? "")}</privateIpAddress>` +
      `<status>in-use</status>${association}</item>`
    );
  });
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">` +
    `<requestId>${randomUUID()}</requestId><networkInterfaceSet>${items.join("")}</networkInterfaceSet>` +
    `</DescribeNetworkInterfacesResponse>`
  );
}

export function handleEc2(
  ecs: EcsState,
  operation: string,
  params: Record<string, unknown>,
  region: string,
): string {
  if (operation === "DescribeNetworkInterfaces") return describeNetworkInterfaces(ecs, params, region);
  if (operation !== "DescribeInstances")
    throw new SimAwsError(
      "InvalidAction",
      `The action ${operation} is not valid for this web service (the simulated EC2 endpoint implements DescribeInstances and DescribeNetworkInterfaces).`,
    );
  const ids = numbered(params, "InstanceId");
  const maxRaw = params.MaxResults;
  if (maxRaw !== undefined && ids.length > 0)
    throw new SimAwsError(
      "InvalidParameterCombination",
      "The parameter instancesSet cannot be used with the parameter maxResults",
    );
  const max = maxRaw === undefined ? 1000 : Number(maxRaw);
  if (!Number.isInteger(max) || max < 5 || max > 1000)
    throw invalidValue(
      `Value ( ${String(maxRaw)} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
    );
  const all = instancesIn(ecs, region);
  let selected: InstanceRec[];
  if (ids.length > 0) {
    const byId = new Map(all.map((i) => [i.ec2InstanceId, i]));
    const malformed = ids.find((id) => !/^i-[0-9a-f]{8,17}$/.test(id));
    if (malformed) throw new SimAwsError("InvalidInstanceID.Malformed", `Invalid id: "${malformed}"`);
    const missing = ids.filter((id) => !byId.has(id));
    if (missing.length > 0)
      throw new SimAwsError(
        "InvalidInstanceID.NotFound",
        `The instance ID${missing.length > 1 ? "s" : ""} '${missing.join(", ")}' do${missing.length > 1 ? "" : "es"} not exist`,
      );
    selected = [...new Set(ids)].map((id) => byId.get(id)!);
  } else selected = all;
  for (const f of filters(params)) {
    const get: ((i: InstanceRec) => string) | undefined = {
      "instance-id": (i: InstanceRec) => i.ec2InstanceId,
      "private-ip-address": (i: InstanceRec) => i.privateIp,
      "instance-state-name": () => "running",
      "availability-zone": (i: InstanceRec) => i.az,
    }[f.name];
    if (!get) throw invalidValue(`The filter '${f.name}' is invalid`);
    selected = selected.filter((i) => f.values.includes(get(i)));
  }
  let nextToken: string | undefined;
  if (ids.length === 0) {
    const after = decodeToken(params.NextToken, () => invalidValue("Invalid value for parameter nextToken"));
    if (after !== undefined) selected = selected.filter((i) => i.ec2InstanceId > String(after));
    if (selected.length > max) {
      selected = selected.slice(0, max);
      nextToken = encodeToken(selected[selected.length - 1]!.ec2InstanceId);
    }
  }
  const items = selected.map((i) => renderInstance(ecs, i)).join("");
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">` +
    `<requestId>${randomUUID()}</requestId><reservationSet>${items}</reservationSet>` +
    (nextToken ? `<nextToken>${nextToken}</nextToken>` : "") +
    `</DescribeInstancesResponse>`
  );
}

function renderInstance(ecs: EcsState, i: InstanceRec): string {
  const x = xmlEscape;
  const dns = `ip-${i.privateIp.replace(/\./g, "-")}.ec2.internal`;
  const launch = new Date(i.registeredAt).toISOString();
  return (
    `<item><reservationId>r-${stableHex(i.ec2InstanceId + "r", 17)}</reservationId><ownerId>${ecs.ctx.accountId}</ownerId><groupSet/>` +
    `<instancesSet><item>` +
    `<instanceId>${x(i.ec2InstanceId)}</instanceId><imageId>ami-${stableHex("ami", 17)}</imageId>` +
    `<instanceState><code>16</code><name>running</name></instanceState>` +
    `<privateDnsName>${dns}</privateDnsName><dnsName/><amiLaunchIndex>0</amiLaunchIndex>` +
    `<ipAddress>${publicIpFor(i.ec2InstanceId)}</ipAddress>` +
    `<instanceType>${x(i.instanceType)}</instanceType><launchTime>${launch}</launchTime>` +
    `<placement><availabilityZone>${x(i.az)}</availabilityZone><groupName/><tenancy>default</tenancy></placement>` +
    `<monitoring><state>disabled</state></monitoring>` +
    `<subnetId>subnet-${stableHex(`${i.region}/${i.az}`, 17)}</subnetId><vpcId>vpc-${stableHex(i.region, 17)}</vpcId>` +
    `<privateIpAddress>${x(i.privateIp)}</privateIpAddress>` +
    `<architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName>` +
    `<tagSet><item><key>Name</key><value>ECS Instance - ${x(i.clusterArn.split("/").pop()!)}</value></item></tagSet>` +
    `<networkInterfaceSet><item><networkInterfaceId>eni-${stableHex(i.ec2InstanceId + "eni", 17)}</networkInterfaceId>` +
    `<privateIpAddress>${x(i.privateIp)}</privateIpAddress><privateDnsName>${dns}</privateDnsName>` +
    `<status>in-use</status></item></networkInterfaceSet>` +
    `</item></instancesSet></item>`
  );
}
