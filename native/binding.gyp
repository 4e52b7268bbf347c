# lvsd's native socket layer: plain C against Node-API 8, no C++ runtime, no npm dependency.
# `node-gyp rebuild --directory native` -> native/build/Release/lvsd_socket.node
{
  "targets": [
    {
      "target_name": "lvsd_socket",
      "sources": ["lvsd_socket.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-O2"],
      "cflags!": ["-fno-exceptions"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
