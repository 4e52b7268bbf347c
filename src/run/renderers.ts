// The wiring from playbook tasks to src/render: `render: realserver` / `render: director`, the
// `render:` argument of `sysctl` and `address` (the bootstrap), and `template: {src: NAME}`
// (templates/NAME.hbs with the host's vars as the view).
import type { SecretRef } from "../inventory/schema.js";
import { WILDCARD } from "../plan/expr.js";
import { renderTemplate } from "../render/handlebars.js";
import type { Cluster } from "../inventory/model.js";
import { PATHS, renderDirector, renderRealServer } from "../render/index.js";
import type { Renderer } from "./task-args.js";

/**
 * The interface facing the directors as the renderer takes it: `rs_iface` (host var
 * lvs_interface, else the route to the first director, src/run/vars.ts). While the executor
 * works out which facts to gather it is not known yet: `*` then asks for every interface.
 */
function realServerInterface(vars: Record<string, unknown>): { realServerInterface?: string } {
  const v = vars.rs_iface;
  if (v === WILDCARD) return { realServerInterface: "*" };
  return typeof v === "string" && v !== "" ? { realServerInterface: v } : {};
}

/**
 * When neither `lvs_interface` nor the route to the first director names the interface facing
 * the directors, the ARP sysctl file has only the `all` and `default` lines (enough: the kernel
 * takes the larger of `all` and the interface's value), but the user expected that interface's
 * own lines: say so, with the way to name it.
 */
function interfaceWarning(cluster: Cluster, vars: Record<string, unknown>): string | undefined {
  if (vars.rs_iface !== "") return undefined;
  const first = typeof vars.first_director === "string" ? vars.first_director : "";
  const why = first
    ? `the route lookup to the first director (${first}) gave no interface`
    : cluster.directors.length === 0
      ? "the inventory names no director to look the route up to"
      : "the first director's address is not an IP address to look the route up to";
  return `no interface facing the directors: ${why}, so ${PATHS.realServerSysctl} sets arp_ignore/arp_announce for all and default only (enough for the kernel, which takes the larger value); set the host var lvs_interface: IFACE to add that interface's own lines`;
}

export function defaultRenderers(resolveSecret: (ref: SecretRef) => string): Record<string, Renderer> {
  return {
    realserver: (cluster, host, vars) => {
      const files = renderRealServer(cluster, host, { resolveSecret, ...realServerInterface(vars) });
      const warning = interfaceWarning(cluster, vars);
      return warning ? files.map((f) => (f.path === PATHS.realServerSysctl ? { ...f, warnings: [warning] } : f)) : files;
    },
    director: (cluster, host) => renderDirector(cluster, host, { resolveSecret }),
  };
}

export const defaultRenderTemplate = (name: string, vars: Record<string, unknown>): string => renderTemplate(name, vars);
