// Health checks (issue 10 item 2): checkers (one method each), the one scheduler (retry, rise,
// alpha, delays, deadlines), and CheckHealth, the daemon core's HealthSource.
export type { CheckReason, CheckResult, Checker, CheckerSet, CheckSignal, CheckPolicy, CheckSpec, CheckTarget, HttpTarget, MiscTarget, TcpTarget } from "./types.js";
export { CheckScheduler, type CheckStatus, type HealthChange, type SchedulerOptions } from "./scheduler.js";
export { checkSpecs, nameBasedId, type RealServerIdOf } from "./plan.js";
export { CheckHealth, type CheckHealthStatus, type MonitorDeps } from "./monitor.js";
export { tcpChecker } from "./tcp.js";
export { httpChecker, genhash, httpRequest, parseResponse } from "./http.js";
export { miscChecker, miscResult } from "./misc.js";

import { httpChecker } from "./http.js";
import { miscChecker } from "./misc.js";
import { tcpChecker } from "./tcp.js";
import type { CheckerSet } from "./types.js";

/** The real checkers (sockets and processes). */
export const realCheckers: CheckerSet = { TCP: tcpChecker, HTTP: httpChecker, SSL: httpChecker, MISC: miscChecker };
export { ANSWER_CAP, DIGEST_CAP, nativeCheckers, nativeHttpChecker, nativeTcpChecker, type CheckAddon } from "./native.js";
