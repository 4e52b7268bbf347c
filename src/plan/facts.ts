// Facts: what a host looks like now, gathered in ONE round trip (pyinfra's model, STYLE.md
// habit 8): one shell script, sent as one exec, prints each fact in its own section between
// markers; each section has a pure parser tested on fixture output. The script only reads.
//
// What to read beyond the fixed base (managed paths, sysctls, units, packages, ...) is a
// FactRequest the planners build: the planner knows which files it manages. Every value of the
// request reaches the script as quoted words (src/command's `sh`), never as code.
import { sysctlKeyProblem } from "../inventory/sysctls.js";
import { asSimple, renderCommand, Shell, sh, shellCode, type Command } from "../command/index.js";

export interface FactRequest {
  /** sysctl keys (dotted, as `sysctl` prints them); a segment may be `*` (a glob over interfaces). */
  sysctls: string[];
  /** Regular files whose sha256 is wanted. */
  sha256: string[];
  /** Files whose mode, owner and group are wanted. */
  stats: string[];
  /** Paths whose existence is wanted (`creates` guards). */
  exists: string[];
  /** Files whose content is wanted (state file, stamps, old content for --diff). */
  contents: string[];
  /** Paths whose symlink target is wanted (`readlink`: the active build of a source install). */
  symlinks: string[];
  /** Directories whose per-file sha256 manifest is wanted (upload_dir). */
  manifests: string[];
  /** systemd units: unit file state (is-enabled) and active state (is-active). */
  units: string[];
  /**
   * Base facts that cost enough to be gathered only when asked for: "node" (`node --version`
   * starts a whole Node runtime, about 90 ms of CPU on a small host).
   */
  optional: string[];
  /** Node runtimes (absolute paths) whose `--version` is wanted: lvsd's runtime check. */
  nodes: string[];
  /** Packages: installed version, and on apt hosts the candidate apt would install (`apt-cache policy`). */
  packages: string[];
  /** Addresses to look the route up for (`ip route get`, no traffic is sent). */
  routeTo: string[];
  /** Read-only guard commands (`unless`): their exit status, keyed by the rendered command (renderCommand). */
  guards: Command[];
}

export function emptyRequest(): FactRequest {
  return { sysctls: [], sha256: [], stats: [], exists: [], contents: [], symlinks: [], manifests: [], units: [], packages: [], routeTo: [], guards: [], optional: [], nodes: [] };
}

type ListKey = Exclude<keyof FactRequest, "guards">;

export function mergeRequests(...reqs: Partial<FactRequest>[]): FactRequest {
  const out = emptyRequest();
  const keys = (Object.keys(out) as (keyof FactRequest)[]).filter((k): k is ListKey => k !== "guards");
  for (const r of reqs) for (const k of keys) for (const v of r[k] ?? []) if (!out[k].includes(v)) out[k].push(v);
  for (const k of keys) out[k].sort();
  const guards = new Map<string, Command>();
  for (const r of reqs) for (const g of r.guards ?? []) guards.set(renderCommand(g), g);
  out.guards = [...guards.keys()].sort().map((k) => guards.get(k)!);
  return out;
}

export type OsFamily = "debian" | "redhat" | "suse" | "arch" | "alpine" | "unknown";

export interface OsFact {
  id: string;
  idLike: string[];
  versionId: string;
  prettyName: string;
  family: OsFamily;
}

export interface AddressFact {
  dev: string;
  family: "inet" | "inet6";
  address: string;
  prefix: number;
  scope: string;
}

export interface LinkFact {
  index: number;
  name: string;
  flags: string[];
  mtu: number;
  state: string;
  mac?: string;
}

export interface RouteFact {
  /** For `ip route get`: the address asked about. For the default route: "default". */
  to: string;
  via?: string;
  dev?: string;
  src?: string;
  /** local / unreachable / ... when not a unicast route. */
  type?: string;
  /** The route's priority (`metric`); absent: 0, the most preferred. */
  metric?: number;
}

export interface StatFact {
  mode: number;
  owner: string;
  group: string;
}

