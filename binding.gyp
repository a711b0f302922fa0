{
  "targets": [
    {
      "target_name": "litevault",
      "sources": ["<!@(node native/list-sources.js)"],
      "include_dirs": ["native/src", "<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "_FILE_OFFSET_BITS=64"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fno-exceptions", "-fvisibility=hidden", "-pthread", "-Wall", "-Wextra", "-Werror"],
      "ldflags": ["-Wl,--version-script=<(module_root_dir)/native/exports.map", "-pthread"],
      "libraries": ["-l:libzstd.a"]
    }
  ]
}
