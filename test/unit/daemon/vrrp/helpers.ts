// Shared builders for the VRRP state-machine tests.
import { GARP_DEFAULTS, type VrrpParams } from "../../../../src/daemon/vrrp/types.js";
import type { Effect, InstanceState, TimerName, VrrpEvent } from "../../../../src/daemon/vrrp/state.js";
import { initialState, step } from "../../../../src/daemon/vrrp/state.js";

export function params(over: Partial<VrrpParams> = {}): VrrpParams {
  return {
    name: "VI_1",
    vrid: 51,
    interface: "eth0",
    priority: 100,
    version: 2,
    advertIntervalMs: 1000,
    initialState: "BACKUP",
    nopreempt: false,
    preemptDelayMs: 0,
    primaryIp: "10.88.0.2",
    vips: [{ address: "10.88.0.100", prefix: 24 }],
    trackInterfaces: [],
    garp: GARP_DEFAULTS,
    ...over,
  };
}

/** Run a sequence of [event, now] pairs from INIT; return the final state and all effects. */
export function run(p: VrrpParams, events: Array<[VrrpEvent, number]>): { s: InstanceState; fx: Effect[] } {
  let s = initialState(p);
  const fx: Effect[] = [];
  for (const [ev, now] of events) {
    const r = step(s, ev, now);
    s = r.next;
    fx.push(...r.effects);
  }
  return { s, fx };
}

export const startup = (vipsPresent = false, linksDown: string[] = []): VrrpEvent => ({ type: "startup", vipsPresent, linksDown });
export const advert = (priority: number, source = "10.88.0.9", intervalMs = 1000, version: 2 | 3 = 2): VrrpEvent => ({
  type: "advert",
  advert: { priority, source, intervalMs, version },
});
export const timer = (t: TimerName): VrrpEvent => ({ type: "timer", timer: t });

export function kinds(fx: Effect[]): string[] {
  return fx.filter((e) => e.kind !== "log").map((e) => (e.kind === "setTimer" || e.kind === "cancelTimer" ? `${e.kind}:${e.timer}` : e.kind));
}
export function adverts(fx: Effect[]): number[] {
  return fx.flatMap((e) => (e.kind === "sendAdvert" ? [e.priority] : []));
}
export function transitions(fx: Effect[]): string[] {
  return fx.flatMap((e) => (e.kind === "transition" ? [`${e.from}>${e.to}`] : []));
}
