// AWS Cloud Map (servicediscovery) over AWS JSON 1.1 (X-Amz-Target Route53AutoNaming_v20170314.<Op>):
// namespaces, services, DiscoverInstances (MaxResults default 100, max 1000; health filters) and
// ListInstances, with Cloud Map's own error names (NamespaceNotFound, ServiceNotFound, InvalidInput).
import type {
  HttpInstanceSummary,
  Namespace,
  NamespaceSummary,
  Service,
  ServiceSummary,
} from "@aws-sdk/client-servicediscovery";
import { byKey, limit, optString, page, stringList, type Wire } from "./paging.js";
import { SimAwsError } from "./protocol.js";
import type { CloudMapState, CmInstanceRec, CmServiceRec, NamespaceRec } from "./cloudmap-state.js";

const invalid = (message: string) => new SimAwsError("InvalidInput", message);
const badToken = () => invalid("The specified NextToken is not valid.");
const sec = (ms: number) => ms / 1000;

interface Filter {
  Name: string;
  Values: string[];
  Condition: string;
}

function parseFilters(params: Record<string, unknown>, allowed: string[]): Filter[] {
  const raw = params.Filters;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalid("Filters must be a list");
  return raw.map((f: unknown) => {
    const o = (f ?? {}) as Record<string, unknown>;
    const name = String(o.Name ?? "");
    if (!allowed.includes(name))
      throw invalid(`Filter name ${name} is not valid; expected one of ${allowed.join(", ")}`);
    const values = stringList(o, "Values", invalid) ?? [];
    if (values.length === 0) throw invalid(`Filter ${name} needs at least one value`);
    const condition = String(o.Condition ?? "EQ");
    if (!["EQ", "IN", "BEGINS_WITH"].includes(condition))
      throw invalid(`Filter condition ${condition} is not valid`);
    if (condition === "EQ" && values.length > 1)
      throw invalid(`Filter ${name} with condition EQ takes exactly one value`);
    return { Name: name, Values: values, Condition: condition };
  });
}

function filterMatch(f: Filter, value: string): boolean {
  if (f.Condition === "BEGINS_WITH") return f.Values.some((v) => value.startsWith(v));
  return f.Values.includes(value);
}

function namespaceOrThrow(cloudMap: CloudMapState, id: string | undefined): NamespaceRec {
  const ns = id ? cloudMap.namespaces.get(id) : undefined;
  if (!ns) throw new SimAwsError("NamespaceNotFound", `Namespace ${id ?? ""} not found`);
  return ns;
}

function serviceOrThrow(cloudMap: CloudMapState, id: string | undefined): CmServiceRec {
  const svc = id ? cloudMap.findServiceById(id) : undefined;
  if (!svc) throw new SimAwsError("ServiceNotFound", `Service ${id ?? ""} not found`);
  return svc;
}

/** Namespace names and ids a request touches (for per-namespace fault rules). */
export function cloudMapNamespaces(
  cloudMap: CloudMapState,
  operation: string,
  params: Record<string, unknown>,
  region: string,
): string[] {
  const out: NamespaceRec[] = [];
  const add = (ns: NamespaceRec | undefined) => ns && out.push(ns);
  if (operation === "DiscoverInstances" && typeof params.NamespaceName === "string") {
    const ns = cloudMap.findNamespace(params.NamespaceName, region);
    if (!ns) return [params.NamespaceName];
    add(ns);
  }
  if (operation === "GetNamespace" && typeof params.Id === "string") add(cloudMap.namespaces.get(params.Id));
  if (["GetService", "ListInstances", "GetInstance", "GetInstancesHealthStatus"].includes(operation)) {
    const id =
      typeof params.Id === "string"
        ? params.Id
        : typeof params.ServiceId === "string"
          ? params.ServiceId
          : "";
    add(cloudMap.findServiceById(id)?.namespace);
  }
  if (operation === "ListServices" && Array.isArray(params.Filters))
    for (const f of params.Filters as { Name?: string; Values?: string[] }[])
      if (f.Name === "NAMESPACE_ID") for (const v of f.Values ?? []) add(cloudMap.namespaces.get(v));
  if (operation === "ListTagsForResource" && typeof params.ResourceARN === "string") {
    const arn = params.ResourceARN;
    for (const ns of cloudMap.namespaces.values()) {
      if (ns.arn === arn) add(ns);
      for (const s of ns.services.values()) if (s.arn === arn) add(ns);
    }
  }
  return out.flatMap((ns) => [ns.name, ns.id]);
}

