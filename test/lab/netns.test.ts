// The lab's small helpers: waitUntil (pure, runs anywhere) and NetnsLab (root: real namespaces,
// addresses only inside them, 10.97.0.0/16; every namespace is deleted, also on failure).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { LvsctlError } from "../../src/errors/index.js";
import { HUB, NetnsLab, sweepStaleNetns } from "../../src/lab/netns.js";
import { waitUntil } from "../../src/lab/wait.js";

describe("waitUntil", () => {
  test("resolves with the first truthy answer; errors and falsy answers mean not yet", async () => {
    let n = 0;
    const got = await waitUntil(
      "the third ask",
      () => {
        n++;
        if (n === 1) throw new Error("not ready");
        return n >= 3 ? { n } : undefined;
      },
      { timeoutMs: 1000, everyMs: 1 },
    );
    assert.deepEqual(got, { n: 3 });
  });

  test("a timeout names what was awaited and the last value seen, with the detail", async () => {
    const t0 = Date.now();
    await assert.rejects(waitUntil("the answer", () => 0, { timeoutMs: 60, everyMs: 10, detail: () => "context here" }), (e: unknown) => {
      assert.ok(e instanceof LvsctlError);
      assert.equal(e.code, "LAB_WAIT_TIMEOUT");
      assert.match(e.message, /^timed out after \d+ ms waiting for the answer \(last value: 0\)\ncontext here$/);
      return true;
    });
    assert.ok(Date.now() - t0 >= 60, "gave up before the timeout");
  });

  test("a timeout after errors carries the last error as message and cause", async () => {
    const boom = new Error("still booting");
    await assert.rejects(
      waitUntil("a daemon", () => Promise.reject(boom), { timeoutMs: 20, everyMs: 5 }),
      (e: unknown) => e instanceof LvsctlError && /waiting for a daemon \(last error: still booting\)/.test(e.message) && e.cause === boom,
    );
  });
});

function why(): string | undefined {
  if (process.platform !== "linux") return "needs Linux network namespaces";
  if (process.getuid?.() !== 0) return "needs root: creates network namespaces";
  for (const c of ["ip", "ping", "bridge"]) if (spawnSync("sh", ["-c", `command -v ${c}`]).status !== 0) return `needs ${c} (iproute2, iputils-ping)`;
  return undefined;
}

const PREFIX = "lvnstest";
const mine = () => {
  try {
    return readdirSync("/run/netns").filter((n) => n.startsWith(`${PREFIX}-${process.pid}-`));
  } catch {
    return [];
  }
};

