// Which hosts a play runs on (its `hosts:` and --limit), in which batches (`serial`), and which
// tasks run (--tags / --skip-tags). Pure.
import { LvsctlError } from "../errors/index.js";
import type { Cluster } from "../inventory/model.js";
import type { Task } from "./playbook.js";

function expand(cluster: Cluster, name: string): string[] | undefined {
  if (name === "all") return Object.keys(cluster.hosts);
  // The two groups lvsctl gives meaning to also hold the hosts that have the role without being
  // listed (a host named by a service's real_servers is a real server).
  if (name === "realservers") return [...new Set([...(cluster.groups[name] ?? []), ...cluster.realServers.map((h) => h.name)])];
  if (name === "directors") return [...new Set([...(cluster.groups[name] ?? []), ...cluster.directors.map((d) => d.host.name)])];
  if (cluster.groups[name]) return cluster.groups[name]!;
  if (cluster.hosts[name]) return [name];
  if (name.includes("*")) {
    const re = new RegExp("^" + name.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$");
    const hits = [...Object.keys(cluster.hosts), ...Object.keys(cluster.groups)].filter((n) => re.test(n));
    return [...new Set(hits.flatMap((h) => expand(cluster, h) ?? []))];
  }
  return undefined;
}

/**
 * The hosts of a play, in inventory order. `limit` is Ansible's: a comma list of host names,
 * group names or `*` globs, where `!name` removes. A name that matches nothing is an error (a
 * typo in --limit must not silently run on nothing or everything).
 */
export function selectHosts(cluster: Cluster, playHosts: string[], limit?: string): string[] {
  const order = Object.keys(cluster.hosts);
  const chosen = new Set<string>();
  for (const h of playHosts) {
    const got = expand(cluster, h);
    if (!got) throw new LvsctlError("LVS755", `the play's hosts name "${h}", which is neither a host nor a group of the inventory`, { hint: `groups: ${Object.keys(cluster.groups).join(", ")}` });
    got.forEach((x) => chosen.add(x));
  }
  if (limit !== undefined && limit.trim() !== "") {
    const items = limit.split(",").map((s) => s.trim()).filter(Boolean);
    const plus = items.filter((i) => !i.startsWith("!"));
    const minus = items.filter((i) => i.startsWith("!")).map((i) => i.slice(1));
    const resolve = (n: string) => {
      const got = expand(cluster, n);
      if (!got) throw new LvsctlError("LVS756", `--limit names "${n}", which is neither a host nor a group of the inventory`, { hint: "use host or group names, comma separated; !name excludes" });
      return got;
    };
    const allowed = plus.length ? new Set(plus.flatMap(resolve)) : undefined;
    const denied = new Set(minus.flatMap(resolve));
    for (const h of [...chosen]) if ((allowed && !allowed.has(h)) || denied.has(h)) chosen.delete(h);
  }
  return order.filter((h) => chosen.has(h));
}

/**
 * Batches for `serial` (Ansible's semantics): each entry is a count or a percentage of the
 * play's hosts (rounded down, at least 1); the last entry repeats until every host has run.
 */
export function batches(hosts: string[], serial?: (number | string)[]): string[][] {
  if (!serial || serial.length === 0 || hosts.length === 0) return hosts.length ? [hosts] : [];
  const sizes = serial.map((s) => {
    if (typeof s === "number") return Math.max(1, Math.floor(s));
    const pct = Number(s.replace("%", ""));
    return Math.max(1, Math.floor((hosts.length * pct) / 100));
  });
  const out: string[][] = [];
  let i = 0;
  let k = 0;
  while (i < hosts.length) {
    const size = sizes[Math.min(k++, sizes.length - 1)]!;
    out.push(hosts.slice(i, i + size));
    i += size;
  }
  return out;
}

/** --tags / --skip-tags: a task tagged `always` runs unless skipped by name; `never` only when asked. */
export function taskSelected(task: Task, tags: string[] = [], skipTags: string[] = []): boolean {
  const t = task.tags;
  if (t.some((x) => skipTags.includes(x))) return false;
  if (t.includes("never") && !t.some((x) => tags.includes(x))) return false;
  if (tags.length === 0 || tags.includes("all")) return true;
  return t.includes("always") || t.some((x) => tags.includes(x));
}
