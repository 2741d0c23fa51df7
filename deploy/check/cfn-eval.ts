// Evaluates a CloudFormation template for given parameter values, as CloudFormation would before creating
// anything: conditions decided, resources whose condition is false dropped, Fn::If / AWS::NoValue resolved,
// parameters and pseudo parameters substituted, Fn::Sub and Fn::Join computed. References to resources stay
// symbolic ("Ref(TaskRole)", "GetAtt(TaskRole.Arn)") under a caller-chosen name, so two templates that
// name their resources differently (a hand-written one and a CDK synthesis) can be compared.

type Json = unknown;
type Obj = Record<string, unknown>;
export type EvaluatedResources = Record<string, { Type: string; Properties: Obj }>;

export const PSEUDO_PARAMETERS = {
  "AWS::AccountId": "123456789012",
  "AWS::Region": "eu-west-1",
  "AWS::Partition": "aws",
  "AWS::URLSuffix": "amazonaws.com",
  "AWS::StackName": "ecs-prometheus-bridge",
} as const;

const NO_VALUE = Symbol("AWS::NoValue");

export function evaluateTemplate(
  template: Obj,
  parameters: Record<string, string | number>,
  rename: (logicalId: string) => string = (id) => id,
): EvaluatedResources {
  const declared = (template.Parameters ?? {}) as Record<string, { Type: string; Default?: unknown }>;
  const values: Record<string, Json> = { ...PSEUDO_PARAMETERS };
  for (const [name, p] of Object.entries(declared)) {
    const raw = parameters[name] ?? p.Default;
    if (raw === undefined) throw new Error(`parameter ${name} has no value and no default`);
    values[name] =
      p.Type.startsWith("List<") || p.Type === "CommaDelimitedList" ? String(raw).split(",") : raw;
  }
  for (const name of Object.keys(parameters))
    if (!(name in declared)) throw new Error(`${name} is not a parameter of the template`);

  const conditions = (template.Conditions ?? {}) as Record<string, Json>;
  const resources = (template.Resources ?? {}) as Record<
    string,
    { Type: string; Condition?: string; Properties?: Obj }
  >;
  const decided = new Map<string, boolean>();
  const condition = (name: string): boolean => {
    if (!decided.has(name)) {
      if (!(name in conditions)) throw new Error(`condition ${name} is not defined`);
      decided.set(name, Boolean(value(conditions[name])));
    }
    return decided.get(name)!;
  };
  const ref = (name: string): Json => {
    if (name in values) return values[name];
    if (name in resources) return `Ref(${rename(name)})`;
    throw new Error(`Ref to undefined ${name}`);
  };
  const getAtt = (id: string, attribute: string): string => {
    if (!(id in resources)) throw new Error(`GetAtt of undefined ${id}`);
    return `GetAtt(${rename(id)}.${attribute})`;
  };

  function value(node: Json): Json {
    if (Array.isArray(node)) return node.map(value).filter((v) => v !== NO_VALUE);
    if (node === null || typeof node !== "object") return node;
    const entries = Object.entries(node as Obj);
    const [key, arg] = entries[0] ?? [];
    if (entries.length === 1 && key !== undefined) {
      switch (key) {
        case "Ref":
          return arg === "AWS::NoValue" ? NO_VALUE : ref(String(arg));
        case "Condition":
          return condition(String(arg));
        case "Fn::GetAtt": {
          const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split(/\.(.*)/);
          return getAtt(String(id), String(attribute));
        }
        case "Fn::Equals": {
          const [a, b] = value(arg) as Json[];
          return JSON.stringify(a) === JSON.stringify(b);
        }
        case "Fn::Not":
          return !(value(arg) as Json[])[0];
        case "Fn::And":
          return (value(arg) as Json[]).every(Boolean);
        case "Fn::Or":
          return (value(arg) as Json[]).some(Boolean);
        case "Fn::If": {
          const [name, whenTrue, whenFalse] = arg as [string, Json, Json];
          return value(condition(name) ? whenTrue : whenFalse);
        }
        case "Fn::Join": {
          const [separator, list] = arg as [string, Json];
          return (value(list) as Json[]).map(String).join(separator);
        }
        case "Fn::Sub":
          return substitute(arg);
      }
    }
    const out: Obj = {};
    for (const [k, v] of entries) {
      const evaluated = value(v);
      if (evaluated !== NO_VALUE) out[k] = evaluated;
    }
    return out;
  }

  function substitute(arg: Json): string {
    const [text, variables] = typeof arg === "string" ? [arg, {}] : (arg as [string, Obj]);
    return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
      if (name in variables) return String(value(variables[name]));
      const dot = name.indexOf(".");
      return dot < 0 ? String(ref(name)) : getAtt(name.slice(0, dot), name.slice(dot + 1));
    });
  }

  const out: EvaluatedResources = {};
  for (const [id, r] of Object.entries(resources)) {
    if (r.Condition && !condition(r.Condition)) continue;
    out[rename(id)] = { Type: r.Type, Properties: value(r.Properties ?? {}) as Obj };
  }
  return out;
}
