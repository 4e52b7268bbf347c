// What the play scheduler asks of a rolling strategy (`roll: NAME` in a play with `serial`):
// the order of the play's hosts, asked from the hosts, and a gate after each batch that says
// whether the cluster is fit for the next one. Probes only read; they go over the run's sessions.
import type { Command, ExecResult } from "../ssh/types.js";
import type { HttpResponse } from "../ssh/http.js";

export interface RollProbe {
  /** A read-only command on a host of the inventory (connected on first use); throws when the host cannot be reached. */
  exec(host: string, cmd: Command): Promise<ExecResult>;
  /** GET http://127.0.0.1:PORT/PATH as seen from the host, through its SSH connection (lvsd's status); throws when the host or the port cannot be reached. */
  httpGet?(host: string, port: number, path: string): Promise<HttpResponse>;
}

export interface GateOptions {
  /** How long to wait for the cluster to settle (VRRP elections take seconds). */
  timeoutMs: number;
  sleep(ms: number): Promise<void>;
  now(): number;
  aborted(): boolean;
}

export interface GateResult {
  ok: boolean;
  /** Passed: what was seen ("ds2 BACKUP, ds1 MASTER of VI_1; IPVS table as the inventory says"); failed: every reason. */
  reason: string;
}

export interface Roll {
  /** The play's hosts in the order they go, and why in a few words. */
  order(hosts: string[], probe: RollProbe): Promise<{ hosts: string[]; reason: string }>;
  /** After `host` ran its play: wait until the cluster is fit, or say why it is not. */
  gate(host: string, probe: RollProbe, opts: GateOptions): Promise<GateResult>;
}
