//! The registry side of contract 0.2 (issue 13), on every backend: key-value
//! listing, compare-and-swap and batches; durable timers claimed once
//! across nodes; app config and secrets.

use super::{assert_usage_exact, new_app, stores};
use crate::{
    KvError, KvOp, KvOpResult, MAX_BATCH_OPS, MAX_CONFIG_ENTRIES, MAX_CONFIG_VALUE, MAX_PAGE,
    MAX_SEALING_OVERHEAD, Store, StoreError, TimerError, testing,
};

fn set(key: &str, value: &[u8]) -> KvOp {
    KvOp::Set {
        key: key.into(),
        value: value.to_vec(),
        ttl_ms: None,
    }
}

#[tokio::test]
async fn kv_pages_list_keys_in_order() {
    for (backend, store) in stores().await {
        let (app, _) = store.create_app(&new_app("list"), "t").await.unwrap();
        let (other, _) = store.create_app(&new_app("other"), "t").await.unwrap();
        let id = app.id;
        for key in ["poll:c", "poll:a", "poll:b", "poll:d", "zzz", "pol"] {
            store
                .kv_set(id, key, key.as_bytes(), None, 10_000)
                .await
                .unwrap();
        }
        store
            .kv_set(id, "poll:bb", b"gone", Some(0), 10_000)
            .await
            .unwrap();
        store
            .kv_set(other.id, "poll:x", b"theirs", None, 10_000)
            .await
            .unwrap();

        let page = store.kv_page(id, "poll:", None, 2).await.unwrap();
        let keys: Vec<_> = page.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["poll:a", "poll:b"], "{backend}");
        assert_eq!(page[0].1, b"poll:a");
        let next = store
            .kv_page(id, "poll:", Some("poll:b"), 10)
            .await
            .unwrap();
        let keys: Vec<_> = next.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["poll:c", "poll:d"],
            "{backend}: expired poll:bb skipped"
        );
        assert_eq!(store.kv_page(id, "pol", None, 100).await.unwrap().len(), 5);
        // Page sizes are clamped to 1..=MAX_PAGE.
        assert_eq!(store.kv_page(id, "", None, 0).await.unwrap().len(), 1);
        assert_eq!(store.kv_page(id, "", None, -5).await.unwrap().len(), 1);

        // A byte budget: sizes count keys and values ("poll:a" is 12).
        let within = store
            .kv_page_within(id, ("poll:", None), 10, 30)
            .await
            .unwrap();
        let keys: Vec<_> = within.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["poll:a", "poll:b"],
            "{backend}: 24 bytes fit, 36 do not"
        );
        let one = store
            .kv_page_within(id, ("poll:", None), 10, 1)
            .await
            .unwrap();
        assert_eq!(
            one.len(),
            1,
            "{backend}: one entry at least, so listing moves on"
        );
        assert_eq!(one[0].1, b"poll:a");

        // Byte order, whatever the database's collation: `B` (0x42) < `_`
        // (0x5f) < `a` (0x61) < `é` (0xc3 0xa9).
        for key in ["case:a", "case:é", "case:_", "case:B"] {
            store.kv_set(id, key, b"", None, 10_000).await.unwrap();
        }
        let page = store.kv_page(id, "case:", None, 10).await.unwrap();
        let keys: Vec<_> = page.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["case:B", "case:_", "case:a", "case:é"], "{backend}");
        let after = store
            .kv_page(id, "case:", Some("case:_"), 10)
            .await
            .unwrap();
        assert_eq!(after.len(), 2, "{backend}: after compares bytes too");

        let (big, _) = store.create_app(&new_app("big"), "t").await.unwrap();
        let keys: Vec<String> = (0..=MAX_PAGE).map(|n| format!("k{n:05}")).collect();
        for chunk in keys.chunks(MAX_BATCH_OPS) {
            let ops: Vec<_> = chunk.iter().map(|k| set(k, b"1")).collect();
            store.kv_batch(big.id, &ops, 1_000_000).await.unwrap();
        }
        let page = store.kv_page(big.id, "k", None, i64::MAX).await.unwrap();
        assert_eq!(page.len() as i64, MAX_PAGE, "{backend}");
        assert_eq!(page.last().unwrap().0, format!("k{:05}", MAX_PAGE - 1));
        let rest = store
            .kv_page(big.id, "k", Some(&page.last().unwrap().0), i64::MAX)
            .await
            .unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(
            store
                .kv_list(big.id, "", None, i64::MAX)
                .await
                .unwrap()
                .len() as i64,
            MAX_PAGE
        );
    }
}

