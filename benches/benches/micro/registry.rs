//! Registry reads on the embedded SQLite registry: what a node pays when it
//! resolves an app, checks a tenant API secret, loads the active version,
//! or a handler reads a key. Writes are not on any hot path and are not
//! measured here.

use std::hint::black_box;

use criterion::Criterion;
use eddy_store::{AppLimits, NewApp, Store};

const APPS: usize = 50;

pub(crate) fn registry(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("eddy-bench-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("registry.db").display());
    let (store, app_id, secret) = rt.block_on(async {
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let mut last = None;
        for i in 0..APPS {
            let new = NewApp {
                slug: format!("app-{i}"),
                name: format!("App {i}"),
                tenant: eddy_store::DEFAULT_TENANT.into(),
                limits: AppLimits::default(),
            };
            let (app, credentials) = store.create_app(&new, "bench").await.unwrap();
            let component = format!("component bytes of app {i}").into_bytes();
            let hash = format!("{:064x}", i);
            store
                .add_deployment(&app.slug, &component, &hash, "", "bench", true)
                .await
                .unwrap();
            for k in 0..100 {
                let value = format!("value {k}").into_bytes();
                store
                    .kv_set(app.id, &format!("key-{k}"), &value, None, 1 << 20)
                    .await
                    .unwrap();
            }
            last = Some((app.id, credentials.secret.expose().to_owned()));
        }
        let (id, secret) = last.unwrap();
        (store, id, secret)
    });
    let last = format!("app-{}", APPS - 1);

    let mut g = c.benchmark_group("registry_sqlite");
    g.bench_function("app_by_slug", |b| {
        b.iter(|| rt.block_on(store.app(black_box(&last))).unwrap())
    });
    g.bench_function("active_deployment", |b| {
        b.iter(|| {
            rt.block_on(store.active_deployment(black_box(&last)))
                .unwrap()
        })
    });
    g.bench_function("check_app_secret", |b| {
        b.iter(|| {
            assert!(
                rt.block_on(store.check_app_secret(black_box(&last), &secret))
                    .unwrap()
            )
        })
    });
    g.bench_function("kv_get", |b| {
        b.iter(|| {
            rt.block_on(store.kv_get(app_id, black_box("key-42")))
                .unwrap()
        })
    });
    g.bench_function("list_apps_50", |b| {
        b.iter(|| rt.block_on(store.apps()).unwrap())
    });
    g.finish();
    rt.block_on(store.close());
    std::fs::remove_dir_all(dir).ok();
}
