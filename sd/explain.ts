// GET /explain?task=<id or ARN>: whether a task is a target, with each target's labels, or exactly why
// not, from the last refresh's data. Never calls AWS: a task the last refresh did not see is unknown.
import type { Labels, SourceName } from "./model.js";
import type { StatusView } from "./status-page.js";
import { taskIdOf } from "./skips.js";

/** An ECS task id, or a task ARN (`arn:<partition>:ecs:<region>:<account>:task/<cluster>/<id>`). */
const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const TASK_ARN = /^arn:[a-z-]+:ecs:[a-z0-9-]+:\d{12}:task\/([A-Za-z0-9_-]{1,255}\/)?[A-Za-z0-9_-]{1,64}$/;

export interface Explanation {
  status: number;
  body: Record<string, unknown>;
}

const TASK_LABEL = "__meta_ecs_task_arn";

export function explainTask(view: StatusView, param: unknown): Explanation {
  if (typeof param !== "string" || param === "")
    return bad(
      "task is required: an ECS task id or task ARN, e.g. /explain?task=0123456789abcdef0123456789abcdef",
    );
  if (!TASK_ID.test(param) && !TASK_ARN.test(param))
    return bad("task must be an ECS task id (letters, digits, - and _) or a task ARN");
  const byArn = param.startsWith("arn:");
  const same = (arn: string | undefined) =>
    arn !== undefined && (byArn ? arn === param : taskIdOf(arn) === param);

  const targets: { source: SourceName; unit: string; address: string; labels: Labels }[] = [];
  for (const [key, list] of view.unitTargets?.() ?? [])
    for (const t of list)
      if (same(t.group.labels[TASK_LABEL]))
        targets.push({
          source: t.source,
          unit: key.slice(t.source.length + 1),
          address: t.group.targets[0] ?? "",
          labels: t.group.labels,
        });

  const skipped: { source: SourceName; unit: string; container?: string; reason: string; detail: string }[] =
    [];
  let taskArn = targets[0]?.labels[TASK_LABEL];
  let notItemised = 0;
  const sources = new Set(view.status().map((u) => u.source));
  for (const source of sources)
    for (const [unit, skips] of view.skips?.(source) ?? []) {
      notItemised += skips.dropped;
      for (const s of skips.records)
        if (same(s.task)) {
          taskArn ??= s.task;
          skipped.push({
            source,
            unit,
            ...(s.container ? { container: s.container } : {}),
            reason: s.reason,
            detail: s.detail,
          });
        }
    }

  if (targets.length === 0 && skipped.length === 0)
    return {
      status: 404,
      body: {
        error:
          "the last refresh saw no such task: it is not in a discovered cluster, or stopped before the refresh" +
          (notItemised > 0 ? ` (${notItemised} skips of the last refresh were counted, not itemised)` : ""),
        task: param,
      },
    };
  const units = view.status();
  const unitOf = (source: SourceName, unit: string) =>
    units.find((u) => u.source === source && u.unit === unit);
  const unit = targets[0] ?? skipped[0]!;
  const state = unitOf(unit.source, unit.unit);
  return {
    status: 200,
    body: {
      task: taskArn,
      target: targets.length > 0,
      ...(state
        ? { unit: { source: state.source, unit: state.unit, ok: state.ok, lastSuccess: state.lastSuccess } }
        : {}),
      targets: targets.map((t) => ({ address: t.address, labels: t.labels })),
      skipped,
      ...(state && !state.ok
        ? {
            note: "this unit's last refresh failed: these are its last-good data",
            lastError: state.lastError,
          }
        : {}),
    },
  };
}

function bad(error: string): Explanation {
  return { status: 400, body: { error, param: "task" } };
}
