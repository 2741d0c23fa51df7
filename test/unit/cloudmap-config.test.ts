import { describe, expect, it } from "vitest";
import { ConfigError } from "../../cmd/config.js";
import { parseDefaultPorts } from "../../sd/cloudmap/options.js";
import { testConfig } from "../helpers/config.js";

describe("cloudmap.defaultPorts", () => {
  it("parses namespace and namespace/service keys", () => {
    expect([...parseDefaultPorts(["apps.local=9100", "apps.local/api=9200", " ns-123/web = 80 "])]).toEqual([
      ["apps.local", 9100],
      ["apps.local/api", 9200],
      ["ns-123/web", 80],
    ]);
  });

  it.each(["apps.local", "=9100", "apps.local=0", "apps.local=70000", "a/b/c=80", "a/=80", "a=http"])(
    "rejects %j with a message naming the key",
    (entry) => {
      expect(() => parseDefaultPorts([entry])).toThrow(ConfigError);
      expect(() => parseDefaultPorts([entry])).toThrow(/cloudmap\.defaultPorts/);
    },
  );

  it("is read from the environment like every option", () => {
    expect(testConfig({ BRIDGE_CLOUDMAP_DEFAULT_PORTS: "a=1,b/c=2" }).cloudmap.defaultPorts).toEqual([
      "a=1",
      "b/c=2",
    ]);
  });
});
