//! The HTTP APIs: the operators' admin API (`admin/`) and each app's tenant
//! server API (`tenant.rs`). What they share lives here: the bearer token
//! reader, the live-app lookup, the JSON body extractor, the guard in front
//! of both (failed-authentication throttling, no caching), and the mapping of
//! control-plane errors to HTTP. Every error body is built by `problem.rs`.

pub(crate) mod admin;
pub(crate) mod problem;
pub(crate) mod tenant;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub(crate) use problem::{ApiError, Problem, ProblemCode};

use crate::control::ControlError;
use crate::state::ServerState;
use crate::tenant::App;
use crate::transport::AddressGuard;

/// The token of the request's `Authorization: Bearer <token>` header (the
/// scheme is case-insensitive, as HTTP says); `missing` is the detail of the
/// 401 when there is none.
pub(crate) fn bearer_token<'h>(headers: &'h HeaderMap, missing: &str) -> Result<&'h str, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim())
                .filter(|t| !t.is_empty())
        })
        .ok_or_else(|| ApiError::unauthorized(missing))
}

/// The app as this node runs it.
pub(crate) fn live_app(state: &ServerState, slug: &str) -> Result<Arc<App>, ApiError> {
    state
        .tenants
        .get(slug)
        .ok_or_else(|| ApiError::not_found(format!("no app {slug:?}")))
}

/// A JSON body whose rejections are problem+json like every other error.
pub(crate) struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(value) = axum::Json::<T>::from_request(req, state).await?;
        Ok(Self(value))
    }
}

/// Around the admin and tenant APIs: an address that keeps failing to
/// authenticate gets 429 for a while (no token is even looked at), and no
/// response is cached (some carry secrets).
pub(crate) async fn guard(request: Request<Body>, next: axum::middleware::Next) -> Response {
    let client = AddressGuard::of_request(request.extensions(), request.headers());
    if let Some((guard, _, ip)) = &client
        && let Err(wait) = guard.auth_allowed(*ip)
    {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        return ApiError::rate_limited(
            secs,
            format!("too many failed authentications from this address; retry after {secs} s"),
        )
        .into_response();
    }
    let mut response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED
        && let Some((guard, _, ip)) = &client
    {
        guard.auth_failed(*ip);
    }
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        let detail = e.to_string();
        match e {
            ControlError::NotFound(_) => {
                Self::new(StatusCode::NOT_FOUND, ProblemCode::NotFound, detail)
            }
            ControlError::Conflict(_) => {
                Self::new(StatusCode::CONFLICT, ProblemCode::Conflict, detail)
            }
            ControlError::Invalid(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::Invalid,
                detail,
            ),
            ControlError::Quota { ceiling, .. } => Self {
                ceiling: Some(ceiling),
                ..Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ProblemCode::QuotaExceeded,
                    detail,
                )
            },
            ControlError::SecretKeyMissing => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemCode::SecretKeyMissing,
                detail,
            ),
            ControlError::TooLarge { .. } => Self {
                step: Some("size"),
                ..Self::new(StatusCode::PAYLOAD_TOO_LARGE, ProblemCode::TooLarge, detail)
            },
            ControlError::Deploy { step, .. } => Self {
                step: Some(step.as_str()),
                ..Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ProblemCode::DeployRefused,
                    detail,
                )
            },
            ControlError::Internal(cause) => Self::internal(cause),
        }
    }
}

impl From<eddy_store::StoreError> for ApiError {
    fn from(e: eddy_store::StoreError) -> Self {
        ControlError::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_the_token_is_trimmed() {
        assert_eq!(bearer_token(&headers("Bearer abc"), "").unwrap(), "abc");
        assert_eq!(bearer_token(&headers("bearer  abc "), "").unwrap(), "abc");
        assert_eq!(bearer_token(&headers("BEARER abc"), "").unwrap(), "abc");
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_unauthorized() {
        for value in ["Basic abc", "Bearer", "Bearer   ", "abc"] {
            let error = bearer_token(&headers(value), "send a token").unwrap_err();
            assert_eq!(error.status, StatusCode::UNAUTHORIZED, "{value}");
            assert_eq!(error.detail, "send a token");
        }
        assert!(bearer_token(&HeaderMap::new(), "").is_err());
    }
}
