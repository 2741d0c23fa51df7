import { describe, expect, it } from "vitest";
import { containerEndpoints, type OptInOptions } from "../../sd/ecs/targets.js";

const opts = (labelPrefix: string): OptInOptions => ({ optIn: ["labels"], labelPrefix, portName: "metrics" });

describe("containerEndpoints numbered ports", () => {
  it("matches each prefix's own numbered labels, also after another prefix was used", () => {
    const container = {
      name: "app",
      dockerLabels: { "A.PORT_1": "9100", B_PORT_2: "9200", AxPORT_3: "9300", "A.PORT_x": "9400" },
    };
    // The prefix's dot is literal: AxPORT_3 is not A.'s, nor is the non-numeric A.PORT_x.
    expect(containerEndpoints(container, opts("A."), []).map((e) => e.containerPort)).toEqual([9100]);
    expect(containerEndpoints(container, opts("B_"), []).map((e) => e.containerPort)).toEqual([9200]);
    expect(containerEndpoints(container, opts("A."), []).map((e) => e.containerPort)).toEqual([9100]);
  });
});
