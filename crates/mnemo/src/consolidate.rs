//! [`Namespace::consolidate`]: related episodic memories summarised into
//! semantic memories linked `derived_from` to their sources (planned by
//! [`crate::consolidation`], written as one `derive` event), and the
//! provenance reads [`Namespace::derived_from`] and
//! [`Namespace::consolidated_into`].

use std::time::Duration;

use crate::consolidation::{self, ConsolidationParams, Episode, Planned};
use crate::error::Result;
use crate::event::{DERIVED_FROM, Derived, Event, Remember};
use crate::exec;
use crate::model::{Kind, Memory, MemoryId, Metadata, Value};
use crate::namespace::Namespace;
use crate::query::{OrderBy, Query};

/// The tag every consolidated memory carries.
pub const CONSOLIDATED_TAG: &str = "consolidated";

/// What [`Namespace::consolidate`] considers, and how it groups.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsolidateOptions {
    /// Which memories may be consolidated. Without a kind, episodic ones;
    /// `limit`, `offset` and the order are ignored. Default: every
    /// episodic memory.
    pub filter: Query,
    /// Memories considered at most: the most recent (by event time) that
    /// the filter admits and no consolidation used yet. Default 4,096
    /// (the planner's chunk: it groups within one chunk).
    pub max_episodes: usize,
    /// Grouping and summary settings.
    pub params: ConsolidationParams,
    /// Plan only: report what would be written, write nothing.
    pub dry_run: bool,
}

impl Default for ConsolidateOptions {
    fn default() -> Self {
        Self {
            filter: Query::new(),
            max_episodes: consolidation::CHUNK,
            params: ConsolidationParams::default(),
            dry_run: false,
        }
    }
}

/// What a consolidation did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Consolidated {
    /// Memories considered (after the filter and the window).
    pub considered: usize,
    /// The groups planned, in the order their memories were written.
    pub planned: Vec<Planned>,
    /// The consolidated memories written, one per planned group (empty
    /// for a dry run or when nothing was groupable).
    pub created: Vec<MemoryId>,
    /// The log seq of the `derive` event (`None` when nothing was
    /// written).
    pub seq: Option<u64>,
    /// Groups left for a later run because one event could not hold them
    /// all (the log's record limit).
    pub deferred: usize,
    /// How long it took.
    pub took: Duration,
}

