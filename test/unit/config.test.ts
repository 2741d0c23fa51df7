import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ConfigError,
  helpText,
  loadConfig,
  optionsMarkdown,
  redactedConfig,
  versionText,
} from "../../cmd/config.js";

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "bridge-config-"));
  const file = join(dir, "bridge.yaml");
  writeFileSync(file, text);
  return file;
}

describe("configuration", () => {
  it("has working defaults", () => {
    const c = loadConfig({ env: { AWS_REGION: "eu-west-1" } });
    expect(c.regions).toEqual(["eu-west-1"]);
    expect(c.clusters).toEqual([]);
    expect(c.refreshIntervalSeconds).toBe(30);
    expect(c.listen).toEqual({ host: "0.0.0.0", port: 9100 });
    expect(c.ecs.optIn).toEqual(["labels"]);
    expect(c.auth).toEqual({});
  });

  it("layers flags > env > file > defaults", () => {
    const file = yamlFile(
      [
        "refreshIntervalSeconds: 60",
        "clusters: [a, b]",
        "listen: { port: 9200 }",
        "ecs:",
        "  labelPrefix: FILE_",
        "accounts:",
        "  - roleArn: arn:aws:iam::111122223333:role/reader",
        "    externalId: xyz",
      ].join("\n"),
    );
    const c = loadConfig({
      argv: ["--config", file, "--listen-port=9300"],
      env: { BRIDGE_LISTEN_PORT: "9250", BRIDGE_CLUSTERS: "c", AWS_REGION: "us-east-1" },
    });
    expect(c.refreshIntervalSeconds).toBe(60); // file
    expect(c.ecs.labelPrefix).toBe("FILE_"); // file
    expect(c.clusters).toEqual(["c"]); // env beats file
    expect(c.listen.port).toBe(9300); // flag beats env
    expect(c.accounts).toEqual([{ roleArn: "arn:aws:iam::111122223333:role/reader", externalId: "xyz" }]);
  });

  it("accepts accounts as roleArn|externalId lists in env", () => {
    const c = loadConfig({
      env: { BRIDGE_ACCOUNTS: "arn:aws:iam::111122223333:role/a|ext1, arn:aws:iam::444455556666:role/b" },
    });
    expect(c.accounts).toEqual([
      { roleArn: "arn:aws:iam::111122223333:role/a", externalId: "ext1" },
      { roleArn: "arn:aws:iam::444455556666:role/b" },
    ]);
  });

  it.each([
    [
      { BRIDGE_REFRESH_INTERVAL_SECONDS: "fast" },
      /refreshIntervalSeconds \(env BRIDGE_REFRESH_INTERVAL_SECONDS\): got "fast"; expected an integer from 5 to 3600/,
    ],
    [{ BRIDGE_LISTEN_PORT: "70000" }, /listen\.port .*got "70000".*0 to 65535/],
    [{ BRIDGE_ECS_OPT_IN: "labels,magic" }, /ecs\.optIn .*allowed: labels, port-name, all-named-ports/],
    [{ BRIDGE_LOG_LEVEL: "loud" }, /logLevel .*allowed: debug, info, warn, error/],
    [{ BRIDGE_ACCOUNTS: "not-an-arn" }, /accounts .*role ARNs/],
    [{ BRIDGE_REGIONS: "mars-1" }, /regions .*region names/],
    [{ BRIDGE_AUTH_BASIC_USER: "u" }, /auth\.basicUser\/auth\.basicPassword: set both/],
    [{ BRIDGE_EXPORTER_PERIOD_SECONDS: "90" }, /exporter\.periodSeconds: got 90; expected a multiple of 60/],
    [{ BRIDGE_EXPORTER_STATISTICS: "RequestCount=Median" }, /exporter\.statistics .*allowed statistics/],
  ])("rejects %o naming key, value and what is allowed", (env, message) => {
    expect(() => loadConfig({ env })).toThrow(ConfigError);
    expect(() => loadConfig({ env })).toThrow(message);
  });

  it("rejects unknown flags and unknown file keys", () => {
    expect(() => loadConfig({ argv: ["--refresh-intervall", "5"], env: {} })).toThrow(
      /unknown flag --refresh-intervall/,
    );
    const file = yamlFile("refreshInterval: 10\n");
    expect(() => loadConfig({ argv: ["--config", file], env: {} })).toThrow(
      /unknown key refreshInterval in config file/,
    );
  });

  it("never shows secrets in errors or the logged config", () => {
    expect(() => loadConfig({ env: { BRIDGE_AUTH_BASIC_PASSWORD: "hunter2" } })).toThrow(ConfigError);
    try {
      loadConfig({ env: { BRIDGE_AUTH_BASIC_PASSWORD: "hunter2" } });
    } catch (err) {
      expect((err as Error).message).not.toContain("hunter2");
    }
    const c = loadConfig({
      env: {
        BRIDGE_AUTH_BEARER_TOKEN: "s3cr3t",
        BRIDGE_LAMBDA_SHARED_SECRET: "lambda-secret",
        BRIDGE_ACCOUNTS: "arn:aws:iam::111122223333:role/a|ext-secret",
      },
    });
    const logged = JSON.stringify(redactedConfig(c));
    expect(logged).not.toContain("s3cr3t");
    expect(logged).not.toContain("lambda-secret");
    expect(logged).not.toContain("ext-secret");
    expect(c.auth.bearerToken).toBe("s3cr3t");
  });

  it("never shows an external id in an accounts error", () => {
    const env = { BRIDGE_ACCOUNTS: "arn:aws:iam::111122223333:role/a|ext-secret,not-an-arn" };
    expect(() => loadConfig({ env })).toThrow(/accounts \(env BRIDGE_ACCOUNTS\).*role ARNs/);
    expect(() => loadConfig({ env })).not.toThrow(/ext-secret/);
  });

  it("rejects a scalar where the file needs a section, instead of silently ignoring it", () => {
    for (const [text, key] of [
      ["ecs: false\n", "ecs"],
      ["listen: 8080\n", "listen"],
    ] as const) {
      const file = yamlFile(text);
      expect(() => loadConfig({ argv: ["--config", file], env: {} }), text).toThrow(ConfigError);
      expect(() => loadConfig({ argv: ["--config", file], env: {} }), text).toThrow(
        new RegExp(`invalid ${key} in config file .*expected a mapping`),
      );
    }
  });

  it("documents every option in the generated table", () => {
    const table = optionsMarkdown();
    expect(table).toContain("`BRIDGE_REFRESH_INTERVAL_SECONDS`");
    expect(table).toContain("`--ecs-opt-in`");
  });

  it.each([
    [{ AWS_REGION: "mars" }, /invalid regions \(env AWS_REGION\): got "mars"; expected region names/],
    [{ AWS_DEFAULT_REGION: "eu-west" }, /invalid regions \(env AWS_DEFAULT_REGION\): got "eu-west"/],
  ])("validates the region from %o like `regions` (a bad one stops startup)", (env, message) => {
    expect(() => loadConfig({ env })).toThrow(ConfigError);
    expect(() => loadConfig({ env })).toThrow(message);
    expect(loadConfig({ env: { ...env, BRIDGE_REGIONS: "eu-west-1" } }).regions).toEqual(["eu-west-1"]);
  });

  it("keeps numeric-looking secrets from env as written", () => {
    const c = loadConfig({ env: { AWS_REGION: "eu-west-1", BRIDGE_AUTH_BEARER_TOKEN: "00123" } });
    expect(c.auth.bearerToken).toBe("00123");
  });

  it("warns about an unknown BRIDGE_* variable, naming the closest known one, and goes on", () => {
    const warnings: string[] = [];
    const c = loadConfig({
      env: { AWS_REGION: "eu-west-1", BRIDGE_CLUSTER: "prod", BRIDGE_CLUSTERS: "a", OTHER_CLUSTER: "x" },
      warn: (m) => warnings.push(m),
    });
    expect(c.clusters).toEqual(["a"]);
    expect(warnings).toEqual([
      "unknown environment variable BRIDGE_CLUSTER ignored; did you mean BRIDGE_CLUSTERS?",
    ]);
  });

  it("suggests the closest flag and the closest CloudWatch metric", () => {
    expect(() => loadConfig({ argv: ["--listen-prot", "1"], env: {} })).toThrow(
      /unknown flag --listen-prot; did you mean --listen-port\?/,
    );
    expect(() => loadConfig({ env: { BRIDGE_EXPORTER_STATISTICS: "RequestCont=Sum" } })).toThrow(
      /exporter\.statistics.*unknown metric "RequestCont"; did you mean RequestCount\?/,
    );
  });

  it("prints the package version, and help lists --version", () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8")) as {
      version: string;
    };
    expect(versionText()).toBe(`ecs-prometheus-bridge ${version}`);
    expect(helpText()).toContain("--version");
  });
});
