import { describe, expect, it } from "vitest";
import { limited } from "../../core/limit.js";

describe("limited", () => {
  it("never runs more than the limit at once, across methods, and keeps results and errors", async () => {
    let active = 0;
    let peak = 0;
    const track = async <T>(value: T): Promise<T> => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      return value;
    };
    const api = limited(
      {
        a: (n: number) => track(n * 2),
        b: (s: string) => track(s.toUpperCase()),
        fail: async () => {
          await track(0);
          throw new Error("boom");
        },
      },
      3,
    );
    const results = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => api.a(i)),
      api.b("x"),
      api.fail().catch((e: Error) => e.message),
    ]);
    expect(peak).toBe(3);
    expect(results.slice(0, 10)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(results.slice(10)).toEqual(["X", "boom"]);
  });
});
