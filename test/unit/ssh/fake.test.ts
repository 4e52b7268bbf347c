import { test } from "node:test";
import assert from "node:assert/strict";
import { LvsctlError } from "../../../src/errors/index.js";
import { FakeConnection, FakeConnector, fakeUnreachable } from "../../../src/ssh/fake.js";
import { isUnreachable, SshError } from "../../../src/ssh/errors.js";
import { shellCode } from "../../../src/command/index.js";

const target = (name: string) => ({ name, address: "192.0.2.1", port: 22, user: "root", jump: [], connectTimeoutMs: 1000 });
const policy = { knownHostsFiles: [], acceptNew: false };

test("scripted responses, newest rule first, once rules used up, calls recorded", async () => {
  const c = new FakeConnection("rs1");
  c.on(/^uname/, { stdout: "Linux\n" });
  c.once("uname -r", { stdout: "6.1\n" });
  c.on("false", { code: 1, stderr: "nope" });
  assert.equal((await c.exec({ argv: ["uname", "-r"] })).stdout.toString(), "6.1\n");
  assert.equal((await c.exec({ argv: ["uname", "-r"] })).stdout.toString(), "Linux\n");
  const f = await c.exec({ argv: ["false"] }, { become: true });
  assert.equal(f.code, 1);
  assert.deepEqual(c.commands(), ["uname -r", "uname -r", "false"]);
  assert.equal(c.calls[2]?.become, true);
  await assert.rejects(c.exec({ argv: ["ls"] }), /no scripted response for `ls`/);
  const ok = new FakeConnection("rs2", { unscripted: "ok" });
  assert.equal((await ok.exec(shellCode("anything | here"))).code, 0);
  assert.deepEqual(ok.commands(), ["sh -c 'anything | here'"]);
});

test("responses can be functions of the call and read the in-memory files", async () => {
  const c = new FakeConnection("rs1").seedFile("/etc/a", "hello");
  c.on((call) => call.command.startsWith("cat "), (call, fake) => {
    const f = fake.files.get(call.command.slice(4));
    return f ? { stdout: f.content } : { code: 1, stderr: "No such file" };
  });
  assert.equal((await c.exec({ argv: ["cat", "/etc/a"] })).stdout.toString(), "hello");
  assert.equal((await c.exec({ argv: ["cat", "/etc/b"] })).code, 1);
});

test("putFile stores files; a failing validate keeps the old one with the real error code", async () => {
  const c = new FakeConnection("lb1").seedFile("/etc/k.conf", "old", 0o644);
  c.on(/^keepalived -t -f /, (call, fake) => {
    const tmp = call.command.split(" ").pop()!;
    return fake.files.get(tmp)?.content.toString().includes("bad") ? { code: 1, stderr: "parse error line 1" } : { code: 0 };
  });
  await c.putFile("/etc/k.conf", "good", { mode: 0o600, owner: "root", validate: ["keepalived", "-t", "-f", "%s"], become: true });
  assert.deepEqual(c.files.get("/etc/k.conf"), { content: Buffer.from("good"), mode: 0o600, owner: "root" });
  await assert.rejects(
    c.putFile("/etc/k.conf", "bad", { mode: 0o600, validate: ["keepalived", "-t", "-f", "%s"] }),
    (e: unknown) => e instanceof LvsctlError && e.code === SshError.PutValidateFailed && /parse error line 1/.test(e.message),
  );
  assert.equal(c.files.get("/etc/k.conf")?.content.toString(), "good");
  assert.ok(![...c.files.keys()].some((k) => k.includes("lvsctl-tmp")), "no temp left");
  assert.deepEqual(c.calls.filter((x) => x.kind === "put").map((x) => x.command), ["/etc/k.conf", "/etc/k.conf"]);
});

test("drop() makes later calls fail as a lost connection; connector maps hosts and errors", async () => {
  const rs1 = new FakeConnection("rs1", { unscripted: "ok" });
  const conn = new FakeConnector({ rs1, rs2: fakeUnreachable("rs2") });
  assert.equal(await conn.connect(target("rs1"), policy), rs1);
  await assert.rejects(conn.connect(target("rs2"), policy), (e) => isUnreachable(e));
  await assert.rejects(conn.connect(target("rs3"), policy), (e) => isUnreachable(e));
  rs1.drop();
  await assert.rejects(rs1.exec({ argv: ["true"] }), (e) => e instanceof LvsctlError && e.code === SshError.ConnectionLost);
  assert.equal(conn.connects.length, 3);
});

test("timeouts and concurrency are observable", async () => {
  const c = new FakeConnection("rs1");
  c.on("sleep", { delayMs: 30 });
  await assert.rejects(c.exec({ argv: ["sleep"] }, { timeoutMs: 5 }), (e) => e instanceof LvsctlError && e.code === SshError.ExecTimeout);
  await Promise.all([1, 2, 3].map(() => c.exec({ argv: ["sleep"] })));
  assert.equal(c.peakConcurrent, 3);
});
