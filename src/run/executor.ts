// The executor's public face: the play scheduler (scheduler.ts: plays, batches, failure policy)
// driving one host session per host (session.ts: connect, facts, plan, apply, handlers).
export { runPlaybook, readDirFiles, type RunOptions, type RunPlaybookParams, type RunResult, type SecretsPort } from "./scheduler.js";
export { HostSession, SessionPool, type HostOutcome, type RunContext } from "./session.js";
