import { build, type Plugin } from "esbuild";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { literalTraitKeys, sdkSchemasShaken } from "../../core/sdk/bundle.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const dir = mkdtempSync(join(tmpdir(), "sdk-bundle-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A client's schemas file bundled alone (with or without the plugin), its text and its exports. */
async function bundledSchemas(client: "ecs" | "ec2", plugins: Plugin[]) {
  const file = join(root, `node_modules/@aws-sdk/client-${client}/dist-es/schemas/schemas_0.js`);
  const out = await build({
    stdin: { contents: `export * from ${JSON.stringify(file)};`, resolveDir: root, loader: "js" },
    bundle: true,
    platform: "node",
    format: "esm",
    write: false,
    plugins,
    logLevel: "silent",
  });
  const text = out.outputFiles[0]!.text;
  const path = join(dir, `${client}-${plugins.length}.mjs`);
  writeFileSync(path, text);
  const exports = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  return { text, exports };
}

/** Every export as JSON, functions (error classes, lazy references) by name. */
const serialised = (exports: Record<string, unknown>) =>
  JSON.stringify(
    Object.keys(exports)
      .sort()
      .map((k) => [k, exports[k]]),
    (_k, v: unknown) => (typeof v === "function" ? `function ${(v as { name: string }).name}` : v),
  );

const computedKeys = (text: string) => text.match(/\[_\w+\]:/g)?.length ?? 0;

describe("literalTraitKeys (the SDK subsets' and the Lambda's bundles)", () => {
  it("writes computed keys naming plain-string constants as literals, and leaves every other key as it was", () => {
    const source = [
      'const _e = "error";',
      'const _hE = "httpError";',
      'const _xN = "xmlName";',
      'const _p = "__proto__";',
      'const _sp = "two words";',
      'export var X$ = [-3, n0, "X", { [_e]: _c, [_hE]: 403, [_xN]: _e }, [], []];',
      "export var Y$ = [3, n0, _e, { [_p]: 1, [_sp]: 2, [_unknown]: 3, [_e + _xN]: 4 }, [], []];",
    ].join("\n");
    const out = literalTraitKeys(source).split("\n");
    // Only keys change; values (`_c`, `_e`) still name their constants.
    expect(out[5]).toBe(
      'export var X$ = [-3, n0, "X", { "error": _c, "httpError": 403, "xmlName": _e }, [], []];',
    );
    // `__proto__` as a literal key would set the prototype; a string with a space, an unknown name and an
    // expression are not plain constants: all stay computed.
    expect(out[6]).toBe(source.split("\n")[6]);
    expect(out.slice(0, 5)).toEqual(source.split("\n").slice(0, 5));
  });

  it.each(["ecs", "ec2"] as const)(
    "the %s client's schemas bundled through the plugin export exactly what they export without it",
    async (client) => {
      const plain = await bundledSchemas(client, []);
      const shaken = await bundledSchemas(client, [sdkSchemasShaken]);
      // The plugin applied: the computed trait keys (ECS 48, EC2 thousands) are gone.
      expect(computedKeys(plain.text)).toBeGreaterThan(0);
      expect(computedKeys(shaken.text)).toBe(0);
      expect(Object.keys(shaken.exports).length).toBeGreaterThan(500);
      expect(serialised(shaken.exports)).toBe(serialised(plain.exports));
    },
    60_000,
  );
});
