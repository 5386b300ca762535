//! One suite, every backend: SQLite always; PostgreSQL when
//! `EDDY_TEST_POSTGRES` names a server (each test in a schema of its own).
//! CI sets it, so there the Postgres half always runs.

mod handlers;

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{
    AppLimits, DeploymentStatus, KvError, NewApp, NewToken, Role, Store, StoreError, TenantQuota,
    testing,
};

static NEXT: AtomicUsize = AtomicUsize::new(0);

async fn sqlite() -> Store {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("eddy-store-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Store::connect(&format!("sqlite://{}/eddy.db", dir.display()))
        .await
        .unwrap()
}

async fn stores() -> Vec<(&'static str, Store)> {
    let mut all = vec![("sqlite", sqlite().await)];
    if let Some(base) = testing::postgres_server() {
        let url = testing::postgres_schema(&base).await;
        all.push(("postgres", Store::connect(&url).await.unwrap()));
    }
    all
}

fn new_app(slug: &str) -> NewApp {
    NewApp {
        slug: slug.into(),
        name: format!("The {slug} app"),
        tenant: crate::DEFAULT_TENANT.into(),
        limits: AppLimits::default(),
    }
}

#[tokio::test]
async fn apps_have_keys_and_limits() {
    for (backend, store) in stores().await {
        let (app, creds) = store.create_app(&new_app("chat"), "tester").await.unwrap();
        assert_eq!(app.slug, "chat", "{backend}");
        assert_eq!(app.limits, AppLimits::default());
        assert_eq!(app.public_key, creds.public_key);
        assert!(creds.secret.expose().starts_with("sk_"));
        assert!(
            store
                .check_app_secret("chat", creds.secret.expose())
                .await
                .unwrap()
        );
        assert!(!store.check_app_secret("chat", "sk_wrong").await.unwrap());
        assert!(
            !store
                .check_app_secret("nope", creds.secret.expose())
                .await
                .unwrap()
        );

        let taken = store
            .create_app(&new_app("chat"), "tester")
            .await
            .unwrap_err();
        assert!(
            matches!(taken, StoreError::Conflict(_)),
            "{backend}: {taken}"
        );
        let bad = store
            .create_app(&new_app("Not OK"), "tester")
            .await
            .unwrap_err();
        assert!(matches!(bad, StoreError::Invalid(_)), "{backend}");
        let limits = AppLimits {
            handler_deadline_ms: 0,
            ..AppLimits::default()
        };
        let err = store
            .create_app(
                &NewApp {
                    limits,
                    ..new_app("x")
                },
                "t",
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("handler_deadline_ms"),
            "{backend}: {err}"
        );

        let limits = AppLimits {
            max_connections: 5,
            ..AppLimits::default()
        };
        let updated = store
            .update_app("chat", Some("Chat"), Some(&limits), "tester")
            .await
            .unwrap();
        assert_eq!(
            (updated.name.as_str(), updated.limits.max_connections),
            ("Chat", 5)
        );
        let rotated = store.rotate_secret("chat", "tester").await.unwrap();
        assert!(
            !store
                .check_app_secret("chat", creds.secret.expose())
                .await
                .unwrap()
        );
        assert!(
            store
                .check_app_secret("chat", rotated.secret.expose())
                .await
                .unwrap()
        );
        assert_eq!(rotated.public_key, creds.public_key);

        store
            .create_app(&new_app("second"), "tester")
            .await
            .unwrap();
        let slugs: Vec<_> = store
            .apps()
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.slug)
            .collect();
        assert_eq!(slugs, ["chat", "second"], "{backend}");
        assert!(matches!(
            store.app("ghost").await,
            Err(StoreError::NotFound(_))
        ));
    }
}

