// `lvsctl lab up|status|down`: a cluster to try lvsctl on, on this machine (src/lab/cli-lab.ts
// does the work). The command checks the arguments and the machine, calls the lab, and prints.
import { ExitCode, LvsctlError } from "../../errors/index.js";
import { qemuPrerequisites } from "../../lab/qemu.js";
import { defaultLabInventory, LAB_LIMITS, labDown, labStatus, labUp, planLabUp, type CliLabState, type LabDownReport, type LabStatusReport, type LabUpPlan } from "../../lab/cli-lab.js";
import { bool, shownPath, str, type CommandSpec } from "../command.js";
import type { CliIo } from "../io.js";

/** What the lab command needs from the machine; the tests hand in fakes. */
export interface LabDeps {
  /** undefined when the qemu lab can run here, else why not (root, a missing package). */
  prerequisites(): string | undefined;
  defaultInventory(): string;
  up(plan: LabUpPlan, log: (line: string) => void): Promise<CliLabState>;
  status(): Promise<LabStatusReport | undefined>;
  down(log: (line: string) => void): LabDownReport;
  now(): number;
}

export const realLabDeps: LabDeps = {
  prerequisites: qemuPrerequisites,
  defaultInventory: defaultLabInventory,
  up: labUp,
  status: labStatus,
  down: labDown,
  now: Date.now,
};

const ACTIONS = ["up", "status", "down"] as const;
const UP_ONLY = ["directors", "real-servers", "backend", "out"] as const;

export function makeLabCommand(deps: LabDeps): CommandSpec {
  return {
    name: "lab",
    summary: "a lab cluster on this machine to try lvsctl on: qemu directors, HTTP real servers, an inventory",
    usage: "lvsctl lab up|status|down [options]",
    details: [
      "up      boot the directors (qemu guests with Debian's kernel, for a real IPVS table; the first",
      "        run builds their image, a few minutes) and the real servers (network namespaces on the",
      "        lab's bridge with an HTTP server answering with its name, the VIP on lo and the ARP",
      "        sysctls) and a client address; write an inventory (a VRRP instance with the VIP, a DR",
      "        service with an HTTP check) and a random VRRP password in a file beside it (mode 0600).",
      "        The lab keeps running after the command returns, until `lvsctl lab down`.",
      "status  what runs: the directors (qemu, SSH), the real servers (HTTP), a request through the VIP.",
      "        Exit 0 when every part answers, 3 when one does not, 1 when no lab is up.",
      "down    remove everything `up` made (also a lab whose `up` died part way, and other labs here",
      "        whose process is gone); the inventory stays if it was edited. Safe to run twice.",
      "",
      "The lab's real servers are prepared by the lab, not by `lvsctl bootstrap`: they are namespaces",
      "of this machine and share its /etc, so the inventory lists them by address only. Nothing the lab",
      "sends leaves this machine. Needs root, qemu and the tools scripts/install-deps.sh installs.",
      "With --backend lvsd the inventory names lvsd (director.backend), which deploy installs from",
      "the bundle built here (npm run build:lvsd).",
    ].join("\n"),
    options: {
      directors: { type: "string", value: "N", help: `up: directors, qemu guests lb1..lbN (${LAB_LIMITS.directors.min}-${LAB_LIMITS.directors.max}, default ${LAB_LIMITS.directors.default})` },
      "real-servers": { type: "string", value: "N", help: `up: HTTP real servers rs1..rsN (${LAB_LIMITS.realServers.min}-${LAB_LIMITS.realServers.max}, default ${LAB_LIMITS.realServers.default})` },
      backend: { type: "string", value: "NAME", help: "up: keepalived (default) or lvsd, the inventory's director backend" },
      out: { type: "string", value: "FILE", help: "up: where to write the inventory (default .lab/cli/inventory.yml in lvsctl's folder)" },
      json: { type: "boolean", help: "status: one JSON document" },
    },
    positionals: [{ name: "action", required: true }],
    async run(args, io) {
      const action = args.positionals[0]!;
      if (!(ACTIONS as readonly string[]).includes(action)) {
        throw new LvsctlError("LVS807", `lab: unknown action '${action}'`, { hint: "usage: lvsctl lab up|status|down [options]" });
      }
      if (action !== "up") {
        const misplaced = UP_ONLY.filter((o) => args.values[o] !== undefined);
        if (misplaced.length) throw new LvsctlError("LVS807", `lab ${action}: ${misplaced.map((o) => `--${o}`).join(", ")} only applies to \`lab up\``, { hint: `usage: lvsctl lab ${action}` });
      }
      if (action !== "status" && bool(args, "json")) throw new LvsctlError("LVS807", `lab ${action}: --json only applies to \`lab status\``);
      const log = (line: string): void => io.err(`${line}\n`);
      if (action === "status") return status(deps, io, bool(args, "json"));
      const why = deps.prerequisites();
      if (why) {
        throw new LvsctlError("LVS805", `lab ${action}: the lab cannot run here: ${why}`, {
          hint: why.startsWith("needs root") ? "run it as root (sudo lvsctl lab ...)" : "bash scripts/install-deps.sh installs what the lab needs (as root, on Debian 12)",
        });
      }
      if (action === "down") return down(deps, io, log);
      const plan = planLabUp({ directors: str(args, "directors"), realServers: str(args, "real-servers"), backend: str(args, "backend"), out: str(args, "out") }, io.cwd, deps.defaultInventory());
      const t0 = deps.now();
      log(`lab: booting ${plan.directors.length} director${plan.directors.length > 1 ? "s" : ""} (qemu guests; the first run builds their image, a few minutes) and ${plan.realServers.length} real server${plan.realServers.length > 1 ? "s" : ""}...`);
      const st = await deps.up(plan, log);
      io.out(upSummary(st, io.cwd, (deps.now() - t0) / 1000));
      return ExitCode.Ok;
    },
  };
}

