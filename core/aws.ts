// The one place AWS SDK clients are made: region, credentials (default chain or an assumed role, renewed
// after ExpiredToken), endpoint overrides, retries, a timeout on every attempt, and a per-operation call
// counter (STS included) that feeds the self-metrics.
import { countCall } from "./calls.js";
// ECS and EC2 are imported statically: their subsets are small (the build keeps only the schemas the bridge
// uses), and a dynamically imported module is kept whole in an esbuild bundle (the Lambda's: 0.9 MiB of
// EC2 schemas).
import * as ec2Sdk from "./sdk/ec2.js";
import * as ecsSdk from "./sdk/ecs.js";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Pluggable } from "@aws-sdk/types";
import type { AccountConfig } from "./options.js";
import type { SelfMetrics } from "./metrics.js";

export type ServiceKey = "ecs" | "ec2" | "servicediscovery" | "cloudwatch" | "sts" | "sqs";

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

/** Error names of a call signed with a session token that has expired: the role must be assumed again. */
const EXPIRED_TOKEN_CODES = new Set(["ExpiredToken", "ExpiredTokenException"]);

/** Default bound on one attempt of one AWS call; well under any sensible refresh interval. */
export const DEFAULT_CALL_TIMEOUT_SECONDS = 10;

/** An AWS reply that does not have the API's shape (a required list missing or null): a failure, never "none". */
export class MalformedResponse extends Error {
  constructor(operation: string, missing: string) {
    super(`${operation} returned no ${missing}`);
    this.name = "MalformedResponse";
  }
}

/** The list a reply must carry; a missing or null one throws MalformedResponse. */
export function requiredList<T>(value: T[] | null | undefined, operation: string, field: string): T[] {
  if (!Array.isArray(value)) throw new MalformedResponse(operation, `${field} list`);
  return value;
}

export interface AwsTarget {
  region: string;
  account?: AccountConfig;
}

export interface ClientOptions {
  metrics?: SelfMetrics;
  maxAttempts?: number;
  /** Bound on one attempt of one call (connection, request and reply), in seconds. */
  callTimeoutSeconds?: number;
  /** Explicit credentials (tests, the simulated AWS); otherwise the default provider chain. */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  env?: NodeJS.ProcessEnv;
}

/**
 * A scope's clients, each made on first use with its SDK module loaded then: a run mode never loads the
 * modules of services it does not call (the EC2 module alone adds about 60 MiB of RSS).
 */
export interface AwsClients {
  region: string;
  ecs(): Promise<ECSClient>;
  ec2(): Promise<EC2Client>;
  servicediscovery(): Promise<ServiceDiscoveryClient>;
  cloudwatch(): Promise<CloudWatchClient>;
  /** The ECS task state change queue (ecs.events). */
  sqs(): Promise<SQSClient>;
  /**
   * For an assumed-role account: resolves its credentials (cached; AssumeRole only when none or expiring),
   * rejecting with STS's error, so a denied role can fail its scope once instead of each call.
   */
  assumeRole?: () => Promise<unknown>;
}

/** The clients createClients has made so far, for destroyClients. */
const madeClients = new WeakMap<AwsClients, { destroy(): void }[]>();

const ENV_SUFFIX: Record<ServiceKey, string> = {
  ecs: "ECS",
  ec2: "EC2",
  servicediscovery: "SERVICEDISCOVERY",
  cloudwatch: "CLOUDWATCH",
  sts: "STS",
  sqs: "SQS",
};

/** The other services' SDK modules, imported on first use or by loadSdkModules (ECS and EC2: above). */
const SDK_MODULES = {
  // fromTemporaryCredentials (an account's roleArn). The package's entry loads every credential provider
  // it has (Cognito's client among them): ~10 MiB of RSS a bridge without roles never uses.
  sts: () => import("@aws-sdk/credential-providers"),
  servicediscovery: () => import("@aws-sdk/client-servicediscovery"),
  cloudwatch: () => import("@aws-sdk/client-cloudwatch"),
  sqs: () => import("@aws-sdk/client-sqs"),
} satisfies Partial<Record<ServiceKey, () => Promise<unknown>>>;

/**
 * Loads the SDK modules of `services` now. Startup calls it for what the configuration will use: Node
 * compiles a module in one piece of the event loop (a whole client package took up to 300 ms on the bench
 * machine), harmless before the first refresh, not in the middle of one. ECS and EC2 need nothing here:
 * their subsets load with this module.
 */
