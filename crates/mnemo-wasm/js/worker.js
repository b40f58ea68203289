// The dedicated Worker the page's Mnemo talks to: it loads the engine,
// holds the database's Web Lock, keeps the files in OPFS (synchronous
// access handles, which only a dedicated Worker may use) or IndexedDB, and
// answers requests `{id, method, args}` with `{id, ok, value | error}`.

import init, * as wasm from "./wasm/mnemo_wasm.js";
import { Host } from "./host.js";
import { failureOf } from "./errors.js";
import { openOpfsVolume } from "./volumes/opfs.js";
import { openIdbVolume } from "./volumes/idb.js";

const loaded = init();

function hasOpfs() {
  return typeof navigator !== "undefined"
    && typeof navigator.storage?.getDirectory === "function"
    && typeof globalThis.FileSystemFileHandle === "function"
    && typeof globalThis.FileSystemFileHandle.prototype.createSyncAccessHandle === "function";
}

/** Takes the database's Web Lock, or fails at once when another holder has it. */
function lock(name) {
  if (!navigator.locks) return Promise.resolve(() => {});
  return new Promise((resolve, reject) => {
    navigator.locks
      .request(`mnemo:${name}`, { ifAvailable: true }, (held) => {
        if (!held) {
          reject({
            code: "locked",
            message: `open: the database ${name} is open in another tab or worker; close it there first`,
            status: 423,
          });
          return undefined;
        }
        // The lock is held until this promise resolves (on close) or the
        // worker goes away (the tab closed or was killed).
        return new Promise((release) => resolve(release));
      })
      .catch(reject);
  });
}

async function openVolume(options) {
  const release = await lock(options.name);
  try {
    const useOpfs = options.storage === "opfs" && hasOpfs();
    const volume = useOpfs ? await openOpfsVolume(options.name) : await openIdbVolume(options.name);
    volume.kind = useOpfs ? "opfs" : "indexeddb";
    const close = volume.close.bind(volume);
    volume.close = () => {
      try {
        close();
      } finally {
        release();
      }
    };
    return volume;
  } catch (e) {
    release();
    throw e;
  }
}

const host = new Host(wasm, openVolume);

self.onmessage = async (event) => {
  const { id, method, args } = event.data;
  try {
    await loaded;
    let value = await host.handle(method, args);
    if (method === "open") value = { ...value, storage: host.volume?.kind ?? "memory" };
    self.postMessage({ id, ok: true, value });
  } catch (e) {
    self.postMessage({ id, ok: false, error: failureOf(e) });
  }
};
