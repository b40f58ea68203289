//! Tail consumers: named cursors over every shard of a stream that survive
//! restarts.
//!
//! A consumer reads each shard's log from its cursor, round-robin over the
//! shards, and never buffers more than one poll's worth: a consumer far
//! behind costs memory for nothing but its cursors, and it catches up by
//! reading the log. It sees exactly what is acknowledged: the records of
//! batches whose append finished (after the sync, under
//! `SyncPolicy::Always`), and whatever the log recovered at open. When retention has removed records it had not
//! read, the next poll says how many it missed in that shard and resumes at
//! the oldest record kept. Cursors move in memory as events are delivered,
//! and reach disk (atomically, under `dir/consumers/NAME`) on
//! [`Consumer::commit`]: delivery is at least once across restarts.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::config::validate_name;
use crate::error::{Error, Result, io_error};
use crate::files::{read_checked, write_checked};
use crate::record::decode;
use crate::stream::Stream;

/// One event delivered to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The shard it is in.
    pub shard: usize,
    /// Its seq in the shard's log.
    pub seq: u64,
    /// When the writer appended it (nanoseconds since the Unix epoch).
    pub recorded_nanos: u64,
    /// Its type id.
    pub kind: u16,
    /// Its type name.
    pub type_name: Arc<str>,
    /// Its producer.
    pub producer: u64,
    /// The event time the producer gave, or 0.
    pub time_nanos: u64,
    /// Its bytes (shared with the log, not copied).
    pub payload: Bytes,
}

impl Delivered {
    /// The event time, or the time it was recorded when the producer gave
    /// none.
    pub fn time_or_recorded(&self) -> u64 {
        if self.time_nanos == 0 {
            self.recorded_nanos
        } else {
            self.time_nanos
        }
    }
}

/// Records a consumer could not read because retention removed them first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missed {
    /// The shard.
    pub shard: usize,
    /// How many records it missed there.
    pub records: u64,
}

/// What one poll returned.
#[derive(Debug, Default)]
pub struct Poll {
    /// Events in shard order within each shard (shards interleave).
    pub events: Vec<Delivered>,
    /// Shards where retention removed unread records since the last poll.
    pub missed: Vec<Missed>,
}

/// A named reader of a stream with a cursor per shard.
pub struct Consumer {
    stream: Stream,
    name: String,
    path: Option<PathBuf>,
    cursors: Vec<u64>,
    next_shard: usize,
    /// False for [`Stream::reader`]'s readers, which cannot commit.
    named: bool,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("stream", &self.stream.name())
            .field("name", &self.name)
            .field("cursors", &self.cursors)
            .finish()
    }
}

impl Stream {
    /// The consumer `name`, at its committed cursors (or at the start of
    /// every shard, for a new one).
    pub fn consumer(&self, name: &str) -> Result<Consumer> {
        validate_name("consumer", name)?;
        let shards = self.shard_count();
        let path = self.dir().map(|d| d.join("consumers").join(name));
        let mut cursors = vec![0u64; shards];
        if let Some(path) = &path
            && let Some(body) = read_checked(path)?
        {
            cursors = decode_cursors(&body, shards).map_err(|reason| Error::Corrupt {
                what: path.display().to_string(),
                reason,
            })?;
        }
        Ok(Consumer {
            stream: self.clone(),
            name: name.to_owned(),
            path,
            cursors,
            next_shard: 0,
            named: true,
        })
    }

    /// An unnamed reader starting at `cursors` (the next seq to read in each
    /// shard; shards past the end of the slice start at 0). It keeps no
    /// cursor: [`Consumer::commit`] refuses.
    pub fn reader(&self, cursors: &[u64]) -> Result<Consumer> {
        let shards = self.shard_count();
        if cursors.len() > shards {
            return Err(Error::Config(format!(
                "{} cursors for a stream of {shards} shards",
                cursors.len()
            )));
        }
        let mut all = vec![0u64; shards];
        all[..cursors.len()].copy_from_slice(cursors);
        Ok(Consumer {
            stream: self.clone(),
            name: String::new(),
            path: None,
            cursors: all,
            next_shard: 0,
            named: false,
        })
    }
}

fn decode_cursors(body: &str, shards: usize) -> Result<Vec<u64>, String> {
    let mut lines = body.lines();
    if lines.next() != Some("mnemo-bus cursor 1") {
        return Err("not a version 1 cursor file".into());
    }
    let cursors: Vec<u64> = lines
        .map(|l| {
            l.parse::<u64>()
                .map_err(|_| format!("bad cursor line {l:?}"))
        })
        .collect::<Result<_, _>>()?;
    if cursors.len() != shards {
        return Err(format!(
            "{} cursors for a stream of {shards} shards",
            cursors.len()
        ));
    }
    Ok(cursors)
}

impl Consumer {
    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next seq it will read in each shard.
    pub fn cursors(&self) -> &[u64] {
        &self.cursors
    }

    /// Acknowledged events it has not read yet, over all shards.
    pub fn lag(&self) -> u64 {
        self.cursors
            .iter()
            .enumerate()
            .map(|(shard, &cursor)| self.visible_end(shard).saturating_sub(cursor))
            .sum()
    }

    /// Where reading may go in a shard: the acknowledged records.
    fn visible_end(&self, shard: usize) -> u64 {
        self.stream
            .inner
            .shards
            .get(shard)
            .map_or(0, |s| s.acked_seq.load(Ordering::Acquire))
    }

