// The wiring from playbook tasks to src/render: `render: realserver` / `render: director` and
// `template: {src: NAME}` (templates/NAME.hbs with the host's vars as the view).
import type { Cluster } from "../inventory/model.js";
import type { SecretRef } from "../inventory/schema.js";
import { renderTemplate } from "../render/handlebars.js";
import { renderDirector, renderRealServer } from "../render/index.js";
import type { RenderedFile } from "./task-args.js";

export function defaultRenderers(resolveSecret: (ref: SecretRef) => string): Record<string, (cluster: Cluster, host: string) => RenderedFile[]> {
  return {
    realserver: (cluster, host) => renderRealServer(cluster, host, { resolveSecret }),
    director: (cluster, host) => renderDirector(cluster, host, { resolveSecret }),
  };
}

export const defaultRenderTemplate = (name: string, vars: Record<string, unknown>): string => renderTemplate(name, vars);
