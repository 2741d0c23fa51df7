// Structured JSON log lines on stdout, written by pino. Callers pass fields; secrets are masked twice: the
// config is logged through redactedConfig(), and pino redacts the secret paths below wherever they appear.
import { pino, stdSerializers, stdTimeFunctions, type DestinationStream } from "pino";
import type { LogLevel } from "./options.js";

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const SECRETS = ["auth.bearerToken", "auth.basicPassword", "lambda.sharedSecret", "accounts[*].externalId"];

/** Secret config keys at the top of a log record or under `config`, and Authorization headers. */
export const REDACTED_PATHS: readonly string[] = [
  ...SECRETS,
  ...SECRETS.map((p) => `config.${p}`),
  "headers.authorization",
  "*.headers.authorization",
];

export function createLogger(
  level: LogLevel = "info",
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  // A plain write function (not pino's async destination): lines are out before process.exit().
  const destination: DestinationStream = { write };
  const log = pino(
    {
      level,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: stdSerializers.err },
      redact: { paths: [...REDACTED_PATHS], censor: "<redacted>" },
    },
    destination,
  );
  // The message goes first in the record so a line reads naturally: {"level","time",...,"msg",fields...}.
  const at =
    (lvl: LogLevel) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (log.isLevelEnabled(lvl)) log[lvl]({ msg, ...fields });
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A logger that drops everything; for tests and library use. */
export const silentLogger: Logger = createLogger("error", () => {});
