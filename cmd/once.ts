// The one-shot modes of the command line: `--once` (one refresh, the http_sd JSON on stdout, for CI and
// for checking a task role), `--once --explain` (what was skipped and why, as a table) and `check-config`
// (the configuration is valid and every scope's credentials resolve). No HTTP server in these modes.
import { destroyClients, type ClientOptions } from "../core/aws.js";
import type { Logger } from "../core/log.js";
import { createSelfMetrics } from "../core/metrics.js";
import { buildScopes } from "../core/scopes.js";
import { renderSd } from "../sd/httpsd.js";
import { failureCauses, type FailureCause } from "../sd/report.js";
import { taskIdOf } from "../sd/skips.js";
import { createDiscovery } from "./bridge.js";
import type { Config } from "./config.js";

export interface OnceResult {
  /** The http_sd JSON body, as /sd would serve it. */
  json: string;
  /** Units and scopes that failed, with their step and fix. */
  causes: FailureCause[];
  /** The skip table (`--once --explain`). */
  table: string;
}

/** One refresh of every enabled source. */
export async function runOnce(
  config: Config,
  logger: Logger,
  clientOptions: ClientOptions = {},
): Promise<OnceResult> {
  const metrics = createSelfMetrics({ defaults: false });
  const scopes = buildScopes(config, { ...clientOptions, metrics });
  try {
    const { sources, discovery } = createDiscovery(config, scopes, metrics, logger);
    await discovery.refreshOnce();
    await discovery.stop(); // what sources run on their own (event polling) stops with the one refresh
    const units = discovery.status();
    const causes = failureCauses(units, discovery.scopeStatus());
    const rows: string[][] = [];
    for (const { name } of sources)
      for (const [unit, skips] of discovery.skips(name)) {
        for (const s of skips.records)
          rows.push([unit, taskIdOf(s.task), s.service ?? "", s.container ?? "", s.reason, s.detail]);
        if (skips.dropped > 0) rows.push([unit, "", "", "", "", `${skips.dropped} more skips not itemised`]);
      }
    const targets = discovery.snapshot().targets.length;
    return {
      json: renderSd(discovery.snapshot().targets).json.toString(),
      causes,
      table: `${targets} targets, ${rows.length} skipped\n${table(["UNIT", "TASK", "SERVICE", "CONTAINER", "REASON", "WHY"], rows)}`,
    };
  } finally {
    for (const scope of scopes) destroyClients(scope.clients);
  }
}

/** Columns padded to their widest cell; the last column is not padded. */
function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows].map((r) => r.map((c) => c.replace(/[\r\n\t]/g, " ")));
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "))
    .join("\n");
}

/** Resolves every scope's credentials (assuming roles where configured); the errors, by scope. */
export async function checkCredentials(config: Config, clientOptions: ClientOptions = {}): Promise<string[]> {
  const scopes = buildScopes(config, clientOptions);
  try {
    const problems = await Promise.all(
      scopes.map(async (scope) => {
        try {
          const id = await (await scope.clients.ecs()).config.credentials();
          return id.accessKeyId ? undefined : `${scope.key}: credentials resolved without an access key id`;
        } catch (err) {
          const e = err as Error;
          return `${scope.key}: ${e.name}: ${e.message}`;
        }
      }),
    );
    return problems.filter((p): p is string => p !== undefined);
  } finally {
    for (const scope of scopes) destroyClients(scope.clients);
  }
}
