use eddy_store::StoreError;
use thiserror::Error;

use super::DeployStep;

/// Why a control-plane operation failed.
#[derive(Debug, Error)]
pub(crate) enum ControlError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// Over a tenant quota or a platform ceiling (`ceiling` names which).
    #[error("{message}")]
    Quota { ceiling: String, message: String },
    /// `size` is at least what was received: a streamed body is cut off as
    /// soon as it passes `max`.
    #[error("the component is larger than the limit of {max} bytes")]
    TooLarge { size: usize, max: usize },
    /// A secret to store, and no `secret_key` to encrypt it with.
    #[error(
        "this server has no secret key, so it cannot store secrets: start every node with \
         EDDY_SECRET_KEY set to 32 random bytes as 64 hex digits (`openssl rand -hex 32`); \
         plain config variables work without it"
    )]
    SecretKeyMissing,
    #[error("deploy refused at step `{step}`: {message}")]
    Deploy { step: DeployStep, message: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ControlError {
    pub(crate) fn deploy(step: DeployStep, error: impl std::fmt::Display) -> Self {
        Self::Deploy {
            step,
            message: error.to_string(),
        }
    }

    /// The pipeline step, for a deploy refusal.
    pub(crate) fn step(&self) -> Option<DeployStep> {
        match self {
            Self::Deploy { step, .. } => Some(*step),
            Self::TooLarge { .. } => Some(DeployStep::Size),
            _ => None,
        }
    }
}

impl From<StoreError> for ControlError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::Invalid(m) => Self::Invalid(m),
            StoreError::Quota { ceiling, message } => Self::Quota { ceiling, message },
            other => Self::Internal(other.to_string()),
        }
    }
}
