// Issue 8 item 3, a property per output format: hostile strings (control characters, comment and
// brace characters, quotes, backslashes, shell characters, `$_` expansions, `%` specifiers,
// lines of 1,020-1,100 bytes, unicode, a leading '-', '..' segments) put into every string field
// of the schema (text.ts lists them: walkText over textFields(Inventory), plus host and group
// names). For each: either validate refuses the inventory with a located error (file:line:col,
// at the hostile value's own line when text.ts refuses the value), or every file rendered for
// both backends reads back, with a reader of that format written as its consumer reads it
// (test/fixtures/render/readers.ts), to the same directives as the clean inventory's, the value
// intact in the directive the clean value was in. `keepalived -t` and `systemd-analyze verify`
// stay in the lab tests. HOSTILE_RUNS=200 for a deeper search.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Document, LineCounter, isMap, isPair, isScalar, parseDocument, type Node } from "yaml";
import { parseInventory, type Cluster, type Diagnostic } from "../../../src/inventory/index.js";
import { Inventory } from "../../../src/inventory/schema.js";
import { splitScript, textFields, textProblem, walkText, type TextKind } from "../../../src/inventory/text.js";
import { renderAll } from "../../../src/render/index.js";
import { parseKeepalived, parseLvsdJson, parseModules, parseSysctl, parseUnit, type Parsed } from "../../fixtures/render/readers.js";

const RUNS = Number(process.env["HOSTILE_RUNS"] ?? 8);

/** Every string field set, each to a value found nowhere else, so its place in the files is known. */
const CLEAN = {
  defaults: { user: "defuser1", key_file: "~/.ssh/keyfile1", agent: "/run/agentsock1", connect_timeout: 5, password: "defpw1", become: { user: "defbecome1", password: { prompt: "defbecomeprompt1" } } },
  hosts: {
    dirhosta: { address: "10.77.0.11", user: "hostuser1", key_file: "~/.ssh/hostkey1", agent: "/run/hostagent1", become: { method: "sudo", user: "becomeuser1", password: { env: "BECOME_PW" } }, vars: { hostvarkey1: 1 } },
    dirhostb: { address: "10.77.0.12", password: { prompt: "sshprompt1" }, jump: ["jumphost1"] },
    rshosta: { address: "10.77.0.21", groups: ["extragroup1"], jump: "jumphost1" },
    rshostb: { address: "10.77.0.22", password: { file: "/secrets/pwfile1" } },
    jumphost1: { address: "10.77.0.5" },
  },
  groups: {
    directors: { hosts: ["dirhosta", "dirhostb"] },
    realservers: { hosts: ["rshosta", "rshostb"], vars: { groupvarkey1: 2 }, ssh: { user: "groupuser1", key_file: "~/.ssh/grpkey1", agent: "/run/grpagent1", password: { file: "/secrets/grppw1" }, become: { user: "grpbecome1", password: "grpbecomepw1" } } },
    extragroup1: { children: ["childgroup1"], ssh: { jump: ["jumphost1"] } },
    childgroup1: {},
  },
  director: {
    backend: "keepalived",
    keepalived: { from: "source", version: "2.2.8", tarball: "katarball1.tar.gz", sha256: "ab".repeat(32), prefix: "/opt/kaprefix1", sysconfdir: "/etc/kasysconf1", configure_options: ["--enable-opt1"] },
    lvsd: { install_dir: "/opt/lvsdinstall1", node: "/opt/noderuntime1/bin/node" },
    sysctls: { "net.ipv4.tcp_fin_timeout": "31", "net.core.somaxconn": "4097 8193" },
  },
  global_defs: { router_id: "routerid1", lvs_id: "lvsid1", smtp_server: "smtphost1 25", notification_email: ["ops@example.com"], lvs_sync_daemon: { interface: "ethsync1", instance: "VIname2" } },
  vrrp_instances: [
    {
      name: "VIname1",
      interface: "ethinsta1",
      virtual_router_id: 51,
      authentication: { auth_type: "PASS", auth_pass: "authpw1" },
      virtual_ipaddress: ["10.77.0.100/24 dev ethvipdev1 label viplabel1:l", { address: "10.77.0.101", dev: "ethvipdev2", label: "viplabel2:l" }],
      track_interface: ["ethtrack1"],
      notify_master: "/usr/local/bin/nmaster1 arg1",
      notify_backup: "/usr/local/bin/nbackup1",
      notify_fault: "/usr/local/bin/nfault1",
      notify_stop: "/usr/local/bin/nstop1",
      notify: "/usr/local/bin/ngeneric1",
      members: { dirhosta: { priority: 150, interface: "ethmember1" }, dirhostb: { priority: 100 } },
    },
    {
      name: "VIname2",
      interface: "ethinstb1",
      virtual_router_id: 52,
      authentication: { auth_type: "PASS", auth_pass: { env: "VRRP_PW" } },
      virtual_ipaddress: ["10.77.1.100/24"],
      virtual_ipaddress_excluded: ["10.77.1.101/24 dev ethexdev1 label exlabel1:l", { address: "10.77.1.102", dev: "ethexdev2", label: "exlabel2:l" }],
    },
  ],
  vrrp_sync_groups: [
    {
      name: "SGname1",
      group: ["VIname1", "VIname2"],
      notify_master: "/usr/local/bin/sgmaster1",
      notify_backup: "/usr/local/bin/sgbackup1",
      notify_fault: "/usr/local/bin/sgfault1",
      notify_stop: "/usr/local/bin/sgstop1",
      notify: "/usr/local/bin/sggeneric1",
    },
  ],
  virtual_servers: [
    {
      name: "svcname1",
      vip: "10.77.0.100",
      port: 80,
      virtualhost: "svcvhost1",
      quorum_up: "/usr/local/bin/qup1",
      quorum_down: "/usr/local/bin/qdown1",
      check: { type: "HTTP_GET", url: [{ path: "/urlpath1", digest: "0123456789abcdef0123456789abcdef" }], virtualhost: "chkvhost1" },
      real_servers: [
        { host: "rshosta", notify_up: "/usr/local/bin/nup1", notify_down: "/usr/local/bin/ndown1" },
        { host: "rshostb", check: { type: "MISC_CHECK", misc_path: "/usr/local/bin/misc1 x" } },
      ],
    },
    {
      name: "svcname2",
      vip: "10.77.0.101",
      port: 443,
      check: { type: "SSL_GET", url: [{ path: "/urlpath2" }], sni_name: "sniname1", virtualhost: "sslvhost1" },
      real_servers: [
        { host: "rshosta", check: { type: "SSL_GET", url: [{ path: "/rsurlpath1", digest: "fedcba98765432100123456789abcdef" }], virtualhost: "rsvhost1", sni_name: "rssni1" } },
        { host: "rshostb" },
      ],
    },
    { name: "svcname3", vip: "10.77.0.100", port: 8080, check: { type: "MISC_CHECK", misc_path: "/usr/local/bin/svcmisc1" }, real_servers: [{ host: "rshosta" }] },
  ],
};
const ENV = { VRRP_PW: "envpw12", BECOME_PW: "becomepw" };
const FILE = "inv.yml";

