// Options of the ECS source: whether it runs, how a container opts in, how often known tasks are re-read.
import { bool, int, list, oneOf, text, type OptionSpec } from "../../core/config/spec.js";

export const OPT_IN_MODES = ["labels", "port-name", "all-named-ports"] as const;
export type OptInMode = (typeof OPT_IN_MODES)[number];

export interface EcsConfig {
  enabled: boolean;
  optIn: OptInMode[];
  labelPrefix: string;
  portName: string;
  taskTags: boolean;
  redescribeEveryRefreshes: number;
}

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
    default: 1,
    description:
      "Known tasks are described again (DescribeTasks, 100 per call) every this many refreshes, so health, status and task tags follow the task; 1: every refresh. New tasks are always described.",
  },
];
