// Shared by the sim*.test.ts files: real SDK clients from core/aws.ts pointed at a simulated AWS endpoint.
import { ECSClient } from "@aws-sdk/client-ecs";
import { createClients, type AwsClients } from "../../core/aws.js";
import type { SimAws } from "../../sim/index.js";

export const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

export function simClients(sim: SimAws, opts: { region?: string; maxAttempts?: number } = {}): AwsClients {
  return createClients(
    { region: opts.region ?? "us-east-1" },
    { credentials: CREDENTIALS, env: { AWS_ENDPOINT_URL: sim.url }, maxAttempts: opts.maxAttempts ?? 1 },
  );
}

/**
 * A stock ECS client on the simulator: the bridge's own (createClients) reads DescribeTasks without the
 * SDK's schema walk (core/ecs-protocol.ts), so wire checks of typed fields (timestamps) use this one.
 */
export function stockEcs(sim: SimAws): ECSClient {
  return new ECSClient({ region: "us-east-1", endpoint: sim.url, credentials: CREDENTIALS, maxAttempts: 1 });
}

/** The rejection of a promise (fails the test if it resolves). */
export async function rejection(
  p: Promise<unknown>,
): Promise<
  Error & { Code?: string; $fault?: string; $metadata?: { httpStatusCode?: number; attempts?: number } }
> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the call to fail, it succeeded");
}
