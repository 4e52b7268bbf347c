// One broken inventory per rule, and the exact located message(s) it must produce.
// Each case breaks BASE (helpers.ts, lines 1-8) in one place; `expect` lists the first line of
// every diagnostic, so a rule that also fires somewhere it should not is caught too.
import { BASE, VI } from "./helpers.js";

/** VI with a second VIP on the real servers' network that is no service's: their NAT gateway. */
const GW = VI.replace("[10.77.0.100/24]", "[10.77.0.100/24, 10.77.0.1/24]");

export interface RuleCase {
  name: string;
  yaml: string;
  expect: string[];
  env?: NodeJS.ProcessEnv;
}

export const cases: RuleCase[] = [
  // --- shape (schema.ts via issues.ts) ---
  {
    name: "LVS102 wrong type",
    yaml: BASE + VI.replace("virtual_router_id: 51", "virtual_router_id: fifty"),
    expect: [
      "inv.yml:12:24: error LVS102: vrrp_instances[0].virtual_router_id: expected a number, got the string \"fifty\"",
    ],
  },
  {
    name: "LVS103 unknown key, with a suggestion",
    yaml: BASE + VI.replace("interface: eth0", "interface: eth0\n    advert_intt: 1"),
    expect: [
      "inv.yml:12:5: error LVS103: unknown key \"advert_intt\" in vrrp_instances[0]",
    ],
  },
  {
    name: "LVS103 unknown top-level key",
    yaml: BASE + "virtual_server:\n  - vip: 10.77.0.100\n",
    expect: [
      "inv.yml:9:1: error LVS103: unknown key \"virtual_server\" in (top level)",
    ],
  },
  {
    name: "LVS104 VRID out of range",
    yaml: BASE + VI.replace("virtual_router_id: 51", "virtual_router_id: 256"),
    expect: [
      "inv.yml:12:24: error LVS104: vrrp_instances[0].virtual_router_id: VRID must be 1-255 (got 256)",
    ],
  },
  {
    name: "LVS104 priority out of range",
    yaml: BASE + VI + "    priority: 0\n",
    expect: [
      "inv.yml:14:15: error LVS104: vrrp_instances[0].priority: must be at least 1 (got 0)",
    ],
  },
  {
    name: "LVS107 missing required key",
    yaml: BASE.replace("rs2: { address: 10.77.0.22 }", "rs2: { port: 2222 }"),
    expect: [
      "inv.yml:5:3: error LVS107: hosts.rs2: missing required key \"address\"",
    ],
  },
  {
    name: "LVS409 unknown scheduler lists valid ones",
    yaml: BASE + VI + "virtual_servers:\n  - { vip: 10.77.0.100, port: 80, lb_algo: roundrobin, real_servers: [{ host: rs1 }] }\n",
    expect: [
      "inv.yml:15:44: error LVS409: virtual_servers[0].lb_algo: unknown scheduler \"roundrobin\"",
    ],
  },
  {
    name: "LVS105 wrong choice",
    yaml: BASE + VI + "virtual_servers:\n  - { vip: 10.77.0.100, port: 80, lb_kind: DSR, real_servers: [{ host: rs1 }] }\n",
    expect: [
      "inv.yml:15:44: error LVS105: virtual_servers[0].lb_kind: the string \"DSR\" is not allowed here",
    ],
  },
  {
    name: "LVS106 malformed IP",
    yaml: BASE + VI + "virtual_servers:\n  - { vip: 10.77.0.300, port: 80, real_servers: [{ host: rs1 }] }\n",
    expect: [
      "inv.yml:15:12: error LVS106: virtual_servers[0].vip: must be an IPv4 or IPv6 address (got the string \"10.77.0.300\")",
    ],
  },
  // --- hosts and groups ---
  {
    name: "LVS200 host names a missing group",
    yaml: BASE.replace("rs1: { address: 10.77.0.21 }", "rs1: { address: 10.77.0.21, groups: [webservers] }"),
    expect: [
      "inv.yml:4:40: error LVS200: host rs1 is in group \"webservers\", which does not exist",
    ],
  },
  {
    name: "LVS201 group lists a missing host",
    yaml: BASE.replace("hosts: [rs1, rs2]", "hosts: [rs1, rs3]"),
    expect: [
      "inv.yml:8:31: error LVS201: group realservers lists host \"rs3\", which is not defined under hosts:",
    ],
  },
  {
    name: "LVS202 children names a missing group",
    yaml: BASE + "  web: { children: [frontends] }\n",
    expect: [
      "inv.yml:9:21: error LVS202: group web has child group \"frontends\", which does not exist",
    ],
  },
  {
    name: "LVS203 children cycle",
    yaml: BASE + "  a: { children: [b] }\n  b: { children: [a] }\n",
    expect: [
      "inv.yml:10:19: error LVS203: groups contain each other: a -> b -> a",
    ],
  },
  {
    name: "LVS204 jump names an unknown host",
    yaml: BASE.replace("rs1: { address: 10.77.0.21 }", "rs1: { address: 10.77.0.21, jump: bastion }"),
    expect: [
      "inv.yml:4:37: error LVS204: jump host \"bastion\" is not an inventory host",
    ],
  },
  {
    name: "LVS205 jump loop",
    yaml: BASE.replace("rs1: { address: 10.77.0.21 }", "rs1: { address: 10.77.0.21, jump: rs2 }").replace("rs2: { address: 10.77.0.22 }", "rs2: { address: 10.77.0.22, jump: [rs1] }"),
    expect: [
      "inv.yml:4:37: error LVS205: jump hosts form a loop: rs1 -> rs2 -> rs1",
    ],
  },
  {
    name: "LVS206 password in clear (warning)",
    yaml: BASE.replace("ds1: { address: 10.77.0.11 }", "ds1: { address: 10.77.0.11, become: { password: hunter2 } }"),
    expect: [
      "inv.yml:2:51: warning LVS206: the become (sudo) password at hosts.ds1 is written in clear in the inventory",
    ],
  },
  {
    name: "LVS207 unset environment variable (warning)",
    yaml: BASE.replace("ds1: { address: 10.77.0.11 }", "ds1: { address: 10.77.0.11, password: { env: NOT_SET_ANYWHERE } }"),
    expect: [
      "inv.yml:2:41: warning LVS207: the SSH password at hosts.ds1 comes from environment variable NOT_SET_ANYWHERE, which is not set here",
    ],
  },
  {
    name: "LVS208 empty directors group",
    yaml: BASE.replace("directors: { hosts: [ds1, ds2] }", "directors: { hosts: [] }") + VI,
    expect: [
      "inv.yml:7:3: error LVS208: the directors group has no hosts, but vrrp_instances need directors to run them",
    ],
  },
  {
    name: "LVS208 not for an inventory that only sets up real servers",
    yaml: "hosts:\n  rs1: { address: 10.77.0.21 }\ngroups:\n  realservers: { hosts: [rs1] }\nvirtual_servers:\n  - { vip: 10.77.0.100, port: 80, real_servers: [{ host: rs1 }] }\n",
    expect: [],
  },
  {
    name: "LVS209 director in realservers group",
    yaml: BASE.replace("hosts: [rs1, rs2]", "hosts: [rs1, rs2, ds2]"),
    expect: [
      "inv.yml:8:36: error LVS209: host ds2 is both a director and a real server",
    ],
  },
  {
    name: "LVS210 two hosts with one address (warning)",
    yaml: BASE.replace("rs2: { address: 10.77.0.22 }", "rs2: { address: 10.77.0.21 }"),
    expect: [
      "inv.yml:5:19: warning LVS210: hosts rs1 and rs2 have the same address 10.77.0.21",
    ],
  },
  // --- VRRP ---
  {
    name: "LVS300 same VRID on one interface",
    yaml: BASE + VI + "  - name: VI_2\n    interface: eth0\n    virtual_router_id: 51\n    virtual_ipaddress: [10.77.0.101/24]\n",
    expect: [
      "inv.yml:16:24: error LVS300: instances VI_1 and VI_2 both use VRID 51 on eth0 of ds1; their adverts would be taken for each other's",
    ],
  },
  {
    name: "LVS300 not when the interfaces differ",
    yaml: BASE + VI + "  - name: VI_2\n    interface: eth1\n    virtual_router_id: 51\n    virtual_ipaddress: [10.77.0.101/24]\n",
    expect: [
    ],
  },
  {
    name: "LVS301 members naming only non-directors",
    yaml: BASE + VI + "    members: { rs1: {} }\n",
    expect: [
      "inv.yml:14:5: error LVS301: no director runs VRRP instance VI_1, so nobody would ever become master of its VIPs",
      "inv.yml:14:16: error LVS306: instance VI_1 lists rs1 as a member, but rs1 is not in the directors group",
    ],
  },
  {
    name: "LVS302 equal priorities",
    yaml: BASE + VI + "    members: { ds1: { priority: 100 }, ds2: { priority: 100 } }\n",
    expect: [
      "inv.yml:14:57: error LVS302: directors ds1 and ds2 have the same priority 100 in instance VI_1; the election would fall to whichever has the highest IP address",
    ],
  },
  {
    name: "LVS302 equal priorities allowed",
    yaml: BASE + VI + "    priority: 100\n    allow_equal_priority: true\n",
    expect: [
    ],
  },
  {
    name: "LVS303 advert_int v2 not whole seconds",
    yaml: BASE + VI + "    advert_int: 0.5\n",
    expect: [
      "inv.yml:14:17: error LVS303: advert_int 0.5 is not valid for VRRP version 2: it must be whole seconds from 1 to 255",
    ],
  },
  {
    name: "LVS303 advert_int v3 not in steps of 0.01",
    yaml: BASE + VI + "    version: 3\n    advert_int: 0.005\n",
    expect: [
      "inv.yml:15:17: error LVS303: advert_int 0.005 is not valid for VRRP version 3: it must be 0.01 to 40.95 seconds in steps of 0.01",
    ],
  },
  {
    name: "LVS303 advert_int v3 fine at 0.25",
    yaml: BASE + VI + "    version: 3\n    advert_int: 0.25\n",
    expect: [
    ],
  },
  {
    name: "LVS304 nopreempt with MASTER",
    yaml: BASE + VI + "    nopreempt: true\n    state: MASTER\n",
    expect: [
      "inv.yml:15:12: error LVS304: instance VI_1 has nopreempt with state MASTER; keepalived only honours nopreempt when the initial state is BACKUP",
    ],
  },
  {
    name: "LVS305 unicast_peer without source",
    yaml: BASE + VI + "    unicast_peer: [10.77.0.11, 10.77.0.12]\n",
    expect: [
      "inv.yml:14:5: error LVS305: instance VI_1 lists unicast_peer but ds1, ds2 have no unicast_src_ip",
    ],
  },
  {
    name: "LVS307 one VIP in two instances",
    yaml: BASE + VI + "  - name: VI_2\n    interface: eth0\n    virtual_router_id: 52\n    virtual_ipaddress: [10.77.0.100]\n",
    expect: [
      "inv.yml:17:25: error LVS307: VIP 10.77.0.100 is in two VRRP instances: VI_1 and VI_2",
    ],
  },
  {
    name: "LVS308 sync group names an unknown instance",
    yaml: BASE + VI + "vrrp_sync_groups:\n  - { name: G1, group: [VI_1, VI_2] }\n",
    expect: [
      "inv.yml:15:31: error LVS308: sync group G1 names instance \"VI_2\", which does not exist",
    ],
  },
  {
    name: "LVS309 malformed VIP string",
    yaml: BASE + VI.replace("[10.77.0.100/24]", '["10.77.0.100/24 device eth0"]'),
    expect: [
      "inv.yml:13:25: error LVS309: VIP \"10.77.0.100/24 device eth0\" in instance VI_1: unexpected \"device eth0\" (after the address only \"dev IFACE\" and \"label NAME\" are understood)",
    ],
  },
  {
    name: "LVS312 auth_pass longer than 8 (and in clear)",
    yaml: BASE + VI + "    authentication: { auth_type: PASS, auth_pass: longpassword }\n",
    expect: [
      "inv.yml:14:51: warning LVS206: auth_pass of VRRP instance VI_1 is written in clear in the inventory",
      "inv.yml:14:51: error LVS312: auth_pass is 12 bytes; VRRP PASS authentication carries 1 to 8",
    ],
  },
  {
    name: "LVS312 counts bytes, as on the wire: five accented letters are 10",
    yaml: BASE + VI + "    authentication: { auth_type: PASS, auth_pass: ééééé }\n",
    expect: [
      "inv.yml:14:51: warning LVS206: auth_pass of VRRP instance VI_1 is written in clear in the inventory",
      "inv.yml:14:51: error LVS312: auth_pass is 10 bytes; VRRP PASS authentication carries 1 to 8",
    ],
  },
  {
    name: "LVS312 not for a secret from the environment: the renderer checks it once resolved (LVS704)",
    yaml: BASE + VI + "    authentication: { auth_type: PASS, auth_pass: { env: LONG_PASS } }\n",
    env: { LONG_PASS: "longpassword" },
    expect: [
    ],
  },
  {
    name: "LVS313 authentication with v3",
    yaml: BASE + VI + "    version: 3\n    authentication: { auth_type: PASS, auth_pass: { env: LVS_PASS } }\n",
    expect: [
      "inv.yml:15:5: error LVS313: instance VI_1 uses VRRP version 3, which has no authentication (RFC 5798 section 9)",
    ],
  },
  {
    name: "LVS317 IPv6 VIP with VRRP v2",
    yaml: BASE + VI.replace("[10.77.0.100/24]", "[fd00:77::100/64]"),
    expect: [
      "inv.yml:13:25: error LVS317: IPv6 VIP fd00:77::100 in instance VI_1, which uses VRRP version 2 (IPv4 only, RFC 3768)",
    ],
  },
  // --- services ---
  {
    name: "LVS400 fwmark and vip together",
    yaml: BASE + VI + "virtual_servers:\n  - { fwmark: 1, vip: 10.77.0.100, port: 80, real_servers: [{ host: rs1 }] }\n",
    expect: [
      "inv.yml:15:7: error LVS400: service fwmark1 has both fwmark and vip/port",
    ],
  },
  {
    name: "LVS400 neither fwmark nor vip+port",
    yaml: BASE + VI + "virtual_servers:\n  - { vip: 10.77.0.100, real_servers: [{ host: rs1 }] }\n",
    expect: [
      "inv.yml:15:5: error LVS400: service 10.77.0.100 needs a port (or a fwmark)",
    ],
  },
  {
    name: "LVS401 same VIP, port and protocol twice",
    yaml: BASE + VI + "virtual_servers:\n  - { vip: 10.77.0.100, port: 80, real_servers: [{ host: rs1 }] }\n  - { vip: 10.77.0.100, port: 80, real_servers: [{ host: rs2 }] }\n",
    expect: [
      "inv.yml:16:12: error LVS401: service 10.77.0.100:80 (TCP) is defined twice (also virtual_servers[0])",
    ],
  },
  {
    name: "LVS401 not for another protocol",
    yaml: BASE + VI + "virtual_servers:\n  - { vip: 10.77.0.100, port: 53, protocol: UDP, real_servers: [{ host: rs1 }] }\n  - { vip: 10.77.0.100, port: 53, real_servers: [{ host: rs2 }] }\n",
    expect: [
    ],
  },
  {
    name: "LVS402 DR real server on another port",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    real_servers: [{ host: rs1, port: 8080 }]\n",
    expect: [
      "inv.yml:17:39: error LVS402: real server port 8080 differs from the service port 80, but DR cannot remap ports: the packet reaches the real server unchanged",
    ],
  },
  {
    name: "LVS402 TUN too",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    lb_kind: TUN\n    real_servers: [{ host: rs1, port: 8080 }]\n",
    expect: [
      "inv.yml:18:39: error LVS402: real server port 8080 differs from the service port 80, but TUN cannot remap ports: the packet reaches the real server unchanged",
    ],
  },
  {
    name: "LVS402 DR sorry server on another port",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    sorry_server: { address: 10.77.0.29, port: 8080 }\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:17:48: error LVS402: sorry server port 8080 differs from the service port 80, but DR cannot remap ports",
    ],
  },
  {
    name: "LVS402 not for a NAT sorry server",
    yaml: BASE + GW + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    lb_kind: NAT\n    sorry_server: { address: 10.77.0.29, port: 8080 }\n    real_servers: [{ host: rs1 }]\n",
    expect: [],
  },
  {
    name: "LVS403 granularity without persistence",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    persistence_granularity: 255.255.255.0\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:17:5: error LVS403: service 10.77.0.100:80 sets persistence_granularity without persistence_timeout; granularity only applies to persistent services",
    ],
  },
  {
    name: "LVS404 real server without host or address",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    real_servers: [{ weight: 2 }]\n",
    expect: [
      "inv.yml:17:20: error LVS404: real server 1 of service 10.77.0.100:80 has neither host nor address",
    ],
  },
  {
    name: "LVS405 real server names an unknown host",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    real_servers: [{ host: rs3 }]\n",
    expect: [
      "inv.yml:17:28: error LVS405: real server host \"rs3\" of service 10.77.0.100:80 is not defined under hosts:",
    ],
  },
  {
    name: "LVS406 real server is a director",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    real_servers: [{ host: ds2 }]\n",
    expect: [
      "inv.yml:17:28: error LVS406: real server ds2 of service 10.77.0.100:80 is also a director",
    ],
  },
  {
    name: "LVS407 service VIP held by no instance (warning)",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.200\n    port: 80\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:15:10: warning LVS407: VIP 10.77.0.200 of service 10.77.0.200:80 is in no VRRP instance, so no director will hold it",
    ],
  },
  {
    name: "LVS408 one real server twice",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    real_servers: [{ host: rs1 }, { address: 10.77.0.21 }]\n",
    expect: [
      "inv.yml:17:35: error LVS408: real server 10.77.0.21:80 appears twice in service 10.77.0.100:80 (also real_servers[0])",
    ],
  },
  {
    name: "LVS410 check without a port on a fwmark service",
    yaml: BASE + VI + "virtual_servers:\n  - fwmark: 7\n    check: { type: TCP_CHECK }\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:16:5: error LVS410: the TCP_CHECK of real server 10.77.0.21 has no port to connect to (fwmark service without ports)",
    ],
  },
  {
    name: "LVS411 quorum above the total weight (warning)",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    quorum: 5\n    real_servers: [{ host: rs1 }, { host: rs2, weight: 3 }]\n",
    expect: [
      "inv.yml:17:13: warning LVS411: quorum 5 is more than the weights of all real servers together (4); the service would never be up",
    ],
  },
  {
    name: "LVS413 granularity not a netmask",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    persistence_timeout: true\n    persistence_granularity: 255.0.255.0\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:18:30: error LVS413: persistence_granularity 255.0.255.0 is not a netmask (its one-bits must be contiguous)",
    ],
  },
  {
    name: "LVS414 IPv4 real server behind an IPv6 VIP (NAT)",
    yaml: BASE + VI + "  - { name: VI_6, interface: eth0, virtual_router_id: 61, version: 3, virtual_ipaddress: [fd00:77::100/64] }\nvirtual_servers:\n  - vip: fd00:77::100\n    port: 80\n    lb_kind: NAT\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:19:28: error LVS414: real server 10.77.0.21 is IPv4 but the VIP fd00:77::100 is IPv6; NAT cannot cross address families",
    ],
  },
  {
    name: "LVS416 HTTP_GET on UDP",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 53\n    protocol: UDP\n    check: { type: HTTP_GET, url: [{ path: / }] }\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:18:20: error LVS416: service 10.77.0.100:53 is UDP but its check is HTTP_GET, which speaks TCP",
    ],
  },
  {
    name: "LVS417 NAT fwmark real server without port",
    yaml: BASE + VI + "virtual_servers:\n  - fwmark: 7\n    lb_kind: NAT\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:17:20: error LVS417: NAT real server 10.77.0.21 of fwmark service fwmark7 has no port; NAT must rewrite the destination to some port",
    ],
  },
  {
    name: "LVS600 keepalived from source without a tarball",
    yaml: BASE + "director:\n  keepalived: { from: source, version: 2.2.7 }\n",
    expect: [
      "inv.yml:10:23: error LVS600: keepalived from source needs a tarball to build",
    ],
  },
  {
    name: "LVS604 keepalived from source, no version and none in the tarball's name",
    yaml: BASE + "director:\n  keepalived: { from: source, tarball: ka.tgz }\n",
    expect: [
      "inv.yml:10:40: error LVS604: the keepalived version cannot be read from the tarball's name \"ka.tgz\"",
    ],
  },
  {
    name: "LVS601 keepalived settings with lvsd",
    yaml: BASE + "director:\n  backend: lvsd\n  keepalived: { from: package }\n",
    expect: [
      "inv.yml:11:3: warning LVS601: keepalived: settings are ignored because backend is lvsd",
    ],
  },
  {
    name: "LVS319 authentication under vrrp_strict",
    yaml: BASE + VI + "    authentication: { auth_type: PASS, auth_pass: { env: LVS_PASS } }\nglobal_defs: { vrrp_strict: true }\n",
    expect: [
      "inv.yml:14:5: error LVS319: instance VI_1 uses authentication, which vrrp_strict forbids (keepalived ignores it with a warning)",
    ],
  },
  {
    name: "LVS419 port on a DR fwmark real server and sorry server",
    yaml: BASE + VI + "virtual_servers:\n  - fwmark: 7\n    sorry_server: { address: 10.77.0.29, port: 80 }\n    real_servers: [{ host: rs1, port: 80 }]\n",
    expect: [
      "inv.yml:16:48: error LVS419: a sorry server port means nothing in a DR fwmark service: the packet keeps the port the client used",
      "inv.yml:17:39: error LVS419: real server port 80 means nothing in a DR fwmark service: the packet keeps the port the client used",
    ],
  },
  {
    name: "LVS420 hysteresis not below quorum",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    hysteresis: 1\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:17:17: error LVS420: hysteresis 1 is not below quorum 1 (the default); keepalived would lower it to 0",
    ],
  },
  {
    name: "LVS420 hysteresis not below an explicit quorum",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    quorum: 2\n    hysteresis: 2\n    real_servers: [{ host: rs1 }, { host: rs2 }]\n",
    expect: [
      "inv.yml:18:17: error LVS420: hysteresis 2 is not below quorum 2; keepalived would lower it to 1",
    ],
  },
  {
    name: "LVS320 two sync groups with one name",
    yaml: BASE + VI + "  - { name: VI_2, interface: eth0, virtual_router_id: 52, virtual_ipaddress: [10.77.0.101] }\nvrrp_sync_groups:\n  - { name: G1, group: [VI_1] }\n  - { name: G1, group: [VI_2] }\n",
    expect: [
      "inv.yml:17:13: error LVS320: two sync groups are named G1 (also vrrp_sync_groups[0])",
    ],
  },
  {
    name: "LVS321 sync group instances on different directors",
    yaml: BASE + VI + "  - { name: VI_2, interface: eth0, virtual_router_id: 52, virtual_ipaddress: [10.77.0.101], members: { ds1: {} } }\nvrrp_sync_groups:\n  - { name: G1, group: [VI_1, VI_2] }\n",
    expect: [
      "inv.yml:16:31: error LVS321: sync group G1: instance VI_2 runs on ds1, but VI_1 runs on ds1,ds2; a sync group must be whole on every director",
    ],
  },
  {
    name: "LVS421 real server in no service (warning)",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:8:31: warning LVS421: real server rs2 is in the realservers group but in no virtual service",
    ],
  },
  {
    name: "LVS422 granularity on an IPv6 service",
    yaml: BASE + VI + "  - { name: VI_6, interface: eth0, virtual_router_id: 61, version: 3, virtual_ipaddress: [fd00:77::100/64] }\nvirtual_servers:\n  - vip: fd00:77::100\n    port: 80\n    persistence_timeout: 60\n    persistence_granularity: 255.255.255.0\n    real_servers: [{ address: fd00:77::21 }]\n",
    expect: [
      "inv.yml:19:5: error LVS422: persistence_granularity 255.255.255.0 is an IPv4 netmask, but service [fd00:77::100]:80 is IPv6",
    ],
  },
  {
    name: "LVS422 prefix length on an IPv4 service",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    persistence_timeout: 60\n    persistence_granularity: 24\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:18:5: error LVS422: persistence_granularity 24 is a prefix length, but service 10.77.0.100:80 is IPv4, which takes a netmask",
    ],
  },
  {
    name: "LVS434 sh-port without the sh scheduler",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    lb_algo: mh\n    sched_flags: [mh-port, sh-fallback]\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:18:28: error LVS434: scheduler flag sh-fallback of service 10.77.0.100:80 belongs to the sh scheduler, but lb_algo is mh",
    ],
  },
  {
    name: "LVS435 ops on a TCP service (warning)",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    ops: true\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:17:5: warning LVS435: ops (one-packet scheduling) on TCP service 10.77.0.100:80 does nothing: the kernel applies it to UDP only",
    ],
  },
  {
    name: "LVS436 tunnel on a DR service",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    tunnel: { type: gre }\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:17:5: error LVS436: service 10.77.0.100:80 sets a tunnel but its lb_kind is DR; only TUN encapsulates",
    ],
  },
  {
    name: "LVS437 gue without a port, a checksum on ipip, a port and remcsum on gre",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    lb_kind: TUN\n    tunnel: { type: gue }\n    real_servers: [{ host: rs1 }]\n  - vip: 10.77.0.100\n    port: 81\n    lb_kind: TUN\n    tunnel: { type: ipip, checksum: csum }\n    real_servers: [{ host: rs1 }]\n  - vip: 10.77.0.100\n    port: 82\n    lb_kind: TUN\n    tunnel: { type: gre, port: 6080, checksum: remcsum }\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:18:13: error LVS437: the gue tunnel of service 10.77.0.100:80 has no port",
      "inv.yml:23:27: error LVS437: an ipip tunnel has no checksum option (csum)",
      "inv.yml:28:26: error LVS437: a gre tunnel takes no port (only gue runs over UDP)",
      "inv.yml:28:38: error LVS437: a gre tunnel has no remote checksum offload (remcsum)",
    ],
  },
  {
    name: "LVS416 HTTP_GET on SCTP",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 3868\n    protocol: SCTP\n    check: { type: HTTP_GET, url: [{ path: / }] }\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:18:20: error LVS416: service 10.77.0.100:3868 is SCTP but its check is HTTP_GET, which speaks TCP",
    ],
  },
  {
    name: "LVS215 host name that cannot be a file name",
    yaml: BASE.replace("rs2: { address: 10.77.0.22 }", '"../rs2": { address: 10.77.0.22 }').replace("[rs1, rs2]", '[rs1, "../rs2"]'),
    expect: [
      "inv.yml:5:3: error LVS215: host name \"../rs2\" cannot be used: names become file names",
    ],
  },
  {
    name: "LVS322 preempt_delay with nopreempt",
    yaml: BASE + VI + "    nopreempt: true\n    preempt_delay: 30\n",
    expect: [
      "inv.yml:15:5: error LVS322: preempt_delay in instance VI_1 has no effect with nopreempt (keepalived resets it)",
    ],
  },
  {
    name: "LVS323 preempt_delay with state MASTER",
    yaml: BASE + VI + "    preempt_delay: 30\n    members: { ds1: { state: MASTER }, ds2: {} }\n",
    expect: [
      "inv.yml:15:30: error LVS323: ds1 starts instance VI_1 as MASTER, where preempt_delay cannot work (keepalived clears it)",
    ],
  },
  {
    name: "LVS324 state MASTER under vrrp_strict",
    yaml: BASE + VI + "    state: MASTER\nglobal_defs: { vrrp_strict: true }\n",
    expect: [
      "inv.yml:14:12: error LVS324: ds1 starts instance VI_1 as MASTER with priority 150; under vrrp_strict only the address owner (priority 255) may",
      "inv.yml:14:12: warning LVS316: more than one director of instance VI_1 starts as MASTER; they will fight until the adverts settle it",
    ],
  },
  {
    name: "LVS423 nat_gateway on a DR service",
    yaml: BASE + GW + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    nat_gateway: 10.77.0.1\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:17:5: error LVS423: service 10.77.0.100:80 is DR, but nat_gateway only means something for NAT: DR real servers answer clients directly",
    ],
  },
  {
    name: "LVS424 a director's own address as NAT gateway",
    yaml: BASE + GW + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    lb_kind: NAT\n    nat_gateway: 10.77.0.11\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:18:18: error LVS424: nat_gateway 10.77.0.11 of service 10.77.0.100:80 is director ds1's own address: replies would stop whenever ds1 is not master, while the other director takes the traffic",
    ],
  },
  {
    name: "LVS425 NAT gateway in no VRRP instance",
    yaml: BASE + GW + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    lb_kind: NAT\n    nat_gateway: 10.77.0.254\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:18:18: error LVS425: nat_gateway 10.77.0.254 of service 10.77.0.100:80 is in no VRRP instance's virtual_ipaddress, so no director holds it",
    ],
  },
  {
    name: "LVS426 one real server, two NAT gateways",
    yaml: BASE + GW.replace("10.77.0.1/24]", "10.77.0.1/24, 10.77.0.2/24]") + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    lb_kind: NAT\n    real_servers: [{ host: rs1 }]\n    nat_gateway: 10.77.0.1\n  - vip: 10.77.0.100\n    port: 443\n    lb_kind: NAT\n    nat_gateway: 10.77.0.2\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:23:18: error LVS426: real server rs1 would route its replies through 10.77.0.1 for service 10.77.0.100:80 and through 10.77.0.2 for service 10.77.0.100:443; a host has one default route",
    ],
  },
  {
    name: "LVS427 NAT gateway off the real server's network",
    yaml: BASE + GW.replace("10.77.0.1/24]", "10.77.0.1/24, 10.78.0.1/24]") + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    lb_kind: NAT\n    nat_gateway: 10.78.0.1\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:18:18: warning LVS427: nat_gateway 10.78.0.1 (/24) is not on the network of real server rs1 (10.77.0.21); the kernel refuses a gateway it cannot reach directly",
    ],
  },
  {
    name: "LVS428 NAT real server without a gateway",
    yaml: BASE + VI + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    lb_kind: NAT\n    real_servers: [{ host: rs1 }]\n",
    expect: [
      "inv.yml:18:20: warning LVS428: NAT real server rs1 of service 10.77.0.100:80 has no gateway to route its replies through, so lvsctl only checks its default route",
    ],
  },
  {
    name: "LVS428 not when the one VIP on the real server's network that is no service's is the gateway",
    yaml: BASE + GW + "virtual_servers:\n  - vip: 10.77.0.100\n    port: 80\n    lb_kind: NAT\n    real_servers: [{ host: rs1 }]\n",
    expect: [],
  },
  // --- text boundaries (text.ts): what a value may hold in the files it reaches ---
  {
    name: "LVS120 newline in a service name adds a keepalived.conf directive",
    yaml: BASE + VI + 'virtual_servers:\n  - { name: "web\\ninclude /tmp/x.conf", vip: 10.77.0.100, port: 80, real_servers: [{ host: rs1 }] }\n',
    expect: [
      "inv.yml:15:13: error LVS120: virtual_servers[0].name holds a newline (U+000A) at character 4; in keepalived.conf and lvsd.json it would start a new line or end the value",
    ],
  },
  {
    name: "LVS120 newline in global_defs.smtp_server",
    yaml: BASE + VI + 'global_defs: { smtp_server: "192.0.2.25\\ninclude /tmp/x.conf" }\n',
    expect: [
      "inv.yml:14:29: error LVS120: global_defs.smtp_server holds a newline (U+000A) at character 11; in keepalived.conf it would start a new line or end the value",
    ],
  },
  {
    name: "LVS122 a name of 1,021 characters then ' include ...' on one line",
    yaml: BASE + VI + `virtual_servers:\n  - { name: "${"n".repeat(1021)} include /tmp/x.conf", vip: 10.77.0.100, port: 80, real_servers: [{ host: rs1 }] }\n`,
    expect: [
      "inv.yml:15:13: error LVS122: virtual_servers[0].name is 1041 bytes, too long for one keepalived.conf line: keepalived reads lines of at most 1023 bytes and takes the rest as a line of its own",
    ],
  },
  {
    name: "LVS120 newline in keepalived.prefix adds a unit line",
    yaml: BASE + VI + 'director: { keepalived: { from: source, version: 2.2.7, tarball: ka.tgz, prefix: "/usr/local\\nExecStartPre=/bin/touch /tmp/x" } }\n',
    expect: [
      "inv.yml:14:82: error LVS120: director.keepalived.prefix holds a newline (U+000A) at character 11; in systemd units and commands it would start a new line or end the value",
    ],
  },
  {
    name: "LVS120 newline in keepalived.sysconfdir",
    yaml: BASE + VI + 'director: { keepalived: { from: source, version: 2.2.7, tarball: ka.tgz, sysconfdir: "/etc\\nExecStartPre=/bin/touch /tmp/x" } }\n',
    expect: [
      "inv.yml:14:86: error LVS120: director.keepalived.sysconfdir holds a newline (U+000A) at character 5; in systemd units and commands it would start a new line or end the value",
    ],
  },
  {
    name: "LVS120 newline in lvsd.install_dir",
    yaml: BASE + VI + 'director: { backend: lvsd, lvsd: { install_dir: "/opt/lvsd\\nExecStartPre=/bin/touch /tmp/x" } }\n',
    expect: [
      "inv.yml:14:49: error LVS120: director.lvsd.install_dir holds a newline (U+000A) at character 10; in systemd units and commands it would start a new line or end the value",
    ],
  },
  {
    name: "LVS120 newline in a director.sysctls value adds a sysctl line",
    yaml: BASE + VI + 'director: { sysctls: { net.ipv4.vs.conntrack: "1\\nkernel.panic = 1" } }\n',
    expect: [
      "inv.yml:14:47: error LVS120: director.sysctls[\"net.ipv4.vs.conntrack\"] holds a newline (U+000A) at character 2; in a sysctl.d file it would start a new line or end the value",
    ],
  },
  {
    name: "LVS121 a double quote in router_id, $_ in a notify script",
    yaml: BASE + VI + '    notify_master: "/usr/local/bin/notify $_PWD"\nglobal_defs: { router_id: \'lb"1\' }\n',
    expect: [
      "inv.yml:14:20: error LVS121: vrrp_instances[0].notify_master holds \"$_\" at character 23, which keepalived.conf would read as syntax",
      "inv.yml:15:27: error LVS121: global_defs.router_id holds a double quote, which keepalived.conf would read as syntax",
    ],
  },
  {
    name: "LVS123 interface eth0#x, which keepalived would cut at '#'",
    yaml: BASE + VI.replace("interface: eth0", 'interface: "eth0#x"'),
    expect: [
      "inv.yml:11:16: error LVS123: vrrp_instances[0].interface holds \"#\" at character 5: keepalived.conf would read it as syntax (a comment, a block or a quote)",
    ],
  },
  {
    name: "LVS124 sysconfdir that climbs out with .., a prefix with a ';', a relative script",
    yaml: BASE + VI + '    notify_backup: notify.sh BACKUP\ndirector: { keepalived: { from: source, version: 2.2.7, tarball: ka.tgz, prefix: "/usr;touch /tmp/x;/usr", sysconfdir: "/../../../../tmp/x" } }\n',
    expect: [
      "inv.yml:14:20: error LVS124: vrrp_instances[0].notify_backup runs \"notify.sh\", which is not an absolute path (the program to run on the directors)",
      "inv.yml:15:82: error LVS124: director.keepalived.prefix holds \";\" at character 5; lvsctl writes paths bare into systemd units and commands run as root",
      "inv.yml:15:120: error LVS124: director.keepalived.sysconfdir is not a normalised path (it has \".\", \"..\" or \"//\")",
    ],
  },
  {
    name: "LVS125 sysctl key that is no key",
    yaml: BASE + VI + 'director: { sysctls: { "net.ipv4//../../etc/shadow": 1, "-net.ipv4.ip_forward": 1 } }\n',
    expect: [
      "inv.yml:14:24: error LVS125: director.sysctls: \"net.ipv4//../../etc/shadow\" is not a sysctl key: a sysctl key has an empty name between two dots (or at an end)",
      "inv.yml:14:57: error LVS125: director.sysctls: \"-net.ipv4.ip_forward\" is not a sysctl key: a sysctl key cannot start with - (sysctl would read it as an option)",
    ],
  },
  {
    name: "LVS126 a user that would be read as an option",
    yaml: BASE.replace("ds1: { address: 10.77.0.11 }", 'ds1: { address: 10.77.0.11, user: "-oProxyCommand=x" }') + VI,
    expect: [
      "inv.yml:2:37: error LVS126: hosts.ds1.user starts with '-', which a command would take as an option",
    ],
  },
  // --- VIPs no director can hold ---
  {
    name: "LVS325 unspecified, default-route, multicast, link-local and IPv4-mapped VIPs",
    yaml: BASE + VI.replace("[10.77.0.100/24]", "[10.77.0.100/24, 0.0.0.0/0, 224.0.0.18, 10.77.0.101/0]") + "  - { name: VI_6, interface: eth0, virtual_router_id: 52, version: 3, virtual_ipaddress: ['fe80::1%eth0', 'fe80::2', '::ffff:10.77.0.100'] }\nvirtual_servers:\n  - { vip: 0.0.0.0, port: 80, real_servers: [{ host: rs1 }] }\n",
    expect: [
      "inv.yml:13:41: error LVS325: VIP 0.0.0.0/0 in instance VI_1 is in 0.0.0.0/8, the unspecified address ('this network', RFC 1122 section 3.2.1.3); no director can hold it",
      "inv.yml:13:52: error LVS325: VIP 224.0.0.18 in instance VI_1 is a multicast address (224.0.0.0/4); no director can hold it",
      "inv.yml:13:64: error LVS325: VIP 10.77.0.101/0 in instance VI_1 has prefix /0, which would make every address on-link (a default route through the VIP's interface); no director can hold it",
      "inv.yml:14:91: error LVS325: VIP fe80::1%eth0 in instance VI_6 has a zone index (%IFACE), so it is link-local; no director can hold it",
      "inv.yml:14:107: error LVS325: VIP fe80::2 in instance VI_6 is link-local (fe80::/10); VRRPv3 already uses each director's own link-local address as its source; no director can hold it",
      "inv.yml:14:118: error LVS325: VIP ::ffff:10.77.0.100 in instance VI_6 is an IPv4-mapped IPv6 address (RFC 4291 section 2.5.5.2), the same host as 10.77.0.100; no director can hold it",
      "inv.yml:14:118: error LVS307: VIP ::ffff:10.77.0.100 is in two VRRP instances: VI_1 and VI_6",
      "inv.yml:16:12: error LVS325: VIP 0.0.0.0 of service 0.0.0.0:80 is in 0.0.0.0/8, the unspecified address ('this network', RFC 1122 section 3.2.1.3); no director can serve it",
    ],
  },
];