type Format = "keepalived.conf" | "systemd unit" | "sysctl.d" | "modules-load.d" | "lvsd.json";
const READERS: Record<Format, (text: string) => Parsed> = {
  "keepalived.conf": parseKeepalived,
  "systemd unit": parseUnit,
  "sysctl.d": parseSysctl,
  "modules-load.d": parseModules,
  "lvsd.json": parseLvsdJson,
};

function formatOf(path: string): Format {
  if (path.endsWith(".service")) return "systemd unit";
  if (path.includes("/sysctl.d/")) return "sysctl.d";
  if (path.includes("/modules-load.d/")) return "modules-load.d";
  if (path.endsWith(".json")) return "lvsd.json";
  if (path.endsWith("keepalived.conf")) return "keepalived.conf";
  throw new Error(`no reader for ${path}`);
}

interface File {
  format: Format;
  text: string;
  parsed: Parsed;
}

/** Every file of every host for both backends, by `host backend path`. */
function renderEverything(cluster: Cluster): Map<string, File> {
  const out = new Map<string, File>();
  // A renamed variable that is not set (validate leaves that to the run) resolves like a set one.
  const resolveSecret = (ref: unknown) => (typeof ref === "string" ? ref : "env" in (ref as object) ? (ENV[(ref as { env: keyof typeof ENV }).env] ?? "unsetpw") : "***");
  for (const backend of ["keepalived", "lvsd"] as const) {
    for (const [host, files] of renderAll(cluster, { backend, resolveSecret })) {
      for (const f of files) {
        const format = formatOf(f.path);
        out.set(`${host} ${backend} ${f.path}`, { format, text: f.content, parsed: READERS[format](f.content) });
      }
    }
  }
  return out;
}

// --- the fields -------------------------------------------------------------------------------

interface Field {
  path: (string | number)[];
  kind: TextKind;
  clean: string;
  /** The value is a mapping key (a host name, a sysctl key, a var name). */
  key: boolean;
}

