//! `moderated-chat`: a chat whose word list lives in the app's config, so
//! operators change it without a redeploy (the admin API's
//! `PUT /admin/api/v1/apps/{app}/config/banned_words` with
//! `{"value": "spam, scam", "secret": false}`). Shows reading config on
//! every call, so a change applies to the next message.
//!
//! Config:
//! - `banned_words`: a JSON list of words (`["spam","scam"]`) or a
//!   comma-separated list (`spam, scam`); matched whole-word, ignoring case;
//! - `moderation`: `mask` (the default: banned words become `*`s) or
//!   `refuse` (the message is not sent).
//!
//! Events:
//! - connect with `auth: { name }` (default "anonymous");
//! - `say(text)` → everyone else in the namespace gets `message` with
//!   `{ from, text }`, the text masked as configured; ack with
//!   `{ delivered, masked }`. Refused with `message_refused` (naming no
//!   word, so the list stays private) when moderation is `refuse`.

use eddy_sdk::{
    Ack, ConnectReply, Context, Event, EventError, EventResult, Handler, Handshake, Reject, json,
};

pub struct ModeratedChat;

const MAX_TEXT: usize = 4096;

/// The banned words, lower-cased, from either form of `banned_words`.
fn banned_words(cx: &Context) -> Result<Vec<String>, EventError> {
    let Some(raw) = cx.config().get("banned_words")? else {
        return Ok(Vec::new());
    };
    let words: Vec<String> = if raw.trim_start().starts_with('[') {
        serde_json::from_str(&raw).map_err(|e| {
            EventError::new(
                "config_failed",
                format!("banned_words is not a JSON list of strings: {e}"),
            )
        })?
    } else {
        raw.split(',').map(str::to_owned).collect()
    };
    Ok(words
        .into_iter()
        .map(|w| w.trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect())
}

/// `text` with each banned word (a whole run of letters, digits or `'`)
/// replaced by as many `*`, and whether anything was.
fn mask(text: &str, banned: &[String]) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut masked = false;
    let mut word = String::new();
    let mut flush = |word: &mut String, out: &mut String| {
        if banned.iter().any(|b| *b == word.to_lowercase()) {
            out.extend(std::iter::repeat_n('*', word.chars().count()));
            masked = true;
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '\'' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    (out, masked)
}

#[eddy_sdk::handler]
impl Handler for ModeratedChat {
    fn on_connect(_cx: &Context, handshake: &Handshake) -> Result<ConnectReply, Reject> {
        let name = handshake
            .auth::<serde_json::Value>()
            .and_then(|a| a["name"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "anonymous".to_owned());
        Ok(ConnectReply::accept().data(&name))
    }

    fn on_event(cx: &Context, event: Event) -> EventResult {
        match event.name.as_str() {
            "say" => {
                let text: String = event.args.get(0)?;
                if text.is_empty() || text.len() > MAX_TEXT {
                    return Err(EventError::bad_args(format!(
                        "messages are 1 to {MAX_TEXT} bytes"
                    )));
                }
                // Read on every message: a config change applies to the next one.
                let (clean, masked) = mask(&text, &banned_words(cx)?);
                if masked
                    && cx.config().get("moderation")?.as_deref().map(str::trim) == Some("refuse")
                {
                    return Err(EventError::new(
                        "message_refused",
                        "the message has a word this chat does not allow",
                    ));
                }
                let from: String = cx.data().unwrap_or_else(|| "anonymous".to_owned());
                let delivered = cx
                    .emit("message")
                    .to_all()
                    .except_me()
                    .arg(&json!({ "from": from, "text": clean }))?
                    .send()?;
                Ok(Some(Ack::of(
                    &json!({ "delivered": delivered, "masked": masked }),
                )))
            }
            other => Err(EventError::new(
                "unknown_event",
                format!("moderated-chat has no event {other:?}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_sdk::testing::MockHost;

    fn say(host: &MockHost, cx: &Context, text: &str) -> EventResult {
        host.event::<ModeratedChat>(cx, Event::new("say", json!([text])).with_ack())
    }

    fn heard(host: &MockHost, cx: &Context) -> Vec<String> {
        host.take_received(cx)
            .into_iter()
            .map(|r| r.args[0]["text"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn masking_is_whole_word_and_ignores_case() {
        let banned = vec!["spam".to_owned(), "don't".to_owned()];
        assert_eq!(
            mask("SPAM, spammy Spam!", &banned),
            ("****, spammy ****!".to_owned(), true)
        );
        assert_eq!(mask("Don't späm", &banned), ("***** späm".to_owned(), true));
        assert_eq!(mask("fine", &banned), ("fine".to_owned(), false));
        assert_eq!(mask("", &banned), (String::new(), false));
    }

    #[test]
    fn the_word_list_and_mode_come_from_config_and_apply_at_once() {
        let host = MockHost::new();
        let ada = host
            .connect::<ModeratedChat>("ada", &Handshake::with_auth(json!({ "name": "Ada" })))
            .unwrap();
        let bob = host
            .connect::<ModeratedChat>("bob", &Handshake::default())
            .unwrap();

        // No config: nothing is masked.
        say(&host, &ada, "buy spam now").unwrap();
        assert_eq!(heard(&host, &bob), ["buy spam now"]);

        host.set_config("banned_words", "spam, Scam");
        let ack = say(&host, &ada, "buy spam, no scam").unwrap().unwrap();
        assert_eq!(ack.args(), r#"[{"delivered":1,"masked":true}]"#);
        assert_eq!(heard(&host, &bob), ["buy ****, no ****"]);

        // The JSON form, changed while running.
        host.set_config("banned_words", r#"["now"]"#);
        say(&host, &ada, "buy spam now").unwrap();
        assert_eq!(heard(&host, &bob), ["buy spam ***"]);
        assert_eq!(
            host.received(&ada),
            vec![],
            "the sender does not hear itself"
        );

        host.set_config("moderation", "refuse");
        let refused = say(&host, &ada, "now!").unwrap_err();
        assert_eq!(refused.code, "message_refused");
        assert!(!refused.message.contains("now"), "the list stays private");
        assert!(heard(&host, &bob).is_empty());
        say(&host, &ada, "hello").unwrap();
        assert_eq!(
            host.take_received(&bob)[0].args[0],
            json!({ "from": "Ada", "text": "hello" })
        );

        host.set_config("banned_words", "[not json");
        assert_eq!(say(&host, &ada, "hi").unwrap_err().code, "config_failed");
    }
}
