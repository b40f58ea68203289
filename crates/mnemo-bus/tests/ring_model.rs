//! The ring against a `VecDeque` model: random pushes (inline and spilled
//! payloads), batch drains and evictions in one thread must agree exactly;
//! and under two producers and a draining, evicting consumer every event
//! comes out at most once, whole, and in each producer's order.

use std::collections::VecDeque;
use std::sync::Arc;

use mnemo_bus::ring::{Header, INLINE_BYTES, Ring};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Push(u16, usize),
    Drain(usize),
    Evict,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u16..50, 0usize..(INLINE_BYTES * 3)).prop_map(|(k, len)| Op::Push(k, len)),
        2 => (1usize..12).prop_map(Op::Drain),
        1 => Just(Op::Evict),
    ]
}

fn payload(n: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (n as u8).wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

proptest! {
    #[test]
    fn ring_matches_a_bounded_deque(capacity in 2usize..20, ops in proptest::collection::vec(op(), 1..200)) {
        let ring = Ring::new(capacity);
        let capacity = ring.capacity();
        let mut model: VecDeque<(Header, Vec<u8>)> = VecDeque::new();
        let mut n = 0u64;
        for op in ops {
            match op {
                Op::Push(kind, len) => {
                    n += 1;
                    let header = Header { kind, producer: n, time_nanos: n * 7 };
                    let bytes = payload(n, len);
                    let pushed = ring.try_push(&header, &bytes);
                    if model.len() < capacity {
                        prop_assert!(pushed.is_some());
                        model.push_back((header, bytes));
                    } else {
                        prop_assert!(pushed.is_none(), "pushed into a full ring");
                    }
                }
                Op::Drain(max) => {
                    let mut got = Vec::new();
                    let range = ring.drain(max, &mut |h, p| got.push((*h, p.to_vec())));
                    prop_assert_eq!(range.end - range.start, got.len() as u64);
                    let want: Vec<_> = (0..max.min(model.len())).filter_map(|_| model.pop_front()).collect();
                    prop_assert_eq!(got, want);
                }
                Op::Evict => {
                    prop_assert_eq!(ring.evict_oldest(), model.pop_front().is_some());
                }
            }
            prop_assert_eq!(ring.len(), model.len());
        }
    }
}

#[test]
fn producers_and_an_evicting_consumer_agree() {
    const PER_PRODUCER: u64 = 200_000;
    let ring = Arc::new(Ring::new(64));
    let producers: Vec<_> = (0..2u64)
        .map(|p| {
            let ring = ring.clone();
            std::thread::spawn(move || {
                for n in 0..PER_PRODUCER {
                    let len = if n % 97 == 0 { INLINE_BYTES + 20 } else { 16 };
                    let mut bytes = payload(n, len);
                    bytes[..8].copy_from_slice(&n.to_le_bytes());
                    let header = Header {
                        kind: 1,
                        producer: p,
                        time_nanos: n,
                    };
                    while ring.try_push(&header, &bytes).is_none() {
                        // Overloaded: make room the drop_oldest way now and then.
                        if n % 5 == 0 {
                            ring.evict_oldest();
                        }
                        std::hint::spin_loop();
                    }
                }
            })
        })
        .collect();
    let mut last = [None::<u64>; 2];
    let mut delivered = 0u64;
    let mut check = |h: &Header, p: &[u8]| {
        let n = u64::from_le_bytes(p[..8].try_into().expect("test step"));
        assert_eq!(n, h.time_nanos, "payload and header of one event");
        assert_eq!(p[8..], payload(n, p.len())[8..], "payload intact");
        let prev = &mut last[h.producer as usize];
        assert!(
            prev.is_none_or(|prev| n > prev),
            "producer {} reordered",
            h.producer
        );
        *prev = Some(n);
        delivered += 1;
    };
    while producers.iter().any(|t| !t.is_finished()) {
        ring.drain(32, &mut check);
    }
    while !ring.drain(usize::MAX, &mut check).is_empty() {}
    for t in producers {
        t.join().expect("test step");
    }
    assert!(delivered > 0 && delivered <= 2 * PER_PRODUCER);
    // Evictions may take any producer's oldest event, so only the counts
    // are bounded; every delivered event was checked whole and in order.
    assert!(last.iter().all(Option::is_some), "both producers delivered");
}
