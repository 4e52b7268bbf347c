// Numbers that reach timers are bounded at validate, with a location: 1e10 seconds would
// overflow Node's setTimeout (it fires at once past 2^31-1 ms) and keepalived's own timers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BASE, lines, VI } from "./helpers.js";

const SVC = (extra: string, check = "") => `${BASE}${VI}virtual_servers:\n  - { vip: 10.77.0.100, port: 80, ${extra}real_servers: [{ host: rs1 }, { host: rs2 }]${check} }\n`;

test("every timeout, interval and delay has an upper bound, reported where it is written", () => {
  const cases: [string, RegExp][] = [
    [BASE.replace("ds1: { address: 10.77.0.11 }", "ds1: { address: 10.77.0.11, connect_timeout: 1e10 }"), /^inv\.yml:2:\d+: error LVS104: hosts\.ds1\.connect_timeout: must be at most 86400 \(got 10000000000\)$/],
    [`defaults: { connect_timeout: 1e10 }\n${BASE}`, /^inv\.yml:1:\d+: error LVS104: defaults\.connect_timeout: must be at most 86400/],
    [SVC("", ", check: { type: TCP_CHECK, connect_timeout: 1e10 }"), /error LVS104: virtual_servers\[0\]\.check\.connect_timeout: must be at most 86400/],
    [SVC("", ", check: { type: TCP_CHECK, delay_before_retry: 1e10 }"), /error LVS104: virtual_servers\[0\]\.check\.delay_before_retry: must be at most 86400/],
    [SVC("", ", check: { type: MISC_CHECK, misc_path: /bin/true, misc_timeout: 1e10 }"), /error LVS104: virtual_servers\[0\]\.check\.misc_timeout: must be at most 86400/],
    [SVC("delay_loop: 1e10, "), /error LVS104: virtual_servers\[0\]\.delay_loop: must be at most 86400/],
    [SVC("persistence_timeout: 1e10, "), /error LVS104: virtual_servers\[0\]\.persistence_timeout: must be at most 2678400/],
    [BASE + VI.replace("interface: eth0", "interface: eth0\n    advert_int: 1e10"), /error LVS104: vrrp_instances\[0\]\.advert_int: must be at most 255/],
    [BASE + VI.replace("interface: eth0", "interface: eth0\n    garp_master_refresh: 10000000000"), /error LVS104: vrrp_instances\[0\]\.garp_master_refresh: must be at most 86400/],
    [BASE + VI.replace("interface: eth0", "interface: eth0\n    garp_master_delay: 10000000000"), /error LVS104: vrrp_instances\[0\]\.garp_master_delay: must be at most 86400/],
    [`global_defs: { smtp_connect_timeout: 10000000000 }\n${BASE}${VI}`, /error LVS104: global_defs\.smtp_connect_timeout: must be at most 86400/],
  ];
  for (const [yaml, want] of cases) {
    const got = lines(yaml);
    assert.ok(got.some((l) => want.test(l)), `${want}\n${got.join("\n")}`);
  }
});
