//! LoCoMo conversations as memories. The format is read by
//! [`mnemo_eval::locomo`] (the reader the benchmarks share); this module
//! says how the command line stores it.
//!
//! Each turn becomes one memory: content `"{speaker}: {text}"`, source the
//! conversation's `sample_id`, tags the `sample_id`, `session_N` and the
//! speaker's name, metadata `dia_id`, `at` the session's date and time
//! (taken as UTC), and the key `"{sample_id}:{dia_id}"`, so importing a
//! conversation again changes nothing and two turns with the same words stay
//! two memories.
//!
//! The source is the conversation, not the speaker, because recall's
//! temporal association edges join consecutive memories of one source: a
//! question's answer is often the reply to the turn that matches it, said
//! by the other speaker.

use mnemo::NewMemory;
use mnemo_eval::locomo::ObservationAt;
pub use mnemo_eval::locomo::{Category, Conversation, DiaId, from_bytes, looks_like};

/// The turns of `conv` as memories to remember (see the module docs).
pub fn memories(conv: &Conversation) -> Vec<NewMemory> {
    conv.turns
        .iter()
        .map(|t| {
            NewMemory::new(t.content())
                .source(conv.sample_id.clone())
                .tag(conv.sample_id.clone())
                .tag(format!("session_{}", t.session))
                .tag(t.speaker.clone())
                .meta("dia_id", t.dia_id.as_str())
                .key(key(conv, &t.dia_id))
                .at(t.at)
        })
        .collect()
}

/// The key of the memory of turn `dia_id` of `conv`:
/// `"{sample_id}:{dia_id}"`.
pub fn key(conv: &Conversation, dia_id: &DiaId) -> String {
    format!("{}:{dia_id}", conv.sample_id)
}

/// The observations of `conv` as independent memories, in the order
/// `seed` shuffles them to (see
/// [`Conversation::shuffled_observations`]), each with the turns it cites.
///
/// Each observation becomes one memory: content the sentence, no source
/// (independent facts, not a conversation's chain), tags the `sample_id`,
/// `session_N` and the speaker it is about, metadata `dia_ids` (the cited
/// turns, comma-separated), `at` the session's date and time, and the key
/// [`observation_key`].
pub fn observation_memories(conv: &Conversation, seed: u64) -> Vec<(NewMemory, &[DiaId])> {
    conv.shuffled_observations(seed)
        .into_iter()
        .map(|o| {
            let cited: Vec<&str> = o.observation.evidence.iter().map(DiaId::as_str).collect();
            let memory = NewMemory::new(o.observation.text.clone())
                .tag(conv.sample_id.clone())
                .tag(format!("session_{}", o.session.number))
                .tag(o.observation.speaker.clone())
                .meta("dia_ids", cited.join(","))
                .key(observation_key(conv, &o))
                .at(o.session.at);
            (memory, o.observation.evidence.as_slice())
        })
        .collect()
}

/// The key of an observation's memory:
/// `"{sample_id}:observation:{session}:{index}"`, its position among the
/// session's observations.
pub fn observation_key(conv: &Conversation, o: &ObservationAt<'_>) -> String {
    format!(
        "{}:observation:{}:{}",
        conv.sample_id, o.session.number, o.index
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_become_memories() {
        let json: serde_json::Value = serde_json::from_str(
            r#"[{"sample_id": "c1", "conversation": {
                  "speaker_a": "Ann", "speaker_b": "Bo",
                  "session_2_date_time": "9:00 am on 2 May, 2023",
                  "session_2": [{"speaker": "Bo", "dia_id": "D2:1", "text": "Later."}],
                  "session_1_date_time": "1:56 pm on 1 May, 2023",
                  "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": "Hi!"}]},
                "qa": []}]"#,
        )
        .expect("json");
        let convs = mnemo_eval::locomo::parse(&json).expect("parses");
        let memories = memories(&convs[0]);
        assert_eq!(memories.len(), 2);
        assert_eq!(memories[0].content, "Ann: Hi!");
        assert_eq!(memories[0].tags, vec!["c1", "session_1", "Ann"]);
        assert_eq!(
            memories[0].at.map(crate::time::format).as_deref(),
            Some("2023-05-01T13:56:00Z")
        );
        assert_eq!(memories[1].source.as_deref(), Some("c1"));
        assert_eq!(
            memories[1].metadata.get("dia_id"),
            Some(&mnemo::Value::Text("D2:1".into()))
        );
        assert_eq!(memories[1].key.as_deref(), Some("c1:D2:1"));
    }

    #[test]
    fn observations_become_independent_memories() {
        let json: serde_json::Value = serde_json::from_str(
            r#"[{"sample_id": "c1", "conversation": {
                  "session_1_date_time": "1:56 pm on 1 May, 2023",
                  "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": "Hi!"},
                                {"speaker": "Bo", "dia_id": "D1:2", "text": "I got a dog."}]},
                "observation": {"session_1_observation": {
                  "Ann": [["Ann greets Bo.", "D1:1"]],
                  "Bo": [["Bo has a dog.", ["D1:1", "D1:2"]]]}},
                "qa": []}]"#,
        )
        .expect("json");
        let convs = mnemo_eval::locomo::parse(&json).expect("parses");
        let mut memories = observation_memories(&convs[0], 1);
        assert_eq!(memories.len(), 2);
        memories.sort_by(|a, b| a.0.content.cmp(&b.0.content));
        let (dog, cited) = &memories[1];
        assert_eq!(dog.content, "Bo has a dog.");
        assert_eq!(dog.source, None);
        assert_eq!(dog.tags, vec!["c1", "session_1", "Bo"]);
        assert_eq!(
            dog.metadata.get("dia_ids"),
            Some(&mnemo::Value::Text("D1:1,D1:2".into()))
        );
        assert_eq!(dog.key.as_deref(), Some("c1:observation:1:1"));
        assert_eq!(cited.len(), 2);
        assert_eq!(memories[0].0.key.as_deref(), Some("c1:observation:1:0"));
    }
}
