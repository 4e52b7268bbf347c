// Issue 10 item 1's inventory keywords through the whole chain: the inventory (SCTP, scheduler
// flags, ops, TUN's tunnel type/port/checksum, thresholds, an IPv6 persistence prefix) -> the
// keepalived.conf lines keepalived 2.2.7 reads (check_parser.c), accepted by `keepalived -t` when
// keepalived is installed here -> lvsd's config -> the IPVS table lvsd's policy wants (the bits
// and attributes the kernel is sent). The refusals are in rule-cases.ts (LVS416, LVS422, LVS434-437).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseLvsdConfig } from "../../../src/daemon/config.js";
import { wantedTable } from "../../../src/daemon/ipvs/index.js";
import { IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2 } from "../../../src/daemon/netlink/index.js";
import { unsupported } from "../../../src/daemon/runtime/config.js";
import type { Cluster } from "../../../src/inventory/model.js";
import { renderKeepalivedConf, renderLvsdJson } from "../../../src/render/index.js";
import { fakeSecret } from "../../fixtures/render/index.js";
import { IPVS_KEYWORDS_YAML as YAML } from "../../fixtures/render/ipvs-keywords.js";
import { parse } from "./helpers.js";
import { formatWarning, importInventory } from "../../../src/import/index.js";
import { parseInventory } from "../../../src/inventory/index.js";
import { renderConfs } from "../import/helpers.js";

const KEEPALIVED = "/usr/sbin/keepalived";
const MISSING_INTERFACE = /doesn't exist|Non-existent interface specified in configuration/;


function cluster(): Cluster {
  const r = parse(YAML);
  assert.ok(r.ok, r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), []);
  return r.cluster;
}

/** The virtual_server block for `head` ("10.77.0.100 3868"), its lines trimmed. */
function block(conf: string, head: string): string[] {
  const start = conf.indexOf(`virtual_server ${head} {`);
  assert.ok(start >= 0, `no virtual_server ${head} in:\n${conf}`);
  const out: string[] = [];
  for (const line of conf.slice(start).split("\n").slice(1)) {
    if (line.startsWith("}")) break;
    if (line.trim() !== "") out.push(line.trim());
  }
  return out;
}