export interface UnitFact {
  /** enabled, disabled, static, masked, not-found, ... ("" when systemctl printed nothing). */
  enabled: string;
  /** active, inactive, failed, activating, ... */
  active: string;
}

export interface HostFacts {
  os: OsFact;
  kernel: string;
  packageManager: "apt" | "dnf" | "yum" | "none";
  init: "systemd" | "other";
  /** `node --version` without the v; undefined when Node is not installed or not asked for (optional: ["node"]). */
  nodeVersion?: string;
  /** `uname -m` (x86_64, aarch64, ...): what a native binary built elsewhere must match. */
  arch?: string;
  /** Requested Node runtimes (FactRequest.nodes): path -> version without the v; absent: nothing there answered `--version`. */
  nodes?: Record<string, string>;
  addresses: AddressFact[];
  links: LinkFact[];
  defaultRoutes: RouteFact[];
  routes: Record<string, RouteFact>;
  sysctls: Record<string, string>;
  sha256: Record<string, string>;
  stats: Record<string, StatFact>;
  exists: string[];
  /** Content of requested files; absent key: the file does not exist. */
  contents: Record<string, Buffer>;
  /** Requested path -> what the symlink there points at, as written (`readlink`); absent: not a symlink. */
  symlinks: Record<string, string>;
  /** dir -> (path relative to dir -> sha256); absent key: the directory does not exist. */
  manifests: Record<string, Record<string, string>>;
  units: Record<string, UnitFact>;
  /** package -> installed version; absent: not installed. */
  packages: Record<string, string>;
  /**
   * apt hosts, requested packages: package -> the version `apt-get install` would pick from the
   * package lists, null when apt knows the name but has no candidate (a virtual package, or lists
   * that no longer carry it); absent: apt does not know the name at all (empty or stale lists, a
   * typo). Undefined when not gathered (no packages asked for, no apt-cache on the host).
   */
  aptCandidates?: Record<string, string | null>;
  /** guard command -> exit status. */
  guards: Record<string, number>;
}

const MARK = "@@lvsctl-fact";

