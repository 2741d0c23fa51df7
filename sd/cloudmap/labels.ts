// Every label name the Cloud Map source emits, spelled once. Names and values follow the project's
// documented Cloud Map labels; attribute keys go through the one sanitiser, sanitizeLabelName.
import { sanitizeLabelName } from "../model.js";

export const CLOUDMAP_LABELS = {
  namespaceName: "__meta_cloudmap_namespace_name",
  namespaceId: "__meta_cloudmap_namespace_id",
  serviceName: "__meta_cloudmap_service_name",
  serviceId: "__meta_cloudmap_service_id",
  instanceId: "__meta_cloudmap_instance_id",
  healthStatus: "__meta_cloudmap_health_status",
} as const;

const ATTRIBUTE_PREFIX = "__meta_cloudmap_attribute_";

/** `__meta_cloudmap_attribute_<key>`, with the key sanitised as Prometheus does. */
export function attributeLabel(key: string): string {
  return `${ATTRIBUTE_PREFIX}${sanitizeLabelName(key)}`;
}

/**
 * Attributes ECS writes when it registers a task, and the ECS source's label for each: an ECS-registered
 * instance carries the same labels as the ECS source's target, so one relabel rule serves both.
 */
export const ECS_ATTRIBUTE_LABELS: readonly (readonly [attribute: string, label: string])[] = [
  ["ECS_CLUSTER_NAME", "__meta_ecs_cluster"],
  ["ECS_SERVICE_NAME", "__meta_ecs_service"],
  ["ECS_TASK_DEFINITION_FAMILY", "__meta_ecs_task_definition_family"],
  ["AVAILABILITY_ZONE", "__meta_ecs_availability_zone"],
  ["REGION", "__meta_ecs_region"],
];

/** Prometheus' reserved label for the scrape path. */
export const METRICS_PATH_LABEL = "__metrics_path__";
