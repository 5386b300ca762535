//! What the server writes to its log: plain text when it is not a
//! terminal, and a warning for a handler error that no ack carries, rate
//! limited per app.

use std::time::Instant;

use eddy_tests::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");
/// The echo's `join` wants a room name: a number fails with `bad_arguments`.
const FAILING: &str = r#"42["join",5]"#;
const WARNING: &str = "handler error on an event without an ack";

/// A pipe is no terminal: no colour codes, whatever the environment says
/// short of opting in (an empty `NO_COLOR` counts as unset).
#[tokio::test]
async fn a_log_in_a_pipe_has_no_colour_codes() {
    let server = TestServer::start_logged(BIN, &[], &[("NO_COLOR", "")])
        .await
        .unwrap();
    let (ws, joined) = server.join_app("demo").await.unwrap();
    assert!(joined.starts_with("40"), "{joined}");
    let ws = ws.live();
    ws.send(FAILING);
    let line = server.log().line_with(WARNING).await.unwrap();
    assert!(line.contains(" WARN "), "{line}");
    let log = server.log().text();
    assert!(!log.contains('\x1b'), "colour codes in a pipe:\n{log:?}");
}

#[tokio::test]
async fn a_handler_error_no_ack_carries_is_a_warning_and_a_flood_is_bounded() {
    let server = TestServer::start_logged(BIN, &[], &[]).await.unwrap();
    let log = server.log().clone();
    let (ws, _) = server.join_app("demo").await.unwrap();
    let mut ws = ws.live();
    assert!(ws.text().await.unwrap().starts_with(r#"42["auth""#));

    ws.send(FAILING);
    let line = log.line_with(WARNING).await.unwrap();
    for field in ["app=demo", r#"event="join""#, "code=bad_arguments"] {
        assert!(line.contains(field), "{field} missing: {line}");
    }

    // The demo app allows bursts of 200 events a second per socket: the
    // flood reaches the handler, every event of it fails.
    const FLOOD: usize = 150;
    let started = Instant::now();
    for _ in 0..FLOOD {
        ws.send(FAILING);
    }
    // A socket's events run in order: once this is acked, all have run.
    ws.send(r#"421["message-with-ack","done"]"#);
    assert_eq!(ws.text().await.unwrap(), r#"431["done"]"#);
    let elapsed = started.elapsed();
    assert_eq!(
        server
            .metric(r#"eddy_handler_errors_total{app="demo"}"#)
            .await
            .unwrap(),
        FLOOD as u64 + 1
    );
    assert_eq!(server.stop().await.unwrap(), 0);
    let warnings = log.to_end().await.unwrap().matches(WARNING).count();
    // A burst of two, then one a second.
    let most = 2 + elapsed.as_secs() as usize + 1;
    assert!(
        (2..=most).contains(&warnings),
        "{warnings} warnings for {} errors in {elapsed:?}",
        FLOOD + 1
    );
}
