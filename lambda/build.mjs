// Bundles the Lambda into one ESM file that carries its own AWS SDK (`npm run build:lambda`), so the
// function never depends on the SDK version of the Lambda runtime. Plain JS so it runs without a build.
import { build } from "esbuild";
import { sdkSchemasShaken } from "../core/sdk/bundle.mjs";
import { statSync } from "node:fs";
import process from "node:process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const OUTFILE = join(ROOT, "build", "lambda", "handler.mjs");

/** Builds the bundle; returns its path, size in bytes and esbuild's metafile (inputs per output). */
export async function buildLambda(outfile = OUTFILE) {
  const result = await build({
    entryPoints: [join(ROOT, "lambda", "handler.ts")],
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    outfile,
    minify: true,
    legalComments: "eof",
    metafile: true,
    logLevel: "warning",
    // Prefer ESM builds (the AWS SDK ships both); CommonJS dependencies get a real `require`.
    mainFields: ["module", "main"],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    // lambda-api loads the S3 client lazily, only to sign s3:// redirects, which this app never makes.
    external: ["@aws-sdk/client-s3"],
    // Only the SDK schemas of the operations the Lambda calls.
    plugins: [sdkSchemasShaken],
  });
  return { outfile, bytes: statSync(outfile).size, metafile: result.metafile };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { outfile, bytes } = await buildLambda(process.argv[2] ? resolve(process.argv[2]) : OUTFILE);
  process.stdout.write(`${outfile}: ${(bytes / 1024).toFixed(0)} KiB\n`);
}
