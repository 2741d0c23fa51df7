import { describe, expect, it } from "vitest";
import { BatchedFacts, type FetchBatch } from "../../sd/ecs/facts.js";

type Fact = { id: string };

/** A fetch that records each batch it is asked for and fails the batches holding a `bad` id. */
function recorder(bad = new Set<string>()) {
  const batches: string[][] = [];
  const fetch: FetchBatch<Fact> = async (ids) => {
    batches.push(ids);
    if (ids.some((id) => bad.has(id))) throw new Error(`batch with ${ids.join(",")} failed`);
    return new Map(ids.filter((id) => !id.startsWith("gone")).map((id) => [id, { id }]));
  };
  return { batches, fetch };
}

const facts = (coalesce: boolean) => new BatchedFacts<Fact>({ ttlMs: 0, max: 100, batchSize: 2, coalesce });

describe("BatchedFacts", () => {
  it("callers asking in the same turn of the event loop share batches, each getting its own answer", async () => {
    const f = facts(true);
    const a = recorder(new Set(["b1"]));
    const b = recorder();
    const [ra, rb, rc] = await Promise.all([
      f.get(["a1", "a2", "gone-1"], a.fetch),
      f.get(["b1", "a1"], b.fetch),
      f.get([], b.fetch),
    ]);
    // One shared set of batches (of at most batchSize, in the order asked), made with the first caller's fetch.
    expect(a.batches).toEqual([
      ["a1", "a2"],
      ["gone-1", "b1"],
    ]);
    expect(b.batches).toEqual([]);
    // Each caller sees only its own ids; the failed batch fails only the callers whose ids were in it.
    const error = "batch with gone-1,b1 failed";
    expect(ra.values).toEqual(
      new Map([
        ["a1", { id: "a1" }],
        ["a2", { id: "a2" }],
      ]),
    );
    expect(ra.failed).toEqual(new Set(["gone-1"]));
    expect(ra.errors.map((e) => e.message)).toEqual([error]);
    expect(rb.values).toEqual(new Map([["a1", { id: "a1" }]]));
    expect(rb.failed).toEqual(new Set(["b1"]));
    expect(rb.errors.map((e) => e.message)).toEqual([error]);
    expect(rc).toEqual({ values: new Map(), failed: new Set(), errors: [] });
    // What was found is cached for everyone; the failed ids are asked again.
    const again = recorder();
    const r = await f.get(["a1", "a2", "b1"], again.fetch);
    expect(again.batches).toEqual([["b1"]]);
    expect([...r.values.keys()]).toEqual(["a1", "a2", "b1"]);
  });

  it("callers asking at different times, or facts that do not coalesce, fetch on their own", async () => {
    for (const coalesce of [true, false]) {
      const f = facts(coalesce);
      const a = recorder();
      const b = recorder();
      if (coalesce) {
        await f.get(["a1"], a.fetch);
        await f.get(["b1"], b.fetch);
      } else await Promise.all([f.get(["a1"], a.fetch), f.get(["b1"], b.fetch)]);
      expect(a.batches).toEqual([["a1"]]);
      expect(b.batches).toEqual([["b1"]]);
    }
  });
});
