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

  it("renews entries that went stale within the last TTL in the last batch's spare room", async () => {
    let now = 1_000_000;
    const f = new BatchedFacts<Fact>({ ttlMs: 100, max: 100, batchSize: 3, coalesce: true, now: () => now });
    await f.get(["old"], recorder().fetch);
    now += 250;
    await f.get(["a1", "x", "y"], recorder().fetch);
    await f.get(["b1", "b2", "b3"], recorder().fetch);
    now += 101;
    // All but "old" went stale within the last TTL: a1's call renews two of them alongside, never "old".
    const a = recorder();
    expect((await f.get(["a1"], a.fetch)).values.get("a1")).toEqual({ id: "a1" });
    const [batch] = a.batches;
    expect(a.batches).toHaveLength(1);
    expect(batch![0]).toBe("a1");
    expect(batch).toHaveLength(3);
    const others = ["x", "y", "b1", "b2", "b3"];
    const renewed = batch!.slice(1);
    expect(renewed.every((id) => others.includes(id))).toBe(true);
    // Those are fresh again: only the rest is asked for.
    const b = recorder();
    const rb = await f.get(others, b.fetch);
    expect(b.batches.flat().sort()).toEqual(others.filter((id) => !renewed.includes(id)).sort());
    expect([...rb.values.keys()].sort()).toEqual([...others].sort());
  });

  it("a caller asking for an id already being fetched waits for that fetch", async () => {
    const f = facts(true);
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const first: string[][] = [];
    const pending = f.get(["a1", "a2"], async (ids) => {
      first.push(ids);
      await held;
      return new Map(ids.map((id) => [id, { id }]));
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(first).toEqual([["a1", "a2"]]);
    const later = recorder();
    const joined = f.get(["a2", "b1"], later.fetch);
    release();
    const [, r] = await Promise.all([pending, joined]);
    expect(later.batches).toEqual([["b1"]]);
    expect([...r.values.keys()].sort()).toEqual(["a2", "b1"]);
  });

  it("a batch failing with an entry renewed alongside is asked again without it, and the entry is forgotten", async () => {
    let now = 1_000_000;
    const f = new BatchedFacts<Fact>({ ttlMs: 100, max: 100, batchSize: 3, coalesce: true, now: () => now });
    await f.get(["a1", "dead"], recorder().fetch);
    now += 101;
    // EC2 no longer knows "dead" and fails any call naming it: a1 is asked again alone.
    const a = recorder(new Set(["dead"]));
    const r = await f.get(["a1"], a.fetch);
    expect(a.batches).toEqual([["a1", "dead"], ["a1"]]);
    expect(r).toEqual({ values: new Map([["a1", { id: "a1" }]]), failed: new Set(), errors: [] });
    now += 101;
    const again = recorder(new Set(["dead"]));
    expect((await f.get(["a1"], again.fetch)).errors).toEqual([]);
    expect(again.batches).toEqual([["a1"]]);
  });
});
