// Property tests over generated valid clusters (test/fixtures/render/arbitrary.ts): rendering
// never throws, keepalived.conf is well formed, the lvsd config is what the daemon accepts, and
// directors differ only where they must. test/lab/keepalived-config.test.ts feeds a sample of the
// same clusters to the real keepalived -t.
import { strict as assert } from "node:assert";
import { test } from "node:test";
import fc from "fast-check";
import { parseLvsdConfig } from "../../../src/daemon/config.js";
import { unsupported } from "../../../src/daemon/runtime/config.js";
import { maskSecrets, renderAll, renderKeepalivedConf, renderLvsdJson, secretValues } from "../../../src/render/index.js";
import { arbCluster } from "../../fixtures/render/arbitrary.js";
import { keepalivedDifferences } from "../../fixtures/render/diff.js";

const opts = { resolveSecret: (r: unknown) => String(r) };

function balanced(conf: string): boolean {
  let depth = 0;
  for (const line of conf.split("\n")) {
    if (line.startsWith("#")) continue;
    for (const ch of line.replace(/"[^"]*"/g, "")) {
      if (ch === "{") depth++;
      if (ch === "}") depth--;
      if (depth < 0) return false;
    }
  }
  return depth === 0;
}

test("property: every generated cluster renders for both backends", () => {
  fc.assert(
    fc.property(arbCluster, (c) => {
      for (const backend of ["keepalived", "lvsd"] as const) {
        const all = renderAll(c, { ...opts, backend });
        assert.equal(all.size, Object.keys(c.hosts).length);
        for (const files of all.values()) for (const f of files) assert.ok(f.path.startsWith("/") && f.content.endsWith("\n"), f.path);
      }
    }),
    { numRuns: 60, seed: 20261122 },
  );
});

test("property: keepalived.conf has balanced braces, no empty value, no trailing blanks", () => {
  fc.assert(
    fc.property(arbCluster, (c) => {
      for (const d of c.directors) {
        const conf = renderKeepalivedConf(c, d.host.name, opts);
        assert.ok(balanced(conf), conf);
        assert.doesNotMatch(conf, /[ \t]$/m);
        assert.doesNotMatch(conf, /\b(undefined|null|NaN)\b/);
      }
    }),
    { numRuns: 100, seed: 7 },
  );
});

test("property: lvsd.json parses with the daemon's schema and passes its checks", () => {
  fc.assert(
    fc.property(arbCluster, (c) => {
      // lvsd runs every config lvsctl renders
      for (const d of c.directors) {
        const problems = unsupported(parseLvsdConfig(renderLvsdJson(c, d.host.name, opts)));
        assert.deepEqual(problems, []);
      }
    }),
    { numRuns: 100, seed: 11 },
  );
});

test("property: directors' keepalived.conf differ only in state, priority, router_id, unicast", () => {
  fc.assert(
    fc.property(arbCluster, (c) => {
      const [a, ...rest] = c.directors.map((d) => renderKeepalivedConf(c, d.host.name, opts));
      for (const b of rest) assert.deepEqual(keepalivedDifferences(a!, b), []);
    }),
    { numRuns: 100, seed: 13 },
  );
});

test("property: masking removes every auth secret from the rendered text", () => {
  fc.assert(
    fc.property(arbCluster, (c) => {
      const secrets = secretValues(c, opts.resolveSecret);
      for (const d of c.directors) {
        const masked = maskSecrets(renderKeepalivedConf(c, d.host.name, opts), secrets);
        for (const s of secrets) assert.ok(!masked.includes(`auth_pass ${s}\n`) && !masked.includes(`auth_pass "${s}"`), s);
      }
    }),
    { numRuns: 60, seed: 17 },
  );
});
