// The Lambda entry point (function URL payload 2.0; API Gateway v1/v2 and ALB events also work).
// Configuration comes from the environment (BRIDGE_* variables, see docs/lambda.md).
import { createHandler } from "./runtime.js";

export const handler = createHandler({ env: process.env });
