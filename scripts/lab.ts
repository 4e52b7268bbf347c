// The lab by hand (src/lab): a lab started here stays up until `down`.
//   npx tsx scripts/lab.ts up [--hosts N] [--prefix P] [--slot S]   boot N hosts (default 3, slot 0)
//   npx tsx scripts/lab.ts status [--slot S]                       what runs, and whether sshd answers
//   npx tsx scripts/lab.ts ssh NAME [--user U] [--slot S] [-- CMD...]
//   npx tsx scripts/lab.ts exec NAME [--slot S] -- CMD...           as root inside, without SSH
//   npx tsx scripts/lab.ts down [--slot S]                          tear the lab down
//   npx tsx scripts/lab.ts clean                                    remove labs whose process died
//   npx tsx scripts/lab.ts base                                     build (or check) the base tree only
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { LvsctlError } from "../src/errors/index.js";
import { Lab, cleanupStale, ensureBase, labDir, labPrerequisites, paths, teardownSlotSync } from "../src/lab/index.js";
import { sshBanner } from "../src/lab/host.js";

const USAGE = "usage: npx tsx scripts/lab.ts up [--hosts N] [--prefix P] [--slot S] | down [--slot S] | status [--slot S] | ssh NAME [--user U] [-- CMD] | exec NAME -- CMD | clean | base";

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      hosts: { type: "string", default: "3" },
      prefix: { type: "string", default: "h" },
      slot: { type: "string" },
      user: { type: "string", default: "root" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [cmd, ...rest] = positionals;
  if (values.help || cmd === undefined) {
    console.log(USAGE);
    return cmd === undefined && !values.help ? 1 : 0;
  }
  const slot = Number(values.slot ?? "0");
  const log = (l: string): void => console.error(l);
  const why = labPrerequisites();
  if (why) {
    console.error(`lab: ${why}`);
    return 1;
  }
  switch (cmd) {
    case "base": {
      const t0 = Date.now();
      const b = await ensureBase({ log });
      console.log(`base: ${b.dir} (${b.built ? "built" : "reused"}; debootstrap took ${b.debootstrapSeconds.toFixed(1)} s; this call ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return 0;
    }
    case "up": {
      const t0 = Date.now();
      const lab = await Lab.up({ hosts: Number(values.hosts), prefix: values.prefix, slot, persistent: true, log });
      console.log(`lab slot ${lab.slot} up in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${lab.hosts.length} hosts on ${lab.subnet} (this machine is ${lab.gateway})`);
      for (const h of lab.hosts) console.log(`  ${h.name.padEnd(8)} ${h.address}`);
      console.log(`key:         ${lab.keyFile}\nknown_hosts: ${lab.knownHostsFile}\nssh_config:  ${lab.sshConfigFile}  (ssh -F it NAME)`);
      console.log(`users:       root, ${lab.deployUser} (sudo NOPASSWD), ${lab.pwUser.name} (sudo password ${lab.pwUser.password})`);
      return 0;
    }
    case "down": {
      const problems = teardownSlotSync(slot);
      console.log(problems.length ? `slot ${slot}: down, with problems:\n  ${problems.join("\n  ")}` : `slot ${slot}: down`);
      return problems.length ? 1 : 0;
    }
    case "clean": {
      const cleaned = cleanupStale(log);
      console.log(cleaned.length ? cleaned.join("\n") : "nothing stale");
      return 0;
    }
    case "status": {
      // Without --slot: every lab on this machine (tests' labs too, with their owner).
      // (the per-slot state.json check below covers both the listed slots and an explicit --slot)
      const slots = values.slot !== undefined ? [slot] : existsSync(labDir()) ? readdirSync(labDir()).flatMap((d) => (/^s\d+$/.test(d) ? [Number(d.slice(1))] : [])) : [];
      if (slots.length === 0) console.log("no lab is up");
      for (const s of slots.sort((a, b) => a - b)) {
        if (!existsSync(`${paths.slotDir(s)}/state.json`)) {
          console.log(`slot ${s}: no lab`);
          continue;
        }
        const lab = Lab.attach(s);
        console.log(`slot ${s}: ${lab.hosts.length} hosts on ${lab.subnet}${lab.persistent ? " (persistent)" : ""}`);
        const banners = await Promise.all(lab.hosts.map((h) => (lab.isRunning(h.name) ? sshBanner(h.address, h.port, 2000) : Promise.resolve(undefined))));
        lab.hosts.forEach((h, i) => {
          console.log(`  ${h.name.padEnd(8)} ${h.address.padEnd(13)} ${lab.isRunning(h.name) ? "running" : "stopped"}  ${banners[i] ?? "(no sshd answer)"}`);
        });
      }
      return 0;
    }
    case "ssh": {
      const [name, ...command] = rest;
      if (!name) throw new LvsctlError("LAB_USAGE", USAGE);
      const lab = Lab.attach(slot);
      const args = lab.sshArgs(name, values.user);
      if (process.stdin.isTTY) args.splice(1, 0, "-t");
      const r = spawnSync(args[0]!, [...args.slice(1), ...command], { stdio: "inherit" });
      return r.status ?? 1;
    }
    case "exec": {
      const [name, ...command] = rest;
      if (!name || command.length === 0) throw new LvsctlError("LAB_USAGE", USAGE);
      const r = await Lab.attach(slot).exec(name, command.join(" "));
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      return r.code;
    }
    default:
      console.error(USAGE);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof LvsctlError ? e.format() : e);
    process.exit(1);
  },
);