const cleanInventory = Inventory.parse(CLEAN);
const FIELDS: Field[] = [];
walkText(cleanInventory, textFields(Inventory), (path, kind, clean, key) => {
  // Paths into what the schema filled in (defaults) are not in the file.
  if (getIn(CLEAN, key ? path.slice(0, -1) : path) !== undefined) FIELDS.push({ path, kind, clean, key });
});
// Host and group names (LVS215's, not walkText's): renamed with every reference to them.
for (const h of Object.keys(CLEAN.hosts)) FIELDS.push({ path: ["hosts", h], kind: "name", clean: h, key: true });
for (const g of ["extragroup1", "childgroup1"]) FIELDS.push({ path: ["groups", g], kind: "name", clean: g, key: true });

function getIn(o: unknown, path: (string | number)[]): unknown {
  let v = o;
  for (const k of path) v = v !== null && typeof v === "object" ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

/** A copy of CLEAN with the field set to `v` (a key renamed, for names with every reference). */
function mutate(f: Field, v: string): unknown {
  const copy = structuredClone(CLEAN) as unknown;
  if (f.key && f.kind === "name") {
    const rename = (x: unknown): unknown => {
      if (x === f.clean) return v;
      if (Array.isArray(x)) return x.map(rename);
      if (x !== null && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, y]) => [k === f.clean ? v : k, rename(y)]));
      return x;
    };
    return rename(copy);
  }
  const parent = getIn(copy, f.path.slice(0, -1)) as Record<string | number, unknown>;
  const last = f.path[f.path.length - 1]!;
  if (f.key) {
    // Keep the key's place among its siblings: the files list mappings in order.
    const entries = Object.entries(parent).map(([k, y]) => [k === last ? v : k, y] as const);
    for (const k of Object.keys(parent)) delete parent[k];
    for (const [k, y] of entries) parent[k] = y;
  } else parent[last] = v;
  return copy;
}

// --- the hostile strings ------------------------------------------------------------------------

const PIECES = [
  "\n", "\r", "\r\n", "\u0000", "\t", "\u001b", "\u007f", "\u0085", "\u2028", "\u202e", "\u000b",
  "#", "!", "{", "}", '"', "\\", ";", "$", "`", " ", "'", "%h", "%%", "=", "@", "~", ":", "*", "/",
  "$_PWD", "${_HASH}", "$HOME", "..", "/../", "//", "-", "é", "日本", "😀", "\ufeff",
  "\ninclude /tmp/x.conf", "\nExecStartPre=/bin/touch /tmp/x", "\nkernel.x = 1", "\\\n", " # x", "} x {", '" x "',
];

function hostile(clean: string): fc.Arbitrary<string> {
  const piece = fc.constantFrom(...PIECES);
  return fc.oneof(
    fc.array(piece, { minLength: 1, maxLength: 4 }).map((a) => a.join("")),
    fc.tuple(piece, fc.constantFrom("front", "back", "middle")).map(([p, at]) =>
      at === "front" ? p + clean : at === "back" ? clean + p : clean.slice(0, clean.length >> 1) + p + clean.slice(clean.length >> 1),
    ),
    // keepalived cuts lines at 1023 bytes: what follows would be a line of its own
    fc.tuple(fc.integer({ min: 1020, max: 1100 }), fc.constantFrom("", " include /tmp/x.conf", "}", "é")).map(([n, tail]) => (clean + "x".repeat(n)).slice(0, n - tail.length) + tail),
    fc.constantFrom(`-${clean}`, `${clean}/..`, `/../${clean}`, `${clean} ${clean}`, ` ${clean}`, `${clean} `, ""),
    fc.string({ unit: "binary", maxLength: 10 }),
  );
}

// --- the checks -------------------------------------------------------------------------------

const clean = (() => {
  const r = parseInventory(new Document(CLEAN).toString({ lineWidth: 0 }), FILE, { env: ENV });
  assert.ok(r.ok, r.diagnostics.map((d) => `${d.code} ${d.message}`).join("\n"));
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === "error"), []);
  return renderEverything(r.cluster);
})();

/** The line (1-based) of the field's node in the YAML text. */
function lineOf(text: string, f: Field, v: string): number | undefined {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false });
  const at = f.key ? f.path.slice(0, -1) : f.path;
  const path = f.key && f.kind === "name" ? f.path.slice(0, -1) : at;
  let node: Node | undefined;
  if (f.key) {
    const map = doc.getIn(path, true);
    if (isMap(map)) {
      const pair = map.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === v);
      node = pair && isScalar(pair.key) ? pair.key : undefined;
    }
  } else {
    const n = doc.getIn(path, true);
    node = isScalar(n) ? n : undefined;
  }
  return node?.range ? lc.linePos(node.range[0]).line : undefined;
}

