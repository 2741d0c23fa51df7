// The stream-mode CloudFormation template: the same offline checks as the other templates (resource
// specification, references), the metric stream filter naming exactly the exporter's Service Connect
// metrics, and the Firehose stream delivering gzip to the bridge's route over HTTPS with S3 backup.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { checkTemplate, type CfnSpec } from "../../deploy/check/cfn-spec.js";
import { parseCloudFormation } from "../../deploy/check/cfn-yaml.js";
import { METRICS, NAMESPACE } from "../../exporter/catalog.js";
import { testConfig } from "../helpers/config.js";

const require = createRequire(import.meta.url);
const spec = require("@aws-cdk/cfnspec/spec/specification.json") as CfnSpec;

type Obj = Record<string, unknown>;
type Resource = { Type: string; Properties: Obj };
const template = parseCloudFormation(readFileSync("deploy/cloudformation-metric-stream.yaml", "utf8"));
const resources = template.Resources as Record<string, Resource>;
const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);

describe("deploy/cloudformation-metric-stream.yaml", () => {
  it("fits the CloudFormation resource specification, with every reference defined", () => {
    // The bundled specification (117.0.0) predates MetricStreamFilter.MetricNames (added to CloudFormation
    // in 2023); that one property is the only difference allowed.
    const problems = checkTemplate(template, spec);
    expect(problems.filter((p) => !/IncludeFilters\[0\]\.MetricNames/.test(p))).toEqual([]);
    expect(problems.length).toBeLessThanOrEqual(1);
  });

  it("streams namespace AWS/ECS, exactly the Service Connect metrics the exporter knows, as JSON", () => {
    const [stream] = ofType("AWS::CloudWatch::MetricStream");
    expect(stream!.Properties.OutputFormat).toBe("json");
    const filters = stream!.Properties.IncludeFilters as { Namespace: string; MetricNames: string[] }[];
    expect(filters).toHaveLength(1);
    expect(filters[0]!.Namespace).toBe(NAMESPACE);
    expect([...filters[0]!.MetricNames].sort()).toEqual(METRICS.map((m) => m.name).sort());
  });

  it("delivers gzip over HTTPS to the bridge's default route, failed data to S3, only that route exposed", () => {
    const [firehose] = ofType("AWS::KinesisFirehose::DeliveryStream");
    const dest = firehose!.Properties.HttpEndpointDestinationConfiguration as Obj;
    expect(dest).toMatchObject({
      RequestConfiguration: { ContentEncoding: "GZIP" },
      S3BackupMode: "FailedDataOnly",
      EndpointConfiguration: { Url: { "Fn::Sub": "https://${EndpointHostName}${StreamPath}" } },
    });
    const params = template.Parameters as Record<string, Obj>;
    expect(params.StreamPath!.Default).toBe(testConfig().exporter.stream.path);
    expect(params.AccessKey).toMatchObject({ NoEcho: true, MinLength: 16 });
    const [listener] = ofType("AWS::ElasticLoadBalancingV2::Listener");
    expect(listener!.Properties).toMatchObject({ Port: 443, Protocol: "HTTPS" });
    expect((listener!.Properties.DefaultActions as Obj[])[0]!.Type).toBe("fixed-response");
  });
});
