// The arguments each operation takes in a playbook (zod), and their conversion into the
// planners' desired state. Arguments may hold `{{ expr }}`: those tasks are checked once their
// values are known, per host, just before planning.
import { z } from "zod";
import { validateArgvProblem, wordsOf, type ValidateArgv } from "../command/index.js";
import { COMMAND_OPS, CommandTemplateError, toCommand } from "./command-args.js";
import { sysctlKeyProblem } from "../inventory/sysctls.js";
import { VERSION_PATTERN } from "../inventory/tarball-name.js";
import { packageNameProblem } from "../plan/ops/package.js";
import { moduleNameProblem, modulesOp, parseModulesLoad, type ModulesDesired } from "../plan/ops/modules.js";
import type { FileDesired } from "../plan/ops/file.js";
import type {
  AddressDesired,
  BuildDesired,
  CommandDesired,
  DefaultRouteDesired,
  DirFile,
  PackageDesired,
  ServiceDesired,
  SysctlDesired,
  TunnelDesired,
  UploadDirDesired,
} from "../plan/ops/index.js";
import { bundleAbiProblem, elfMachine, LVSD_ADDON, LVSD_BUNDLE_MANIFEST, lvsdBundleOp, type LvsdBundleDesired } from "../plan/ops/index.js";
import { PlanError } from "../plan/ops/errors.js";
import { addressOp, buildOp, commandOp, defaultRouteOp, fileOp, filesOp, packageOp, serviceOp, sysctlFromContent, sysctlOp, tunnelOp, UNIT_DIR, unitName, uploadDirOp } from "../plan/ops/index.js";
import type { Operation } from "../plan/ops/types.js";
import type { Cluster } from "../inventory/model.js";
import type { RenderedFile } from "../render/index.js";

const AbsPath = z.string().startsWith("/", { error: "must be an absolute path" }).regex(/^[^\n\t\\]+$/, { error: "must not contain newlines, tabs or backslashes" });

/** File modes: "0644", "644", 0o644, or 644 read as octal digits (YAML 1.2 reads 0644 as decimal 644). */
const Mode = z.union([z.string().regex(/^0?[0-7]{3,4}$/, { error: "a mode is octal, like \"0644\"" }), z.number().int().min(0)]).transform((m, ctx) => {
  const s = typeof m === "number" ? String(m) : m;
  if (!/^[0-7]+$/.test(s)) {
    ctx.addIssue({ code: "custom", message: `mode ${s} is not octal; write it as a string like "0644"` });
    return z.NEVER;
  }
  return parseInt(s, 8);
});

/**
 * The validate command: an argv, or a string split into words as sh would (quotes, no expansions,
 * no shell syntax); the word "%s" is the new file. It never runs through a shell.
 */
const Validate = z.union([z.string().min(1), z.array(z.string()).min(1)]).transform((v, ctx) => {
  let words: string[];
  try {
    words = typeof v === "string" ? wordsOf(v) : v;
  } catch (e) {
    ctx.addIssue({ code: "custom", message: `${(e as Error).message}; the validate command runs without a shell: give its words as a list, e.g. [sh, -c, 'test -s "$1"', sh, "%s"]` });
    return z.NEVER;
  }
  const problem = validateArgvProblem(words);
  if (problem) {
    ctx.addIssue({ code: "custom", message: problem });
    return z.NEVER;
  }
  return words as ValidateArgv;
});
/** sysctl values whose keys follow the pattern (no `..` in the /proc/sys path, no leading -): src/inventory/sysctls.ts. */
const SysctlValues = z.record(z.string().min(1), z.union([z.string(), z.number()])).superRefine((rec, ctx) => {
  for (const k of Object.keys(rec)) {
    const problem = sysctlKeyProblem(k);
    if (problem) ctx.addIssue({ code: "custom", message: problem, path: [k] });
  }
});

/** Each package name of a `package:` task's arguments, with its path, as written. */
function packageNamesAt(raw: unknown): [string, (string | number)[]][] {
  const list = (v: unknown, base: (string | number)[]): [string, (string | number)[]][] =>
    typeof v === "string" ? [[v, base]] : Array.isArray(v) ? v.flatMap((x, i): [string, (string | number)[]][] => (typeof x === "string" ? [[x, [...base, i]]] : [])) : [];
  return raw && typeof raw === "object" && !Array.isArray(raw) ? list((raw as Record<string, unknown>).name, ["name"]) : list(raw, []);
}

