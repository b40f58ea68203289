// The engine's files in IndexedDB, where OPFS is missing.
//
// IndexedDB is asynchronous and the engine writes synchronously, so the
// volume keeps every file in memory and stages each change (create, append,
// cut, remove, replace) in order; `flush` commits the staged changes in one
// transaction with strict durability, and the host calls it before a call's
// promise resolves. A write whose promise resolved is therefore on disk; a
// tab killed earlier loses only writes nobody was told about, and a
// transaction commits whole or not at all.
//
// Records: key [path, offset] -> bytes, the content of `path` from
// `offset`; [path, -1] -> empty marks that the file exists. A file whose
// appends have grown past MAX_CHUNKS records is rewritten as one.

const STORE = "files";
const MAX_CHUNKS = 256;

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function notFound(p) {
  const e = new Error(`${p}: no such file`);
  e.name = "NotFoundError";
  return e;
}

function range(p) {
  return IDBKeyRange.bound([p, -1], [p, Number.MAX_SAFE_INTEGER]);
}

/**
 * Opens the database `name` in IndexedDB (the caller holds its Web Lock).
 * @param {string} name
 */
export async function openIdbVolume(name) {
  const open = indexedDB.open(`mnemo:${name}`, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  const db = await request(open);
  const volume = new IdbVolume(name, db);
  const tx = db.transaction(STORE, "readonly");
  const store = tx.objectStore(STORE);
  const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
  for (let i = 0; i < keys.length; i++) volume.load(keys[i][0], keys[i][1], values[i]);
  return volume;
}

class Growable {
  constructor() {
    this.bytes = new Uint8Array(0);
    this.size = 0;
    this.chunks = 0;
  }

  put(at, data) {
    const end = at + data.length;
    if (end > this.bytes.length) {
      const grown = new Uint8Array(Math.max(end, this.bytes.length * 2, 4096));
      grown.set(this.bytes.subarray(0, this.size));
      this.bytes = grown;
    }
    this.bytes.set(data, at);
    this.size = Math.max(this.size, end);
  }

  content() {
    return this.bytes.subarray(0, this.size);
  }
}

class IdbVolume {
  constructor(name, db) {
    this.name = name;
    this.db = db;
    /** @type {Map<string, Growable>} */
    this.files = new Map();
    this.staged = [];
    this.atomic = null;
  }

  get location() {
    return `indexeddb:mnemo:${this.name}`;
  }

  load(p, offset, bytes) {
    let file = this.files.get(p);
    if (!file) {
      file = new Growable();
      this.files.set(p, file);
    }
    if (offset >= 0) {
      file.put(offset, new Uint8Array(bytes));
      file.chunks++;
    }
  }

  file(dir, name) {
    const p = `${dir}/${name}`;
    const file = this.files.get(p);
    if (!file) throw notFound(p);
    return file;
  }

  list(dir) {
    const prefix = `${dir}/`;
    const names = [];
    for (const p of this.files.keys()) {
      if (p.startsWith(prefix) && !p.slice(prefix.length).includes("/")) names.push(p.slice(prefix.length));
    }
    return names.sort();
  }

  read(dir, name) {
    return this.file(dir, name).content();
  }

  create(dir, name) {
    const p = `${dir}/${name}`;
    this.files.set(p, new Growable());
    this.staged.push({ op: "replace", path: p, bytes: new Uint8Array(0) });
  }

  openAppend(dir, name, len) {
    const file = this.file(dir, name);
    if (file.size !== len) {
      file.size = Math.min(file.size, len);
      if (len > file.size) file.put(file.size, new Uint8Array(len - file.size));
      this.staged.push({ op: "replace", path: `${dir}/${name}`, bytes: file.content().slice() });
      file.chunks = 1;
    }
  }

  append(dir, name, data) {
    const p = `${dir}/${name}`;
    const file = this.file(dir, name);
    const at = file.size;
    file.put(at, data);
    file.chunks++;
    if (file.chunks > MAX_CHUNKS) {
      file.chunks = 1;
      this.staged.push({ op: "replace", path: p, bytes: null });
    } else {
      this.staged.push({ op: "put", path: p, offset: at, bytes: data.slice() });
    }
  }

  sync() {
    // Durable at the next flush, which comes before the call's answer.
  }

  remove(dir, name) {
    const p = `${dir}/${name}`;
    if (!this.files.delete(p)) throw notFound(p);
    this.staged.push({ op: "delete", path: p });
  }

  atomicBegin(dir, name) {
    this.atomic = { path: `${dir}/${name}`, file: new Growable() };
  }

  atomicPart(data) {
    this.atomic.file.put(this.atomic.file.size, data);
  }

  atomicCommit() {
    const { path, file } = this.atomic;
    this.atomic = null;
    file.chunks = 1;
    this.files.set(path, file);
    this.staged.push({ op: "replace", path, bytes: file.content() });
  }

  atomicAbort() {
    this.atomic = null;
  }

  syncDir() {}

  namespaces() {
    const names = new Set();
    for (const p of this.files.keys()) {
      const parts = p.split("/");
      if (parts.length === 3 && parts[1] === "log") names.add(parts[0]);
    }
    return [...names];
  }

  /** Commits the staged changes in one durable transaction. */
  async flush() {
    if (this.staged.length === 0) return;
    const staged = this.staged;
    this.staged = [];
    const tx = this.db.transaction(STORE, "readwrite", { durability: "strict" });
    const store = tx.objectStore(STORE);
    for (const change of staged) {
      if (change.op === "put") {
        store.put(change.bytes, [change.path, change.offset]);
        continue;
      }
      store.delete(range(change.path));
      if (change.op === "delete") continue;
      // A replace staged with no bytes takes the file's content at commit.
      const bytes = change.bytes ?? this.files.get(change.path)?.content();
      if (!bytes) continue;
      store.put(new Uint8Array(0), [change.path, -1]);
      if (bytes.length > 0) store.put(bytes.slice(), [change.path, 0]);
    }
    await new Promise((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
    });
  }

  close() {
    this.db.close();
  }
}
