// Issue 12 item 3's proof on a real IPVS kernel: keepalived's own sample configurations (Debian's
// keepalived package installs them under /usr/share/doc/keepalived/samples; the import side is
// test/unit/import/samples.test.ts), each imported alone with `lvsctl import` and rendered back to
// a keepalived.conf, program THE SAME IPVS TABLE as the original.
//
// How: one qemu guest (src/lab/qemu.ts). For every sample the import does not refuse, the original
// and the rendered import are uploaded, and one guest-side script runs keepalived's checker alone
// (`keepalived --check`, which programs IPVS from a config; VRRP is not run, so the samples'
// interfaces and VIPs need not exist) on each file in turn: flush, start, wait until
// `ipvsadm -Sn` has not changed for 1.5 s (or has stayed empty for 4 s: a sample without
// virtual_server), save `ipvsadm -Sn`, kill it. The saved tables are compared line by line,
// sorted.
//
// Health checks are taken out of BOTH files, the same way: the original loses every checker
// block inside its real_server blocks (TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK and the checkers
// lvsctl does not carry: SMTP_CHECK, UDP_CHECK, PING_CHECK, DNS_CHECK, BFD_CHECK, FILE_CHECK) by
// a brace-counting pass over its lines; the imported cluster loses every real server's check
// before it is rendered. A real server with no checker is up from the start in keepalived, so
// both tables hold every real server at its configured weight; with checks, the samples' made-up
// real servers (192.168.x, unreachable from the guest) would be removed or set to weight 0 at
// unpredictable moments, on both sides.
//
// A service the import reports as not carried over (a virtual_server_group service) is in the
// original's table only: its lines are set aside and listed, and the rest must match. A sample
// the import refuses cannot be compared and is listed with the reason. The printed table is
// README.md's "IPVS table on a real kernel" column.
//
// Needs root, qemu, and keepalived/ipvsadm in the guest image (the lab's image has them). Run it
// under flock on the qemu lock, as the other qemu tests. Nothing leaves the guest.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { importInventory } from "../../src/import/index.js";
import { parseInventory } from "../../src/inventory/index.js";
import type { Cluster } from "../../src/inventory/model.js";
import { canonicalIp } from "../../src/inventory/topology.js";
import { renderKeepalivedConf } from "../../src/render/index.js";
import { QemuLab, qemuPrerequisites } from "../../src/lab/index.js";

const SAMPLES = "/usr/share/doc/keepalived/samples";
const SKIP = qemuPrerequisites() ?? (existsSync(SAMPLES) ? undefined : `${SAMPLES} is absent (Debian's keepalived package installs it)`);
const G = "lb1";
const DIR = "/root/samples";

function note(s: string): void {
  console.log(`qemu-import-samples: ${s}`);
}

