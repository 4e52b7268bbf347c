// The package op on apt hosts: which candidate apt would install (a fact from `apt-cache policy`),
// and the plan that refreshes the lists first when a missing package has none, or when the task
// says update_cache. Fixtures are real output of a lab container (Debian 12), with the mirror's
// URL replaced by http://MIRROR/debian:
//   apt-policy-debian12.txt              apt-cache policy openssh-server jq lvslab-nope mail-transport-agent libstdc++6
//   apt-policy-debian12-empty-lists.txt  the same without libstdc++6, after moving /var/lib/apt/lists/* aside
//   facts-debian12-apt.txt               factScript(mergeRequests({ packages: [openssh-server, jq, lvslab-nope, mail-transport-agent] }))
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { emptyRequest, factScript, mergeRequests, parseAptPolicy, parseFacts } from "../../../src/plan/facts.js";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/plan/${name}`, import.meta.url), "utf8");

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
  assert.doesNotMatch(factScript(emptyRequest()), /apt-cache/);
  const script = factScript(mergeRequests({ packages: ["jq", "it's"] }));
  assert.match(script, /command -v apt-cache >\/dev\/null 2>&1 && \{ m aptpolicy; apt-cache policy 'it'\\''s' jq 2>\/dev\/null; \}/);
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