#[tokio::test]
async fn deployments_number_versions_and_activate_atomically() {
    for (backend, store) in stores().await {
        store.create_app(&new_app("chat"), "t").await.unwrap();
        let v1 = store
            .add_deployment("chat", b"component one", "h1", "first", "ada", true)
            .await
            .unwrap();
        assert_eq!(
            (v1.version, v1.status),
            (1, DeploymentStatus::Active),
            "{backend}"
        );
        let v2 = store
            .add_deployment("chat", b"component two", "h2", "", "ada", false)
            .await
            .unwrap();
        assert_eq!((v2.version, v2.status), (2, DeploymentStatus::Ready));
        assert_eq!(store.app("chat").await.unwrap().active_version, Some(1));
        store.activate("chat", 2, "ada").await.unwrap();
        let list = store.deployments("chat").await.unwrap();
        assert_eq!(
            list.iter()
                .map(|d| (d.version, d.status))
                .collect::<Vec<_>>(),
            [
                (2, DeploymentStatus::Active),
                (1, DeploymentStatus::Retired)
            ],
            "{backend}"
        );
        // Rollback to the first version.
        store.activate("chat", 1, "bob").await.unwrap();
        assert_eq!(
            store.active_deployment("chat").await.unwrap().unwrap().hash,
            "h1"
        );
        assert!(matches!(
            store.activate("chat", 9, "bob").await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            store
                .active_deployment("chat")
                .await
                .unwrap()
                .unwrap()
                .version,
            1,
            "a failed activation changes nothing"
        );
        assert_eq!(store.artifact("h2").await.unwrap(), b"component two");

        // The same bytes deployed again (or by another app) are stored once.
        store.create_app(&new_app("other"), "t").await.unwrap();
        store
            .add_deployment("other", b"component two", "h2", "", "ada", true)
            .await
            .unwrap();
        store
            .add_deployment("chat", b"component two", "h2", "", "ada", false)
            .await
            .unwrap();
        assert_eq!(store.artifact_count().await.unwrap(), 2);

        let log = store
            .audit_log(Some("chat"), None, None, 100)
            .await
            .unwrap();
        let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "deploy.upload",
                "deploy.rollback",
                "deploy.activate",
                "deploy.upload",
                "deploy.activate",
                "deploy.upload",
                "app.create"
            ],
            "{backend}"
        );
        assert_eq!(log[1].actor, "bob");
        assert_eq!(log[1].detail["version"], 1);
    }
}

#[tokio::test]
async fn concurrent_uploads_get_distinct_versions() {
    for (backend, store) in stores().await {
        store.create_app(&new_app("busy"), "t").await.unwrap();
        let uploads = (0..8).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .add_deployment(
                        "busy",
                        format!("c{i}").as_bytes(),
                        &format!("hash{i}"),
                        "",
                        "t",
                        false,
                    )
                    .await
                    .unwrap()
                    .version
            })
        });
        let mut versions = Vec::new();
        for u in uploads {
            versions.push(u.await.unwrap());
        }
        versions.sort();
        assert_eq!(versions, (1..=8).collect::<Vec<_>>(), "{backend}");
    }
}

