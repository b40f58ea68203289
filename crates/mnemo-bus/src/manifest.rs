//! The stream manifest (`STREAM`): how many shards the stream has and which
//! event type has which id. Type ids are assigned from 1 in order and never
//! reused, so a record's type id means the same for the stream's lifetime.
//!
//! ```text
//! mnemo-bus stream 1
//! shards 2
//! type tool_result
//! type observation
//! xxh3 <16 hex digits of XXH3-64 of the lines above>
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{MAX_SHARDS, MAX_TYPES, validate_name};
use crate::error::{Error, Result};

/// The shard count and the type table of a stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct Manifest {
    pub shards: usize,
    /// Type names; the id of `names[i]` is `i + 1`.
    pub names: Vec<Arc<str>>,
    pub ids: HashMap<Arc<str>, u16>,
}

impl Manifest {
    pub fn new(shards: usize) -> Self {
        Self {
            shards,
            ..Self::default()
        }
    }

    /// Adds a type if it is new; returns its id.
    pub fn register(&mut self, name: &str) -> Result<u16> {
        if let Some(&id) = self.ids.get(name) {
            return Ok(id);
        }
        validate_name("event type", name)?;
        if self.names.len() >= MAX_TYPES {
            return Err(Error::Config(format!(
                "a stream holds at most {MAX_TYPES} event types"
            )));
        }
        let name: Arc<str> = name.into();
        self.names.push(name.clone());
        let id = self.names.len() as u16;
        self.ids.insert(name, id);
        Ok(id)
    }

    pub fn name(&self, id: u16) -> Option<&Arc<str>> {
        self.names.get(usize::from(id).checked_sub(1)?)
    }

    pub fn encode(&self) -> String {
        let mut text = format!("mnemo-bus stream 1\nshards {}\n", self.shards);
        for name in &self.names {
            text.push_str("type ");
            text.push_str(name);
            text.push('\n');
        }
        text
    }

    pub fn decode(body: &str, what: &str) -> Result<Self> {
        let corrupt = |reason: String| Error::Corrupt {
            what: what.to_owned(),
            reason,
        };
        let mut lines = body.lines();
        if lines.next() != Some("mnemo-bus stream 1") {
            return Err(corrupt("not a version 1 stream manifest".into()));
        }
        let shards = lines
            .next()
            .and_then(|l| l.strip_prefix("shards "))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=MAX_SHARDS).contains(n))
            .ok_or_else(|| corrupt("no valid `shards` line".into()))?;
        let mut manifest = Manifest::new(shards);
        for line in lines {
            let name = line
                .strip_prefix("type ")
                .ok_or_else(|| corrupt(format!("unexpected line {line:?}")))?;
            if manifest.ids.contains_key(name) {
                return Err(corrupt(format!("type {name:?} listed twice")));
            }
            manifest
                .register(name)
                .map_err(|e| corrupt(format!("type {name:?}: {e}")))?;
        }
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_decodes_or_is_refused_without_panicking(text in "(mnemo-bus stream 1\n)?(shards [0-9]{1,4}\n)?((type [ -~]{0,70})?\n){0,6}") {
            if let Ok(m) = Manifest::decode(&text, "STREAM") {
                let again = Manifest::decode(&m.encode(), "STREAM").expect("re-decodes");
                prop_assert_eq!(again.names, m.names);
                prop_assert_eq!(again.shards, m.shards);
            }
        }
    }

    #[test]
    fn encode_decode_keeps_ids() {
        let mut m = Manifest::new(3);
        assert_eq!(m.register("tool_result").expect("test step"), 1);
        assert_eq!(m.register("observation").expect("test step"), 2);
        assert_eq!(m.register("tool_result").expect("test step"), 1);
        let back = Manifest::decode(&m.encode(), "STREAM").expect("test step");
        assert_eq!(back.shards, 3);
        assert_eq!(back.ids.get("observation"), Some(&2));
        assert_eq!(back.name(1).map(|n| &**n), Some("tool_result"));
        assert_eq!(back.name(0), None);
        assert_eq!(back.name(3), None);
        for bad in [
            "",
            "mnemo-bus stream 2\nshards 1\n",
            "mnemo-bus stream 1\nshards 0\n",
            "mnemo-bus stream 1\nshards 1\ntype a\ntype a\n",
            "mnemo-bus stream 1\nshards 1\ntype bad name\n",
            "mnemo-bus stream 1\nshards 1\nother\n",
        ] {
            assert!(Manifest::decode(bad, "STREAM").is_err(), "{bad:?}");
        }
    }
}
