//! The admin and tenant APIs from a test: create apps, deploy plugins,
//! change limits, call the tenant server API with an app's secret.

use std::net::SocketAddr;

use anyhow::ensure;
use bytes::Bytes;
use serde_json::Value;

use crate::{ADMIN_TOKEN, Http, Reply};

pub struct Admin {
    http: Http,
    auth: String,
}

impl Admin {
    pub fn new(addr: SocketAddr) -> Self {
        Self::with_token(addr, ADMIN_TOKEN)
    }

    /// The admin API with another token than the test default.
    pub fn with_token(addr: SocketAddr, token: &str) -> Self {
        Self {
            http: Http::new(addr),
            auth: format!("Bearer {token}"),
        }
    }

    /// Any admin call: `path` is under `/admin/api/v1`.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        let mut headers = vec![("authorization", self.auth.as_str())];
        let body = match body {
            Some(json) => {
                headers.push(("content-type", "application/json"));
                Bytes::from(json.to_string())
            }
            None => Bytes::new(),
        };
        self.http
            .request(method, &format!("/admin/api/v1{path}"), body, &headers)
            .await
    }

    /// Creates an app (with `limits`, possibly `{}`) and returns its secret.
    pub async fn create_app(&self, slug: &str, limits: Value) -> anyhow::Result<String> {
        let reply = self
            .call(
                "POST",
                "/apps",
                Some(serde_json::json!({ "slug": slug, "limits": limits })),
            )
            .await?;
        ensure!(
            reply.status == 201,
            "create {slug}: {} {}",
            reply.status,
            reply.body
        );
        Ok(reply.json()["secret"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Uploads and activates a component; returns the deploy report.
    pub async fn deploy(&self, slug: &str, component: &[u8]) -> anyhow::Result<Value> {
        let reply = self.upload(slug, component, "").await?;
        ensure!(
            reply.status == 201,
            "deploy to {slug}: {} {}",
            reply.status,
            reply.body
        );
        Ok(reply.json())
    }

    /// Uploads a component; `query` is appended (`activate=false&notes=…`).
    pub async fn upload(&self, slug: &str, component: &[u8], query: &str) -> anyhow::Result<Reply> {
        let path = format!("/admin/api/v1/apps/{slug}/deployments?{query}");
        let headers = [
            ("authorization", self.auth.as_str()),
            ("content-type", "application/wasm"),
        ];
        self.http
            .request("POST", &path, Bytes::copy_from_slice(component), &headers)
            .await
    }

    /// Creates an app running the built plugin `plugin`; returns its secret.
    pub async fn app_with(
        &self,
        slug: &str,
        plugin: crate::Plugin,
        limits: Value,
    ) -> anyhow::Result<String> {
        let secret = self.create_app(slug, limits).await?;
        self.deploy(slug, &plugin.bytes()).await?;
        Ok(secret)
    }

    /// A tenant server API call for `slug` with `secret`.
    pub async fn tenant(
        &self,
        slug: &str,
        secret: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        let auth = format!("Bearer {secret}");
        let mut headers = vec![("authorization", auth.as_str())];
        let body = match body {
            Some(json) => {
                headers.push(("content-type", "application/json"));
                Bytes::from(json.to_string())
            }
            None => Bytes::new(),
        };
        self.http
            .request(
                method,
                &format!("/apps/{slug}/api/v1{path}"),
                body,
                &headers,
            )
            .await
    }
}
