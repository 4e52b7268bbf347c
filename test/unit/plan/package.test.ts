// The package op on apt hosts: which candidate apt would install (a fact from `apt-cache policy`),
// and the plan that refreshes the lists first when a missing package has none, or when the task
// says update_cache. Fixtures are real output of a lab container (Debian 12), with the mirror's
// URL replaced by http://MIRROR/debian:
//   apt-policy-debian12.txt              apt-cache policy openssh-server jq lvslab-nope mail-transport-agent libstdc++6
//   apt-policy-debian12-empty-lists.txt  the same without libstdc++6, after moving /var/lib/apt/lists/* aside
//   facts-debian12-apt.txt               factScript(mergeRequests({ packages: [openssh-server, jq, lvslab-nope, mail-transport-agent] })).shell
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { emptyRequest, factScript, mergeRequests, parseAptPolicy, parseFacts } from "../../../src/plan/facts.js";
import { planPackage, type Step } from "../../../src/plan/ops/index.js";
import { runPlaybook } from "../../../src/run/executor.js";
import type { RunEvent } from "../../../src/run/events.js";
import { parsePlaybook } from "../../../src/run/playbook.js";
import { renderCommand } from "../../../src/ssh/types.js";
import { labCluster } from "../../fixtures/plan/clusters.js";
import { baseFacts } from "../../fixtures/plan/facts.js";
import { SimConnector, SimHost, type SimOptions } from "../../fixtures/plan/sim-host.js";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/plan/${name}`, import.meta.url), "utf8");
const show = (steps: Step[]) => steps.map((s) => (s.kind === "put" ? `put ${s.path}` : renderCommand(s.cmd)));
const INSTALL = "env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --";

test("apt-cache policy: a version, (none) for a known name without candidate, nothing for an unknown name", () => {
  const asked = ["openssh-server", "jq", "lvslab-nope", "mail-transport-agent", "libstdc++6"];
  assert.deepEqual(parseAptPolicy(fixture("apt-policy-debian12.txt"), asked), {
    "openssh-server": "1:9.2p1-2+deb12u10",
    jq: "1.6-2.1+deb12u2",
    "mail-transport-agent": null,
    "libstdc++6": "12.2.0-14+deb12u1",
  });
});

test("apt-cache policy with empty lists: only what dpkg's status file knows (installed packages)", () => {
  const out = parseAptPolicy(fixture("apt-policy-debian12-empty-lists.txt"), ["openssh-server", "jq", "lvslab-nope", "mail-transport-agent"]);
  assert.deepEqual(out, { "openssh-server": "1:9.2p1-2+deb12u10" });
});

test("apt-cache policy: names not asked for (apt reads an unknown name as a pattern) are left out", () => {
  assert.deepEqual(parseAptPolicy(fixture("apt-policy-debian12.txt"), ["jq"]), { jq: "1.6-2.1+deb12u2" });
});

test("facts: the policy is part of the one fact script, only when packages are asked for", () => {
  assert.doesNotMatch(factScript(emptyRequest()).shell, /apt-cache/);
  const script = factScript(mergeRequests({ packages: ["jq", "it's"] })).shell;
  assert.match(script, /command -v apt-cache >\/dev\/null 2>&1 && \{ m aptpolicy; apt-cache policy -- 'it'\\''s' jq 2>\/dev\/null; \}/);
});

test("facts: a real Debian 12 fact output gives installed versions and candidates", () => {
  const req = mergeRequests({ packages: ["openssh-server", "jq", "lvslab-nope", "mail-transport-agent"] });
  const f = parseFacts(fixture("facts-debian12-apt.txt"), req);
  assert.deepEqual(f.packages, { "openssh-server": "1:9.2p1-2+deb12u10" });
  assert.deepEqual(f.aptCandidates, { jq: "1.6-2.1+deb12u2", "mail-transport-agent": null, "openssh-server": "1:9.2p1-2+deb12u10" });
  // Without the section (no apt-cache on the host, or an older script): not gathered, not "none".
  const without = fixture("facts-debian12-apt.txt").replace(/@@lvsctl-fact aptpolicy@@[^@]*/, "");
  assert.equal(parseFacts(without, req).aptCandidates, undefined);
});

test("plan: everything installed -> ok and no command, also with update_cache", () => {
  const f = baseFacts({ packages: { ipvsadm: "1:1.31-1" }, aptCandidates: { ipvsadm: "1:1.31-1" } });
  for (const updateCache of [false, true]) {
    const p = planPackage(f, { names: ["ipvsadm"], updateCache });
    assert.equal(p.status, "ok");
    assert.deepEqual(p.steps, []);
    assert.equal(p.reason, "ipvsadm 1:1.31-1");
  }
});

test("plan: missing with a candidate -> install only, as before", () => {
  const p = planPackage(baseFacts({ aptCandidates: { jq: "1.6-2.1+deb12u2" } }), { names: ["jq"] });
  assert.equal(p.reason, "missing: jq");
  assert.deepEqual(show(p.steps), [`${INSTALL} jq`]);
  assert.deepEqual(p.steps.map((s) => s.describe), ["apt-get install jq"]);
});

test("plan: a missing package apt does not know -> apt-get update, then install (with a hint if it still fails)", () => {
  const f = baseFacts({ packages: { ipvsadm: "1:1.31-1" }, aptCandidates: { ipvsadm: "1:1.31-1", jq: "1.6-2.1+deb12u2" } });
  const p = planPackage(f, { names: ["ipvsadm", "jq", "lvslab-probe"] });
  assert.equal(p.status, "change");
  assert.equal(p.reason, "missing: jq, lvslab-probe; no candidate for lvslab-probe in the package lists: refreshing them first");
  assert.deepEqual(p.steps.map((s) => s.describe), ["apt-get update -q (refresh the package lists)", "apt-get install jq lvslab-probe"]);
  const [update, install] = p.steps;
  assert.deepEqual(update!.kind === "exec" && update!.cmd, { argv: ["apt-get", "update", "-q"] });
  assert.ok(install!.kind === "exec" && "shell" in install!.cmd);
  assert.match(install!.cmd.shell, new RegExp(`^${INSTALL} jq lvslab-probe \\|\\| \\{ rc=\\$\\?; printf '%s\\\\n' 'hint: apt had no candidate for lvslab-probe before refreshing its lists; .*' >&2; exit \\$rc; \\}$`));
});

test("plan: Candidate (none) counts as no candidate", () => {
  const p = planPackage(baseFacts({ aptCandidates: { "mail-transport-agent": null } }), { names: ["mail-transport-agent"] });
  assert.deepEqual(p.steps.map((s) => s.describe), ["apt-get update -q (refresh the package lists)", "apt-get install mail-transport-agent"]);
});

test("plan: update_cache refreshes before installing even when apt has a candidate", () => {
  const p = planPackage(baseFacts({ aptCandidates: { jq: "1.6-2.1+deb12u2" } }), { names: ["jq"], updateCache: true });
  assert.equal(p.reason, "missing: jq; update_cache: refreshing the package lists first");
  assert.deepEqual(show(p.steps), ["apt-get update -q", `${INSTALL} jq`]);
});

test("plan: candidates not gathered -> install only; dnf and yum unchanged (update_cache is apt's)", () => {
  assert.deepEqual(show(planPackage(baseFacts(), { names: ["jq"] }).steps), [`${INSTALL} jq`]);
  for (const pm of ["dnf", "yum"] as const) assert.deepEqual(show(planPackage(baseFacts({ packageManager: pm }), { names: ["keepalived"], updateCache: true }).steps), [`${pm} install -y -q -- keepalived`]);
  assert.throws(() => planPackage(baseFacts({ packageManager: "none" }), { names: ["x"] }), /no supported package manager/);
});

/** A simulated apt host whose fact output also answers `apt-cache policy` (what SimHost leaves out). */
class AptSim extends SimHost {
  constructor(
    opts: SimOptions,
    readonly policy: string,
  ) {
    super(opts);
  }
  override facts(script: string): string {
    return super.facts(script).replace("\n@@lvsctl-fact end@@", `\n@@lvsctl-fact aptpolicy@@\n${this.policy}\n@@lvsctl-fact end@@`);
  }
}

async function check(yaml: string, sim: SimHost) {
  const parsed = parsePlaybook(yaml, "pkg.yml");
  assert.ok(parsed.playbook, JSON.stringify(parsed.diagnostics));
  const events: RunEvent[] = [];
  const r = await runPlaybook({ cluster: labCluster(), playbook: parsed.playbook, connector: new SimConnector({ rs1: sim }), policy: { knownHostsFiles: [], acceptNew: false }, options: { check: true, limit: "rs1" }, onEvent: (e) => events.push(e) });
  const results = events.filter((e): e is Extract<RunEvent, { type: "task.result" }> => e.type === "task.result");
  return { exitCode: r.exitCode, results };
}

test("--check: reports the refresh and the install with the reason, runs nothing", async () => {
  const sim = new AptSim({ name: "rs1" }, fixture("apt-policy-debian12-empty-lists.txt"));
  const { exitCode, results } = await check(`- { name: p, hosts: realservers, tasks: [ { name: probe, package: [openssh-server, jq] } ] }`, sim);
  assert.equal(exitCode, 0);
  assert.deepEqual(
    results.map((r) => ({ status: r.status, check: r.check, reason: r.reason, steps: r.steps })),
    [{ status: "changed", check: true, reason: "missing: openssh-server, jq; no candidate for jq in the package lists: refreshing them first", steps: ["apt-get update -q (refresh the package lists)", "apt-get install openssh-server jq"] }],
  );
  assert.deepEqual(sim.log, [], "--check runs no apt command");
});

test("--check with update_cache: the refresh is planned; nothing missing: ok, no step", async () => {
  const policy = fixture("apt-policy-debian12.txt");
  const yaml = `- { name: p, hosts: realservers, tasks: [ { name: jq, package: { name: jq, update_cache: true } } ] }`;
  const missing = await check(yaml, new AptSim({ name: "rs1" }, policy));
  assert.deepEqual(missing.results.map((r) => [r.status, r.reason, r.steps]), [["changed", "missing: jq; update_cache: refreshing the package lists first", ["apt-get update -q (refresh the package lists)", "apt-get install jq"]]]);
  const installed = await check(yaml, new AptSim({ name: "rs1", packages: { jq: "1.6-2.1+deb12u2" } }, policy));
  assert.deepEqual(installed.results.map((r) => [r.status, r.reason, r.steps]), [["ok", "jq 1.6-2.1+deb12u2", []]]);
});
