// Run: node --import tsx --test bench/deploy/cluster-table.test.ts
import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterCost, formatClusterTable } from "./cluster-table.js";

test("the whole cluster's no-change median next to the real servers' alone", () => {
  const rs = { name: "real servers only (bootstrap)", hosts: 10, firstMs: 1360, noChangeMs: [850, 910, 700] };
  const cl = { name: "whole cluster (deploy)", hosts: 12, firstMs: 95_000, noChangeMs: [6000, 5000] };
  assert.deepEqual(clusterCost(rs, cl), { noChangeMedianMs: { realServersOnly: 850, cluster: 5500 }, extraMs: 4650, ratio: 6.47 });
  assert.equal(
    formatClusterTable([rs, cl]),
    [
      "case                           hosts  first run s  no-change s (each run)",
      "real servers only (bootstrap)  10     1.36         0.85 / 0.91 / 0.70",
      "whole cluster (deploy)         12     95.00        6.00 / 5.00",
    ].join("\n"),
  );
});
