import { test } from "node:test";
import assert from "node:assert/strict";
import { evalCondition, evaluate, ExprError, interpolate, WILDCARD } from "../../../src/plan/expr.js";

const vars = { role: "web", port: 80, vips: ["10.0.0.100", "10.0.0.101"], facts: { os: { family: "debian" } }, empty: [], host: { vars: { x: 1 } } };

test("comparisons, in / not in, and / or / not, parentheses", () => {
  assert.equal(evalCondition("role == 'web'", vars), true);
  assert.equal(evalCondition('role != "web"', vars), false);
  assert.equal(evalCondition("port == '80'", vars), true, "numbers and numeric strings compare equal");
  assert.equal(evalCondition("port >= 80 and port < 443", vars), true);
  assert.equal(evalCondition("'10.0.0.100' in vips", vars), true);
  assert.equal(evalCondition("'10.0.0.9' not in vips", vars), true);
  assert.equal(evalCondition("not (role == 'web' or port == 1)", vars), false);
  assert.equal(evalCondition("facts.os.family in ['debian', 'ubuntu']", vars), true);
  assert.equal(evalCondition("host.vars['x'] == 1", vars), true);
  assert.equal(evalCondition("empty", vars), false, "an empty list is false");
  assert.equal(evalCondition("vips", vars), true);
  assert.equal(evalCondition(true, vars), true);
});

test("undefined names are errors unless tested with is defined", () => {
  assert.throws(() => evaluate("nope == 1", vars), ExprError);
  assert.equal(evalCondition("nope is defined", vars), false);
  assert.equal(evalCondition("nope is not defined", vars), true);
  assert.equal(evalCondition("facts.os.family is defined and facts.os.nothing is not defined", vars), true);
  // prototype names are not variables
  assert.throws(() => evaluate("constructor", vars), ExprError);
});

test("syntax errors name the expression", () => {
  assert.throws(() => evaluate("role ==", vars), /unexpected end/);
  assert.throws(() => evaluate("role = 'web'", vars), /unexpected "="/);
  assert.throws(() => evaluate("'open", vars), /unterminated/);
  assert.throws(() => evaluate("a; rm -rf /", { a: 1 }), ExprError);
});

test("interpolate: whole-value expressions keep their type, parts become text, keys too", () => {
  assert.deepEqual(interpolate("{{ vips }}", vars), vars.vips);
  assert.equal(interpolate("port {{ port }} on {{ vips }}", vars), "port 80 on 10.0.0.100, 10.0.0.101");
  assert.deepEqual(interpolate({ "net.ipv4.conf.{{ role }}.x": "{{ port }}" }, vars), { "net.ipv4.conf.web.x": 80 });
  assert.equal(interpolate("no templates", vars), "no templates");
});

test("wildcards stand for facts not gathered yet", () => {
  assert.equal(interpolate("net.ipv4.conf.{{ iface }}.arp_ignore", { iface: WILDCARD }), "net.ipv4.conf.*.arp_ignore");
  assert.equal(interpolate("{{ facts.os.family }}", { facts: WILDCARD }), "*");
  assert.equal(evalCondition("iface == 'x'", { iface: WILDCARD }), false);
  // A value not known yet may hold anything: `in` over it is no error (the playbook's syntax check).
  assert.equal(evalCondition("'keepalived.service' in units", { units: WILDCARD }), true);
});