/** Package names are never read as options by apt-get, dnf or yum (checked where written). */
const PackageNamesChecked = z.unknown().superRefine((raw, ctx) => {
  for (const [n, path] of packageNamesAt(raw)) {
    const problem = packageNameProblem(n);
    if (problem) ctx.addIssue({ code: "custom", message: problem, path });
  }
});

/** A command's timeout in seconds: at most a day (Node's timers hold up to 2^31-1 ms). */
const Timeout = z.number().positive().max(86_400, { error: "a timeout is at most 86400 seconds (a day)" });

/** One string or a list of them; always a list after parsing (also playbook.ts: hosts, tags, notify). */
export const StrList = z.union([z.string().min(1).transform((s) => [s]), z.array(z.string().min(1))]);

export const ArgSchemas = {
  sysctl: z
    .strictObject({
      values: SysctlValues.optional(),
      file: AbsPath.default("/etc/sysctl.d/90-lvsctl.conf"),
      /** A renderer (`realserver`): the file is the one it gives this host at `file`, the live values are read from it. */
      render: z.string().min(1).optional(),
    })
    .refine((a) => (a.values === undefined) !== (a.render === undefined), { error: "give exactly one of values or render" }),
  file: z
    .strictObject({
      path: AbsPath,
      content: z.string().optional(),
      src: z.string().min(1).optional(),
      mode: Mode.default(0o644),
      owner: z.string().min(1).optional(),
      group: z.string().min(1).optional(),
      validate: Validate.optional(),
      secret: z.boolean().default(false),
    })
    .refine((a) => (a.content === undefined) !== (a.src === undefined), { error: "give exactly one of content or src" }),
  template: z.strictObject({
    /** A template name under templates/ (rendered by src/render with the host's vars). */
    src: z.string().min(1),
    path: AbsPath,
    mode: Mode.default(0o644),
    owner: z.string().min(1).optional(),
    group: z.string().min(1).optional(),
    validate: Validate.optional(),
    secret: z.boolean().default(false),
  }),
  /** The files a renderer gives this host; `path`: only that one of them (it must be among them). */
  render: z.union([z.string().min(1).transform((files): { files: string; path?: string | undefined } => ({ files })), z.strictObject({ files: z.string().min(1), path: AbsPath.optional() })]),
  address: z
    .strictObject({
      unit: z.string().regex(/^[A-Za-z0-9@_.:-]+\.service$/, { error: "a unit name ending in .service" }),
      addresses: z.array(z.union([z.string().min(1), z.strictObject({ address: z.string().min(1), prefix: z.number().int().min(0).max(128).optional(), dev: z.string().min(1).optional() })])),
      dev: z.string().min(1).max(15).default("lo"),
      before: StrList.optional(),
      description: z.string().optional(),
      /** A renderer (`realserver`): the unit is the one it gives this host (none: the host must have no unit). */
      render: z.string().min(1).optional(),
    })
    .refine((a) => a.render === undefined || (a.before === undefined && a.description === undefined), { error: "with render, the unit's text comes from the renderer: leave out before and description" }),
  package: PackageNamesChecked.pipe(
    z.union([
      StrList.transform((names) => ({ names })),
      /** update_cache (apt): refresh the package lists before installing something missing. */
      z.strictObject({ name: StrList, update_cache: z.boolean().default(false) }).transform((a) => ({ names: a.name, ...(a.update_cache ? { updateCache: true } : {}) })),
    ]),
  ),
  service: z.strictObject({
    name: z.string().min(1),
    enabled: z.boolean().optional(),
    state: z.enum(["started", "stopped", "restarted", "reloaded"]).optional(),
    unit_content: z.string().optional(),
    /** A renderer (`director`): its file /etc/systemd/system/UNIT is the unit to install; none given: the package's unit is used. */
    render: z.string().min(1).optional(),
  }).refine((a) => a.unit_content === undefined || a.render === undefined, { error: "give at most one of unit_content and render" }),
  /**
   * Runs without a shell: a string is split into words (sh's quoting, no expansions; shell syntax
   * is refused), a list is the argv; `{{ }}` values are always inside one word (command-args.ts).
   */
  command: z.union([
    z.string().min(1).transform((cmd) => ({ cmd })),
    z.array(z.string()).min(1).transform((cmd) => ({ cmd })),
    z.strictObject({
      cmd: z.union([z.string().min(1), z.array(z.string()).min(1)]),
      creates: AbsPath.optional(),
      /** Read-only guard, split like cmd: the command runs unless this exits 0 (not run under --check). */
      unless: z.union([z.string().min(1), z.array(z.string()).min(1)]).optional(),
      /** Seconds (at most a day). */
      timeout: Timeout.optional(),
    }),
  ]),
  /** The explicit opt-in to sh: the text is shell code, `{{ }}` values are still quoted words. */
  shell: z.union([
    z.string().min(1).transform((cmd) => ({ cmd })),
    z.strictObject({
      cmd: z.string().min(1),
      creates: AbsPath.optional(),
      /** Shell text too. */
      unless: z.string().min(1).optional(),
      timeout: Timeout.optional(),
    }),
  ]),
  upload_dir: z.strictObject({ src: z.string().min(1), dest: AbsPath, owner: z.string().optional(), group: z.string().optional(), purge: z.boolean().default(false) }),
  /** lvsd's bundle (a local dir built by scripts/build-lvsd.mjs) in install_dir, with its runtime and machine checked. */
  lvsd_bundle: z.strictObject({ src: z.string().min(1), dest: AbsPath, node: AbsPath }),
  build: z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/),
    /** Names the build's directory: one word (src/inventory/tarball-name.ts). */
    version: z.string().regex(VERSION_PATTERN, { error: "a version is one word of letters, digits and . + ~ _ - (e.g. 2.2.7)" }),
    /** The local tarball; "" under --check when the controller has not fetched it (sha256 then names the build). */
    tarball: z.string(),
    sha256: z.string().regex(/^([0-9a-fA-F]{64})?$/, { error: "a sha256 is 64 hex digits" }).optional(),
    prefix: AbsPath.default("/usr/local"),
    sysconfdir: AbsPath.default("/etc"),
    configure_options: z.array(z.string()).default([]),
  }),
  default_route: z
    .strictObject({
      /** Acceptable gateways for the read-only check. */
      via: z.array(z.string().min(1)).default([]),
      purpose: z.string().optional(),
      /** The host's NAT services (checked only when there are some and no gateway). */
      services: z.array(z.string()).optional(),
      /** Set the default route through this address ("" = none wanted: undo an earlier one); needs unit. */
      gateway: z.string().optional(),
      unit: z.string().regex(/^[A-Za-z0-9@_.:-]+\.service$/, { error: "a unit name ending in .service" }).optional(),
      /** A renderer (`realserver`): the unit's text is the one it gives this host (none: no unit). */
      render: z.string().min(1).optional(),
    })
    .refine((a) => (a.gateway === undefined && a.render === undefined) || a.unit !== undefined, { error: "gateway and render need unit: (the unit that puts the route back on boot)" }),
  /** Kernel modules loaded now and listed in a modules-load.d file: `names`, or the file a renderer gives (`render`). */
  modules: z
    .strictObject({
      names: z.array(z.string().min(1)).min(1).optional(),
      render: z.string().min(1).optional(),
      file: AbsPath,
    })
    .superRefine((a, ctx) => {
      if ((a.names === undefined) === (a.render === undefined)) ctx.addIssue({ code: "custom", message: "give exactly one of names or render" });
      for (const [i, n] of (a.names ?? []).entries()) {
        const problem = moduleNameProblem(n);
        if (problem) ctx.addIssue({ code: "custom", message: problem, path: ["names", i] });
      }
    }),
  tunnel: z.strictObject({
    /** A renderer (`realserver`): the modules-load.d file it gives this host at `file` (none: no TUN service). */
    render: z.string().min(1),
    file: AbsPath.default("/etc/modules-load.d/lvs-realserver.conf"),
  }),
} as const;

