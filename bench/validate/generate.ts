// Inventories of N hosts for bench/validate: an lvsctl YAML inventory, and the same hosts and
// groups as an Ansible INI inventory with the lvsctl inventory that imports it. Two directors,
// N - 2 real servers, one VRRP instance, and one virtual service per 100 real servers (each
// real server is named by one service), so every host is checked by the host, group and service
// rules, as in a real cluster of that size.

/** 10.a.b.c for host i (never .0 or .255 in the last byte). */
function address(i: number): string {
  const n = i + 1;
  return `10.${100 + Math.floor(n / 62_500)}.${Math.floor((n % 62_500) / 250)}.${(n % 250) + 1}`;
}

const PER_SERVICE = 100;
const rsName = (i: number) => `rs${String(i).padStart(5, "0")}`;

/** The load-balancing part both inventories share (VRRP instance and services). */
function lbPart(realServers: number): string {
  let y = `vrrp_instances:
  - name: VI_1
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddress: [10.99.0.100/24]
virtual_servers:
`;
  for (let s = 0; s * PER_SERVICE < realServers; s++) {
    y += `  - vip: 10.99.0.100\n    port: ${1000 + s}\n    check: { type: TCP_CHECK, connect_timeout: 3 }\n    real_servers:\n`;
    for (let i = s * PER_SERVICE; i < Math.min(realServers, (s + 1) * PER_SERVICE); i++) y += `      - { host: ${rsName(i)} }\n`;
  }
  return y;
}

/** An lvsctl inventory of `hosts` hosts (2 directors). */
export function lvsctlInventory(hosts: number): string {
  const rs = hosts - 2;
  const lines = ["hosts:", "  ds1: { address: 10.99.0.11 }", "  ds2: { address: 10.99.0.12 }"];
  for (let i = 0; i < rs; i++) lines.push(`  ${rsName(i)}: { address: ${address(i)} }`);
  lines.push("groups:", "  directors: { hosts: [ds1, ds2] }", "  realservers:", "    hosts:");
  for (let i = 0; i < rs; i++) lines.push(`      - ${rsName(i)}`);
  return lines.join("\n") + "\n" + lbPart(rs);
}

/** The same hosts as an Ansible INI inventory ([lb] and [web]), and the lvsctl inventory importing it from `iniPath`. */
export function ansibleInventory(hosts: number, iniPath: string): { ini: string; lvsctl: string } {
  const rs = hosts - 2;
  const ini = ["[lb]", "ds1 ansible_host=10.99.0.11", "ds2 ansible_host=10.99.0.12", "", "[web]"];
  for (let i = 0; i < rs; i++) ini.push(`${rsName(i)} ansible_host=${address(i)}`);
  const lvsctl = `ansible_inventory: ${iniPath}
groups:
  directors: { children: [lb] }
  realservers: { children: [web] }
${lbPart(rs)}`;
  return { ini: ini.join("\n") + "\n", lvsctl };
}
