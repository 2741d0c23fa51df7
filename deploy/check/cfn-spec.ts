// Offline CloudFormation template checks against the published resource specification
// (@aws-cdk/cfnspec): resource types, property names and types, required properties, GetAtt attributes,
// and that every Ref / GetAtt / Sub / Condition names something the template defines.

export interface PropertySpec {
  Required?: boolean;
  PrimitiveType?: string;
  PrimitiveItemType?: string;
  Type?: string;
  ItemType?: string;
}

export interface CfnSpec {
  ResourceTypes: Record<
    string,
    { Properties?: Record<string, PropertySpec>; Attributes?: Record<string, unknown> }
  >;
  PropertyTypes: Record<string, { Properties?: Record<string, PropertySpec>; PrimitiveType?: string }>;
}

type Obj = Record<string, unknown>;

const TOP_LEVEL = new Set([
  "AWSTemplateFormatVersion",
  "Description",
  "Metadata",
  "Parameters",
  "Rules",
  "Mappings",
  "Conditions",
  "Transform",
  "Resources",
  "Outputs",
]);
const PARAMETER_KEYS = new Set([
  "Type",
  "Default",
  "Description",
  "AllowedValues",
  "AllowedPattern",
  "MinLength",
  "MaxLength",
  "MinValue",
  "MaxValue",
  "NoEcho",
  "ConstraintDescription",
]);
const PARAMETER_TYPE =
  /^(String|Number|List<Number>|CommaDelimitedList|(List<)?AWS::[A-Za-z0-9:]+>?|AWS::SSM::Parameter::(Name|Value<.+>))$/;
const RESOURCE_KEYS = new Set([
  "Type",
  "Properties",
  "Condition",
  "DependsOn",
  "DeletionPolicy",
  "UpdateReplacePolicy",
  "Metadata",
  "CreationPolicy",
  "UpdatePolicy",
]);
export const PSEUDO_PARAMETERS = new Set([
  "AWS::AccountId",
  "AWS::NotificationARNs",
  "AWS::NoValue",
  "AWS::Partition",
  "AWS::Region",
  "AWS::StackId",
  "AWS::StackName",
  "AWS::URLSuffix",
]);

function isObj(v: unknown): v is Obj {
  return Boolean(v) && typeof v === "object" && !Array.isArray(v);
}

function intrinsicName(v: unknown): string | undefined {
  if (!isObj(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length === 1 && (keys[0] === "Ref" || keys[0]!.startsWith("Fn::")) ? keys[0] : undefined;
}

/** The `${Name}` and `${Name.Attr}` references of a Fn::Sub string (`${!Literal}` is an escape). */
export function subReferences(template: string): string[] {
  return [...template.matchAll(/\$\{([^}!][^}]*)\}/g)].map((m) => m[1]!.trim());
}

