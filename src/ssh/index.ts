// The SSH layer's public face: the interface the executor codes against, the real ssh2 adapter,
// host key checking, and the fake for unit tests.
export * from "./types.js";
export { SshConnector, SshConnection, DEFAULT_MAX_CHANNELS, DEFAULT_KEEPALIVE_INTERVAL_MS, DEFAULT_KEEPALIVE_COUNT_MAX } from "./connection.js";
export type { SshConnectorOptions, ConnectionStats } from "./connection.js";
export { SshError, isUnreachable } from "./errors.js";
export { httpGetLoopback, httpGetOver, parseHttpResponse, MAX_HTTP_RESPONSE, type HttpResponse } from "./http.js";
export type { SshErrorCode } from "./errors.js";
export { defaultHostKeyPolicy, defaultKnownHostsFiles, loadKnownHosts, recordHostKey } from "./host-keys.js";
export {
  checkHostKey,
  fingerprintSha256,
  knownHostName,
  parseKnownHosts,
  type HostKeyCheck,
  type KnownHostEntry,
} from "./known-hosts.js";
export { TEMP_INFIX, STALE_TEMP_MINUTES } from "./put-file.js";
export { FakeConnection, FakeConnector, fakeUnreachable } from "./fake.js";
export type { FakeCall, FakeFile, FakeResponse, FakeResult, FakeMatcher } from "./fake.js";
