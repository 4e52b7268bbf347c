// Proof against real HTTP servers on 127.0.0.1 and the real clock (issue 10 item 5, the checks'
// part; no root, no IPVS needed): a dead server is taken out within the fall count and back after
// `rise` successes; with every server dead the core's policy brings the sorry server in; a hung
// server (accepts, never answers) is judged at connect_timeout while the healthy server's checks
// keep their cadence. Timings are short (delay_loop 0.2 s) and asserted with wide margins.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createServer as createTcp } from "node:net";
import type { AddressInfo } from "node:net";
import type { LvsdService } from "../../../../src/daemon/config.js";
import { CheckHealth, realCheckers } from "../../../../src/daemon/check/index.js";
import { realServerId } from "../../../../src/daemon/core/health.js";
import { wantedTable } from "../../../../src/daemon/ipvs/policy.js";
import { createLogger } from "../../../../src/daemon/log.js";
import { realClock } from "../../../../src/daemon/runtime/clock.js";
import { FakeNotify } from "../../../../src/daemon/runtime/fakes.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const listen = (s: Server | ReturnType<typeof createTcp>, port = 0) => new Promise<number>((r) => s.listen(port, "127.0.0.1", () => r((s.address() as AddressInfo).port)));

test("real servers: fall within retry+1, back after rise, sorry server when all are dead, a hung server judged at connect_timeout", async () => {
  const a = createServer((_q, s) => s.end("a\n"));
  const b = createServer((_q, s) => s.end("b\n"));
  const hung = createTcp(() => undefined);
  const [pa, pb, ph] = await Promise.all([listen(a), listen(b), listen(hung)]);
  const check = { type: "HTTP" as const, connectTimeoutSec: 0.3, retry: 1, delayBeforeRetrySec: 0.1, rise: 2, urls: [{ path: "/", statusCodes: [200] }] };
  const svc: LvsdService = {
    name: "web", vip: "10.0.0.100", port: 80, protocol: "TCP", scheduler: "rr", forwarding: "DR", delayLoopSec: 0.2, quorum: 1, hysteresis: 0,
    sorryServer: { address: "127.0.0.9", port: 80 },
    realServers: [
      { address: "127.0.0.1", port: pa, weight: 1, inhibitOnFailure: false, check },
      { address: "127.0.0.1", port: pb, weight: 1, inhibitOnFailure: false, check },
    ],
  };
  const hungSvc: LvsdService = { ...svc, name: "hung", vip: "10.0.0.101", sorryServer: undefined, realServers: [{ address: "127.0.0.1", port: ph, weight: 1, inhibitOnFailure: false, check }] };
  const h = new CheckHealth({ clock: realClock, checkers: realCheckers, notify: new FakeNotify(), log: createLogger({ level: "error" }), idOf: realServerId, initialSpreadMs: 0 });
  const idA = realServerId(svc, svc.realServers[0]!);
  const idB = realServerId(svc, svc.realServers[1]!);
  const idH = realServerId(hungSvc, hungSvc.realServers[0]!);
  let quorum = new Map<string, boolean>();
  const table = () => {
    const r = wantedTable([svc], (id) => h.health(id), quorum);
    quorum = r.quorum;
    return r.table[0]!.dests.map((d) => d.port);
  };
  try {
    h.update([svc, hungSvc]);
    await sleep(150);
    assert.deepEqual(table(), [pa, pb]);

    // A dies: two failed attempts (retry 1), 0.1 s apart: out within ~0.2 + 0.1 s plus slack
    const t0 = Date.now();
    a.close();
    a.closeAllConnections();
    while (h.health(idA).up && Date.now() - t0 < 3000) await sleep(10);
    const fall = Date.now() - t0;
    assert.equal(h.health(idA).up, false);
    assert.ok(fall < 1000, `taken out after ${fall} ms`);
    assert.equal(h.snapshot()[idA]!.check.failed["connect-refused"], 2, "exactly retry+1 failures");
    assert.deepEqual(table(), [pb]);

    // A back: rise 2, so two successes 0.2 s apart
    await listen(a, pa);
    const t1 = Date.now();
    let firstOk = 0;
    while (!h.health(idA).up && Date.now() - t1 < 3000) {
      if (!firstOk && h.snapshot()[idA]!.check.successes === 1) firstOk = Date.now();
      await sleep(10);
    }
    assert.equal(h.health(idA).up, true);
    assert.ok(firstOk > 0, "one success was not enough");
    assert.ok(Date.now() - firstOk >= 150, "the second success came a delay_loop later");
    assert.deepEqual(table(), [pa, pb]);

    // all dead: the sorry server alone
    a.close();
    b.close();
    a.closeAllConnections();
    b.closeAllConnections();
    const t2 = Date.now();
    while ((h.health(idA).up || h.health(idB).up) && Date.now() - t2 < 3000) await sleep(10);
    assert.deepEqual(table(), [80]);
    assert.equal(quorum.values().next().value, false);

    // the hung server: judged at connect_timeout (0.3 s) per attempt, read-timeout
    const hs = h.snapshot()[idH]!;
    assert.equal(hs.up, false);
    assert.equal(hs.check.last?.reason, "read-timeout");
    assert.ok(hs.check.last!.ms >= 290 && hs.check.last!.ms < 600, `judged after ${hs.check.last!.ms} ms`);
    // meanwhile the other checks kept their cadence: ~one attempt per 0.2 s each, never stalled
    const elapsed = Date.now() - t0 + 150;
    const bChecks = h.snapshot()[idB]!.check.checks;
    assert.ok(bChecks >= elapsed / 200 / 2, `${bChecks} checks of B in ${elapsed} ms`);
  } finally {
    await h.stop();
    for (const s of [a, b]) {
      s.close();
      s.closeAllConnections();
    }
    hung.close();
  }
});
