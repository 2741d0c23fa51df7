import { describe, expect, it } from "vitest";
import { UnitBackoff, isTransient } from "../../core/backoff.js";

type Outcome = { ok: boolean; error?: Error; skipped?: boolean };

const throttle = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
const serverError = Object.assign(new Error("boom"), {
  name: "ServerException",
  $metadata: { httpStatusCode: 503 },
});
const denied = Object.assign(new Error("no"), {
  name: "AccessDeniedException",
  $metadata: { httpStatusCode: 400 },
});

/** Runs `rounds` refreshes of one unit whose work fails with `error` (or succeeds when null); returns who ran. */
async function rounds(b: UnitBackoff, error: Error | null, n: number): Promise<string> {
  let out = "";
  for (let i = 0; i < n; i++) {
    const r = await b.run<Outcome>(
      "u",
      async () => (error ? { ok: false, error } : { ok: true }),
      (e) => ({ ok: false, error: e, skipped: true }),
    );
    out += r.skipped ? "s" : r.ok ? "+" : "x";
  }
  return out;
}

describe("unit backoff", () => {
  it("skips 0, 1, 3, 7 refreshes after 1, 2, 3, 4 consecutive throttles, capped", async () => {
    const b = new UnitBackoff(8);
    const expected = "x" + "x" + "s" + "x" + "sss" + "x" + "sssssss" + "x" + "ssssssss" + "x";
    expect(await rounds(b, throttle, expected.length)).toBe(expected);
  });

  it("a success resets it; the skip error carries the last AWS error", async () => {
    const b = new UnitBackoff();
    await rounds(b, serverError, 2);
    const skipped = await b.run<Outcome>(
      "u",
      async () => ({ ok: true }),
      (e) => ({ ok: false, error: e }),
    );
    expect(skipped.error?.name).toBe("BackingOff");
    expect(skipped.error?.message).toMatch(/after 2 consecutive failures.*ServerException: boom/);
    expect(await rounds(b, null, 1)).toBe("+");
    expect(await rounds(b, throttle, 2)).toBe("xx");
  });

  it("never backs off on errors that are not throttling or 5xx (a fixed IAM policy works at once)", async () => {
    const b = new UnitBackoff();
    expect(await rounds(b, denied, 5)).toBe("xxxxx");
    expect(isTransient(denied)).toBe(false);
    expect(isTransient(throttle)).toBe(true);
    expect(isTransient(serverError)).toBe(true);
  });
});
