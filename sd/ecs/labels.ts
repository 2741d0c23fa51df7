// Every `__meta_ecs_*` label name, in one place. The names (and values) are the contract with users'
// relabel rules: the first group matches Prometheus' native ECS discovery, the rest are this project's.
import { sanitizeLabelName } from "../model.js";

export const ECS_LABELS = {
  cluster: "__meta_ecs_cluster",
  clusterArn: "__meta_ecs_cluster_arn",
  service: "__meta_ecs_service",
  serviceArn: "__meta_ecs_service_arn",
  serviceStatus: "__meta_ecs_service_status",
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
  platformFamily: "__meta_ecs_platform_family",
  platformVersion: "__meta_ecs_platform_version",
  ipAddress: "__meta_ecs_ip_address",
  subnetId: "__meta_ecs_subnet_id",
  publicIp: "__meta_ecs_public_ip",
  containerInstanceArn: "__meta_ecs_container_instance_arn",
  ec2InstanceId: "__meta_ecs_ec2_instance_id",
  ec2InstanceType: "__meta_ecs_ec2_instance_type",
  ec2InstancePrivateIp: "__meta_ecs_ec2_instance_private_ip",
  ec2InstancePublicIp: "__meta_ecs_ec2_instance_public_ip",
  /** Each followed by the sanitised tag key. */
  clusterTagPrefix: "__meta_ecs_tag_cluster_",
  serviceTagPrefix: "__meta_ecs_tag_service_",
  taskTagPrefix: "__meta_ecs_tag_task_",
  ec2TagPrefix: "__meta_ecs_tag_ec2_",

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

export type TagPrefix =
  | typeof ECS_LABELS.clusterTagPrefix
  | typeof ECS_LABELS.serviceTagPrefix
  | typeof ECS_LABELS.taskTagPrefix
  | typeof ECS_LABELS.ec2TagPrefix;

/** `__meta_ecs_tag_<resource>_<key>`, the key sanitised as Prometheus does. */
export function tagLabelName(prefix: TagPrefix, key: string): string {
  return prefix + sanitizeLabelName(key);
}

/** `__meta_ecs_container_label_<key>`, the key sanitised as Prometheus does. */
export function containerLabelName(key: string): string {
  return ECS_LABELS.containerLabelPrefix + sanitizeLabelName(key);
}
