// Event-driven ECS discovery (ecs.events, docs/events.md): an EventBridge rule for ECS task state changes, the
// SQS queue it sends them to with a dead-letter queue, and the bridge's permission to consume that queue only.
// The same resources as deploy/cloudformation-events.yaml (test/unit/deploy-cdk.test.ts compares them).
import { Duration, Stack, aws_events as events, aws_iam as iam, aws_sqs as sqs } from "aws-cdk-lib";
import { Construct } from "constructs";

/** The name of the task role policy, and of its reviewed document deploy/iam/ecs-events.json. */
export const EVENTS_POLICY = "ecs-events";

export interface EventsProps {
  /** Seconds between full ListTasks walks (BRIDGE_ECS_EVENTS_RECONCILE_INTERVAL_SECONDS, 30-86400). Default: the bridge's, 300. */
  readonly reconcileIntervalSeconds?: number;
  /** How long a stopping task stays a target at most (BRIDGE_ECS_EVENTS_DRAINING_GRACE_SECONDS, 0-3600). Default: the bridge's, 120. */
  readonly drainingGraceSeconds?: number;
  /** Cluster names or ARNs whose events the rule sends (its detail.clusterArn). Default: `discoverClusters`, else every cluster. */
  readonly clusters?: string[];
  /** How long an event waits for the bridge; the reconcile repairs older ones anyway. Default one hour. */
  readonly messageRetention?: Duration;
}

/** The rule, the queue, its dead-letter queue and policy, and the task role's `ecs-events` policy. */
export class BridgeEvents extends Construct {
  readonly rule: events.Rule;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly consumerPolicy: iam.Policy;
  /** The container's BRIDGE_ECS_EVENTS_* variables. */
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: EventsProps, taskRole: iam.IRole) {
    super(scope, id);
    const stack = Stack.of(this);
    inRange("reconcileIntervalSeconds", props.reconcileIntervalSeconds, 30, 86400);
    inRange("drainingGraceSeconds", props.drainingGraceSeconds, 0, 3600);

    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, "Queue", {
      retentionPeriod: props.messageRetention ?? Duration.hours(1),
      // The bridge deletes a message within seconds of applying it; one it could not apply comes back after this.
      visibilityTimeout: Duration.seconds(60),
      receiveMessageWaitTime: Duration.seconds(20),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });

    const clusterArns = (props.clusters ?? []).map((c) =>
      c.startsWith("arn:") ? c : stack.formatArn({ service: "ecs", resource: "cluster", resourceName: c }),
    );
    this.rule = new events.Rule(this, "TaskStateChangeRule", {
      description: "ECS task state changes for ecs-prometheus-bridge",
      eventPattern: {
        source: ["aws.ecs"],
        detailType: ["ECS Task State Change"],
        ...(clusterArns.length > 0 ? { detail: { clusterArn: clusterArns } } : {}),
      },
      // Not targets.SqsQueue: its grant adds sqs:GetQueueAttributes and GetQueueUrl, which EventBridge never calls.
      targets: [{ bind: () => ({ arn: this.queue.queueArn }) }],
    });
    this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "EventBridgeRuleSends",
        principals: [new iam.ServicePrincipal("events.amazonaws.com")],
        actions: ["sqs:SendMessage"],
        resources: [this.queue.queueArn],
        conditions: { ArnEquals: { "aws:SourceArn": this.rule.ruleArn } },
      }),
    );

    // Not queue.grantConsumeMessages: it adds ChangeMessageVisibility and GetQueueUrl, which the bridge never calls.
    this.consumerPolicy = new iam.Policy(this, "ConsumerPolicy", {
      policyName: EVENTS_POLICY,
      roles: [taskRole],
      statements: [
        new iam.PolicyStatement({
          sid: "ConsumeEcsTaskStateChangeEvents",
          actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
          resources: [this.queue.queueArn],
        }),
      ],
    });

    this.environment = {
      BRIDGE_ECS_EVENTS_ENABLED: "true",
      BRIDGE_ECS_EVENTS_QUEUE_URLS: this.queue.queueUrl,
      ...(props.reconcileIntervalSeconds !== undefined
        ? { BRIDGE_ECS_EVENTS_RECONCILE_INTERVAL_SECONDS: String(props.reconcileIntervalSeconds) }
        : {}),
      ...(props.drainingGraceSeconds !== undefined
        ? { BRIDGE_ECS_EVENTS_DRAINING_GRACE_SECONDS: String(props.drainingGraceSeconds) }
        : {}),
    };
  }
}

/** The bridge's own bounds (sd/ecs/options.ts), checked at synthesis rather than at the task's start. */
function inRange(name: string, value: number | undefined, min: number, max: number): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max))
    throw new Error(`events.${name}: ${value} is not a whole number from ${min} to ${max}`);
}