/** keepalived's checkers, as its check parser installs them (check_*.c install_keyword). */
const CHECKERS = ["TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "UDP_CHECK", "PING_CHECK", "DNS_CHECK", "BFD_CHECK", "FILE_CHECK"];

/**
 * The text without its checker blocks. keepalived reads `#` and `!` as the start of a comment and
 * braces as words of their own; the samples open a checker's block on its keyword's line.
 */
function stripCheckers(text: string): { text: string; removed: number } {
  const out: string[] = [];
  let depth = 0; // > 0: inside a checker block
  let removed = 0;
  for (const line of text.split("\n")) {
    const code = line.replace(/[#!].*$/, "");
    const opens = (code.match(/\{/g) ?? []).length;
    const closes = (code.match(/\}/g) ?? []).length;
    if (depth > 0) {
      depth += opens - closes;
      continue;
    }
    const word = code.trim().split(/\s+/)[0] ?? "";
    if (CHECKERS.includes(word)) {
      removed++;
      depth = opens - closes;
      if (opens === 0) throw new Error(`a checker without a block on its line: ${line}`);
      continue;
    }
    out.push(line);
  }
  return { text: out.join("\n"), removed };
}

/** The cluster with every health check taken out. */
function withoutChecks(c: Cluster): Cluster {
  const copy = structuredClone(c);
  for (const s of copy.services) for (const rs of s.realServers) delete rs.check;
  return copy;
}

const sorted = (out: string): string[] => out.split("\n").map((l) => l.trim()).filter((l) => l !== "").sort();

/** A service's key in `ipvsadm -Sn` (`-t 10.0.0.1:80`, `-u [fd00::1]:53`, `-f 1`), from a line of either kind. */
function serviceKey(line: string): string {
  const [, proto, addr] = line.split(/\s+/);
  return `${proto} ${addr}`;
}

/** The keys of the services the import carried, as ipvsadm -Sn writes them. */
function carriedKeys(c: Cluster): Set<string> {
  return new Set(
    c.services.map((s) => {
      if (s.fwmark !== undefined) return `-f ${s.fwmark}`;
      const ip = canonicalIp(s.vip!);
      return `${s.protocol === "UDP" ? "-u" : "-t"} ${ip.includes(":") ? `[${ip}]` : ip}:${s.port}`;
    }),
  );
}

/** One guest-side pass over every DIR/<side>/*.conf: the table keepalived's checker programs from it. */
const RUN_ALL = `#!/bin/bash
set -u
modprobe ip_vs
for f in ${DIR}/*/*.conf; do
  ipvsadm -C
  rm -f /run/ka.pid /run/ka-check.pid
  keepalived --check --dont-fork --log-console -f "$f" -p /run/ka.pid -c /run/ka-check.pid >"\${f%.conf}.log" 2>&1 </dev/null &
  main=$!
  prev=""; same=0; t=0
  while [ $t -lt 60 ]; do
    sleep 0.5; t=$((t+1))
    cur=$(ipvsadm -Sn)
    if [ -n "$cur" ] && [ "$cur" = "$prev" ]; then same=$((same+1)); [ $same -ge 3 ] && break; else same=0; fi
    if [ -z "$cur" ] && [ $t -ge 8 ]; then break; fi
    prev=$cur
  done
  ipvsadm -Sn >"\${f%.conf}.ipvs"
  echo "$t" >"\${f%.conf}.polls"
  kill -KILL $main $(cat /run/ka-check.pid 2>/dev/null) 2>/dev/null
  wait $main 2>/dev/null
done
ipvsadm -C
`;

interface Sample {
  name: string;
  status: "full" | "partial" | "refused";
  why: string[];
  original?: string;
  rendered?: string;
  carried?: Set<string>;
  checkersRemoved?: number;
}

describe("qemu guest: keepalived's samples and their imports program the same IPVS table", { skip: SKIP ?? false }, () => {
  let lab: QemuLab;
  const samples: Sample[] = [];

  before(
    async () => {
      for (const name of readdirSync(SAMPLES).filter((f) => f.startsWith("keepalived.conf.")).sort()) {
        const text = readFileSync(join(SAMPLES, name), "utf8");
        const r = importInventory([{ file: name, text }]);
        const short = name.replace(/^keepalived\.conf\./, "");
        if (r.status === "refused") {
          samples.push({ name: short, status: r.status, why: r.why });
          continue;
        }
        const inv = parseInventory(r.yaml, "imported.yml", { env: { ...r.secrets } });
        assert.ok(inv.ok, `${name}: the import validates`);
        const cluster = withoutChecks(inv.cluster);
        assert.equal(cluster.directors.length, 1, `${name}: one file, one director`);
        const director = cluster.directors[0]!.host.name;
        const stripped = stripCheckers(text);
        samples.push({
          name: short,
          status: r.status,
          why: [],
          original: stripped.text,
          checkersRemoved: stripped.removed,
          rendered: renderKeepalivedConf(cluster, director, { resolveSecret: (ref) => (typeof ref === "string" ? ref : "env" in ref ? (r.secrets[ref.env] ?? "unset") : "unset") }),
          carried: carriedKeys(cluster),
        });
      }
      lab = await QemuLab.up({ guests: [G], log: note });
    },
    { timeout: 12 * 60_000 },
  );
  after(async () => {
    await lab?.down();
  });

  test("every sample the import does not refuse: the same ipvsadm -Sn as the original, checks taken out of both", { timeout: 15 * 60_000 }, async () => {
    const compared = samples.filter((s) => s.original !== undefined);
    assert.ok(compared.length >= 20, `samples to compare: ${compared.map((s) => s.name).join(", ")}`);
    await lab.execOk(G, `rm -rf ${DIR} && mkdir -p ${DIR}/orig ${DIR}/ours`);
    for (const s of compared) {
      await lab.put(G, `${DIR}/orig/${s.name}.conf`, s.original!);
      await lab.put(G, `${DIR}/ours/${s.name}.conf`, s.rendered!);
    }
    await lab.put(G, "/root/run-all.sh", RUN_ALL, 0o755);
    const t0 = Date.now();
    await lab.execOk(G, "/root/run-all.sh", { timeoutMs: 14 * 60_000 });
    note(`${compared.length * 2} keepalived runs in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const dump = await lab.execOk(G, `for f in ${DIR}/*/*.ipvs; do echo "=== $f"; cat "$f"; done`);
    const tables = new Map<string, string>();
    let cur = "";
    for (const line of dump.split("\n")) {
      const m = /^=== (.*)$/.exec(line);
      if (m) {
        cur = m[1]!;
        tables.set(cur, "");
      } else if (cur) tables.set(cur, tables.get(cur)! + line + "\n");
    }

    const rows: string[] = [];
    const failures: string[] = [];
    for (const s of samples) {
      if (s.original === undefined) {
        rows.push(`${s.name}: not compared: the import refuses it (${s.why.join("; ")})`);
        continue;
      }
      const orig = sorted(tables.get(`${DIR}/orig/${s.name}.ipvs`) ?? "");
      const ours = sorted(tables.get(`${DIR}/ours/${s.name}.ipvs`) ?? "");
      const leftOut = orig.filter((l) => !s.carried!.has(serviceKey(l)));
      const kept = orig.filter((l) => s.carried!.has(serviceKey(l)));
      const same = JSON.stringify(kept) === JSON.stringify(ours);
      const services = kept.filter((l) => l.startsWith("-A")).length;
      const aside = `${leftOut.length} line(s) of services the import leaves out (${[...new Set(leftOut.map(serviceKey))].join(", ")})`;
      let row: string;
      if (kept.length === 0 && ours.length === 0 && leftOut.length > 0) row = `${s.name}: not compared: every service of the sample is one the import leaves out: ${aside}`;
      else if (kept.length === 0 && ours.length === 0) row = `${s.name}: same: both tables empty (no virtual_server)`;
      else {
        row = `${s.name}: ${same ? "same" : "DIFFERS"}: ${kept.length} lines (${services} service(s), ${kept.length - services} real server(s))`;
        if (leftOut.length > 0) row += `; ${aside} set aside`;
      }
      if (s.checkersRemoved) row += `; ${s.checkersRemoved} checker block(s) taken out of the original`;
      rows.push(row);
      if (!same) {
        const logs = await lab.exec(G, `tail -5 ${DIR}/orig/${s.name}.log ${DIR}/ours/${s.name}.log`);
        failures.push(`${s.name}:\n  original: ${kept.join("\n            ")}\n  import:   ${ours.join("\n            ")}\n${logs.stdout}`);
      }
    }
    note(`\n${rows.join("\n")}`);
    assert.deepEqual(failures, [], failures.join("\n"));
  });
});
