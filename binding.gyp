{
  "targets": [
    {
      "target_name": "ctnet_native",
      "sources": ["native/src/addon.c"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11"]
    }
  ]
}