/** sysctl key <-> /proc/sys path: dots separate levels, and a `/` in a key stands for a dot in a name (sysctl(8)). */
export function sysctlPath(key: string): string {
  // A key is a path under /proc/sys: one with `..` in it would read any file as root.
  const problem = sysctlKeyProblem(key, { glob: true });
  if (problem) throw new Error(`sysctl key ${JSON.stringify(key)}: ${problem}`);
  return "/proc/sys/" + key.split(".").map((s) => s.replace(/\//g, ".")).join("/");
}

export function sysctlKey(path: string): string {
  return path.replace(/^\/proc\/sys\//, "").split("/").map((s) => s.replace(/\./g, "/")).join(".");
}

/** A /proc/sys path as one shell word with its `*` segments left unquoted, so the shell expands them. */
function globPath(key: string): Shell {
  return Shell.join(
    sysctlPath(key)
      .split("/")
      .map((seg) => (seg === "*" ? shellCode("*") : seg === "" ? shellCode("") : sh`${seg}`)),
    "/",
  );
}

/** The one fact-gathering script for a request. Read-only (guards are the user's read-only commands). */
export function factScript(req: FactRequest): Shell {
  const lines: Shell[] = [
    sh`LC_ALL=C; export LC_ALL`,
    sh`m() { printf '\\n${shellCode(MARK)} %s@@\\n' "$1"; }`,
    sh`m os; cat /etc/os-release 2>/dev/null`,
    sh`m kernel; uname -r`,
    sh`m arch; uname -m`,
    sh`m pkgmgr; for p in apt-get dnf yum; do command -v $p >/dev/null 2>&1 && echo $p; done`,
    sh`m init; if [ -d /run/systemd/system ]; then echo systemd; else echo other; fi`,
    ...(req.optional.includes("node") ? [sh`m node; node --version 2>/dev/null`] : []),
    sh`m addr; ip -o addr show 2>/dev/null`,
    sh`m link; ip -o link show 2>/dev/null`,
    sh`m defroute; ip -o route show default 2>/dev/null; ip -o -6 route show default 2>/dev/null`,
  ];
  // `to`: the next word is the address even if it looked like an option.
  if (req.nodes.length) lines.push(sh`m nodes; for n in ${req.nodes}; do v=$("$n" --version 2>/dev/null </dev/null) && printf '%s\\t%s\\n' "$n" "$v"; done`);
  if (req.routeTo.length) lines.push(sh`m routeto; for a in ${req.routeTo}; do printf '%s|' "$a"; ip -o route get to "$a" 2>/dev/null; echo; done`);
  if (req.sysctls.length)
    // One grep for every value (`path:value` lines). Not the shell's `read`: dash reads byte by
    // byte, and /proc/sys integer files answer a read at a non-zero offset with EOF ("4096" -> "4").
    lines.push(sh`m sysctl; grep -sH '' ${Shell.join(req.sysctls.map(globPath), " ")}`);
  // One sha256sum / stat for all the files that exist (the list is built with shell builtins;
  // only regular files are hashed, so a FIFO at a managed path cannot hang the script).
  if (req.sha256.length) lines.push(sh`m sha256; set --; for f in ${req.sha256}; do [ -f "$f" ] && set -- "$@" "$f"; done; [ $# -gt 0 ] && sha256sum -- "$@"`);
  if (req.stats.length) lines.push(sh`m stats; set --; for f in ${req.stats}; do [ -e "$f" ] && set -- "$@" "$f"; done; [ $# -gt 0 ] && stat -c '%a %U %G %n' -- "$@"`);
  if (req.exists.length) lines.push(sh`m exists; for f in ${req.exists}; do [ -e "$f" ] && printf '%s\\n' "$f"; done`);
  if (req.contents.length) lines.push(sh`m contents; for f in ${req.contents}; do if [ -f "$f" ]; then printf '%s\\t+' "$f"; base64 -w 0 < "$f"; echo; fi; done`);
  // A target holding a newline would split its line: such a link is not one lvsctl made, and it reads as another target.
  if (req.symlinks.length) lines.push(sh`m symlinks; for f in ${req.symlinks}; do [ -L "$f" ] && printf '%s\\t%s\\n' "$f" "$(readlink -- "$f")"; done`);
  if (req.manifests.length) lines.push(sh`m manifests; for d in ${req.manifests}; do [ -d "$d" ] && { printf 'dir %s\\n' "$d"; find "$d" -type f -exec sha256sum {} +; }; done`);
  if (req.units.length)
    // One systemctl for all units (is-enabled + is-active per unit would be two each).
    lines.push(sh`m units; systemctl show --property=Id,LoadState,UnitFileState,ActiveState -- ${req.units} 2>/dev/null`);
  if (req.packages.length)
    // `--`: a name is never read as an option, whatever the request holds.
    lines.push(
      sh`m packages; if command -v dpkg-query >/dev/null 2>&1; then dpkg-query -W -f='\${Package}\\t\${db:Status-Abbrev}\\t\${Version}\\n' -- ${req.packages} 2>/dev/null; elif command -v rpm >/dev/null 2>&1; then rpm -q --qf '%{NAME}\\tii\\t%{VERSION}-%{RELEASE}\\n' -- ${req.packages} 2>/dev/null; fi`,
    );
  if (req.packages.length)
    // What apt would install, from the lists on disk (about 20 ms on a lab host). It changes no
    // state; as root, apt-cache may rewrite its own cache (/var/cache/apt/pkgcache.bin) when the
    // lists are newer. The section is printed only where apt-cache exists: absent, "not gathered".
    lines.push(sh`command -v apt-cache >/dev/null 2>&1 && { m aptpolicy; apt-cache policy -- ${req.packages} 2>/dev/null; }`);
  if (req.guards.length) {
    lines.push(sh`m guards`);
    req.guards.forEach((g, i) => lines.push(sh`( ${asSimple(g)} ) </dev/null >/dev/null 2>&1; echo ${i} "$?"`));
  }
  lines.push(sh`m end; true`);
  return Shell.join([...lines, sh``], "\n");
}

export function factCommand(req: FactRequest): Command {
  return factScript(req);
}

/** Split the script's output into sections by marker. */
export function splitSections(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = new RegExp(`^${MARK} ([a-z0-9]+)@@$`, "gm");
  const marks: { name: string; start: number; end: number }[] = [];
  for (let m = re.exec(stdout); m; m = re.exec(stdout)) marks.push({ name: m[1]!, start: m.index, end: m.index + m[0].length });
  marks.forEach((mk, i) => {
    const next = marks[i + 1];
    out.set(mk.name, stdout.slice(mk.end + 1, next ? next.start : stdout.length).replace(/\n$/, ""));
  });
  return out;
}

function nonEmptyLines(text: string): string[] {
  return text.split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");
}

export function parseOsRelease(text: string): OsFact {
  const kv: Record<string, string> = {};
  for (const line of nonEmptyLines(text)) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if (/^".*"$/.test(v) || /^'.*'$/.test(v)) v = v.slice(1, -1).replace(/\\(["$`\\])/g, "$1");
    kv[m[1]!] = v;
  }
  const id = (kv.ID ?? "").toLowerCase();
  const idLike = (kv.ID_LIKE ?? "").toLowerCase().split(/\s+/).filter(Boolean);
  const all = [id, ...idLike];
  const family: OsFamily = all.some((x) => x === "debian" || x === "ubuntu")
    ? "debian"
    : all.some((x) => ["rhel", "fedora", "centos", "rocky", "almalinux"].includes(x))
      ? "redhat"
      : all.some((x) => x.includes("suse"))
        ? "suse"
        : all.includes("arch")
          ? "arch"
          : all.includes("alpine")
            ? "alpine"
            : "unknown";
  return { id, idLike, versionId: kv.VERSION_ID ?? "", prettyName: kv.PRETTY_NAME ?? "", family };
}

/** `ip -o addr show`: `2: eth0    inet 10.0.0.5/24 brd ... scope global eth0\       valid_lft ...` */
export function parseIpAddr(text: string): AddressFact[] {
  const out: AddressFact[] = [];
  for (const line of nonEmptyLines(text)) {
    const m = /^\d+:\s+(\S+)\s+(inet6?)\s+([0-9a-fA-F.:]+)(?:\/(\d+))?(.*)$/.exec(line);
    if (!m) continue;
    const family = m[2] as "inet" | "inet6";
    const scope = /\bscope (\S+)/.exec(m[5]!)?.[1] ?? "global";
    out.push({ dev: m[1]!.replace(/@.*$/, ""), family, address: m[3]!.toLowerCase(), prefix: m[4] ? Number(m[4]) : family === "inet" ? 32 : 128, scope });
  }
  return out;
}

/** `ip -o link show`: `4: eth0@if5: <BROADCAST,UP> mtu 1500 ... state UP ...\    link/ether 02:..` */
export function parseIpLink(text: string): LinkFact[] {
  const out: LinkFact[] = [];
  for (const line of nonEmptyLines(text)) {
    const m = /^(\d+):\s+([^:@\s]+)(?:@[^:\s]+)?:\s+<([^>]*)>(.*)$/.exec(line);
    if (!m) continue;
    const rest = m[4]!;
    const link: LinkFact = {
      index: Number(m[1]),
      name: m[2]!,
      flags: m[3]!.split(",").filter(Boolean),
      mtu: Number(/\bmtu (\d+)/.exec(rest)?.[1] ?? 0),
      state: /\bstate (\S+)/.exec(rest)?.[1] ?? "UNKNOWN",
    };
    const mac = /link\/\S+ ([0-9a-f:]{17})/.exec(rest)?.[1];
    if (mac) link.mac = mac;
    out.push(link);
  }
  return out;
}

/** One route line (`ip -o route show default` or `ip -o route get X`). */
export function parseRouteLine(line: string, to?: string): RouteFact | undefined {
  const words = line.replace(/\\.*$/, "").trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return undefined;
  const r: RouteFact = { to: to ?? "" };
  let i = 0;
  if (["local", "unreachable", "blackhole", "prohibit", "broadcast", "multicast", "throw"].includes(words[0]!)) r.type = words[i++]!;
  const dest = words[i++];
  if (to === undefined) r.to = dest ?? "";
  for (; i < words.length; i++) {
    const w = words[i]!;
    const next = words[i + 1];
    if (next === undefined) break;
    if (w === "via") r.via = next.replace(/^inet6? /, "");
    else if (w === "dev") r.dev = next;
    else if (w === "src") r.src = next;
    else if (w === "metric" && /^\d+$/.test(next)) r.metric = Number(next);
    else continue;
    i++;
  }
  return r;
}

export function parseDefaultRoutes(text: string): RouteFact[] {
  return nonEmptyLines(text).map((l) => parseRouteLine(l)).filter((r): r is RouteFact => r !== undefined);
}

/** `ADDR|<ip -o route get ADDR output>` per line. */
export function parseRouteTo(text: string): Record<string, RouteFact> {
  const out: Record<string, RouteFact> = {};
  for (const line of nonEmptyLines(text)) {
    const bar = line.indexOf("|");
    if (bar < 0) continue;
    const addr = line.slice(0, bar);
    const r = parseRouteLine(line.slice(bar + 1), addr);
    if (r) out[addr] = r;
  }
  return out;
}

/** `grep -H` output: `/proc/sys/a/b/c:value` per line (no /proc/sys path holds a colon). */
export function parseSysctls(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of nonEmptyLines(text)) {
    const eq = line.indexOf(":");
    if (eq < 0) continue;
    out[sysctlKey(line.slice(0, eq))] = line.slice(eq + 1).trim().replace(/\s+/g, " ");
  }
  return out;
}

/** `sha256sum` output: `<64 hex>  <path>`. */
export function parseSha256(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of nonEmptyLines(text)) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (m) out[m[2]!] = m[1]!;
  }
  return out;
}

/** `stat -c '%a %U %G %n'`: `644 root root /etc/x`. */
export function parseStats(text: string): Record<string, StatFact> {
  const out: Record<string, StatFact> = {};
  for (const line of nonEmptyLines(text)) {
    const m = /^([0-7]+) (\S+) (\S+) (.+)$/.exec(line);
    if (m) out[m[4]!] = { mode: parseInt(m[1]!, 8), owner: m[2]!, group: m[3]! };
  }
  return out;
}

export function parseContents(text: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const line of nonEmptyLines(text)) {
    const m = /^([^\t]+)\t\+(.*)$/.exec(line);
    if (m) out[m[1]!] = Buffer.from(m[2]!, "base64");
  }
  return out;
}

/** `PATH\tTARGET` per line. */
export function parseSymlinks(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of nonEmptyLines(text)) {
    const tab = line.indexOf("\t");
    if (tab > 0) out[line.slice(0, tab)] = line.slice(tab + 1);
  }
  return out;
}