#[tokio::test]
async fn deleting_an_app_deletes_what_it_owns() {
    for (backend, store) in stores().await {
        let (app, _) = store.create_app(&new_app("gone"), "t").await.unwrap();
        store
            .add_deployment("gone", b"only mine", "mine", "", "t", true)
            .await
            .unwrap();
        store.create_app(&new_app("kept"), "t").await.unwrap();
        store
            .add_deployment("kept", b"shared", "shared", "", "t", true)
            .await
            .unwrap();
        store
            .add_deployment("gone", b"shared", "shared", "", "t", false)
            .await
            .unwrap();
        store.kv_set(app.id, "k", b"v", None, 1000).await.unwrap();
        store.delete_app("gone", "t").await.unwrap();
        assert!(
            matches!(store.app("gone").await, Err(StoreError::NotFound(_))),
            "{backend}"
        );
        assert_eq!(store.kv_get(app.id, "k").await.unwrap(), None);
        assert!(
            store.artifact("mine").await.is_err(),
            "unshared artifact removed"
        );
        assert!(
            store.artifact("shared").await.is_ok(),
            "shared artifact kept"
        );
        assert!(matches!(
            store.delete_app("gone", "t").await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            store.audit_log(Some("gone"), None, None, 1).await.unwrap()[0].action,
            "app.delete"
        );
    }
}

#[tokio::test]
async fn key_value_with_expiry_and_quota() {
    for (backend, store) in stores().await {
        let (app, _) = store.create_app(&new_app("kv"), "t").await.unwrap();
        let id = app.id;
        assert_eq!(store.kv_get(id, "a").await.unwrap(), None);
        store.kv_set(id, "a", b"hello", None, 100).await.unwrap();
        assert_eq!(
            store.kv_get(id, "a").await.unwrap().as_deref(),
            Some(&b"hello"[..]),
            "{backend}"
        );
        assert_eq!(store.kv_increment(id, "n", 5, 100).await.unwrap(), 5);
        assert_eq!(store.kv_increment(id, "n", -7, 100).await.unwrap(), -2);
        assert!(matches!(
            store.kv_increment(id, "a", 1, 100).await,
            Err(KvError::NotANumber)
        ));
        assert_eq!(store.kv_usage(id).await.unwrap(), (1 + 5 + 1 + 2, 2));
        // Quota: keys plus values; replacing counts only the new size.
        assert!(matches!(
            store.kv_set(id, "big", &[0; 100], None, 100).await,
            Err(KvError::QuotaExceeded)
        ));
        store.kv_set(id, "a", &[1; 90], None, 100).await.unwrap();
        // Expired entries read as missing and free their quota.
        store.kv_set(id, "t", b"x", Some(0), 200).await.unwrap();
        assert_eq!(store.kv_get(id, "t").await.unwrap(), None);
        assert!(
            !store.kv_delete(id, "t").await.unwrap(),
            "{backend}: deleting an expired key reports false"
        );
        assert!(store.kv_delete(id, "n").await.unwrap());
        store.kv_set(id, "s1", b"1", Some(0), 1000).await.unwrap();
        assert_eq!(store.kv_sweep().await.unwrap(), 1);
        store
            .kv_set(id, "user:1", b"ada", None, 1000)
            .await
            .unwrap();
        store
            .kv_set(id, "user:2", b"bob", Some(60_000), 1000)
            .await
            .unwrap();
        let page = store.kv_list(id, "user:", None, 10).await.unwrap();
        assert_eq!(
            page.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
            ["user:1", "user:2"]
        );
        assert_eq!(page[0].preview.as_deref(), Some("ada"));
        assert!(page[1].expires_at.is_some());
        let next = store
            .kv_list(id, "user:", Some("user:1"), 10)
            .await
            .unwrap();
        assert_eq!(next.len(), 1);
    }
}

#[tokio::test]
async fn concurrent_increments_are_atomic() {
    for (backend, store) in stores().await {
        let (app, _) = store.create_app(&new_app("count"), "t").await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.kv_increment(app.id, "c", 1, 1000).await.unwrap() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            store.kv_get(app.id, "c").await.unwrap().as_deref(),
            Some(&b"20"[..]),
            "{backend}"
        );
    }
}

#[tokio::test]
async fn admin_tokens_are_hashed() {
    for (backend, store) in stores().await {
        assert_eq!(store.admin_token_count().await.unwrap(), 0);
        let (_, token) = store
            .create_admin_token("first", None, "system")
            .await
            .unwrap();
        let record = store
            .check_admin_token(token.expose())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.label, "first", "{backend}");
        assert!(record.last_used_at.is_some(), "{backend}: use is recorded");
        assert!(store.check_admin_token("et_wrong").await.unwrap().is_none());
        store
            .ensure_configured_token("an-operator-chosen-token")
            .await
            .unwrap();
        store
            .ensure_configured_token("an-operator-chosen-token")
            .await
            .unwrap();
        assert_eq!(store.admin_token_count().await.unwrap(), 2);
        assert!(store.ensure_configured_token("short").await.is_err());
        // Nothing in the table is the token itself.
        let raw: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM admin_tokens")
            .fetch_all(&store.pool)
            .await
            .unwrap();
        assert!(raw.iter().all(|h| h.len() == 64 && h != token.expose()));
    }
}

