// The narrow Cloud Map API the source uses: the only place the ServiceDiscovery client is called. Listings
// are read to the end with the SDK's paginators; results are reduced to the few fields the source uses, so
// caches stay small. The client's pacer (core/pacer.ts) paces every request to its AWS throttling bucket.
import type { DiscoverInstancesRequest, ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import { MalformedResponse, requiredList } from "../../core/aws.js";
import type { SelfMetrics } from "../../core/metrics.js";
import { Pacer, paced } from "../../core/pacer.js";

export interface Namespace {
  id: string;
  name: string;
  /** What DiscoverInstances calls NamespaceName; differs from `name` when a name was reused. */
  httpName: string;
  type: string;
  arn?: string;
}

export interface Service {
  id: string;
  name: string;
  arn?: string;
  /** Route 53 or custom health checks; without one the health filter does not apply. */
  healthChecked: boolean;
}

export interface Instance {
  id: string;
  attributes: Record<string, string>;
  health?: string;
}

/** The request fields the source sets; DiscoverInstances does not page, so the source owns MaxResults. */
export type DiscoverRequest = Required<
  Pick<DiscoverInstancesRequest, "NamespaceName" | "ServiceName" | "MaxResults" | "HealthStatus">
>;

export type CloudMapApi = {
  listNamespaces(): Promise<Namespace[]>;
  listServices(namespaceId: string): Promise<Service[]>;
  /** One call: at most `MaxResults` instances (AWS allows up to 1000, defaults to 100). */
  discoverInstances(request: DiscoverRequest): Promise<Instance[]>;
  /** The service's instances revision: it changes when instances register, deregister or change attributes, not health. */
  discoverRevision(request: Pick<DiscoverRequest, "NamespaceName" | "ServiceName">): Promise<number>;
  /** Every registered instance, without health information. */
  listInstances(serviceId: string): Promise<Instance[]>;
  /** Instance id -> health status, for services with health checks. */
  instancesHealth(serviceId: string): Promise<Map<string, string>>;
  serviceTags(serviceArn: string): Promise<Record<string, string>>;
};

/** The largest page ListNamespaces, ListServices, ListInstances and GetInstancesHealthStatus accept. */
const PAGE_SIZE = 100;

/** The SDK module, loaded on the first Cloud Map call (see AwsClients). */
const sdk = () => import("@aws-sdk/client-servicediscovery");

/**
 * The Cloud Map API of one scope's client: requests paced to AWS's buckets, at most `maxConcurrency` in
 * flight per bucket (the pacer belongs to the client: a later API over the same client replaces it).
 */
export function cloudMapApi(
  client: () => Promise<ServiceDiscoveryClient>,
  maxConcurrency: number,
  metrics?: SelfMetrics,
): CloudMapApi {
  const getClient = paced(client, new Pacer("servicediscovery", maxConcurrency, metrics));
  // stopOnSameToken: an endpoint that repeats its NextToken ends the listing instead of looping forever.
  const paging = async () => ({ client: await getClient(), pageSize: PAGE_SIZE, stopOnSameToken: true });
  return {
    async listNamespaces() {
      const out: Namespace[] = [];
      const { paginateListNamespaces } = await sdk();
      for await (const page of paginateListNamespaces(await paging(), {}))
        for (const ns of requiredList(page.Namespaces, "ListNamespaces", "Namespaces")) {
          if (!ns.Id || !ns.Name) continue;
          out.push({
            id: ns.Id,
            name: ns.Name,
            httpName: ns.Properties?.HttpProperties?.HttpName || ns.Name,
            type: ns.Type ?? "UNKNOWN",
            ...(ns.Arn ? { arn: ns.Arn } : {}),
          });
        }
      return out;
    },

    async listServices(namespaceId) {
      const out: Service[] = [];
      const input = {
        Filters: [{ Name: "NAMESPACE_ID" as const, Values: [namespaceId], Condition: "EQ" as const }],
      };
      const { paginateListServices } = await sdk();
      for await (const page of paginateListServices(await paging(), input))
        for (const s of requiredList(page.Services, "ListServices", "Services")) {
          if (!s.Id || !s.Name) continue;
          out.push({
            id: s.Id,
            name: s.Name,
            ...(s.Arn ? { arn: s.Arn } : {}),
            healthChecked: Boolean(s.HealthCheckConfig || s.HealthCheckCustomConfig),
          });
        }
      return out;
    },

    async discoverInstances(request) {
      const { DiscoverInstancesCommand } = await sdk();
      const res = await (await getClient()).send(new DiscoverInstancesCommand(request));
      return requiredList(res.Instances, "DiscoverInstances", "Instances").flatMap((i) =>
        i.InstanceId
          ? [
              {
                id: i.InstanceId,
                attributes: i.Attributes ?? {},
                ...(i.HealthStatus ? { health: i.HealthStatus } : {}),
              },
            ]
          : [],
      );
    },

    async discoverRevision(request) {
      const { DiscoverInstancesRevisionCommand } = await sdk();
      const res = await (await getClient()).send(new DiscoverInstancesRevisionCommand(request));
      if (typeof res.InstancesRevision !== "number")
        throw new MalformedResponse("DiscoverInstancesRevision", "InstancesRevision");
      return res.InstancesRevision;
    },

    async listInstances(serviceId) {
      const out: Instance[] = [];
      const { paginateListInstances } = await sdk();
      for await (const page of paginateListInstances(await paging(), { ServiceId: serviceId }))
        for (const i of requiredList(page.Instances, "ListInstances", "Instances"))
          if (i.Id) out.push({ id: i.Id, attributes: i.Attributes ?? {} });
      return out;
    },

    async instancesHealth(serviceId) {
      const out = new Map<string, string>();
      const { paginateGetInstancesHealthStatus } = await sdk();
      for await (const page of paginateGetInstancesHealthStatus(await paging(), { ServiceId: serviceId }))
        for (const [id, status] of Object.entries(page.Status ?? {})) out.set(id, status);
      return out;
    },

    async serviceTags(serviceArn) {
      const { ListTagsForResourceCommand } = await sdk();
      const res = await (await getClient()).send(new ListTagsForResourceCommand({ ResourceARN: serviceArn }));
      const out: Record<string, string> = {};
      for (const t of res.Tags ?? []) if (t.Key !== undefined && t.Value !== undefined) out[t.Key] = t.Value;
      return out;
    },
  };
}

function errorName(err: unknown): string {
  return (err as { name?: string } | undefined)?.name ?? "";
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/**
 * DiscoverInstances errors after which ListInstances may still answer: the namespace or service is not
 * reachable through the discovery API (API-only lookups, emulators without the data plane).
 */
export function discoverCannotServe(err: unknown): boolean {
  const name = errorName(err);
  if (["NamespaceNotFound", "ServiceNotFound", "UnknownOperationException", "NotImplemented"].includes(name))
    return true;
  return httpStatus(err) === 501;
}

export function isNotFound(err: unknown, what: "ServiceNotFound" | "NamespaceNotFound"): boolean {
  return errorName(err) === what;
}

export function isAccessDenied(err: unknown): boolean {
  return /AccessDenied/.test(errorName(err));
}
