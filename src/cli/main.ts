// Entry point of the `lvsctl` command. Filled in by the CLI work (issue 2).
console.log("lvsctl: not built yet");