#[tokio::test]
async fn admin_tokens_are_listed_revoked_and_expire() {
    for (backend, store) in stores().await {
        let (a, a_secret) = store.create_admin_token("ci", None, "ada").await.unwrap();
        let later = crate::now_ms() + 3_600_000;
        let (b, b_secret) = store
            .create_admin_token("laptop", Some(later), "ada")
            .await
            .unwrap();
        assert!(
            store
                .create_admin_token("past", Some(1), "ada")
                .await
                .is_err(),
            "{backend}: an expiry in the past is refused"
        );
        let list = store.admin_tokens(None).await.unwrap();
        assert_eq!(
            list.iter()
                .map(|t| (t.id, t.label.as_str(), t.expires_at))
                .collect::<Vec<_>>(),
            [(a.id, "ci", None), (b.id, "laptop", Some(later))],
            "{backend}"
        );
        // The list never carries a secret or its hash.
        let json = serde_json::to_string(&list).unwrap();
        for secret in [&a_secret, &b_secret] {
            assert!(!json.contains(secret.expose()) && !json.contains(&secret.hash()));
        }

        // Revocation takes effect on the next check.
        assert!(
            store
                .check_admin_token(a_secret.expose())
                .await
                .unwrap()
                .is_some()
        );
        let revoked = store.revoke_admin_token(a.id, "bob").await.unwrap();
        assert!(revoked.revoked_at.is_some(), "{backend}");
        assert!(
            store
                .check_admin_token(a_secret.expose())
                .await
                .unwrap()
                .is_none()
        );
        let again = store.revoke_admin_token(a.id, "bob").await.unwrap();
        assert_eq!(
            again.revoked_at, revoked.revoked_at,
            "revoking twice changes nothing"
        );
        assert!(matches!(
            store.revoke_admin_token(9999, "bob").await,
            Err(StoreError::NotFound(_))
        ));
        let log = store.audit_log(None, None, None, 10).await.unwrap();
        assert_eq!(
            (log[0].action.as_str(), log[0].actor.as_str()),
            ("token.revoke", "bob")
        );

        // An expired token is refused (its expiry moved into the past).
        assert!(
            store
                .check_admin_token(b_secret.expose())
                .await
                .unwrap()
                .is_some()
        );
        sqlx::query("UPDATE admin_tokens SET expires_at = $2 WHERE id = $1")
            .bind(b.id)
            .bind(crate::now_ms() - 1)
            .execute(&store.pool)
            .await
            .unwrap();
        assert!(
            store
                .check_admin_token(b_secret.expose())
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.admin_token_count().await.unwrap(), 0, "{backend}");
    }
}

#[tokio::test]
async fn a_changed_configured_token_replaces_the_old_one() {
    for (backend, store) in stores().await {
        let (_, minted) = store.create_admin_token("minted", None, "t").await.unwrap();
        assert_eq!(
            store
                .ensure_configured_token("configured-token-one")
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .ensure_configured_token("configured-token-one")
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .ensure_configured_token("configured-token-two")
                .await
                .unwrap(),
            1
        );
        assert!(
            store
                .check_admin_token("configured-token-one")
                .await
                .unwrap()
                .is_none(),
            "{backend}: the previous configured token is revoked"
        );
        assert!(
            store
                .check_admin_token("configured-token-two")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .check_admin_token(minted.expose())
                .await
                .unwrap()
                .is_some(),
            "{backend}: tokens made through the API are not touched"
        );
        let list = store.admin_tokens(None).await.unwrap();
        assert_eq!(
            list.iter().map(|t| t.configured).collect::<Vec<_>>(),
            [false, true, true]
        );
        // Going back to a revoked token is refused, not silently revived.
        let back = store.ensure_configured_token("configured-token-one").await;
        assert!(matches!(back, Err(StoreError::Invalid(_))), "{backend}");
    }
}

#[tokio::test]
async fn nodes_starting_together_configure_the_same_token() {
    for (backend, store) in stores().await {
        let starts: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(
                    async move { store.ensure_configured_token("shared-cluster-token").await },
                )
            })
            .collect();
        for start in starts {
            let outcome = start.await.unwrap();
            assert!(outcome.is_ok(), "{backend}: {outcome:?}");
        }
        assert_eq!(store.admin_token_count().await.unwrap(), 1, "{backend}");
    }
}

/// The app's running total against what is actually stored.
async fn assert_usage_exact(store: &Store, app_id: i64, context: &str) -> i64 {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes, COUNT(*) AS keys FROM kv WHERE app_id = $1",
    )
    .bind(app_id)
    .fetch_one(&store.pool)
    .await
    .unwrap();
    use sqlx::Row;
    let stored: (i64, i64) = (row.get("bytes"), row.get("keys"));
    let counted: (i64, i64) = sqlx::query_as("SELECT bytes, keys FROM kv_usage WHERE app_id = $1")
        .bind(app_id)
        .fetch_optional(&store.pool)
        .await
        .unwrap()
        .unwrap_or((0, 0));
    assert_eq!(counted, stored, "{context}: running total vs stored rows");
    assert_eq!(store.kv_usage(app_id).await.unwrap(), stored, "{context}");
    stored.0
}

