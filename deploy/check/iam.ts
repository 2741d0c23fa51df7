// IAM policy checks: the document's structure, read-only actions, and that each action names an operation
// that exists in the AWS SDK client the bridge uses (ecs:DescribeTasks -> DescribeTasksCommand).

/** The SDK package whose `<Operation>Command` exports define the valid actions of an IAM service prefix. */
export const SDK_PACKAGE_BY_PREFIX: Record<string, string> = {
  ecs: "@aws-sdk/client-ecs",
  ec2: "@aws-sdk/client-ec2",
  servicediscovery: "@aws-sdk/client-servicediscovery",
  cloudwatch: "@aws-sdk/client-cloudwatch",
  sqs: "@aws-sdk/client-sqs",
  // The STS client the credential providers bundle (fromTemporaryCredentials calls AssumeRole with it).
  sts: "@aws-sdk/nested-clients/sts",
};

/** Batch operations IAM authorises with the action of the single operation (no sqs:DeleteMessageBatch action). */
export const ACTION_OF_BATCH: Record<string, string> = {
  "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
  "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
};

/** The IAM prefix of each SDK client package, for mapping code (`new XCommand` from a package) to actions. */
export const PREFIX_BY_SDK_PACKAGE: Record<string, string> = Object.fromEntries(
  Object.entries(SDK_PACKAGE_BY_PREFIX).map(([prefix, pkg]) => [pkg, prefix]),
);

export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

export interface PolicyDocument {
  Version: string;
  Statement: Statement[];
}

const ACTION = /^[a-z0-9-]+:[A-Za-z0-9]+$/;
const READ_ONLY = /^(List|Describe|Get|Discover)[A-Z]/;
const STATEMENT_KEYS = new Set([
  "Sid",
  "Effect",
  "Action",
  "NotAction",
  "Resource",
  "NotResource",
  "Principal",
  "Condition",
]);

export function actionsOf(statement: Statement): string[] {
  const a = statement.Action;
  return a === undefined ? [] : Array.isArray(a) ? a : [a];
}

/** Structural problems of a policy document (identity policy unless `trust` is set). */
export function checkPolicyStructure(doc: unknown, opts: { trust?: boolean } = {}): string[] {
  const problems: string[] = [];
  const d = doc as Partial<PolicyDocument>;
  if (d.Version !== "2012-10-17")
    problems.push(`Version must be "2012-10-17", got ${JSON.stringify(d.Version)}`);
  if (!Array.isArray(d.Statement) || d.Statement.length === 0)
    return [...problems, "Statement must be a non-empty list"];
  d.Statement.forEach((s, i) => {
    const at = `Statement[${i}]${s.Sid ? ` (${s.Sid})` : ""}`;
    for (const key of Object.keys(s))
      if (!STATEMENT_KEYS.has(key)) problems.push(`${at}: unknown key ${key}`);
    if (s.Effect !== "Allow") problems.push(`${at}: only Allow statements are expected here`);
    if (s.NotAction !== undefined || s.NotResource !== undefined)
      problems.push(`${at}: NotAction/NotResource grant too much`);
    const actions = actionsOf(s);
    if (actions.length === 0) problems.push(`${at}: no Action`);
    for (const a of actions)
      if (!ACTION.test(a)) problems.push(`${at}: "${a}" is not one exact action (no wildcards)`);
    if (opts.trust) {
      if (s.Principal === undefined) problems.push(`${at}: a trust policy statement needs a Principal`);
      if (s.Resource !== undefined) problems.push(`${at}: a trust policy statement has no Resource`);
    } else {
      if (s.Principal !== undefined) problems.push(`${at}: an identity policy statement has no Principal`);
      if (s.Resource === undefined) problems.push(`${at}: no Resource`);
    }
  });
  return problems;
}

export function isReadOnlyAction(action: string): boolean {
  return READ_ONLY.test(action.split(":")[1] ?? "");
}

/** True when `prefix:Operation` exists as `OperationCommand` in the SDK package for the prefix. */
export async function sdkCommandExists(action: string): Promise<boolean> {
  const [prefix, op] = action.split(":");
  const pkg = prefix ? SDK_PACKAGE_BY_PREFIX[prefix] : undefined;
  if (!pkg || !op) throw new Error(`no SDK package known for the IAM prefix of ${action}`);
  const mod = (await import(pkg)) as Record<string, unknown>;
  return typeof mod[`${op}Command`] === "function";
}
