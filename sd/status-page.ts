// GET /status for people (Accept: text/html): one server-rendered page, no script and no external asset,
// built from the last refresh's data only. Every string is escaped: names, labels and messages come from
// AWS and are hostile. The page stays small at any scale: each service shows its first rows, and the whole
// page at most MAX_ROWS rows; the `?q=` filter (task id, service or IP) narrows it to what a person asks.
import { LRUCache } from "lru-cache";
import type { DiscoveredTarget, SourceName } from "./model.js";
import type { ScopeStatus, Snapshot, UnitStatus } from "./refresh.js";
import { failureCauses, fixHint, type SourceReport } from "./report.js";
import { emptySkips, taskIdOf, type SkipRecord, type UnitSkips } from "./skips.js";

/** What the page (and /explain) read: Discovery, or any stand-in with the same methods. */
export interface StatusView {
  snapshot(): Snapshot;
  status(): UnitStatus[];
  scopeStatus?(): ScopeStatus[];
  report?(source: SourceName): SourceReport | undefined;
  skips?(source: SourceName): ReadonlyMap<string, UnitSkips>;
  unitTargets?(): ReadonlyMap<string, readonly DiscoveredTarget[]>;
}

/** Rows (targets and skips) of one service shown before "N more". */
export const ROWS_PER_SERVICE = 20;
/** Rows on the whole page; past it, a note asks for a filter. */
export const MAX_ROWS = 1500;
/** Service sections on the whole page; past it (or past MAX_ROWS), services are only counted. */
export const MAX_SERVICES = 300;
/** The longest filter accepted (a task ARN is about 100 characters). */
export const MAX_QUERY = 256;

/** Bytes of rendered pages kept for the current data (a 10,000-target page is about 0.5 MiB). */
export const PAGE_CACHE_BYTES = 8 * 1024 * 1024;

/** A number per object, so a key can name "this very report" (a new one is made by every refresh). */
const objectIds = new WeakMap<object, number>();
let nextObjectId = 0;
function idOf(o: object): number {
  let id = objectIds.get(o);
  if (id === undefined) objectIds.set(o, (id = ++nextObjectId));
  return id;
}

/**
 * What the page shows changes only with a refresh: each source's report is made last in its refresh (after
 * its units, scopes and skips), and publication changes the snapshot. So the snapshot's version and the
 * reports' identities name the data; undefined (not cacheable) for a view without reports.
 */
function dataVersion(view: StatusView): string | undefined {
  if (!view.report) return undefined;
  const snap = view.snapshot();
  const sources = new Set<SourceName>(view.status().map((u) => u.source));
  for (const s of view.scopeStatus?.() ?? []) sources.add(s.source);
  const reports = [...sources].sort().map((s) => {
    const r = view.report!(s);
    return r ? idOf(r) : 0;
  });
  return `${snap.version} ${snap.ready} ${reports.join(",")}`;
}

/**
 * Rendered pages by data version and filter, bounded in bytes: rendering 10,000 targets holds the event
 * loop for tens of milliseconds, so a page is rendered once per refresh and filter, then served from memory.
 */
export class StatusPageCache {
  private version: string | undefined;
  private readonly pages: LRUCache<string, string>;

  constructor(maxBytes = PAGE_CACHE_BYTES) {
    this.pages = new LRUCache<string, string>({
      maxSize: maxBytes,
      sizeCalculation: (page, q) => page.length + q.length + 1,
    });
  }

  /** The page for `q` (validated as for renderStatusPage), rendered only if this data and filter were not. */
  get(view: StatusView, q = ""): string {
    const filter = q.trim();
    const version = dataVersion(view);
    if (version !== this.version) {
      this.version = version;
      this.pages.clear();
    }
    let page = version === undefined ? undefined : this.pages.get(filter);
    if (page === undefined) {
      page = renderStatusPage(view, filter ? { q: filter } : {});
      // A page larger than the whole budget is not kept (lru-cache skips it).
      if (version !== undefined) this.pages.set(filter, page);
    }
    return page;
  }

