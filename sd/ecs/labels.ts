// Every `__meta_ecs_*` label name, in one place. The names (and values) are the contract with users'
// relabel rules: the first group matches Prometheus' native ECS discovery, the rest are this project's.
import { sanitizeLabelName } from "../model.js";

export const ECS_LABELS = {
  cluster: "__meta_ecs_cluster",
  clusterArn: "__meta_ecs_cluster_arn",
  service: "__meta_ecs_service",
  taskArn: "__meta_ecs_task_arn",
  taskGroup: "__meta_ecs_task_group",
  taskDefinition: "__meta_ecs_task_definition",
  launchType: "__meta_ecs_launch_type",
  networkMode: "__meta_ecs_network_mode",
  lastStatus: "__meta_ecs_last_status",
  desiredStatus: "__meta_ecs_desired_status",
  healthStatus: "__meta_ecs_health_status",
  availabilityZone: "__meta_ecs_availability_zone",
  region: "__meta_ecs_region",
  ipAddress: "__meta_ecs_ip_address",
  subnetId: "__meta_ecs_subnet_id",
  containerInstanceArn: "__meta_ecs_container_instance_arn",
  ec2InstanceId: "__meta_ecs_ec2_instance_id",
  ec2InstancePrivateIp: "__meta_ecs_ec2_instance_private_ip",
  /** Followed by the sanitised tag key. */
  taskTagPrefix: "__meta_ecs_tag_task_",

  // Added by this project.
  taskDefinitionFamily: "__meta_ecs_task_definition_family",
  taskDefinitionRevision: "__meta_ecs_task_definition_revision",
  accountId: "__meta_ecs_account_id",
  containerName: "__meta_ecs_container_name",
  containerPort: "__meta_ecs_container_port",
  portName: "__meta_ecs_port_name",
  /** Followed by the sanitised docker label key. */
  containerLabelPrefix: "__meta_ecs_container_label_",
} as const;

/** `__meta_ecs_tag_task_<key>`, the key sanitised as Prometheus does. */
export function taskTagLabelName(key: string): string {
  return ECS_LABELS.taskTagPrefix + sanitizeLabelName(key);
}

/** `__meta_ecs_container_label_<key>`, the key sanitised as Prometheus does. */
export function containerLabelName(key: string): string {
  return ECS_LABELS.containerLabelPrefix + sanitizeLabelName(key);
}
