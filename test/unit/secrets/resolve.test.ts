// Resolving secrets at the last moment: bounded reads of {file: PATH} (a device or a FIFO is an
// error, not an abort or a hang), and masking that also catches a value JSON escaped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LvsctlError } from "../../../src/errors/index.js";
import { maskRevealed, maskSecrets, resolveSecret } from "../../../src/secrets/index.js";

const dir = mkdtempSync(join(tmpdir(), "lvsctl-secret-"));
execFileSync("mkfifo", [join(dir, "pipe")]);
writeFileSync(join(dir, "big"), Buffer.alloc(65 * 1024, 0x61));
writeFileSync(join(dir, "ok"), "s3cr3t\n");

function refused(file: string): LvsctlError {
  try {
    resolveSecret({ file }, { env: {}, baseDir: dir });
  } catch (e) {
    assert.ok(e instanceof LvsctlError);
    return e;
  }
  assert.fail(`${file} was read`);
}

test("{file: PATH} reads regular files only, up to 64 KiB, and says why not", () => {
  assert.match(refused("/dev/zero").message, /^cannot read the secret file \/dev\/zero: it is a character device, not a regular file$/);
  assert.match(refused("pipe").message, /^cannot read the secret file pipe: it is a named pipe \(FIFO\), not a regular file$/);
  assert.match(refused("big").message, /it is 66560 bytes, more than the 65536 lvsctl reads/);
  assert.equal(refused("big").code, "LVS213");
  assert.equal(resolveSecret({ file: "ok" }, { env: {}, baseDir: dir }), "s3cr3t");
});

test("every resolved secret masks the CLI's error output, also JSON escaped", () => {
  const v = resolveSecret({ env: "P" }, { env: { P: 'pa"ss\\word' }, baseDir: dir });
  assert.equal(maskRevealed(`Error: bad ${v} and ${JSON.stringify(v)}`), "Error: bad *** and \"***\"");
  assert.equal(maskSecrets('{"auth":"ab\\"c"}', ['ab"c']), '{"auth":"***"}');
});
