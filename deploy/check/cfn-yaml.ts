// Parses CloudFormation YAML into its JSON form: short-form intrinsic tags (!Ref, !Sub, !GetAtt, ...)
// become {"Ref": ...} / {"Fn::Sub": ...} objects, exactly as CloudFormation reads them.
import { parse, type CollectionTag, type ScalarTag, type YAMLMap, type YAMLSeq } from "yaml";

const FUNCTIONS = [
  "Base64",
  "Cidr",
  "Contains",
  "EachMemberEquals",
  "EachMemberIn",
  "Equals",
  "FindInMap",
  "GetAtt",
  "GetAZs",
  "ImportValue",
  "Join",
  "Select",
  "Split",
  "Sub",
  "And",
  "If",
  "Not",
  "Or",
  "ValueOf",
  "RefAll",
  "Length",
  "ToJsonString",
] as const;

function keyOf(name: string): string {
  return name === "Ref" || name === "Condition" ? name : `Fn::${name}`;
}

function tagsFor(name: string): (ScalarTag | CollectionTag)[] {
  const key = keyOf(name);
  const scalar: ScalarTag = {
    tag: `!${name}`,
    identify: () => false,
    // `!GetAtt Resource.Attribute` is the short form of ["Resource", "Attribute"].
    resolve: (str: string) => ({ [key]: name === "GetAtt" ? splitGetAtt(str) : str }),
  };
  const collection = (kind: "seq" | "map"): CollectionTag => ({
    tag: `!${name}`,
    collection: kind,
    identify: () => false,
    resolve: (node: YAMLMap.Parsed | YAMLSeq.Parsed) => ({ [key]: node.toJSON() }),
  });
  return [scalar, collection("seq"), collection("map")];
}

function splitGetAtt(str: string): [string, string] {
  const dot = str.indexOf(".");
  return dot < 0 ? [str, ""] : [str.slice(0, dot), str.slice(dot + 1)];
}

const CUSTOM_TAGS = ["Ref", "Condition", ...FUNCTIONS].flatMap(tagsFor);

/** Parses a CloudFormation template written in YAML (long or short intrinsic forms) or JSON. */
export function parseCloudFormation(text: string): Record<string, unknown> {
  const doc: unknown = parse(text, { customTags: CUSTOM_TAGS, prettyErrors: true, uniqueKeys: true });
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new Error("template is not a mapping");
  return doc as Record<string, unknown>;
}
