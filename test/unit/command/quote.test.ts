// src/command against real shells: whatever the words hold, quoting then letting sh parse the
// line gives the same words back (printf '%s\0' prints each argument NUL-terminated). Runs the
// local /bin/sh (dash on Debian) and bash when present; no root, no network.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import fc from "fast-check";
import {
  argv,
  asSimple,
  NEW_FILE,
  openQuoteAtEnd,
  quote,
  renderArgv,
  renderCommand,
  Shell,
  sh,
  shellCode,
  showArgv,
  splitWords,
  validateArgvProblem,
  validateCommand,
  withEnv,
  wordsOf,
} from "../../../src/command/index.js";

const SHELLS = ["/bin/sh", "/bin/bash", "/usr/bin/zsh"].filter((s) => existsSync(s));

/** Run `line` with `shell -c` and return the NUL-terminated words it printed. */
function parse(shell: string, line: string): string[] {
  const r = spawnSync(shell, ["-c", line], { encoding: "utf8" });
  assert.equal(r.status, 0, `${shell} -c ${JSON.stringify(line)}: ${r.stderr}`);
  const out = r.stdout.split("\0");
  assert.equal(out.pop(), "", "output ends with a NUL");
  return out;
}

/** Strings an attacker would try, mixed with anything at all (no NUL: argv cannot hold it). */
const hostile = fc.oneof(
  fc.constantFrom("", " ", "'", '"', "\\", "$", "`", ";", "|", "&", "\n", "#", "~", "*", "?", "[a]", "{a,b}", "!", "=", "%", "-", "--", "$(id)", "`id`", "${IFS}", "'\\''", "a b", "-rf /", "=ls", "%1", "\t", "\r", "é", "\u{1F600}", "\u00a0"),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.array(fc.constantFrom("'", '"', "\\", "$", "`", ";", " ", "\n", "a", "-", "=", "*", "(", ")", "<", ">", "#", "~", "!", "{", "}"), { maxLength: 10 }).map((a) => a.join("")),
);
const word = hostile.filter((s) => !s.includes("\0") && Buffer.from(s, "utf8").toString("utf8") === s);
const words = fc.array(word, { maxLength: 6 });

/** Many argvs in one shell run (spawning is the slow part): each printed after a "first" word. */
function roundTrip(shell: string, batch: string[][], render: (ws: string[]) => string): void {
  const got = parse(shell, batch.map(render).join("\n"));
  const want = batch.flatMap((ws) => ["first", ...ws]);
  assert.deepEqual(got, want);
}

test("property: quote then sh gives back the same argv, for every local shell", () => {
  for (const shell of SHELLS) {
    fc.assert(
      fc.property(fc.array(words, { minLength: 1, maxLength: 30 }), (batch) => {
        // "first" so printf always has an argument (none at all would print one empty word)
        roundTrip(shell, batch, (ws) => renderArgv(["printf", "%s\\0", "first", ...ws]));
      }),
      { numRuns: 15 },
    );
  }
});

test("property: sh`...` puts each value in as words, never as code", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(words, word), { minLength: 1, maxLength: 30 }), (batch) => {
      const scripts = batch.map(([ws, one]) => sh`printf '%s\\0' first ${ws} ${one}`);
      roundTrip("/bin/sh", batch.map(([ws, one]) => [...ws, one]), (_ws) => scripts.shift()!.shell);
      // a script run as a command (`sh -c SCRIPT`) and spliced into another keeps its words too
      const again = batch.map(([ws, one]) => sh`( ${asSimple(sh`printf '%s\\0' first ${ws} ${one}`)} )`);
      roundTrip("/bin/sh", batch.map(([ws, one]) => [...ws, one]), (_ws) => again.shift()!.shell);
    }),
    { numRuns: 15 },
  );
});

test("property: env values reach the command as they are", () => {
  fc.assert(
    fc.property(fc.array(word, { minLength: 1, maxLength: 30 }), (vs) => {
      roundTrip("/bin/sh", vs.map((v) => [v]), (ws) => renderCommand(withEnv(argv("sh", "-c", `printf '%s\\0' first "$X"`), { X: ws[0]! })));
    }),
    { numRuns: 15 },
  );
});

test("the first word is never an assignment or a reserved word", () => {
  assert.equal(renderArgv(["FOO=1", "x"]), "'FOO=1' x");
  assert.equal(renderArgv(["if", "x"]), "'if' x");
  assert.equal(renderArgv(["x", "FOO=1", "if"]), "x FOO=1 if");
  assert.equal(renderArgv(["time", "x"]), "'time' x");
  for (const first of ["FOO=1", "if", "!", "{", "while", "case", "%1", "=ls"]) {
    const r = spawnSync("/bin/sh", ["-c", renderArgv([first, "true"])], { encoding: "utf8" });
    assert.equal(r.status, 127, `${first}: sh looked for a program named ${JSON.stringify(first)} (got ${r.status}: ${r.stderr})`);
  }
});

