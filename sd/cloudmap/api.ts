// The Cloud Map calls the source makes, each paginated to the end and run through the scope's limiter.
// Results are reduced to the few fields the source uses, so caches stay small.
import {
  DiscoverInstancesCommand,
  GetInstancesHealthStatusCommand,
  ListInstancesCommand,
  ListNamespacesCommand,
  ListServicesCommand,
  ListTagsForResourceCommand,
  type HealthStatusFilter,
  type ServiceDiscoveryClient,
} from "@aws-sdk/client-servicediscovery";

export type Limit = <T>(fn: () => Promise<T>) => Promise<T>;

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

/** DiscoverInstances returns at most this many and cannot page: a full page means "maybe more". */
export const DISCOVER_MAX_RESULTS = 1000;
const PAGE = 100;

export class CloudMapApi {
  constructor(
    private readonly client: ServiceDiscoveryClient,
    private readonly limit: Limit,
  ) {}

  async listNamespaces(): Promise<Namespace[]> {
    const out: Namespace[] = [];
    let token: string | undefined;
    do {
      const page = await this.limit(() =>
        this.client.send(
          new ListNamespacesCommand({ MaxResults: PAGE, ...(token ? { NextToken: token } : {}) }),
        ),
      );
      for (const ns of page.Namespaces ?? []) {
        if (!ns.Id || !ns.Name) continue;
        out.push({
          id: ns.Id,
          name: ns.Name,
          httpName: ns.Properties?.HttpProperties?.HttpName || ns.Name,
          type: ns.Type ?? "UNKNOWN",
          ...(ns.Arn ? { arn: ns.Arn } : {}),
        });
      }
      token = page.NextToken;
    } while (token);
    return out;
  }

  async listServices(namespaceId: string): Promise<Service[]> {
    const out: Service[] = [];
    let token: string | undefined;
    do {
      const page = await this.limit(() =>
        this.client.send(
          new ListServicesCommand({
            MaxResults: PAGE,
            Filters: [{ Name: "NAMESPACE_ID", Values: [namespaceId], Condition: "EQ" }],
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      for (const s of page.Services ?? []) {
        if (!s.Id || !s.Name) continue;
        out.push({
          id: s.Id,
          name: s.Name,
          ...(s.Arn ? { arn: s.Arn } : {}),
          healthChecked: Boolean(s.HealthCheckConfig || s.HealthCheckCustomConfig),
        });
      }
      token = page.NextToken;
    } while (token);
    return out;
  }

  /** One call; MaxResults 1000 because the API default (100) silently truncates bigger services. */
  async discoverInstances(
    httpName: string,
    service: string,
    health: HealthStatusFilter,
  ): Promise<Instance[]> {
    const res = await this.limit(() =>
      this.client.send(
        new DiscoverInstancesCommand({
          NamespaceName: httpName,
          ServiceName: service,
          MaxResults: DISCOVER_MAX_RESULTS,
          HealthStatus: health,
        }),
      ),
    );
    return (res.Instances ?? []).flatMap((i) =>
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
  }

  /** Every registered instance, no health information. */
  async listInstances(serviceId: string): Promise<Instance[]> {
    const out: Instance[] = [];
    let token: string | undefined;
    do {
      const page = await this.limit(() =>
        this.client.send(
          new ListInstancesCommand({
            ServiceId: serviceId,
            MaxResults: PAGE,
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      for (const i of page.Instances ?? []) if (i.Id) out.push({ id: i.Id, attributes: i.Attributes ?? {} });
      token = page.NextToken;
    } while (token);
    return out;
  }

  async healthStatus(serviceId: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let token: string | undefined;
    do {
      const page = await this.limit(() =>
        this.client.send(
          new GetInstancesHealthStatusCommand({
            ServiceId: serviceId,
            MaxResults: PAGE,
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      for (const [id, status] of Object.entries(page.Status ?? {})) out.set(id, status);
      token = page.NextToken;
    } while (token);
    return out;
  }

  async tags(arn: string): Promise<Record<string, string>> {
    const res = await this.limit(() =>
      this.client.send(new ListTagsForResourceCommand({ ResourceARN: arn })),
    );
    const out: Record<string, string> = {};
    for (const t of res.Tags ?? []) if (t.Key !== undefined && t.Value !== undefined) out[t.Key] = t.Value;
    return out;
  }
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