export type OpName = keyof typeof ArgSchemas;
export const OP_NAMES = Object.keys(ArgSchemas) as OpName[];

/** What a `render:` renderer gets: the cluster, the host, and the host's vars (facts included, e.g. rs_iface). */
export type Renderer = (cluster: Cluster, host: string, vars: Record<string, unknown>) => RenderedFile[];

/** A rendered file as src/render gives it. */
export type { RenderedFile };

/** What turning arguments into a desired state may need from the controller (injectable for tests). */
export interface ResolveEnv {
  cluster: Cluster;
  host: string;
  vars: Record<string, unknown>;
  /** Folder of the playbook: relative `src:` paths are read from here. */
  baseDir: string;
  readFile(path: string): Buffer;
  /** Every regular file under `dir`, relative paths with `/`, with its mode. */
  readDir(path: string): DirFile[];
  renderers: Record<string, Renderer>;
  renderTemplate?: (name: string, vars: Record<string, unknown>) => string;
}

export interface Resolved {
  op: Operation<unknown>;
  desired: unknown;
}

function local(env: ResolveEnv, p: string): string {
  return p.startsWith("/") ? p : `${env.baseDir}/${p}`;
}

function rendered(env: ResolveEnv, name: string): RenderedFile[] {
  const r = env.renderers[name];
  if (!r) throw new Error(`render: no renderer named ${JSON.stringify(name)} (known: ${Object.keys(env.renderers).join(", ") || "none"})`);
  return r(env.cluster, env.host, env.vars);
}

