// The lvsd.json lvsctl renders is what lvsd's own `--check` accepts (the command the file's
// `validate` runs on the director): the same parse (src/daemon/config.ts) plus the daemon's list
// of what it cannot run yet (src/daemon/runtime/config.ts `unsupported`), for every director of
// every fixture and example inventory. In-process: no daemon start, no root.
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { parseLvsdConfig } from "../../../src/daemon/config.js";
import { unsupported } from "../../../src/daemon/runtime/config.js";
import { renderLvsdJson } from "../../../src/render/index.js";
import { fixtureCases, inventoryCases, type RenderCase } from "../../fixtures/render/cases.js";
import { fakeSecret } from "../../fixtures/render/index.js";

test("lvsd's checks accept every rendered lvsd.json", async () => {
  const { cases, failures } = await inventoryCases();
  assert.deepEqual(failures, []);
  const all: RenderCase[] = [...fixtureCases(), ...cases];
  let n = 0;
  for (const c of all) {
    for (const d of c.cluster.directors) {
      const config = parseLvsdConfig(renderLvsdJson(c.cluster, d.host.name, { resolveSecret: fakeSecret }));
      // lvsd has no IPv6 VRRP yet, and says so; everything else (health checks included) must pass.
      const problems = unsupported(config).filter((p) => !/IPv6/.test(p));
      assert.deepEqual(problems, [], `${c.name}/${d.host.name}`);
      n++;
    }
  }
  assert.ok(n >= 6);
});
