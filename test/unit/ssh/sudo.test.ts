import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Secret } from "../../../src/errors/index.js";
import { shellCode } from "../../../src/command/index.js";
import {
  becomeCommandLine,
  classifySudoProbe,
  makeSudoMarkers,
  renderWithEnv,
  StderrMarkerScanner,
  sudoProbeCommand,
} from "../../../src/ssh/sudo.js";

const markers = makeSudoMarkers("abc123");

test("command lines for each become mode", () => {
  const r = "systemctl restart 'my unit'";
  assert.equal(becomeCommandLine(r, { kind: "direct" }, markers), r);
  assert.equal(
    becomeCommandLine(r, { kind: "nopasswd", user: "root" }, markers),
    `sudo -n -u root -- sh -c 'systemctl restart '\\''my unit'\\'''`,
  );
  const pw = becomeCommandLine(r, { kind: "password", user: "root", password: new Secret("hunter2") }, markers);
  assert.match(pw, /^sudo -S -p '\[lvsctl-sudo-prompt-abc123\]' -u root -- sh -c /);
  assert.ok(!pw.includes("hunter2"), "the password never appears in the command line");
  assert.ok(!markers.prompt.includes("%"), "sudo expands % in prompts");
  assert.deepEqual(sudoProbeCommand("root"), { argv: ["sudo", "-n", "-u", "root", "--", "true"] });
});

test("env is set with env(1), names validated, values quoted", () => {
  assert.equal(renderWithEnv({ argv: ["ls", "-l"] }, { LC_ALL: "C", X: "a b" }), "env LC_ALL=C 'X=a b' ls -l");
  assert.equal(renderWithEnv(shellCode("a | b"), undefined), "sh -c 'a | b'");
  assert.throws(() => renderWithEnv({ argv: ["ls"] }, { "A;rm": "x" }), /invalid environment variable name/);
});

test("the sudo probe's answers are classified", () => {
  assert.equal(classifySudoProbe(0, ""), "nopasswd");
  assert.equal(classifySudoProbe(1, "sudo: a password is required"), "password-required");
  assert.equal(classifySudoProbe(127, "sh: 1: sudo: not found"), "no-sudo");
  assert.equal(classifySudoProbe(1, "bob is not in the sudoers file."), "denied");
  assert.equal(classifySudoProbe(1, "Sorry, user bob is not allowed to execute '/usr/bin/true' as root on h."), "denied");
  assert.equal(classifySudoProbe(1, "sudo: sorry, you must have a tty to run sudo"), "requiretty");
  assert.equal(classifySudoProbe(1, "something else"), "other");
});

test("scanner strips markers split across chunks and reports them in order", () => {
  const s = new StderrMarkerScanner(markers);
  const whole = `lecture\n${markers.prompt}${markers.started}out ${markers.prompt} kept`;
  const hits: string[] = [];
  let out = "";
  let before = "";
  let after = "";
  for (let i = 0; i < whole.length; i += 3) {
    const r = s.push(Buffer.from(whole.slice(i, i + 3), "latin1"));
    hits.push(...r.hits);
    out += r.out.toString("latin1");
    before += r.before.toString("latin1");
    after += r.after.toString("latin1");
  }
  assert.equal(before, "lecture\n", "sudo's words come before the command starts");
  assert.equal(after, `out ${markers.prompt} kept`);
  out += s.flush().toString("latin1");
  assert.deepEqual(hits, ["prompt", "started"]);
  // after `started`, the command's own output is passed through untouched
  assert.equal(out, `lecture\nout ${markers.prompt} kept`);
});

test("scanner property: any chunking gives the same output and hits as one chunk", () => {
  const piece = fc.oneof(fc.constant(markers.prompt), fc.constant("[lvsctl-sudo-"), fc.string({ maxLength: 8 }), fc.constant("\u00ff\n"));
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 20 }), (parts, cuts) => {
      const text = Buffer.from(parts.join(""), "latin1");
      const one = new StderrMarkerScanner(markers);
      const a = one.push(text);
      const expectOut = Buffer.concat([a.out, one.flush()]).toString("latin1");
      const many = new StderrMarkerScanner(markers);
      let out = "";
      const hits: string[] = [];
      let at = 0;
      let k = 0;
      while (at < text.length) {
        const n = cuts[k++ % cuts.length]!;
        const r = many.push(text.subarray(at, at + n));
        out += r.out.toString("latin1");
        hits.push(...r.hits);
        at += n;
      }
      out += many.flush().toString("latin1");
      assert.equal(out, expectOut);
      assert.deepEqual(hits, a.hits);
      assert.ok(!expectOut.includes(markers.prompt));
    }),
    { numRuns: 300 },
  );
});
