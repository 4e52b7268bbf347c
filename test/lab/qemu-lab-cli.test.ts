// `lvsctl lab up|status|down` for real (the CLI, as root, one qemu director to keep it short):
//   - up returns and the lab keeps running without it: qemu and the real server's HTTP server are
//     alive after the command exited, the inventory validates, the password file is 0600;
//   - status says every part answers (exit 0);
//   - down removes everything: no qemu, no HTTP server, no namespace of the slot, no state file,
//     no inventory; a second down has nothing to remove.
// The deploy through this lab is `npm run demo` (scripts/demo.ts).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { cliLabStateFile, parseCliLabState, type CliLabState } from "../../src/lab/cli-lab.js";
import { alive } from "../../src/lab/proc.js";
import { qemuNetNames, qemuPrerequisites, qemuSideNetnsPrefix } from "../../src/lab/qemu.js";
import { runCli, tempDir } from "./helpers/index.js";

const SKIP = qemuPrerequisites();

describe("lvsctl lab: up leaves a lab running, status sees it, down removes all of it", { skip: SKIP ?? false }, () => {
  const dir = tempDir("lvsctl-lab-cli-");
  const inventory = join(dir, "lab.yml");
  let state: CliLabState | undefined;
  after(async () => {
    // Whatever happened above, no lab is left running.
    if (existsSync(cliLabStateFile()) || state) await runCli(["lab", "down"], { timeoutMs: 60_000 });
  });

  test("up, status, down", { timeout: 12 * 60_000 }, async () => {
    const up = await runCli(["lab", "up", "--directors", "1", "--real-servers", "1", "--out", inventory], { timeoutMs: 11 * 60_000 });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /lvsctl deploy .*lab\.yml --known-hosts /);
    state = parseCliLabState(readFileSync(cliLabStateFile(), "utf8"), cliLabStateFile());
    const qemuPid = JSON.parse(readFileSync(join(dirname(state.knownHostsFile), "state.json"), "utf8")).guests[0].pid as number;
    const httpPid = state.realServers[0]!.pid;
    assert.ok(alive(qemuPid) && alive(httpPid), "qemu and the HTTP server outlive `lab up`");
    assert.equal(statSync(state.secretFile).mode & 0o777, 0o600);
    assert.equal((await runCli(["validate", inventory])).code, 0);

    const st = await runCli(["lab", "status", "--json"], { timeoutMs: 60_000 });
    assert.equal(st.code, 0, st.stdout + st.stderr);
    const report = JSON.parse(st.stdout);
    assert.equal(report.healthy, true);
    assert.equal(report.realServers[0].http, "rs1");

    const down = await runCli(["lab", "down"], { timeoutMs: 60_000 });
    assert.equal(down.code, 0, down.stderr);
    assert.ok(!alive(qemuPid) && !alive(httpPid), "qemu and the HTTP server are gone");
    const netns = readdirSync("/run/netns");
    assert.deepEqual(netns.filter((n) => n === qemuNetNames(state!.slot).netns || n.startsWith(qemuSideNetnsPrefix(state!.slot))), []);
    for (const f of [cliLabStateFile(), inventory, state.secretFile, state.knownHostsFile]) assert.ok(!existsSync(f), `${f} removed`);
    state = undefined;
    const again = await runCli(["lab", "down"], { timeoutMs: 60_000 });
    assert.equal(again.code, 0);
    assert.match(again.stdout, /nothing to remove/);
  });
});
