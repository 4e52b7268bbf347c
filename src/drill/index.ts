// The rolling failover drill (`lvsctl drill`): the planner and the judge are pure, the runner
// takes its I/O (SSH, client, clock) as ports, and the real clients live in client.ts.
export { planDrill, daemonUnit, DRILL_MODES, KILL_DROP_IN, killDropInDir, LINK_CUT_DELAY_SEC, type DrillMode, type DrillStep, type DrillCommand, type DrillPlanOptions } from "./plan.js";
export { longestGap, judgeStep, type RequestResult, type Gap, type HeldResult, type StepLimits, type StepObservation, type StepReport } from "./judge.js";
export { loopLoad, oneRequest, holdConnections, localClient, remoteClient, remoteLoadScript, parseRemoteLoad, type DrillClient, type DrillTarget, type HeldConnections, type LoadLimits, type ProbeKind, type RunningLoad } from "./client.js";
export { runDrill, seenOf, HEALTH_JUDGE, type Seen, type DrillEvent, type DrillOptions, type DrillPorts, type DrillReport, type RestoreResult } from "./run.js";