export function parseManifests(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let dir: string | undefined;
  for (const line of nonEmptyLines(text)) {
    if (line.startsWith("dir ")) {
      dir = line.slice(4);
      out[dir] = {};
      continue;
    }
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m || dir === undefined) continue;
    const prefix = dir.endsWith("/") ? dir : dir + "/";
    if (m[2]!.startsWith(prefix)) out[dir]![m[2]!.slice(prefix.length)] = m[1]!;
  }
  return out;
}

/**
 * `systemctl show --property=Id,LoadState,UnitFileState,ActiveState -- U...`: one block of
 * `Key=value` lines per unit, blocks separated by an empty line, in the order asked. The Id of a
 * unit that does not exist is still the name asked for (LoadState=not-found).
 */
export function parseUnits(text: string, asked: string[] = []): Record<string, UnitFact> {
  const out: Record<string, UnitFact> = {};
  const blocks = text.split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
  blocks.forEach((b, i) => {
    const kv: Record<string, string> = {};
    for (const line of b.split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) kv[line.slice(0, eq)] = line.slice(eq + 1).trim();
    }
    // By position when every unit answered (an alias answers with its target's Id), else by Id.
    const name = blocks.length === asked.length ? asked[i] : kv.Id;
    if (!name) return;
    const notFound = kv.LoadState === "not-found";
    out[name] = { enabled: notFound ? "not-found" : kv.UnitFileState || (kv.LoadState === "masked" ? "masked" : "not-found"), active: kv.ActiveState || "inactive" };
  });
  return out;
}

