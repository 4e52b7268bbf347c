// The wiring from playbook tasks to src/render: `render: realserver` / `render: director`, the
// `render:` argument of `sysctl` and `address` (the bootstrap), and `template: {src: NAME}`
// (templates/NAME.hbs with the host's vars as the view).
import type { SecretRef } from "../inventory/schema.js";
import { WILDCARD } from "../plan/expr.js";
import { renderTemplate } from "../render/handlebars.js";
import { renderDirector, renderRealServer } from "../render/index.js";
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

export function defaultRenderers(resolveSecret: (ref: SecretRef) => string): Record<string, Renderer> {
  return {
    realserver: (cluster, host, vars) => renderRealServer(cluster, host, { resolveSecret, ...realServerInterface(vars) }),
    director: (cluster, host) => renderDirector(cluster, host, { resolveSecret }),
  };
}

export const defaultRenderTemplate = (name: string, vars: Record<string, unknown>): string => renderTemplate(name, vars);