export async function loadSdkModules(services: Iterable<ServiceKey>): Promise<void> {
  const modules: Record<string, () => Promise<unknown>> = SDK_MODULES;
  await Promise.all([...new Set(services)].flatMap((s) => modules[s]?.() ?? []));
}

/** The endpoint override for a service: AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL. */
export function endpointOverride(
  service: ServiceKey,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (/^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? "")) return undefined;
  return env[`AWS_ENDPOINT_URL_${ENV_SUFFIX[service]}`] || env.AWS_ENDPOINT_URL || undefined;
}

/** What each client's per-attempt middleware needs. */
interface AttemptOptions {
  service: ServiceKey;
  metrics: SelfMetrics | undefined;
  timeoutMs: number;
  /** Called when AWS says the session token expired. */
  onExpiredToken?: () => void;
}

class CallTimeoutError extends Error {
  constructor(operation: string, timeoutMs: number) {
    super(`${operation}: no complete reply within ${timeoutMs / 1000} s`);
    // The SDK's retry strategy treats TimeoutError as transient, like a socket timeout.
    this.name = "TimeoutError";
  }
}

/**
 * A plugin for the deserialize step, which runs once per attempt below the retry middleware: counts every
 * attempt and its errors, bounds the attempt including reading the reply body (the request handler's own
 * timeout ends when the headers arrive), and reports expired session tokens.
 */
function attemptPlugin<I extends object, O extends object>(o: AttemptOptions): Pluggable<I, O> {
  return {
    applyToStack(stack) {
      stack.add(
        (next, context) => async (args) => {
          const operation = (context.commandName ?? "unknown").replace(/Command$/, "");
          o.metrics?.awsRequests.inc({ service: o.service, operation });
          countCall(operation);
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new CallTimeoutError(operation, o.timeoutMs)), o.timeoutMs);
          });
          try {
            return await Promise.race([next(args), timeout]);
          } catch (err) {
            const code = (err as { name?: string }).name ?? "Error";
            markOperation(err, operation);
            o.metrics?.awsErrors.inc({ service: o.service, operation, code });
            if (isThrottle(err)) o.metrics?.awsThrottles.inc({ service: o.service, operation });
            if (EXPIRED_TOKEN_CODES.has(code)) o.onExpiredToken?.();
            throw err;
          } finally {
            clearTimeout(timer);
          }
        },
        // High priority wraps the SDK's deserializer, so service errors thrown there are seen and counted.
        // override: the STS client of an assumed role applies its plugins again on every AssumeRole.
        { step: "deserialize", name: "ecsBridgeAttempt", priority: "high", override: true },
      );
    },
  };
}

const OPERATION = Symbol("awsOperation");

/** Stamps the failing AWS call on its error once (the innermost call, e.g. AssumeRole under ListClusters). */
function markOperation(err: unknown, operation: string): void {
  if (err && typeof err === "object" && Object.isExtensible(err) && !(OPERATION in err))
    Object.defineProperty(err, OPERATION, { value: operation, enumerable: false });
}

/** The AWS operation an error came from (`ListClusters`), when it came from an AWS call. */
export function failedOperation(err: unknown): string | undefined {
  return err && typeof err === "object" && OPERATION in err
    ? (err as { [OPERATION]: string })[OPERATION]
    : undefined;
}

/** Credentials expire this long before their stated expiration, as the SDK's own cache does. */
const EXPIRY_MARGIN_MS = 5 * 60_000;

/**
 * Assumed-role credentials shared by a scope's clients, which can be dropped: after ExpiredToken the
 * identity every client cached is marked expired, so the next call of any of them assumes the role again.
 */
export function renewableCredentials(assume: AwsCredentialIdentityProvider): {
  provider: AwsCredentialIdentityProvider;
  renew: () => void;
} {
  let current: Promise<AwsCredentialIdentity> | undefined;
  let issued: { expiration?: Date } | undefined;
  const provider: AwsCredentialIdentityProvider = () => {
    const exp = issued?.expiration?.getTime();
    if (!current || (exp !== undefined && exp - Date.now() < EXPIRY_MARGIN_MS)) {
      // A copy we own, so renew() can mark it expired in every client's cache.
      const pending = assume().then((c) => (issued = { ...c }) as AwsCredentialIdentity);
      current = pending;
      pending.catch(() => {
        if (current === pending) current = undefined;
      });
    }
    return current;
  };
  const renew = () => {
    if (issued) issued.expiration = new Date(0);
    issued = undefined;
    current = undefined;
  };
  return { provider, renew };
}

