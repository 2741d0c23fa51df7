// Checks a JSON document (an ECS task definition, a service definition) against the input shape of an
// AWS SDK v3 operation, read from the schema the SDK package ships. Nothing is copied by hand, so a
// field AWS renames or drops fails here when the SDK is upgraded.
import { NormalizedSchema } from "@smithy/core/schema";

export interface ShapeOptions {
  /** Allowed values per member name, e.g. { networkMode: Object.values(NetworkMode) } from the SDK's enums. */
  enums?: Record<string, readonly string[]>;
  /**
   * CloudFormation mode: keys are PascalCase (`ContainerDefinitions` -> `containerDefinitions`) and any value
   * may be an intrinsic function ({"Ref": ...}, {"Fn::If": ...}) that only CloudFormation can resolve.
   */
  cloudFormation?: boolean;
  /** CloudFormation property names that differ from the API member name, by API member name. */
  renames?: Record<string, string>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isIntrinsic(value: unknown): boolean {
  if (!value || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === "Ref" || keys[0]!.startsWith("Fn::"));
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/** Required member count: the 7th element of a static structure schema (members are ordered required-first). */
function requiredMembers(ns: NormalizedSchema): string[] {
  const sc = ns.getSchema() as unknown as unknown[];
  const names = (sc[4] as string[] | undefined) ?? [];
  const count = typeof sc[6] === "number" ? sc[6] : 0;
  return names.slice(0, count);
}

/** Returns human-readable problems; an empty list means the document fits the shape. */
export function checkShape(schema: unknown, value: unknown, opts: ShapeOptions = {}, path = "$"): string[] {
  const ns = NormalizedSchema.of(schema as Parameters<typeof NormalizedSchema.of>[0]);
  const problems: string[] = [];
  const visit = (s: NormalizedSchema, v: unknown, p: string, member?: string): void => {
    if (opts.cloudFormation && isIntrinsic(v)) return;
    if (s.isStructSchema()) {
      if (!v || typeof v !== "object" || Array.isArray(v))
        return void problems.push(`${p}: expected an object, got ${typeName(v)}`);
      const members = new Map<string, NormalizedSchema>();
      for (const [name, m] of s.structIterator()) members.set(name, m);
      const toApi = (key: string): string => {
        if (!opts.cloudFormation) return key;
        const renamed = Object.entries(opts.renames ?? {}).find(([, cfn]) => cfn === key)?.[0];
        return renamed ?? key.charAt(0).toLowerCase() + key.slice(1);
      };
      const present = new Set<string>();
      for (const [key, child] of Object.entries(v as Record<string, unknown>)) {
        const apiName = toApi(key);
        const m = members.get(apiName);
        if (!m) {
          problems.push(
            `${p}.${key}: not a member of ${s.getName()} (known: ${[...members.keys()].join(", ")})`,
          );
          continue;
        }
        present.add(apiName);
        visit(m, child, `${p}.${key}`, apiName);
      }
      for (const req of requiredMembers(s))
        if (!present.has(req)) problems.push(`${p}: missing required member ${req} of ${s.getName()}`);
      return;
    }
    if (s.isListSchema()) {
      if (!Array.isArray(v)) return void problems.push(`${p}: expected a list, got ${typeName(v)}`);
      v.forEach((item, i) => visit(s.getValueSchema(), item, `${p}[${i}]`, member));
      return;
    }
    if (s.isMapSchema()) {
      if (!v || typeof v !== "object" || Array.isArray(v))
        return void problems.push(`${p}: expected a map, got ${typeName(v)}`);
      for (const [k, child] of Object.entries(v as Record<string, unknown>))
        visit(s.getValueSchema(), child, `${p}.${k}`);
      return;
    }
    if (s.isBooleanSchema()) {
      if (typeof v !== "boolean") problems.push(`${p}: expected a boolean, got ${typeName(v)}`);
      return;
    }
    if (s.isNumericSchema()) {
      if (typeof v !== "number" || !Number.isFinite(v))
        problems.push(`${p}: expected a number, got ${typeName(v)}`);
      return;
    }
    if (s.isStringSchema()) {
      // CloudFormation accepts numbers where the API wants strings (e.g. Cpu: 256).
      const ok = typeof v === "string" || (opts.cloudFormation && typeof v === "number");
      if (!ok) return void problems.push(`${p}: expected a string, got ${typeName(v)}`);
      const allowed = member ? opts.enums?.[member] : undefined;
      if (allowed && !allowed.includes(String(v)))
        problems.push(`${p}: "${String(v)}" is not one of ${allowed.join(", ")}`);
      return;
    }
    problems.push(`${p}: schema kind of ${s.getName()} is not handled by this checker`);
  };
  visit(ns, value as Json, path);
  return problems;
}
