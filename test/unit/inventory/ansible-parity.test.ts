// The proof that lvsctl reads Ansible inventories as Ansible does: for each inventory of the
// corpus (test/fixtures/ansible-corpus: INI and YAML, ranges, ports, children, all.vars,
// group_vars/ and host_vars/ as files and folders, Jinja and vault values), the hosts, groups,
// membership and connection variables lvsctl imports equal what `ansible-inventory --list`
// prints. Skips, saying why, when ansible-inventory is not installed (scripts/install-deps.sh
// installs ansible-core).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { importAnsible, type VarsFile } from "../../../src/inventory/ansible.js";

const corpus = fileURLToPath(new URL("../../fixtures/ansible-corpus/", import.meta.url));
const have = spawnSync("ansible-inventory", ["--version"], { stdio: "ignore" }).status === 0;
const skip = have ? false : "ansible-inventory is not installed (scripts/install-deps.sh installs ansible-core)";

interface AnsibleList {
  _meta: { hostvars: Record<string, Record<string, unknown>> };
  [group: string]: { hosts?: string[]; children?: string[] } | AnsibleList["_meta"];
}

function filesUnder(dir: string, rel = ""): string[] {
  let out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(join(dir, rel)).sort();
  } catch {
    return [];
  }
  for (const n of names) {
    if (n.startsWith(".")) continue;
    const r = rel ? `${rel}/${n}` : n;
    if (statSync(join(dir, r)).isDirectory()) out = out.concat(filesUnder(dir, r));
    else out.push(r);
  }
  return out;
}

function lvsctlImport(dir: string, file: string) {
  const vars: VarsFile[] = [];
  for (const sub of ["group_vars", "host_vars"]) for (const r of filesUnder(join(dir, sub))) vars.push({ path: join(dir, sub, r), rel: `${sub}/${r}`, text: readFileSync(join(dir, sub, r), "utf8") });
  return importAnsible(readFileSync(join(dir, file), "utf8"), join(dir, file), vars);
}