#[tokio::test]
async fn compare_and_swap_checks_the_live_value() {
    for (backend, store) in stores().await {
        let (app, _) = store.create_app(&new_app("cas"), "t").await.unwrap();
        let id = app.id;
        // Expected None: the key must be absent.
        assert!(
            store
                .kv_compare_and_swap(id, "k", None, Some(b"1"), None, 100)
                .await
                .unwrap()
        );
        assert!(
            !store
                .kv_compare_and_swap(id, "k", None, Some(b"2"), None, 100)
                .await
                .unwrap()
        );
        assert!(
            !store
                .kv_compare_and_swap(id, "k", Some(b"0"), Some(b"2"), None, 100)
                .await
                .unwrap()
        );
        assert_eq!(
            store.kv_get(id, "k").await.unwrap().as_deref(),
            Some(&b"1"[..]),
            "{backend}"
        );
        assert!(
            store
                .kv_compare_and_swap(id, "k", Some(b"1"), Some(b"22"), None, 100)
                .await
                .unwrap()
        );
        assert_eq!(assert_usage_exact(&store, id, backend).await, 3);
        // New None: delete.
        assert!(
            store
                .kv_compare_and_swap(id, "k", Some(b"22"), None, None, 100)
                .await
                .unwrap()
        );
        assert_eq!(store.kv_get(id, "k").await.unwrap(), None);
        assert_eq!(assert_usage_exact(&store, id, backend).await, 0);
        // An expired value counts as absent, and is replaced exactly.
        store.kv_set(id, "e", &[0; 40], Some(0), 100).await.unwrap();
        assert!(
            !store
                .kv_compare_and_swap(id, "e", Some(&[0; 40]), None, None, 100)
                .await
                .unwrap()
        );
        assert!(
            store
                .kv_compare_and_swap(id, "e", None, Some(b"x"), Some(60_000), 100)
                .await
                .unwrap()
        );
        assert_eq!(assert_usage_exact(&store, id, backend).await, 2);
        // The quota holds; a refused swap changes nothing.
        assert!(matches!(
            store
                .kv_compare_and_swap(id, "e", Some(b"x"), Some(&[0; 100]), None, 100)
                .await,
            Err(KvError::QuotaExceeded)
        ));
        assert_eq!(
            store.kv_get(id, "e").await.unwrap().as_deref(),
            Some(&b"x"[..])
        );
        assert_eq!(assert_usage_exact(&store, id, backend).await, 2);
    }
}

#[tokio::test]
async fn fifty_concurrent_cas_increments_lose_no_update() {
    for (backend, store) in stores().await {
        let (app, _) = store.create_app(&new_app("race"), "t").await.unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut tries = 0;
                    loop {
                        tries += 1;
                        let current = store.kv_get(app.id, "n").await.unwrap();
                        let n: i64 = current
                            .as_deref()
                            .map_or(0, |v| std::str::from_utf8(v).unwrap().parse().unwrap());
                        let next = (n + 1).to_string();
                        let swapped = store
                            .kv_compare_and_swap(
                                app.id,
                                "n",
                                current.as_deref(),
                                Some(next.as_bytes()),
                                None,
                                1000,
                            )
                            .await
                            .unwrap();
                        if swapped {
                            return tries;
                        }
                    }
                })
            })
            .collect();
        let mut successes = 0;
        for t in tasks {
            t.await.unwrap();
            successes += 1;
        }
        assert_eq!(successes, 50, "{backend}");
        assert_eq!(
            store.kv_get(app.id, "n").await.unwrap().as_deref(),
            Some(&b"50"[..]),
            "{backend}"
        );
        assert_eq!(assert_usage_exact(&store, app.id, backend).await, 3);
    }
}

