// TCP_CHECK (keepalived check_tcp.c): a connection within connect_timeout is success; it is
// closed at once.
import { abortReason, connectError, open, type Phase } from "./connect.js";
import type { Checker, CheckResult, TcpTarget } from "./types.js";

export const tcpChecker: Checker<TcpTarget> = {
  check(t, signal) {
    return new Promise<CheckResult>((resolve) => {
      const st = { phase: "connect" as Phase };
      if (signal.aborted) return resolve({ ok: false, reason: "connect-timeout", detail: "deadline passed before the attempt" });
      signal.addEventListener("abort", () => resolve({ ok: false, reason: abortReason(st.phase), detail: "no connection within connect_timeout" }), { once: true });
      open(t, signal, st).then(
        (s) => {
          s.destroy();
          resolve({ ok: true });
        },
        (e: NodeJS.ErrnoException) => resolve({ ok: false, ...connectError(e, st.phase) }),
      );
    });
  },
};
