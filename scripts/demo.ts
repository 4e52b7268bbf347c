// The main job on one machine, as root: lvsctl run the way an operator would, against a lab
// cluster it brings up itself.
//   lvsctl lab up      two directors, lb1 and lb2 (qemu guests with Debian's kernel: a real IPVS
//                      table), two real servers answering HTTP with their names and a client
//                      (network namespaces on the lab's bridge), and the inventory to use;
//   lvsctl validate, render, deploy --check --diff, deploy (keepalived on both directors, one at a
//                      time), requests through the VIP from the client (each real server must
//                      answer), a second deploy that changes nothing;
//   lvsctl status      the cluster's state, when that command is built;
//   lvsctl drill       the failover drill, when that command is built; until then a drill by hand:
//                      keepalived stopped on the master while the client keeps asking, the VIP
//                      moves, no request fails; keepalived started again, the master takes it back;
//   lvsctl lab down    always, also after a failure or Ctrl-C.
//   sudo npx tsx scripts/demo.ts   (npm run demo)
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const execFileP = promisify(execFile);
const say = (s: string) => console.log(`demo: ${s}`);

let interrupted = false;

function lvsctl(args: string[], opts: { capture?: boolean } = {}): { code: number; stdout: string } {
  if (!opts.capture) console.log(`\n$ lvsctl ${args.join(" ")}`);
  const r = spawnSync(process.execPath, [join(root, "bin/lvsctl.js"), ...args], { stdio: ["inherit", opts.capture ? "pipe" : "inherit", "inherit"], encoding: "utf8" });
  return { code: r.status ?? 1, stdout: r.stdout ?? "" };
}

/** Whether this lvsctl has `name` for real (a command not built yet says so in its summary). */
function built(name: string): boolean {
  const help = lvsctl([name, "--help"], { capture: true });
  return help.code === 0 && !help.stdout.split("\n", 1)[0]!.includes("not built yet");
}

interface LabInfo {
  inventory: string;
  knownHosts: string;
  keyFile: string;
  vip: { address: string };
  client: { netns: string; address: string };
  directors: { name: string; address: string }[];
  realServers: { name: string; address: string }[];
}

async function main(dir: string): Promise<number> {
  const up = lvsctl(["lab", "up", "--out", join(dir, "inventory.yml")]);
  if (up.code !== 0) {
    console.error(`demo: \`lvsctl lab up\` exited ${up.code}`);
    return up.code;
  }
  labIsUp = true;
  const st = lvsctl(["lab", "status", "--json"], { capture: true });
  if (st.code !== 0) {
    console.error(`demo: \`lvsctl lab status\` exited ${st.code}: the lab does not answer\n${st.stdout}`);
    return 1;
  }
  const lab = JSON.parse(st.stdout) as LabInfo;
  const inv = lab.inventory;
  const vip = lab.vip.address;
  const kh = ["--known-hosts", lab.knownHosts];
  const ssh = (name: string, cmd: string, timeoutMs = 60_000) => {
    const d = lab.directors.find((x) => x.name === name)!;
    return execFileP("ssh", [
      "-F", "/dev/null", "-i", lab.keyFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
      "-o", `UserKnownHostsFile=${lab.knownHosts}`, "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=20",
      "-o", "ControlMaster=auto", "-o", `ControlPath=${join(dir, `${name}.ssh`)}`, "-o", "ControlPersist=60", "-o", "LogLevel=ERROR",
      `root@${d.address}`, "--", cmd,
    ], { timeout: timeoutMs }).then((r) => r.stdout);
  };
  /** One request through the VIP from the lab's client: the real server's name, or `error: ...`. */
  const get = async (timeoutSec = 3): Promise<string> => {
    try {
      const { stdout } = await execFileP("ip", ["netns", "exec", lab.client.netns, "curl", "-s", "-S", "--max-time", String(timeoutSec), `http://${vip}/`]);
      return stdout.trim();
    } catch (e) {
      return `error: ${(e as { stderr?: string }).stderr?.trim() || String(e)}`;
    }
  };

  for (const args of [["validate", inv], ["render", inv, "--host", "lb1"], ["deploy", inv, ...kh, "--check", "--diff"], ["deploy", inv, ...kh]]) {
    const { code } = lvsctl(args);
    if (code !== 0 || interrupted) {
      console.error(`demo: \`lvsctl ${args.join(" ")}\` exited ${code}`);
      return code || 130;
    }
  }

  console.log(`\n$ ipvsadm -Ln   (on lb1)\n${(await ssh("lb1", "ipvsadm -Ln")).trimEnd()}`);
  const names = lab.realServers.map((r) => r.name);
  const answers: string[] = [];
  for (let i = 0; i < 3 * names.length; i++) answers.push(await get());
  say(`${answers.length} requests from the client (${lab.client.address}) through ${vip}: ${answers.join(" ")}`);
  const failed = answers.filter((a) => !names.includes(a));
  const silent = names.filter((n) => !answers.includes(n));
  if (failed.length > 0 || silent.length > 0) {
    console.error(`demo: requests through the VIP: ${failed.length} failed${failed.length ? ` (${failed[0]})` : ""}${silent.length ? `; never answered: ${silent.join(", ")}` : ""}`);
    return 1;
  }

  const again = lvsctl(["deploy", inv, ...kh]).code;
  if (again !== 0 || interrupted) return again || 130;

  if (built("status")) {
    const status = lvsctl(["status", inv, ...kh]).code;
    if (status !== 0 || interrupted) return status || 130;
  } else say("`lvsctl status` is not built yet; going on");

  if (!built("drill")) {
    say("`lvsctl drill` is not built yet: the drill by hand instead");
    return handDrill(ssh, get, vip);
  }
  // A clean stop of each director's keepalived in turn; the VIP gone for over 5 s fails the step.
  const drill = lvsctl(["drill", inv, ...kh, "--max-gap", "5000"]).code;
  if (drill !== 0 || interrupted) return drill || 130;
  say("done.");
  return 0;
}

