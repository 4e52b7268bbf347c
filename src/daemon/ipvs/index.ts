// lvsd's IPVS side: the raw client (client.ts), the comparable table (table.ts), the pure diff
// (reconcile.ts), keepalived's policy (policy.ts) and the reconciler shell (reconciler.ts).
export * from "./table.js";
export * from "./reconcile.js";
export * from "./policy.js";
export * from "./client.js";
export * from "./reconciler.js";
