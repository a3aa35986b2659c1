{
  "targets": [
    {
      "target_name": "ctnet_native",
      "sources": ["native/src/addon.c"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11"]
    },
    {
      "target_name": "ctnet-cni",
      "type": "executable",
      "sources": ["native/cni/ctnet-cni.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-O2", "-std=gnu11"],
      "defines": [
        "CTNET_NODE=\"<!(node -p process.execPath)\"",
        "CTNET_PLUGIN=\"<(module_root_dir)/bin/ctnet-cni.js\""
      ]
    }
  ]
}
