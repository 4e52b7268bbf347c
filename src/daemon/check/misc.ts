// MISC_CHECK (keepalived check_misc.c): run a program as a command value (argv, no shell); exit 0
// is success, 1 failure; with misc_dynamic, 2-255 is success with weight exit-2. At the deadline
// (misc_timeout) the program and its children are killed (SIGKILL to its process group).
import { spawn } from "node:child_process";
import type { Checker, CheckResult, MiscTarget } from "./types.js";

/** keepalived misc_dynamic: the result an exit status means. */
export function miscResult(code: number, dynamic: boolean): CheckResult {
  if (code === 0) return { ok: true, detail: "exit 0" };
  if (dynamic && code >= 2 && code <= 255) return { ok: true, weight: code - 2, detail: `exit ${code}: weight ${code - 2}` };
  return { ok: false, reason: "exit-status", detail: `exit ${code}` };
}

export const miscChecker: Checker<MiscTarget> = {
  check(t, signal) {
    return new Promise<CheckResult>((resolve) => {
      let done = false;
      const finish = (r: CheckResult) => {
        if (done) return;
        done = true;
        resolve(r);
      };
      const [cmd, ...args] = t.argv;
      if (!cmd) return finish({ ok: false, reason: "script-error", detail: "empty command" });
      if (signal.aborted) return finish({ ok: false, reason: "script-timeout", detail: "deadline passed before the start" });
      const child = spawn(cmd, args, { stdio: "ignore", detached: true });
      const onAbort = () => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
        finish({ ok: false, reason: "script-timeout", detail: "still running at misc_timeout: killed" });
      };
      signal.addEventListener("abort", onAbort, { once: true });
      child.once("error", (e) => {
        signal.removeEventListener("abort", onAbort);
        finish({ ok: false, reason: "script-error", detail: e.message });
      });
      child.once("exit", (code, sig) => {
        signal.removeEventListener("abort", onAbort);
        if (code !== null) finish(miscResult(code, t.dynamic));
        else finish({ ok: false, reason: "script-signal", detail: `killed by ${sig}` });
      });
    });
  },
};
