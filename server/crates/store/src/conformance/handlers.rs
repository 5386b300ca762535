//! The registry side of contract 0.2 (issue 13), on every backend: key-value
//! listing, compare-and-swap and batches.

use super::{assert_usage_exact, new_app, stores};
use crate::{KvError, KvOp, KvOpResult, MAX_BATCH_OPS, MAX_PAGE};

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
        assert_eq!(store.kv_page(id, "", None, 100).await.unwrap().len(), 6);
        // Page sizes are clamped to 1..=MAX_PAGE.
        assert_eq!(store.kv_page(id, "", None, 0).await.unwrap().len(), 1);
        assert_eq!(store.kv_page(id, "", None, -5).await.unwrap().len(), 1);

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
