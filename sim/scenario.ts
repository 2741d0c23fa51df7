// Loads a scenario from a YAML or JSON file (JSON is YAML) and catches misspelt keys early, naming the
// path of the bad key, so a scenario typo fails loudly instead of silently simulating nothing.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { SimScenarioError } from "./protocol.js";
import type { Scenario } from "./types.js";

/** Allowed keys per object path (`*` = list element). Leaves not listed here are free-form maps. */
const KEYS: Record<string, string[]> = {
  "": [
    "accountId",
    "region",
    "availabilityZones",
    "ipPool",
    "hostPorts",
    "lifecycle",
    "ecs",
    "cloudwatch",
    "throttling",
    "taskDefinitions",
    "clusters",
    "namespaces",
    "metrics",
    "serviceConnect",
    "accounts",
  ],
  ipPool: ["tasks", "instances"],
  hostPorts: ["start", "end"],
  lifecycle: ["pendingDescribes", "pendingStatus"],
  ecs: ["ipv6Bindings"],
  cloudwatch: ["lagSeconds", "maxDatapointsPerPage"],
  "throttling.*": [
    "service",
    "operation",
    "cluster",
    "namespace",
    "account",
    "unfiltered",
    "burst",
    "refillPerSecond",
  ],
  "taskDefinitions.*": [
    "family",
    "revision",
    "networkMode",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "containerDefinitions",
    "tags",
  ],
  "taskDefinitions.*.containerDefinitions.*": [
    "name",
    "image",
    "essential",
    "cpu",
    "memory",
    "dockerLabels",
    "portMappings",
    "healthCheck",
  ],
  "taskDefinitions.*.containerDefinitions.*.healthCheck": ["command"],
  "taskDefinitions.*.containerDefinitions.*.portMappings.*": [
    "containerPort",
    "hostPort",
    "protocol",
    "name",
    "appProtocol",
  ],
  "clusters.*": ["name", "region", "tags", "containerInstances", "services", "tasks"],
  "clusters.*.containerInstances.*": ["id", "ec2InstanceId", "privateIp", "availabilityZone", "instanceType"],
  "clusters.*.services.*": [
    "name",
    "taskDefinition",
    "desiredCount",
    "launchType",
    "tags",
    "taskTags",
    "healthStatus",
    "serviceRegistry",
  ],
  "clusters.*.services.*.serviceRegistry": ["namespace", "service", "containerName", "containerPort"],
  "clusters.*.tasks.*": [
    "taskDefinition",
    "launchType",
    "group",
    "startedBy",
    "count",
    "tags",
    "ip",
    "containerInstance",
    "lastStatus",
    "healthStatus",
    "availabilityZone",
  ],
  "namespaces.*": ["name", "id", "type", "description", "region", "tags", "services"],
  "namespaces.*.services.*": [
    "name",
    "id",
    "description",
    "tags",
    "instances",
    "generate",
    "customHealthCheck",
  ],
  "namespaces.*.services.*.instances.*": ["id", "attributes", "health"],
  "namespaces.*.services.*.generate": ["count", "port", "attributes", "health"],
  "metrics.*": ["namespace", "metricName", "dimensions", "region", "unit", "value", "stats", "from", "until"],
  "serviceConnect.*": ["cluster", "service", "discoveryName", "region", "scale", "dimensionSets"],
};

const ACCOUNT_KEYS = [
  "accountId",
  "externalId",
  "region",
  "availabilityZones",
  "ipPool",
  "hostPorts",
  "taskDefinitions",
  "clusters",
  "namespaces",
  "metrics",
  "serviceConnect",
];

function check(value: unknown, pattern: string, path: string): void {
  // An account holds the same resources as the top level: check it with the top-level patterns.
  if (pattern === "accounts.*") {
    if (!value || typeof value !== "object" || Array.isArray(value)) return;
    for (const [k, v] of Object.entries(value)) {
      if (!ACCOUNT_KEYS.includes(k))
        throw new SimScenarioError(
          `scenario: unknown key ${path}.${k}; allowed here: ${ACCOUNT_KEYS.join(", ")}`,
        );
      check(v, k, `${path}.${k}`);
    }
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) check(v, pattern ? `${pattern}.*` : "*", `${path}[${i}]`);
    return;
  }
  if (!value || typeof value !== "object") return;
  const allowed = KEYS[pattern];
  if (!allowed) return;
  for (const [k, v] of Object.entries(value)) {
    if (!allowed.includes(k))
      throw new SimScenarioError(
        `scenario: unknown key ${path ? `${path}.` : ""}${k}; allowed here: ${allowed.join(", ")}`,
      );
    check(v, pattern ? `${pattern}.${k}` : k, path ? `${path}.${k}` : k);
  }
}

/** Validates the key structure of a scenario object (values are checked when the sim builds its world). */
export function checkScenario(s: unknown): Scenario {
  if (!s || typeof s !== "object" || Array.isArray(s))
    throw new SimScenarioError("scenario must be a mapping");
  check(s, "", "");
  return s as Scenario;
}

export function parseScenario(text: string, name = "scenario"): Scenario {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new SimScenarioError(`${name} is not valid YAML/JSON: ${(err as Error).message}`);
  }
  return checkScenario(parsed ?? {});
}

export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new SimScenarioError(`cannot read scenario ${file}: ${(err as Error).message}`);
  }
  return parseScenario(text, file);
}
