// What the controller reads from lvsd's addon without loading it (src/plan/ops/elf.ts), and the
// plan-time refusal of a bundle whose addon its lvsd would refuse (bundleAbiProblem).
import { test } from "node:test";
import assert from "node:assert/strict";
import { addonAbiVersion, elfMachine, elfNotes } from "../../../src/plan/ops/elf.js";
import { bundleAbiProblem } from "../../../src/plan/ops/lvsd-bundle.js";
import { abiNote, elfWithNotes } from "../../fixtures/plan/elf.js";

test("elfNotes reads every note of the SHT_NOTE sections, ELF64 and ELF32, either byte order", () => {
  const build = { owner: "GNU", type: 3, desc: Buffer.from("0123456789abcdef0123", "latin1") };
  for (const opts of [{ is64: true, littleEndian: true }, { is64: false, littleEndian: true }, { is64: true, littleEndian: false }, { is64: false, littleEndian: false }]) {
    const b = elfWithNotes(62, [build, abiNote(7, opts.littleEndian)], opts);
    const notes = elfNotes(b);
    assert.deepEqual(notes.map((n) => [n.owner, n.type, n.desc.length]), [["GNU", 3, 20], ["lvsd", 1, 4]], JSON.stringify(opts));
    assert.equal(addonAbiVersion(b), 7, JSON.stringify(opts));
    assert.equal(elfMachine(b), "x86_64");
  }
});

test("addonAbiVersion: undefined without the note, for a note of another owner or type, and for what is not ELF", () => {
  assert.equal(addonAbiVersion(elfWithNotes(62, [])), undefined);
  assert.equal(addonAbiVersion(elfWithNotes(62, [{ ...abiNote(2), owner: "GNU" }])), undefined);
  assert.equal(addonAbiVersion(elfWithNotes(62, [{ ...abiNote(2), type: 2 }])), undefined);
  assert.equal(addonAbiVersion(Buffer.from("#!/usr/bin/env node\n")), undefined);
  assert.equal(addonAbiVersion(Buffer.alloc(0)), undefined);
});

test("elfNotes never throws on a truncated or lying section table", () => {
  const b = elfWithNotes(183, [abiNote(2)]);
  for (let n = 0; n < b.length; n += 7) assert.doesNotThrow(() => elfNotes(b.subarray(0, n)), `first ${n} bytes`);
  const lying = Buffer.from(b);
  lying.writeUInt32LE(0xffffff, 64); // namesz past the end
  assert.deepEqual(elfNotes(lying), []);
});

const DIR = "/c/dist/lvsd";
const REBUILD = "rebuild: npm run build:native && npm run build:lvsd";

test("bundleAbiProblem: none when the addon's note is the manifest's version", () => {
  assert.equal(bundleAbiProblem(DIR, '{"addonAbiVersion":2}\n', elfWithNotes(62, [abiNote(2)]), REBUILD), undefined);
});

test("bundleAbiProblem: another version says both numbers, the file, that lvsd would crash-loop, and how to rebuild", () => {
  const p = bundleAbiProblem(DIR, '{"addonAbiVersion":2}\n', elfWithNotes(183, [abiNote(1)]), REBUILD);
  assert.ok(p);
  assert.match(p.message, /^\/c\/dist\/lvsd\/lvsd_socket\.node has ABI version 1, and the bundle's lvsd expects 2: lvsd would refuse to load it at start and crash-loop/);
  assert.equal(p.hint, REBUILD);
});

test("bundleAbiProblem: an addon without the note (built before it) or a bundle without a manifest is refused too", () => {
  const noNote = bundleAbiProblem(DIR, '{"addonAbiVersion":2}', elfWithNotes(62, []), REBUILD);
  assert.match(noNote?.message ?? "", /lvsd_socket\.node carries no ABI version note .* expects ABI version 2/);
  const noManifest = bundleAbiProblem(DIR, undefined, elfWithNotes(62, [abiNote(2)]), REBUILD);
  assert.match(noManifest?.message ?? "", /has no lvsd-bundle\.json .* older scripts\/build-lvsd\.mjs/);
  assert.match(bundleAbiProblem(DIR, "{not json", elfWithNotes(62, [abiNote(2)]), REBUILD)?.message ?? "", /an unreadable lvsd-bundle\.json/);
  assert.match(bundleAbiProblem(DIR, '{"addonAbiVersion":"2"}', elfWithNotes(62, [abiNote(2)]), REBUILD)?.message ?? "", /unreadable/);
});
