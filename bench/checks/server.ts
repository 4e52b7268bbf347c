// The real servers for bench/checks: PORTS tiny HTTP servers on 127.0.0.1 in this (separate)
// process, so their CPU is not counted against the checker. Prints the first port, then serves
// until killed.
import { createServer } from "node:http";

const count = Number(process.argv[2] ?? 50);
const base = Number(process.argv[3] ?? 28000);
let up = 0;
for (let k = 0; k < count; k++) {
  createServer((_q, s) => s.end("ok\n")).listen(base + k, "127.0.0.1", () => {
    if (++up === count) process.stdout.write(`ready ${base}\n`);
  });
}
