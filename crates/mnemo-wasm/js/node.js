// Node: the engine in this thread, its files in memory or in a directory.

import fs from "node:fs";
import { Host } from "./host.js";
import { initSync } from "./wasm/mnemo_wasm.js";
import * as wasm from "./wasm/mnemo_wasm.js";
import { openNodeVolume } from "./volumes/node.js";

let loaded = false;

function load() {
  if (loaded) return;
  const bytes = fs.readFileSync(new URL("./wasm/mnemo_wasm_bg.wasm", import.meta.url));
  initSync({ module: bytes });
  loaded = true;
}

/** A channel to a Host running in this thread. */
export function localChannel() {
  load();
  const host = new Host(wasm, async (options) => {
    const volume = openNodeVolume(options.path);
    volume.kind = "file";
    return volume;
  });
  return {
    async request(method, args) {
      const value = await host.handle(method, args);
      return method === "open" ? { ...value, storage: host.volume?.kind ?? "memory" } : value;
    },
    terminate() {},
  };
}