export function createClients(target: AwsTarget, opts: ClientOptions = {}): AwsClients {
  const env = opts.env ?? process.env;
  const timeoutMs = (opts.callTimeoutSeconds ?? DEFAULT_CALL_TIMEOUT_SECONDS) * 1000;
  // The request handler's own bounds: connecting, and the request until the reply's headers arrive.
  const requestHandler = {
    connectionTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: timeoutMs,
    throwOnRequestTimeout: true,
  };
  let credentials = opts.credentials;
  let renew: (() => void) | undefined;
  let assumeRole: AwsCredentialIdentityProvider | undefined;
  const { account } = target;
  if (account) {
    const stsEndpoint = endpointOverride("sts", env);
    let assume: Promise<AwsCredentialIdentityProvider> | undefined;
    const fromRole = async () => {
      const { fromTemporaryCredentials } = await SDK_MODULES.sts();
      return fromTemporaryCredentials({
        params: {
          RoleArn: account.roleArn,
          RoleSessionName: "ecs-prometheus-bridge",
          ...(account.externalId ? { ExternalId: account.externalId } : {}),
          DurationSeconds: 3600,
        },
        ...(opts.credentials ? { masterCredentials: opts.credentials } : {}),
        // The STS client behind assume-role honours the same endpoint overrides, timeouts and counters.
        clientConfig: {
          region: target.region,
          requestHandler,
          maxAttempts: opts.maxAttempts ?? 5,
          ...(stsEndpoint ? { endpoint: stsEndpoint } : {}),
        },
        clientPlugins: [attemptPlugin({ service: "sts", metrics: opts.metrics, timeoutMs })],
      });
    };
    const assumed = renewableCredentials(async (props) => (await (assume ??= fromRole()))(props));
    credentials = assumeRole = assumed.provider;
    renew = assumed.renew;
  }
  const common = (service: ServiceKey) => {
    const endpoint = endpointOverride(service, env);
    return {
      region: target.region,
      maxAttempts: opts.maxAttempts ?? 5,
      retryMode: "adaptive",
      // The middleware stack is resolved once per command class instead of on every send (about a fifth
      // of a ListTasks call's CPU). Safe because the stack is whole before the first send: the attempt
      // plugin is added here, the pacer by `paced` when the client is first handed out.
      cacheMiddleware: true,
      requestHandler,
      ...(credentials ? { credentials } : {}),
      ...(endpoint ? { endpoint } : {}),
    };
  };
  const attempt = (service: ServiceKey): AttemptOptions => ({
    service,
    metrics: opts.metrics,
    timeoutMs,
    ...(renew ? { onExpiredToken: renew } : {}),
  });
  const made: { destroy(): void }[] = [];
  const lazy = <C extends { destroy(): void }>(make: () => Promise<C>): (() => Promise<C>) => {
    let client: Promise<C> | undefined;
    return () => (client ??= make().then((c) => (made.push(c), c)));
  };
  const sdEndpoint = endpointOverride("servicediscovery", env);
  const clients: AwsClients = {
    region: target.region,
    ecs: lazy(async () => {
      const { EcsProtocol } = await import("./ecs-protocol.js");
      const c = new ecsSdk.ECSClient({ ...common("ecs"), protocol: EcsProtocol });
      c.middlewareStack.use(attemptPlugin(attempt("ecs")));
      return c;
    }),
    ec2: lazy(async () => {
      const c = new ec2Sdk.EC2Client(common("ec2"));
      c.middlewareStack.use(attemptPlugin(attempt("ec2")));
      return c;
    }),
    servicediscovery: lazy(async () => {
      const c = new (await SDK_MODULES.servicediscovery()).ServiceDiscoveryClient({
        ...common("servicediscovery"),
        // DiscoverInstances has host prefix "data-"; with an overridden endpoint it must not be prepended.
        ...(sdEndpoint ? { disableHostPrefix: true } : {}),
      });
      c.middlewareStack.use(attemptPlugin(attempt("servicediscovery")));
      return c;
    }),
    cloudwatch: lazy(async () => {
      const c = new (await SDK_MODULES.cloudwatch()).CloudWatchClient(common("cloudwatch"));
      c.middlewareStack.use(attemptPlugin(attempt("cloudwatch")));
      return c;
    }),
    sqs: lazy(async () => {
      const c = new (await SDK_MODULES.sqs()).SQSClient(common("sqs"));
      c.middlewareStack.use(attemptPlugin(attempt("sqs")));
      return c;
    }),
    ...(assumeRole ? { assumeRole } : {}),
  };
  madeClients.set(clients, made);
  return clients;
}

export function destroyClients(clients: AwsClients): void {
  for (const c of madeClients.get(clients) ?? []) c.destroy();
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
