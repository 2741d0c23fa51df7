import nock from "nock";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../cmd/config.js";
import { silentLogger } from "../../core/log.js";
import { startBridge } from "../../core/main.js";
import { parseDefaultPorts } from "../../sd/cloudmap/options.js";
import { ENDPOINT } from "../helpers/aws-nock.js";
import { testConfig } from "../helpers/config.js";
import { mockCloudMap } from "./cloudmap-fake.js";

beforeAll(() => {
  nock.disableNetConnect();
  // The bridge under test listens on loopback; AWS calls still go to the nock endpoint only.
  nock.enableNetConnect((host) => host.startsWith("127.0.0.1:") && host !== "127.0.0.1:1");
});
afterEach(() => nock.cleanAll());

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

describe("startBridge with cloudmap.enabled", () => {
  it("serves Cloud Map targets on /sd, filterable by source and namespace", async () => {
    mockCloudMap({
      namespaces: [{ id: "ns-1", name: "apps.local", type: "DNS_PRIVATE" }],
      services: [{ id: "srv-1", name: "api", namespaceId: "ns-1" }],
      instances: [
        {
          id: "i-1",
          serviceId: "srv-1",
          attributes: { AWS_INSTANCE_IPV4: "192.0.2.7", AWS_INSTANCE_PORT: "9100" },
        },
      ],
    });
    const config = testConfig({
      BRIDGE_ECS_ENABLED: "false",
      BRIDGE_CLOUDMAP_ENABLED: "true",
      BRIDGE_LISTEN_HOST: "127.0.0.1",
      BRIDGE_LISTEN_PORT: "0",
    });
    const bridge = await startBridge({
      config,
      logger: silentLogger,
      defaultMetrics: false,
      schedule: false,
      clientOptions: {
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        env: { AWS_ENDPOINT_URL: ENDPOINT },
      },
    });
    try {
      await bridge.discovery.refreshOnce();
      const res = await fetch(`${bridge.url}/sd?source=cloudmap&namespace=apps.local`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { targets: string[]; labels: Record<string, string> }[];
      expect(body).toHaveLength(1);
      expect(body[0]!.targets).toEqual(["192.0.2.7:9100"]);
      expect(body[0]!.labels.__meta_cloudmap_service_name).toBe("api");
      const other = await fetch(`${bridge.url}/sd?namespace=elsewhere`);
      expect(await other.json()).toEqual([]);
    } finally {
      await bridge.close();
    }
  });
});
