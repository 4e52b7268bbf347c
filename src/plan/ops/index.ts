// The operations, by the key a playbook task uses for them.
export * from "./types.js";
export { PlanError } from "./errors.js";
export { fileOp, planFile, fileDiff, sha256, type FileDesired } from "./file.js";
export { filesOp, planFiles } from "./files.js";
export { sysctlOp, planSysctl, sysctlFileContent, sysctlFromContent, parseSysctlConf, type SysctlDesired } from "./sysctl.js";
export { addressOp, planAddress, addressUnitContent, unitRestores, addressKey, readState, stateContent, STATE_FILE, UNIT_DIR, type AddressDesired, type AddressSpec, type LvsctlState } from "./address.js";
export { packageOp, planPackage, type PackageDesired } from "./package.js";
export { serviceOp, planService, unitName, type ServiceDesired } from "./service.js";
export { commandOp, planCommand, type CommandDesired } from "./command.js";
export { uploadDirOp, planUploadDir, type UploadDirDesired, type DirFile } from "./upload-dir.js";
export { buildOp, planBuild, buildKey, buildPaths, buildStamp, activeLink, configureArgs, STAMP_FILE, type BuildDesired, type BuildStamp } from "./build.js";
export { defaultRouteOp, planDefaultRoute, GATEWAY_STATE_FILE, type DefaultRouteDesired } from "./route.js";
export { tunnelOp, planTunnel, TUNL0_RP_FILTER, type TunnelDesired } from "./tunnel.js";
export { modulesOp, planModules, moduleNameProblem, parseModulesLoad, modulesFileContent, sysModulePath, type ModulesDesired } from "./modules.js";
export { lvsdBundleOp, planLvsdBundle, bundleAbiProblem, elfMachine, machineFamily, LVSD_MIN_NODE_MAJOR, LVSD_BUNDLE_FILES, LVSD_BUNDLE_MANIFEST, LVSD_ADDON, DISTRO_NODE, type BundleAbiProblem, type LvsdBundleDesired } from "./lvsd-bundle.js";
export { addonAbiVersion, elfNotes, type ElfNote } from "./elf.js";