export const labCommand = makeLabCommand(realLabDeps);

/** What `lab up` prints: the lab, the files, and the commands to type next. */
export function upSummary(st: CliLabState, cwd: string, seconds: number): string {
  const inv = shownPath(cwd, st.inventory);
  const kh = shownPath(cwd, st.knownHostsFile);
  return [
    `lab: up in ${seconds.toFixed(1)} s (qemu slot ${st.slot}, backend ${st.backend})`,
    ...st.directors.map((d) => `  director     ${d.name.padEnd(6)} ${d.address}  (ssh root, key ${st.keyFile})`),
    ...st.realServers.map((r) => `  real server  ${r.name.padEnd(6)} ${r.address}  (HTTP :80)`),
    `  client              ${st.client.address}  (ip netns exec ${st.client.netns} curl http://${st.vip}/)`,
    `  VIP                 ${st.vip}`,
    `inventory:    ${inv}`,
    `VRRP password: ${shownPath(cwd, st.secretFile)} (mode 0600)`,
    `known_hosts:  ${kh}`,
    "",
    "next:",
    `  lvsctl validate ${inv}`,
    `  lvsctl deploy ${inv} --known-hosts ${kh}`,
    `  lvsctl status ${inv} --known-hosts ${kh}`,
    `  lvsctl drill ${inv} --known-hosts ${kh}`,
    "  lvsctl lab status",
    "  lvsctl lab down",
    "",
  ].join("\n");
}

async function status(deps: LabDeps, io: CliIo, json: boolean): Promise<number> {
  const r = await deps.status();
  if (!r) {
    if (json) io.out(JSON.stringify({ up: false }) + "\n");
    else io.err("lab: no lab is up\n  hint: `lvsctl lab up` boots one\n");
    return ExitCode.Invalid;
  }
  const code = r.healthy ? ExitCode.Ok : ExitCode.Unreachable;
  if (json) {
    io.out(JSON.stringify({ up: true, healthy: r.healthy, slot: r.state.slot, backend: r.state.backend, inventory: r.state.inventory, knownHosts: r.state.knownHostsFile, keyFile: r.state.keyFile, vip: { address: r.state.vip, answer: r.vip }, client: r.state.client, directors: r.directors, realServers: r.realServers }, null, 2) + "\n");
    return code;
  }
  const st = r.state;
  io.out(
    [
      `lab: qemu slot ${st.slot}, backend ${st.backend}, up since ${st.createdAt}`,
      ...r.directors.map((d) => `  director     ${d.name.padEnd(6)} ${d.address.padEnd(12)} ${d.running ? `qemu pid ${d.qemuPid}` : "qemu not running"}, ${d.ssh ? "SSH answers" : "SSH does not answer"}`),
      ...r.realServers.map((s) => `  real server  ${s.name.padEnd(6)} ${s.address.padEnd(12)} ${s.http === s.name ? `HTTP answers (pid ${s.pid})` : `HTTP: ${s.http}`}`),
      `  client              ${st.client.address}`,
      `  VIP                 ${st.vip.padEnd(12)} ${r.vip.startsWith("error") ? `not answering (${r.vip.replace(/^error: /, "")}; before a deploy nothing holds it)` : `answered by ${r.vip}`}`,
      `inventory:    ${shownPath(io.cwd, st.inventory)}`,
      `known_hosts:  ${shownPath(io.cwd, st.knownHostsFile)}`,
      "",
    ].join("\n"),
  );
  if (!r.healthy) io.err("lab: part of the lab does not answer (above); `lvsctl lab down` and `lvsctl lab up` make a new one\n");
  return code;
}

function down(deps: LabDeps, io: CliIo, log: (line: string) => void): number {
  const r = deps.down(log);
  const lines: string[] = [];
  if (r.slots.length === 0 && r.removed.length === 0 && r.stale.length === 0) lines.push("lab: nothing to remove (no lab is up)");
  else {
    if (r.slots.length) lines.push(`lab: qemu slot ${r.slots.join(", ")} removed (guests, real servers, namespaces)`);
    for (const f of r.removed) lines.push(`  removed ${shownPath(io.cwd, f)}`);
    for (const f of r.kept) lines.push(`  kept ${f}`);
    for (const s of r.stale) lines.push(`  ${s}`);
  }
  io.out(lines.join("\n") + "\n");
  if (r.problems.length) {
    throw new LvsctlError("LVS808", `lab down: left things behind:\n    ${r.problems.join("\n    ")}`, { hint: "run `lvsctl lab down` again; `ip netns list` and `ps -C qemu-system-x86_64` show what is left" });
  }
  return ExitCode.Ok;
}