test("plain words stay readable; NUL and empty commands are refused", () => {
  assert.equal(renderArgv(["sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=1"]), "sysctl -q -w net.ipv4.conf.all.arp_ignore=1");
  assert.equal(quote(""), "''");
  assert.equal(quote("it's"), `'it'\\''s'`);
  assert.throws(() => quote("a\0b"), /NUL/);
  assert.throws(() => renderArgv([]), /empty/);
  assert.equal(renderCommand(shellCode("a | b")), "sh -c 'a | b'");
  assert.equal(Shell.join([sh`a ${"x y"}`, sh`b`], " && ").shell, "a 'x y' && b");
  assert.throws(() => sh`x ${Number.NaN}`, /finite/);
  // a plain object is not a Shell (the class is nominal), and cannot sneak in as code
  assert.throws(() => sh`x ${{ shell: "rm -rf /" } as unknown as string}`, /cannot put/);
});

test("validate argv: the word %s is the new file, everything else stays a word", () => {
  const v = ["/usr;touch /tmp/x;/usr/sbin/keepalived", "-t", "-f", NEW_FILE];
  assert.deepEqual(validateCommand(v, "/etc/.k.conf.tmp").argv, ["/usr;touch /tmp/x;/usr/sbin/keepalived", "-t", "-f", "/etc/.k.conf.tmp"]);
  assert.equal(renderCommand(validateCommand(v, "/t")), "'/usr;touch /tmp/x;/usr/sbin/keepalived' -t -f /t");
  assert.equal(showArgv(["keepalived", "-t", "-f", "%s"]), "keepalived -t -f %s");
  assert.match(validateArgvProblem(["keepalived", "-t"])!, /needs the word %s/);
  assert.match(validateArgvProblem(["%s"])!, /cannot start/);
  assert.match(validateArgvProblem([])!, /empty/);
  // `%s` inside a longer word is not the placeholder: only whole words are replaced
  assert.deepEqual(validateCommand(["x", "--config=%s", "%s"], "/t").argv, ["x", "--config=%s", "/t"]);
});

test("splitWords: sh's word rules without its expansions; shell syntax refused with its offset", () => {
  assert.deepEqual(wordsOf(`grep -q 'a b' "c \\"d\\"" e\\ f /etc/x`), ["grep", "-q", "a b", 'c "d"', "e f", "/etc/x"]);
  assert.deepEqual(wordsOf("  a\tb  "), ["a", "b"]);
  assert.deepEqual(wordsOf("a '' b"), ["a", "", "b"]);
  for (const [text, at] of [["a | b", 2], ["a; b", 1], ["a && b", 2], ["echo $HOME", 5], ["echo `id`", 5], ["a > /x", 2], ["ls *", 3], ['echo "$x"', 6], ["a\nb", 1], ["#x", 0], ["~/x", 0], ["a 'b", 2]] as const) {
    const r = splitWords([text]);
    assert.ok("error" in r, `${JSON.stringify(text)} was accepted`);
    assert.equal(r.error.offset, at, `${JSON.stringify(text)}: ${r.error.message}`);
  }
  // a#b and a~ are plain words in sh too
  assert.deepEqual(wordsOf("a#b a~"), ["a#b", "a~"]);
});

test("splitWords: a hole's value is never split or read as syntax; a lone list hole is one word per item", () => {
  const hole = (text: string, list?: string[]) => (list ? { text, list } : { text });
  assert.deepEqual(splitWords(["ip link set ", " up"], [hole("eth0; reboot")]), { words: ["ip", "link", "set", "eth0; reboot", "up"] });
  assert.deepEqual(splitWords(["echo x", "y"], [hole(" a b ")]), { words: ["echo", "x a b y"] });
  assert.deepEqual(splitWords(["rm -f -- ", ""], [hole("a, b", ["a", "b c"])]), { words: ["rm", "-f", "--", "a", "b c"] });
  assert.deepEqual(splitWords(["rm -f -- ", ""], [hole("", [])]), { words: ["rm", "-f", "--"] });
  assert.deepEqual(splitWords(["x --opt=", ""], [hole("a, b", ["a", "b"])]), { words: ["x", "--opt=a, b"] });
  assert.deepEqual(splitWords(["echo ", ""], [hole("")]), { words: ["echo", ""] });
});

test("openQuoteAtEnd tells where a shell value may go", () => {
  assert.equal(openQuoteAtEnd("echo "), undefined);
  assert.equal(openQuoteAtEnd("echo '"), "'");
  assert.equal(openQuoteAtEnd('echo "a'), '"');
  assert.equal(openQuoteAtEnd(`echo 'a"' "b'" \\' `), undefined);
});