export function checkTemplate(template: Obj, spec: CfnSpec): string[] {
  const problems: string[] = [];
  const parameters = isObj(template.Parameters) ? template.Parameters : {};
  const resources = isObj(template.Resources) ? template.Resources : {};
  const conditions = isObj(template.Conditions) ? template.Conditions : {};
  const used = new Set<string>();

  for (const key of Object.keys(template))
    if (!TOP_LEVEL.has(key)) problems.push(`unknown top-level section ${key}`);
  if (Object.keys(resources).length === 0) problems.push("Resources is empty");

  for (const [name, p] of Object.entries(parameters)) {
    if (!isObj(p)) {
      problems.push(`Parameters.${name}: not a mapping`);
      continue;
    }
    for (const k of Object.keys(p))
      if (!PARAMETER_KEYS.has(k)) problems.push(`Parameters.${name}: unknown key ${k}`);
    if (typeof p.Type !== "string" || !PARAMETER_TYPE.test(p.Type))
      problems.push(`Parameters.${name}: bad Type ${String(p.Type)}`);
    if (
      p.Default !== undefined &&
      Array.isArray(p.AllowedValues) &&
      !p.AllowedValues.map(String).includes(String(p.Default))
    )
      problems.push(`Parameters.${name}: Default ${String(p.Default)} is not in AllowedValues`);
    if (
      typeof p.Default === "string" &&
      typeof p.AllowedPattern === "string" &&
      !new RegExp(p.AllowedPattern).test(p.Default)
    )
      problems.push(`Parameters.${name}: Default does not match AllowedPattern`);
  }

  // Resource types and properties against the specification.
  const checkValue = (resourceType: string, prop: PropertySpec, value: unknown, path: string): void => {
    const fn = intrinsicName(value);
    if (fn === "Fn::If" && Array.isArray((value as Obj)[fn])) {
      const [, a, b] = (value as Obj)[fn] as unknown[];
      for (const branch of [a, b])
        if (!(isObj(branch) && branch.Ref === "AWS::NoValue")) checkValue(resourceType, prop, branch, path);
      return;
    }
    if (fn) return; // resolved by CloudFormation at deploy time
    if (prop.Type === "List") {
      if (!Array.isArray(value)) return void problems.push(`${path}: expected a list`);
      value.forEach((item, i) =>
        checkValue(
          resourceType,
          { PrimitiveType: prop.PrimitiveItemType, Type: prop.ItemType },
          item,
          `${path}[${i}]`,
        ),
      );
      return;
    }
    if (prop.Type === "Map") {
      if (!isObj(value)) return void problems.push(`${path}: expected a map`);
      for (const [k, item] of Object.entries(value))
        checkValue(
          resourceType,
          { PrimitiveType: prop.PrimitiveItemType, Type: prop.ItemType },
          item,
          `${path}.${k}`,
        );
      return;
    }
    if (prop.Type) {
      const typeSpec = spec.PropertyTypes[`${resourceType}.${prop.Type}`] ?? spec.PropertyTypes[prop.Type];
      if (!typeSpec) return void problems.push(`${path}: property type ${prop.Type} missing from the spec`);
      checkProperties(resourceType, typeSpec.Properties ?? {}, value, path);
      return;
    }
    const primitive = prop.PrimitiveType;
    if (primitive === "Json") {
      if (!isObj(value)) problems.push(`${path}: expected a JSON object`);
    } else if (primitive === "Boolean") {
      if (typeof value !== "boolean" && value !== "true" && value !== "false")
        problems.push(`${path}: expected a boolean`);
    } else if (primitive === "Integer" || primitive === "Long" || primitive === "Double") {
      if (typeof value !== "number" && !(typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value)))
        problems.push(`${path}: expected a number`);
    } else if (typeof value !== "string" && typeof value !== "number") {
      problems.push(`${path}: expected a ${primitive ?? "scalar"}`);
    }
  };
  const checkProperties = (
    resourceType: string,
    props: Record<string, PropertySpec>,
    value: unknown,
    path: string,
  ): void => {
    const fn = intrinsicName(value);
    if (fn === "Fn::If" && Array.isArray((value as Obj)[fn])) {
      const [, a, b] = (value as Obj)[fn] as unknown[];
      for (const branch of [a, b])
        if (!(isObj(branch) && branch.Ref === "AWS::NoValue"))
          checkProperties(resourceType, props, branch, path);
      return;
    }
    if (fn) return;
    if (!isObj(value)) return void problems.push(`${path}: expected a mapping`);
    for (const [k, v] of Object.entries(value)) {
      const prop = props[k];
      if (!prop) problems.push(`${path}.${k}: unknown property (known: ${Object.keys(props).join(", ")})`);
      else checkValue(resourceType, prop, v, `${path}.${k}`);
    }
    for (const [k, prop] of Object.entries(props))
      if (prop.Required && !(k in value)) problems.push(`${path}: missing required ${k}`);
  };

  for (const [name, r] of Object.entries(resources)) {
    if (!isObj(r)) {
      problems.push(`Resources.${name}: not a mapping`);
      continue;
    }
    for (const k of Object.keys(r))
      if (!RESOURCE_KEYS.has(k)) problems.push(`Resources.${name}: unknown key ${k}`);
    const type = String(r.Type);
    const rs = spec.ResourceTypes[type];
    if (!rs) {
      problems.push(`Resources.${name}: unknown resource type ${type}`);
      continue;
    }
    checkProperties(type, rs.Properties ?? {}, r.Properties ?? {}, `Resources.${name}.Properties`);
    if (r.Condition !== undefined && !(String(r.Condition) in conditions))
      problems.push(`Resources.${name}: Condition ${String(r.Condition)} is not defined`);
    for (const dep of [r.DependsOn ?? []].flat())
      if (!(String(dep) in resources))
        problems.push(`Resources.${name}: DependsOn ${String(dep)} is not a resource`);
  }

  // References. `guards` are the conditions known true where a value sits (resource Condition, Fn::If branch):
  // referencing a conditional resource outside them fails at deploy time when the condition is false.
  const resourceCondition = (name: string): string | undefined => {
    const r = resources[name];
    return isObj(r) && typeof r.Condition === "string" ? r.Condition : undefined;
  };
  const checkTarget = (name: string, path: string, guards: Set<string>, attr?: string): void => {
    used.add(name);
    if (name in resources) {
      const cond = resourceCondition(name);
      if (cond && !guards.has(cond))
        problems.push(`${path}: refers to ${name}, which exists only if ${cond}`);
      if (attr !== undefined) {
        const type = String((resources[name] as Obj).Type);
        const attrs = spec.ResourceTypes[type]?.Attributes ?? {};
        if (!(attr in attrs))
          problems.push(
            `${path}: ${type} has no attribute ${attr} (known: ${Object.keys(attrs).join(", ")})`,
          );
      }
      return;
    }
    if (attr === undefined && (name in parameters || PSEUDO_PARAMETERS.has(name))) return;
    problems.push(`${path}: ${attr === undefined ? "Ref" : "GetAtt"} to undefined ${name}`);
  };
  const walk = (v: unknown, path: string, guards: Set<string>): void => {
    if (Array.isArray(v)) return v.forEach((item, i) => walk(item, `${path}[${i}]`, guards));
    if (!isObj(v)) return;
    const fn = intrinsicName(v);
    const arg = fn ? v[fn] : undefined;
    if (fn === "Ref") return checkTarget(String(arg), path, guards);
    if (fn === "Fn::GetAtt") {
      const [res, attr] = Array.isArray(arg) ? arg.map(String) : String(arg).split(/\.(.*)/);
      return checkTarget(res ?? "", path, guards, attr ?? "");
    }
    if (fn === "Fn::Sub") {
      const [text, vars] = Array.isArray(arg)
        ? [String(arg[0]), isObj(arg[1]) ? arg[1] : {}]
        : [String(arg), {}];
      for (const ref of subReferences(text)) {
        if (ref in vars) continue;
        const [res, attr] = ref.split(/\.(.*)/);
        checkTarget(res!, `${path} (Sub \${${ref}})`, guards, attr);
      }
      return walk(vars, path, guards);
    }
    if (fn === "Fn::If" && Array.isArray(arg)) {
      const cond = String(arg[0]);
      if (!(cond in conditions)) problems.push(`${path}: Fn::If on undefined condition ${cond}`);
      walk(arg[1], `${path}[then]`, new Set([...guards, cond]));
      return walk(arg[2], `${path}[else]`, guards);
    }
    if ("Condition" in v && typeof v.Condition === "string" && Object.keys(v).length === 1) {
      if (!(v.Condition in conditions)) problems.push(`${path}: condition ${v.Condition} is not defined`);
      return;
    }
    for (const [k, child] of Object.entries(v)) walk(child, `${path}.${k}`, guards);
  };
  walk(template.Rules, "Rules", new Set());
  walk(conditions, "Conditions", new Set());
  for (const [name, r] of Object.entries(resources)) {
    if (!isObj(r)) continue;
    const cond = typeof r.Condition === "string" ? [r.Condition] : [];
    walk(r.Properties, `Resources.${name}.Properties`, new Set(cond));
  }
  const outputs = isObj(template.Outputs) ? template.Outputs : {};
  for (const [name, o] of Object.entries(outputs)) {
    const cond = isObj(o) && typeof o.Condition === "string" ? [o.Condition] : [];
    walk(isObj(o) ? o.Value : undefined, `Outputs.${name}.Value`, new Set(cond));
  }
  for (const name of Object.keys(parameters))
    if (!used.has(name)) problems.push(`Parameters.${name}: never used`);
  return problems;
}
