// Options of the ECS source: whether it runs, how a container opts in, how often known tasks are re-read,
// and event-driven discovery (ECS task state change events from SQS, polling reduced to a reconcile).
import * as z from "../../core/zod.js";
import { bool, ConfigError, int, list, oneOf, text, type OptionSpec } from "../../core/config/spec.js";

export const OPT_IN_MODES = ["labels", "port-name", "all-named-ports"] as const;
export type OptInMode = (typeof OPT_IN_MODES)[number];

export interface EcsConfig {
  enabled: boolean;
  optIn: OptInMode[];
  labelPrefix: string;
  portName: string;
  taskTags: boolean;
  redescribeEveryRefreshes: number;
  events: EcsEventsConfig;
}

/** ecs.events: task starts and stops from an SQS queue fed by an EventBridge rule (docs/events.md). */
export interface EcsEventsConfig {
  enabled: boolean;
  /** SQS queue URLs; each queue is polled with the credentials of the scope in its region. */
  queueUrls: string[];
  reconcileIntervalSeconds: number;
  drainingGraceSeconds: number;
}

const queueUrl = z
  .string()
  .trim()
  .regex(/^https?:\/\/[^/\s]+\/\d{12}\/[A-Za-z0-9_-]{1,80}$/, {
    error: "expected an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<queue>)",
  });

const allowed = `allowed: ${OPT_IN_MODES.join(", ")}`;

export const ECS_OPTIONS: readonly OptionSpec[] = [
  {
    key: "ecs.enabled",
    env: "BRIDGE_ECS_ENABLED",
    flag: "--ecs-enabled",
    schema: bool(),
    bool: true,
    default: true,
    description: "Discover ECS tasks.",
  },
  {
    key: "ecs.optIn",
    env: "BRIDGE_ECS_OPT_IN",
    flag: "--ecs-opt-in",
    schema: list(oneOf(OPT_IN_MODES), allowed).refine((modes) => modes.length > 0, {
      error: `expected at least one of: ${OPT_IN_MODES.join(", ")}`,
    }),
    allowed: OPT_IN_MODES,
    default: ["labels"],
    description:
      "How a container opts in: `labels` (dockerLabels <prefix>PORT, _PATH, _SCHEME, _JOB_NAME, numbered _PORT_1...), `port-name` (a port mapping named ecs.portName), `all-named-ports`.",
  },
  {
    key: "ecs.labelPrefix",
    env: "BRIDGE_ECS_LABEL_PREFIX",
    flag: "--ecs-label-prefix",
    schema: text(),
    default: "PROMETHEUS_EXPORTER_",
    description: "Prefix of the opt-in docker labels in the task definition.",
  },
  {
    key: "ecs.portName",
    env: "BRIDGE_ECS_PORT_NAME",
    flag: "--ecs-port-name",
    schema: text(),
    default: "metrics",
    description: "Port mapping name that opts a port in when ecs.optIn contains `port-name`.",
  },
  {
    key: "ecs.taskTags",
    env: "BRIDGE_ECS_TASK_TAGS",
    flag: "--ecs-task-tags",
    schema: bool(),
    bool: true,
    default: true,
    description: "Fetch task tags (DescribeTasks include=TAGS) as __meta_ecs_tag_task_<key> labels.",
  },
  {
    key: "ecs.redescribeEveryRefreshes",
    env: "BRIDGE_ECS_REDESCRIBE_EVERY_REFRESHES",
    flag: "--ecs-redescribe-every-refreshes",
    schema: int(1, 1000),
    default: 10,
    description:
      "Known tasks are described again (DescribeTasks, 100 per call) once every this many refreshes, an even share of them on each, so task tags follow the task; 1: every task on every refresh. New and unsettled tasks, and tasks whose containers declare a health check (nothing else says their health changed), are described on every refresh; a stopped task leaves ListTasks at once. With ecs.events on: once every this many reconciles, at least 12.",
  },
  {
    key: "ecs.events.enabled",
    env: "BRIDGE_ECS_EVENTS_ENABLED",
    flag: "--ecs-events-enabled",
    schema: bool(),
    bool: true,
    default: false,
    description:
      "Event-driven discovery: follow ECS task state change events from the SQS queues in ecs.events.queueUrls (docs/events.md); the full ListTasks walk becomes a reconcile every ecs.events.reconcileIntervalSeconds.",
  },
  {
    key: "ecs.events.queueUrls",
    env: "BRIDGE_ECS_EVENTS_QUEUE_URLS",
    flag: "--ecs-events-queue-urls",
    schema: list(queueUrl, "expected a list of SQS queue URLs"),
    default: [],
    description:
      "SQS queues an EventBridge rule sends `ECS Task State Change` events to: one queue for every account/region, or one per region (polled with that region's credentials). One queue per bridge replica.",
  },
  {
    key: "ecs.events.reconcileIntervalSeconds",
    env: "BRIDGE_ECS_EVENTS_RECONCILE_INTERVAL_SECONDS",
    flag: "--ecs-events-reconcile-interval-seconds",
    schema: int(30, 86400),
    default: 300,
    description:
      "With events on: seconds between full ListTasks walks that repair anything events missed (counted in ecs_bridge_ecs_reconcile_repairs_total).",
  },
  {
    key: "ecs.events.drainingGraceSeconds",
    env: "BRIDGE_ECS_EVENTS_DRAINING_GRACE_SECONDS",
    flag: "--ecs-events-draining-grace-seconds",
    schema: int(0, 3600),
    default: 120,
    description:
      "With events on: a task whose desired status turns STOPPED stays a target until it leaves RUNNING, at most this long, so its last metrics are scraped.",
  },
];

export function checkEcsConfig(cfg: EcsConfig): void {
  if (cfg.enabled && cfg.events.enabled && cfg.events.queueUrls.length === 0)
    throw new ConfigError(
      "invalid ecs.events.queueUrls: ecs.events.enabled needs at least one SQS queue URL (docs/events.md)",
    );
}
