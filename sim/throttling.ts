// AWS's documented request throttling for the operations the sim serves: token buckets per account and
// region, grouped the way each service's documentation groups them. Off by default; turn them on with
// sim.setThrottling(AWS_THROTTLING) (or one service's list) or `throttling: aws` in a scenario.
import type { ThrottleRule } from "./faults.js";

/**
 * ECS: "Request throttling for the Amazon ECS API",
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html — all actions of a
 * category share one bucket (capacity = burst, refill = sustained rate per second).
 */
export const ECS_THROTTLING: readonly ThrottleRule[] = [
  // Cluster resource read actions.
  {
    service: "ecs",
    operation: [
      "DescribeContainerInstances",
      "DescribeTasks",
      "ListAttributes",
      "ListContainerInstances",
      "ListTasks",
    ],
    burst: 100,
    refillPerSecond: 20,
  },
  // Service read actions.
  { service: "ecs", operation: ["DescribeServices", "ListServices"], burst: 100, refillPerSecond: 20 },
  // Cluster read actions.
  { service: "ecs", operation: ["DescribeClusters", "ListClusters"], burst: 50, refillPerSecond: 20 },
  // Task definition read actions.
  {
    service: "ecs",
    operation: ["DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies"],
    burst: 50,
    refillPerSecond: 20,
  },
  // Tag read actions.
  { service: "ecs", operation: "ListTagsForResource", burst: 50, refillPerSecond: 20 },
];

/**
 * Cloud Map documents quotas for its discovery calls only ("AWS Cloud Map service quotas",
 * https://docs.aws.amazon.com/cloud-map/latest/dg/cloud-map-limits.html, and "Handle AWS Cloud Map
 * DiscoverInstances API request throttling", https://docs.aws.amazon.com/cloud-map/latest/dg/throttling.html):
 * DiscoverInstances 2,000 burst / 1,000 per second; DiscoverInstancesRevision 3,000 per second (one
 * second's worth as its burst). The control-plane reads (ListNamespaces, GetService, ...) have no published
 * rate, so they are not throttled here.
 */
export const CLOUDMAP_THROTTLING: readonly ThrottleRule[] = [
  { service: "servicediscovery", operation: "DiscoverInstances", burst: 2000, refillPerSecond: 1000 },
  {
    service: "servicediscovery",
    operation: "DiscoverInstancesRevision",
    burst: 3000,
    refillPerSecond: 3000,
  },
];

/**
 * EC2: "Request throttling for the Amazon EC2 API",
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html — request rate limiting evaluates
 * each API on its own: DescribeInstances is a non-mutating action (100 / 20 per second), but without a filter,
 * instance ids or pagination it draws from the smaller "unfiltered and unpaginated" bucket (50 / 10).
 */
export const EC2_THROTTLING: readonly ThrottleRule[] = [
  { service: "ec2", operation: "DescribeInstances", unfiltered: false, burst: 100, refillPerSecond: 20 },
  { service: "ec2", operation: "DescribeInstances", unfiltered: true, burst: 50, refillPerSecond: 10 },
  { service: "ec2", operation: "DescribeNetworkInterfaces", burst: 100, refillPerSecond: 20 },
];

/**
 * CloudWatch: "CloudWatch service quotas",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html — GetMetricData
 * 50 TPS (without Metrics Insights queries), ListMetrics 25 TPS, per account and region; a TPS quota is
 * modelled as a bucket holding one second's worth. (The datapoints-per-second quota is not modelled.)
 */
export const CLOUDWATCH_THROTTLING: readonly ThrottleRule[] = [
  { service: "cloudwatch", operation: "GetMetricData", burst: 50, refillPerSecond: 50 },
  { service: "cloudwatch", operation: "ListMetrics", burst: 25, refillPerSecond: 25 },
];

/** Every documented bucket above. */
export const AWS_THROTTLING: readonly ThrottleRule[] = [
  ...ECS_THROTTLING,
  ...CLOUDMAP_THROTTLING,
  ...EC2_THROTTLING,
  ...CLOUDWATCH_THROTTLING,
];
