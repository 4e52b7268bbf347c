// Public face of running playbooks: the executor (events only), the YAML playbooks, the
// built-in real-server bootstrap, and the views that turn events into output.
export { runPlaybook, readDirFiles, type RunOptions, type RunPlaybookParams, type RunResult, type SecretsPort } from "./executor.js";
export { bootstrap, builtinPlaybookPath, type BootstrapParams } from "./bootstrap.js";
export { deploy, deployPlaybook, directorPlaysUnsupported, keepalivedTarball, prepareDeploy, type DeployParams, type DeployPlan } from "./deploy.js";
export { loadPlaybook, parsePlaybook, type Playbook, type Play, type Task } from "./playbook.js";
export { emptyRecap, type RunEvent, type RunEventOf, type HostRecap, type TaskStatus } from "./events.js";
export { selectHosts, batches, taskSelected } from "./select.js";
export { clusterVars, factVars, rsVips } from "./vars.js";
export { connectTarget, needsBecome } from "./target.js";
export { ArgSchemas, OP_NAMES, type OpName, type RenderedFile, type Renderer } from "./task-args.js";
export { runWithOutput, type OutputChoice } from "./report.js";
export { createView, interruptSignal, type View, type ViewChoice } from "./view.js";
export { plainView } from "./view-plain.js";
export { jsonView } from "./view-json.js";
export { recapTable, recapLine } from "./recap.js";
export { defaultRenderers, defaultRenderTemplate } from "./renderers.js";
export { probeSessions, type ProbeSessions, type ProbeSessionsParams } from "./probe.js";
