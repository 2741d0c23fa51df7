// Pure mapping from one Cloud Map instance to one target: address, metrics port and path, labels.
import { ANY_NAMESPACE } from "./options.js";
import {
  formatAddress,
  setLabel,
  validAddress,
  validHostName,
  type DiscoveredTarget,
  type Labels,
} from "../model.js";
import type { Instance, Namespace, Service } from "./api.js";
import { attributeLabel, CLOUDMAP_LABELS, ECS_ATTRIBUTE_LABELS, METRICS_PATH_LABEL } from "./labels.js";

export const SKIP_REASONS = ["no_ip", "no_port", "invalid_port", "invalid_address"] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** Each reason in words, for the status page and /explain. */
export function skipDetail(reason: SkipReason, opts: TargetOptions): string {
  switch (reason) {
    case "no_ip":
      return "the instance has no AWS_INSTANCE_IPV4, AWS_INSTANCE_IPV6 or AWS_INSTANCE_CNAME attribute";
    case "invalid_address":
      return "its address attribute is not an IP address or host name";
    case "invalid_port":
      return `its ${opts.portAttribute} or AWS_INSTANCE_PORT value is not a port number (1-65535)`;
    case "no_port":
      return `no port: no ${opts.portAttribute} or AWS_INSTANCE_PORT attribute, and no cloudmap.defaultPorts entry for its namespace or service`;
  }
}

/** What host() answers for an attribute that holds something other than an address or host name. */
const INVALID = Symbol("invalid address");

export interface TargetOptions {
  portAttribute: string;
  pathAttribute: string;
  /** Keys `namespace` or `namespace/service` (name or ID), or ANY_NAMESPACE -> port. */
  defaultPorts: Map<string, number>;
}

export function parsePort(value: string | undefined): number | "invalid" | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const s = value.trim();
  if (!/^\d{1,5}$/.test(s)) return "invalid";
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : "invalid";
}

function defaultPortFor(ns: Namespace, svc: Service, opts: TargetOptions): number | undefined {
  for (const key of [`${ns.name}/${svc.name}`, `${ns.id}/${svc.name}`, ns.name, ns.id, ANY_NAMESPACE]) {
    const port = opts.defaultPorts.get(key);
    if (port !== undefined) return port;
  }
  return undefined;
}

/**
 * The metrics port: an explicit metrics-port attribute or service tag wins (it names the metrics endpoint,
 * AWS_INSTANCE_PORT usually names the application), then AWS_INSTANCE_PORT, then the configured defaults.
 */
function resolvePort(
  ns: Namespace,
  svc: Service,
  inst: Instance,
  tags: Record<string, string>,
  opts: TargetOptions,
): number | "invalid" | undefined {
  for (const raw of [
    inst.attributes[opts.portAttribute],
    tags[opts.portAttribute],
    inst.attributes.AWS_INSTANCE_PORT,
  ]) {
    const port = parsePort(raw);
    if (port !== undefined) return port;
  }
  return defaultPortFor(ns, svc, opts);
}

function host(attributes: Record<string, string>): string | typeof INVALID | undefined {
  const v4 = attributes.AWS_INSTANCE_IPV4?.trim();
  if (v4) return validAddress(v4) ? v4 : INVALID;
  // formatAddress adds the brackets; accept an attribute that already has them.
  const v6 = attributes.AWS_INSTANCE_IPV6?.trim().replace(/^\[(.*)\]$/, "$1");
  if (v6) return validAddress(v6) ? v6 : INVALID;
  // CNAME records (DNS services of type CNAME) name a host Prometheus can resolve itself.
  const cname = attributes.AWS_INSTANCE_CNAME?.trim();
  if (cname) return validHostName(cname) ? cname : INVALID;
  return undefined;
}

function metricsPath(inst: Instance, tags: Record<string, string>, opts: TargetOptions): string | undefined {
  const raw = (inst.attributes[opts.pathAttribute] ?? tags[opts.pathAttribute])?.trim();
  if (!raw) return undefined;
  return raw.startsWith("/") ? raw : `/${raw}`;
}

export function buildTarget(
  ns: Namespace,
  svc: Service,
  inst: Instance,
  tags: Record<string, string>,
  opts: TargetOptions,
): DiscoveredTarget | { skip: SkipReason } {
  const ip = host(inst.attributes);
  if (!ip) return { skip: "no_ip" };
  if (ip === INVALID) return { skip: "invalid_address" };
  const port = resolvePort(ns, svc, inst, tags, opts);
  if (port === "invalid") return { skip: "invalid_port" };
  if (port === undefined) return { skip: "no_port" };

  const labels: Labels = {};
  setLabel(labels, CLOUDMAP_LABELS.namespaceName, ns.name);
  setLabel(labels, CLOUDMAP_LABELS.namespaceId, ns.id);
  setLabel(labels, CLOUDMAP_LABELS.serviceName, svc.name);
  setLabel(labels, CLOUDMAP_LABELS.serviceId, svc.id);
  setLabel(labels, CLOUDMAP_LABELS.instanceId, inst.id);
  setLabel(labels, CLOUDMAP_LABELS.healthStatus, inst.health);
  // Sorted so that when two keys sanitise to the same name the same one wins every time.
  for (const key of Object.keys(inst.attributes).sort()) {
    const name = attributeLabel(key);
    if (!(name in labels)) setLabel(labels, name, inst.attributes[key]);
  }
  const cluster = inst.attributes.ECS_CLUSTER_NAME?.trim() || undefined;
  if (cluster || inst.attributes.ECS_SERVICE_NAME)
    for (const [attr, label] of ECS_ATTRIBUTE_LABELS) setLabel(labels, label, inst.attributes[attr]);
  setLabel(labels, METRICS_PATH_LABEL, metricsPath(inst, tags, opts));

  return {
    source: "cloudmap",
    namespace: ns.name,
    service: svc.name,
    ...(cluster ? { cluster } : {}),
    group: { targets: [formatAddress(ip, port)], labels },
  };
}
