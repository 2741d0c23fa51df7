// The parts of zod the option schemas use, imported as `import * as z from ".../core/zod.js"`. From sources
// (tests, tsx) this re-exports the package; `npm run build` (scripts/build.mjs) replaces the compiled file
// with an esbuild bundle of just these exports. Every entry point of the package loads all 64 of its
// locales and its JSON Schema converters (about 80 modules): in a fresh node process the package costs
// 12 MiB of RSS, the bundle 2.
export {
  array,
  enum,
  number,
  object,
  partialRecord,
  preprocess,
  record,
  strictObject,
  string,
  stringbool,
  unknown,
  ZodType,
} from "zod";
export type { core, infer } from "zod";