function keepalivedComplaints(text: string): string[] | undefined {
  if (!existsSync(KEEPALIVED)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-ipvs-keywords-"));
  try {
    const file = join(dir, "keepalived.conf");
    writeFileSync(file, text, { mode: 0o600 });
    const r = spawnSync(KEEPALIVED, ["-t", "-f", file], { encoding: "utf8", timeout: 20_000 });
    return `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => l.trim() !== "" && !MISSING_INTERFACE.test(l));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("keepalived.conf: protocol SCTP, the scheduler flags and ops after lb_algo, lb_kind TUN with its tunnel words, an IPv6 prefix", () => {
  const conf = renderKeepalivedConf(cluster(), "ds1", { resolveSecret: fakeSecret, backend: "keepalived" });
  const sctp = block(conf, "10.77.0.100 3868");
  assert.deepEqual(sctp.slice(sctp.indexOf("lb_algo sh"), sctp.indexOf("lb_algo sh") + 6), ["lb_algo sh", "sh-port", "sh-fallback", "lb_kind DR", "protocol SCTP", "persistence_timeout 300"]);
  const udp = block(conf, "10.77.0.100 53");
  assert.deepEqual(udp.slice(udp.indexOf("lb_algo mh"), udp.indexOf("lb_algo mh") + 5), ["lb_algo mh", "mh-port", "flag-3", "ops", "lb_kind NAT"]);
  assert.ok(udp.includes("uthreshold 100") && udp.includes("lthreshold 10"));
  assert.ok(block(conf, "10.77.0.100 80").includes("lb_kind TUN type gue port 6080 remcsum"));
  assert.ok(block(conf, "10.77.0.100 81").includes("lb_kind TUN type gre csum"));
  // plain ipip is keepalived's default: written as before
  assert.ok(block(conf, "10.77.0.100 82").includes("lb_kind TUN"));
  assert.ok(block(conf, "fd00:77::100 443").includes("persistence_granularity 64"));
  const complaints = keepalivedComplaints(conf);
  if (complaints) assert.deepEqual(complaints, [], `keepalived -t on:\n${conf}`);
});

test("lvsd: the same settings in its config, accepted by --check, and the table its policy wants", () => {
  const cfg = parseLvsdConfig(renderLvsdJson(cluster(), "ds1", { resolveSecret: fakeSecret, backend: "lvsd" }));
  // lvsd's VRRP has no IPv6 yet (its own refusal); the services are all it takes
  assert.deepEqual(unsupported(cfg).filter((p) => !p.startsWith("instance VI_6: IPv6 VIP")), []);
  const [sctp, udp, gue, gre, ipip, v6] = cfg.services;
  assert.deepEqual([sctp!.protocol, sctp!.schedulerFlags, sctp!.persistenceNetmask], ["SCTP", ["sh-port", "sh-fallback"], "255.255.255.0"]);
  assert.deepEqual([udp!.schedulerFlags, udp!.onePacket, udp!.realServers[0]!.uthreshold, udp!.realServers[0]!.lthreshold], [["mh-port", "flag-3"], true, 100, 10]);
  assert.deepEqual(gue!.realServers.map((r) => r.tunnel), [{ type: "gue", port: 6080, checksum: "remcsum" }, { type: "gue", port: 6080, checksum: "remcsum" }]);
  assert.deepEqual(gue!.sorryServer, { address: "10.77.0.30", port: 80, tunnel: { type: "gue", port: 6080, checksum: "remcsum" } });
  assert.deepEqual(gre!.realServers[0]!.tunnel, { type: "gre", checksum: "csum" });
  assert.deepEqual(ipip!.realServers[0]!.tunnel, { type: "ipip" });
  assert.equal(v6!.persistenceNetmask, 64);

  const t = wantedTable(cfg.services, () => ({ up: true })).table;
  assert.deepEqual(t[0]!.service, { key: { protocol: 132, address: "10.77.0.100", port: 3868 }, scheduler: "sh", flags: IP_VS_SVC_F_PERSISTENT | IP_VS_SVC_F_SCHED1 | IP_VS_SVC_F_SCHED2, timeout: 300, netmask: 0xffffff00 });
  assert.equal(t[1]!.service.flags, IP_VS_SVC_F_ONEPACKET | IP_VS_SVC_F_SCHED2 | 0x20);
  assert.deepEqual([t[1]!.dests[0]!.uThresh, t[1]!.dests[0]!.lThresh], [100, 10]);
  assert.deepEqual(t[2]!.dests.map((d) => [d.fwd, d.tunType, d.tunPort, d.tunFlags]), [[2, 1, 6080, 2], [2, 1, 6080, 2]]);
  assert.deepEqual([t[3]!.dests[0]!.tunType, t[3]!.dests[0]!.tunPort, t[3]!.dests[0]!.tunFlags], [2, 0, 1]);
  assert.deepEqual([t[4]!.dests[0]!.tunType, t[4]!.dests[0]!.tunFlags], [0, 0]);
  assert.deepEqual([t[5]!.service.key, t[5]!.service.netmask], [{ protocol: 6, address: "fd00:77::100", port: 443 }, 64]);
});

test("lvsctl import reads them back from the rendered keepalived.conf: the same file again, and a keepalived file's own spellings", () => {
  const original = renderConfs(cluster(), {});
  const imported = importInventory([...original].map(([name, text]) => ({ file: `${name}/keepalived.conf`, text })));
  assert.notEqual(imported.status, "refused", imported.why.join("\n"));
  assert.deepEqual(imported.warnings, [], "rendered files import without warnings");
  const again = parseInventory(imported.yaml, "imported.yml", { env: { ...imported.secrets } });
  assert.ok(again.ok, JSON.stringify(again.diagnostics));
  const rendered = renderConfs(again.cluster, imported.secrets);
  for (const [name, text] of original) assert.equal(rendered.get(name), text, `director ${name}: keepalived.conf differs after the round trip\n${imported.yaml}`);

  // lvs_method with the same words, lvs_sched, a lower-case protocol, a flag of another scheduler
  const hand = `virtual_server 10.0.0.1 80 {
  lvs_sched rr
  sh-port
  lvs_method TUN type gre csum
  protocol sctp
  real_server 10.0.0.21 80 {
    weight 1
  }
}
`;
  const r = importInventory([{ file: "lb1/keepalived.conf", text: hand }]);
  assert.match(r.yaml, /protocol: SCTP/);
  assert.match(r.yaml, /tunnel:\s*\n?\s*(\{ )?type: gre/);
  assert.doesNotMatch(r.yaml, /sched_flags/);
  assert.ok(r.warnings.some((w) => /sh-port.*applies to the sh scheduler only/.test(formatWarning(w))), r.warnings.map(formatWarning).join("\n"));
});
