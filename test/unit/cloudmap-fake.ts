// An in-memory Cloud Map behind the source's narrow API (sd/cloudmap/api.ts), with the semantics of the real
// service that matter here: DiscoverInstances is addressed by HttpName, returns 100 instances unless
// MaxResults says otherwise, rejects a MaxResults over 1000 and ignores the health filter for services
// without a health check; unknown names, ids and ARNs fail with the errors Cloud Map raises for them.
// Paging is the API layer's business, counted against the simulator (test/integration/cloudmap.test.ts).
import {
  InvalidInput,
  NamespaceNotFound,
  ResourceNotFoundException,
  ServiceDiscoveryServiceException,
  ServiceNotFound,
} from "@aws-sdk/client-servicediscovery";
import type { CloudMapApi, DiscoverRequest, Instance } from "../../sd/cloudmap/api.js";

export const ACCOUNT = "123456789012";

export type Operation = keyof CloudMapApi;
type Request<K extends Operation> = Parameters<CloudMapApi[K]>[0];

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
  /** Per operation: return an error to fail the call with it. */
  fail?: { [K in Operation]?: (request: Request<K>) => Error | undefined };
  /** Namespaces whose DiscoverInstances answers NamespaceNotFound (as for API-only lookups that cannot serve). */
  discoverUnsupported?: Set<string>;
}

export interface FakeCloudMap {
  api: CloudMapApi;
  /** Calls per operation (absent: never called). */
  calls: Partial<Record<Operation, number>>;
  /** Each call's argument, per operation, in call order. */
  requests: { [K in Operation]?: Request<K>[] };
}

export const nsArn = (id: string) => `arn:aws:servicediscovery:us-east-1:${ACCOUNT}:namespace/${id}`;
export const svcArn = (id: string) => `arn:aws:servicediscovery:us-east-1:${ACCOUNT}:service/${id}`;

/** An error as the SDK raises it for an AWS error code it has no class for: named by the code. */
export function awsError(code: string, message: string, status = 400): ServiceDiscoveryServiceException {
  return new ServiceDiscoveryServiceException({
    name: code,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
    message,
  });
}

const meta = { $metadata: { httpStatusCode: 400 } };

function healthOf(svc: FakeService, inst: FakeInstance): string {
  return inst.health ?? (svc.healthChecked ? "HEALTHY" : "UNKNOWN");
}

function discover(world: FakeWorld, req: DiscoverRequest): Instance[] {
  const max = req.MaxResults ?? 100;
  if (!Number.isInteger(max) || max < 1 || max > 1000)
    throw new InvalidInput({ ...meta, message: `MaxResults must be 1-1000, got ${max}` });
  const ns = world.namespaces.find((n) => (n.httpName ?? n.name) === req.NamespaceName);
  if (!ns || world.discoverUnsupported?.has(ns.name))
    throw new NamespaceNotFound({ ...meta, message: `No namespace exists with name: ${req.NamespaceName}` });
  const svc = world.services.find((s) => s.namespaceId === ns.id && s.name === req.ServiceName);
  if (!svc) throw new ServiceNotFound({ ...meta, message: `Service not found: ${req.ServiceName}` });
  let found = world.instances.filter((i) => i.serviceId === svc.id);
  if (svc.healthChecked) {
    const filter = req.HealthStatus ?? "HEALTHY";
    const healthy = found.filter((i) => healthOf(svc, i) === "HEALTHY");
    if (filter === "HEALTHY") found = healthy;
    else if (filter === "UNHEALTHY") found = found.filter((i) => healthOf(svc, i) === "UNHEALTHY");
    else if (filter === "HEALTHY_OR_ELSE_ALL" && healthy.length > 0) found = healthy;
  }
  return found
    .slice(0, max)
    .map((i) => ({ id: i.id, attributes: { ...i.attributes }, health: healthOf(svc, i) }));
}

function serviceById(world: FakeWorld, id: string): FakeService {
  const svc = world.services.find((s) => s.id === id);
  if (!svc) throw new ServiceNotFound({ ...meta, message: `Service not found: ${id}` });
  return svc;
}

export function fakeCloudMap(world: FakeWorld): FakeCloudMap {
  const calls: FakeCloudMap["calls"] = {};
  const requests: FakeCloudMap["requests"] = {};
  // Every call is counted and recorded, then failed when the world says so.
  const record = <K extends Operation>(name: K, request: Request<K>): void => {
    calls[name] = (calls[name] ?? 0) + 1;
    ((requests[name] ??= []) as Request<K>[]).push(request);
    const err = world.fail?.[name]?.(request);
    if (err) throw err;
  };
  const api: CloudMapApi = {
    async listNamespaces() {
      record("listNamespaces", undefined);
      return world.namespaces.map((ns) => ({
        id: ns.id,
        name: ns.name,
        httpName: ns.httpName ?? ns.name,
        type: ns.type,
        arn: nsArn(ns.id),
      }));
    },
    async listServices(namespaceId) {
      record("listServices", namespaceId);
      return world.services
        .filter((s) => s.namespaceId === namespaceId)
        .map((s) => ({ id: s.id, name: s.name, arn: svcArn(s.id), healthChecked: Boolean(s.healthChecked) }));
    },
    async discoverInstances(request) {
      record("discoverInstances", request);
      return discover(world, request);
    },
    async discoverRevision(request) {
      record("discoverRevision", request);
      const ns = world.namespaces.find((n) => (n.httpName ?? n.name) === request.NamespaceName);
      const svc = world.services.find((s) => s.namespaceId === ns?.id && s.name === request.ServiceName);
      if (!svc) throw new ServiceNotFound({ ...meta, message: `Service not found: ${request.ServiceName}` });
      // Registrations and attributes count, health does not (as in Cloud Map).
      const text = JSON.stringify(
        world.instances.filter((i) => i.serviceId === svc.id).map((i) => [i.id, i.attributes]),
      );
      let h = 0;
      for (let k = 0; k < text.length; k++) h = (h * 31 + text.charCodeAt(k)) | 0;
      return h >>> 0;
    },
    async listInstances(serviceId) {
      record("listInstances", serviceId);
      const svc = serviceById(world, serviceId);
      return world.instances
        .filter((i) => i.serviceId === svc.id)
        .map((i) => ({ id: i.id, attributes: { ...i.attributes } }));
    },
    async instancesHealth(serviceId) {
      record("instancesHealth", serviceId);
      const svc = serviceById(world, serviceId);
      return new Map(
        world.instances.filter((i) => i.serviceId === svc.id).map((i) => [i.id, healthOf(svc, i)]),
      );
    },
    async serviceTags(serviceArn) {
      record("serviceTags", serviceArn);
      const svc = world.services.find((s) => svcArn(s.id) === serviceArn);
      if (!svc) throw new ResourceNotFoundException({ ...meta, message: `No resource: ${serviceArn}` });
      return { ...svc.tags };
    },
  };
  return { api, calls, requests };
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