#[tokio::test]
async fn concurrent_kv_writers_never_exceed_the_quota() {
    const QUOTA: u64 = 4_000;
    for (backend, store) in stores().await {
        let (app, _) = store.create_app(&new_app("race"), "t").await.unwrap();
        let writers: Vec<_> = (0..16)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    for n in 0.. {
                        // New keys grow the data; every third write replaces one.
                        let key = format!("w{w}-{}", if n % 3 == 2 { n - 1 } else { n });
                        match store.kv_set(app.id, &key, &[7; 60], None, QUOTA).await {
                            Ok(()) => {}
                            Err(KvError::QuotaExceeded) => return n,
                            Err(e) => panic!("writer {w}: {e}"),
                        }
                    }
                    unreachable!()
                })
            })
            .collect();
        for w in writers {
            w.await.unwrap();
        }
        let used = assert_usage_exact(&store, app.id, backend).await;
        assert!(
            used <= QUOTA as i64,
            "{backend}: {used} bytes stored, quota {QUOTA}"
        );
        assert!(
            used > QUOTA as i64 - 70,
            "{backend}: writers stopped early at {used}"
        );
    }
}

#[tokio::test]
async fn kv_usage_stays_exact_through_every_change() {
    for (backend, store) in stores().await {
        let (app, _) = store.create_app(&new_app("exact"), "t").await.unwrap();
        let (other, _) = store.create_app(&new_app("other"), "t").await.unwrap();
        let id = app.id;
        store
            .kv_set(other.id, "theirs", &[0; 50], None, 1000)
            .await
            .unwrap();
        store.kv_set(id, "a", &[0; 10], None, 100).await.unwrap();
        assert_eq!(assert_usage_exact(&store, id, backend).await, 11);
        store.kv_set(id, "a", &[0; 30], None, 100).await.unwrap();
        store.kv_set(id, "a", &[0; 5], None, 100).await.unwrap();
        assert_eq!(assert_usage_exact(&store, id, backend).await, 6);
        store.kv_increment(id, "n", 9, 100).await.unwrap();
        store.kv_increment(id, "n", 1, 100).await.unwrap();
        assert_eq!(assert_usage_exact(&store, id, backend).await, 6 + 3);
        assert!(store.kv_delete(id, "a").await.unwrap());
        assert!(!store.kv_delete(id, "a").await.unwrap());
        assert_eq!(assert_usage_exact(&store, id, backend).await, 3);

        // Expired entries count until swept; the sweep takes them off.
        store
            .kv_set(id, "e1", &[0; 20], Some(0), 100)
            .await
            .unwrap();
        store
            .kv_set(id, "e2", &[0; 20], Some(0), 100)
            .await
            .unwrap();
        assert_eq!(assert_usage_exact(&store, id, backend).await, 3 + 44);
        assert!(
            !store.kv_delete(id, "e1").await.unwrap(),
            "expired reads as gone"
        );
        assert_eq!(assert_usage_exact(&store, id, backend).await, 3 + 22);
        assert_eq!(store.kv_sweep().await.unwrap(), 1, "{backend}");
        assert_eq!(assert_usage_exact(&store, id, backend).await, 3);

        // A write that only fits without the expired entries drops them.
        store
            .kv_set(id, "e3", &[0; 60], Some(0), 100)
            .await
            .unwrap();
        store.kv_set(id, "big", &[0; 90], None, 100).await.unwrap();
        assert_eq!(assert_usage_exact(&store, id, backend).await, 3 + 93);
        assert!(matches!(
            store.kv_set(id, "more", &[0; 10], None, 100).await,
            Err(KvError::QuotaExceeded)
        ));
        // Over a lowered quota, shrinking still works; growing does not.
        store.kv_set(id, "big", &[0; 80], None, 50).await.unwrap();
        assert!(matches!(
            store.kv_increment(id, "n", 1000, 50).await,
            Err(KvError::QuotaExceeded)
        ));
        assert_eq!(assert_usage_exact(&store, id, backend).await, 3 + 83);
        assert_eq!(assert_usage_exact(&store, other.id, backend).await, 56);
        store.delete_app("exact", "t").await.unwrap();
        assert_eq!(store.kv_usage(id).await.unwrap(), (0, 0));
    }
}

