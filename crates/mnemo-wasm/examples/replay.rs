//! Runs a script of calls through [`mnemo_wasm::Core`] natively and prints
//! every answer: the reference the package's tests compare the browser and
//! Node (the same code compiled to WebAssembly) with.
//!
//! Input (stdin), JSON:
//!
//! ```json
//! {"namespace": "n", "embedder": "vectors", "dimension": 3,
//!  "calls": [{"op": "remember", "body": {...}, "vectors": [0.1, ...]},
//!            {"op": "recall", "body": {"query": "...", "k": 5}, "vectors": [...]}]}
//! ```
//!
//! `vectors` is a flat array of rows (one per memory of a `remember`, the
//! query's for a `recall`); `id` and `params` are optional. With
//! `"data": DIR` the calls run on the database in that directory (one the
//! package wrote with `storage: "file"`), else in memory. Output
//! (stdout): a JSON array with one element per call, the answer or
//! `{"error": {code, message, status}}`.

use std::io::Read;

use mnemo_wasm::Core;
use serde_json::{Value as Json, json};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let script: Json = serde_json::from_str(&input)?;
    let namespace = script["namespace"].as_str().unwrap_or("replay");
    let embedder = script["embedder"].as_str().unwrap_or("hash");
    let dimension = script["dimension"].as_u64().map(|d| d as usize);
    let mut core = match script["data"].as_str() {
        Some(dir) => Core::at(std::path::Path::new(dir)).map_err(|e| e.to_string())?,
        None => Core::in_memory(),
    };
    core.open_namespace(namespace, embedder, dimension)
        .map_err(|e| e.to_string())?;
    let mut answers = Vec::new();
    for call in script["calls"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let op = call["op"].as_str().unwrap_or("");
        let text = |v: &Json| {
            if v.is_null() {
                String::new()
            } else {
                v.to_string()
            }
        };
        let vectors: Option<Vec<f32>> = call["vectors"].as_array().map(|v| {
            v.iter()
                .map(|x| x.as_f64().unwrap_or(f64::NAN) as f32)
                .collect()
        });
        let answer = core.call(
            namespace,
            op,
            call["id"].as_u64(),
            &text(&call["params"]),
            &text(&call["body"]),
            match (&vectors, dimension) {
                (Some(v), Some(d)) => Some((v.as_slice(), d)),
                _ => None,
            },
        );
        answers.push(match answer {
            Ok(text) => serde_json::from_str(&text)?,
            Err(e) => json!({"error": {"code": e.code, "message": e.message, "status": e.status}}),
        });
    }
    core.close().map_err(|e| e.to_string())?;
    println!("{}", Json::Array(answers));
    Ok(())
}
