// Deterministic identifiers and address pools: the same scenario yields the same ARNs, IPs and ports on
// every run, so test failures are reproducible.
import { createHash } from "node:crypto";
import { SimScenarioError } from "./protocol.js";

/** `len` lowercase hex characters derived from `seed`. */
export function stableHex(seed: string, len: number): string {
  let out = "";
  for (let i = 0; out.length < len; i++) out += createHash("sha256").update(`${seed}#${i}`).digest("hex");
  return out.slice(0, len);
}

/** Cloud Map style ids: `ns-` / `srv-` + 16 lowercase base32-ish characters. */
export function cloudMapId(prefix: "ns" | "srv", seed: string): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const hex = stableHex(seed, 32);
  let out = "";
  for (let i = 0; i < 16; i++) out += alphabet[parseInt(hex.slice(i * 2, i * 2 + 2), 16) % 32];
  return `${prefix}-${out}`;
}

function ipToInt(ip: string): number {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new SimScenarioError(`invalid IPv4 address ${JSON.stringify(ip)}`);
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Sequential IPv4 allocation that skips .0/.255 host octets and addresses already taken explicitly. */
export class IpPool {
  private next: number;
  private readonly limit: number;

  constructor(
    start: string,
    private readonly taken: Set<string>,
  ) {
    this.next = ipToInt(start);
    // Stay inside the /8 of the start address (127/8 is all loopback on Linux).
    this.limit = ((this.next >>> 24) << 24) + 0xffffff;
  }

  allocate(): string {
    while (this.next < this.limit) {
      const ip = intToIp(this.next++);
      const last = Number(ip.split(".")[3]);
      if (last === 0 || last === 255 || this.taken.has(ip)) continue;
      this.taken.add(ip);
      return ip;
    }
    throw new SimScenarioError("IP pool exhausted");
  }

  /** Marks an explicit address as used so the pool never hands it out. */
  reserve(ip: string): void {
    ipToInt(ip);
    this.taken.add(ip);
  }
}
