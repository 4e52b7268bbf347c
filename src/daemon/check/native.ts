// TCP_CHECK and HTTP_GET with the connections in C (native/lvsd_socket.c, checkStart): connect,
// the request, the answer read to the server's close and close happen in the addon on node's own
// loop, and only the result crosses into JavaScript, one callback an attempt. node:net costs about
// twice a C checker's CPU per connection (bench/checks), which a thousand checks a second feel.
// Parsing and judging stay here and in http.ts, the same for both paths; SSL_GET stays on
// node:tls (http.ts). The deadline is still the caller's signal: on abort the attempt is
// cancelled in C at once and judged by the phase it was in, as http.ts does.
import { judge, parseResponse, httpChecker, httpRequest } from "./http.js";
import { abortReason, connectError, type Phase } from "./connect.js";
import { miscChecker } from "./misc.js";
import type { Checker, CheckerSet, CheckSignal, CheckResult, HttpTarget, HttpUrlSpec, TcpTarget } from "./types.js";

/** The addon's check functions (see the comments above them in lvsd_socket.c). */
export interface CheckAddon {
  /** The one function every attempt ends in (set once, before the first start). */
  checkCallback(cb: (id: number, code: string | undefined, phase: number, data: Buffer | undefined, truncated: boolean) => void): void;
  /** Starts an attempt; returns its id, or the errno name when it failed at once (socket, bind,
   * connect; no callback then). The callback comes once: code undefined on success, phase 0
   * (connect) or 1 (request and answer), the bytes read (kept up to `cap`; `truncated` when more came). */
  checkStart(address: string, port: number, bindto: string | undefined, request: Buffer | undefined, cap: number): number | string;
  /** Stops an attempt without a callback; the phase it was in, undefined when it had ended. */
  checkCancel(id: number): number | undefined;
}

/** How an attempt's outcome is judged: built once per target (and url), not per attempt. */
interface Plan {
  request: Buffer | undefined;
  cap: number;
  aborted(phase: Phase, before: boolean): CheckResult;
  done(code: string | undefined, phase: Phase, data: Buffer | undefined, truncated: boolean): CheckResult;
}

/** An attempt in flight: what its one callback needs. */
interface Pending {
  plan: Plan;
  signal: CheckSignal;
  resolve: (r: CheckResult) => void;
  onAbort: () => void;
}

/** Per addon, the attempts in flight by id (one callback into JS serves them all). */
const inFlight = new WeakMap<CheckAddon, Map<number, Pending>>();
function pendingOf(addon: CheckAddon): Map<number, Pending> {
  let m = inFlight.get(addon);
  if (!m) {
    const pending = new Map<number, Pending>();
    addon.checkCallback((id, code, phase, data, truncated) => {
      const p = pending.get(id);
      if (!p) return;
      pending.delete(id);
      p.signal.removeEventListener("abort", p.onAbort);
      p.resolve(p.plan.done(code, phaseOf(phase), data, truncated));
    });
    inFlight.set(addon, (m = pending));
  }
  return m;
}

/** Bytes of an answer kept: the status line and headers need little; a digest needs the body. */
export const ANSWER_CAP = 64 * 1024;
export const DIGEST_CAP = 4 * 1024 * 1024;

const phaseOf = (p: number | undefined): Phase => (p === 1 ? "read" : "connect");
const errnoOf = (code: string) => Object.assign(new Error(code), { code }) as NodeJS.ErrnoException;

/** What an answer (all the bytes read; `code` the error that ended the read, if any) says. */
export function answerResult(u: HttpUrlSpec, all: Buffer, code: string | undefined, truncated: boolean): CheckResult {
  if (truncated && u.digest !== undefined) return { ok: false, reason: "bad-response", detail: `${u.path}: answer longer than ${DIGEST_CAP} bytes, not digested` };
  const r = parseResponse(all);
  // a reset after a complete answer is still an answer
  if (r) return judge(u, r);
  if (code !== undefined) return { ok: false, reason: "read-error", detail: `${u.path}: ${code}` };
  return { ok: false, reason: all.length === 0 ? "read-error" : "bad-response", detail: `${u.path}: ${all.length === 0 ? "closed without an answer" : "not an HTTP response"}` };
}