function ansibleList(path: string): AnsibleList {
  const home = mkdtempSync(join(tmpdir(), "lvsctl-ansible-"));
  try {
    const out = execFileSync("ansible-inventory", ["-i", path, "--list"], {
      encoding: "utf8",
      // No ansible.cfg of this machine or of the user; Ansible's own defaults.
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: home, ANSIBLE_CONFIG: join(home, "none.cfg"), ANSIBLE_LOCAL_TEMP: home, ANSIBLE_NOCOLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return JSON.parse(out) as AnsibleList;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const bool = (v: unknown): boolean | undefined => {
  if (typeof v === "boolean") return v;
  const s = String(v).trim().toLowerCase();
  return ["yes", "true", "on", "1", "y"].includes(s) ? true : ["no", "false", "off", "0", "n"].includes(s) ? false : undefined;
};
const opaque = (v: unknown) => (typeof v === "string" && v.includes("{{")) || (typeof v === "object" && v !== null && "__ansible_vault" in v);

/** What lvsctl must make of one host's variables as Ansible prints them; `undefined` where it must not guess. */
function expected(name: string, hv: Record<string, unknown>): Record<string, unknown> {
  const pick = (...ks: string[]) => ks.map((k) => hv[k]).find((v) => v !== undefined);
  const num = (v: unknown) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v);
  const clean = (v: unknown) => (opaque(v) ? undefined : v);
  const host = pick("ansible_host", "ansible_ssh_host");
  const on = clean(hv["ansible_become"]);
  const becomeUser = clean(hv["ansible_become_user"]);
  const becomePass = clean(pick("ansible_become_password", "ansible_become_pass"));
  const become = on === undefined ? undefined : !bool(on) ? false : becomeUser !== undefined || becomePass !== undefined ? { ...(becomeUser !== undefined ? { user: becomeUser } : {}), ...(becomePass !== undefined ? { password: becomePass } : {}) } : true;
  return {
    address: host === undefined ? name : clean(host),
    port: num(clean(pick("ansible_port", "ansible_ssh_port"))),
    user: clean(pick("ansible_user", "ansible_ssh_user")),
    key_file: clean(pick("ansible_ssh_private_key_file", "ansible_private_key_file")),
    password: clean(pick("ansible_password", "ansible_ssh_pass", "ansible_ssh_password")),
    become,
  };
}

const cases = readdirSync(corpus).sort().flatMap((dir) => readdirSync(join(corpus, dir)).filter((f) => /^hosts(\.|$)/.test(f)).map((f) => ({ dir, file: f })));

for (const { dir, file } of cases) {
  test(`${dir}/${file}: hosts, groups, membership and connection variables as ansible-inventory --list`, { skip }, () => {
    const path = join(corpus, dir, file);
    const theirs = ansibleList(path);
    const ours = lvsctlImport(join(corpus, dir), file);
    assert.deepEqual(ours.diagnostics.filter((d) => d.severity === "error"), [], "the corpus is valid for Ansible, so for lvsctl too");

    const hostvars = theirs._meta.hostvars;
    const groupNames = Object.keys(theirs).filter((g) => g !== "_meta" && g !== "all");
    const theirHosts = new Set<string>(Object.keys(hostvars));
    for (const g of groupNames) for (const h of (theirs[g] as { hosts?: string[] }).hosts ?? []) theirHosts.add(h);
    assert.deepEqual(Object.keys(ours.hosts).sort(), [...theirHosts].sort(), "hosts");

    // Groups with their direct hosts and children; Ansible lists `ungrouped` even when empty.
    const norm = (g: { hosts?: string[]; children?: string[] } | undefined) => ({ hosts: [...(g?.hosts ?? [])].sort(), children: [...(g?.children ?? [])].sort() });
    // --list leaves out groups with neither hosts nor children (and lists `ungrouped` anyway).
    const nonEmpty = ([, v]: [string, { hosts: string[]; children: string[] }]) => v.hosts.length + v.children.length > 0;
    const theirGroups = Object.fromEntries(groupNames.map((g): [string, ReturnType<typeof norm>] => [g, norm(theirs[g] as { hosts?: string[] })]).filter(nonEmpty));
    const ourGroups = Object.fromEntries(Object.entries(ours.groups).map(([g, v]): [string, ReturnType<typeof norm>] => [g, norm(v as { hosts?: string[]; children?: string[] })]).filter(nonEmpty));
    // Ansible lists top-level groups as children of all; lvsctl's all holds every host anyway.
    assert.deepEqual(ourGroups, theirGroups, "groups and membership");

    for (const h of theirHosts) {
      const want = expected(h, hostvars[h] ?? {});
      const got = ours.hosts[h]!;
      const gotView = { address: got["address"], port: got["port"], user: got["user"], key_file: got["key_file"], password: got["password"], become: got["become"] };
      assert.deepEqual(gotView, want, `connection variables of ${h}`);
    }
    // Every Jinja or vault value Ansible shows for a connection variable was reported, located.
    const opaqueVars = new Set(Object.values(hostvars).flatMap((hv) => Object.entries(hv).filter(([k, v]) => k.startsWith("ansible_") && opaque(v)).map(([k]) => k)));
    for (const k of opaqueVars) assert.ok(ours.diagnostics.some((d) => d.code === "LVS501" && d.message.startsWith(`${k} `) && d.location), `${k} reported as not evaluated`);
  });
}

test("the corpus covers INI and YAML, ranges, ports, group_vars and host_vars, Jinja and vault", () => {
  const text = cases.map(({ dir, file }) => readFileSync(join(corpus, dir, file), "utf8")).join("\n");
  assert.ok(cases.some((c) => c.file.endsWith(".ini")) && cases.some((c) => /\.ya?ml$/.test(c.file)) && cases.some((c) => !c.file.includes(".")));
  for (const needle of ["[01:04]", "[a:c]", "[00:10:5]", ":2222", "[web:children]".replace("web", "cluster"), "vars:", "{{"]) assert.ok(text.includes(needle), needle);
  const vars = cases.flatMap(({ dir }) => ["group_vars", "host_vars"].flatMap((s) => filesUnder(join(corpus, dir, s)).map((r) => `${s}/${r}`)));
  for (const re of [/^group_vars\/[^/]+\.yml$/, /^group_vars\/[^/]+\/.+$/, /^group_vars\/[^/.]+$/, /^host_vars\/[^/]+\.yml$/, /^host_vars\/[^/]+\/.+$/, /\.json$/]) assert.ok(vars.some((v) => re.test(v)), String(re));
  assert.ok(vars.some((v) => readFileSync(join(corpus, cases.find((c) => filesUnder(join(corpus, c.dir, v.split("/")[0]!)).includes(v.split("/").slice(1).join("/")))!.dir, v), "utf8").includes("!vault")));
});
