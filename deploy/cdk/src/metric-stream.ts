// The exporter's stream mode (BRIDGE_EXPORTER_MODE=stream): a CloudWatch metric stream of the Service Connect
// metrics into an Amazon Data Firehose stream that delivers to the bridge's route through an HTTPS listener
// on an existing internet-facing Application Load Balancer, failed deliveries backed up to S3. The same
// resources as deploy/cloudformation-metric-stream.yaml. Firehose delivers only to a public https URL on
// port 443 with a certificate it trusts, so the bridge (plain HTTP inside the VPC) sits behind the load
// balancer, and only the delivery route is forwarded.
import {
  Duration,
  Stack,
  Validations,
  aws_cloudwatch as cloudwatch,
  aws_ecs as ecs,
  aws_elasticloadbalancingv2 as elbv2,
  aws_iam as iam,
  aws_kinesisfirehose as firehose,
  aws_s3 as s3,
  aws_secretsmanager as secretsmanager,
} from "aws-cdk-lib";
import { Construct } from "constructs";

/** exporter.stream.path's default: the route the bridge serves deliveries on. */
export const STREAM_PATH = "/firehose/metric-stream";

/** The Service Connect metrics the exporter knows (exporter/catalog.ts; the tests compare the two). */
export const SERVICE_CONNECT_METRICS = [
  "ActiveConnectionCount",
  "NewConnectionCount",
  "ProcessedBytes",
  "RequestCount",
  "GrpcRequestCount",
  "ClientTLSNegotiationErrorCount",
  "HTTPCode_Target_2XX_Count",
  "HTTPCode_Target_3XX_Count",
  "HTTPCode_Target_4XX_Count",
  "HTTPCode_Target_5XX_Count",
  "RequestCountPerTarget",
  "TargetProcessedBytes",
  "TargetResponseTime",
  "TargetTLSNegotiationErrorCount",
] as const;

export interface MetricStreamProps {
  /**
   * An existing internet-facing Application Load Balancer: an HTTPS listener on 443 is added to it. Its
   * security group must admit Firehose's published CIDR block of the region on 443 (not opened here).
   */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** ACM certificate for `endpointHostName` (Firehose requires a publicly trusted one). */
  readonly certificateArn: string;
  /** A DNS name that points at the load balancer and that the certificate covers. */
  readonly endpointHostName: string;
  /**
   * A Secrets Manager secret whose whole value (at least 16 characters) is the Firehose access key: the
   * bridge gets it as BRIDGE_EXPORTER_STREAM_ACCESS_KEY, Firehose sends it as X-Amz-Firehose-Access-Key.
   */
  readonly accessKey: secretsmanager.ISecret;
  /** How long failed deliveries are kept in S3. Default 14 days. */
  readonly failedDeliveriesRetention?: Duration;
}

export interface MetricStreamDeps {
  /** The bridge's service: the listener forwards to its `bridge` container. */
  readonly service: ecs.FargateService;
  readonly containerName: string;
  readonly containerPort: number;
}

/** The metric stream, the Firehose stream, their roles, the backup bucket and the listener. */
export class BridgeMetricStream extends Construct {
  readonly deliveryStream: firehose.CfnDeliveryStream;
  readonly metricStream: cloudwatch.CfnMetricStream;
  readonly failedDeliveries: s3.Bucket;
  readonly listener: elbv2.ApplicationListener;

  constructor(scope: Construct, id: string, props: MetricStreamProps, deps: MetricStreamDeps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.failedDeliveries = new s3.Bucket(this, "FailedDeliveries", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [
        { id: "expire-failed-deliveries", expiration: props.failedDeliveriesRetention ?? Duration.days(14) },
      ],
    });
    Validations.of(this.failedDeliveries).acknowledge({
      id: "AwsSolutions-S1",
      reason:
        "Only Firehose writes here, and only deliveries the bridge refused; access logs would need a second bucket and add nothing Firehose's own error logs do not say.",
    });