/** Stops keepalived on lb1 while the client keeps asking; the VIP must move to lb2 with no failed request, and come back. */
async function handDrill(ssh: (name: string, cmd: string) => Promise<string>, get: (timeoutSec?: number) => Promise<string>, vip: string): Promise<number> {
  const holders = async () => {
    const out: string[] = [];
    for (const g of ["lb1", "lb2"]) if ((await ssh(g, "ip -o addr show dev eth0")).includes(` ${vip}/`)) out.push(g);
    return out;
  };
  say(`failover: VIP on ${(await holders()).join(",")}; stopping keepalived on lb1 while the client sends a request every 100 ms`);
  const t0 = Date.now();
  const results: string[] = [];
  let stop = false;
  const client = (async () => {
    while (!stop) {
      results.push(await get(2));
      await sleep(100);
    }
  })();
  try {
    await sleep(1000);
    await ssh("lb1", "systemctl stop keepalived");
    const stopped = Date.now() - t0;
    let moved = -1;
    for (let i = 0; i < 100 && moved < 0 && !interrupted; i++) {
      if ((await holders()).join(",") === "lb2") moved = Date.now() - t0;
      else await sleep(200);
    }
    await sleep(2000);
    await ssh("lb1", "systemctl start keepalived");
    let back = -1;
    for (let i = 0; i < 100 && back < 0 && !interrupted; i++) {
      if ((await holders()).join(",") === "lb1") back = Date.now() - t0;
      else await sleep(200);
    }
    await sleep(1000);
    stop = true;
    await client;
    const failed = results.filter((r) => r.startsWith("error"));
    say(`keepalived stopped on lb1 at ${stopped} ms; VIP on lb2 alone at ${moved < 0 ? "never" : `${moved} ms`}; started again, back on lb1 at ${back < 0 ? "never" : `${back} ms`}`);
    say(`${results.length} requests during the drill, ${failed.length} failed${failed.length ? `: ${failed[0]}` : ""}`);
    if (interrupted) return 130;
    if (moved < 0 || back < 0 || failed.length > 0) return 1;
    say("done.");
    return 0;
  } finally {
    stop = true;
    await client;
  }
}

let labIsUp = false;
// Ctrl-C reaches the lvsctl command running now too (one process group); the demo itself stays
// to take the lab down.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => (interrupted = true));

const dir = mkdtempSync(join(tmpdir(), "lvsctl-demo-"));
const t0 = Date.now();
let code = 1;
try {
  code = await main(dir);
} catch (e) {
  console.error(`demo: ${(e as Error).stack ?? e}`);
  code = 1;
} finally {
  // Only a lab this run brought up: `lab up` refuses when one is up already, and that one is not ours.
  if (labIsUp) {
    for (const f of ["lb1", "lb2"]) spawnSync("ssh", ["-F", "/dev/null", "-o", `ControlPath=${join(dir, `${f}.ssh`)}`, "-O", "exit", "lab"], { stdio: "ignore" });
    const down = lvsctl(["lab", "down"]).code;
    if (down !== 0 && code === 0) code = down;
  }
  rmSync(dir, { recursive: true, force: true });
}
say(`${code === 0 ? "passed" : `FAILED (exit ${code})`} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exit(code);
