// `npm run build`: TypeScript to dist/ (tsc, with any arguments given, e.g. `-- --outDir DIR`), then each
// package subset bundled over its compiled file: what the bridge uses tree-shaken out of its package (the
// ECS and EC2 clients' operations in core/sdk/, zod's schema builders in core/zod.ts), every other import
// left to node_modules (shared with the other clients).
// Plain JS so it runs before anything is built.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import process from "node:process";
import { build } from "esbuild";
import { sdkSchemasShaken } from "../core/sdk/bundle.mjs";

const SUBSETS = {
  "core/sdk/ec2.ts": "@aws-sdk/client-ec2",
  "core/sdk/ecs.ts": "@aws-sdk/client-ecs",
  "core/zod.ts": "zod",
};

const args = process.argv.slice(2);
const at = args.indexOf("--outDir");
const outDir = resolve(at >= 0 ? args[at + 1] : "dist");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json", ...args], { stdio: "inherit" });

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
        },
      },
      // Only the schemas the subset's operations reach.
      sdkSchemasShaken,
    ],
  });
  rmSync(`${outfile}.map`, { force: true }); // tsc's map described the re-export, not the bundle
}
