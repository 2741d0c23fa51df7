// EcsPrometheusBridgeLambda: the Lambda (308 redirects to task IPs, and /sd) behind a function URL, with
// a role holding exactly the read-only policy of each enabled feature. The code is the esbuild bundle
// (`npm run build:lambda` writes build/lambda/handler.mjs); nothing is built or bundled at synth time.
import {
  CfnOutput,
  Duration,
  SecretValue,
  Stack,
  Validations,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
} from "aws-cdk-lib";
import { Construct } from "constructs";
import {
  attachFeaturePolicies,
  discoveryEnvironment,
  enabledFeatures,
  type CrossAccountRole,
  type DiscoveryFeatures,
} from "./features.js";

export interface EcsPrometheusBridgeLambdaProps extends Pick<
  DiscoveryFeatures,
  "bridgeModeLookups" | "cloudMap"
> {
  /** Directory holding the bundle's handler.mjs (`build/lambda` after `npm run build:lambda`). */
  readonly bundleDirectory: string;
  /**
   * Function URL auth. Default NONE, since Prometheus cannot SigV4-sign scrapes; NONE requires sharedSecret.
   */
  readonly functionUrlAuthType?: lambda.FunctionUrlAuthType;
  /**
   * The secret every route but /healthz requires (BRIDGE_LAMBDA_SHARED_SECRET), e.g.
   * `SecretValue.secretsManager("bridge/lambda-secret")`: resolved by CloudFormation at deploy time.
   */
  readonly sharedSecret?: SecretValue;
  /** Header carrying the secret (BRIDGE_LAMBDA_SECRET_HEADER). Default: the bridge's `x-bridge-secret`. */
  readonly secretHeader?: string;
  /** The function URL (or a custom domain) for `/sd?mode=redirect` (BRIDGE_LAMBDA_PUBLIC_URL); known after the first deploy. */
  readonly publicUrl?: string;
  /** Regions to discover in (BRIDGE_REGIONS). Default: the stack's region. */
  readonly regions?: string[];
  /** ECS cluster names or ARNs (BRIDGE_CLUSTERS). Default: every cluster. */
  readonly discoverClusters?: string[];
  /** Cloud Map namespace names or IDs (BRIDGE_CLOUDMAP_NAMESPACES). Default: every namespace. */
  readonly cloudMapNamespaces?: string[];
  /** Roles in other accounts (BRIDGE_ACCOUNTS, and sts:AssumeRole on exactly these). */
  readonly crossAccountRoles?: CrossAccountRole[];
  /** Default Node.js 22, the version the bundle is built for (lambda/build.mjs) and tested on. */
  readonly runtime?: lambda.Runtime;
  /** Default 256 (CPU scales with memory: a short first discovery on a cold start). */
  readonly memorySize?: number;
  /** Default 10 s: longer than a Prometheus scrape timeout is useless. */
  readonly timeout?: Duration;
  /** Default two weeks. */
  readonly logRetention?: logs.RetentionDays;
  /** More BRIDGE_* settings; cannot override the ones the props set. */
  readonly environment?: Record<string, string>;
}

export class EcsPrometheusBridgeLambda extends Construct {
  readonly function: lambda.Function;
  readonly functionUrl: lambda.FunctionUrl;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: EcsPrometheusBridgeLambdaProps) {
    super(scope, id);
    const authType = props.functionUrlAuthType ?? lambda.FunctionUrlAuthType.NONE;
    if (authType === lambda.FunctionUrlAuthType.NONE && !props.sharedSecret)
      throw new Error(
        "EcsPrometheusBridgeLambda: a function URL with AuthType NONE is public; set sharedSecret (or use AWS_IAM)",
      );
    // The Lambda's discovery is the ECS source, always on; the exporter runs only in the service.
    const features = enabledFeatures({ ...props, ecsDiscovery: true, exporter: false });
    const crossAccount = props.crossAccountRoles ?? [];

    this.logGroup = new logs.LogGroup(this, "LogGroup", {
      retention: props.logRetention ?? logs.RetentionDays.TWO_WEEKS,
    });
    // An own role instead of the default one, which carries the AWSLambdaBasicExecutionRole managed policy.
    this.role = new iam.Role(this, "Role", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: "WriteFunctionLogs",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    attachFeaturePolicies(
      this,
      this.role,
      features,
      crossAccount.map((r) => r.roleArn),
    );

    const environment: Record<string, string> = {
      ...props.environment,
      ...discoveryEnvironment({ ...props, regions: props.regions ?? [Stack.of(this).region] }),
    };
    if (props.sharedSecret) environment.BRIDGE_LAMBDA_SHARED_SECRET = props.sharedSecret.unsafeUnwrap();
    if (props.secretHeader) environment.BRIDGE_LAMBDA_SECRET_HEADER = props.secretHeader;
    if (props.publicUrl) environment.BRIDGE_LAMBDA_PUBLIC_URL = props.publicUrl;

    this.function = new lambda.Function(this, "Function", {
      description: "Prometheus 308 redirects to ECS task IPs and http_sd (ecs-prometheus-bridge)",
      code: lambda.Code.fromAsset(props.bundleDirectory),
      handler: "handler.handler",
      runtime: props.runtime ?? lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      environment,
    });
    Validations.of(this.function).acknowledge({
      id: "AwsSolutions-L1",
      reason:
        "The bundle is built for Node.js 22 (esbuild target node22, the serverless.yml runtime) and tested on it; the runtime prop chooses another.",
    });
    this.functionUrl = this.function.addFunctionUrl({ authType });
    new CfnOutput(this, "FunctionUrl", { value: this.functionUrl.url });
  }
}
