// `become` through sudo, as pure pieces: how a command line is wrapped, how the probe's answer is
// read, and how the password prompt is found (and removed) in stderr. connection.ts does the I/O.
import type { Secret } from "../errors/index.js";
import { argv, renderArgv, renderCommand, sh, shellCode, withEnv, type Argv, type Command } from "../command/index.js";

/** How this connection reaches the become user, decided once by the probe. */
export type BecomeMode =
  | { kind: "direct" } // already that user: no sudo
  | { kind: "nopasswd"; user: string }
  | { kind: "password"; user: string; password: Secret };

/**
 * Markers written to stderr: sudo's prompt (`-p`) and a line the command prints once sudo has let
 * it run, so the payload is written to stdin only after the password was consumed. Random per
 * connection, so no real output is mistaken for them; no `%` because sudo expands `%` escapes in
 * its prompt (sudo(8) -p).
 */
export interface SudoMarkers {
  prompt: string;
  started: string;
}

export function makeSudoMarkers(random: string): SudoMarkers {
  if (!/^[A-Za-z0-9]+$/.test(random)) throw new Error("marker token must be alphanumeric");
  return { prompt: `[lvsctl-sudo-prompt-${random}]`, started: `[lvsctl-sudo-started-${random}]` };
}

/** The probe: `sudo -n` never prompts; exit 0 means NOPASSWD (or a cached timestamp). */
export function sudoProbeCommand(user: string): Argv {
  return argv("sudo", "-n", "-u", user, "--", "true");
}

export type ProbeVerdict = "nopasswd" | "password-required" | "no-sudo" | "denied" | "requiretty" | "other";

/** Read the probe's exit code and stderr (sudo's messages, LC_ALL may vary: match loosely). */
export function classifySudoProbe(code: number | null, stderr: string): ProbeVerdict {
  if (code === 0) return "nopasswd";
  if (code === 127 || /sudo: (not found|command not found)|sudo: No such file/i.test(stderr)) return "no-sudo";
  if (/must have a tty|requiretty/i.test(stderr)) return "requiretty";
  if (/password is required/i.test(stderr)) return "password-required";
  if (/not in the sudoers|not allowed to|may not run sudo/i.test(stderr)) return "denied";
  return "other";
}

/** Prefix `env K=V` so sshd's AcceptEnv does not matter. */
export function renderWithEnv(cmd: Command, env: Record<string, string> | undefined): string {
  return renderCommand(withEnv(cmd, env));
}

/**
 * The command line sent over SSH for a command run as the become user. `rendered` is a line that
 * renderCommand made (one simple command), so it is code here, spliced whole.
 */
export function becomeCommandLine(rendered: string, mode: BecomeMode, markers: SudoMarkers): string {
  switch (mode.kind) {
    case "direct":
      return rendered;
    case "nopasswd":
      return renderArgv(["sudo", "-n", "-u", mode.user, "--", "sh", "-c", rendered]);
    case "password": {
      // No pty (-S reads the password from stdin); the inner shell announces itself on stderr
      // before it execs the command, which tells us sudo has finished reading the password.
      const inner = sh`printf '%s' ${markers.started} >&2; exec ${shellCode(rendered)}`;
      return renderArgv(["sudo", "-S", "-p", markers.prompt, "-u", mode.user, "--", "sh", "-c", inner.shell]);
    }
  }
}

export type MarkerHit = "prompt" | "started";

/**
 * Finds the markers in a stderr byte stream that may split them across chunks, strips them, and
 * passes everything else through unchanged. After `started`, it stops looking (the command's own
 * output is never altered).
 */
export class StderrMarkerScanner {
  readonly #markers: { kind: MarkerHit; text: string }[];
  #pending = "";
  #done = false;

  constructor(markers: SudoMarkers) {
    this.#markers = [
      { kind: "prompt", text: markers.prompt },
      { kind: "started", text: markers.started },
    ];
  }

  /**
   * Returns the bytes to pass on (`out`), split into what came before the `started` marker
   * (sudo's own words: lecture, "Sorry, try again") and after it (the command's stderr), and
   * the markers seen, in order.
   */
  push(chunk: Buffer): { out: Buffer; before: Buffer; after: Buffer; hits: MarkerHit[] } {
    if (this.#done) return { out: chunk, before: Buffer.alloc(0), after: chunk, hits: [] };
    // latin1 maps bytes 1:1 to code units, so offsets are byte offsets and nothing is re-encoded.
    let s = this.#pending + chunk.toString("latin1");
    this.#pending = "";
    const hits: MarkerHit[] = [];
    let out = "";
    for (;;) {
      let best: { at: number; kind: MarkerHit; len: number } | undefined;
      for (const m of this.#markers) {
        const at = s.indexOf(m.text);
        if (at >= 0 && (best === undefined || at < best.at)) best = { at, kind: m.kind, len: m.text.length };
      }
      if (!best) break;
      out += s.slice(0, best.at);
      s = s.slice(best.at + best.len);
      hits.push(best.kind);
      if (best.kind === "started") {
        this.#done = true;
        const before = Buffer.from(out, "latin1");
        const after = Buffer.from(s, "latin1");
        return { out: Buffer.concat([before, after]), before, after, hits };
      }
    }
    // Hold back a tail that could be the start of a marker split across chunks.
    const keep = this.#partialTail(s);
    this.#pending = s.slice(s.length - keep);
    out += s.slice(0, s.length - keep);
    const before = Buffer.from(out, "latin1");
    return { out: before, before, after: Buffer.alloc(0), hits };
  }

  /** Whatever is held back, at the end of the stream. */
  flush(): Buffer {
    const rest = Buffer.from(this.#pending, "latin1");
    this.#pending = "";
    return rest;
  }

  #partialTail(s: string): number {
    let keep = 0;
    for (const m of this.#markers) {
      for (let n = Math.min(m.text.length - 1, s.length); n > keep; n--) {
        if (s.endsWith(m.text.slice(0, n))) {
          keep = n;
          break;
        }
      }
    }
    return keep;
  }
}
