//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Eddy admin API", description = "Apps, deployments, limits, keys and live state of an Eddy server."),
    servers((url = "/admin/api/v1")),
    paths(
        super::apps::list, super::apps::create, super::apps::get, super::apps::update, super::apps::delete,
        super::apps::rotate_secret,
        super::config::list, super::config::set, super::config::delete,
        super::deployments::list, super::deployments::upload, super::deployments::activate, super::deployments::rollback,
        super::observe::stats, super::observe::kv, super::observe::audit,
        super::tokens::list, super::tokens::create, super::tokens::revoke,
        super::stream::live, super::stream::logs, super::stream::log_tail,
        super::sockets::list, super::sockets::disconnect, super::nodes::cluster,
        super::tenants::list, super::tenants::create, super::tenants::get, super::tenants::update,
        super::tenants::delete, super::tenants::whoami, super::tenants::platform,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "apps", description = "Apps, their limits and keys"),
        (name = "deployments", description = "Handler versions and the deploy pipeline"),
        (name = "config", description = "App config variables and secrets (write-only), read by handlers with config.get"),
        (name = "observe", description = "Live stats and streams, logs, key-value data, the audit log"),
        (name = "sockets", description = "Connected sockets"),
        (name = "tokens", description = "Admin tokens: who am I, list (never the secrets), create (a role and scope, optionally expiring), revoke"),
        (name = "tenants", description = "Tenants and their quotas"),
    )
)]
pub(super) struct AdminApi;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub(super) async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(AdminApi::openapi())
}
