// The lab of real-server-like hosts for integration tests and benchmarks (issue 3, "The lab it is
// proved on"). Usage:
//   const lab = await Lab.up({ hosts: 3 });          // h1..h3, root; skips are the caller's job
//   lab.hosts[0].address; lab.keyFile; lab.knownHostsFile; lab.pwUser
//   await lab.exec("h1", "cat /etc/hostname"); await lab.reboot("h1"); await lab.down();
// See lab.ts for the API, net.ts for the network layout, base.ts for what the hosts contain.
// Without booted hosts: NetnsLab (netns.ts) joins bare namespaces by a bridge or a veth pair.
// waitUntil (wait.ts) is the bounded polling loop every lab test uses.
// With a kernel of their own (real IPVS): QemuLab (qemu.ts) boots Debian 12 guests under qemu;
// qemuRealServers (qemu-realservers.ts) puts HTTP real servers and a client on its bridge.
export { Lab, up, cleanupStale, teardownSlotSync, raiseInotifyLimits, SSH_PORT } from "./lab.js";
export type { LabHost, LabUpOptions } from "./lab.js";
export { ensureBase, BASE_PACKAGES, BASE_CONFIG_VERSION, DEPLOY_USER, PW_USER, MASKED_UNITS, SUITE } from "./base.js";
export type { BaseInfo, EnsureBaseOptions } from "./base.js";
export { findMirror, parseAptSources, pickMirror } from "./mirror.js";
export type { AptSource } from "./mirror.js";
export { netNames, subnet, hostAddress, freeAddress, MAX_SLOT, MAX_HOSTS } from "./net.js";
export { HOST_KEY_TYPES, NSPAWN_BASE_ARGS } from "./host.js";
export { labDir, paths, projectRoot } from "./paths.js";
export type { RunResult } from "./proc.js";
export { labPrerequisites } from "./prereq.js";
export { NetnsLab, HUB, sweepStaleNetns } from "./netns.js";
export type { NetnsHost, NetnsLabOptions, NetnsLink, NetnsSegment, NetnsExecOptions } from "./netns.js";
export { waitUntil } from "./wait.js";
export type { WaitOptions } from "./wait.js";
export { qemuRealServers, startDetachedRealServers, httpGet, realServerScript } from "./qemu-realservers.js";
export type { QemuRealServer, QemuRealServers, DetachedRealServer } from "./qemu-realservers.js";
export { QemuLab, ensureQemuImage, qemuPrerequisites, cleanupStaleQemu, teardownQemuSlotSync, persistentQemuSlots, readQemuSlot, qemuSideNetnsPrefix, moduleLoadOrder, newcArchive, parseKernelDepends, qemuNetNames, qemuSubnet, qemuInsideSubnet, guestAddress, KERNEL_PACKAGE, GUEST_EXTRA_PACKAGES, INITRD_MODULES, INIT_SCRIPT, IMAGE_CONFIG_VERSION, DEFAULT_MEMORY_MIB, QEMU_MAX_SLOT, QEMU_MAX_GUESTS } from "./qemu.js";
export type { QemuGuest, QemuImage, QemuLabUpOptions, QemuExecOptions, QemuLabTimings, CpioEntry } from "./qemu.js";
