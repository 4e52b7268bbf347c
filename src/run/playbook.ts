// Playbooks: YAML under playbooks/, a list of plays (Ansible's shape). Loaded with the same
// located-diagnostic machinery as the inventory (src/inventory/source.ts, issues.ts), so every
// mistake says file:line:col, what is wrong and what to do.
//
//   - name: real-server bootstrap
//     hosts: realservers            # group or host names (a list or one string); "all"
//     serial: 1 | "30%" | [1, "50%"] # batches; default: all hosts at once
//     max_fail_percentage: 20       # abort the remaining batches when MORE than this % of a batch failed
//     any_errors_fatal: true        # one failed or unreachable host stops the play on every host
//     roll: keepalived              # a rolling strategy (src/roll): the hosts' order asked from the hosts, a gate after each batch
//     vars: {k: v}
//     tasks:
//       - name: ...
//         sysctl | file | template | render | address | package | service | command | shell | upload_dir | lvsd_bundle | build | default_route: {...}
//         when: "expr"              # see src/plan/expr.ts for the language
//         tags: [a, b]
//         notify: [handler name]
//     handlers: [ same shape as tasks; run at the end of the play, for hosts where they were notified ]
import { readFileSync } from "node:fs";
import { dirname, resolve as resolvePath } from "node:path";
import { z } from "zod";
import { LvsctlError, type SourceLocation } from "../errors/index.js";
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from "../inventory/diagnostic.js";
import { issuesToDiagnostics, type IssueContext } from "../inventory/issues.js";
import { parseYaml } from "../inventory/source.js";
import { evaluate, ExprError, hasTemplate, WILDCARD } from "../plan/expr.js";
import { commandArgsProblems } from "./command-args.js";
import { ArgSchemas, OP_NAMES, StrList, type OpName } from "./task-args.js";

export interface Task {
  name: string;
  op: OpName;
  args: unknown;
  when?: string | boolean;
  tags: string[];
  notify: string[];
  location?: SourceLocation;
}

export interface Play {
  name: string;
  hosts: string[];
  serial?: (number | string)[];
  maxFailPercentage?: number;
  /** One failed or unreachable host stops the play: no host starts another task or batch. */
  anyErrorsFatal: boolean;
  /** A rolling strategy by name (src/roll): the order of the hosts, and a gate after each batch. */
  roll?: string;
  vars: Record<string, unknown>;
  tasks: Task[];
  handlers: Task[];
  location?: SourceLocation;
}

export interface Playbook {
  file: string;
  baseDir: string;
  plays: Play[];
}

const Serial = z.union([z.number().int().min(1), z.string().regex(/^\d+(\.\d+)?%$/, { error: "serial is a count or a percentage like \"30%\"" })]);

const opKeys = Object.fromEntries(OP_NAMES.map((k) => [k, z.unknown().optional()])) as Record<OpName, z.ZodOptional<z.ZodUnknown>>;

const TaskSchema = z.strictObject({
  name: z.string().min(1),
  when: z.union([z.string().min(1), z.boolean()]).optional(),
  tags: StrList.default([]),
  notify: StrList.default([]),
  ...opKeys,
});

const PlaySchema = z.strictObject({
  name: z.string().min(1),
  hosts: StrList,
  serial: z.union([Serial, z.array(Serial).min(1)]).optional(),
  max_fail_percentage: z.number().min(0).max(100).optional(),
  any_errors_fatal: z.boolean().default(false),
  roll: z.string().min(1).optional(),
  vars: z.record(z.string(), z.unknown()).default({}),
  tasks: z.array(TaskSchema).default([]),
  handlers: z.array(TaskSchema).default([]),
});

/** A play with its tasks left unchecked (they are checked one by one). */
const PlayShape = PlaySchema.extend({ tasks: z.array(z.unknown()).default([]), handlers: z.array(z.unknown()).default([]) });

const PlaybookSchema = z.array(PlaySchema).min(1, { error: "a playbook is a list of at least one play" });