#[tokio::test]
async fn data_survives_reconnecting() {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("eddy-store-reopen-{}-{n}", std::process::id()));
    let url = format!("sqlite://{}/eddy.db", dir.display());
    {
        let store = Store::connect(&url).await.unwrap();
        store.create_app(&new_app("durable"), "t").await.unwrap();
        store
            .add_deployment("durable", b"v1", "hv1", "", "t", true)
            .await
            .unwrap();
        store.close().await;
    }
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(
        store
            .active_deployment("durable")
            .await
            .unwrap()
            .unwrap()
            .hash,
        "hv1"
    );
    std::fs::remove_dir_all(dir).ok();
}

fn in_tenant(slug: &str, tenant: &str, limits: AppLimits) -> NewApp {
    NewApp {
        tenant: tenant.into(),
        limits,
        ..new_app(slug)
    }
}

fn ceiling(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::Quota { ceiling, .. }) => ceiling,
        other => panic!("expected a quota refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn tenants_own_apps_within_their_quota() {
    for (backend, store) in stores().await {
        // Created by the migration, with the platform ceilings as its quota.
        let default = store.tenant(crate::DEFAULT_TENANT).await.unwrap();
        assert_eq!(
            default.quota.max_apps,
            TenantQuota::CEILINGS[0].1,
            "{backend}"
        );
        let quota = TenantQuota {
            max_apps: 2,
            max_connections: 300,
            max_handler_memory_mb: 200,
            kv_quota_bytes: 1 << 20,
        };
        let acme = store
            .create_tenant("acme", "Acme", &quota, "ada")
            .await
            .unwrap();
        assert_eq!(acme.usage.apps, 0);
        assert!(matches!(
            store.create_tenant("acme", "Again", &quota, "ada").await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.create_tenant("Not OK", "x", &quota, "ada").await,
            Err(StoreError::Invalid(_))
        ));
        let small = AppLimits {
            max_connections: 100,
            handler_memory_mb: 64,
            kv_quota_bytes: 1000,
            ..AppLimits::default()
        };
        let (one, _) = store
            .create_app(&in_tenant("one", "acme", small.clone()), "ada")
            .await
            .unwrap();
        assert_eq!(one.tenant, "acme", "{backend}");
        // Raising one app's limit past the tenant's total is refused, naming it.
        let big = AppLimits {
            max_connections: 301,
            ..small.clone()
        };
        assert_eq!(
            ceiling(store.update_app("one", None, Some(&big), "ada").await),
            "tenant quota max_connections"
        );
        // Past the platform ceiling is refused naming the platform.
        let huge = AppLimits {
            max_connections: 2_000_000,
            ..small.clone()
        };
        assert_eq!(
            ceiling(store.update_app("one", None, Some(&huge), "ada").await),
            "platform ceiling max_connections"
        );
        // A second app fits only while the sum does.
        let rest = AppLimits {
            max_connections: 250,
            ..small.clone()
        };
        assert_eq!(
            ceiling(
                store
                    .create_app(&in_tenant("two", "acme", rest), "ada")
                    .await
            ),
            "tenant quota max_connections"
        );
        store
            .create_app(&in_tenant("two", "acme", small.clone()), "ada")
            .await
            .unwrap();
        assert_eq!(
            ceiling(
                store
                    .create_app(&in_tenant("three", "acme", small.clone()), "ada")
                    .await
            ),
            "tenant quota max_apps"
        );
        let acme = store.tenant("acme").await.unwrap();
        assert_eq!(acme.usage.apps, 2);
        assert_eq!(acme.usage.max_connections, 200);
        assert_eq!(acme.usage.handler_memory_mb, 128);
        // A quota below what the apps use is refused; above it is fine.
        let lower = TenantQuota {
            max_connections: 150,
            ..quota
        };
        assert_eq!(
            ceiling(store.update_tenant("acme", None, Some(&lower), "ada").await),
            "tenant quota max_connections"
        );
        let over = TenantQuota {
            max_apps: 1_000_000,
            ..quota
        };
        assert_eq!(
            ceiling(store.update_tenant("acme", None, Some(&over), "ada").await),
            "platform ceiling max_apps"
        );
        let raised = TenantQuota {
            max_apps: 3,
            ..quota
        };
        store
            .update_tenant("acme", Some("Acme Inc"), Some(&raised), "ada")
            .await
            .unwrap();
        assert!(matches!(
            store.delete_tenant("acme", "ada").await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.delete_tenant(crate::DEFAULT_TENANT, "ada").await,
            Err(StoreError::Conflict(_))
        ));
        // Unknown tenants are not found.
        assert!(matches!(
            store
                .create_app(&in_tenant("x", "nope", small.clone()), "ada")
                .await,
            Err(StoreError::NotFound(_))
        ));
        let slugs: Vec<String> = store
            .tenants()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.slug)
            .collect();
        assert_eq!(slugs, ["acme", "default"]);
        store.delete_app("one", "ada").await.unwrap();
        store.delete_app("two", "ada").await.unwrap();
        store.delete_tenant("acme", "ada").await.unwrap();
        assert!(matches!(
            store.tenant("acme").await,
            Err(StoreError::NotFound(_))
        ));
        // Its audit entries stay its own.
        let log = store
            .audit_log(None, Some(acme.id), None, 100)
            .await
            .unwrap();
        assert!(
            log.iter().any(|e| e.action == "app.delete"),
            "{backend}: {log:?}"
        );
        assert!(log.iter().all(|e| e.action != "tenant.delete"));
    }
}

