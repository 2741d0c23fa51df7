import { loadConfig, type Config } from "../../cmd/config.js";

/** A config built through the real loader (so defaults and validation apply), from env-style values. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ env: { AWS_REGION: "us-east-1", ...env } });
}
