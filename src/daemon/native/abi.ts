// The version of the native addon's JS interface this lvsd is written against. The addon exports
// its own (native/lvsd_socket.c LVSD_ABI_VERSION, also kept in its ELF note); loadAddon refuses any
// other. Bump both together: test/unit/daemon/native-abi.test.ts checks they are equal.
// This module imports nothing: scripts/build-lvsd.mjs bundles it alone to write the number into the
// bundle's manifest (lvsd-bundle.json), which the controller compares with the addon's note.
export const ADDON_ABI_VERSION = 2;