/// Two apps created at once in a tenant with room for one: one is refused.
#[tokio::test]
async fn concurrent_creates_never_pass_the_app_quota() {
    for (backend, store) in stores().await {
        let quota = TenantQuota {
            max_apps: 1,
            ..TenantQuota::default()
        };
        store
            .create_tenant("race", "Race", &quota, "t")
            .await
            .unwrap();
        let (first, second) = (
            in_tenant("a", "race", AppLimits::default()),
            in_tenant("b", "race", AppLimits::default()),
        );
        let (a, b) = tokio::join!(
            store.create_app(&first, "t"),
            store.create_app(&second, "t"),
        );
        assert_eq!(
            usize::from(a.is_ok()) + usize::from(b.is_ok()),
            1,
            "{backend}: {a:?} {b:?}"
        );
        assert_eq!(store.tenant("race").await.unwrap().usage.apps, 1);
    }
}

#[tokio::test]
async fn tokens_carry_a_role_and_a_scope() {
    for (backend, store) in stores().await {
        store
            .create_tenant("acme", "Acme", &TenantQuota::default(), "t")
            .await
            .unwrap();
        store
            .create_tenant("globex", "Globex", &TenantQuota::default(), "t")
            .await
            .unwrap();
        store
            .create_app(&in_tenant("web", "acme", AppLimits::default()), "t")
            .await
            .unwrap();
        store
            .create_app(&in_tenant("api", "acme", AppLimits::default()), "t")
            .await
            .unwrap();
        store
            .create_app(&in_tenant("gx", "globex", AppLimits::default()), "t")
            .await
            .unwrap();
        let scoped = NewToken {
            label: "ci".into(),
            role: Role::Deployer,
            tenant: Some("acme".into()),
            apps: Some(vec!["web".into()]),
            expires_at: None,
        };
        let (token, secret) = store.create_token(&scoped, "t").await.unwrap();
        assert_eq!(
            token.apps.as_deref(),
            Some(&["web".to_owned()][..]),
            "{backend}"
        );
        // Stored so that a node of the release before roles, which looks up
        // the bare hash and knows only platform admins, finds nothing.
        let stored: String =
            sqlx::query_scalar("SELECT token_hash FROM admin_tokens WHERE id = $1")
                .bind(token.id)
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert_ne!(stored, crate::hash_secret(secret.expose()), "{backend}");
        let checked = store
            .check_admin_token(secret.expose())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(checked.role, Role::Deployer);
        assert_eq!(checked.tenant.as_deref(), Some("acme"));
        assert_eq!(checked.apps, token.apps);
        // Another tenant's app, an unknown tenant, a wrongly scoped role: refused.
        for bad in [
            NewToken {
                apps: Some(vec!["gx".into()]),
                ..scoped.clone()
            },
            NewToken {
                tenant: Some("nope".into()),
                ..scoped.clone()
            },
            NewToken {
                tenant: None,
                ..scoped.clone()
            },
            NewToken {
                role: Role::TenantOwner,
                ..scoped.clone()
            },
            NewToken {
                role: Role::PlatformAdmin,
                ..scoped.clone()
            },
            NewToken {
                apps: Some(vec![]),
                ..scoped.clone()
            },
        ] {
            assert!(
                matches!(
                    store.create_token(&bad, "t").await,
                    Err(StoreError::Invalid(_))
                ),
                "{backend}: {bad:?}"
            );
        }
        let owner = NewToken {
            label: "owner".into(),
            role: Role::TenantOwner,
            tenant: Some("acme".into()),
            apps: None,
            expires_at: None,
        };
        store.create_token(&owner, "t").await.unwrap();
        let acme_id = store.tenant("acme").await.unwrap().id;
        let listed = store.admin_tokens(Some(acme_id)).await.unwrap();
        assert_eq!(listed.len(), 2, "{backend}: {listed:?}");
        // Deleting its app leaves an app-scoped token reaching nothing.
        store.delete_app("web", "t").await.unwrap();
        let after = store
            .check_admin_token(secret.expose())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.apps, Some(vec![]), "{backend}");
        // A tenant's active tokens are bounded; a revoked one frees its place.
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
             INSERT INTO admin_tokens (label, token_hash, created_at, role, tenant_id) \
             SELECT 'filler', 'fill-' || CAST(i AS TEXT), 1, 'viewer', $1 FROM n",
        )
        .bind(acme_id)
        .bind(crate::MAX_ACTIVE_TOKENS_PER_TENANT - 2)
        .execute(&store.pool)
        .await
        .unwrap();
        assert!(
            matches!(
                store.create_token(&owner, "t").await,
                Err(StoreError::Quota { .. })
            ),
            "{backend}"
        );
        store.revoke_admin_token(token.id, "t").await.unwrap();
        store.create_token(&owner, "t").await.unwrap();
        // Platform-admin tokens alone count as a way in (for the generated one).
        assert_eq!(store.admin_token_count().await.unwrap(), 0);
    }
}

