// The cost comparison docs/exporter.md quotes for both modes is what bench/stream.ts computes.
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { costTable } from "../../bench/stream.js";
import { firehoseRecordUsd } from "../../exporter/stream/cost.js";

const usd = (n: number) =>
  `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

it("docs/exporter.md gives the bench's monthly cost for 20 and 200 services in both modes", async () => {
  // Any update under 5 KB bills as one 5 KB Firehose record in the worst case the table assumes.
  const rows = await costTable(300);
  const doc = readFileSync("docs/exporter.md", "utf8");
  for (const r of rows) {
    const cells = [r.pollFiveMinutesUsd, r.pollOneMinuteUsd, r.stream.totalUsd, r.stream.firehoseUsd].map(
      usd,
    );
    expect(doc).toMatch(
      new RegExp(`\\| ${r.services} +\\| ${cells.map((c) => c.replace("$", "\\$")).join(" +\\| ")} +\\|`),
    );
  }
  // Stream: 28 series per service, one update a minute over 43,800 minutes, $0.003 per 1000 updates.
  expect(rows[0]!.stream.metricStreamUsd).toBeCloseTo(20 * 28 * 43_800 * 0.000003, 6);
  expect(rows[1]!.stream.totalUsd).toBeLessThan(rows[1]!.pollOneMinuteUsd);
  expect(firehoseRecordUsd(300)).toBe(firehoseRecordUsd(5 * 1024));
  expect(firehoseRecordUsd(5 * 1024 + 1)).toBe(2 * firehoseRecordUsd(1));
});
