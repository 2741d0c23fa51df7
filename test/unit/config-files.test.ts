// Config files as a user writes them: test/unit/config/ok-*.yaml load to what their `# expect:` line says;
// bad-*.yaml fail with a ConfigError containing each `# error:` line and none of the `# never:` lines.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../cmd/config.js";

const DIR = join(import.meta.dirname, "config");
const files = (prefix: string) => readdirSync(DIR).filter((f) => f.startsWith(prefix) && f.endsWith(".yaml"));

/** The values of the `# <name>:` comment lines of a fixture. */
function directives(file: string, name: string): string[] {
  const prefix = `# ${name}: `;
  return readFileSync(join(DIR, file), "utf8")
    .split("\n")
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length));
}

const load = (file: string) => loadConfig({ argv: ["--config", join(DIR, file)], env: {}, warn: () => {} });

describe("config files", () => {
  it("has fixtures of both kinds", () => {
    expect(files("ok-").length).toBeGreaterThan(0);
    expect(files("bad-").length).toBeGreaterThan(0);
  });

  it.each(files("ok-"))("%s loads", (file) => {
    const [expected] = directives(file, "expect");
    expect(expected, `${file} needs an # expect: line`).toBeDefined();
    expect(load(file)).toMatchObject(JSON.parse(expected!));
  });

  it.each(files("bad-"))("%s is refused with a message naming the problem", (file) => {
    const errors = directives(file, "error");
    expect(errors.length, `${file} needs an # error: line`).toBeGreaterThan(0);
    let caught: unknown;
    try {
      load(file);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as ConfigError).message;
    for (const part of errors) expect(message).toContain(part);
    for (const secret of directives(file, "never")) expect(message).not.toContain(secret);
  });
});
