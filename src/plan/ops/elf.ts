// What the controller reads from lvsd's native addon without loading it (it may be built for a
// director of another machine): the machine from the ELF header, the addon's ABI version from its
// ELF note (native/lvsd_socket.c lvsd_abi_note). Pure; imports nothing (scripts/build-lvsd.mjs
// bundles it alone to check the addon it packs).
// Layouts: the System V gABI, "ELF header", "Sections" and "Note Section"; <elf.h>.

/**
 * ELF e_machine values (<elf.h> EM_*) -> the `uname -m` a Linux kernel of that machine reports.
 * 32-bit ARM and x86 kernels report several spellings: lvsd-bundle.ts machineFamily folds them.
 */
const EM: Record<number, string> = { 3: "i686", 40: "arm", 62: "x86_64", 183: "aarch64", 243: "riscv64", 22: "s390x", 21: "ppc64", 8: "mips" };

const ELF_MAGIC = 0x7f454c46;
/** <elf.h> SHT_NOTE. */
const SHT_NOTE = 7;
/** The addon's note: owner "lvsd", type 1 (LVSD_NOTE_ABI in lvsd_socket.c), a 4-byte version. */
export const LVSD_NOTE_OWNER = "lvsd";
export const LVSD_NOTE_ABI = 1;

function isElf(b: Buffer): boolean {
  return b.length >= 20 && b.readUInt32BE(0) === ELF_MAGIC;
}

/** The machine a native binary is built for, from its ELF header; undefined when it is not ELF. */
export function elfMachine(binary: Buffer): string | undefined {
  if (!isElf(binary)) return undefined;
  // e_ident[EI_DATA]: 1 little-endian, 2 big-endian; e_machine is the half-word at offset 18.
  const le = binary[5] === 1;
  const m = le ? binary.readUInt16LE(18) : binary.readUInt16BE(18);
  const name = EM[m] ?? `ELF machine ${m}`;
  // ppc64 little-endian is what uname calls ppc64le.
  return name === "ppc64" && le ? "ppc64le" : name;
}

export interface ElfNote {
  owner: string;
  type: number;
  /** The descriptor, in the file's byte order. */
  desc: Buffer;
  /** e_ident[EI_DATA] == ELFDATA2LSB. */
  littleEndian: boolean;
}

/**
 * Every note in the binary's SHT_NOTE sections (section headers survive strip); [] when it has none
 * or is not ELF. A truncated or malformed table ends the reading, never throws.
 */
export function elfNotes(b: Buffer): ElfNote[] {
  if (!isElf(b) || b.length < 52) return [];
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const word = (o: number) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(o));
  if (is64 && b.length < 64) return [];
  // e_shoff, e_shentsize, e_shnum: 0x28/0x3A/0x3C (ELF64), 0x20/0x2E/0x30 (ELF32).
  const shoff = word(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const out: ElfNote[] = [];
  if (shoff === 0 || shentsize < (is64 ? 0x40 : 0x28)) return out;
  for (let i = 0; i < shnum; i++) {
    const sh = shoff + i * shentsize;
    if (sh + shentsize > b.length) break;
    if (u32(sh + 4) !== SHT_NOTE) continue;
    // sh_offset, sh_size, sh_addralign: 0x18/0x20/0x30 (ELF64), 0x10/0x14/0x20 (ELF32).
    const off = word(sh + (is64 ? 0x18 : 0x10));
    const size = word(sh + (is64 ? 0x20 : 0x14));
    const align = word(sh + (is64 ? 0x30 : 0x20)) === 8 ? 8 : 4;
    const end = Math.min(off + size, b.length);
    const pad = (n: number) => Math.ceil(n / align) * align;
    for (let p = off; p + 12 <= end; ) {
      const namesz = u32(p);
      const descsz = u32(p + 4);
      const type = u32(p + 8);
      const name = p + 12;
      const desc = name + pad(namesz);
      if (desc + descsz > end) break;
      out.push({ owner: b.toString("latin1", name, name + namesz).replace(/\0+$/, ""), type, desc: b.subarray(desc, desc + descsz), littleEndian: le });
      p = desc + pad(descsz);
    }
  }
  return out;
}

/** The addon's ABI version from its note; undefined when it has none (built before the note existed, or not the addon). */
export function addonAbiVersion(binary: Buffer): number | undefined {
  const n = elfNotes(binary).find((x) => x.owner === LVSD_NOTE_OWNER && x.type === LVSD_NOTE_ABI && x.desc.length === 4);
  return n ? (n.littleEndian ? n.desc.readUInt32LE(0) : n.desc.readUInt32BE(0)) : undefined;
}
