//! The binary batch form of `POST /v1/namespaces/{ns}/events`
//! (`content-type: application/vnd.mnemo.events`): events back to back,
//! each
//!
//! | size | field |
//! |-----:|-------|
//! | 1 | type length `t` (1–64) |
//! | t | type name (ASCII letters, digits, `_`, `-`, `.`) |
//! | 8 | producer id (u64, little-endian) |
//! | 8 | event time, nanoseconds since the Unix epoch (i64, little-endian; 0: none) |
//! | 4 | payload length `n` (u32, little-endian) |
//! | n | payload |
//!
//! Decoding borrows the type names and payloads from the body (no copy).
//! A body that ends inside an event, or a field out of range, is refused
//! whole, naming the event and its byte offset.

/// One decoded event, borrowing from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BinaryEvent<'a> {
    /// The type name.
    pub kind: &'a str,
    /// The producer id.
    pub producer: u64,
    /// Event time in nanoseconds since the epoch (0: none).
    pub at_nanos: i64,
    /// The payload.
    pub payload: &'a [u8],
}

/// Appends one event in the binary form (for clients and tests).
pub fn encode_into(event: &BinaryEvent<'_>, out: &mut Vec<u8>) {
    out.push(event.kind.len().min(255) as u8);
    out.extend_from_slice(event.kind.as_bytes());
    out.extend_from_slice(&event.producer.to_le_bytes());
    out.extend_from_slice(&event.at_nanos.to_le_bytes());
    out.extend_from_slice(&(event.payload.len() as u32).to_le_bytes());
    out.extend_from_slice(event.payload);
}

/// Decodes a whole batch; `max_events` and `max_payload` bound it.
pub fn decode(
    body: &[u8],
    max_events: usize,
    max_payload: usize,
) -> Result<Vec<BinaryEvent<'_>>, String> {
    let mut events = Vec::new();
    let mut at = 0usize;
    while at < body.len() {
        let index = events.len();
        if index >= max_events {
            return Err(format!("more than {max_events} events in one batch"));
        }
        let fail = |what: &str| format!("event {index} at byte {at}: {what}");
        let type_len = usize::from(body[at]);
        if !(1..=64).contains(&type_len) {
            return Err(fail("the type length must be 1 to 64"));
        }
        let fixed = 1 + type_len + 8 + 8 + 4;
        let head = body
            .get(at..at + fixed)
            .ok_or_else(|| fail("the body ends inside the event's header"))?;
        let kind = std::str::from_utf8(&head[1..1 + type_len])
            .ok()
            .filter(|k| {
                k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            })
            .ok_or_else(|| {
                fail("the type may hold only ASCII letters, digits, '_', '-' and '.'")
            })?;
        let word = |from: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&head[from..from + 8]);
            bytes
        };
        let producer = u64::from_le_bytes(word(1 + type_len));
        let at_nanos = i64::from_le_bytes(word(1 + type_len + 8));
        let mut len = [0u8; 4];
        len.copy_from_slice(&head[fixed - 4..fixed]);
        let len = u32::from_le_bytes(len) as usize;
        if len > max_payload {
            return Err(fail(&format!(
                "a payload of {len} bytes exceeds the stream's max_event_bytes ({max_payload})"
            )));
        }
        let payload = body
            .get(at + fixed..at + fixed + len)
            .ok_or_else(|| fail("the body ends inside the event's payload"))?;
        events.push(BinaryEvent {
            kind,
            producer,
            at_nanos,
            payload,
        });
        at += fixed + len;
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decode_inverts_encode(events in proptest::collection::vec(
            ("[a-z_.-]{1,64}", any::<u64>(), any::<i64>(), proptest::collection::vec(any::<u8>(), 0..100)),
            0..20,
        )) {
            let mut body = Vec::new();
            for (kind, producer, at_nanos, payload) in &events {
                encode_into(&BinaryEvent { kind, producer: *producer, at_nanos: *at_nanos, payload }, &mut body);
            }
            let back = decode(&body, 1000, 1000).expect("decodes");
            prop_assert_eq!(back.len(), events.len());
            for (b, (kind, producer, at_nanos, payload)) in back.iter().zip(&events) {
                prop_assert_eq!(b.kind, kind.as_str());
                prop_assert_eq!(b.producer, *producer);
                prop_assert_eq!(b.at_nanos, *at_nanos);
                prop_assert_eq!(b.payload, &payload[..]);
            }
        }

        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&body, 10, 64);
        }
    }

    #[test]
    fn errors_name_the_event_and_offset() {
        let mut body = Vec::new();
        encode_into(
            &BinaryEvent {
                kind: "a",
                producer: 1,
                at_nanos: 0,
                payload: b"xy",
            },
            &mut body,
        );
        let one = body.len();
        encode_into(
            &BinaryEvent {
                kind: "b",
                producer: 1,
                at_nanos: 0,
                payload: b"xyz",
            },
            &mut body,
        );
        let cut = decode(&body[..body.len() - 1], 10, 64).expect_err("cut payload");
        assert!(cut.contains(&format!("event 1 at byte {one}")), "{cut}");
        assert!(
            decode(&body, 1, 64)
                .expect_err("too many")
                .contains("more than 1")
        );
        assert!(
            decode(&body, 10, 2)
                .expect_err("too big")
                .contains("max_event_bytes")
        );
        assert!(
            decode(&[0], 10, 64)
                .expect_err("empty type")
                .contains("type length")
        );
        let mut bad = body.clone();
        bad[1] = b' ';
        assert!(
            decode(&bad, 10, 64)
                .expect_err("bad type")
                .contains("ASCII")
        );
    }
}
