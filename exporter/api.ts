// The two CloudWatch calls the exporter makes, behind a narrow interface so discovery and collection do not
// depend on the SDK client's command plumbing (and the cost benchmark can count calls in-process).
import {
  GetMetricDataCommand,
  ListMetricsCommand,
  type CloudWatchClient,
  type GetMetricDataInput,
  type GetMetricDataOutput,
  type ListMetricsInput,
  type ListMetricsOutput,
} from "@aws-sdk/client-cloudwatch";
import type { AccountConfig } from "../core/options.js";

export interface CloudWatchApi {
  listMetrics(input: ListMetricsInput): Promise<ListMetricsOutput>;
  getMetricData(input: GetMetricDataInput): Promise<GetMetricDataOutput>;
}

/** What the exporter needs of an AwsScope (core/scopes.ts): a key, a region, the account and a CloudWatch client. */
export interface ExporterScope {
  key: string;
  region: string;
  account?: AccountConfig;
  clients: { cloudwatch: CloudWatchClient };
}

export function cloudWatchApi(client: CloudWatchClient): CloudWatchApi {
  return {
    listMetrics: (input) => client.send(new ListMetricsCommand(input)),
    getMetricData: (input) => client.send(new GetMetricDataCommand(input)),
  };
}
