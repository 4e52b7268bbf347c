// One error base for the whole tool (STYLE.md habit 11): a stable code, a message that says
// what went wrong, a hint that says what to do, an optional cause, and a location when the
// user's file caused it. Results of tasks and checks are values, not exceptions; these are for
// what stops a command.

export interface SourceLocation {
  file: string;
  line: number; // 1-based
  col: number; // 1-based
}

export function formatLocation(loc: SourceLocation | undefined): string {
  return loc ? `${loc.file}:${loc.line}:${loc.col}` : "";
}

/** Exit codes scripts can rely on. Documented in README.md and `lvsctl --help`. */
export const ExitCode = {
  Ok: 0,
  /** Usage error or an invalid inventory/playbook. */
  Invalid: 1,
  /** A task failed on at least one host. */
  TaskFailed: 2,
  /** At least one host could not be reached (and none failed otherwise). */
  Unreachable: 3,
  /** `lvsctl status`: the cluster is not healthy (something differs from the inventory, or is down). */
  Unhealthy: 4,
  /** Interrupted (SIGINT/SIGTERM). */
  Interrupted: 130,
  /** A command that is not built yet. */
  NotImplemented: 69,
  /** A bug in lvsctl: unexpected exception. */
  Internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class LvsctlError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly location: SourceLocation | undefined;
  readonly exitCode: ExitCode;

  constructor(
    code: string,
    message: string,
    opts: { hint?: string; location?: SourceLocation; cause?: unknown; exitCode?: ExitCode } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "LvsctlError";
    this.code = code;
    this.hint = opts.hint;
    this.location = opts.location;
    this.exitCode = opts.exitCode ?? ExitCode.Invalid;
  }

  /** `file:line:col: error CODE: message\n  hint: ...` */
  format(): string {
    const where = this.location ? `${formatLocation(this.location)}: ` : "";
    const hint = this.hint ? `\n  hint: ${this.hint}` : "";
    return `${where}error ${this.code}: ${this.message}${hint}`;
  }
}

/** A value that prints as *** everywhere (logs, diffs, JSON events). */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return "***";
  }
  toJSON(): string {
    return "***";
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "Secret(***)";
  }
}
