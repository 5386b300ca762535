use super::*;
use proptest::prelude::*;

fn complete(frame: &str) -> Packet<'_> {
    match Assembler::new(16).text(frame) {
        Ok(Progress::Complete(p)) => p,
        other => panic!("{frame}: {other:?}"),
    }
}

#[test]
fn decodes_the_packet_table() {
    // (frame, kind, nsp, id, data)
    type Row<'a> = (&'a str, PacketKind, &'a str, Option<u64>, Option<&'a str>);
    let table: &[Row<'_>] = &[
        ("0", PacketKind::Connect, "/", None, None),
        (
            "0{\"token\":\"123\"}",
            PacketKind::Connect,
            "/",
            None,
            Some("{\"token\":\"123\"}"),
        ),
        ("0/custom,", PacketKind::Connect, "/custom", None, None),
        ("0/custom", PacketKind::Connect, "/custom", None, None),
        (
            "0/custom,{\"a\":1}",
            PacketKind::Connect,
            "/custom",
            None,
            Some("{\"a\":1}"),
        ),
        ("1", PacketKind::Disconnect, "/", None, None),
        ("1/admin,", PacketKind::Disconnect, "/admin", None, None),
        (
            "2[\"hello\",1]",
            PacketKind::Event,
            "/",
            None,
            Some("[\"hello\",1]"),
        ),
        (
            "2/admin,456[\"project:delete\",123]",
            PacketKind::Event,
            "/admin",
            Some(456),
            Some("[\"project:delete\",123]"),
        ),
        (
            "212[\"x\"]",
            PacketKind::Event,
            "/",
            Some(12),
            Some("[\"x\"]"),
        ),
        (
            "3/admin,456[]",
            PacketKind::Ack,
            "/admin",
            Some(456),
            Some("[]"),
        ),
        (
            "4{\"message\":\"Not authorized\"}",
            PacketKind::ConnectError,
            "/",
            None,
            Some("{\"message\":\"Not authorized\"}"),
        ),
        (
            "4\"legacy\"",
            PacketKind::ConnectError,
            "/",
            None,
            Some("\"legacy\""),
        ),
    ];
    for &(frame, kind, nsp, id, data) in table {
        let p = complete(frame);
        assert_eq!(
            (p.kind, p.nsp.as_ref(), p.id, p.data.as_deref()),
            (kind, nsp, id, data),
            "{frame}"
        );
    }
}

#[test]
fn rejects_invalid_packets() {
    let table: &[(&str, Error)] = &[
        ("", Error::Empty),
        ("abc", Error::UnknownSocketType('a')),
        ("7", Error::UnknownSocketType('7')),
        ("2{}", Error::InvalidPayload("EVENT")),
        ("2abc[\"message-with-ack\",1]", Error::InvalidJson),
        ("2[\"unterminated\"", Error::InvalidJson),
        ("2[]", Error::InvalidPayload("EVENT")),
        ("2[true]", Error::InvalidPayload("EVENT")),
        ("2[\"connect\"]", Error::ReservedEventName("connect".into())),
        (
            "2[\"disconnect\",1]",
            Error::ReservedEventName("disconnect".into()),
        ),
        ("2", Error::InvalidPayload("EVENT")),
        ("3", Error::InvalidPayload("ACK")),
        ("31{}", Error::InvalidPayload("ACK")),
        ("0[1]", Error::InvalidPayload("CONNECT")),
        ("0\"x\"", Error::InvalidPayload("CONNECT")),
        ("1{}", Error::InvalidPayload("DISCONNECT")),
        ("4[1]", Error::InvalidPayload("CONNECT_ERROR")),
        ("5[\"x\"]", Error::InvalidAttachmentCount),
        ("5x-[\"x\"]", Error::InvalidAttachmentCount),
        ("51[\"x\"]", Error::InvalidAttachmentCount),
        (
            "599-[\"x\"]",
            Error::TooManyAttachments { count: 99, max: 16 },
        ),
        (
            "599999999999999999999999-[\"x\"]",
            Error::InvalidAttachmentCount,
        ),
        ("299999999999999999999999[\"x\"]", Error::InvalidAckId),
        // Above 2^53 - 1 a JavaScript client cannot represent the id.
        ("29007199254740992[\"x\"]", Error::InvalidAckId),
        (
            "51-[\"x\",{\"_placeholder\":true,\"num\":1}]",
            Error::IllegalAttachments,
        ),
        ("2[\"x\"\u{0}]", Error::InvalidJson),
    ];
    for (frame, err) in table {
        assert_eq!(
            Assembler::new(16).text(frame).err().as_ref(),
            Some(err),
            "{frame:?}"
        );
    }
}

#[test]
fn the_largest_safe_ack_id_is_accepted() {
    let frame = "29007199254740991[\"x\"]";
    let Ok(Progress::Complete(p)) = Assembler::new(16).text(frame) else {
        panic!("{frame} is a valid packet");
    };
    assert_eq!(p.id, Some(super::MAX_ACK_ID));
}

#[test]
fn numeric_event_names_are_accepted_like_the_reference_parser() {
    let p = complete("2[42,\"x\"]");
    let parts = split_event(p.data.as_deref().unwrap()).unwrap();
    assert_eq!(
        parts,
        EventParts {
            name: Cow::Borrowed("42"),
            args: "\"x\""
        }
    );
}

#[test]
fn splits_events() {
    let table = [
        (
            "[\"message\",1,\"2\",{\"3\":[true]}]",
            "message",
            "1,\"2\",{\"3\":[true]}",
        ),
        ("[\"a\"]", "a", ""),
        (" [ \"a\" , 1 ] ", "a", "1"),
        ("[\"we\\\"ird\",null]", "we\"ird", "null"),
        ("[\"ü\",[1,2]]", "ü", "[1,2]"),
    ];
    for (data, name, args) in table {
        let parts = split_event(data).unwrap();
        assert_eq!((parts.name.as_ref(), parts.args), (name, args), "{data}");
    }
}

