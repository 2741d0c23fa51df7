// The figure the closing note states: AWS API calls per Cloud Map refresh for 50 services x 20
// instances, counted by the simulated AWS endpoint. A regression here (a lost cache, a per-instance call)
// multiplies AWS traffic, so the counts are exact.
import { describe, expect, it } from "vitest";
import { benchCloudMap } from "../../bench/cloudmap.js";

describe("Cloud Map API calls per refresh (50 services x 20 instances)", () => {
  it("cold: 152 calls; steady state: 50 DiscoverInstancesRevision; after the listing TTL: 152 again", async () => {
    const f = await benchCloudMap({ services: 50, instances: 20 });
    expect(f.cold.targets).toBe(1000);
    expect(f.cold.byOperation).toEqual({
      ListNamespaces: 1,
      ListServices: 1,
      ListTagsForResource: 50,
      DiscoverInstances: 50,
      DiscoverInstancesRevision: 50,
    });
    // Revisions unchanged: no DiscoverInstances, the same targets.
    expect(f.steady.byOperation).toEqual({ DiscoverInstancesRevision: 50 });
    expect(f.steady.targets).toBe(1000);
    expect(f.afterTtl.total).toBe(152);
  });
});
