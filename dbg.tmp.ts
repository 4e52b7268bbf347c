import { createServer } from "node:net";
import { loadAddon } from "./src/daemon/native/index.js";
const a = loadAddon();
const hung = createServer((s) => { console.log("accepted"); s.on("data", (d) => console.log("server got", d.length)); }); await new Promise<void>((r) => hung.listen(0, "127.0.0.1", () => r()));
const h = a.checkStart("127.0.0.1", (hung.address() as any).port, undefined, Buffer.from("GET / HTTP/1.0\r\n\r\n"), 100, (...x) => console.log("cb", x));
console.log(typeof h, h);
setTimeout(() => { console.log("cancel ->", a.checkCancel(h as object)); hung.close(); process.exit(0); }, 300);