describe("NetnsLab", { skip: why() ?? false }, () => {
  const labs: NetnsLab[] = [];
  const create = (o: Omit<Parameters<typeof NetnsLab.create>[0], "prefix">) => {
    const lab = NetnsLab.create({ prefix: PREFIX, ...o });
    labs.push(lab);
    return lab;
  };
  after(() => labs.forEach((l) => l.destroy()));
  const ping = (lab: NetnsLab, from: string, to: string) => lab.exec(from, ["ping", "-c", "1", "-W", "1", to]).code === 0;

  test("bridge: hosts reach each other; a pulled cable and port isolation cut them off; a second segment", async () => {
    const lab = create({
      hosts: [
        { name: "a", addr: "10.97.1.2/24", mac: "02:97:00:00:00:02" },
        { name: "b", addr: "10.97.1.3/24" },
      ],
    });
    assert.deepEqual(lab.hosts, ["a", "b"]);
    assert.match(lab.ns("a"), new RegExp(`^${PREFIX}-${process.pid}-\\d+-a$`));
    assert.equal(lab.path(HUB), `/run/netns/${lab.ns(HUB)}`);
    assert.match(lab.ip("a", "link", "show", "dev", "eth0"), /link\/ether 02:97:00:00:00:02 /);
    assert.match(lab.ip("a", "link", "show", "dev", "lo"), /\bUP\b/);
    assert.ok(lab.hasAddr("b", "10.97.1.3"));
    assert.ok(!lab.hasAddr("b", "10.97.1.30"));
    assert.ok(ping(lab, "a", "10.97.1.3"));

    // No veth end shares its peer's ifindex: the kernel would hold back its carrier events (netns.ts, FIRST_OWN_INDEX).
    for (const n of [HUB, "a", "b"]) {
      for (const [, index, peer] of lab.ip(n, "-o", "link", "show", "type", "veth").matchAll(/^(\d+): [^@]+@if(\d+):/gm)) assert.notEqual(index, peer, `${n}: a veth with ifindex == iflink`);
    }
    // ...so a pulled cable reaches the host's operstate (and its netlink listeners) at once, not up to a second later.
    const cutAt = Date.now();
    lab.cable("a", false);
    await waitUntil("a's eth0 to lose its carrier", () => !/ state UP /.test(lab.ip("a", "-o", "link", "show", "dev", "eth0")), { timeoutMs: 2000, everyMs: 5 });
    assert.ok(Date.now() - cutAt < 400, `the carrier loss took ${Date.now() - cutAt} ms to show`);
    lab.cable("a", true);

    lab.cable("b", false);
    assert.match(lab.ip("b", "link", "show", "dev", "eth0"), /NO-CARRIER/);
    assert.ok(!ping(lab, "a", "10.97.1.3"), "a pulled cable still passes traffic");
    lab.cable("b", true);
    lab.isolate("a", true);
    lab.isolate("b", true);
    assert.ok(!ping(lab, "a", "10.97.1.3"), "isolated ports still talk");
    assert.match(lab.ip("b", "link", "show", "dev", "eth0"), /LOWER_UP/, "isolation touched the carrier");
    lab.isolate("a", false);
    lab.isolate("b", false);

    lab.addSegment({ bridge: "br1", dev: "eth1", addrs: { a: "10.97.2.2/24", b: "10.97.2.3/24" } });
    assert.match(lab.ip("a", "-o", "link", "show", "dev", "eth1"), /^\d+: eth1@if1\d\d:/, "the segment's hub port is numbered by NetnsLab");
    assert.ok(lab.hasAddr("a", "10.97.2.2", "eth1"));
    assert.ok(ping(lab, "b", "10.97.2.2"));
    lab.cable("a", false, "eth1");
    assert.ok(!ping(lab, "b", "10.97.2.2"));
    assert.ok(ping(lab, "b", "10.97.1.2"), "cutting eth1 cut eth0 too");

    assert.throws(() => lab.ns("zz"), /no namespace "zz"/);
    assert.throws(() => lab.ip("a", "link", "show", "dev", "nosuch0"), (e: unknown) => e instanceof LvsctlError && e.code === "LAB_NETNS" && /nosuch0/.test(e.message));
    assert.equal(lab.exec("a", ["sh", "-c", "exit 3"]).code, 3);
    assert.equal(lab.execOk("a", ["cat"], { input: "x" }), "x");

    const names = [HUB, "a", "b"].map((n) => lab.ns(n));
    lab.destroy();
    lab.destroy();
    assert.deepEqual(mine().filter((n) => names.includes(n)), []);
  });

  test("pair: two hosts on one veth, with their own device names; none: bare namespaces", () => {
    const pair = create({
      link: "pair",
      hosts: [
        { name: "x", dev: "vX0", addr: "10.97.3.1/24" },
        { name: "y", dev: "vY0", addr: "10.97.3.2/24" },
      ],
    });
    assert.throws(() => pair.ns(HUB));
    assert.match(pair.ip("x", "-o", "link", "show", "dev", "vX0"), /^100: vX0@if2:/, "the pair's ends are numbered apart");
    assert.ok(ping(pair, "x", "10.97.3.2"));
    const bare = create({ link: "none", hosts: [{ name: "k" }] });
    assert.deepEqual(bare.ip("k", "-o", "link", "show").trim().split("\n").length, 1, "only lo");
    pair.destroy();
    bare.destroy();
  });

  test("bad options are refused before anything is made; a failure half way deletes what was made", () => {
    const before = mine();
    assert.throws(() => NetnsLab.create({ prefix: PREFIX, hosts: [{ name: "Bad" }] }), /host name/);
    assert.throws(() => NetnsLab.create({ prefix: PREFIX, hosts: [{ name: "a" }, { name: "a" }] }), /repeat/);
    assert.throws(() => NetnsLab.create({ prefix: PREFIX, link: "pair", hosts: [{ name: "a" }] }), /exactly two/);
    assert.throws(() => NetnsLab.create({ prefix: PREFIX, link: "none", hosts: [{ name: "a", addr: "10.97.4.1/24" }] }), /no device/);
    assert.throws(() => NetnsLab.create({ prefix: "Bad_prefix", hosts: [] }), /prefix/);
    assert.throws(() => NetnsLab.create({ prefix: PREFIX, hosts: [{ name: "a", addr: "10.97.4.1/99" }] }), (e: unknown) => e instanceof LvsctlError && e.code === "LAB_NETNS");
    assert.deepEqual(mine(), before);
  });

  test("a lab is deleted when its process exits, and one of a dead process by the next create()", () => {
    const netns = pathToFileURL(new URL("../../src/lab/netns.ts", import.meta.url).pathname).href;
    const script = `
      import { NetnsLab } from ${JSON.stringify(netns)};
      const lab = NetnsLab.create({ prefix: ${JSON.stringify(PREFIX)}, hosts: [{ name: "a", addr: "10.97.5.2/24" }] });
      console.log(lab.ns("a"));
      process.exit(0);`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const left = r.stdout.trim();
    assert.match(left, new RegExp(`^${PREFIX}-\\d+-0-a$`));
    assert.ok(!readdirSync("/run/netns").includes(left), `${left} outlived its process`);

    // a SIGKILLed owner runs no exit handler: its namespaces wait for the next create()
    const dead = spawnSync("true").pid!;
    const stale = `${PREFIX}-${dead}-0-a`;
    assert.equal(spawnSync("ip", ["netns", "add", stale]).status, 0);
    try {
      assert.deepEqual(sweepStaleNetns(PREFIX), [stale]);
      assert.ok(!readdirSync("/run/netns").includes(stale));
    } finally {
      spawnSync("ip", ["netns", "del", stale]);
    }
  });
});
