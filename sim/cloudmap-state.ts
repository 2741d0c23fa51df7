// Cloud Map state of one simulated account: namespaces, their services and registered instances, with the
// mutations the scenario, ECS service registries and the test API make (each bumps the service revision).
import type { AccountContext } from "./context.js";
import { cloudMapId, stableHex } from "./ids.js";
import { SimScenarioError } from "./protocol.js";
import type { CloudMapHealth, NamespaceSpec, SimEndpoint, Tags } from "./types.js";

export interface CmInstanceRec {
  id: string;
  attributes: Record<string, string>;
  health: CloudMapHealth;
}

export interface CmServiceRec {
  id: string;
  arn: string;
  name: string;
  namespace: NamespaceRec;
  description?: string;
  tags: Tags;
  instances: Map<string, CmInstanceRec>;
  revision: number;
  customHealthCheck: boolean;
  createdAt: number;
}

export interface NamespaceRec {
  id: string;
  arn: string;
  name: string;
  type: "HTTP" | "DNS_PRIVATE" | "DNS_PUBLIC";
  region: string;
  description?: string;
  tags: Tags;
  services: Map<string, CmServiceRec>;
  hostedZoneId?: string;
  createdAt: number;
}

export class CloudMapState {
  readonly namespaces = new Map<string, NamespaceRec>(); // by id

  constructor(readonly ctx: AccountContext) {}

  load(specs: readonly NamespaceSpec[]): void {
    for (const [i, ns] of specs.entries()) {
      const region = ns.region ?? this.ctx.region;
      const id = ns.id ?? cloudMapId("ns", `${region}/${ns.name}`);
      const rec: NamespaceRec = {
        id,
        arn: this.ctx.arn("servicediscovery", region, `namespace/${id}`),
        name: ns.name,
        type: ns.type ?? "HTTP",
        region,
        ...(ns.description ? { description: ns.description } : {}),
        tags: ns.tags ?? {},
        services: new Map(),
        ...(ns.type && ns.type !== "HTTP" ? { hostedZoneId: "Z" + stableHex(id, 20).toUpperCase() } : {}),
        createdAt: this.ctx.now(),
      };
      if (this.namespaces.has(id))
        throw new SimScenarioError(`namespaces[${i}]: duplicate namespace id ${id}`);
      this.namespaces.set(id, rec);
      for (const svc of ns.services ?? []) {
        const srv = this.createService(rec, svc.name, {
          id: svc.id,
          description: svc.description,
          tags: svc.tags,
          customHealthCheck: svc.customHealthCheck,
        });
        for (const inst of svc.instances ?? [])
          this.registerInstance(rec.name, svc.name, inst.id, inst.attributes ?? {}, inst.health, region);
        const gen = svc.generate;
        for (let n = 0; gen && n < gen.count; n++) {
          const attrs: Record<string, string> = {
            AWS_INSTANCE_IPV4: this.ctx.taskIps.allocate(),
            ...gen.attributes,
          };
          if (gen.port !== undefined) attrs.AWS_INSTANCE_PORT = String(gen.port);
          this.registerInstance(rec.name, srv.name, `${srv.name}-${n + 1}`, attrs, gen.health, region);
        }
      }
    }
  }

  /** A namespace by name or id in `region`. */
  findNamespace(ref: string, region: string): NamespaceRec | undefined {
    const byId = this.namespaces.get(ref);
    if (byId) return byId;
    for (const ns of this.namespaces.values()) if (ns.region === region && ns.name === ref) return ns;
    return undefined;
  }

  findServiceById(id: string): CmServiceRec | undefined {
    for (const ns of this.namespaces.values())
      for (const s of ns.services.values()) if (s.id === id) return s;
    return undefined;
  }

  /** A service by namespace (name or id) and name; a scenario error naming `where` when unknown. */
  service(namespace: string, service: string, region: string, where: string): CmServiceRec {
    const ns = this.findNamespace(namespace, region);
    if (!ns)
      throw new SimScenarioError(
        `${where}: unknown Cloud Map namespace ${JSON.stringify(namespace)} in ${region}`,
      );
    const svc = ns.services.get(service);
    if (!svc)
      throw new SimScenarioError(
        `${where}: unknown Cloud Map service ${JSON.stringify(service)} in namespace ${ns.name}`,
      );
    return svc;
  }

  createService(
    ns: NamespaceRec,
    name: string,
    opts: { id?: string; description?: string; tags?: Tags; customHealthCheck?: boolean } = {},
  ): CmServiceRec {
    if (ns.services.has(name))
      throw new SimScenarioError(`duplicate Cloud Map service ${name} in namespace ${ns.name}`);
    const id = opts.id ?? cloudMapId("srv", `${ns.id}/${name}`);
    const rec: CmServiceRec = {
      id,
      arn: this.ctx.arn("servicediscovery", ns.region, `service/${id}`),
      name,
      namespace: ns,
      ...(opts.description ? { description: opts.description } : {}),
      tags: opts.tags ?? {},
      instances: new Map(),
      revision: 1,
      customHealthCheck: opts.customHealthCheck ?? true,
      createdAt: this.ctx.now(),
    };
    ns.services.set(name, rec);
    return rec;
  }

  registerInstance(
    namespace: string,
    service: string,
    instanceId: string,
    attributes: Record<string, string>,
    health: CloudMapHealth = "HEALTHY",
    region = this.ctx.region,
  ): CmInstanceRec {
    const svc = this.service(namespace, service, region, "registerInstance");
    const rec: CmInstanceRec = { id: instanceId, attributes: { ...attributes }, health };
    svc.instances.set(instanceId, rec);
    svc.revision++;
    return rec;
  }

  deregisterInstance(
    namespace: string,
    service: string,
    instanceId: string,
    region = this.ctx.region,
    quiet = false,
  ): boolean {
    const svc = this.service(namespace, service, region, "deregisterInstance");
    const had = svc.instances.delete(instanceId);
    if (!had && !quiet)
      throw new SimScenarioError(`deregisterInstance: no instance ${instanceId} in ${namespace}/${service}`);
    if (had) svc.revision++;
    return had;
  }

  setInstanceHealth(
    namespace: string,
    service: string,
    instanceId: string,
    health: CloudMapHealth,
    region = this.ctx.region,
  ): void {
    const svc = this.service(namespace, service, region, "setInstanceHealth");
    const inst = svc.instances.get(instanceId);
    if (!inst)
      throw new SimScenarioError(`setInstanceHealth: no instance ${instanceId} in ${namespace}/${service}`);
    inst.health = health;
    svc.revision++;
  }

  /** Instances with an IPv4 address and a port. */
  endpoints(): SimEndpoint[] {
    const out: SimEndpoint[] = [];
    for (const ns of this.namespaces.values())
      for (const svc of ns.services.values())
        for (const inst of svc.instances.values()) {
          const host = inst.attributes.AWS_INSTANCE_IPV4;
          const port = Number(inst.attributes.AWS_INSTANCE_PORT);
          if (!host || !Number.isInteger(port) || port <= 0) continue;
          out.push({
            source: "cloudmap",
            host,
            port,
            namespace: ns.name,
            cloudMapService: svc.name,
            instanceId: inst.id,
          });
        }
    return out;
  }

  summary(): Record<string, unknown>[] {
    return [...this.namespaces.values()].map((ns) => ({
      id: ns.id,
      name: ns.name,
      type: ns.type,
      services: [...ns.services.values()].map((s) => ({
        id: s.id,
        name: s.name,
        instances: [...s.instances.values()],
      })),
    }));
  }
}
