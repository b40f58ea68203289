//! Small files replaced atomically: the stream manifest and consumer
//! cursors. Each is text with an XXH3-64 checksum line at its end, written
//! to a temporary file, synced, renamed over the old one and the directory
//! synced, so a crash leaves the old file or the new one, never a mix.

use std::fs;
use std::io::Write;
use std::path::Path;

use xxhash_rust::xxh3::xxh3_64;

use crate::error::{Error, Result, io_error};

/// Writes `body` plus its checksum line to `path` atomically.
pub(crate) fn write_checked(path: &Path, body: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let text = format!("{body}xxh3 {:016x}\n", xxh3_64(body.as_bytes()));
    {
        let mut file = fs::File::create(&tmp).map_err(io_error(&tmp))?;
        file.write_all(text.as_bytes()).map_err(io_error(&tmp))?;
        file.sync_data().map_err(io_error(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io_error(path))?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(dir))?;
    }
    Ok(())
}

/// Reads a file written by [`write_checked`] and returns its body, or
/// `None` when it does not exist.
pub(crate) fn read_checked(path: &Path) -> Result<Option<String>> {
    let text = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path)(e)),
    };
    let corrupt = |reason: &str| Error::Corrupt {
        what: path.display().to_string(),
        reason: reason.to_owned(),
    };
    let text = String::from_utf8(text).map_err(|_| corrupt("not UTF-8"))?;
    let body_end = text
        .trim_end_matches('\n')
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let (body, last) = text.split_at(body_end);
    let sum = last
        .trim_end()
        .strip_prefix("xxh3 ")
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| corrupt("no checksum line"))?;
    if sum != xxh3_64(body.as_bytes()) {
        return Err(corrupt("checksum mismatch"));
    }
    Ok(Some(body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage_is_refused() {
        let dir = tempfile::tempdir().expect("test step");
        let path = dir.path().join("CURSOR");
        assert_eq!(read_checked(&path).expect("test step"), None);
        write_checked(&path, "a 1\nb 2\n").expect("test step");
        assert_eq!(
            read_checked(&path).expect("test step").as_deref(),
            Some("a 1\nb 2\n")
        );
        let mut bytes = fs::read(&path).expect("test step");
        bytes[2] ^= 1;
        fs::write(&path, &bytes).expect("test step");
        assert!(matches!(read_checked(&path), Err(Error::Corrupt { .. })));
        fs::write(&path, b"a 1\n").expect("test step");
        assert!(matches!(read_checked(&path), Err(Error::Corrupt { .. })));
        fs::write(&path, [0xff, 0xfe]).expect("test step");
        assert!(matches!(read_checked(&path), Err(Error::Corrupt { .. })));
    }
}