function parseAddress(a: string | { address: string; prefix?: number | undefined; dev?: string | undefined }, dev: string) {
  if (typeof a === "string") {
    const [addr, prefix] = a.split("/");
    return { address: addr!, prefix: prefix ? Number(prefix) : addr!.includes(":") ? 128 : 32, dev };
  }
  return { address: a.address, prefix: a.prefix ?? (a.address.includes(":") ? 128 : 32), dev: a.dev ?? dev };
}

/** A `file:` or `template:` task's desired state, once its content is known. */
function fileDesired(a: { path: string; mode: number; owner?: string | undefined; group?: string | undefined; validate?: ValidateArgv | undefined; secret: boolean }, content: string | Buffer): FileDesired {
  const d: FileDesired = { path: a.path, content, mode: a.mode, secret: a.secret };
  if (a.owner) d.owner = a.owner;
  if (a.group) d.group = a.group;
  if (a.validate) d.validate = a.validate;
  return d;
}

/** Validated args -> the planner and its desired state. Reads local files (src, tarball, dirs). */
export function toDesired(opName: OpName, args: unknown, env: ResolveEnv): Resolved {
  const any = (op: Operation<never>, desired: unknown): Resolved => ({ op: op as unknown as Operation<unknown>, desired });
  switch (opName) {
    case "sysctl": {
      const a = ArgSchemas.sysctl.parse(args);
      if (a.render === undefined) return any(sysctlOp, { values: a.values!, file: a.file } satisfies SysctlDesired);
      const f = rendered(env, a.render).find((x) => x.path === a.file);
      if (!f) throw new Error(`sysctl: renderer ${a.render} gives ${env.host} no ${a.file}`);
      return any(sysctlOp, { ...sysctlFromContent(a.file, f.content), ...(f.warnings?.length ? { warnings: f.warnings } : {}) });
    }
    case "file": {
      const a = ArgSchemas.file.parse(args);
      return any(fileOp, fileDesired(a, a.content ?? env.readFile(local(env, a.src!))));
    }
    case "template": {
      const a = ArgSchemas.template.parse(args);
      if (!env.renderTemplate) throw new Error("template: no template renderer is wired into this run");
      return any(fileOp, fileDesired(a, env.renderTemplate(a.src, env.vars)));
    }
    case "render": {
      const a = ArgSchemas.render.parse(args);
      let given = rendered(env, a.files);
      if (a.path !== undefined) {
        given = given.filter((f) => f.path === a.path);
        if (!given.length) throw new Error(`render: renderer ${a.files} gives ${env.host} no ${a.path}`);
      }
      const files: FileDesired[] = given.map((f) => ({
        path: f.path,
        content: f.content,
        mode: f.mode,
        ...(f.owner ? { owner: f.owner } : {}),
        ...(f.validate ? { validate: f.validate } : {}),
        ...(f.secret ? { secret: true } : {}),
      }));
      return any(filesOp, files);
    }
    case "address": {
      const a = ArgSchemas.address.parse(args);
      const d: AddressDesired = { unit: a.unit, addresses: a.addresses.map((x) => parseAddress(x, a.dev)), before: a.before ?? [] };
      if (a.description) d.description = a.description;
      if (a.render !== undefined) d.unitContent = rendered(env, a.render).find((x) => x.path === `${UNIT_DIR}/${a.unit}`)?.content ?? null;
      return any(addressOp, d);
    }
    case "package":
      return any(packageOp, ArgSchemas.package.parse(args) satisfies PackageDesired);
    case "service": {
      const a = ArgSchemas.service.parse(args);
      const d: ServiceDesired = { name: a.name };
      if (a.enabled !== undefined) d.enabled = a.enabled;
      if (a.state) d.state = a.state;
      if (a.unit_content !== undefined) d.unitContent = a.unit_content;
      if (a.render !== undefined) {
        const f = rendered(env, a.render).find((x) => x.path === `${UNIT_DIR}/${unitName(a.name)}`);
        if (f) d.unitContent = f.content;
      }
      return any(serviceOp, d);
    }
    case "command":
    case "shell": {
      const a = ArgSchemas[opName].parse(args);
      const kind = COMMAND_OPS[opName]!;
      const d: CommandDesired = { cmd: toCommand(kind, a.cmd, env.vars) };
      if ("creates" in a && a.creates) d.creates = a.creates;
      if ("unless" in a && a.unless)
        d.unless = toCommand(kind, a.unless, env.vars, (expr) => {
          throw new CommandTemplateError(`unless: {{ ${expr} }} comes from the host's facts, and the guard runs with the facts, before they are known; use a host or play variable, or creates:`);
        });
      if ("timeout" in a && a.timeout) d.timeoutMs = a.timeout * 1000;
      return any(commandOp, d);
    }
    case "upload_dir": {
      const a = ArgSchemas.upload_dir.parse(args);
      const d: UploadDirDesired = { dest: a.dest.replace(/\/+$/, ""), files: env.readDir(local(env, a.src)), purge: a.purge };
      if (a.owner) d.owner = a.owner;
      if (a.group) d.group = a.group;
      return any(uploadDirOp, d);
    }
    case "lvsd_bundle": {
      const a = ArgSchemas.lvsd_bundle.parse(args);
      const files = env.readDir(local(env, a.src));
      const addon = files.find((f) => f.rel === LVSD_ADDON);
      const arch = addon ? elfMachine(Buffer.from(addon.content)) : undefined;
      if (!arch) throw new Error(`lvsd_bundle: ${local(env, a.src)} has no ${LVSD_ADDON} (an ELF shared object); build it with \`npm run build:native\` and \`npm run build:lvsd\``);
      const manifest = files.find((f) => f.rel === LVSD_BUNDLE_MANIFEST);
      const abi = bundleAbiProblem(local(env, a.src), manifest ? Buffer.from(manifest.content).toString("utf8") : undefined, Buffer.from(addon!.content), "rebuild the addon, then the bundle: `npm run build:native && npm run build:lvsd` (or `node scripts/build-lvsd.mjs --outdir DIR`)");
      if (abi) throw new PlanError(`lvsd_bundle: ${abi.message}`, abi.hint);
      return any(lvsdBundleOp, { dest: a.dest.replace(/\/+$/, ""), files, node: a.node, arch } satisfies LvsdBundleDesired);
    }
    case "build": {
      const a = ArgSchemas.build.parse(args);
      return any(buildOp, {
        name: a.name,
        version: a.version,
        ...(a.tarball !== "" ? { tarball: env.readFile(local(env, a.tarball)) } : {}),
        ...(a.sha256 ? { tarballSha256: a.sha256.toLowerCase() } : {}),
        prefix: a.prefix,
        sysconfdir: a.sysconfdir,
        configureOptions: a.configure_options,
      } satisfies BuildDesired);
    }
    case "default_route": {
      const a = ArgSchemas.default_route.parse(args);
      const d: DefaultRouteDesired = { via: a.via };
      if (a.purpose !== undefined) d.purpose = a.purpose;
      if (a.services !== undefined) d.services = a.services;
      if (a.unit !== undefined) {
        d.unit = a.unit;
        d.gateway = a.gateway ?? "";
        if (a.render !== undefined) d.unitContent = rendered(env, a.render).find((x) => x.path === `${UNIT_DIR}/${a.unit}`)?.content ?? null;
      }
      return any(defaultRouteOp, d);
    }
    case "modules": {
      const a = ArgSchemas.modules.parse(args);
      if (a.names !== undefined) return any(modulesOp, { names: a.names, file: a.file } satisfies ModulesDesired);
      const f = rendered(env, a.render!).find((x) => x.path === a.file);
      if (!f) throw new Error(`modules: renderer ${a.render} gives ${env.host} no ${a.file}`);
      return any(modulesOp, { names: parseModulesLoad(f.content), file: a.file, content: f.content } satisfies ModulesDesired);
    }
    case "tunnel": {
      const a = ArgSchemas.tunnel.parse(args);
      const f = rendered(env, a.render).find((x) => x.path === a.file);
      return any(tunnelOp, { modulesFile: a.file, modulesContent: f?.content ?? null } satisfies TunnelDesired);
    }
  }
}
