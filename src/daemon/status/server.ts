// The status endpoint: HTTP on 127.0.0.1 only. GET /status (JSON), GET /metrics (Prometheus).
// It runs on the main thread and asks the VRRP worker for a snapshot, so a slow scrape can never
// delay an advert.
import { createServer, type Server } from "node:http";
import { renderMetrics } from "./metrics.js";
import type { StatusSnapshot } from "./types.js";

export interface StatusServerOptions {
  port: number;
  /** Loopback only, on purpose: the status has no authentication. */
  host?: string;
  snapshot: () => Promise<StatusSnapshot>;
}

export function startStatusServer(opts: StatusServerOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path !== "/status" && path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /status or /metrics\n");
      return;
    }
    opts.snapshot().then(
      (s) => {
        if (path === "/status") res.writeHead(200, { "content-type": "application/json" }).end(`${JSON.stringify(s, null, 2)}\n`);
        else res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(renderMetrics(s));
      },
      (err: unknown) => res.writeHead(503, { "content-type": "text/plain" }).end(`status unavailable: ${(err as Error).message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
