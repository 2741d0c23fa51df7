// The in-process API of the simulated AWS endpoint: how to start it, and what a test, the bench or the demo
// can do with it (call counters, fault switches, and each account's mutations and views).
import type { SimAccount } from "./account.js";
import type { CallRecord, FaultRule, LatencyRule, ThrottleRule } from "./faults.js";
import type { SimService } from "./protocol.js";
import type { Scenario } from "./types.js";

export interface SimAwsOptions {
  /** A scenario object, or the path of a YAML/JSON scenario file. Default: an empty account. */
  scenario?: Scenario | string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Clock in epoch milliseconds (CloudWatch windows, token buckets, timestamps). Default Date.now. */
  now?: () => number;
  /** Seed of the PRNG behind rate-based faults and latency jitter. */
  seed?: number;
}

/** Errors a fault can force: a given AWS code and status, or the service's 5xx. */
export interface FaultOptions {
  status?: number;
  code?: string;
  message?: string;
  count?: number;
  rate?: number;
}

export interface SimFaultRule extends FaultRule {
  /** Answer with the service's own throttling error (ThrottlingException, RequestLimitExceeded, Throttling). */
  throttle?: boolean;
}

/** The simulated endpoint; the mutation methods act on the main (scenario top-level) account. */
export interface SimAws extends SimAccount {
  /** Endpoint for the SDK clients (`endpoint` or AWS_ENDPOINT_URL). */
  readonly url: string;
  close(): Promise<void>;
  /** The API of one account (the main one or one of scenario.accounts). */
  account(accountId: string): SimAccount;
  /** Account ids, main first. */
  accounts(): string[];

  // --- call counter ---
  /** Calls received for an operation ("DescribeTasks", or "ecs:ListServices" to pick a service); all when omitted. */
  calls(operation?: string): number;
  /** Counts keyed "service:Operation". */
  callCounts(): Record<string, number>;
  /** Recent calls with their parameters, account and outcome (newest last). */
  callLog(filter?: { service?: SimService; operation?: string; account?: string }): CallRecord[];
  resetCalls(): void;

  // --- fault switches ---
  /** Latency per call: a number applies to every call; rules match service/operation/cluster/namespace. null: off. */
  setLatency(latency: number | LatencyRule | LatencyRule[] | null): void;
  /** Token-bucket throttling (off by default); each rule is one bucket shared by the calls it matches. */
  setThrottling(rules: ThrottleRule | readonly ThrottleRule[] | null): void;
  /** Adds a forced failure; returns its id. Without code/throttle, status >= 500 answers the service's 5xx. */
  addFault(rule: SimFaultRule): string;
  removeFault(id: string): boolean;
  clearFaults(): void;
  /** Every call touching this ECS cluster (name or ARN) fails: 500 by default, or e.g. {status: 400, code: "AccessDeniedException"}. */
  failCluster(cluster: string, opts?: FaultOptions): string;
  /** Every call touching this Cloud Map namespace (name or id) fails. */
  failNamespace(namespace: string, opts?: FaultOptions): string;
  /** The next `count` matching calls answer the service's throttling error. */
  throttleNext(match: {
    service?: SimService;
    operation?: string | string[];
    account?: string;
    count: number;
  }): string;
  /** Forced 5xx for a service/operation, for the next `count` calls or at `rate`. */
  forceServerErrors(match: {
    service?: SimService;
    operation?: string | string[];
    account?: string;
    status?: number;
    count?: number;
    rate?: number;
  }): string;
}
