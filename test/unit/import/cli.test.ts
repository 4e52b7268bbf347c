// `lvsctl import` end to end in-process: reads the files and their includes, writes --out, and
// what it writes passes `lvsctl validate`.
import { strict as assert } from "node:assert";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { CliIo } from "../../../src/cli/io.js";
import { run } from "../../../src/cli/main.js";

function io(cwd: string, env: NodeJS.ProcessEnv = {}): CliIo & { stdout: string; stderr: string } {
  const o = { stdout: "", stderr: "", env, cwd, isTTY: false, out: (t: string) => void (o.stdout += t), err: (t: string) => void (o.stderr += t) };
  return o;
}

test("lvsctl import follows includes, writes --out, refuses to overwrite it, and the result validates", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-import-cli-"));
  try {
    mkdirSync(join(dir, "a", "conf.d"), { recursive: true });
    writeFileSync(join(dir, "a", "keepalived.conf"), "global_defs {\n  router_id lb1\n}\ninclude conf.d/*.conf\n");
    writeFileSync(join(dir, "a", "conf.d", "10-vi.conf"), "vrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n  virtual_router_id 7\n  priority 150\n  virtual_ipaddress {\n    192.0.2.7/24\n  }\n  use_vmac\n}\n");
    writeFileSync(join(dir, "a", "conf.d", "20-vs.conf"), "virtual_server 192.0.2.7 443 {\n  lb_kind DR\n  real_server 192.0.2.31 443 {\n  }\n}\n");
    writeFileSync(join(dir, "b.conf"), "global_defs {\n  router_id lb2\n}\nvrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 7\n  priority 100\n  virtual_ipaddress {\n    192.0.2.7/24\n  }\n}\n");
    const o = io(dir);
    assert.equal(await run(["import", "a/keepalived.conf", "b.conf", "--out", "cluster.yml"], o), 0, o.stderr);
    assert.match(o.stderr, /^a\/conf\.d\/10-vi\.conf:9: use_vmac: not supported yet in vrrp_instance; skipped$/m);
    assert.match(o.stdout, /^wrote cluster\.yml: directors lb1 \(a\/keepalived\.conf, by its router_id\), lb2/);
    const yaml = readFileSync(join(dir, "cluster.yml"), "utf8");
    assert.match(yaml, /real_servers:\n\s+- host: 192\.0\.2\.31/);

    const again = io(dir);
    assert.equal(await run(["import", "b.conf", "--out", "cluster.yml"], again), 1);
    assert.match(again.stderr, /LVS011: cluster\.yml exists/);

    const v = io(dir);
    assert.equal(await run(["validate", "cluster.yml"], v), 0, v.stderr);
    assert.match(v.stdout, /valid: 2 directors, 1 real server, 1 VRRP instance, 1 virtual service/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("lvsctl import prints the inventory without --out and exits 1 when the files cannot be imported", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lvsctl-import-cli-"));
  try {
    writeFileSync(join(dir, "bad.conf"), "virtual_server 192.0.2.7 80 {\n");
    const o = io(dir);
    assert.equal(await run(["import", "bad.conf"], o), 1);
    assert.match(o.stderr, /^bad\.conf:1: virtual_server: its block is never closed/m);
    assert.equal(o.stdout, "");
    const h = io(dir);
    assert.equal(await run(["import", "--help"], h), 0);
    assert.match(h.stdout, /usage: lvsctl import KEEPALIVED\.CONF \[MORE\.CONF \.\.\.\]/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
