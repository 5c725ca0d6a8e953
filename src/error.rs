//! Errors: one `#[non_exhaustive]` enum with context, plus a coarse [`ErrorKind`].
//!
//! SDK error types never appear in public fields; the underlying SDK error is
//! reachable through [`std::error::Error::source`].

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Coarse classification of an [`Error`], stable across SDK versions.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    /// A resource the migration needs does not exist.
    NotFound,
    /// A resource with the wanted name exists already and this tool did not create it.
    AlreadyExists,
    /// The account is in a state that conflicts with the request (in-use, in-flight deployment...).
    Conflict,
    /// AWS throttled the request and retries ran out.
    Throttled,
    /// The caller lacks a permission.
    AccessDenied,
    /// The input or the live setup is not acceptable; nothing was changed.
    InvalidInput,
    /// A wait did not reach its condition before its deadline.
    Timeout,
    /// Anything else.
    Other,
}

/// The crate's error type.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An AWS API call failed.
    #[error("{0}")]
    Aws(#[from] AwsApiError),
    /// The migration spec or the live setup was refused before any change.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// A value given by the user is not valid.
    #[error(transparent)]
    Validation(#[from] crate::spec::ValidationError),
    /// A wait ran past its deadline.
    #[error("timed out after {waited_secs}s waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it waited.
        waited_secs: u64,
    },
    /// Applying failed; the automatic rollback's report says whether anything is left.
    #[error("{0}")]
    Apply(Box<crate::txn::ApplyFailed>),
    /// An earlier run is unfinished: resume it or roll it back first. Nothing was changed.
    #[error("{0}")]
    Unfinished(String),
    /// The journal could not be read or written, or refuses the request.
    #[error("journal: {0}")]
    Journal(String),
    /// A deployment was refused before any change (one is already in flight, the deployment
    /// group or service is missing...); see [`crate::deploy::DeployRefused::kind`].
    #[error("{0}")]
    DeployRefused(crate::deploy::DeployRefused),
}

impl Error {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Aws(e) => e.kind(),
            Error::Plan(_) | Error::Validation(_) => ErrorKind::InvalidInput,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Journal(_) | Error::Unfinished(_) => ErrorKind::Conflict,
            Error::Apply(f) => f.cause.kind(),
            Error::DeployRefused(r) => r.kind(),
        }
    }
}

/// Context of a failed AWS call: which operation, which resource, AWS's code and message.
#[derive(Debug)]
pub struct AwsApiError {
    operation: &'static str,
    resource: String,
    code: Option<String>,
    message: Option<String>,
    kind: ErrorKind,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl AwsApiError {
    /// Builds the context from any SDK error.
    pub fn from_sdk<E, R>(
        operation: &'static str,
        resource: impl Into<String>,
        err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        use aws_smithy_runtime_api::client::result::SdkError;
        let (code, message) = match &err {
            SdkError::ServiceError(se) => (
                se.err().code().map(str::to_owned),
                se.err().message().map(str::to_owned),
            ),
            other => (None, Some(aws_smithy_types::error::display::DisplayErrorContext(other).to_string())),
        };
        let kind = match &err {
            SdkError::TimeoutError(_) => ErrorKind::Timeout,
            _ => classify_code(code.as_deref()),
        };
        Self { operation, resource: resource.into(), code, message, kind, source: Some(Box::new(err)) }
    }

    /// An error with a code and message but no SDK source (used by steps and tests).
    pub fn new(
        operation: &'static str,
        resource: impl Into<String>,
        code: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            operation,
            resource: resource.into(),
            code: code.map(str::to_owned),
            message: Some(message.into()),
            kind: classify_code(code),
            source: None,
        }
    }

    /// The AWS operation, e.g. `CreateTargetGroup`.
    pub fn operation(&self) -> &'static str {
        self.operation
    }
    /// The resource the call was about.
    pub fn resource(&self) -> &str {
        &self.resource
    }
    /// AWS's error code, when the service sent one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }
    /// AWS's error message, when the service sent one.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
    /// The coarse kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for AwsApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {} failed", self.operation, self.resource)?;
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => write!(f, ": {c}: {m}"),
            (Some(c), None) => write!(f, ": {c}"),
            (None, Some(m)) => write!(f, ": {m}"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for AwsApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Maps AWS error codes (across the five services) to an [`ErrorKind`].
pub(crate) fn classify_code(code: Option<&str>) -> ErrorKind {
    let Some(code) = code else { return ErrorKind::Other };
    match code {
        "Throttling" | "ThrottlingException" | "ThrottledException" | "RequestThrottledException"
        | "TooManyRequestsException" | "RequestLimitExceeded" | "RequestThrottled" => ErrorKind::Throttled,
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "UnrecognizedClientException" => {
            ErrorKind::AccessDenied
        }
        "NoSuchEntity" | "ServiceNotFoundException" | "ClusterNotFoundException" | "TargetGroupNotFound"
        | "ListenerNotFound" | "LoadBalancerNotFound" | "ApplicationDoesNotExistException"
        | "DeploymentGroupDoesNotExistException" | "PipelineNotFoundException" | "RuleNotFound" => {
            ErrorKind::NotFound
        }
        "EntityAlreadyExists" | "DuplicateTargetGroupName" | "DuplicateListener"
        | "ApplicationAlreadyExistsException" | "DeploymentGroupAlreadyExistsException" => ErrorKind::AlreadyExists,
        "ResourceInUse" | "DeleteConflict" | "ServiceNotActiveException" | "InvalidOperationException" => {
            ErrorKind::Conflict
        }
        "RequestTimeout" | "RequestTimeoutException" => ErrorKind::Timeout,
        c if c.starts_with("Invalid") || c.ends_with("ValidationException") || c == "ValidationError" => {
            ErrorKind::InvalidInput
        }
        _ => ErrorKind::Other,
    }
}

/// Shorthand to turn an SDK result into ours with operation/resource context.
pub(crate) trait SdkResultExt<T> {
    fn ctx(self, operation: &'static str, resource: impl Into<String>) -> Result<T>;
}

impl<T, E, R> SdkResultExt<T> for std::result::Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    fn ctx(self, operation: &'static str, resource: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::Aws(AwsApiError::from_sdk(operation, resource, e)))
    }
}