/** Where the value shows in a file, as the reader gives it back. */
function pieces(format: Format, kind: TextKind, v: string): string[] {
  if (format === "lvsd.json" && kind === "script") return [splitScript(v).join("\u0001")];
  if (kind === "vip" || kind === "kaBare") return v.trim().split(/\s+/);
  if (kind === "path") return [v.replace(/\/+$/, "")];
  if (kind === "kaText" && /^[0-9a-fA-F]{32}$/.test(v)) return [v.toLowerCase()]; // a url digest
  return [v];
}

const text = (d: { key: string; words: string[] }) => [d.key, ...d.words].join("\u0001");

function checkOne(f: Field, v: string, formats: Format[]): void {
  const yaml = new Document(mutate(f, v)).toString({ lineWidth: 0 });
  const r = parseInventory(yaml, FILE, { env: ENV });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  const where = `${f.path.join(".")}${f.key ? " (key)" : ""} = ${JSON.stringify(v).slice(0, 120)}`;
  if (!r.ok || errors.length > 0) {
    assert.ok(errors.length > 0, `${where}: refused without an error`);
    const lines = yaml.split("\n");
    const located = errors.filter((d): d is Diagnostic & { location: NonNullable<Diagnostic["location"]> } => d.location !== undefined);
    assert.ok(located.length > 0, `${where}: refused without a location: ${errors.map((d) => d.message).join("; ")}`);
    for (const d of located) {
      assert.equal(d.location.file, FILE);
      assert.ok(d.location.line >= 1 && d.location.line <= lines.length && d.location.col >= 1 && d.location.col <= lines[d.location.line - 1]!.length + 1, `${where}: ${d.location.line}:${d.location.col} outside the file`);
    }
    if (textProblem(f.kind, v) && f.kind !== "name") {
      const line = lineOf(yaml, f, v);
      if (line !== undefined) assert.ok(located.some((d) => d.location.line === line), `${where}: text.ts refuses it, but no error is at its line ${line}: ${located.map((d) => `${d.location.line}: ${d.message}`).join("; ")}`);
    }
    return;
  }
  const got = renderEverything(r.cluster);
  const rename = (k: string) => (f.kind === "name" && f.key ? k.split(" ").map((w) => (w === f.clean ? v : w)).join(" ") : k);
  assert.deepEqual([...got.keys()].sort(), [...clean.keys()].map(rename).sort(), `${where}: other files`);
  for (const [k, was] of clean) {
    if (!formats.includes(was.format)) continue;
    const now = got.get(rename(k))!;
    const at = `${where}: ${k}`;
    assert.deepEqual(now.parsed.problems, was.parsed.problems, at);
    assert.equal(now.parsed.directives.length, was.parsed.directives.length, `${at}: ${now.parsed.directives.length} directives, not ${was.parsed.directives.length}`);
    assert.deepEqual(now.parsed.directives.map((d) => d.key.split("/").length), was.parsed.directives.map((d) => d.key.split("/").length), `${at}: blocks moved`);
    // The value intact where the clean value was: in the same directive, or (a renamed key of
    // a sorted mapping: sysctls) in as many directives.
    const cleanPieces = pieces(was.format, f.kind, f.clean);
    const newPieces = pieces(was.format, f.kind, v);
    const holds = (d: { key: string; words: string[] } | undefined, ps: string[]) => d !== undefined && ps.every((p) => text(d).includes(p));
    const had = was.parsed.directives.flatMap((d, i) => (holds(d, cleanPieces) ? [i] : []));
    if (had.length > 0 && !had.every((i) => holds(now.parsed.directives[i], newPieces))) {
      const has = now.parsed.directives.filter((d) => holds(d, newPieces)).length;
      assert.ok(has >= had.length, `${at}: the value is in ${has} directive(s), not ${had.length} (${had.map((i) => JSON.stringify(text(now.parsed.directives[i]!)).slice(0, 160)).join(", ")})`);
    }
  }
}

const FORMATS: Format[] = ["keepalived.conf", "systemd unit", "sysctl.d", "modules-load.d", "lvsd.json"];

/** The formats whose files show the field's clean value (in a directive or a comment). */
function reaches(f: Field): Format[] {
  return FORMATS.filter((fmt) => [...clean.values()].some((file) => file.format === fmt && file.text.includes(f.clean.replace(/\/+$/, ""))));
}