/** dpkg-query `pkg\tii \tversion` (only fully installed counts) or rpm's same shape. */
export function parsePackages(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of nonEmptyLines(text)) {
    const [name, status, version] = line.split("\t");
    if (!name || !status || version === undefined || version === "") continue;
    if (status.trim() !== "ii") continue;
    out[name.replace(/:.*$/, "")] = version;
  }
  return out;
}

/**
 * `apt-cache policy NAME...` (LC_ALL=C): for each name apt knows, a `NAME:` line at column 0, then
 * `  Installed: ...`, `  Candidate: VERSION` or `  Candidate: (none)`, and the version table. A name
 * apt does not know prints nothing at all (exit 0). Only the names asked for are kept: apt-cache
 * reads a name it cannot find as a pattern, which may list other packages.
 */
export function parseAptPolicy(text: string, asked: string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  let name: string | undefined;
  for (const line of nonEmptyLines(text)) {
    const head = /^(\S+):$/.exec(line);
    if (head) {
      name = asked.includes(head[1]!) ? head[1]! : undefined;
      continue;
    }
    const cand = /^\s+Candidate: (\S+)$/.exec(line);
    if (cand && name !== undefined) out[name] = cand[1] === "(none)" ? null : cand[1]!;
  }
  return out;
}

export function parseGuards(text: string, guards: readonly Command[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of nonEmptyLines(text)) {
    const m = /^(\d+) (\d+)$/.exec(line);
    const g = m ? guards[Number(m[1])] : undefined;
    if (m && g !== undefined) out[renderCommand(g)] = Number(m[2]);
  }
  return out;
}