#[test]
fn assembles_binary_packets() {
    let mut asm = Assembler::new(16);
    let header =
        "52-/chat,7[\"file\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]";
    assert_eq!(asm.text(header), Ok(Progress::Incomplete { missing: 2 }));
    assert!(asm.is_pending());
    // A text frame in the middle of an attachment sequence is a violation.
    assert_eq!(
        asm.text("2[\"x\"]").unwrap_err(),
        Error::AttachmentsPending(2)
    );
    assert_eq!(
        asm.binary(Bytes::from_static(&[1, 2, 3])),
        Ok(Progress::Incomplete { missing: 1 })
    );
    let Ok(Progress::Complete(p)) = asm.binary(Bytes::from_static(&[4, 5, 6])) else {
        panic!()
    };
    assert_eq!(p.kind, PacketKind::BinaryEvent);
    assert_eq!(p.nsp, "/chat");
    assert_eq!(p.id, Some(7));
    assert_eq!(
        p.attachments,
        vec![
            Bytes::from_static(&[1, 2, 3]),
            Bytes::from_static(&[4, 5, 6])
        ]
    );
    assert!(!asm.is_pending());
    assert_eq!(asm.binary(Bytes::new()), Err(Error::UnexpectedBinary));
    // Zero attachments announced: complete at once.
    assert!(matches!(asm.text("60-1[]"), Ok(Progress::Complete(_))));
}

#[test]
fn encodes_like_the_reference_server() {
    let mut s = String::new();
    write_event(&mut s, "/", None, "auth", "{}", 0);
    assert_eq!(s, "2[\"auth\",{}]");
    s.clear();
    write_event(&mut s, "/custom", None, "auth", "{\"token\":\"abc\"}", 0);
    assert_eq!(s, "2/custom,[\"auth\",{\"token\":\"abc\"}]");
    s.clear();
    write_event(&mut s, "/", None, "message-back", "", 0);
    assert_eq!(s, "2[\"message-back\"]");
    s.clear();
    write_ack(&mut s, "/", 456, "1,\"2\",{\"3\":[false]}", 0);
    assert_eq!(s, "3456[1,\"2\",{\"3\":[false]}]");
    s.clear();
    write_ack(&mut s, "/", 789, "{\"_placeholder\":true,\"num\":0}", 1);
    assert_eq!(s, "61-789[{\"_placeholder\":true,\"num\":0}]");
    s.clear();
    write_event(
        &mut s,
        "/",
        None,
        "message-back",
        "{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}",
        2,
    );
    assert_eq!(
        s,
        "52-[\"message-back\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]"
    );
    s.clear();
    write_connect(&mut s, "/custom", "abc");
    assert_eq!(s, "0/custom,{\"sid\":\"abc\"}");
    s.clear();
    write_connect_error(&mut s, "/random", "Invalid namespace", None);
    assert_eq!(s, "4/random,{\"message\":\"Invalid namespace\"}");
    s.clear();
    write_disconnect(&mut s, "/");
    assert_eq!(s, "1");
    s.clear();
    write_disconnect(&mut s, "/x");
    assert_eq!(s, "1/x,");
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        ".*".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn events_round_trip(
        nsp in prop_oneof![Just("/".to_string()), "/[a-z0-9_-]{1,12}"],
        id in proptest::option::of(0..=MAX_ACK_ID),
        name in ".*".prop_filter("reserved", |n| !RESERVED_EVENTS.contains(&n.as_str())),
        args in prop::collection::vec(json_value(), 0..4),
        attachments in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..3),
    ) {
        let args_json: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let args_inner = args_json.join(",");
        let mut frame = String::new();
        write_event(&mut frame, &nsp, id, &name, &args_inner, attachments.len());

        let mut asm = Assembler::new(16);
        let mut progress = asm.text(&frame).unwrap().map_owned();
        for a in &attachments {
            progress = asm.binary(Bytes::from(a.clone())).unwrap();
        }
        let Progress::Complete(p) = progress else { panic!("incomplete") };
        prop_assert_eq!(p.nsp.as_ref(), nsp.as_str());
        prop_assert_eq!(p.id, id);
        prop_assert_eq!(p.attachments.len(), attachments.len());
        let data = p.data.as_deref().unwrap();
        let parts = split_event(data).unwrap();
        prop_assert_eq!(parts.name.as_ref(), name.as_str());
        let decoded: Vec<serde_json::Value> = serde_json::from_str(&format!("[{}]", parts.args)).unwrap();
        prop_assert_eq!(decoded, args);
    }

    #[test]
    fn acks_round_trip(id in 0..=MAX_ACK_ID, args in prop::collection::vec(json_value(), 0..4)) {
        let inner = args.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(",");
        let mut frame = String::new();
        write_ack(&mut frame, "/", id, &inner, 0);
        let p = complete(&frame);
        prop_assert_eq!(p.kind, PacketKind::Ack);
        prop_assert_eq!(p.id, Some(id));
        let decoded: Vec<serde_json::Value> = serde_json::from_str(p.data.as_deref().unwrap()).unwrap();
        prop_assert_eq!(decoded, args);
    }

    #[test]
    fn decoding_arbitrary_text_never_panics(frame in ".*") {
        let _ = Assembler::new(4).text(&frame);
    }
}

impl Progress<'_> {
    fn map_owned(self) -> Progress<'static> {
        match self {
            Progress::Complete(p) => Progress::Complete(p.into_owned()),
            Progress::Incomplete { missing } => Progress::Incomplete { missing },
        }
    }
}
