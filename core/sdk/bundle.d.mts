// Types of bundle.mjs (plain JS, since it runs before anything is built).
import type { Plugin } from "esbuild";

export declare function literalTraitKeys(source: string): string;
export declare const sdkSchemasShaken: Plugin;
