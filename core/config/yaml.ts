// Reads a YAML config file into plain values whose scalars are the text as written: a secret `00123` or a
// 23-digit token stays exactly that string, and each option's schema decides what the text means.
import { readFileSync } from "node:fs";
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type YAMLError } from "yaml";
import { ConfigError } from "./spec.js";

/** Where and what, never the offending line: it may hold a bearer token. */
function describe(file: string, what: string, err: YAMLError): string {
  const at = err.linePos?.[0];
  const where = at ? ` at line ${at.line}, column ${at.col}` : "";
  return `config file ${file}: ${what}${where} (${err.code.toLowerCase().replace(/_/g, " ")})`;
}

function plain(node: unknown, doc: Document): unknown {
  if (isAlias(node)) return plain(node.resolve(doc), doc);
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) out[String(plain(pair.key, doc))] = plain(pair.value, doc);
    return out;
  }
  if (isSeq(node)) return node.items.map((item) => plain(item, doc));
  if (isScalar(node)) {
    if (node.value === null || node.value === undefined) return null;
    return typeof node.value === "string" ? node.value : (node.source ?? String(node.value));
  }
  return node ?? null;
}

export function readYamlFile(file: string): Record<string, unknown> {
  let source: string;
  try {
    source = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  const doc = parseDocument(source); // error messages are not used: they quote the offending line
  const [error] = doc.errors;
  if (error) throw new ConfigError(describe(file, "not valid YAML", error));
  // An unresolved tag (`!Ref`, `!!binary`) would be read as plain text, which is not what its author meant.
  const [warning] = doc.warnings;
  if (warning) throw new ConfigError(describe(file, "unsupported YAML", warning));
  const value = plain(doc.contents, doc);
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value))
    throw new ConfigError(`config file ${file} must hold a YAML mapping of keys to values`);
  return value as Record<string, unknown>;
}
