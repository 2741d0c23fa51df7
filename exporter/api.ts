// The exporter's CloudWatch API: the two calls it makes, each a whole walk over NextToken with the SDK's
// paginators. The only place the CloudWatch client is called; discovery and collection see pages only, so
// they count billed requests without knowing the SDK, and unit tests swap in one typed fake.
import {
  paginateGetMetricData,
  paginateListMetrics,
  type CloudWatchClient,
  type GetMetricDataInput,
  type GetMetricDataOutput,
  type ListMetricsInput,
  type ListMetricsOutput,
} from "@aws-sdk/client-cloudwatch";
import type { AccountConfig } from "../core/options.js";

/** A walk over NextToken never ends if a server keeps returning tokens; stop at a number no real account hits. */
export const MAX_PAGES = 1000;

// A type alias, not an interface: limited() maps over the methods and needs the implicit index signature.
export type CloudWatchApi = {
  /** ListMetrics, every page followed; onPage sees each page (one billed request) as it arrives. */
  listMetrics(input: ListMetricsInput, onPage: (page: ListMetricsOutput) => void): Promise<void>;
  /** GetMetricData, every page followed; onPage sees each page (each bills every query again). */
  getMetricData(input: GetMetricDataInput, onPage: (page: GetMetricDataOutput) => void): Promise<void>;
};

/** What the exporter needs of an AwsScope (core/scopes.ts): a key, a region, the account and a CloudWatch client. */
export interface ExporterScope {
  key: string;
  region: string;
  account?: AccountConfig;
  clients: { cloudwatch: CloudWatchClient };
}

/** Feeds every page to onPage; throws past MAX_PAGES. The paginator stops on a repeated token by itself. */
async function walk<T>(operation: string, pages: AsyncIterable<T>, onPage: (page: T) => void): Promise<void> {
  let count = 0;
  for await (const page of pages) {
    if (++count > MAX_PAGES) throw new Error(`${operation} returned more than ${MAX_PAGES} pages; giving up`);
    onPage(page);
  }
}

export function cloudWatchApi(client: CloudWatchClient): CloudWatchApi {
  const config = { client, stopOnSameToken: true };
  // The paginators write NextToken into the input they are given: hand them a copy, never the caller's object.
  return {
    listMetrics: (input, onPage) => walk("ListMetrics", paginateListMetrics(config, { ...input }), onPage),
    getMetricData: (input, onPage) =>
      walk("GetMetricData", paginateGetMetricData(config, { ...input }), onPage),
  };
}
