// Rolling deploys: the strategies a play can name with `roll:` (the order of its hosts and the
// gate after each one), and the pure pieces they judge with.
import type { Cluster } from "../inventory/model.js";
import { keepalivedRoll } from "./keepalived.js";
import { lvsdRoll } from "./lvsd.js";
import type { Roll } from "./types.js";

export type { Roll, RollProbe, GateOptions, GateResult } from "./types.js";
export { keepalivedRoll } from "./keepalived.js";
export { lvsdRoll } from "./lvsd.js";
export { directorRoll, judgeDirector, parseProbe, VRRP_DAEMONS, type DirectorProbe, type VrrpDaemon } from "./director.js";
export { parseIpvsadmSave, expectedIpvs, compareIpvs, diffIpvs, canonicalAddress, endpoint, serviceKey, type IpvsTable, type IpvsService, type IpvsDest, type IpvsDiff, type IpvsDiffKind, type Forward } from "./ipvs-table.js";
export { parseIpAddrJson, instanceRole, judgeVrrp, expectedRole, mastersNow, type DirectorView, type VrrpRole } from "./vrrp-state.js";
export { judgeLvsdStatus, lvsdServiceKey } from "./lvsd-status.js";
export { directorProbe, splitDirectorProbe, PROBE_MARK, type DirectorProbeOutput } from "./director-probe.js";

/** `roll: NAME` -> the strategy for a cluster. */
export const defaultRolls: Record<string, (cluster: Cluster) => Roll> = {
  keepalived: keepalivedRoll,
  lvsd: lvsdRoll,
};
