// Read-only probes over SSH sessions, outside any play: what `lvsctl status` (and `drill`) asks the
// hosts. The same HostSession a run uses (one connection per host, connected on first use, as the
// host's become user), with a context that plans and changes nothing.
import { dirname } from "node:path";
import type { Cluster, ResolvedHost } from "../inventory/model.js";
import type { StatusProbe } from "../status/types.js";
import type { ConnectTarget, Connector, HostKeyPolicy } from "../ssh/types.js";
import { emptyRecap, type RunEventInput } from "./events.js";
import { SessionPool, type RunContext } from "./session.js";
import { connectTarget, type ResolveSecret } from "./target.js";

export interface ProbeSessionsParams {
  cluster: Cluster;
  connector: Connector;
  policy: HostKeyPolicy;
  resolveSecret: ResolveSecret;
  target?: (host: ResolvedHost, resolve: ResolveSecret) => ConnectTarget;
  /** Per command (and per loopback GET). Default 30 s. */
  timeoutMs?: number;
}

export interface ProbeSessions {
  probe: StatusProbe;
  /** Every connection closed. */
  close(): Promise<void>;
}

export function probeSessions(p: ProbeSessionsParams): ProbeSessions {
  const timeoutMs = p.timeoutMs ?? 30_000;
  const recap = Object.fromEntries(Object.keys(p.cluster.hosts).map((h) => [h, emptyRecap()]));
  /** Why a host could not be connected, from the session's own events. */
  const why = new Map<string, string>();
  const ctx: RunContext = {
    cluster: p.cluster,
    options: { factsTimeoutMs: timeoutMs },
    check: true,
    plan: { diff: false, check: true },
    baseDir: dirname(p.cluster.source),
    connector: p.connector,
    policy: p.policy,
    resolveSecret: p.resolveSecret,
    target: p.target ?? connectTarget,
    renderers: {},
    readFile: () => {
      throw new Error("a probe reads no local file");
    },
    readDir: () => [],
    emit: (e: RunEventInput) => {
      if (e.type === "host.unreachable") why.set(e.host, e.hint ? `${e.error} (hint: ${e.hint})` : e.error);
      else if (e.type === "task.result" && e.status === "failed") why.set(e.host, e.reason);
    },
    aborted: () => false,
    now: () => performance.now(),
    recap,
  };
  const pool = new SessionPool(ctx);
  const session = async (host: string) => {
    const s = pool.get(host);
    const c = await s.connect("status");
    if (c !== "ok") throw s.connectError ?? new Error(why.get(host) ?? (c === "unreachable" ? "unreachable" : "its connection settings cannot be resolved"));
    return s;
  };
  return {
    probe: {
      async exec(host, cmd) {
        return (await session(host)).exec(cmd);
      },
      async httpGet(host, port, path) {
        return (await session(host)).httpGet(port, path, timeoutMs);
      },
    },
    close: () => pool.closeAll(),
  };
}

