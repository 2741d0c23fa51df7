import { describe, expect, it } from "vitest";
import { createLogger } from "../../core/log.js";

function capture(level: "debug" | "info" | "warn" | "error" = "info") {
  const lines: string[] = [];
  const logger = createLogger(level, (l) => lines.push(l));
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, records };
}

describe("logger", () => {
  it("writes one JSON line per record with level, ISO time, message and fields; drops lower levels", () => {
    const { logger, lines, records } = capture("info");
    logger.debug("hidden");
    logger.info("listening", { url: "http://127.0.0.1:9100" });
    logger.warn("refresh failed", { source: "ecs", err: new Error("boom") });
    expect(lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
    const [listening, failed] = records();
    expect(records()).toHaveLength(2);
    expect(listening).toMatchObject({ level: "info", msg: "listening", url: "http://127.0.0.1:9100" });
    expect(new Date(listening!.time as string).toISOString()).toBe(listening!.time);
    expect(failed).toMatchObject({ level: "warn", source: "ecs", err: { type: "Error", message: "boom" } });
  });

  it("masks secrets wherever a caller puts them: config keys, external ids, Authorization headers", () => {
    const { logger, lines } = capture();
    const secrets = {
      auth: { bearerToken: "tok-1", basicUser: "prom", basicPassword: "pw-2" },
      lambda: { sharedSecret: "00123" },
      accounts: [{ roleArn: "arn:aws:iam::1:role/r", externalId: "ext-4" }],
    };
    logger.info("starting", { config: secrets });
    logger.info("flat", secrets);
    logger.info("request", { req: { headers: { authorization: "Bearer tok-5" } } });
    const out = lines.join("");
    for (const s of ["tok-1", "pw-2", "00123", "ext-4", "tok-5"]) expect(out).not.toContain(s);
    expect(out).toContain('"basicUser":"prom"');
    expect(out).toContain("arn:aws:iam::1:role/r");
    expect(out.match(/<redacted>/g)).toHaveLength(9);
  });
});
