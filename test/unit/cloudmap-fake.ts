// An in-memory Cloud Map behind nock, answering the six operations the source uses with the real API's
// semantics that matter here: paging, the DiscoverInstances default of 100 results, health filters
// (ignored for services without a health check), NamespaceName = HttpName.
import { AwsError, mockJson, type Mock } from "../helpers/aws-nock.js";

export const ACCOUNT = "123456789012";

export interface FakeNamespace {
  id: string;
  name: string;
  type: "HTTP" | "DNS_PRIVATE" | "DNS_PUBLIC";
  /** Defaults to the name (Cloud Map adds a hash when a name is reused). */
  httpName?: string;
}

export interface FakeService {
  id: string;
  name: string;
  namespaceId: string;
  healthChecked?: boolean;
  tags?: Record<string, string>;
}

export interface FakeInstance {
  id: string;
  serviceId: string;
  attributes: Record<string, string>;
  health?: "HEALTHY" | "UNHEALTHY" | "UNKNOWN";
}

export interface FakeWorld {
  namespaces: FakeNamespace[];
  services: FakeService[];
  instances: FakeInstance[];
  /** Per operation: return an error to answer with it instead. */
  fail?: Partial<Record<string, (body: Record<string, unknown>) => AwsError | undefined>>;
  /** Namespaces whose DiscoverInstances answers NamespaceNotFound (as for API-only lookups that cannot serve). */
  discoverUnsupported?: Set<string>;
}

export const nsArn = (id: string) => `arn:aws:servicediscovery:us-east-1:${ACCOUNT}:namespace/${id}`;
export const svcArn = (id: string) => `arn:aws:servicediscovery:us-east-1:${ACCOUNT}:service/${id}`;

function page<T>(items: T[], body: Record<string, unknown>, max: number): { items: T[]; next?: string } {
  const start = body.NextToken ? Number(body.NextToken) : 0;
  const size = Math.min((body.MaxResults as number | undefined) ?? max, max);
  const slice = items.slice(start, start + size);
  return start + size < items.length ? { items: slice, next: String(start + size) } : { items: slice };
}

function healthOf(svc: FakeService, inst: FakeInstance): string {
  return inst.health ?? (svc.healthChecked ? "HEALTHY" : "UNKNOWN");
}

export function mockCloudMap(world: FakeWorld): Mock {
  const guard =
    (op: string, fn: (body: Record<string, unknown>) => unknown) =>
    (body: Record<string, unknown>): unknown => {
      const err = world.fail?.[op]?.(body);
      if (err) throw err;
      return fn(body);
    };
  return mockJson({
    ListNamespaces: guard("ListNamespaces", (body) => {
      const p = page(world.namespaces, body, 100);
      return {
        Namespaces: p.items.map((ns) => ({
          Id: ns.id,
          Arn: nsArn(ns.id),
          Name: ns.name,
          Type: ns.type,
          Properties: { HttpProperties: { HttpName: ns.httpName ?? ns.name } },
        })),
        ...(p.next ? { NextToken: p.next } : {}),
      };
    }),
    ListServices: guard("ListServices", (body) => {
      const filter = (body.Filters as { Name: string; Values: string[] }[] | undefined)?.find(
        (f) => f.Name === "NAMESPACE_ID",
      );
      const services = world.services.filter((s) => !filter || filter.Values.includes(s.namespaceId));
      const p = page(services, body, 100);
      return {
        Services: p.items.map((s) => ({
          Id: s.id,
          Arn: svcArn(s.id),
          Name: s.name,
          Type: "HTTP",
          ...(s.healthChecked ? { HealthCheckCustomConfig: { FailureThreshold: 1 } } : {}),
        })),
        ...(p.next ? { NextToken: p.next } : {}),
      };
    }),
    DiscoverInstances: guard("DiscoverInstances", (body) => {
      const ns = world.namespaces.find((n) => (n.httpName ?? n.name) === body.NamespaceName);
      if (!ns || world.discoverUnsupported?.has(ns.name))
        throw new AwsError(
          "NamespaceNotFound",
          `No namespace exists with name: ${String(body.NamespaceName)}`,
        );
      const svc = world.services.find((s) => s.namespaceId === ns.id && s.name === body.ServiceName);
      if (!svc) throw new AwsError("ServiceNotFound", `Service not found: ${String(body.ServiceName)}`);
      let instances = world.instances.filter((i) => i.serviceId === svc.id);
      if (svc.healthChecked) {
        const filter = (body.HealthStatus as string | undefined) ?? "HEALTHY";
        const healthy = instances.filter((i) => healthOf(svc, i) === "HEALTHY");
        if (filter === "HEALTHY") instances = healthy;
        else if (filter === "UNHEALTHY")
          instances = instances.filter((i) => healthOf(svc, i) === "UNHEALTHY");
        else if (filter === "HEALTHY_OR_ELSE_ALL" && healthy.length > 0) instances = healthy;
      }
      const max = (body.MaxResults as number | undefined) ?? 100;
      return {
        Instances: instances.slice(0, max).map((i) => ({
          InstanceId: i.id,
          NamespaceName: ns.httpName ?? ns.name,
          ServiceName: svc.name,
          HealthStatus: healthOf(svc, i),
          Attributes: i.attributes,
        })),
        InstancesRevision: 1,
      };
    }),
    ListInstances: guard("ListInstances", (body) => {
      const svc = world.services.find((s) => s.id === body.ServiceId);
      if (!svc) throw new AwsError("ServiceNotFound", `Service not found: ${String(body.ServiceId)}`);
      const p = page(
        world.instances.filter((i) => i.serviceId === svc.id),
        body,
        100,
      );
      return {
        Instances: p.items.map((i) => ({ Id: i.id, Attributes: i.attributes })),
        ...(p.next ? { NextToken: p.next } : {}),
      };
    }),
    GetInstancesHealthStatus: guard("GetInstancesHealthStatus", (body) => {
      const svc = world.services.find((s) => s.id === body.ServiceId);
      if (!svc) throw new AwsError("ServiceNotFound", `Service not found: ${String(body.ServiceId)}`);
      const p = page(
        world.instances.filter((i) => i.serviceId === svc.id),
        body,
        100,
      );
      return {
        Status: Object.fromEntries(p.items.map((i) => [i.id, healthOf(svc, i)])),
        ...(p.next ? { NextToken: p.next } : {}),
      };
    }),
    ListTagsForResource: guard("ListTagsForResource", (body) => {
      const svc = world.services.find((s) => svcArn(s.id) === body.ResourceARN);
      if (!svc) throw new AwsError("ResourceNotFoundException", "no such resource");
      return { Tags: Object.entries(svc.tags ?? {}).map(([Key, Value]) => ({ Key, Value })) };
    }),
  });
}

/** `n` instances of a service, 10.0.x.y addresses, port 8080. */
export function instances(serviceId: string, n: number, extra: Record<string, string> = {}): FakeInstance[] {
  return Array.from({ length: n }, (_, k) => ({
    id: `${serviceId}-i${k}`,
    serviceId,
    attributes: {
      AWS_INSTANCE_IPV4: `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`,
      AWS_INSTANCE_PORT: "8080",
      ...extra,
    },
  }));
}
