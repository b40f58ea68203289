//! Python values to and from the API's serde types.

use pyo3::prelude::*;
use pythonize::{Depythonizer, pythonize};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::invalid;

/// `value` as a `T`; an error names the field that did not fit (under
/// `what`, the argument's name).
pub fn from_py<T: DeserializeOwned>(value: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    let mut de = Depythonizer::from_object(value);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            invalid(format!("{what}: {inner}"))
        } else {
            invalid(format!("{what}.{path}: {inner}"))
        }
    })
}

/// `value` as plain Python dicts, lists, strings and numbers.
pub fn to_py<T: Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    pythonize(py, value)
        .map(Bound::unbind)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
}

/// Rows of `dimension` little-endian `f32`s from `bytes` (a C-contiguous
/// `float32` array's buffer), checked: the length must be
/// `rows × dimension × 4`.
pub fn vectors(bytes: &[u8], dimension: usize, rows: usize) -> PyResult<Vec<Vec<f32>>> {
    if dimension == 0 || bytes.len() != rows * dimension * 4 {
        return Err(invalid(format!(
            "vector: expected {rows} vectors of {dimension} float32 values ({} bytes), got {} bytes",
            rows * dimension * 4,
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(dimension * 4)
        .map(|row| {
            row.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect())
}
