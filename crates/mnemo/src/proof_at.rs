//! Inclusion proofs against an older tree size: the proof a client that
//! holds a signed checkpoint (a tree size and its root) checks a memory
//! against, instead of against the log's current root.

use crate::error::{Error, Result};
use crate::model::MemoryId;
use crate::namespace::{MemoryProof, Namespace};

impl Namespace {
    /// The Merkle inclusion proof of the event that last wrote memory `id`
    /// (as [`Namespace::prove`] proves it) in the tree of the log's first
    /// `size` events, leading to that tree's root ([`Namespace::root_at`]):
    /// what a client holding a signed checkpoint of tree size `size` checks
    /// against the checkpoint's root.
    ///
    /// Fails, naming the field `size`, when `size` is past the events the
    /// namespace holds, or when the tree of `size` events does not contain
    /// the memory's event yet (`size` must be more than its seq: the memory
    /// was written, or last revised, after that checkpoint). An unknown or
    /// forgotten `id` is [`Error::UnknownId`].
    ///
    /// ```
    /// let engine = mnemo::Mnemo::in_memory();
    /// let ns = engine.namespace("docs")?;
    /// let id = ns.remember(mnemo::NewMemory::new("the first thing"))?;
    /// let (old_root, old_size) = ns.root()?; // e.g. from a signed checkpoint
    /// ns.remember(mnemo::NewMemory::new("something later"))?;
    ///
    /// let proof = ns.prove_at(id, old_size)?;
    /// assert_eq!(proof.root, old_root);
    /// assert!(proof.verify(Some(&old_root)).is_ok());
    /// assert!(ns.prove_at(id, old_size + 100).is_err()); // past the log
    /// # Ok::<(), mnemo::Error>(())
    /// ```
    pub fn prove_at(&self, id: MemoryId, size: u64) -> Result<MemoryProof> {
        let memory = self.live(id)?;
        let seq = memory.updated_seq;
        let (_, held) = self.root()?;
        if size > held {
            return Err(self.invalid(
                "size",
                format!("tree size {size} is past the log, which holds {held} events"),
            ));
        }
        if size <= seq {
            return Err(self.invalid(
                "size",
                format!(
                    "tree size {size} does not contain memory {id}: it was last written by \
                     event {seq}, so the tree needs at least {} events",
                    seq.saturating_add(1)
                ),
            ));
        }
        let root = self.root_at(size)?;
        let log_error = |source| Error::Log {
            namespace: self.name().to_owned(),
            source,
        };
        let proof = self.log().inclusion_proof(seq, size).map_err(log_error)?;
        let frame = self
            .log()
            .read(seq)
            .map(|r| r.frame().clone())
            .ok_or_else(|| {
                self.invalid(
                    "size",
                    format!("event {seq} of memory {id} is no longer in the log"),
                )
            })?;
        Ok(MemoryProof {
            id,
            seq,
            frame,
            proof,
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Error, Mnemo, NewMemory, Revision};

    #[test]
    fn proofs_at_every_size_that_holds_the_event_lead_to_that_sizes_root() {
        let engine = Mnemo::in_memory();
        let ns = engine.namespace("t").expect("namespace");
        let id = ns.remember(NewMemory::new("kept")).expect("remember");
        let seq = ns.get(id).expect("live").updated_seq;
        for i in 0..9 {
            ns.remember(NewMemory::new(format!("later {i}")))
                .expect("remember");
        }
        let (_, held) = ns.root().expect("root");
        for size in seq + 1..=held {
            let p = ns.prove_at(id, size).expect("a proof");
            let root = ns.root_at(size).expect("root at");
            assert_eq!((p.seq, p.proof.tree_size, p.root), (seq, size, root));
            assert!(p.verify(Some(&root)).is_ok(), "size {size}");
            if size != held {
                let head = ns.root().expect("root").0;
                assert!(p.verify(Some(&head)).is_err(), "not the head's root");
            }
        }
        // The head's proof is `prove`'s.
        let now = ns.prove(id).expect("prove");
        let at = ns.prove_at(id, held).expect("prove_at");
        assert_eq!((now.root, now.proof.path), (at.root, at.proof.path));
    }

    #[test]
    fn sizes_past_the_log_or_before_the_event_are_refused_naming_size() {
        let engine = Mnemo::in_memory();
        let ns = engine.namespace("t").expect("namespace");
        let first = ns.remember(NewMemory::new("first")).expect("remember");
        let (_, before_revision) = ns.root().expect("root");
        ns.revise(first, Revision::default().content("first, revised"))
            .expect("revise");
        let (_, held) = ns.root().expect("root");
        let seq = ns.get(first).expect("live").updated_seq;
        assert!(seq >= before_revision);

        for (size, says) in [
            (held + 1, "past the log"),
            (u64::MAX, "past the log"),
            (seq, "does not contain"),
            (0, "does not contain"),
            (before_revision, "does not contain"),
        ] {
            match ns.prove_at(first, size) {
                Err(Error::Invalid { field, reason, .. }) => {
                    assert_eq!(field, "size");
                    assert!(reason.contains(says), "{size}: {reason}");
                    assert!(reason.contains(&size.to_string()), "{reason}");
                }
                other => panic!("size {size}: {other:?}"),
            }
        }
        assert!(matches!(
            ns.prove_at(crate::MemoryId(999), held),
            Err(Error::UnknownId { id: 999, .. })
        ));
    }
}
