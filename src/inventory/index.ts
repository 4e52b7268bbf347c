// Public face of the inventory subsystem.
export * from "./schema.js";
export type * from "./model.js";
