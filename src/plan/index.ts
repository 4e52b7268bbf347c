// Public face of planning: facts (what a host is) and operations (what to change), both pure.
export * from "./facts.js";
export * from "./diff.js";
export * from "./expr.js";
export * from "./ops/index.js";