impl Namespace {
    /// Groups related episodic memories and writes, per group, a
    /// `semantic` memory summarising it extractively (its most central
    /// sentences, then its shared entities and dates; see
    /// [`crate::consolidation`]), tagged `consolidated` and linked
    /// `derived_from` to each source. The sources stay. Memories a
    /// consolidation already used are not considered again.
    ///
    /// Everything is one `derive` event: a crash leaves all of it or none.
    /// An empty namespace (or nothing groupable) is a no-op that writes
    /// nothing. Bad settings are [`Error::Invalid`] naming the field.
    pub fn consolidate(&self, options: &ConsolidateOptions) -> Result<Consolidated> {
        self.check_open()?;
        let mut clock = crate::recall::Stopwatch::start();
        options
            .params
            .validate()
            .map_err(|reason| self.invalid("consolidation", reason))?;
        if options.max_episodes == 0 {
            return Err(self.invalid("max_episodes", "must be at least 1"));
        }
        let _writer = self.inner.writer.lock();
        let (episodes, vectors) = self.episodes(options);
        let mut out = Consolidated {
            considered: episodes.len(),
            ..Consolidated::default()
        };
        let views: Vec<Episode<'_>> = episodes
            .iter()
            .zip(&vectors)
            .map(|(m, v)| Episode {
                id: m.id,
                content: &m.content,
                tags: &m.tags,
                source: m.source.as_deref(),
                at: m.at,
                vector: v,
            })
            .collect();
        out.planned = consolidation::plan(&views, &options.params);
        drop(views);
        if options.dry_run || out.planned.is_empty() {
            out.took = clock.lap();
            return Ok(out);
        }
        // One event holds the whole consolidation: groups past the log's
        // record limit wait for the next run.
        let budget = self.inner.log.config().max_record_bytes / 2;
        let dimension = self.inner.embedder.dimension;
        let mut used = 0usize;
        let fits = out
            .planned
            .iter()
            .take_while(|p| {
                used += 256 + p.content.len() + 4 * dimension + 10 * p.sources.len();
                used <= budget
            })
            .count();
        out.deferred = out.planned.len() - fits;
        out.planned.truncate(fits);
        let texts: Vec<&str> = out.planned.iter().map(|p| p.content.as_str()).collect();
        let embedded = self.embed(&texts)?;
        if embedded.len() != out.planned.len() {
            return Err(self.invalid("embedder output", "too few vectors"));
        }
        let first = self.inner.state.read().next_id;
        let by_id = |id: MemoryId| episodes.iter().find(|m| m.id == id);
        let mut items = Vec::with_capacity(out.planned.len());
        for ((i, p), vector) in out.planned.iter().enumerate().zip(embedded) {
            let id = MemoryId(first + i as u64);
            let importance = p
                .sources
                .iter()
                .filter_map(|s| by_id(*s))
                .map(|m| m.importance)
                .fold(0.0f32, f32::max);
            let mut tags = p.tags.clone();
            tags.push(CONSOLIDATED_TAG.to_owned());
            tags.sort_unstable();
            tags.dedup();
            let mut metadata = Metadata::new();
            metadata.insert("sources".into(), Value::Int(p.sources.len() as i64));
            if !p.entities.is_empty() {
                metadata.insert("entities".into(), Value::Text(p.entities.join(", ")));
            }
            if !p.dates.is_empty() {
                metadata.insert("dates".into(), Value::Text(p.dates.join(", ")));
            }
            items.push(Derived {
                memory: Remember {
                    id,
                    key: None,
                    content: p.content.clone(),
                    kind: Kind::Semantic,
                    tags,
                    source: p.source.clone(),
                    metadata,
                    at: Some(p.until),
                    valid: None,
                    importance,
                    confidence: 1.0,
                    vector,
                    erased: false,
                },
                sources: p.sources.clone(),
            });
        }
        out.created = items.iter().map(|d| d.memory.id).collect();
        let delta = self.commit(vec![Event::Derive(items)])?.pop();
        out.seq = delta.map(|d| d.seq);
        out.took = clock.lap();
        Ok(out)
    }

    /// The live memories a consolidation may use: admitted by the filter,
    /// not used by an earlier consolidation, not consolidated themselves;
    /// the most recent `max_episodes`, with their vectors.
    fn episodes(
        &self,
        options: &ConsolidateOptions,
    ) -> (Vec<std::sync::Arc<Memory>>, Vec<Vec<f32>>) {
        let mut filter = options.filter.clone();
        if filter.kind.is_none() {
            filter.kind = Some(Kind::Episodic);
        }
        filter.limit = None;
        filter.offset = 0;
        filter.order = OrderBy::At;
        filter.descending = true;
        let state = self.inner.state.read();
        let used = |m: &Memory| {
            state
                .links_to(m.id)
                .iter()
                .chain(state.links_from(m.id))
                .any(|e| &*e.kind == DERIVED_FROM)
        };
        let mut episodes = Vec::new();
        let mut vectors = Vec::new();
        for m in exec::run(&state, &filter) {
            if episodes.len() == options.max_episodes {
                break;
            }
            if used(&m) {
                continue;
            }
            let Some(v) = state.resident_vector(m.id.0) else {
                continue;
            };
            vectors.push(v);
            episodes.push(m);
        }
        (episodes, vectors)
    }

    /// The memories a consolidated memory was derived from (its
    /// provenance), ascending; empty for any other memory.
    pub fn derived_from(&self, id: MemoryId) -> Vec<MemoryId> {
        self.linked(id, true)
    }

    /// The consolidated memories derived from memory `id`, ascending.
    pub fn consolidated_into(&self, id: MemoryId) -> Vec<MemoryId> {
        self.linked(id, false)
    }

    fn linked(&self, id: MemoryId, outgoing: bool) -> Vec<MemoryId> {
        let state = self.inner.state.read();
        let edges = if outgoing {
            state.links_from(id)
        } else {
            state.links_to(id)
        };
        let mut ids: Vec<MemoryId> = edges
            .iter()
            .filter(|e| &*e.kind == DERIVED_FROM && state.get(e.other).is_some())
            .map(|e| e.other)
            .collect();
        ids.sort_unstable();
        ids
    }
}
