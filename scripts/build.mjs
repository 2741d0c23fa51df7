// `npm run build`: TypeScript to dist/ (tsc, with any arguments given, e.g. `-- --outDir DIR`), then each
// SDK subset in core/sdk/ bundled over its compiled file: the client and operations the bridge uses
// tree-shaken out of their package, every other import left to node_modules (shared with the other clients).
// Plain JS so it runs before anything is built.
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import process from "node:process";
import { build } from "esbuild";

const SUBSETS = { "core/sdk/ec2.ts": "@aws-sdk/client-ec2", "core/sdk/ecs.ts": "@aws-sdk/client-ecs" };

const args = process.argv.slice(2);
const at = args.indexOf("--outDir");
const outDir = resolve(at >= 0 ? args[at + 1] : "dist");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json", ...args], { stdio: "inherit" });

/**
 * The SDK's schemas name their traits with computed keys (`{ [_xN]: _TSa }`, `const _xN = "xmlName"`).
 * esbuild cannot prove a computed key free of side effects, so it kept every schema of the service (2,236
 * of EC2's 3,405: a 1 MiB bundle) although two operations need about a hundred. The same keys written as
 * literals make each schema a pure expression, and unused ones are dropped (EC2: 83 KB). Only constants
 * holding plain strings are substituted; `__proto__` is left computed, as a literal key would set the
 * prototype instead.
 */
function literalTraitKeys(source) {
  const strings = new Map();
  for (const m of source.matchAll(/^const (_\w+) = ("[\w.:-]*");$/gm))
    if (m[2] !== '"__proto__"') strings.set(m[1], m[2]);
  return source.replace(/\[(_\w+)\]:/g, (key, name) => (strings.has(name) ? `${strings.get(name)}:` : key));
}

for (const [entry, pkg] of Object.entries(SUBSETS)) {
  const outfile = join(outDir, entry.replace(/\.ts$/, ".js"));
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    outfile,
    logLevel: "warning",
    // The package's ES module build, so unused operations' schemas and commands can be dropped.
    mainFields: ["module", "main"],
    plugins: [
      {
        name: "only-the-client-inlined",
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (a) =>
            a.path === pkg || a.path.startsWith(`${pkg}/`) ? undefined : { path: a.path, external: true },
          );
          b.onLoad({ filter: /[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/ }, async (a) => ({
            contents: literalTraitKeys(await readFile(a.path, "utf8")),
            loader: "js",
          }));
        },
      },
    ],
  });
  rmSync(`${outfile}.map`, { force: true }); // tsc's map described the re-export, not the bundle
}