export function handleCloudMap(
  cloudMap: CloudMapState,
  operation: string,
  params: Record<string, unknown>,
  region: string,
): unknown {
  switch (operation) {
    case "ListNamespaces": {
      const max = limit(params, "MaxResults", 1, 100, 100, invalid);
      const filters = parseFilters(params, ["TYPE", "NAME", "HTTP_NAME", "RESOURCE_OWNER"]);
      const all = [...cloudMap.namespaces.values()]
        .filter((ns) => ns.region === region)
        .filter((ns) =>
          filters.every((f) =>
            filterMatch(f, f.Name === "TYPE" ? ns.type : f.Name === "RESOURCE_OWNER" ? "SELF" : ns.name),
          ),
        )
        .sort(byKey((ns) => ns.id));
      const p = page(all, (ns) => ns.id, params.NextToken, max, badToken);
      return {
        Namespaces: p.items.map((ns) => renderNamespace(cloudMap, ns)),
        ...(p.nextToken ? { NextToken: p.nextToken } : {}),
      };
    }
    case "GetNamespace": {
      const ns = namespaceOrThrow(cloudMap, optString(params, "Id", invalid));
      return {
        Namespace: {
          ...renderNamespace(cloudMap, ns),
          CreatorRequestId: `sim-${ns.id}`,
        } satisfies Wire<Namespace>,
      };
    }
    case "ListServices": {
      const max = limit(params, "MaxResults", 1, 100, 100, invalid);
      const filters = parseFilters(params, ["NAMESPACE_ID", "RESOURCE_OWNER"]);
      for (const f of filters)
        if (f.Condition === "BEGINS_WITH")
          throw invalid(`Filter ${f.Name} does not support condition BEGINS_WITH`);
      const all = [...cloudMap.namespaces.values()]
        .filter((ns) => ns.region === region)
        .flatMap((ns) => [...ns.services.values()])
        .filter((s) =>
          filters.every((f) => filterMatch(f, f.Name === "NAMESPACE_ID" ? s.namespace.id : "SELF")),
        )
        .sort(byKey((s) => s.id));
      const p = page(all, (s) => s.id, params.NextToken, max, badToken);
      return {
        Services: p.items.map((s) => renderServiceSummary(cloudMap, s)),
        ...(p.nextToken ? { NextToken: p.nextToken } : {}),
      };
    }
    case "GetService": {
      const svc = serviceOrThrow(cloudMap, optString(params, "Id", invalid));
      const { ResourceOwner, ...summary } = renderServiceSummary(cloudMap, svc);
      const service: Wire<Service> = {
        ...summary,
        ResourceOwner,
        NamespaceId: svc.namespace.id,
        CreatorRequestId: `sim-${svc.id}`,
      };
      return { Service: service };
    }
    case "DiscoverInstances": {
      const nsName = optString(params, "NamespaceName", invalid);
      const svcName = optString(params, "ServiceName", invalid);
      if (!nsName || !svcName) throw invalid("NamespaceName and ServiceName are required");
      const max = limit(params, "MaxResults", 1, 1000, 100, invalid);
      const health = optString(params, "HealthStatus", invalid) ?? "HEALTHY";
      if (!["HEALTHY", "UNHEALTHY", "ALL", "HEALTHY_OR_ELSE_ALL"].includes(health))
        throw invalid(`HealthStatus must be HEALTHY, UNHEALTHY, ALL or HEALTHY_OR_ELSE_ALL, got ${health}`);
      const ns = cloudMap.findNamespace(nsName, region);
      if (!ns || ns.id === nsName)
        throw new SimAwsError("NamespaceNotFound", `Namespace ${nsName} not found`);
      const svc = ns.services.get(svcName);
      if (!svc)
        throw new SimAwsError("ServiceNotFound", `Service ${svcName} not found in namespace ${nsName}`);
      let instances = [...svc.instances.values()].sort(byKey((i) => i.id));
      // Cloud Map ignores the health filter for services without health checking (and reports UNKNOWN).
      if (svc.customHealthCheck) {
        const healthy = instances.filter((i) => i.health === "HEALTHY");
        if (health === "HEALTHY") instances = healthy;
        else if (health === "UNHEALTHY") instances = instances.filter((i) => i.health === "UNHEALTHY");
        else if (health === "HEALTHY_OR_ELSE_ALL" && healthy.length > 0) instances = healthy;
      }
      const query = (params.QueryParameters ?? {}) as Record<string, string>;
      instances = instances.filter((i) => Object.entries(query).every(([k, v]) => i.attributes[k] === v));
      const optional = (params.OptionalParameters ?? {}) as Record<string, string>;
      const narrowed = instances.filter((i) =>
        Object.entries(optional).every(([k, v]) => i.attributes[k] === v),
      );
      if (narrowed.length > 0) instances = narrowed;
      const out: Wire<HttpInstanceSummary>[] = instances.slice(0, max).map((i) => ({
        InstanceId: i.id,
        NamespaceName: ns.name,
        ServiceName: svc.name,
        HealthStatus: svc.customHealthCheck ? i.health : "UNKNOWN",
        Attributes: { ...i.attributes },
      }));
      return { Instances: out, InstancesRevision: svc.revision };
    }
    case "DiscoverInstancesRevision": {
      const ns = cloudMap.findNamespace(String(params.NamespaceName ?? ""), region);
      if (!ns)
        throw new SimAwsError("NamespaceNotFound", `Namespace ${String(params.NamespaceName)} not found`);
      const svc = ns.services.get(String(params.ServiceName ?? ""));
      if (!svc) throw new SimAwsError("ServiceNotFound", `Service ${String(params.ServiceName)} not found`);
      return { InstancesRevision: svc.revision };
    }
    case "ListInstances": {
      const svc = serviceOrThrow(cloudMap, optString(params, "ServiceId", invalid));
      const max = limit(params, "MaxResults", 1, 100, 100, invalid);
      const all = [...svc.instances.values()].sort(byKey((i) => i.id));
      const p = page(all, (i) => i.id, params.NextToken, max, badToken);
      return {
        ResourceOwner: cloudMap.ctx.accountId,
        Instances: p.items.map((i) => renderInstance(cloudMap, i)),
        ...(p.nextToken ? { NextToken: p.nextToken } : {}),
      };
    }
    case "GetInstance": {
      const svc = serviceOrThrow(cloudMap, optString(params, "ServiceId", invalid));
      const inst = svc.instances.get(String(params.InstanceId ?? ""));
      if (!inst) throw new SimAwsError("InstanceNotFound", `Instance ${String(params.InstanceId)} not found`);
      return { ResourceOwner: cloudMap.ctx.accountId, Instance: renderInstance(cloudMap, inst) };
    }
    case "GetInstancesHealthStatus": {
      const svc = serviceOrThrow(cloudMap, optString(params, "ServiceId", invalid));
      const max = limit(params, "MaxResults", 1, 100, 100, invalid);
      const wanted = stringList(params, "Instances", invalid);
      const all = [...svc.instances.values()]
        .filter((i) => !wanted || wanted.includes(i.id))
        .sort(byKey((i) => i.id));
      const p = page(all, (i) => i.id, params.NextToken, max, badToken);
      return {
        Status: Object.fromEntries(p.items.map((i) => [i.id, svc.customHealthCheck ? i.health : "UNKNOWN"])),
        ...(p.nextToken ? { NextToken: p.nextToken } : {}),
      };
    }
    case "ListTagsForResource": {
      const arn = optString(params, "ResourceARN", invalid);
      for (const ns of cloudMap.namespaces.values()) {
        if (ns.arn === arn) return { Tags: Object.entries(ns.tags).map(([Key, Value]) => ({ Key, Value })) };
        for (const s of ns.services.values())
          if (s.arn === arn) return { Tags: Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })) };
      }
      throw new SimAwsError("ResourceNotFoundException", `Resource ${arn ?? ""} not found`);
    }
    default:
      throw new SimAwsError(
        "UnknownOperationException",
        `The simulated Cloud Map endpoint does not implement ${operation}.`,
      );
  }
}

