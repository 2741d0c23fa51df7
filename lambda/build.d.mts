import type { Metafile } from "esbuild";

export declare const ROOT: string;
export declare const OUTFILE: string;
export declare function buildLambda(
  outfile?: string,
): Promise<{ outfile: string; bytes: number; metafile: Metafile }>;
