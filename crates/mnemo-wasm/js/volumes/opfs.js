// The engine's files in the Origin Private File System, through
// synchronous access handles (dedicated Workers only).
//
// Opening a file's synchronous handle is asynchronous, but the engine
// writes synchronously, so the volume keeps a pool of files in
// `mnemo/<database>/` whose handles it opens ahead of time (as SQLite's
// "opfs-sahpool" does). Each pool file ("slot") starts with a 4 KiB header
// naming the engine file it holds (`<namespace>/log/<file>`), a generation
// and a checksum; the content follows. A slot with no valid header is free.
//
// - create / remove: write or zero the header, then flush;
// - append: write at the end; sync: flush (durable on return);
// - atomic replacement: the new content goes into a free slot, is flushed,
//   then its header (a higher generation than the old file's) is written
//   and flushed, then the old slot is freed. Should the tab die between the
//   steps, opening keeps the valid header of the highest generation for
//   each name and frees the rest: the old content or the whole new one,
//   never a mix.
//
// Before every call the volume tops the pool up to MIN_FREE free slots
// (`prepare`); a call needing more fails with a storage error.

const HEADER = 4096;
const MAGIC = 0x314d4e4d; // "MNM1" little-endian
const MAX_PATH_BYTES = 1024;
/** Free slots kept open ahead of each call. */
const MIN_FREE = 6;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function fnv1a(bytes, hash = 0x811c9dc5) {
  let h = hash;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function notFound(p) {
  const e = new Error(`${p}: no such file`);
  e.name = "NotFoundError";
  return e;
}

/**
 * Opens the database `name` in OPFS (the caller holds its Web Lock).
 * @param {string} name
 */
export async function openOpfsVolume(name) {
  const root = await navigator.storage.getDirectory();
  const top = await root.getDirectoryHandle("mnemo", { create: true });
  const dir = await top.getDirectoryHandle(name, { create: true });
  const volume = new OpfsVolume(name, dir);
  try {
    for await (const [fileName, handle] of dir.entries()) {
      const match = /^slot-(\d+)$/.exec(fileName);
      if (handle.kind !== "file" || !match) continue;
      const sah = await handle.createSyncAccessHandle();
      volume.adopt(Number(match[1]), sah);
    }
    volume.settle();
    await volume.prepare();
  } catch (e) {
    volume.close();
    throw e;
  }
  return volume;
}

class OpfsVolume {
  constructor(name, dir) {
    this.name = name;
    this.dir = dir;
    /** @type {Map<string, any>} slot by engine path */
    this.byPath = new Map();
    /** @type {any[]} free slots */
    this.free = [];
    this.all = [];
    this.nextIndex = 0;
    this.generation = 0;
    this.atomic = null;
    this.claims = [];
  }

  get location() {
    return `opfs:mnemo/${this.name}`;
  }

  /** Reads slot `index`'s header (open time). */
  adopt(index, sah) {
    const slot = { index, sah, path: null, generation: 0, size: sah.getSize() };
    this.all.push(slot);
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    const claim = this.readHeader(slot);
    if (claim) this.claims.push({ slot, ...claim });
    else this.release(slot);
  }

  readHeader(slot) {
    if (slot.size < HEADER) return null;
    const head = new Uint8Array(HEADER);
    slot.sah.read(head, { at: 0 });
    const view = new DataView(head.buffer);
    if (view.getUint32(0, true) !== MAGIC) return null;
    const len = view.getUint32(4, true);
    if (len === 0 || len > MAX_PATH_BYTES) return null;
    const generation = view.getUint32(8, true) * 2 ** 32 + view.getUint32(12, true);
    const sum = view.getUint32(16, true);
    const checked = new Uint8Array(16 + len);
    checked.set(head.subarray(0, 16), 0);
    checked.set(head.subarray(20, 20 + len), 16);
    if (fnv1a(checked) !== sum) return null;
    return { path: decoder.decode(head.subarray(20, 20 + len)), generation };
  }

  /** After adopting every slot: one slot per path, the newest. */
  settle() {
    this.claims.sort((a, b) => b.generation - a.generation);
    for (const claim of this.claims) {
      this.generation = Math.max(this.generation, claim.generation);
      if (this.byPath.has(claim.path)) {
        this.release(claim.slot);
        continue;
      }
      claim.slot.path = claim.path;
      claim.slot.generation = claim.generation;
      this.byPath.set(claim.path, claim.slot);
    }
    this.claims = [];
  }

  writeHeader(slot, p) {
    const name = encoder.encode(p);
    if (name.length > MAX_PATH_BYTES) throw new Error(`${p}: path longer than ${MAX_PATH_BYTES} bytes`);
    const generation = ++this.generation;
    const head = new Uint8Array(20 + name.length);
    const view = new DataView(head.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, name.length, true);
    view.setUint32(8, Math.floor(generation / 2 ** 32), true);
    view.setUint32(12, generation >>> 0, true);
    head.set(name, 20);
    const checked = new Uint8Array(16 + name.length);
    checked.set(head.subarray(0, 16), 0);
    checked.set(name, 16);
    view.setUint32(16, fnv1a(checked), true);
    this.writeAll(slot.sah, head, 0);
    slot.sah.flush();
    slot.path = p;
    slot.generation = generation;
    if (slot.size < HEADER) slot.size = HEADER;
  }

  writeAll(sah, data, at) {
    let done = 0;
    while (done < data.length) {
      const n = sah.write(data.subarray(done), { at: at + done });
      if (n <= 0) throw new Error("OPFS write wrote nothing (storage quota reached?)");
      done += n;
    }
  }

  /** Frees a slot: its length drops to 0, which no header survives. */
  release(slot) {
    slot.sah.truncate(0);
    slot.sah.flush();
    slot.size = 0;
    slot.path = null;
    this.free.push(slot);
  }

  take() {
    const slot = this.free.pop();
    if (!slot) throw new Error(`OPFS: no free file in the pool (${MIN_FREE} are opened ahead of each call)`);
    return slot;
  }

  /** Opens new pool files until MIN_FREE are free. */
  async prepare() {
    while (this.free.length < MIN_FREE) {
      const index = this.nextIndex++;
      const handle = await this.dir.getFileHandle(`slot-${index}`, { create: true });
      const sah = await handle.createSyncAccessHandle();
      const slot = { index, sah, path: null, generation: 0, size: sah.getSize() };
      this.all.push(slot);
      if (slot.size !== 0) {
        sah.truncate(0);
        sah.flush();
        slot.size = 0;
      }
      this.free.push(slot);
    }
  }

  slot(dir, name) {
    const p = `${dir}/${name}`;
    const slot = this.byPath.get(p);
    if (!slot) throw notFound(p);
    return slot;
  }

  list(dir) {
    const prefix = `${dir}/`;
    const names = [];
    for (const p of this.byPath.keys()) {
      if (p.startsWith(prefix) && !p.slice(prefix.length).includes("/")) names.push(p.slice(prefix.length));
    }
    return names.sort();
  }

  read(dir, name) {
    const slot = this.slot(dir, name);
    const bytes = new Uint8Array(slot.size - HEADER);
    let done = 0;
    while (done < bytes.length) {
      const n = slot.sah.read(bytes.subarray(done), { at: HEADER + done });
      if (n <= 0) break;
      done += n;
    }
    return done === bytes.length ? bytes : bytes.subarray(0, done);
  }

  create(dir, name) {
    const p = `${dir}/${name}`;
    const existing = this.byPath.get(p);
    if (existing) {
      existing.sah.truncate(HEADER);
      existing.sah.flush();
      existing.size = HEADER;
      return;
    }
    const slot = this.take();
    this.writeHeader(slot, p);
    this.byPath.set(p, slot);
  }

  openAppend(dir, name, len) {
    const slot = this.slot(dir, name);
    if (slot.size !== HEADER + len) {
      slot.sah.truncate(HEADER + len);
      slot.sah.flush();
      slot.size = HEADER + len;
    }
  }

  append(dir, name, data) {
    const slot = this.slot(dir, name);
    this.writeAll(slot.sah, data, slot.size);
    slot.size += data.length;
  }

  sync(dir, name) {
    this.slot(dir, name).sah.flush();
  }

  remove(dir, name) {
    const slot = this.slot(dir, name);
    this.byPath.delete(`${dir}/${name}`);
    this.release(slot);
  }

  atomicBegin(dir, name) {
    if (this.atomic) this.atomicAbort();
    const slot = this.take();
    this.atomic = { slot, path: `${dir}/${name}`, at: HEADER };
  }

  atomicPart(data) {
    const a = this.atomic;
    this.writeAll(a.slot.sah, data, a.at);
    a.at += data.length;
  }

  atomicCommit() {
    const a = this.atomic;
    this.atomic = null;
    a.slot.sah.flush();
    a.slot.size = a.at;
    this.writeHeader(a.slot, a.path);
    const old = this.byPath.get(a.path);
    this.byPath.set(a.path, a.slot);
    if (old) this.release(old);
  }

  atomicAbort() {
    const a = this.atomic;
    this.atomic = null;
    if (a) this.release(a.slot);
  }

  syncDir() {
    // Every header change was flushed when made.
  }

  namespaces() {
    const names = new Set();
    for (const p of this.byPath.keys()) {
      const parts = p.split("/");
      if (parts.length === 3 && parts[1] === "log") names.add(parts[0]);
    }
    return [...names];
  }

  close() {
    for (const slot of this.all) {
      try {
        slot.sah.close();
      } catch {
        // already closed
      }
    }
    this.all = [];
    this.free = [];
    this.byPath.clear();
  }
}