function renderNamespace(cloudMap: CloudMapState, ns: NamespaceRec): Wire<NamespaceSummary> {
  return {
    Id: ns.id,
    Arn: ns.arn,
    ResourceOwner: cloudMap.ctx.accountId,
    Name: ns.name,
    Type: ns.type,
    ...(ns.description ? { Description: ns.description } : {}),
    ServiceCount: ns.services.size,
    Properties:
      ns.type === "HTTP"
        ? { DnsProperties: {}, HttpProperties: { HttpName: ns.name } }
        : {
            DnsProperties: { HostedZoneId: ns.hostedZoneId!, SOA: { TTL: 15 } },
            HttpProperties: { HttpName: ns.name },
          },
    CreateDate: sec(ns.createdAt),
  };
}

function renderServiceSummary(cloudMap: CloudMapState, s: CmServiceRec): Wire<ServiceSummary> {
  const dns = s.namespace.type !== "HTTP";
  return {
    Id: s.id,
    Arn: s.arn,
    ResourceOwner: cloudMap.ctx.accountId,
    Name: s.name,
    Type: dns ? "DNS_HTTP" : "HTTP",
    ...(s.description ? { Description: s.description } : {}),
    InstanceCount: s.instances.size,
    ...(dns ? { DnsConfig: { RoutingPolicy: "MULTIVALUE", DnsRecords: [{ Type: "A", TTL: 60 }] } } : {}),
    ...(s.customHealthCheck ? { HealthCheckCustomConfig: { FailureThreshold: 1 } } : {}),
    CreateDate: sec(s.createdAt),
    CreatedByAccount: cloudMap.ctx.accountId,
  };
}

function renderInstance(
  cloudMap: CloudMapState,
  i: CmInstanceRec,
): { Id: string; Attributes: Record<string, string>; CreatedByAccount: string } {
  return { Id: i.id, Attributes: { ...i.attributes }, CreatedByAccount: cloudMap.ctx.accountId };
}