    const firehoseRole = new iam.Role(this, "FirehoseRole", {
      assumedBy: new iam.ServicePrincipal("firehose.amazonaws.com", {
        conditions: { StringEquals: { "sts:ExternalId": stack.account } },
      }),
    });
    const backup = new iam.Policy(this, "FirehoseBackupPolicy", {
      policyName: "failed-deliveries-to-s3",
      roles: [firehoseRole],
      statements: [
        new iam.PolicyStatement({
          actions: [
            "s3:PutObject",
            "s3:AbortMultipartUpload",
            "s3:GetBucketLocation",
            "s3:ListBucket",
            "s3:ListBucketMultipartUploads",
          ],
          resources: [this.failedDeliveries.bucketArn, this.failedDeliveries.arnForObjects("failed/*")],
        }),
      ],
    });
    Validations.of(backup).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.failedDeliveries.node.defaultChild as s3.CfnBucket)}.Arn>/failed/*]`,
      reason: "Firehose names the backup objects itself, under the failed/ prefix of this one bucket.",
    });

    this.deliveryStream = new firehose.CfnDeliveryStream(this, "DeliveryStream", {
      deliveryStreamType: "DirectPut",
      deliveryStreamEncryptionConfigurationInput: { keyType: "AWS_OWNED_CMK" },
      httpEndpointDestinationConfiguration: {
        endpointConfiguration: {
          name: "ecs-prometheus-bridge",
          url: `https://${props.endpointHostName}${STREAM_PATH}`,
          // A dynamic reference, resolved by CloudFormation: the key is not in the template.
          accessKey: props.accessKey.secretValue.unsafeUnwrap(),
        },
        requestConfiguration: { contentEncoding: "GZIP" },
        bufferingHints: { intervalInSeconds: 60, sizeInMBs: 1 },
        retryOptions: { durationInSeconds: 300 },
        roleArn: firehoseRole.roleArn,
        s3BackupMode: "FailedDataOnly",
        s3Configuration: {
          bucketArn: this.failedDeliveries.bucketArn,
          roleArn: firehoseRole.roleArn,
          compressionFormat: "GZIP",
          prefix: "failed/",
        },
      },
    });
    // Firehose checks at creation that its role may write the bucket.
    this.deliveryStream.node.addDependency(backup);

    const streamRole = new iam.Role(this, "MetricStreamRole", {
      assumedBy: new iam.ServicePrincipal("streams.metrics.cloudwatch.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": stack.account } },
      }),
    });
    const put = new iam.Policy(this, "MetricStreamPolicy", {
      policyName: "metric-stream-to-firehose",
      roles: [streamRole],
      statements: [
        new iam.PolicyStatement({
          actions: ["firehose:PutRecord", "firehose:PutRecordBatch"],
          resources: [this.deliveryStream.attrArn],
        }),
      ],
    });
    this.metricStream = new cloudwatch.CfnMetricStream(this, "MetricStream", {
      outputFormat: "json",
      firehoseArn: this.deliveryStream.attrArn,
      roleArn: streamRole.roleArn,
      includeFilters: [{ namespace: "AWS/ECS", metricNames: [...SERVICE_CONNECT_METRICS] }],
    });
    this.metricStream.node.addDependency(put);

    this.listener = props.loadBalancer.addListener("MetricStreamHttps", {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
      certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
      // Only Firehose's CIDR block needs in: the load balancer's own security group decides.
      open: false,
      // Nothing but the delivery route is reachable from the internet: /metrics, /sd and /status stay inside.
      defaultAction: elbv2.ListenerAction.fixedResponse(404, {
        contentType: "application/json",
        messageBody: '{"error":"not found"}',
      }),
    });
    const bridge = new elbv2.ApplicationTargetGroup(this, "BridgeTargetGroup", {
      vpc: deps.service.cluster.vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: deps.containerPort,
      targets: [
        deps.service.loadBalancerTarget({
          containerName: deps.containerName,
          containerPort: deps.containerPort,
        }),
      ],
      healthCheck: { path: "/healthz", interval: Duration.seconds(30) },
    });
    this.listener.addTargetGroups("Delivery", {
      priority: 1,
      conditions: [
        elbv2.ListenerCondition.pathPatterns([STREAM_PATH]),
        elbv2.ListenerCondition.httpRequestMethods(["POST"]),
      ],
      targetGroups: [bridge],
    });
  }
}
