// systemd's view of the roll's daemon on the director being gated, and the daemon's last error in
// its journal. A daemon that keeps exiting (a crash loop: Restart=on-failure starts it again at
// once) or that systemd gave up on will not settle however long the gate waits: the gate stops
// as soon as it sees one, and quotes why from the journal, instead of timing out on what a dead
// daemon leaves behind. Facts are a command plus a parser (STYLE.md habit 8). Pure but for the
// commands, which are values.
import { argv, type Argv } from "../command/index.js";

/** systemd.unit(5)/org.freedesktop.systemd1(5) properties the gate reads (NRestarts: systemd >= 235). */
export const UNIT_PROPERTIES = ["ActiveState", "SubState", "NRestarts", "Result"] as const;

export interface UnitState {
  /** active, activating, deactivating, inactive, failed, reloading. */
  activeState: string;
  /** running, auto-restart, dead, failed, ... */
  subState: string;
  /** success, exit-code, signal, core-dump, start-limit-hit, ... */
  result: string;
  /** Automatic restarts since the unit was last started by hand; undefined when systemd does not say. */
  nRestarts: number | undefined;
}

/** Restarts seen during one gate that make a crash loop: the handler's kill (`restart lvsd`) is one, and may land after the first poll. */
export const CRASH_LOOP_RESTARTS = 2;
/** Journal lines read when the gate stops on a failing unit. */
export const JOURNAL_LINES = 40;

/** `systemctl show` of the properties, for the probe (one line each, `Name=value`). */
export function unitShowWords(unit: string): string[] {
  return ["systemctl", "show", `--property=${UNIT_PROPERTIES.join(",")}`, "--", unit];
}

/** Pure: `systemctl show` output -> the unit's state; undefined when it has no ActiveState (not asked, or systemd answered nothing). */
export function parseUnitShow(text: string): UnitState | undefined {
  const p = new Map<string, string>();
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) p.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const activeState = p.get("ActiveState");
  if (!activeState) return undefined;
  const n = p.get("NRestarts");
  return { activeState, subState: p.get("SubState") ?? "", result: p.get("Result") ?? "", nRestarts: n !== undefined && /^\d+$/.test(n) ? Number(n) : undefined };
}

export interface UnitTrouble {
  kind: "failed" | "crash-looping";
  /** systemd's NRestarts now. */
  restarts: number | undefined;
  /** Restarts since the gate first saw the unit. */
  during: number;
  result: string;
}

/**
 * Pure: whether the unit will not settle. `first` is its state at the gate's first look, `now` the
 * latest. Failed (systemd gave up: the start limit, or no Restart=), or restarted
 * CRASH_LOOP_RESTARTS times or more since the first look. Undefined when neither.
 */
export function unitTrouble(first: UnitState | undefined, now: UnitState | undefined): UnitTrouble | undefined {
  if (!now) return undefined;
  const during = first?.nRestarts !== undefined && now.nRestarts !== undefined ? Math.max(0, now.nRestarts - first.nRestarts) : 0;
  if (now.activeState === "failed") return { kind: "failed", restarts: now.nRestarts, during, result: now.result };
  if (during >= CRASH_LOOP_RESTARTS) return { kind: "crash-looping", restarts: now.nRestarts, during, result: now.result };
  return undefined;
}

/** The unit's last lines, oldest first, message text only (lvsd's are its JSON records). */
export function journalCommand(unit: string, lines = JOURNAL_LINES): Argv {
  return argv("journalctl", "--quiet", "--no-pager", "--output=cat", `--lines=${lines}`, `--unit=${unit}`);
}

/** Lines systemd itself writes into a unit's journal (with --output=cat). */
const SYSTEMD_LINE = /^(\S+\.service: |(Started|Stopped|Starting|Stopping|Reloading|Reloaded) )/;
const MAX_QUOTE = 300;

function clip(s: string): string {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > MAX_QUOTE ? `${one.slice(0, MAX_QUOTE - 1)}…` : one;
}

/** An error field of an lvsd record (log.ts formatRecord: an Error becomes {name, message}) as text. */
function errorText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { message?: unknown }).message === "string") return (v as { message: string }).message;
  return undefined;
}

/**
 * Pure: the daemon's last error from its journal, oldest line first: the last lvsd record of level
 * error (its msg, and its error or reason), else the last line of the program's own that speaks of
 * an error (a Node stack's first line), else systemd's last word on how the process exited.
 */
export function lastJournalError(journal: string): string | undefined {
  const lines = journal.split("\n").map((l) => l.replace(/^<\d>/, "").trim()).filter((l) => l !== "");
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (!l.startsWith("{")) continue;
    let r: unknown;
    try {
      r = JSON.parse(l);
    } catch {
      continue;
    }
    if (!r || typeof r !== "object") continue;
    const rec = r as { level?: unknown; msg?: unknown; error?: unknown; reason?: unknown; hint?: unknown };
    if (rec.level !== "error" && rec.level !== "fatal") continue;
    const detail = errorText(rec.error) ?? errorText(rec.reason);
    const msg = typeof rec.msg === "string" ? rec.msg : "";
    const text = [msg, detail].filter(Boolean).join(": ");
    return clip(typeof rec.hint === "string" ? `${text} (${rec.hint})` : text);
  }
  const own = [...lines].reverse().find((l) => !l.startsWith("{") && !SYSTEMD_LINE.test(l) && /error|fatal|cannot|refus/i.test(l));
  if (own) return clip(own);
  const exited = [...lines].reverse().find((l) => /\.service: Main process exited/.test(l));
  return exited ? clip(exited) : undefined;
}

/** The gate's reason for stopping early: what, how often, the daemon's own words, where to look. */
export function unitTroubleReason(host: string, daemon: string, t: UnitTrouble, quote: string | undefined): string {
  const times = t.restarts !== undefined ? `restarted ${t.restarts} time${t.restarts === 1 ? "" : "s"}` : `restarted ${t.during} times while the gate watched`;
  const what =
    t.kind === "failed"
      ? `${daemon} has failed (${t.result || "no result"}${t.restarts ? `, after it was ${times}` : ""}; systemd will not start it again by itself)`
      : `${daemon} is crash-looping (${times})`;
  const where = `journalctl -u ${daemon}.service on ${host}`;
  return quote !== undefined ? `${host}: ${what}: ${quote} (${where})` : `${host}: ${what}; its journal gave no error (${where})`;
}
