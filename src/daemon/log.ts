// lvsd's structured logs: one JSON object per line on stdout (journald keeps them; `jq` reads
// them). Every record has `ts` (ISO 8601), `level`, `msg`, and optional fields such as
// `instance`. The sink is injectable: the VRRP worker posts records to the main thread, tests
// collect them.

export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogRecord {
  ts: string;
  level: Level;
  msg: string;
  [field: string]: unknown;
}

export type LogSink = (r: LogRecord) => void;

export interface Logger {
  log(level: Level, msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every record. */
  child(fields: Record<string, unknown>): Logger;
}

/** Serialises a record as one line; values that JSON cannot carry (bigint, Error) are flattened. */
export function formatRecord(r: LogRecord): string {
  return JSON.stringify(r, (_k, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v instanceof Error) {
      const code: unknown = (v as unknown as { code?: unknown }).code;
      return { name: v.name, message: v.message, ...(typeof code === "string" ? { code } : {}) };
    }
    return v;
  });
}

/**
 * sd-daemon(3) priority prefixes: under systemd (JOURNAL_STREAM is set when stdout is the journal)
 * a line starting `<N>` is filed at syslog priority N, so `journalctl -p err -u lvsd` finds errors.
 * Elsewhere lines stay plain JSON.
 */
const SYSLOG_PRIORITY: Record<Level, number> = { debug: 7, info: 6, warn: 4, error: 3 };

export function journalLine(r: LogRecord, underJournal: boolean): string {
  return `${underJournal ? `<${SYSLOG_PRIORITY[r.level]}>` : ""}${formatRecord(r)}\n`;
}

export const stdoutSink: LogSink = (r) => {
  process.stdout.write(journalLine(r, Boolean(process.env.JOURNAL_STREAM)));
};

export function createLogger(opts: { sink?: LogSink; level?: Level; fields?: Record<string, unknown>; now?: () => Date } = {}): Logger {
  const sink = opts.sink ?? stdoutSink;
  const min = ORDER[opts.level ?? "info"];
  const base = opts.fields ?? {};
  const now = opts.now ?? (() => new Date());
  const log = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < min) return;
    sink({ ts: now().toISOString(), level, msg, ...base, ...(fields ?? {}) });
  };
  return {
    log,
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
    child: (fields) => createLogger({ sink, level: opts.level ?? "info", fields: { ...base, ...fields }, now }),
  };
}

/**
 * Logs at most one record per key per `intervalMs` and counts what it suppressed, so a flood of
 * bad packets cannot flood the journal (STYLE.md habit 5). The next record for that key carries
 * `suppressed: N`.
 */
export class RateLimitedLog {
  #last = new Map<string, { at: number; suppressed: number }>();
  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  log(key: string, level: Level, msg: string, fields?: Record<string, unknown>): boolean {
    const t = this.now();
    const e = this.#last.get(key);
    if (e && t - e.at < this.intervalMs) {
      e.suppressed++;
      return false;
    }
    const suppressed = e?.suppressed ?? 0;
    this.#last.set(key, { at: t, suppressed: 0 });
    this.logger.log(level, msg, suppressed > 0 ? { ...fields, suppressed } : fields);
    return true;
  }
}