/** Parse the whole output of factScript(req). Pure. */
export function parseFacts(stdout: string, req: FactRequest): HostFacts {
  const s = splitSections(stdout);
  const get = (k: string) => s.get(k) ?? "";
  if (!s.has("end")) throw new Error("fact output is incomplete (no end marker)");
  const pm = nonEmptyLines(get("pkgmgr"));
  const node = get("node").trim().replace(/^v/, "");
  const facts: HostFacts = {
    os: parseOsRelease(get("os")),
    kernel: get("kernel").trim(),
    packageManager: pm.includes("apt-get") ? "apt" : pm.includes("dnf") ? "dnf" : pm.includes("yum") ? "yum" : "none",
    init: get("init").trim() === "systemd" ? "systemd" : "other",
    addresses: parseIpAddr(get("addr")),
    links: parseIpLink(get("link")),
    defaultRoutes: parseDefaultRoutes(get("defroute")),
    routes: parseRouteTo(get("routeto")),
    sysctls: parseSysctls(get("sysctl")),
    sha256: parseSha256(get("sha256")),
    stats: parseStats(get("stats")),
    exists: nonEmptyLines(get("exists")),
    contents: parseContents(get("contents")),
    symlinks: parseSymlinks(get("symlinks")),
    manifests: parseManifests(get("manifests")),
    units: parseUnits(get("units"), req.units),
    packages: parsePackages(get("packages")),
    guards: parseGuards(get("guards"), req.guards),
  };
  if (node) facts.nodeVersion = node;
  const arch = get("arch").trim();
  if (arch) facts.arch = arch;
  if (req.nodes.length) {
    facts.nodes = {};
    for (const line of nonEmptyLines(get("nodes"))) {
      const [path, version] = line.split("\t");
      if (path && version) facts.nodes[path] = version.trim().replace(/^v/, "");
    }
  }
  if (s.has("aptpolicy")) facts.aptCandidates = parseAptPolicy(get("aptpolicy"), req.packages);
  return facts;
}
