//! Storage the JavaScript host provides: [`VolumeProvider`] implements the
//! engine's [`StorageProvider`] (and `mnemo-log`'s [`Storage`]) over a
//! `Volume`, a JavaScript object with synchronous methods on paths
//! `<namespace>/log/<file>` and `<namespace>/snapshots/<file>`. The npm
//! package ships three: OPFS (synchronous access handles, in a dedicated
//! Worker), IndexedDB (its writes made durable before a call's promise
//! resolves) and Node's file system (`fsync`).
//!
//! A method that fails throws; the error becomes an [`io::Error`] (kind
//! `NotFound` when the error's `code` is `ENOENT` or its `name` is
//! `NotFoundError`) and from there the engine's `storage` failure.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use mnemo::StorageProvider;
use mnemo_log::{Storage, StorageFile};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const VOLUME_TS: &str = r#"
/** Synchronous file storage for the engine (see the package's volumes). */
export interface Volume {
  /** Where the files are, for messages. */
  readonly location: string;
  /** File names in `dir` (empty when it does not exist). */
  list(dir: string): string[];
  /** The whole content of a file (throws `ENOENT` when missing). */
  read(dir: string, name: string): Uint8Array;
  /** Creates an empty file (replacing one of that name) for appending. */
  create(dir: string, name: string): void;
  /** Opens an existing file for appending after cutting it to `len` bytes. */
  openAppend(dir: string, name: string, len: number): void;
  /** Appends `data` (a view the call must copy before returning). */
  append(dir: string, name: string, data: Uint8Array): void;
  /** Makes the file's appended bytes durable. */
  sync(dir: string, name: string): void;
  /** Removes a file. */
  remove(dir: string, name: string): void;
  /** Starts replacing `name` atomically; parts follow, then commit or abort. */
  atomicBegin(dir: string, name: string): void;
  /** The next part of the file being replaced (a view: copy it). */
  atomicPart(data: Uint8Array): void;
  /** Makes the replacement durable and visible, all or nothing. */
  atomicCommit(): void;
  /** Drops the replacement under way. */
  atomicAbort(): void;
  /** Makes creations and removals in `dir` durable. */
  syncDir(dir: string): void;
  /** Names of the namespaces stored (those with a log). */
  namespaces(): string[];
}
"#;

#[wasm_bindgen]
extern "C" {
    /// The host's storage (see the `Volume` interface in the typings).
    #[wasm_bindgen(typescript_type = "Volume")]
    pub type Volume;

    #[wasm_bindgen(method, getter)]
    fn location(this: &Volume) -> String;
    #[wasm_bindgen(method, catch)]
    fn list(this: &Volume, dir: &str) -> Result<Vec<String>, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn read(this: &Volume, dir: &str, name: &str) -> Result<Vec<u8>, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn create(this: &Volume, dir: &str, name: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = openAppend)]
    fn open_append(this: &Volume, dir: &str, name: &str, len: f64) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn append(this: &Volume, dir: &str, name: &str, data: &[u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn sync(this: &Volume, dir: &str, name: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn remove(this: &Volume, dir: &str, name: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = atomicBegin)]
    fn atomic_begin(this: &Volume, dir: &str, name: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = atomicPart)]
    fn atomic_part(this: &Volume, data: &[u8]) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = atomicCommit)]
    fn atomic_commit(this: &Volume) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = atomicAbort)]
    fn atomic_abort(this: &Volume) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch, js_name = syncDir)]
    fn sync_dir(this: &Volume, dir: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn namespaces(this: &Volume) -> Result<Vec<String>, JsValue>;
}

/// A [`Volume`] the engine's storage traits can hold.
#[derive(Clone)]
struct Shared(Arc<Volume>);

// SAFETY: this module builds only for wasm32-unknown-unknown without the
// `atomics` target feature (checked below): one thread runs everything,
// so the JavaScript object is never touched from two threads.
unsafe impl Send for Shared {}
// SAFETY: as for `Send`.
unsafe impl Sync for Shared {}

#[cfg(target_feature = "atomics")]
compile_error!("the JavaScript volume assumes a single thread: build without +atomics");