/** One attempt through the addon: resolves with the plan's verdict, or the phase's at the deadline. */
function attempt(addon: CheckAddon, t: TcpTarget | HttpTarget, plan: Plan, signal: CheckSignal): Promise<CheckResult> {
  return new Promise<CheckResult>((resolve) => {
    if (signal.aborted) return resolve(plan.aborted("connect", true));
    const pending = pendingOf(addon); // sets the addon's callback before its first start
    const id = addon.checkStart(t.address, t.port, t.bindto, plan.request, plan.cap);
    if (typeof id === "string") return resolve(plan.done(id, "connect", undefined, false));
    const onAbort = () => {
      pending.delete(id);
      resolve(plan.aborted(phaseOf(addon.checkCancel(id)), false));
    };
    pending.set(id, { plan, signal, resolve, onAbort });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

const tcpPlan: Plan = {
  request: undefined,
  cap: 0,
  aborted: (phase, before) => ({ ok: false, reason: abortReason(phase), detail: before ? "deadline passed before the attempt" : "no connection within connect_timeout" }),
  done: (code, phase) => (code === undefined ? { ok: true } : { ok: false, ...connectError(errnoOf(code), phase) }),
};

export function nativeTcpChecker(addon: CheckAddon): Checker<TcpTarget> {
  return { check: (t, signal) => attempt(addon, t, tcpPlan, signal) };
}

/** One url's plan: its request (the same bytes every delay_loop) and its judging; `okDetail` is
 * the detail of a one-url check's success (one frozen result, shared by every success). */
function httpPlan(t: HttpTarget, u: HttpUrlSpec, okDetail: string | undefined): Plan {
  const ok: CheckResult | undefined = okDetail === undefined ? undefined : Object.freeze({ ok: true, detail: okDetail });
  return {
    request: httpRequest(t, u.path),
    cap: u.digest === undefined ? ANSWER_CAP : DIGEST_CAP,
    aborted: (phase) => ({ ok: false, reason: abortReason(phase), detail: `${u.path}: ${phase === "read" ? "no complete answer" : "no connection"} within connect_timeout` }),
    done: (code, phase, data, truncated) => {
      if (phase === "connect") {
        const m = connectError(errnoOf(code ?? "EIO"), phase);
        return { ok: false, reason: m.reason, detail: `${u.path}: ${m.detail}` };
      }
      const r = answerResult(u, data ?? Buffer.alloc(0), code, truncated);
      return r.ok && ok !== undefined ? ok : r;
    },
  };
}

export function nativeHttpChecker(addon: CheckAddon): Checker<HttpTarget> {
  // a target's plans are built once (the request, the cap, the judging): the same every delay_loop
  const plans = new WeakMap<HttpTarget, Map<HttpUrlSpec, Plan>>();
  const planOf = (t: HttpTarget, u: HttpUrlSpec) => {
    let m = plans.get(t);
    if (!m) plans.set(t, (m = new Map()));
    let p = m.get(u);
    if (!p) m.set(u, (p = httpPlan(t, u, t.urls.length === 1 ? `HTTP ok ${u.path}` : undefined)));
    return p;
  };
  const many = async (t: HttpTarget, signal: CheckSignal): Promise<CheckResult> => {
    for (const u of t.urls) {
      const r = await attempt(addon, t, planOf(t, u), signal);
      if (!r.ok) return r;
    }
    return { ok: true, detail: `${t.urls.length} urls ok` };
  };
  return {
    check(t, signal) {
      if (t.type === "SSL") return httpChecker.check(t, signal);
      // one url (the usual case): the attempt's own promise is the check's
      return t.urls.length === 1 ? attempt(addon, t, planOf(t, t.urls[0]!), signal) : many(t, signal);
    },
  };
}

/** The daemon's checkers: TCP_CHECK and HTTP_GET through the addon, SSL_GET on node:tls. */
export function nativeCheckers(addon: CheckAddon): CheckerSet {
  const http = nativeHttpChecker(addon);
  return { TCP: nativeTcpChecker(addon), HTTP: http, SSL: httpChecker, MISC: miscChecker };
}
