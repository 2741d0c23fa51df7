// The README's configuration and self-metrics tables are generated from code (scripts/readme-config.ts) and
// must match it; relative links in the README and the deployment docs point at files that exist.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, OPTIONS, loadConfig, optionsMarkdown } from "../../cmd/config.js";
import { renderReadme, selfMetricsMarkdown } from "../../scripts/readme-config.js";

const readme = readFileSync("README.md", "utf8");
const section = (name: string): string | undefined =>
  new RegExp(`<!-- generated:${name}\\b[^>]*-->\\n([\\s\\S]*?)\\n<!-- /generated:${name} -->`).exec(
    readme,
  )?.[1];

describe("README.md", () => {
  it("keeps the two commands at the top", () => {
    const first = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    expect(first).toContain("npm ci && npm run demo");
    expect(first).toContain("npm test");
  });

  it("the configuration table is exactly optionsMarkdown() from cmd/config.ts (run `npm run readme`)", () => {
    expect(section("config")).toBe(optionsMarkdown());
  });

  it("lists every key, environment variable and flag", () => {
    for (const o of OPTIONS) {
      expect(readme).toContain(`\`${o.key}\``);
      expect(readme).toContain(`\`${o.env}\``);
      expect(readme).toContain(`\`${o.flag}\``);
    }
  });

  it("the self-metrics table matches the metrics the bridge registers (run `npm run readme`)", () => {
    expect(section("self-metrics")).toBe(selfMetricsMarkdown());
  });

  it("regenerating changes nothing, and the generated blocks are kept away from prettier", () => {
    expect(renderReadme(readme)).toBe(readme);
    for (const name of ["config", "self-metrics"])
      expect(readme).toMatch(
        new RegExp(
          `<!-- prettier-ignore-start -->\\n<!-- generated:${name}[\\s\\S]*?<!-- /generated:${name} -->\\n<!-- prettier-ignore-end -->`,
        ),
      );
  });

  it("the example bridge.yaml loads, and the example error message is the one the bridge prints", () => {
    const yaml = /```yaml\n(# bridge\.yaml\n[\s\S]*?)```/.exec(readme)?.[1];
    expect(yaml).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), "readme-"));
    try {
      writeFileSync(join(dir, "bridge.yaml"), yaml!);
      const config = loadConfig({ argv: ["--config", join(dir, "bridge.yaml")], env: {} });
      expect(config.cloudmap.enabled).toBe(true);
      expect(config.accounts).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    let message = "";
    try {
      loadConfig({ argv: ["--listen-port", "70000"], env: {} });
    } catch (err) {
      if (err instanceof ConfigError) message = err.message;
    }
    expect(message).not.toBe("");
    expect(readme.replace(/\s+/g, " ")).toContain(message);
  });

  it("the generator refuses a README without the markers instead of dropping the table", () => {
    expect(() => renderReadme("# no markers\n")).toThrow(/generated:config/);
  });
});

describe("relative links", () => {
  it.each(["README.md", "docs/deploy.md", "docs/image.md", "docs/events.md"])(
    "%s links only to files that exist",
    (file) => {
      const text = readFileSync(file, "utf8");
      const links = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
        .map((m) => m[1]!)
        .filter((l) => !/^[a-z]+:/.test(l));
      expect(links.length).toBeGreaterThan(0);
      for (const link of links)
        expect(existsSync(join(dirname(file), link)), `${file} -> ${link}`).toBe(true);
    },
  );

  it("docs/events.md points to the CDK construct's `events` prop, at a heading of docs/cdk.md", () => {
    const events = readFileSync("docs/events.md", "utf8");
    const anchors = [...events.matchAll(/\]\(cdk\.md#([^)]+)\)/g)].map((m) => m[1]);
    expect(anchors.length).toBeGreaterThan(0);
    // GitHub's heading ids: lower case, punctuation dropped, spaces as dashes.
    const ids = [...readFileSync("docs/cdk.md", "utf8").matchAll(/^#+ (.+)$/gm)].map((m) =>
      m[1]!
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, "")
        .replace(/ /g, "-"),
    );
    for (const a of anchors) expect(ids, a).toContain(a);
  });

  it("README mentions only deploy/ files that exist", () => {
    for (const m of readme.matchAll(/`((?:ecs|iam|prometheus|grafana)\/[\w.-]+\.(?:json|yml|yaml))`/g))
      expect(existsSync(join("deploy", m[1]!)), m[1]).toBe(true);
  });
});
