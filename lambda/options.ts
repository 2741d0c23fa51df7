// Options of the Lambda mode: result reuse, the shared secret, and the function's own URL.
import { int, text, type OptionSpec } from "../core/config/spec.js";

/** The header carrying lambda.sharedSecret (fixed: Prometheus sends it through http_headers). */
export const SECRET_HEADER = "x-bridge-secret";

export interface LambdaConfig {
  cacheSeconds: number;
  sharedSecret?: string;
  publicUrl?: string;
}

export const LAMBDA_OPTIONS: readonly OptionSpec[] = [
  {
    key: "lambda.cacheSeconds",
    env: "BRIDGE_LAMBDA_CACHE_SECONDS",
    flag: "--lambda-cache-seconds",
    schema: int(0, 300),
    default: 5,
    description: "Lambda: how long discovery results are reused across invocations of one instance.",
  },
  {
    key: "lambda.sharedSecret",
    env: "BRIDGE_LAMBDA_SHARED_SECRET",
    flag: "--lambda-shared-secret",
    schema: text(),
    default: undefined,
    secret: true,
    description: `Lambda: if set, requests must carry it in the \`${SECRET_HEADER}\` header, \`Authorization: Bearer\` or the \`secret\` query parameter.`,
  },
  {
    key: "lambda.publicUrl",
    env: "BRIDGE_LAMBDA_PUBLIC_URL",
    flag: "--lambda-public-url",
    schema: text(),
    default: undefined,
    description:
      "Lambda: the function's own URL (e.g. https://<id>.lambda-url.<region>.on.aws). Targets of /sd?mode=redirect point at it; never taken from the request.",
  },
];
