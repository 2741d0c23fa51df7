// Options of the Cloud Map source: which namespaces, which health filter, and where an instance's metrics
// port and path come from.
import * as z from "../../core/zod.js";
import { ConfigError, bool, int, list, oneOf, text, type OptionSpec } from "../../core/config/spec.js";

export const HEALTH_FILTERS = ["HEALTHY", "ALL", "HEALTHY_OR_ELSE_ALL"] as const;
export type HealthFilter = (typeof HEALTH_FILTERS)[number];

export interface CloudMapConfig {
  enabled: boolean;
  namespaces: string[];
  healthStatus: HealthFilter;
  servicesTtlSeconds: number;
  healthRefreshSeconds: number;
  /** `port`, `namespace=port` or `namespace/service=port`; see parseDefaultPorts. */
  defaultPorts: string[];
  portAttribute: string;
  pathAttribute: string;
}

/** The key of a bare `port` entry of cloudmap.defaultPorts: every namespace (no Cloud Map name is `*`). */
export const ANY_NAMESPACE = "*";

const PORT = int(1, 65535);
const ENTRY_EXPECTED = "expected port, namespace=port or namespace/service=port (port 1-65535)";

function parseEntry(entry: string): [string, number] | undefined {
  const eq = entry.lastIndexOf("=");
  const key = eq >= 0 ? entry.slice(0, eq).trim() : ANY_NAMESPACE;
  const port = PORT.safeParse(eq >= 0 ? entry.slice(eq + 1) : entry);
  const parts = key.split("/");
  if (!port.success || parts.length > 2 || parts.some((p) => p === "")) return undefined;
  return [key, port.data];
}

/** cloudmap.defaultPorts as `namespace`, `namespace/service` or ANY_NAMESPACE -> port. */
export function parseDefaultPorts(entries: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of entries) {
    const parsed = parseEntry(entry);
    if (!parsed)
      throw new ConfigError(`invalid cloudmap.defaultPorts: got ${JSON.stringify(entry)}; ${ENTRY_EXPECTED}`);
    out.set(...parsed);
  }
  return out;
}

export const CLOUDMAP_OPTIONS: readonly OptionSpec[] = [
  {
    key: "cloudmap.enabled",
    env: "BRIDGE_CLOUDMAP_ENABLED",
    flag: "--cloudmap-enabled",
    schema: bool(),
    bool: true,
    default: false,
    description: "Discover AWS Cloud Map service instances.",
  },
  {
    key: "cloudmap.namespaces",
    env: "BRIDGE_CLOUDMAP_NAMESPACES",
    flag: "--cloudmap-namespaces",
    schema: list(),
    default: [],
    description: "Cloud Map namespace names or IDs. Empty: every namespace in the account and region.",
  },
  {
    key: "cloudmap.healthStatus",
    env: "BRIDGE_CLOUDMAP_HEALTH_STATUS",
    flag: "--cloudmap-health-status",
    schema: oneOf(HEALTH_FILTERS),
    allowed: HEALTH_FILTERS,
    default: "HEALTHY_OR_ELSE_ALL",
    description: "DiscoverInstances health filter.",
  },
  {
    key: "cloudmap.servicesTtlSeconds",
    env: "BRIDGE_CLOUDMAP_SERVICES_TTL_SECONDS",
    flag: "--cloudmap-services-ttl-seconds",
    schema: int(0, 86400),
    default: 300,
    description: "How long namespace and service listings (and service tags) are cached.",
  },
  {
    key: "cloudmap.healthRefreshSeconds",
    env: "BRIDGE_CLOUDMAP_HEALTH_REFRESH_SECONDS",
    flag: "--cloudmap-health-refresh-seconds",
    schema: int(0, 86400),
    default: 120,
    description:
      "Each refresh asks DiscoverInstancesRevision and calls DiscoverInstances only for services whose revision changed; health changes do not change it, so a service's instances are read in full at least this often. 0: read every service in full every refresh.",
  },
  {
    key: "cloudmap.defaultPorts",
    env: "BRIDGE_CLOUDMAP_DEFAULT_PORTS",
    flag: "--cloudmap-default-ports",
    schema: list(
      z
        .string()
        .trim()
        .refine((entry) => parseEntry(entry) !== undefined, { error: ENTRY_EXPECTED }),
      ENTRY_EXPECTED,
    ),
    default: [],
    description:
      "Ports for instances that register no AWS_INSTANCE_PORT and no port attribute or tag, comma-separated: `namespace/service=port`, `namespace=port` (names or IDs), or a bare `port` for every namespace. The most specific entry wins.",
  },
  {
    key: "cloudmap.portAttribute",
    env: "BRIDGE_CLOUDMAP_PORT_ATTRIBUTE",
    flag: "--cloudmap-port-attribute",
    schema: text(),
    default: "METRICS_PORT",
    description: "Instance attribute or service tag holding the metrics port.",
  },
  {
    key: "cloudmap.pathAttribute",
    env: "BRIDGE_CLOUDMAP_PATH_ATTRIBUTE",
    flag: "--cloudmap-path-attribute",
    schema: text(),
    default: "METRICS_PATH",
    description: "Instance attribute or service tag holding the metrics path (-> __metrics_path__).",
  },
];