/// A registry of the release before tenants, upgraded: its apps belong to
/// `default`, its tokens are platform admins, its audit entries about apps
/// are `default`'s, and nothing is refused by the default tenant's quota.
#[tokio::test]
async fn an_upgrade_moves_everything_to_the_default_tenant() {
    let mut urls = vec![{
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("eddy-store-upgrade-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        ("sqlite", format!("sqlite://{}/eddy.db", dir.display()))
    }];
    if let Some(base) = testing::postgres_server() {
        urls.push(("postgres", testing::postgres_schema(&base).await));
    }
    for (backend, url) in urls {
        let store = Store::open(&url).await.unwrap();
        crate::migrations::migrator_to(store.backend(), 4)
            .run(&store.pool)
            .await
            .unwrap();
        for sql in [
            "INSERT INTO apps (slug, name, created_at, max_connections, max_events_per_second, \
             max_payload, handler_deadline_ms, handler_memory_mb, kv_quota_bytes) \
             VALUES ('old', 'Old', 1, 1000000, 10, 1000, 100, 4096, 10000000000)",
            "INSERT INTO app_keys (app_id, public_key, secret_hash, rotated_at) \
             SELECT id, 'pk_old', 'hash', 1 FROM apps",
            "INSERT INTO admin_tokens (label, token_hash, created_at) VALUES ('ops', 'h1', 1)",
            "INSERT INTO audit_log (at, actor, action, app, detail) \
             VALUES (1, 'ops', 'app.create', 'old', '{}')",
        ] {
            sqlx::query(sql).execute(&store.pool).await.unwrap();
        }
        store.migrate().await.unwrap();
        let app = store.app("old").await.unwrap();
        assert_eq!(app.tenant, crate::DEFAULT_TENANT, "{backend}");
        let token = &store.admin_tokens(None).await.unwrap()[0];
        assert_eq!(
            (token.role, token.tenant.as_deref()),
            (Role::PlatformAdmin, None)
        );
        let default = store.tenant(crate::DEFAULT_TENANT).await.unwrap();
        let log = store
            .audit_log(None, Some(default.id), None, 10)
            .await
            .unwrap();
        assert_eq!(log.len(), 1, "{backend}");
        // The old app at its platform ceilings still fits, and can change.
        let mut limits = app.limits.clone();
        limits.max_events_per_second = 20;
        store
            .update_app("old", None, Some(&limits), "t")
            .await
            .unwrap();
        store.create_app(&new_app("new"), "t").await.unwrap();
    }
}
