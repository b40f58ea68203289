//! What mnemo is measured on and how: the evaluation data and the scoring
//! that the command line (`mnemo eval locomo`) and the benchmark harness
//! (`mnemo-bench`) share, so both read the same conversations and count
//! the same way.
//!
//! - [`locomo`] reads the LoCoMo conversation format (Maharana et al.,
//!   ACL 2024) into typed conversations: sessions with their dates and
//!   observations, turns with their dialogue ids, and questions with their
//!   evidence and category. Malformed files give an [`locomo::Error`] that
//!   names the file and what is wrong where.
//! - [`metric`] scores a ranking against a question's evidence (hit@k and
//!   recall@k at several cut-offs) and sums the scores over questions.
//!
//! How turns become memories is left to each caller: the command line and
//! the benchmarks store them differently on purpose.

pub mod locomo;
pub mod metric;