/**
 * Each field is tried once, against every file of every format (a try costs a parse and two
 * renders, ~20 ms), under the rarest format it reaches, so each format's property has fields.
 */
const RAREST: Format[] = ["modules-load.d", "sysctl.d", "systemd unit", "lvsd.json", "keepalived.conf"];
const byFormat = new Map<Format | "none", Field[]>();
for (const f of FIELDS) {
  const r = reaches(f);
  const k = RAREST.find((fmt) => r.includes(fmt)) ?? "none";
  byFormat.set(k, [...(byFormat.get(k) ?? []), f]);
}

test("the clean inventory sets every string field of the schema (but the Ansible import's)", () => {
  const trie = textFields(Inventory);
  // A field's place in the trie: list items and mapping entries are `*` there.
  const patternOf = (path: (string | number)[], key: boolean): string => {
    let node = trie;
    const out: string[] = [];
    for (const seg of key ? path.slice(0, -1) : path) {
      const named = node.keyKind === undefined ? node.children.get(String(seg)) : undefined;
      out.push(named ? String(seg) : "*");
      node = named ?? node.children.get("*")!;
    }
    return out.join(".") + (key ? " (keys)" : "");
  };
  const leaves: string[] = [];
  const visit = (n: typeof trie, p: string[]) => {
    if (n.kind !== undefined && n.kind !== "format") leaves.push(p.join("."));
    if (n.keyKind !== undefined && n.keyKind !== "name") leaves.push(`${p.join(".")} (keys)`);
    for (const [k, c] of n.children) visit(c, [...p, k]);
  };
  visit(trie, []);
  // SshSettings is one schema under defaults, hosts and groups' ssh; a secret reference one field
  // whichever of its forms (string, env, file, prompt) the inventory uses.
  const same = (p: string) => p.replace(/^(defaults|groups\.\*\.ssh)\./, "hosts.*.").replace(/(password|auth_pass)(\..*)?$/, "$1");
  const covered = new Set(FIELDS.filter((f) => f.kind !== "name" || !f.key).map((f) => same(patternOf(f.path, f.key))));
  // ansible_inventory needs a second file: the Ansible import has its own tests. A real server
  // group reaches no file: it is expanded into host entries (their names are covered) before
  // anything renders (test/unit/inventory/rs-groups.test.ts).
  // An instance's lvs_sync_daemon_interface is keepalived 1.x's spelling of
  // global_defs.lvs_sync_daemon.interface, set here, and cannot sit beside it (LVS329): it reaches
  // keepalived.conf through that same field (test/unit/inventory/keywords.test.ts).
  const unreached = new Set(["ansible_inventory", "virtual_servers.*.real_servers.*.group", "vrrp_instances.*.lvs_sync_daemon_interface"]);
  assert.deepEqual([...new Set(leaves.map(same))].filter((l) => !covered.has(l) && !unreached.has(l)), [], "set these in CLEAN");
  // Each clean value is found nowhere else, so where it shows is where its field goes.
  const values = FIELDS.filter((f) => !(f.kind === "name" && f.key)).map((f) => f.clean);
  for (const f of FIELDS) {
    if (f.kind === "name" && f.key) continue;
    assert.deepEqual(values.filter((o) => o !== f.clean && o.includes(f.clean)), [], `${f.path.join(".")}: ${f.clean} is inside other clean values`);
  }
});

for (const format of FORMATS) {
  test(`property (${format}): a hostile value in a field that reaches it is refused at its line, or every file reads back the same with the value intact`, () => {
    const fields = byFormat.get(format) ?? [];
    assert.ok(fields.length > 0, `no field reaches ${format}`);
    fields.forEach((f, i) => {
      fc.assert(
        fc.property(hostile(f.clean), (v) => checkOne(f, v, FORMATS)),
        { numRuns: RUNS, seed: 8_000 + i, includeErrorInReport: true, examples: [[f.clean + "\ninclude /tmp/x.conf"], [`${f.clean}${"x".repeat(1030)} include /tmp/x.conf`]] },
      );
    });
  });
}

test("property (fields that reach no file): a hostile value is refused at its line or changes no file", () => {
  (byFormat.get("none") ?? []).forEach((f, i) => {
    fc.assert(fc.property(hostile(f.clean), (v) => checkOne(f, v, FORMATS)), { numRuns: Math.max(3, RUNS >> 1), seed: 9_000 + i, includeErrorInReport: true });
  });
});
