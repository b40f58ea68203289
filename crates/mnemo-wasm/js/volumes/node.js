// The engine's files in a directory on the local disk (Node): appends with
// write(2), durability with fdatasync(2), atomic replacement by a synced
// temporary file renamed over the old one and a synced directory. A LOCK
// file holding the owner's pid keeps a second process (or a second open in
// this one) out; a lock left by a process that no longer runs is taken over.

import fs from "node:fs";
import path from "node:path";

/** Directories this process has open. */
const OPEN = new Set();

function lockError(message) {
  return { code: "locked", message, status: 423 };
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

function takeLock(root) {
  const lockPath = path.join(root, "LOCK");
  const real = fs.realpathSync(root);
  if (OPEN.has(real)) {
    throw lockError(`open: the database at ${root} is already open in this process; close it first`);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lockPath, "wx");
      fs.writeSync(fd, String(process.pid));
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      OPEN.add(real);
      return { lockPath, real };
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      const owner = Number.parseInt(fs.readFileSync(lockPath, "utf8"), 10);
      if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
        throw lockError(`open: the database at ${root} is in use by process ${owner} (${lockPath})`);
      }
      // Left by a process that is gone (or by this one before a crash of its engine).
      fs.rmSync(lockPath, { force: true });
    }
  }
  throw lockError(`open: cannot take the lock ${lockPath}`);
}

/**
 * Opens (creating) the directory `root` as the engine's volume.
 * @param {string} root
 */
export function openNodeVolume(root) {
  fs.mkdirSync(root, { recursive: true });
  const lock = takeLock(root);
  return new NodeVolume(root, lock);
}

class NodeVolume {
  constructor(root, lock) {
    this.root = root;
    this.lock = lock;
    /** @type {Map<string, {fd: number, size: number}>} open files by path */
    this.files = new Map();
    this.atomic = null;
  }

  get location() {
    return this.root;
  }

  path(dir, name) {
    return path.join(this.root, dir, name);
  }

  list(dir) {
    let entries;
    try {
      entries = fs.readdirSync(path.join(this.root, dir), { withFileTypes: true });
    } catch (e) {
      if (e.code === "ENOENT") return [];
      throw e;
    }
    return entries.filter((e) => e.isFile() && e.name !== "LOCK").map((e) => e.name).sort();
  }

  read(dir, name) {
    return fs.readFileSync(this.path(dir, name));
  }

  closeFile(p) {
    const open = this.files.get(p);
    if (open) {
      fs.closeSync(open.fd);
      this.files.delete(p);
    }
  }

  create(dir, name) {
    const p = this.path(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    this.closeFile(p);
    this.files.set(p, { fd: fs.openSync(p, "w+"), size: 0 });
  }

  openAppend(dir, name, len) {
    const p = this.path(dir, name);
    this.closeFile(p);
    const fd = fs.openSync(p, "r+");
    if (fs.fstatSync(fd).size !== len) {
      fs.ftruncateSync(fd, len);
      fs.fsyncSync(fd);
    }
    this.files.set(p, { fd, size: len });
  }

  file(dir, name) {
    const open = this.files.get(this.path(dir, name));
    if (!open) throw Object.assign(new Error(`${dir}/${name} is not open for appending`), { code: "EBADF" });
    return open;
  }

  append(dir, name, data) {
    const open = this.file(dir, name);
    let done = 0;
    while (done < data.length) {
      done += fs.writeSync(open.fd, data, done, data.length - done, open.size + done);
    }
    open.size += data.length;
  }

  sync(dir, name) {
    fs.fdatasyncSync(this.file(dir, name).fd);
  }

  remove(dir, name) {
    const p = this.path(dir, name);
    this.closeFile(p);
    fs.unlinkSync(p);
  }

  atomicBegin(dir, name) {
    if (this.atomic) this.atomicAbort();
    const p = this.path(dir, name);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const tmp = `${p}.tmp`;
    this.atomic = { dir, p, tmp, fd: fs.openSync(tmp, "w"), size: 0 };
  }

  atomicPart(data) {
    const a = this.atomic;
    let done = 0;
    while (done < data.length) {
      done += fs.writeSync(a.fd, data, done, data.length - done, a.size + done);
    }
    a.size += data.length;
  }

  atomicCommit() {
    const a = this.atomic;
    this.atomic = null;
    fs.fsyncSync(a.fd);
    fs.closeSync(a.fd);
    fs.renameSync(a.tmp, a.p);
    this.syncDir(a.dir);
  }

  atomicAbort() {
    const a = this.atomic;
    this.atomic = null;
    if (!a) return;
    fs.closeSync(a.fd);
    fs.rmSync(a.tmp, { force: true });
  }

  syncDir(dir) {
    const fd = fs.openSync(path.join(this.root, dir), "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  namespaces() {
    let entries;
    try {
      entries = fs.readdirSync(this.root, { withFileTypes: true });
    } catch {
      return [];
    }
    return entries
      .filter((e) => e.isDirectory() && fs.existsSync(path.join(this.root, e.name, "log")))
      .map((e) => e.name);
  }

  close() {
    for (const open of this.files.values()) fs.closeSync(open.fd);
    this.files.clear();
    if (this.atomic) this.atomicAbort();
    fs.rmSync(this.lock.lockPath, { force: true });
    OPEN.delete(this.lock.real);
  }
}
