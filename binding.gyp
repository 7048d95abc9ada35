{
  "targets": [
    {
      "target_name": "ovlnet_tun",
      "sources": ["native/tun.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
