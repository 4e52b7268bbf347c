// The Debian mirror debootstrap pulls from, read at run time from the machine's own apt sources,
// so no registry host name is written into the project (lab-facts.md, "Mirrors").
// Formats: deb822 `.sources` stanzas (sources.list(5), "DEB822-STYLE FORMAT") and one-line
// `deb [options] URI suite [component...]` entries (sources.list(5), "ONE-LINE-STYLE FORMAT").
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LvsctlError } from "../errors/index.js";

export interface AptSource {
  uri: string;
  suites: string[];
}

/** Pure: the binary (`deb`) sources of one file, in order. */
export function parseAptSources(text: string, format: "deb822" | "one-line"): AptSource[] {
  const out: AptSource[] = [];
  const lines = text.split(/\r?\n/).filter((l) => !/^\s*#/.test(l));
  if (format === "one-line") {
    for (const line of lines) {
      const words = line.replace(/\[[^\]]*\]/, " ").trim().split(/\s+/);
      if (words[0] !== "deb" || words.length < 3) continue;
      out.push({ uri: words[1] as string, suites: [words[2] as string] });
    }
    return out;
  }
  for (const stanza of lines.join("\n").split(/\n\s*\n/)) {
    const field = (name: string): string[] => {
      const m = new RegExp(`^${name}:\\s*(.*)$`, "mi").exec(stanza);
      return m?.[1]?.trim().split(/\s+/).filter((s) => s !== "") ?? [];
    };
    if (!field("Types").includes("deb")) continue;
    if (/^Enabled:\s*no\s*$/im.test(stanza)) continue;
    for (const uri of field("URIs")) out.push({ uri, suites: field("Suites") });
  }
  return out;
}

/** Pure: the first source that carries `suite` itself (not bookworm-updates or -security). */
export function pickMirror(sources: readonly AptSource[], suite: string): string | undefined {
  return sources.find((s) => s.suites.includes(suite))?.uri;
}

/** The machine's mirror for `suite`; LVSLAB_MIRROR overrides. */
export function findMirror(suite = "bookworm", etc = "/etc/apt"): string {
  if (process.env.LVSLAB_MIRROR) return process.env.LVSLAB_MIRROR;
  const sources: AptSource[] = [];
  const read = (file: string, format: "deb822" | "one-line"): void => {
    try {
      sources.push(...parseAptSources(readFileSync(file, "utf8"), format));
    } catch {
      /* absent */
    }
  };
  let dropIns: string[] = [];
  try {
    dropIns = readdirSync(join(etc, "sources.list.d")).sort();
  } catch {
    /* absent */
  }
  for (const f of dropIns) {
    if (f.endsWith(".sources")) read(join(etc, "sources.list.d", f), "deb822");
    else if (f.endsWith(".list")) read(join(etc, "sources.list.d", f), "one-line");
  }
  read(join(etc, "sources.list"), "one-line");
  const uri = pickMirror(sources, suite);
  if (!uri) {
    throw new LvsctlError("LAB_NO_MIRROR", `lab: no apt source for suite ${suite} in ${etc}/sources.list(.d)`, {
      hint: "set LVSLAB_MIRROR to a Debian mirror URL to build the lab's base tree",
    });
  }
  return uri;
}