  /** Bytes held by cached pages. */
  get bytes(): number {
    return this.pages.calculatedSize;
  }
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** HTML-escapes text and attribute values alike. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const TASK_LABELS = ["__meta_ecs_task_arn", "__meta_cloudmap_instance_id"];
const SERVICE_LABELS = ["__meta_ecs_service", "__meta_cloudmap_service_name"];
const CONTAINER_LABEL = "__meta_ecs_container_name";

const taskOf = (t: DiscoveredTarget) => TASK_LABELS.map((l) => t.group.labels[l]).find(Boolean);
const serviceOf = (t: DiscoveredTarget) =>
  t.service ?? SERVICE_LABELS.map((l) => t.group.labels[l]).find(Boolean);

/** Whether a target or skip matches the filter: task id or ARN, service name, or IP (substring, any case). */
function matcher(q: string): { target(t: DiscoveredTarget): boolean; skip(s: SkipRecord): boolean } {
  const needle = q.toLowerCase();
  const has = (...values: (string | undefined)[]) => values.some((v) => v?.toLowerCase().includes(needle));
  return {
    target: (t) => has(taskOf(t), serviceOf(t), t.group.targets[0], t.group.labels.__meta_ecs_ip_address),
    skip: (s) => has(s.task, s.service),
  };
}

interface ServiceRows {
  name: string;
  targets: DiscoveredTarget[];
  skips: SkipRecord[];
}

function byService(targets: readonly DiscoveredTarget[], skips: readonly SkipRecord[]): ServiceRows[] {
  const m = new Map<string, ServiceRows>();
  const row = (name: string) => {
    let r = m.get(name);
    if (!r) m.set(name, (r = { name, targets: [], skips: [] }));
    return r;
  };
  for (const t of targets) row(serviceOf(t) ?? "").targets.push(t);
  for (const s of skips) row(s.service ?? "").skips.push(s);
  return [...m.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:1rem 2rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:1.5rem}h3{font-size:1rem;margin:.8rem 0 .3rem}
table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.ok{color:#176f2c;font-weight:600}.down{color:#b00020;font-weight:600}
.hint{background:#fff6d6;padding:2px 6px}.muted{color:#666}code{font-size:12px}
details{margin:.2rem 0 .2rem 1rem}summary{cursor:pointer}.cause{background:#fde8ea;padding:.4rem;margin:.3rem 0}`;

export interface RenderOptions {
  q?: string;
  now?: Date;
}

/** The whole page. `q` must already be validated (string, at most MAX_QUERY characters). */
export function renderStatusPage(view: StatusView, opts: RenderOptions = {}): string {
  const q = opts.q?.trim() ?? "";
  const match = q ? matcher(q) : undefined;
  const snap = view.snapshot();
  const units = view.status();
  const scopes = view.scopeStatus?.() ?? [];
  const unitTargets = view.unitTargets?.() ?? new Map<string, readonly DiscoveredTarget[]>();
  const sources = [...new Set<SourceName>([...units.map((u) => u.source), ...scopes.map((s) => s.source)])];
  let rows = 0;
  let hidden = 0;
  let services = 0;
  let hiddenServices = 0;
  const out: string[] = [];
  out.push(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ecs-prometheus-bridge status</title>`,
    `<link rel="icon" href="data:,"><meta name="viewport" content="width=device-width"><style>${CSS}</style></head><body>`,
    `<h1>ecs-prometheus-bridge</h1>`,
    `<p>${snap.ready ? '<span class="ok">ready</span>' : '<span class="down">not ready</span>'}: ` +
      `${snap.targets.length} targets on <a href="sd">/sd</a> · <a href="metrics">metrics</a>` +
      ` · <a href="status?format=json">this status as JSON</a> · page rendered ${esc((opts.now ?? new Date()).toISOString())}</p>`,
    `<form method="get" action="status" role="search"><label>Filter by task id, service or IP: ` +
      `<input type="search" name="q" value="${esc(q)}" maxlength="${MAX_QUERY}"></label> <button>Filter</button>` +
      (q ? ` <a href="status">clear</a>` : "") +
      `</form>`,
  );
  const causes = failureCauses(units, scopes);
  if (causes.length > 0) {
    out.push(`<h2>Failures</h2>`);
    for (const c of causes)
      out.push(
        `<div class="cause">${esc(c.cause)}${c.hint ? `<div class="hint">Fix: ${esc(c.hint)}</div>` : ""}</div>`,
      );
  }
  for (const source of sources) {
    const report = view.report?.(source);
    const skips = view.skips?.(source) ?? new Map<string, UnitSkips>();
    out.push(`<h2 id="source-${esc(source)}">Source ${esc(source)}</h2>`);
    if (report)
      out.push(
        `<p>Last refresh ${esc(report.at)} took ${report.durationMs} ms: ${report.targets} targets ` +
          `(+${report.added} −${report.removed}), units ${report.unitsOk} ok, ${report.unitsFailed} failed. ` +
          `AWS calls: ${esc(callsText(report.calls))}</p>`,
      );
    const sourceScopes = scopes.filter((s) => s.source === source);
    if (sourceScopes.length > 0) {
      out.push(`<table><tr><th>Account/region</th><th>Listing</th><th>Error</th></tr>`);
      for (const s of sourceScopes)
        out.push(
          `<tr><td>${esc(s.scope)}</td><td>${stateCell(s.ok)}</td><td>${errorCell(s.lastError, s.failedStep)}</td></tr>`,
        );
      out.push(`</table>`);
    }
    for (const u of units.filter((x) => x.source === source)) {
      const targets = unitTargets.get(`${source}:${u.unit}`) ?? [];
      const unitSkips = skips.get(u.unit) ?? emptySkips();
      const shownTargets = match ? targets.filter(match.target) : targets;
      const shownSkips = match ? unitSkips.records.filter(match.skip) : unitSkips.records;
      if (match && shownTargets.length === 0 && shownSkips.length === 0) continue;
      out.push(
        `<h3 class="unit">${esc(u.unit)} ${stateCell(u.ok)}${u.absent ? ' <span class="muted">absent</span>' : ""}${u.stale ? ' <span class="down">stale</span>' : ""}</h3>`,
        `<p>Last success: ${esc(u.lastSuccess ?? "never")}. Targets: ${u.targets}. ` +
          `Skipped: ${esc(reasonsText(unitSkips.byReason))}` +
          (unitSkips.dropped > 0 ? ` (${unitSkips.dropped} not itemised: over the record cap)` : "") +
          (u.calls ? `. AWS calls: ${esc(callsText(u.calls))}` : "") +
          `</p>`,
      );
      if (!u.ok && u.lastError) out.push(`<p>${errorCell(u.lastError, u.failedStep)}</p>`);
      for (const svc of byService(shownTargets, shownSkips)) {
        const total = svc.targets.length + svc.skips.length;
        if (rows >= MAX_ROWS || services >= MAX_SERVICES) {
          hiddenServices++;
          hidden += total;
          continue;
        }
        services++;
        const open = match !== undefined || total <= 5;
        out.push(
          `<details class="service"${open ? " open" : ""}><summary>service <b>${esc(svc.name || "(no service)")}</b>: ` +
            `${svc.targets.length} targets, ${svc.skips.length} skipped</summary>`,
        );
        const budget = Math.max(0, Math.min(match ? MAX_ROWS : ROWS_PER_SERVICE, MAX_ROWS - rows));
        const targetRows = svc.targets.slice(0, budget);
        const skipRows = svc.skips.slice(0, budget - targetRows.length);
        rows += targetRows.length + skipRows.length;
        if (targetRows.length > 0) {
          out.push(
            `<table class="targets"><tr><th>Address</th><th>Path</th><th>Job</th><th>Container</th><th>Task</th></tr>`,
          );
          for (const t of targetRows) out.push(targetRow(t));
          out.push(`</table>`);
        }
        if (skipRows.length > 0) {
          out.push(`<table class="skipped"><tr><th>Task</th><th>Container</th><th>Skipped because</th></tr>`);
          for (const s of skipRows)
            out.push(
              `<tr><td>${taskLink(s.task)}</td><td>${esc(s.container ?? "")}</td><td><code>${esc(s.reason)}</code> ${esc(s.detail)}</td></tr>`,
            );
          out.push(`</table>`);
        }
        const more = total - targetRows.length - skipRows.length;
        if (more > 0) {
          hidden += more;
          out.push(
            `<p class="muted">${more} more: <a href="status?q=${esc(encodeURIComponent(svc.name))}">show this service</a></p>`,
          );
        }
        out.push(`</details>`);
      }
    }
  }
  if (hiddenServices > 0 || (hidden > 0 && rows >= MAX_ROWS))
    out.push(
      `<p class="muted">Not shown: ${hidden} rows${hiddenServices > 0 ? ` in ${hiddenServices} more services` : ""}. ` +
        `The page shows at most ${MAX_ROWS} rows and ${MAX_SERVICES} services; filter to see the others.</p>`,
    );
  if (match && rows === 0)
    out.push(`<p>No target or skipped task matches <code>${esc(q)}</code> in the last refresh.</p>`);
  out.push(`</body></html>`);
  return out.join("\n");
}

function stateCell(ok: boolean): string {
  return ok ? '<span class="ok">ok</span>' : '<span class="down">failing</span>';
}

function errorCell(error: string | undefined, step: string | undefined): string {
  if (!error) return "";
  const hint = fixHint(error, step);
  return (
    `${step ? `<code>${esc(step)}</code>: ` : ""}${esc(error)}` +
    (hint ? ` <span class="hint">Fix: ${esc(hint)}</span>` : "")
  );
}

function taskLink(task: string | undefined): string {
  if (!task) return "";
  return `<a href="explain?task=${esc(encodeURIComponent(task))}" title="${esc(task)}">${esc(taskIdOf(task))}</a>`;
}

function targetRow(t: DiscoveredTarget): string {
  const l = t.group.labels;
  return (
    `<tr><td>${esc(l.__scheme__ ?? "http")}://${esc(t.group.targets[0] ?? "")}</td><td>${esc(l.__metrics_path__ ?? "/metrics")}</td>` +
    `<td>${esc(l.job ?? "")}</td><td>${esc(l[CONTAINER_LABEL] ?? "")}</td>` +
    // Only ECS tasks have an explanation; a Cloud Map instance id is shown as it is.
    `<td>${l.__meta_ecs_task_arn ? taskLink(l.__meta_ecs_task_arn) : esc(taskOf(t) ?? "")}</td></tr>`
  );
}

function callsText(calls: Record<string, number>): string {
  const entries = Object.entries(calls).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length === 0 ? "none" : entries.map(([op, n]) => `${op} ${n}`).join(", ");
}

function reasonsText(byReason: Record<string, number>): string {
  const entries = Object.entries(byReason);
  return entries.length === 0 ? "nothing" : entries.map(([r, n]) => `${r} ${n}`).join(", ");
}
