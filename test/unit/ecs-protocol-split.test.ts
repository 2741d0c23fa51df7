// splitTopLevelArray (core/ecs-protocol.ts): a DescribeTasks answer's tasks as their JSON texts, unparsed,
// cut only where the JSON's structure says; anything not shaped so is left to a whole JSON.parse.
import { describe, expect, it } from "vitest";
import { splitTopLevelArray } from "../../core/ecs-protocol.js";

const tricky = [
  { taskArn: "arn:a", tags: [{ key: "k", value: 'brackets ] } [ { and "quotes", a \\ backslash\\' }] },
  { taskArn: "arn:b", group: 'service:"x"', containers: [{ name: "é🚀", networkBindings: [] }] },
  { taskArn: "arn:c", overrides: { containerOverrides: [{ command: ["sh", "-c", "echo '}'"] }] } },
];

describe("splitTopLevelArray", () => {
  it("cuts the array's elements exactly: each parses to the element JSON.parse gives", () => {
    for (const text of [
      JSON.stringify({ failures: [{ arn: "arn:x", reason: "MISSING" }], tasks: tricky }),
      JSON.stringify({ tasks: tricky, failures: [] }, null, 2), // pretty-printed, other key order
      JSON.stringify({ note: "tasks", tasks: tricky }), // "tasks" as a value before the key
    ]) {
      const split = splitTopLevelArray(text, "tasks")!;
      expect(split.elements.map((e) => JSON.parse(e) as unknown)).toEqual(tricky);
      const whole = JSON.parse(text) as Record<string, unknown>;
      expect(split.rest).toEqual({ ...whole, tasks: [] });
    }
    expect(splitTopLevelArray('{"tasks":[]}', "tasks")).toEqual({ rest: { tasks: [] }, elements: [] });
  });

  it("a nested array of the same name is not the top-level one", () => {
    const text = JSON.stringify({ x: { tasks: [{ a: 1 }] }, tasks: [{ b: 2 }] });
    expect(splitTopLevelArray(text, "tasks")!.elements).toEqual(['{"b":2}']);
  });

  it("undefined (parse it whole) when the array is absent, not an array, or holds other than objects", () => {
    for (const text of [
      '{"failures":[]}',
      '{"tasks":null}',
      '{"tasks":{"a":1}}',
      '{"tasks":[1,2]}',
      '{"tasks":["a"]}',
      '{"tasks":[[{}]]}',
      "[]",
    ])
      expect(splitTopLevelArray(text, "tasks"), text).toBeUndefined();
  });

  it("malformed text outside the elements is a SyntaxError, as JSON.parse would throw", () => {
    expect(() => splitTopLevelArray('{"tasks":[{"a":"unterminated}]}', "tasks")).toThrow(SyntaxError);
    expect(() => splitTopLevelArray('{"tasks":[{}],}', "tasks")).toThrow(SyntaxError);
  });
});