/// A JavaScript exception as an [`io::Error`].
fn io_error(e: JsValue) -> io::Error {
    let field = |name: &str| {
        js_sys::Reflect::get(&e, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
    };
    let message = field("message")
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the volume failed".to_owned());
    let missing = field("code").as_deref() == Some("ENOENT")
        || field("name").as_deref() == Some("NotFoundError");
    let kind = if missing {
        io::ErrorKind::NotFound
    } else {
        io::ErrorKind::Other
    };
    io::Error::new(kind, message)
}

/// The engine's files on a JavaScript [`Volume`].
pub struct VolumeProvider(Shared);

impl VolumeProvider {
    /// Storage on `volume`.
    pub fn new(volume: Volume) -> Self {
        Self(Shared(Arc::new(volume)))
    }

    fn dir(&self, dir: String) -> Arc<dyn Storage> {
        Arc::new(VolumeDir {
            volume: self.0.clone(),
            dir,
        })
    }
}

impl StorageProvider for VolumeProvider {
    fn location(&self) -> String {
        self.0.0.location()
    }

    fn log(&self, namespace: &str) -> mnemo_log::Result<Arc<dyn Storage>> {
        Ok(self.dir(format!("{namespace}/log")))
    }

    fn snapshots(&self, namespace: &str) -> mnemo_log::Result<Arc<dyn Storage>> {
        Ok(self.dir(format!("{namespace}/snapshots")))
    }

    fn keys(&self, namespace: &str) -> mnemo_log::Result<Arc<dyn Storage>> {
        Ok(self.dir(format!("{namespace}/keys")))
    }

    fn namespaces(&self) -> Vec<String> {
        self.0.0.namespaces().unwrap_or_default()
    }
}

/// One directory of a volume.
struct VolumeDir {
    volume: Shared,
    dir: String,
}

impl Storage for VolumeDir {
    fn location(&self) -> String {
        format!("{}/{}", self.volume.0.location(), self.dir)
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let mut names = self.volume.0.list(&self.dir).map_err(io_error)?;
        names.sort_unstable();
        Ok(names)
    }

    fn read(&self, name: &str) -> io::Result<Bytes> {
        self.volume
            .0
            .read(&self.dir, name)
            .map(Bytes::from)
            .map_err(io_error)
    }

    fn create(&self, name: &str) -> io::Result<Arc<dyn StorageFile>> {
        self.volume.0.create(&self.dir, name).map_err(io_error)?;
        Ok(self.file(name))
    }

    fn open_append(&self, name: &str, len: u64) -> io::Result<Arc<dyn StorageFile>> {
        self.volume
            .0
            .open_append(&self.dir, name, len as f64)
            .map_err(io_error)?;
        Ok(self.file(name))
    }

    fn remove(&self, name: &str) -> io::Result<()> {
        self.volume.0.remove(&self.dir, name).map_err(io_error)
    }

    fn write_atomic_parts(&self, name: &str, parts: &[&[u8]]) -> io::Result<()> {
        let volume = &self.volume.0;
        volume.atomic_begin(&self.dir, name).map_err(io_error)?;
        for part in parts {
            if let Err(e) = volume.atomic_part(part) {
                // Best effort: the replacement never became visible.
                let _ = volume.atomic_abort();
                return Err(io_error(e));
            }
        }
        volume.atomic_commit().map_err(io_error)
    }

    fn sync_dir(&self) -> io::Result<()> {
        self.volume.0.sync_dir(&self.dir).map_err(io_error)
    }

    fn unlock(&self) {
        // The host holds the database's lock (Web Locks, a lock file) and
        // lets go of it when the database closes.
    }
}

impl VolumeDir {
    fn file(&self, name: &str) -> Arc<dyn StorageFile> {
        Arc::new(VolumeFile {
            volume: self.volume.clone(),
            dir: self.dir.clone(),
            name: name.to_owned(),
        })
    }
}

/// One file of a volume, open for appending.
struct VolumeFile {
    volume: Shared,
    dir: String,
    name: String,
}

impl StorageFile for VolumeFile {
    fn append(&self, data: &[u8]) -> io::Result<()> {
        self.volume
            .0
            .append(&self.dir, &self.name, data)
            .map_err(io_error)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.volume.0.sync(&self.dir, &self.name).map_err(io_error)
    }
}
