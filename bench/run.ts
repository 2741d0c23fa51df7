// `npm run bench`: runs each benchmark in its own fresh node process, one after another, so figures
// are not skewed by each other's warm caches or load. Every benchmark talks only to loopback.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const benches: [string, string[]][] = [
  // The standard estate, naive strategy and bridge side by side; sizes from --size / BENCH_SIZES.
  ["scale/run.js", process.argv.slice(2)],
  ["ecs.js", ["1000"]],
  ["sd-serve.js", ["5000"]],
  ["sd-flood.js", ["10000"]],
  // Publication and /sd render steps on the event loop at 30,000 targets.
  ["publish.js", ["30000"]],
  ["status-page.js", ["10000"]],
  ["cloudmap.js", []],
  // ECS task state change events vs polling, 10,000 tasks in 5 clusters.
  ["events.js", ["10000"]],
  ["exporter-cost.js", []],
  ["stream.js", ["200"]],
  ["lambda.js", []],
  // Memory over many refreshes with churn, bridge heap capped at 128 MiB; CI size (full: soak.js 10000 1000).
  ["soak.js", ["1000", "20"]],
];

let failed = 0;
for (const [file, args] of benches) {
  process.stdout.write(`\n== ${file.replace(/\.js$/, "")} ==\n`);
  const r = spawnSync(process.execPath, [join(here, file), ...args], {
    stdio: "inherit",
    // Larger bench sizes take as long as the buckets make them.
    timeout: file.startsWith("scale/") ? undefined : 300_000,
  });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`(${file} failed: exit ${r.status ?? r.signal})\n`);
  }
}
process.exit(failed ? 1 : 0);