/** Parse a playbook's text. Pure: no file reads. All problems are collected. */
export function parsePlaybook(text: string, file: string): { playbook?: Playbook; diagnostics: Diagnostic[] } {
  const src = parseYaml(text, file);
  const diagnostics: Diagnostic[] = [...src.diagnostics];
  const done = () => ({ diagnostics: sortDiagnostics(diagnostics, file) });
  if (src.broken) return done();
  const schema = PlaybookSchema as unknown as IssueContext["schema"];
  const located = (issues: z.core.$ZodIssue[], prefix: (string | number)[]) =>
    diagnostics.push(...issuesToDiagnostics(issues.map((i) => ({ ...i, path: [...prefix, ...i.path] })), { schema, data: src.data, at: src.at }));
  const err = (code: string, message: string, path: (string | number)[], hint?: string, key = false) => {
    const location = src.at(path, { key });
    diagnostics.push({ severity: "error", code, message, ...(hint ? { hint } : {}), ...(location ? { location } : {}) });
  };
  // Plays and tasks are checked one by one, so one mistake does not hide the others.
  const top = z.array(z.unknown()).min(1, { error: "a playbook is a list of at least one play" }).safeParse(src.data);
  if (!top.success) {
    located(top.error.issues, []);
    return done();
  }
  const plays: Play[] = [];
  top.data.forEach((raw, pi) => {
    const shape = PlayShape.safeParse(raw);
    if (!shape.success) located(shape.error.issues, [pi]);
    const rawTasks = (section: "tasks" | "handlers"): unknown[] => {
      const v = raw && typeof raw === "object" ? (raw as Record<string, unknown>)[section] : undefined;
      return Array.isArray(v) ? v : [];
    };
    const toTask = (rawTask: unknown, ti: number, section: "tasks" | "handlers"): Task | undefined => {
      const base: (string | number)[] = [pi, section, ti];
      const parsed = TaskSchema.safeParse(rawTask);
      if (!parsed.success) {
        located(parsed.error.issues, base);
        return undefined;
      }
      const t = parsed.data;
      const ops = OP_NAMES.filter((k) => t[k] !== undefined);
      if (ops.length !== 1) {
        err("LVS751", `${section}[${ti}] "${t.name}": ${ops.length === 0 ? "no operation" : `several operations (${ops.join(", ")})`}`, base, `give exactly one of: ${OP_NAMES.join(", ")}`);
        return undefined;
      }
      const op = ops[0]!;
      const args = t[op];
      // Arguments without {{ }} are checked now; templated ones once a host's values are known.
      if (!hasTemplate(args)) {
        const r = (ArgSchemas[op] as z.ZodType).safeParse(args);
        if (!r.success) located(r.error.issues, [...base, op]);
      }
      // Commands with or without {{ }}: shell syntax where no shell runs, a value inside quotes.
      for (const [path, message] of commandArgsProblems(op, args))
        err(
          "LVS760",
          `${op}: ${message}`,
          [...base, op, ...path],
          op === "command" ? "command: runs without a shell; for pipes, redirections or shell variables use shell: (its {{ }} values are quoted as words too)" : "write {{ }} outside quotes: each value goes in as one quoted word",
        );
      if (typeof t.when === "string") {
        try {
          // Syntax check only: every name is a wildcard here.
          evaluate(t.when, new Proxy({}, { has: () => true, get: () => WILDCARD, getOwnPropertyDescriptor: () => ({ value: WILDCARD, configurable: true, enumerable: true, writable: false }) }));
        } catch (e) {
          if (e instanceof ExprError) err("LVS752", `when: ${e.message}`, [...base, "when"], "see the expression language in src/plan/expr.ts: ==, !=, in, not in, and, or, not, is defined");
        }
      }
      const task: Task = { name: t.name, op, args, tags: t.tags, notify: t.notify };
      if (t.when !== undefined) task.when = t.when;
      const loc = src.at(base);
      if (loc) task.location = loc;
      return task;
    };
    const tasks = rawTasks("tasks").map((t, i) => toTask(t, i, "tasks"));
    const handlers = rawTasks("handlers").map((t, i) => toTask(t, i, "handlers")).filter((t): t is Task => !!t);
    const names = new Set(handlers.map((h) => h.name));
    tasks.forEach((t, ti) =>
      t?.notify.forEach((n, ni) => {
        const rawNotify = (rawTasks("tasks")[ti] as Record<string, unknown>).notify;
        if (!names.has(n)) err("LVS753", `task "${t.name}" notifies "${n}", which is not a handler of this play`, [pi, "tasks", ti, "notify", ...(Array.isArray(rawNotify) ? [ni] : [])], names.size ? `handlers here: ${[...names].join(", ")}` : "add it under handlers:");
      }),
    );
    // A sysctl task owns its file: two in one play would rewrite it in turn on every run.
    const sysctlFiles = new Map<string, number>();
    tasks.forEach((t, ti) => {
      if (t?.op !== "sysctl" || hasTemplate(t.args)) return;
      const file = ArgSchemas.sysctl.safeParse(t.args);
      if (!file.success) return;
      const first = sysctlFiles.get(file.data.file);
      if (first !== undefined) err("LVS754", `tasks[${ti}] "${t.name}" writes ${file.data.file}, which tasks[${first}] already owns`, [pi, "tasks", ti, "sysctl"], "put these values in one sysctl task, or give this task its own file:");
      else sysctlFiles.set(file.data.file, ti);
    });
    if (!shape.success) return;
    const p = shape.data;
    const play: Play = { name: p.name, hosts: p.hosts, vars: p.vars, tasks: tasks.filter((t): t is Task => !!t), handlers, anyErrorsFatal: p.any_errors_fatal };
    if (p.serial !== undefined) play.serial = Array.isArray(p.serial) ? p.serial : [p.serial];
    if (p.max_fail_percentage !== undefined) play.maxFailPercentage = p.max_fail_percentage;
    if (p.roll !== undefined) play.roll = p.roll;
    const loc = src.at([pi]);
    if (loc) play.location = loc;
    plays.push(play);
  });
  if (diagnostics.some((d) => d.severity === "error")) return done();
  return { playbook: { file, baseDir: dirname(resolvePath(file)), plays }, diagnostics: sortDiagnostics(diagnostics, file) };
}

/** Read and parse a playbook file; throws LvsctlError (all diagnostics in its message) when invalid. */
export function loadPlaybook(path: string, read: (p: string) => string = (p) => readFileSync(p, "utf8")): Playbook {
  let text: string;
  try {
    text = read(path);
  } catch (e) {
    throw new LvsctlError("LVS110", `cannot read playbook ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { hint: "check the path", cause: e });
  }
  const r = parsePlaybook(text, path);
  if (!r.playbook) {
    const first = r.diagnostics.find((d) => d.severity === "error");
    throw new LvsctlError(first?.code ?? "LVS751", `invalid playbook ${path}:\n${r.diagnostics.map(formatDiagnostic).join("\n")}`, {
      hint: "fix the problems listed above",
      ...(first?.location ? { location: first.location } : {}),
    });
  }
  return r.playbook;
}
