// The one place AWS SDK clients are made: region, credentials (default chain or an assumed role),
// endpoint overrides, retries, and a per-operation call counter that feeds the self-metrics.
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@aws-sdk/types";
import type { AccountConfig } from "./options.js";
import type { SelfMetrics } from "./metrics.js";

export type ServiceKey = "ecs" | "ec2" | "servicediscovery" | "cloudwatch" | "sts";

/** Error names AWS uses for throttling across the four services. */
export const THROTTLING_CODES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "RequestThrottled",
  "RequestThrottledException",
  "SlowDown",
]);

export function isThrottle(err: unknown): boolean {
  const e = err as { name?: string; Code?: string } | undefined;
  return Boolean(e && (THROTTLING_CODES.has(e.name ?? "") || THROTTLING_CODES.has(e.Code ?? "")));
}

export interface AwsTarget {
  region: string;
  account?: AccountConfig;
}

export interface ClientOptions {
  metrics?: SelfMetrics;
  maxAttempts?: number;
  /** Explicit credentials (tests, the simulated AWS); otherwise the default provider chain. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  env?: NodeJS.ProcessEnv;
}

export interface AwsClients {
  region: string;
  ecs: ECSClient;
  ec2: EC2Client;
  servicediscovery: ServiceDiscoveryClient;
  cloudwatch: CloudWatchClient;
}

const ENV_SUFFIX: Record<ServiceKey, string> = {
  ecs: "ECS",
  ec2: "EC2",
  servicediscovery: "SERVICEDISCOVERY",
  cloudwatch: "CLOUDWATCH",
  sts: "STS",
};

/** The endpoint override for a service: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL. */
export function endpointOverride(
  service: ServiceKey,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (/^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? "")) return undefined;
  return env[`AWS_ENDPOINT_URL_${ENV_SUFFIX[service]}`] || env.AWS_ENDPOINT_URL || undefined;
}

interface MiddlewareClient {
  middlewareStack: {
    add: (
      mw: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      opts: { step: "deserialize"; name: string; priority: "high" },
    ) => void;
  };
}

/** Counts every attempt (the deserialize step runs below the retry middleware). */
function instrument(client: MiddlewareClient, service: ServiceKey, metrics: SelfMetrics | undefined): void {
  if (!metrics) return;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? "unknown").replace(/Command$/, "");
      metrics.awsRequests.inc({ service, operation });
      try {
        return await next(args);
      } catch (err) {
        const code = (err as { name?: string }).name ?? "Error";
        metrics.awsErrors.inc({ service, operation, code });
        if (isThrottle(err)) metrics.awsThrottles.inc({ service, operation });
        throw err;
      }
    },
    // High priority wraps the SDK's deserializer, so service errors thrown there are seen and counted.
    { step: "deserialize", name: "ecsBridgeCallCounter", priority: "high" },
  );
}

/** Refresh assumed-role credentials this long before they expire. */
const CREDENTIALS_REFRESH_MS = 5 * 60_000;

/**
 * One set of assumed-role credentials for all of a scope's clients: each SDK client caches credentials
 * on its own, so without this every client (ECS, EC2, ...) would call AssumeRole separately.
 */
function sharedCredentials(provider: AwsCredentialIdentityProvider): AwsCredentialIdentityProvider {
  let current: Promise<AwsCredentialIdentity> | undefined;
  const fetch = () =>
    (current = provider().catch((err: unknown) => ((current = undefined), Promise.reject(err))));
  return async () => {
    const pending = current ?? fetch();
    const creds = await pending;
    const expiresIn = creds.expiration ? creds.expiration.getTime() - Date.now() : Infinity;
    if (expiresIn > CREDENTIALS_REFRESH_MS) return creds;
    // Expiring: one caller starts the refresh, the others wait for it.
    return current === pending ? fetch() : (current ?? fetch());
  };
}

export function createClients(target: AwsTarget, opts: ClientOptions = {}): AwsClients {
  const env = opts.env ?? process.env;
  let credentials = opts.credentials;
  if (target.account) {
    const stsEndpoint = endpointOverride("sts", env);
    credentials = sharedCredentials(
      fromTemporaryCredentials({
        params: {
          RoleArn: target.account.roleArn,
          RoleSessionName: "ecs-prometheus-bridge",
          ...(target.account.externalId ? { ExternalId: target.account.externalId } : {}),
          DurationSeconds: 3600,
        },
        ...(opts.credentials ? { masterCredentials: opts.credentials } : {}),
        // The STS client behind assume-role honours the same endpoint overrides as the others.
        clientConfig: { region: target.region, ...(stsEndpoint ? { endpoint: stsEndpoint } : {}) },
      }),
    );
  }
  const common = (service: ServiceKey) => {
    const endpoint = endpointOverride(service, env);
    return {
      region: target.region,
      maxAttempts: opts.maxAttempts ?? 5,
      retryMode: "adaptive",
      ...(credentials ? { credentials } : {}),
      ...(endpoint ? { endpoint } : {}),
    };
  };
  const sdEndpoint = endpointOverride("servicediscovery", env);
  const clients: AwsClients = {
    region: target.region,
    ecs: new ECSClient(common("ecs")),
    ec2: new EC2Client(common("ec2")),
    // DiscoverInstances has host prefix "data-"; with an overridden endpoint it must not be prepended.
    servicediscovery: new ServiceDiscoveryClient({
      ...common("servicediscovery"),
      ...(sdEndpoint ? { disableHostPrefix: true } : {}),
    }),
    cloudwatch: new CloudWatchClient(common("cloudwatch")),
  };
  instrument(clients.ecs as unknown as MiddlewareClient, "ecs", opts.metrics);
  instrument(clients.ec2 as unknown as MiddlewareClient, "ec2", opts.metrics);
  instrument(clients.servicediscovery as unknown as MiddlewareClient, "servicediscovery", opts.metrics);
  instrument(clients.cloudwatch as unknown as MiddlewareClient, "cloudwatch", opts.metrics);
  return clients;
}

export function destroyClients(clients: AwsClients): void {
  clients.ecs.destroy();
  clients.ec2.destroy();
  clients.servicediscovery.destroy();
  clients.cloudwatch.destroy();
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
