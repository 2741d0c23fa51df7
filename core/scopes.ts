// AWS scopes: every configured account (default chain or assumed role) in every configured region,
// each with its own clients. Shared by the service, the Lambda and the exporter.
import { createClients, type AwsClients, type ClientOptions } from "./aws.js";
import { ConfigError } from "./config/spec.js";
import type { AccountConfig, CoreConfig as Config } from "./options.js";
import { parseArn } from "../sd/model.js";

/** One account (default chain or assumed role) in one region, with its clients. */
export interface AwsScope {
  /** `<account>/<region>`, the prefix of every unit key in this scope. */
  key: string;
  region: string;
  account?: AccountConfig;
  clients: AwsClients;
}

export function buildScopes(config: Config, clientOptions: ClientOptions): AwsScope[] {
  if (config.regions.length === 0)
    throw new ConfigError(
      "invalid regions: no region configured; set BRIDGE_REGIONS, --regions or AWS_REGION",
    );
  const accounts: (AccountConfig | undefined)[] = config.accounts.length > 0 ? config.accounts : [undefined];
  return accounts.flatMap((account) =>
    config.regions.map((region) => ({
      key: `${account ? (parseArn(account.roleArn)?.accountId ?? account.roleArn) : "default"}/${region}`,
      region,
      ...(account ? { account } : {}),
      clients: createClients(
        { region, ...(account ? { account } : {}) },
        {
          ...clientOptions,
          maxAttempts: config.aws.maxAttempts,
          callTimeoutSeconds: config.aws.callTimeoutSeconds,
        },
      ),
    })),
  );
}
