// lvsd's public face: the daemon entry and the pieces other code (lvsctl, benches, tests) uses.
export { main, loadConfig, parseArgs, LVSD_VERSION } from "./main.js";
export { step, initialState, type InstanceState, type VrrpEvent, type Effect, type StateName } from "./vrrp/state.js";
export { stepGroup, type SyncGroupDef } from "./vrrp/sync.js";
export { Engine, type EngineDeps, type ReloadSummary } from "./runtime/engine.js";
export { EngineHost } from "./runtime/worker.js";
export type { StatusSnapshot, InstanceStatus } from "./status/types.js";
export { renderMetrics } from "./status/metrics.js";
