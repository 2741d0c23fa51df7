// What every esbuild bundle that carries AWS SDK clients needs (the SDK subsets of `npm run build`,
// scripts/build.mjs, and the Lambda, lambda/build.mjs). Plain JS: it runs before anything is built.
import { readFile } from "node:fs/promises";

/**
 * The SDK's schemas name their traits with computed keys (`{ [_xN]: _TSa }`, `const _xN = "xmlName"`).
 * esbuild cannot prove a computed key free of side effects, so it kept every schema of a service (2,236 of
 * EC2's 3,405: a 1 MiB bundle) although two operations need about a hundred. The same keys written as
 * literals make each schema a pure expression, and unused ones are dropped (EC2: 83 KB). Only constants
 * holding plain strings are substituted; `__proto__` is left computed, as a literal key would set the
 * prototype instead.
 */
export function literalTraitKeys(source) {
  const strings = new Map();
  for (const m of source.matchAll(/^const (_\w+) = ("[\w.:-]*");$/gm))
    if (m[2] !== '"__proto__"') strings.set(m[1], m[2]);
  return source.replace(/\[(_\w+)\]:/g, (key, name) => (strings.has(name) ? `${strings.get(name)}:` : key));
}

/** The esbuild plugin applying literalTraitKeys to the SDK clients' schema files (their ES module build). */
export const sdkSchemasShaken = {
  name: "sdk-schemas-shaken",
  setup(build) {
    build.onLoad(
      { filter: /[\\/]client-[\w-]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/ },
      async (a) => ({
        contents: literalTraitKeys(await readFile(a.path, "utf8")),
        loader: "js",
      }),
    );
  },
};
