// One strategy in its own process, so its peak RSS, CPU and event-loop delay are its own. The parent
// (which runs the simulated AWS) sends commands over IPC: {cmd: "refresh"}, {cmd: "serve"} and
// {cmd: "begin"} (measure from now: the parent changes the estate and events arrive); each answer carries
// wall time, CPU time and the event loop's delay since the command.
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Server } from "node:http";
// bench/bridge.ts loads the bridge only when benchBridge is called: the naive process never loads it.
import { benchBridge, benchEventDiscovery, SIM_CREDENTIALS, simClientOptions } from "../bridge.js";
import { ESTATE, clusterName } from "./estate.js";
import { NaiveStrategy } from "./naive.js";
import { WireClient } from "./wire.js";
import { redescribeSlice } from "../../sd/ecs/cluster.js";

/**
 * "events" is the bridge in events mode (ecs.events, the queue's URL as a third argument); "wire" is not a
 * strategy but the floor of a steady refresh's calls (wire.ts), measured the same way.
 */
export type Strategy = "bridge" | "naive" | "events" | "wire";
export type ChildCommand =
  /** `reconcile`: events mode only, the refresh is the full walk (its clock is moved one interval on). */
  | { cmd: "refresh"; reconcile?: boolean }
  | { cmd: "serve" }
  | { cmd: "begin" }
  | { cmd: "done" }
  | { cmd: "exit" };
export interface ChildFigures {
  ms: number;
  cpuMs: number;
  loopP99Ms: number;
  loopMaxMs: number;
  targets: number;
  rssMiB: number;
  peakRssMiB: number;
  heapMiB: number;
  url?: string;
}

/** The third argument: events mode's queue URL, or the wire floor's share (`every/slice`, see wireRunner). */
const [strategy, simUrl, arg] = process.argv.slice(2) as [Strategy, string, string?];
const clientOptions = simClientOptions(simUrl);
const clusters = Array.from({ length: ESTATE.clusters }, (_, i) => clusterName(i));

interface Runner {
  refresh(reconcile?: boolean): Promise<void>;
  targets(): number;
  serve(): Promise<string>;
  close(): Promise<void>;
}

async function bridgeRunner(): Promise<Runner> {
  const bridge = await benchBridge(simUrl, clusters);
  return {
    refresh: () => bridge.discovery.refreshOnce(),
    targets: () => bridge.discovery.snapshot().targets.length,
    serve: async () => `${bridge.url}/sd`,
    close: () => bridge.close(),
  };
}

async function eventsRunner(): Promise<Runner> {
  if (!arg) throw new Error("the events strategy needs the queue's URL");
  const events = await benchEventDiscovery(simUrl, clusters, arg);
  return {
    refresh: (reconcile) => {
      if (reconcile) events.reconcileNext();
      return events.discovery.refreshOnce();
    },
    targets: () => events.discovery.snapshot().targets.length,
    serve: () =>
      Promise.reject(new Error("events mode serves /sd as polling does: measured with the bridge")),
    close: () => events.close(),
  };
}

async function naiveRunner(): Promise<Runner> {
  const naive = new NaiveStrategy(clusters, clientOptions, 4);
  let server: Server | undefined;
  return {
    refresh: () => naive.refresh(),
    targets: () => naive.targets.length,
    serve: async () => {
      const s = await naive.serve();
      server = s.server;
      return s.url;
    },
    close: async () => {
      server?.closeAllConnections();
      server?.close();
    },
  };
}

/** Describes the known tasks the bridge's walk number `slice` does: those in its share (sd/ecs/cluster.ts). */
function wireRunner(): Runner {
  const client = new WireClient(simUrl, SIM_CREDENTIALS);
  const [every, slice] = (arg ?? "1/0").split("/").map(Number) as [number, number];
  const due = (arn: string) => redescribeSlice(arn, every) === slice;
  let tasks = 0;
  return {
    refresh: async () => {
      const counts = await Promise.all(clusters.map((c) => client.cluster(c, due)));
      tasks = counts.reduce((a, b) => a + b, 0);
    },
    targets: () => tasks,
    serve: () => Promise.reject(new Error("the wire floor serves nothing")),
    close: async () => client.close(),
  };
}

const runners: Record<Strategy, () => Runner | Promise<Runner>> = {
  bridge: bridgeRunner,
  naive: naiveRunner,
  events: eventsRunner,
  wire: wireRunner,
};
const runner = await runners[strategy]();
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const mib = (bytes: number) => bytes / 1024 / 1024;
let phase = { t0: 0, cpu: process.cpuUsage() };

function begin(): void {
  loop.reset();
  phase = { t0: performance.now(), cpu: process.cpuUsage() };
}

function figures(extra: Partial<ChildFigures> = {}): ChildFigures {
  const cpu = process.cpuUsage(phase.cpu);
  return {
    ms: performance.now() - phase.t0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
    targets: runner.targets(),
    rssMiB: mib(process.memoryUsage.rss()),
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    heapMiB: mib(process.memoryUsage().heapUsed),
    ...extra,
  };
}

process.on("message", (msg: ChildCommand) => {
  void (async () => {
    if (msg.cmd === "refresh") {
      begin();
      await runner.refresh(msg.reconcile);
      process.send!(figures());
    } else if (msg.cmd === "begin") {
      begin();
      process.send!(figures());
    } else if (msg.cmd === "serve") {
      const url = await runner.serve();
      begin(); // the parent loads /sd now; "done" reports the loop delay while it did
      process.send!(figures({ url }));
    } else if (msg.cmd === "done") {
      process.send!(figures());
    } else {
      await runner.close();
      process.exit(0);
    }
  })();
});
process.send!({ ready: true });
