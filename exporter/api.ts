// The exporter's CloudWatch API: the two calls it makes, each a whole walk over NextToken with the SDK's
// paginators. The only place the CloudWatch client is called; discovery and collection see pages only, so
// they count billed requests without knowing the SDK, and unit tests swap in one typed fake. Every page is
// checked for the list the API promises and bounded in time, so a malformed or hung reply fails the scope's
// collection (last values kept, the error counted) instead of passing for "no data" or freezing it.
import type {
  CloudWatchClient,
  GetMetricDataInput,
  GetMetricDataOutput,
  ListMetricsInput,
  ListMetricsOutput,
} from "@aws-sdk/client-cloudwatch";
import { MalformedResponse } from "../core/aws.js";
import type { AccountConfig } from "../core/options.js";

/** A walk over NextToken never ends if a server keeps returning tokens; stop at a number no real account hits. */
export const MAX_PAGES = 1000;

/** Bound on one CloudWatch request (one page), in seconds: a reply that never comes fails the collection. */
export const CALL_TIMEOUT_SECONDS = 30;

/** A CloudWatch reply without the list the API promises (missing or null): a failure, never "no data". */
/** One CloudWatch request that got no complete reply within its bound. */
export class CallTimeout extends Error {
  constructor(operation: string, timeoutMs: number) {
    super(`${operation}: no complete reply within ${timeoutMs / 1000} s`);
    // The name AWS SDK clients give their own timeouts, so the error counter's code label reads the same.
    this.name = "TimeoutError";
  }
}

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
  clients: { cloudwatch(): Promise<CloudWatchClient> };
}

export interface CloudWatchApiOptions {
  /** Bound on each request; default CALL_TIMEOUT_SECONDS * 1000. */
  callTimeoutMs?: number;
}

/** Options the paginator hands to client.send for every page; walk() gives each page a fresh signal. */
interface SendOptions {
  abortSignal: AbortSignal;
}

type Paginate<I, O> = (
  config: { client: CloudWatchClient; stopOnSameToken: boolean },
  input: I,
  options: SendOptions,
) => AsyncIterable<O>;

/**
 * Feeds every page to onPage after checking it carries its `list`; throws past MAX_PAGES. The paginator stops
 * on a repeated token by itself.
 */
async function walk<I extends object, O extends object>(
  client: CloudWatchClient,
  timeoutMs: number,
  operation: string,
  list: keyof O & string,
  paginate: Paginate<I, O>,
  input: I,
  onPage: (page: O) => void,
): Promise<void> {
  // The paginator passes this same object to every request: renewing the signal before each one bounds every
  // page, not the walk (a long walk of quick pages is fine, one hung page is not).
  const options: SendOptions = { abortSignal: AbortSignal.timeout(timeoutMs) };
  let count = 0;
  try {
    // The paginators write NextToken into the input they are given: hand them a copy, never the caller's object.
    for await (const page of paginate({ client, stopOnSameToken: true }, { ...input }, options)) {
      if (++count > MAX_PAGES)
        throw new Error(`${operation} returned more than ${MAX_PAGES} pages; giving up`);
      // `[]` is a real "nothing"; a missing or null list is a reply that does not match the API.
      if (!Array.isArray(page[list])) throw new MalformedResponse(operation, list);
      onPage(page);
      options.abortSignal = AbortSignal.timeout(timeoutMs);
    }
  } catch (err) {
    if (options.abortSignal.aborted) throw new CallTimeout(operation, timeoutMs);
    throw err;
  }
}

/** The client and its SDK module are loaded on the first call (see AwsClients in core/aws.ts). */
export function cloudWatchApi(
  getClient: () => Promise<CloudWatchClient>,
  opts: CloudWatchApiOptions = {},
): CloudWatchApi {
  const timeoutMs = opts.callTimeoutMs ?? CALL_TIMEOUT_SECONDS * 1000;
  const sdk = () => import("@aws-sdk/client-cloudwatch");
  return {
    listMetrics: async (input, onPage) => {
      const { paginateListMetrics } = await sdk();
      await walk(await getClient(), timeoutMs, "ListMetrics", "Metrics", paginateListMetrics, input, onPage);
    },
    getMetricData: async (input, onPage) => {
      const { paginateGetMetricData } = await sdk();
      const client = await getClient();
      await walk(
        client,
        timeoutMs,
        "GetMetricData",
        "MetricDataResults",
        paginateGetMetricData,
        input,
        onPage,
      );
    },
  };
}
