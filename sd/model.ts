// The one target-group type every source produces, and the label helpers they share.
import { isIP } from "node:net";
import type { SOURCE_REGISTRY } from "./registry.js";

export type Labels = Record<string, string>;

/** One http_sd group; exactly the two fields Prometheus accepts. */
export interface TargetGroup {
  targets: string[];
  labels: Labels;
}

/** A registered source (a key of the source registry; a type-only import, so no runtime cycle). */
export type SourceName = keyof typeof SOURCE_REGISTRY;

/** A group plus what the router filters on; the extra fields never reach the JSON. */
export interface DiscoveredTarget {
  source: SourceName;
  /** Cluster name (ECS) or namespace name (Cloud Map), for filters. */
  cluster?: string;
  service?: string;
  namespace?: string;
  group: TargetGroup;
  /** Other sources' targets for the same endpoint, folded into this one (sd/merge.ts); filters match them too. */
  also?: readonly TargetOrigin[];
}

/** What `/sd` filters match a target by; a merged target has one per contributing target. */
export type TargetOrigin = Pick<DiscoveredTarget, "source" | "cluster" | "service" | "namespace">;

/**
 * A label-name suffix as Prometheus' strutil.SanitizeLabelName makes it: every character outside
 * [a-zA-Z0-9_] becomes "_", and a leading digit is kept (the result always follows a prefix, so
 * `tag 2fa` is `__meta_ecs_tag_task_2fa` here as in Prometheus' own discovery).
 */
export function sanitizeLabelName(key: string): string {
  return key.replace(/[^a-zA-Z0-9_]/g, "_");
}

/** Adds a label if the value is a non-empty string (Prometheus treats empty values as absent). */
export function setLabel(labels: Labels, name: string, value: string | number | undefined | null): void {
  if (value === undefined || value === null) return;
  const s = String(value);
  if (s !== "") labels[name] = s;
}

/**
 * Whether an address AWS supplied is an IPv4 or IPv6 literal. Anything else (a host name, a path, a number)
 * never becomes a target: `__address__` is what Prometheus connects to.
 */
export function validAddress(ip: unknown): ip is string {
  return typeof ip === "string" && isIP(ip) !== 0;
}

/** A DNS host name (Cloud Map CNAME records): dot-separated labels of letters, digits and hyphens. */
export function validHostName(name: unknown): name is string {
  return (
    typeof name === "string" &&
    name.length <= 253 &&
    /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$/.test(name)
  );
}

/** `ip:port`, with IPv6 bracketed. */
export function formatAddress(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export interface ParsedArn {
  partition: string;
  service: string;
  region: string;
  accountId: string;
  resource: string;
}

export function parseArn(arn: string): ParsedArn | undefined {
  const parts = arn.split(":");
  if (parts.length < 6 || parts[0] !== "arn") return undefined;
  return {
    partition: parts[1]!,
    service: parts[2]!,
    region: parts[3]!,
    accountId: parts[4]!,
    resource: parts.slice(5).join(":"),
  };
}

/** Stable order: Prometheus names groups by index, so the same state must give the same bytes. */
export function compareTargets(a: DiscoveredTarget, b: DiscoveredTarget): number {
  if (a.source !== b.source) return a.source < b.source ? -1 : 1;
  const ak = a.group.targets[0] ?? "";
  const bk = b.group.targets[0] ?? "";
  if (ak !== bk) return ak < bk ? -1 : 1;
  const al = JSON.stringify(a.group.labels);
  const bl = JSON.stringify(b.group.labels);
  return al < bl ? -1 : al > bl ? 1 : 0;
}

/** Labels with keys sorted, so JSON output is byte-stable. */
export function sortedLabels(labels: Labels): Labels {
  // Built in one step, not key by key: V8 turns an object that gets more than a dozen properties by
  // computed keys into a hash table (about 1.2 KB for a target's ~50 labels, slower to serialise); this
  // one keeps fast properties, and targets with the same label names share one hidden class.
  return Object.fromEntries(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]!]),
  );
}
