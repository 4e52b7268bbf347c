// lvsd's GET /status for a fixture cluster, built by lvsd's own code (its rendered config, parsed
// as lvsd parses it, its policy's wanted table and its status builder), so the shape is the one
// lvsd serves. Used by the status tests and the lvsd roll's gate tests.
import type { Cluster } from "../../../src/inventory/model.js";
import { parseLvsdConfig } from "../../../src/daemon/config.js";
import { realServerId } from "../../../src/daemon/core/health.js";
import type { RealServerHealthStatus } from "../../../src/daemon/core/health.js";
import { wantedTable } from "../../../src/daemon/ipvs/policy.js";
import type { DumpEntry } from "../../../src/daemon/ipvs/client.js";
import { ipvsServiceStatus } from "../../../src/daemon/status/ipvs.js";
import type { StatusSnapshot } from "../../../src/daemon/status/types.js";
import { renderLvsdJson } from "../../../src/render/lvsd.js";

export interface LvsdSnapshotOptions {
  /** Real servers failing their check. */
  down?: string[];
  /** Edits the kernel's table (as lvsd dumped it). */
  kernel?: (d: DumpEntry[]) => DumpEntry[];
}

/** lvsd's snapshot on `director`: `down` real servers failing their check, the kernel as lvsd wants it unless `kernel` edits it. */
/** lvsd's snapshot on `director`: `down` real servers failing their check, the kernel as lvsd wants it unless `kernel` edits it. */
export function lvsdSnapshot(cluster: Cluster, director: string, state: "MASTER" | "BACKUP", opts: LvsdSnapshotOptions = {}): StatusSnapshot {
  const config = parseLvsdConfig(renderLvsdJson(cluster, director, { resolveSecret: () => "s3cretpw" }));
  const health: Record<string, RealServerHealthStatus> = {};
  for (const s of config.services) {
    for (const r of s.realServers) {
      const down = opts.down?.includes(r.address) ?? false;
      health[realServerId(s, r)] = down ? { up: false, lastResult: "failure", reason: "HTTP 503 on /health" } : { up: true, lastResult: "success" };
    }
  }
  const wanted = wantedTable(config.services, (id) => health[id] ?? { up: true });
  let dump: DumpEntry[] = wanted.table.map((e) => ({
    service: { key: e.service.key, scheduler: e.service.scheduler, flags: e.service.flags, kernelFlags: e.service.flags, timeout: e.service.timeout, netmask: e.service.netmask },
    dests: e.dests.map((d) => ({ address: d.address, port: d.port, fwd: d.fwd, weight: d.weight, uThresh: d.uThresh, lThresh: d.lThresh, activeConns: 2, inactConns: 7, persistConns: 0 })),
  }));
  if (opts.kernel) dump = opts.kernel(dump);
  const inst = config.instances[0]!;
  return {
    routerId: director,
    pid: 4242,
    startedAt: "2026-12-03T09:00:00.000Z",
    uptimeSec: 3600,
    instances: [
      {
        name: inst.name,
        vrid: inst.vrid,
        interface: inst.interface,
        version: 2,
        state,
        priority: inst.priority,
        advertIntervalMs: 1000,
        masterAddress: "10.77.0.11",
        primaryIp: director === "ds1" ? "10.77.0.11" : "10.77.0.12",
        transitions: 1,
        lastTransition: null,
        advertsSent: 10,
        advertsReceived: 0,
        rejected: {},
        vips: ["10.77.0.100", "10.77.1.1"],
        vipsRestored: 0,
        lowerPriorityAdverts: 0,
        syncGroup: null,
      },
    ],
    syncGroups: [],
    rejected: {},
    ipvs: {
      available: true,
      error: null,
      lastPass: null,
      passes: 1,
      writes: 3,
      writeErrors: 0,
      repairs: 0,
      dumpErrors: 0,
      syncDaemon: null,
      services: ipvsServiceStatus(config.services, wanted.services, wanted.table, dump, health),
    },
  };
}
