import { test } from "node:test";
import assert from "node:assert/strict";
import { initialState, type InstanceState, type VrrpEvent } from "../../../../src/daemon/vrrp/state.js";
import { stepGroup, type SyncGroupDef } from "../../../../src/daemon/vrrp/sync.js";
import { advert, params, startup, timer } from "./helpers.js";

const group: SyncGroupDef = { name: "G1", members: ["VI_1", "VI_2"] };

function boot(): Map<string, InstanceState> {
  let states = new Map<string, InstanceState>([
    ["VI_1", initialState(params({ name: "VI_1", vrid: 51, interface: "eth0", trackInterfaces: [] }))],
    ["VI_2", initialState(params({ name: "VI_2", vrid: 52, interface: "eth1", vips: [{ address: "10.89.0.100", prefix: 24 }] }))],
  ]);
  for (const m of group.members) states = stepGroup(group, states, m, startup(), 0).states;
  return states;
}

function send(states: Map<string, InstanceState>, target: string, ev: VrrpEvent, now: number) {
  return stepGroup(group, states, target, ev, now);
}

const st = (s: Map<string, InstanceState>) => [...s.values()].map((x) => x.state).join(",");

test("sync: a member whose timer fires waits for the others, the last one takes the group to MASTER", () => {
  let s = boot();
  let r = send(s, "VI_1", timer("masterDown"), 3610);
  assert.equal(st(r.states), "BACKUP,BACKUP");
  assert.equal(r.states.get("VI_1")!.masterDownExpired, true);
  r = send(r.states, "VI_2", timer("masterDown"), 3611);
  assert.equal(st(r.states), "MASTER,MASTER");
  assert.deepEqual(r.groupNotify, ["MASTER"]);
  // both installed their own VIPs
  const adds = r.effects.filter((e) => e.effect.kind === "addVips").map((e) => e.instance);
  assert.deepEqual(adds.sort(), ["VI_1", "VI_2"]);
  s = r.states;
});

test("sync: a held member that hears its master again clears its readiness", () => {
  let r = send(boot(), "VI_1", timer("masterDown"), 3610);
  r = send(r.states, "VI_1", advert(150), 3700);
  assert.equal(r.states.get("VI_1")!.masterDownExpired, false);
  r = send(r.states, "VI_2", timer("masterDown"), 3611);
  assert.equal(st(r.states), "BACKUP,BACKUP");
});

function masterGroup(): Map<string, InstanceState> {
  let r = send(boot(), "VI_1", timer("masterDown"), 3610);
  r = send(r.states, "VI_2", timer("masterDown"), 3611);
  return r.states;
}

test("sync: one member hearing a better master takes the whole group to BACKUP", () => {
  const r = send(masterGroup(), "VI_2", advert(200), 5000);
  assert.equal(st(r.states), "BACKUP,BACKUP");
  assert.deepEqual(r.groupNotify, ["BACKUP"]);
  assert.deepEqual(r.effects.filter((e) => e.effect.kind === "removeVips").map((e) => e.instance).sort(), ["VI_1", "VI_2"]);
});

test("sync: a member's link down puts the whole group in FAULT until it comes back", () => {
  let r = send(masterGroup(), "VI_1", { type: "linkDown", ifname: "eth0" }, 5000);
  assert.equal(st(r.states), "FAULT,FAULT");
  assert.deepEqual(r.groupNotify, ["FAULT"]);
  // both resign with priority 0
  assert.equal(r.effects.filter((e) => e.effect.kind === "sendAdvert" && e.effect.priority === 0).length, 2);
  // a second member's own fault, then the first clears: still FAULT (the second holds the group)
  r = send(r.states, "VI_2", { type: "linkDown", ifname: "eth1" }, 5100);
  r = send(r.states, "VI_1", { type: "linkUp", ifname: "eth0" }, 5200);
  assert.equal(st(r.states), "FAULT,FAULT");
  r = send(r.states, "VI_2", { type: "linkUp", ifname: "eth1" }, 5300);
  assert.equal(st(r.states), "BACKUP,BACKUP");
  assert.deepEqual(r.groupNotify, ["BACKUP"]);
});

test("sync: instances outside a group are stepped alone", () => {
  const states = new Map([["X", initialState(params({ name: "X" }))]]);
  const r = stepGroup(null, states, "X", startup(), 0);
  assert.equal(r.states.get("X")!.state, "BACKUP");
  const r2 = stepGroup(null, r.states, "X", timer("masterDown"), 4000);
  assert.equal(r2.states.get("X")!.state, "MASTER");
  assert.deepEqual(r2.groupNotify, []);
});
