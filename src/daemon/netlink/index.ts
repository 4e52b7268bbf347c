// Netlink for lvsd: pure codecs (message, attrs, rtnetlink, genl, ipvs) and, over any
// DatagramSocket, a request/reply connection and the rtnetlink operations built on it.
export * from "./message.js";
export * from "./attrs.js";
export * from "./rtnetlink.js";
export * from "./genl.js";
export * from "./connection.js";
export * from "./route.js";
export * from "./ipvs.js";
export * from "./genl-client.js";
export * from "./writer.js";
