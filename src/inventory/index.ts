// Public face of the inventory subsystem: read an inventory (all problems at once, located),
// and resolve it into the cluster model everything else is fed from.
export * from "./schema.js";
export type * from "./model.js";
export { loadInventory, parseInventory, type LoadResult, type LoadOptions, type ParseOptions } from "./load.js";
export { formatDiagnostic, hasErrors, type Diagnostic, type Severity } from "./diagnostic.js";
export { CODES, type Code } from "./codes.js";
export { resolve, type ResolveOptions } from "./resolve.js";
export { parseVip, type ParsedVip } from "./topology.js";
export { directorSysctls, type DirectorSysctl } from "./sysctls.js";
export { AUTH_PASS_MAX, KEEPALIVED_DEFAULTS, authPassProblem } from "./limits.js";