#[tokio::test]
async fn batches_apply_whole_or_not_at_all() {
    for (backend, store) in stores().await {
        let (app, _) = store.create_app(&new_app("batch"), "t").await.unwrap();
        let id = app.id;
        store.kv_set(id, "old", &[0; 17], None, 100).await.unwrap();
        let results = store
            .kv_batch(
                id,
                &[
                    KvOp::Delete { key: "old".into() },
                    set("a", b"hello"),
                    KvOp::Increment {
                        key: "n".into(),
                        by: 4,
                    },
                    KvOp::Increment {
                        key: "n".into(),
                        by: 3,
                    },
                    KvOp::Delete { key: "none".into() },
                ],
                100,
            )
            .await
            .unwrap();
        assert_eq!(
            results,
            [
                KvOpResult::Deleted(true),
                KvOpResult::Set,
                KvOpResult::Incremented(4),
                KvOpResult::Incremented(7),
                KvOpResult::Deleted(false),
            ],
            "{backend}"
        );
        assert_eq!(store.kv_get(id, "old").await.unwrap(), None);
        assert_eq!(assert_usage_exact(&store, id, backend).await, 6 + 2);

        // Over the quota at its third write: the first two are undone too.
        let before = store.kv_page(id, "", None, 100).await.unwrap();
        let over = store
            .kv_batch(
                id,
                &[
                    set("b", b"new"),
                    KvOp::Delete { key: "a".into() },
                    set("huge", &[0; 100]),
                ],
                100,
            )
            .await;
        assert!(
            matches!(over, Err(KvError::QuotaExceeded)),
            "{backend}: {over:?}"
        );
        assert_eq!(
            store.kv_page(id, "", None, 100).await.unwrap(),
            before,
            "{backend}"
        );
        assert_eq!(assert_usage_exact(&store, id, backend).await, 8);

        // A failed increment undoes the batch as well.
        let bad = store
            .kv_batch(
                id,
                &[
                    set("c", b"1"),
                    KvOp::Increment {
                        key: "a".into(),
                        by: 1,
                    },
                ],
                100,
            )
            .await;
        assert!(matches!(bad, Err(KvError::NotANumber)));
        assert_eq!(store.kv_get(id, "c").await.unwrap(), None);

        // Bounded: past MAX_BATCH_OPS nothing applies.
        let ops: Vec<_> = (0..=MAX_BATCH_OPS)
            .map(|n| set(&format!("x{n}"), b""))
            .collect();
        assert!(matches!(
            store.kv_batch(id, &ops, 10_000).await,
            Err(KvError::TooManyOps { ops: 65, max: 64 })
        ));
        assert!(store.kv_page(id, "x", None, 100).await.unwrap().is_empty());
        store
            .kv_batch(id, &ops[..MAX_BATCH_OPS], 10_000)
            .await
            .unwrap();
        assert_eq!(
            assert_usage_exact(&store, id, backend).await,
            8 + 10 * 2 + 54 * 3
        );
        assert!(store.kv_batch(id, &[], 100).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn timers_are_set_replaced_bounded_and_cancelled() {
    for (backend, store) in stores().await {
        let (app, _) = store.create_app(&new_app("timers"), "t").await.unwrap();
        let id = app.id;
        store
            .timer_set(id, ("/", "tick"), 1_000, b"one", 2)
            .await
            .unwrap();
        store
            .timer_set(id, ("/", "close"), 5_000, b"", 2)
            .await
            .unwrap();
        // Replacing a key is never refused; a third key is.
        store
            .timer_set(id, ("/", "tick"), 2_000, b"two", 2)
            .await
            .unwrap();
        let refused = store.timer_set(id, ("/", "third"), 1, b"", 2).await;
        assert!(
            matches!(refused, Err(TimerError::TooMany { max: 2 })),
            "{backend}: {refused:?}"
        );
        assert_eq!(store.timers_pending(id).await.unwrap(), 2);
        assert!(matches!(
            store.timer_set(id, ("/", ""), 1, b"", 2).await,
            Err(TimerError::Store(StoreError::Invalid(_)))
        ));
        assert!(matches!(
            store
                .timer_set(id, ("/", "k"), 1, &[0; 64 * 1024 + 1], 2)
                .await,
            Err(TimerError::Store(StoreError::Invalid(_)))
        ));

        assert!(
            store
                .claim_due_timers("n1", 1_999, 100, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.next_timer_due().await.unwrap(),
            Some(2_000),
            "{backend}"
        );
        let due = store.claim_due_timers("n1", 2_000, 100, 10).await.unwrap();
        assert_eq!(due.len(), 1, "{backend}");
        assert_eq!(
            (
                due[0].app_id,
                due[0].key.as_str(),
                due[0].payload.as_slice(),
                due[0].due_at
            ),
            (id, "tick", &b"two"[..], 2_000)
        );
        // Claimed: nobody else gets it while the lease runs.
        assert!(
            store
                .claim_due_timers("n2", 2_050, 100, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // The claimed timer is next claimable when its lease ends (2,000 +
        // 100), before `close` is due.
        assert_eq!(store.next_timer_due().await.unwrap(), Some(2_100));
        // Given back with a retry time: claimable from then, not before.
        assert!(
            store
                .timer_release(id, ("tick", 2_000), Some(3_000))
                .await
                .unwrap()
        );
        assert_eq!(store.next_timer_due().await.unwrap(), Some(3_000));
        assert!(
            store
                .claim_due_timers("n2", 2_999, 100, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let again = store.claim_due_timers("n2", 3_000, 100, 10).await.unwrap();
        assert_eq!(again.len(), 1, "{backend}");
        assert!(store.timer_fired(id, "tick", 2_000).await.unwrap());
        assert_eq!(store.timers_pending(id).await.unwrap(), 1);

        // Replaced while claimed: the old firing leaves the new timer alone,
        // even one due at the same time.
        store
            .timer_set(id, ("/", "tick"), 3_000, b"a", 2)
            .await
            .unwrap();
        let due = store.claim_due_timers("n1", 3_000, 100, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        store
            .timer_set(id, ("/", "tick"), 3_000, b"b", 2)
            .await
            .unwrap();
        assert!(
            !store.timer_fired(id, "tick", 3_000).await.unwrap(),
            "{backend}"
        );
        store
            .timer_set(id, ("/", "tick"), 4_000, b"c", 2)
            .await
            .unwrap();
        assert!(!store.timer_fired(id, "tick", 3_000).await.unwrap());
        let due = store.claim_due_timers("n1", 4_000, 100, 10).await.unwrap();
        assert_eq!(due[0].payload, b"c");

        assert!(store.timer_cancel(id, "close").await.unwrap());
        assert!(!store.timer_cancel(id, "close").await.unwrap());
        store
            .timer_set(id, ("/", "close"), 9_000, b"", 2)
            .await
            .unwrap();
        store.delete_app("timers", "t").await.unwrap();
        assert_eq!(store.timers_pending(id).await.unwrap(), 0, "{backend}");
        assert_eq!(store.next_timer_due().await.unwrap(), None);
    }
}

#[tokio::test]
async fn claims_can_leave_busy_apps_out() {
    for (backend, store) in stores().await {
        let (busy, _) = store.create_app(&new_app("busy"), "t").await.unwrap();
        let (calm, _) = store.create_app(&new_app("calm"), "t").await.unwrap();
        for i in 0..20 {
            let key = format!("b{i:02}");
            store
                .timer_set(busy.id, ("/", &key), i, b"", 100)
                .await
                .unwrap();
        }
        store
            .timer_set(calm.id, ("/", "c"), 50, b"", 100)
            .await
            .unwrap();
        // Earliest first would be all of busy's; leaving busy out, calm's.
        let due = store
            .claim_due_timers_skipping("n", (100, 1_000), 5, &[busy.id])
            .await
            .unwrap();
        assert_eq!(due.len(), 1, "{backend}");
        assert_eq!((due[0].app_id, due[0].key.as_str()), (calm.id, "c"));
        assert_eq!(
            store
                .next_timer_due_skipping(&[busy.id, calm.id])
                .await
                .unwrap(),
            None,
            "{backend}"
        );
        assert_eq!(
            store.next_timer_due_skipping(&[calm.id]).await.unwrap(),
            Some(0)
        );
    }
}

#[tokio::test]
async fn a_timer_whose_node_died_is_claimed_again() {
    for (backend, store) in stores().await {
        let (app, _) = store.create_app(&new_app("lease"), "t").await.unwrap();
        store
            .timer_set(app.id, ("/chat", "t"), 100, b"p", 10)
            .await
            .unwrap();
        store
            .timer_set(app.id, ("/chat", "u"), 50, b"q", 10)
            .await
            .unwrap();
        let first = store
            .claim_due_timers("dies", 100, 1_000, 10)
            .await
            .unwrap();
        let keys: Vec<_> = first.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["u", "t"], "{backend}: earliest first");
        assert_eq!(first[0].namespace, "/chat", "{backend}: its namespace");
        // Node "dies" never reports; before its lease ends nobody reclaims.
        assert!(
            store
                .claim_due_timers("lives", 1_099, 1_000, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let again = store
            .claim_due_timers("lives", 1_100, 1_000, 1)
            .await
            .unwrap();
        assert_eq!(again.len(), 1, "{backend}: the limit holds");
        assert_eq!(again[0].key, "u");
        let rest = store
            .claim_due_timers("lives", 1_100, 1_000, 10)
            .await
            .unwrap();
        assert_eq!(rest[0].key, "t");
        assert!(store.timer_fired(app.id, "u", 50).await.unwrap());
        assert!(store.timer_fired(app.id, "t", 100).await.unwrap());
        assert_eq!(store.timers_pending(app.id).await.unwrap(), 0);
    }
}

/// Claims every due timer from `nodes` at once, each node looping until a
/// claim comes back empty; returns every (node, key) claimed.
async fn claim_concurrently(nodes: Vec<(String, Store)>) -> Vec<(String, String)> {
    let tasks: Vec<_> = nodes
        .into_iter()
        .map(|(node, store)| {
            tokio::spawn(async move {
                let mut claimed = Vec::new();
                loop {
                    let due = store
                        .claim_due_timers(&node, 10_000, 60_000, 7)
                        .await
                        .unwrap();
                    if due.is_empty() {
                        return claimed;
                    }
                    claimed.extend(due.into_iter().map(|t| (node.clone(), t.key)));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

fn assert_each_once(claimed: &[(String, String)], n: usize, context: &str) {
    let mut keys: Vec<_> = claimed.iter().map(|(_, k)| k.clone()).collect();
    keys.sort();
    let mut expected: Vec<_> = (0..n).map(|i| format!("t{i:03}")).collect();
    expected.sort();
    assert_eq!(keys, expected, "{context}: each timer claimed exactly once");
}

#[tokio::test]
async fn each_due_timer_is_claimed_once_across_nodes() {
    const TIMERS: usize = 200;
    for (backend, store) in stores().await {
        let (app, _) = store.create_app(&new_app("once"), "t").await.unwrap();
        for i in 0..TIMERS {
            store
                .timer_set(
                    app.id,
                    ("/", &format!("t{i:03}")),
                    (i % 10) as i64,
                    b"",
                    1_000,
                )
                .await
                .unwrap();
        }
        let nodes = (0..4)
            .map(|n| (format!("node{n}"), store.clone()))
            .collect();
        let claimed = claim_concurrently(nodes).await;
        assert_each_once(&claimed, TIMERS, backend);
    }
    // Two nodes: two Store handles (two pools) on one PostgreSQL schema.
    if let Some(base) = testing::postgres_server() {
        let url = testing::postgres_schema(&base).await;
        let a = Store::connect(&url).await.unwrap();
        let b = Store::connect(&url).await.unwrap();
        let (app, _) = a.create_app(&new_app("once"), "t").await.unwrap();
        for i in 0..TIMERS {
            a.timer_set(
                app.id,
                ("/", &format!("t{i:03}")),
                (i % 10) as i64,
                b"",
                1_000,
            )
            .await
            .unwrap();
        }
        // Both pools open their connections first: a cold one spends its
        // first milliseconds connecting, while the warm one can claim all
        // 200 (a clean-clone CI run saw it), and "both claimed" says nothing.
        for store in [&a, &b] {
            let opened = tokio::join!(store.tenants(), store.tenants(), store.tenants());
            for tenants in [opened.0, opened.1, opened.2] {
                tenants.unwrap();
            }
        }
        let mut nodes = Vec::new();
        for n in 0..3 {
            nodes.push((format!("a{n}"), a.clone()));
            nodes.push((format!("b{n}"), b.clone()));
        }
        let claimed = claim_concurrently(nodes).await;
        assert_each_once(&claimed, TIMERS, "postgres, two stores");
        assert!(claimed.iter().any(|(n, _)| n.starts_with('a')));
        assert!(claimed.iter().any(|(n, _)| n.starts_with('b')));
    }
}

#[tokio::test]
async fn config_keeps_secrets_out_of_listings_and_the_audit_log() {
    for (backend, store) in stores().await {
        let (app, _) = store.create_app(&new_app("conf"), "t").await.unwrap();
        let id = app.id;
        store
            .config_set(id, "words", b"spam,eggs", false, "ada")
            .await
            .unwrap();
        store
            .config_set(id, "API_KEY", b"ciphertext-1", true, "ada")
            .await
            .unwrap();
        store
            .config_set(id, "API_KEY", b"ciphertext-2", true, "bob")
            .await
            .unwrap();

        let list = store.config_list(id).await.unwrap();
        let names: Vec<_> = list.iter().map(|e| (e.name.as_str(), e.secret)).collect();
        assert_eq!(names, [("API_KEY", true), ("words", false)], "{backend}");
        assert_eq!(list[0].value, None, "{backend}: a secret is never listed");
        assert_eq!(list[1].value.as_deref(), Some(&b"spam,eggs"[..]));
        assert!(list[0].updated_at > 0);
        assert_eq!(
            store.config_get(id, "API_KEY").await.unwrap(),
            Some((b"ciphertext-2".to_vec(), true))
        );
        assert_eq!(store.config_get(id, "nope").await.unwrap(), None);

        let log = store.audit_log(Some("conf"), None, None, 10).await.unwrap();
        assert_eq!(log[0].action, "config.set");
        assert_eq!(log[0].actor, "bob");
        assert_eq!(log[0].detail["name"], "API_KEY");
        for entry in &log {
            let text = entry.detail.to_string();
            assert!(!text.contains("ciphertext"), "{backend}: {text}");
        }
        let tenant_log = store.audit_log(None, Some(1), None, 10).await.unwrap();
        assert_eq!(
            tenant_log[0].action, "config.set",
            "{backend}: tagged with the tenant"
        );

        // A secret may become plain and back; the value follows.
        store
            .config_set(id, "words", b"ham", true, "ada")
            .await
            .unwrap();
        assert_eq!(store.config_list(id).await.unwrap()[1].value, None);

        assert!(store.config_delete(id, "words", "ada").await.unwrap());
        assert!(!store.config_delete(id, "words", "ada").await.unwrap());
        assert_eq!(
            store.audit_log(Some("conf"), None, None, 1).await.unwrap()[0].action,
            "config.delete"
        );
        assert_eq!(store.config_list(id).await.unwrap().len(), 1);

        // Bounds: names, values, entries.
        let long = "n".repeat(129);
        for bad in ["", "has space", "ümlaut", "a/b", long.as_str()] {
            assert!(
                matches!(
                    store.config_set(id, bad, b"", false, "t").await,
                    Err(StoreError::Invalid(_))
                ),
                "{backend}: {bad:?}"
            );
        }
        store
            .config_set(id, &"n".repeat(128), b"", false, "t")
            .await
            .unwrap();
        store
            .config_set(id, "A-z_0.9", &[0; 64 * 1024], false, "t")
            .await
            .unwrap();
        assert!(matches!(
            store
                .config_set(id, "big", &[0; 64 * 1024 + 1], false, "t")
                .await,
            Err(StoreError::Invalid(_))
        ));
        // A secret's ciphertext has room for what encryption adds, no more.
        let sealed_max = MAX_CONFIG_VALUE + MAX_SEALING_OVERHEAD;
        store
            .config_set(id, "sealed", &vec![0; sealed_max], true, "t")
            .await
            .unwrap();
        assert!(matches!(
            store
                .config_set(id, "sealed", &vec![0; sealed_max + 1], true, "t")
                .await,
            Err(StoreError::Invalid(_))
        ));
        // What handlers' reads are served from: every value, secrets' too.
        let values = store.config_values(id).await.unwrap();
        let sealed = values.iter().find(|v| v.name == "sealed").unwrap();
        assert!(
            sealed.secret && sealed.value.len() == sealed_max,
            "{backend}"
        );
        let api_key = values.iter().find(|v| v.name == "API_KEY").unwrap();
        assert_eq!(api_key.value, b"ciphertext-2", "{backend}");
        assert!(
            !format!("{api_key:?}").contains("ciphertext"),
            "Debug shows no value"
        );
        assert_eq!(values.len(), store.config_list(id).await.unwrap().len());
        for n in store.config_list(id).await.unwrap().len() as i64..MAX_CONFIG_ENTRIES {
            store
                .config_set(id, &format!("v{n}"), b"1", false, "t")
                .await
                .unwrap();
        }
        let full = store.config_set(id, "one-more", b"1", false, "t").await;
        assert!(
            matches!(full, Err(StoreError::Quota { .. })),
            "{backend}: {full:?}"
        );
        store
            .config_set(id, "v100", b"2", false, "t")
            .await
            .unwrap();
        assert!(matches!(
            store.config_set(9_999_999, "x", b"", false, "t").await,
            Err(StoreError::NotFound(_))
        ));

        store.delete_app("conf", "t").await.unwrap();
        assert!(store.config_list(id).await.unwrap().is_empty(), "{backend}");
    }
}

#[tokio::test]
async fn an_upgraded_registry_gains_the_new_tables() {
    // The previous release's schema with an app in it, then this one.
    let dir = std::env::temp_dir().join(format!("eddy-store-up6-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = format!("sqlite://{}/eddy.db", dir.display());
    let old = Store::open(&url).await.unwrap();
    crate::migrations::migrator_to(old.backend(), 5)
        .run(&old.pool)
        .await
        .unwrap();
    // As version 5 wrote an app (today's create_app names newer columns).
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO apps (slug, name, created_at, max_connections, max_events_per_second, \
         max_payload, handler_deadline_ms, handler_memory_mb, kv_quota_bytes, tenant_id) \
         VALUES ('before', 'before', 0, 10, 10, 1000, 100, 64, 1000, \
         (SELECT id FROM tenants WHERE slug = 'default')) RETURNING id",
    )
    .fetch_one(&old.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO app_keys (app_id, public_key, secret_hash, rotated_at) VALUES ($1, 'pk_before', 'h', 0)")
        .bind(id)
        .execute(&old.pool)
        .await
        .unwrap();
    old.close().await;
    let store = Store::connect(&url).await.unwrap();
    let app = store.app("before").await.unwrap();
    assert_eq!(
        app.limits.max_timers, 100,
        "the default for apps from before"
    );
    store
        .timer_set(app.id, ("/chat", "k"), 1, b"", 1)
        .await
        .unwrap();
    store
        .config_set(app.id, "k", b"v", false, "t")
        .await
        .unwrap();
    assert_eq!(store.timers_pending(app.id).await.unwrap(), 1);
}
