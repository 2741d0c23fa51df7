// `/sd?mode=redirect`: an http_sd list whose targets are the function URL itself, one group per running
// task endpoint, with `__param_*` labels so Prometheus scrapes `/targets?cluster=&service=&index=` and
// follows the 308. The host comes from configuration (lambda.publicUrl), never from the request.
import { ConfigError } from "../core/config/spec.js";
import { setLabel, sortedLabels, type DiscoveredTarget, type Labels } from "../sd/model.js";
import { serviceSlots, type TaskEndpoint, type TaskSlot } from "./select.js";

export interface PublicUrl {
  scheme: "http" | "https";
  /** `host[:port]` as Prometheus' `__address__`. */
  address: string;
  /** Path of the query-form redirect route under the URL, e.g. `/targets` or `/prefix/targets`. */
  targetsPath: string;
}

/**
 * Validates lambda.publicUrl: an absolute http(s) URL without credentials, query or fragment. The value is
 * never quoted back: a URL may carry a credential (`https://user:pass@host/`), and errors reach logs.
 */
export function parsePublicUrl(raw: string): PublicUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("invalid lambda.publicUrl: expected an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new ConfigError("invalid lambda.publicUrl: expected http:// or https://");
  if (url.username || url.password || url.search || url.hash)
    throw new ConfigError("invalid lambda.publicUrl: expected no credentials, query or fragment");
  const base = url.pathname.replace(/\/+$/, "");
  return {
    scheme: url.protocol === "https:" ? "https" : "http",
    address: url.host,
    targetsPath: `${base}/targets`,
  };
}

/** Labels of the task endpoint that make sense on the redirect target (meta labels and `job`). */
function carriedLabels(e: TaskEndpoint): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(e.labels)) if (k.startsWith("__meta_") || k === "job") out[k] = v;
  return out;
}

/**
 * One group per (task, endpoint). `__param_cluster/service/index` select the task; tasks with several
 * endpoints also get `__param_container` and `__param_port` (and `__param_path` when one container port
 * serves several declared paths). Standalone tasks (no service) are addressed by `__param_task` (their ARN).
 * `instance` is the slot (`cluster/service/index[/container:port[path]]`), stable while tasks are replaced.
 */
export function redirectTargets(slots: readonly TaskSlot[], pub: PublicUrl): DiscoveredTarget[] {
  const out: DiscoveredTarget[] = [];
  const indexes = new Map<TaskSlot, number>();
  const seen = new Set<string>();
  for (const slot of slots) {
    if (!slot.service) continue;
    const key = `${slot.cluster}\u0000${slot.service}`;
    if (seen.has(key)) continue;
    seen.add(key);
    serviceSlots(slots, slot.cluster, slot.service).forEach((s, i) => indexes.set(s, i));
  }
  for (const slot of slots) {
    const several = slot.endpoints.length > 1;
    for (const e of slot.endpoints) {
      const labels = carriedLabels(e);
      labels.__scheme__ = pub.scheme;
      labels.__metrics_path__ = pub.targetsPath;
      const index = indexes.get(slot);
      // Every group shares one __address__, so `instance` names the slot, or all series would collide.
      let instance: string;
      if (slot.service && index !== undefined) {
        labels.__param_cluster = slot.cluster;
        labels.__param_service = slot.service;
        labels.__param_index = String(index);
        instance = `${slot.cluster}/${slot.service}/${index}`;
      } else {
        labels.__param_task = slot.taskArn;
        instance = `${slot.cluster}/task/${slot.taskId}`;
      }
      if (several) {
        setLabel(labels, "__param_container", e.container);
        labels.__param_port = String(e.containerPort);
        instance += `/${e.container}:${e.containerPort}`;
        const samePort = slot.endpoints.filter(
          (o) => o.container === e.container && o.containerPort === e.containerPort,
        );
        if (samePort.length > 1) {
          labels.__param_path = e.path;
          instance += e.path;
        }
      }
      labels.instance = instance;
      out.push({
        source: "ecs",
        cluster: slot.cluster,
        ...(slot.service ? { service: slot.service } : {}),
        group: { targets: [pub.address], labels: sortedLabels(labels) },
      });
    }
  }
  return out;
}
