// Gratuitous ARP frames (pure codec).
export * from "./packet.js";
