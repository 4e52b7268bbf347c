// Which `{prompt: TEXT}` secrets a run will need, found before the run starts so the CLI can ask
// each one once on the terminal (resolving during the run stays synchronous). Pure: reads the
// resolved cluster, asks nothing.
import type { Cluster } from "../inventory/model.js";
import type { SecretRef } from "../inventory/schema.js";

export interface PromptNeed {
  /** The text shown to the user; also the key of its answer. */
  text: string;
  /** Where the inventory asks it, e.g. `hosts.rs1.become.password`; several when shared. */
  where: string[];
}

export interface CollectPromptsOptions {
  /** Only these hosts (a run's selected hosts, `render --host`); default every host. */
  hosts?: readonly string[];
  /** Include what connecting needs (SSH, jump and become passwords); default true. */
  connection?: boolean;
  /** Include the VRRP auth_pass of the selected directors (their rendered files); default true. */
  vrrp?: boolean;
}

/** Every distinct prompt the given hosts need, in inventory order (first place it appears). */
export function collectPrompts(cluster: Cluster, opts: CollectPromptsOptions = {}): PromptNeed[] {
  const byText = new Map<string, PromptNeed>();
  const add = (ref: SecretRef | undefined, where: string) => {
    if (ref === undefined || typeof ref === "string" || !("prompt" in ref)) return;
    const need = byText.get(ref.prompt);
    if (need) {
      if (!need.where.includes(where)) need.where.push(where);
    } else byText.set(ref.prompt, { text: ref.prompt, where: [where] });
  };
  const wanted = opts.hosts ? new Set(opts.hosts) : undefined;
  const names = Object.keys(cluster.hosts).filter((h) => !wanted || wanted.has(h));
  if (opts.connection !== false) {
    for (const name of names) {
      const host = cluster.hosts[name]!;
      // Jump hops first: they are connected to before the host itself.
      host.jump.forEach((j) => add(j.password, `hosts.${name}.jump (${j.name}).password`));
      add(host.password, `hosts.${name}.password`);
      add(host.become?.password, `hosts.${name}.become.password`);
    }
  }
  if (opts.vrrp !== false) {
    for (const d of cluster.directors) {
      if (!names.includes(d.host.name)) continue;
      for (const inst of d.instances) add(inst.authPass, `vrrp_instances.${inst.name}.authentication.auth_pass (director ${d.host.name})`);
    }
  }
  return [...byText.values()];
}