    /// Delivers up to `max` events, waiting at most `timeout` for the first
    /// one. Returns an empty poll when none came in time, or the stream
    /// closed.
    pub fn poll(&mut self, max: usize, timeout: Duration) -> Result<Poll> {
        let deadline = Instant::now() + timeout;
        let activity = self.stream.inner.activity.clone();
        // Counted as waiting before looking, so a batch written between the
        // look and the wait moves the generation and cuts the wait short.
        activity.waiting.fetch_add(1, Ordering::SeqCst);
        let result = loop {
            let generation = *activity.generation.lock();
            let poll = match self.poll_now(max) {
                Ok(poll) => poll,
                Err(e) => break Err(e),
            };
            if !poll.events.is_empty() || !poll.missed.is_empty() || max == 0 {
                break Ok(poll);
            }
            let now = Instant::now();
            if now >= deadline {
                break Ok(poll);
            }
            let mut current = activity.generation.lock();
            if *current == generation {
                // Bounded so a sync no batch announced (the Interval
                // policy's) is seen soon too.
                let wait = (deadline - now).min(Duration::from_millis(50));
                activity.cv.wait_for(&mut current, wait);
            }
        };
        activity.waiting.fetch_sub(1, Ordering::SeqCst);
        result
    }

    /// Delivers what is there now, up to `max` events, without waiting.
    pub fn poll_now(&mut self, max: usize) -> Result<Poll> {
        let mut poll = Poll::default();
        let shards = self.cursors.len();
        let types = self.stream.types();
        // An equal share per shard per pass, so one busy shard cannot
        // starve the others; further passes fill what idle shards left.
        let share = max.div_ceil(shards.max(1)).max(1);
        loop {
            let before = poll.events.len();
            self.pass(&mut poll, max, share, &types)?;
            if poll.events.len() >= max || poll.events.len() == before {
                break;
            }
        }
        self.next_shard = (self.next_shard + 1) % shards.max(1);
        Ok(poll)
    }

    /// One pass over the shards, taking up to `share` events from each.
    fn pass(
        &mut self,
        poll: &mut Poll,
        max: usize,
        share: usize,
        types: &[Arc<str>],
    ) -> Result<()> {
        let shards = self.cursors.len();
        for round in 0..shards {
            if poll.events.len() >= max {
                break;
            }
            let shard = (self.next_shard + round) % shards;
            let Some(log) = self.stream.shard_log(shard) else {
                continue;
            };
            let first = log.first_seq();
            if self.cursors[shard] < first {
                poll.missed.push(Missed {
                    shard,
                    records: first - self.cursors[shard],
                });
                self.cursors[shard] = first;
            }
            let end = self
                .visible_end(shard)
                .min(self.cursors[shard] + share.min(max - poll.events.len()) as u64);
            let start = self.cursors[shard];
            if start >= end {
                continue;
            }
            for record in log.range(start..end) {
                let (header, payload) = decode(record.payload()).map_err(|e| Error::Corrupt {
                    what: format!(
                        "stream {} shard {shard} seq {}",
                        self.stream.name(),
                        record.seq()
                    ),
                    reason: e.to_string(),
                })?;
                // A type registered after this poll took the table is
                // looked up again.
                let type_name = types
                    .get(usize::from(header.kind) - 1)
                    .cloned()
                    .or_else(|| self.stream.type_name(header.kind))
                    .ok_or_else(|| Error::UnknownTypeId {
                        stream: self.stream.name().to_owned(),
                        id: header.kind,
                    })?;
                let bytes = record
                    .payload_bytes()
                    .slice(crate::record::RECORD_HEADER_BYTES..);
                debug_assert_eq!(&bytes[..], payload);
                poll.events.push(Delivered {
                    shard,
                    seq: record.seq(),
                    recorded_nanos: record.timestamp_nanos(),
                    kind: header.kind,
                    type_name,
                    producer: header.producer,
                    time_nanos: header.time_nanos,
                    payload: bytes,
                });
                self.cursors[shard] = record.seq() + 1;
            }
        }
        Ok(())
    }

    /// Moves a shard's cursor (for replays or skipping ahead); it is clamped
    /// to the log's end.
    pub fn seek(&mut self, shard: usize, seq: u64) -> Result<()> {
        let end = self.visible_end(shard);
        let cursor = self
            .cursors
            .get_mut(shard)
            .ok_or_else(|| Error::Config(format!("no shard {shard}")))?;
        *cursor = seq.min(end);
        Ok(())
    }

    /// Writes the cursors to disk (atomically); after a restart the
    /// consumer resumes from here. Does nothing for an in-memory stream.
    pub fn commit(&self) -> Result<()> {
        if !self.named {
            return Err(Error::Config(
                "an unnamed reader keeps no cursor to commit (use Stream::consumer)".into(),
            ));
        }
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        let mut body = String::from("mnemo-bus cursor 1\n");
        for cursor in &self.cursors {
            body.push_str(&cursor.to_string());
            body.push('\n');
        }
        write_checked(path, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn any_cursor_text_decodes_or_is_refused(text in "(mnemo-bus cursor 1\n)?([0-9a-z]{0,21}\n){0,4}", shards in 1usize..4) {
            let _ = decode_cursors(&text, shards);
        }
    }

    #[test]
    fn cursor_files_are_checked() {
        assert_eq!(
            decode_cursors("mnemo-bus cursor 1\n4\n5\n", 2),
            Ok(vec![4, 5])
        );
        assert!(decode_cursors("mnemo-bus cursor 1\n4\n", 2).is_err());
        assert!(decode_cursors("mnemo-bus cursor 2\n4\n5\n", 2).is_err());
        assert!(decode_cursors("mnemo-bus cursor 1\n4\nx\n", 2).is_err());
    }
}
