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
    /// A wait did not reach its condition before its deadline, or an AWS call got no answer
    /// within its time limit ([`crate::CallTimeouts`]).
    Timeout,
    /// The run was stopped on request ([`crate::cancel::CancelToken`]).
    Cancelled,
    /// Anything else.
    Other,
}

/// The crate's error type.
///
/// `Display` shows this error's own message only; the cause (an SDK error, an I/O error, the
/// step's error inside [`Error::Apply`]) is reachable through [`std::error::Error::source`].
/// [`Report`] prints the whole chain on one line.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An AWS API call failed.
    #[error(transparent)]
    Aws(#[from] AwsApiError),
    /// The migration spec or the live setup was refused before any change.
    #[error(transparent)]
    Plan(#[from] crate::refusal::PlanError),
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
    /// Applying failed; the automatic rollback's report says whether anything is left. The
    /// step's error is the [`source`](std::error::Error::source).
    #[error(transparent)]
    Apply(Box<ApplyFailed>),
    /// An earlier run is unfinished: resume it or roll it back first. Nothing was changed.
    #[error("{0}")]
    Unfinished(String),
    /// The journal could not be read or written, or refuses the request.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A deployment was refused before any change (one is already in flight, the deployment
    /// group or service is missing...); see [`crate::deploy::DeployRefused::kind`].
    #[error("{0}")]
    DeployRefused(DeployRefused),
    /// A plan or journal names a user's step kind that the caller did not register in its
    /// [`StepRegistry`](crate::StepRegistry). Nothing was changed.
    #[error(transparent)]
    UnregisteredStep(#[from] UnregisteredStep),
    /// Another run holds the service's run lock ([`crate::lock`]). Nothing was changed.
    #[error(transparent)]
    Locked(Box<crate::lock_holder::LockHeld>),
    /// The run was stopped through its [`CancelToken`](crate::cancel::CancelToken) before
    /// it finished: the journal says where (resume or roll back from it).
    #[error(transparent)]
    Cancelled(Cancelled),
    /// An error of a user's step.
    #[error(transparent)]
    Custom(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl Error {
    /// An error of a user's step (any error type, or a message).
    pub fn custom(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Error::Custom(e.into())
    }

    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Aws(e) => e.kind(),
            Error::Plan(_) | Error::Validation(_) | Error::UnregisteredStep(_) => ErrorKind::InvalidInput,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Journal(_) | Error::Unfinished(_) | Error::Locked(_) => ErrorKind::Conflict,
            Error::Apply(f) => f.cause.kind(),
            Error::DeployRefused(r) => r.kind(),
            Error::Cancelled(_) => ErrorKind::Cancelled,
            Error::Custom(e) => match e.downcast_ref::<Error>() {
                Some(inner) => inner.kind(),
                None => ErrorKind::Other,
            },
        }
    }

    /// Whether AWS itself answered with an error, so the call did not take effect. Anything
    /// else (timeouts, lost connections, users' errors) may have reached the service.
    pub(crate) fn is_refusal(&self) -> bool {
        match self {
            Error::Aws(a) => a.code().is_some() && a.kind() != ErrorKind::Timeout && !self.is_already_exists(),
            _ => false,
        }
    }

    /// Whether AWS answered a create with "already exists". After a lost answer the SDK's
    /// retry gets this for what its first attempt created, so it does not prove that nothing
    /// changed: the resource must be looked up (and adopted when it carries this run's tag).
    pub fn is_already_exists(&self) -> bool {
        let Error::Aws(a) = self else { return false };
        match a.code() {
            Some(
                "EntityAlreadyExists"
                | "ApplicationAlreadyExistsException"
                | "DeploymentGroupAlreadyExistsException"
                | "DuplicateTargetGroupName"
                | "DuplicateListener"
                | "ParameterAlreadyExists"
                | "ResourceAlreadyExistsException",
            ) => true,
            // ECS's answer to a CreateService retried without the first attempt's client token.
            Some("InvalidParameterException") => a.message().is_some_and(|m| m.contains("not idempotent")),
            _ => false,
        }
    }
}

/// Whether an SDK error carries one of `codes`.
pub(crate) fn has_code<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
    codes: &[&str],
) -> bool {
    err.as_service_error().and_then(|e| e.code()).is_some_and(|c| codes.contains(&c))
}

/// Prints an error and its whole `source()` chain on one line, `a: b: c`.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(e) = next {
            write!(f, ": {e}")?;
            next = e.source();
        }
        Ok(())
    }
}

/// A failed apply: the step, and what the automatic rollback did. The step's error is the
/// [`source`](std::error::Error::source) (also [`ApplyFailed::cause`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct ApplyFailed {
    /// The step that failed.
    pub step: crate::spec::StepId,
    /// Why.
    pub cause: Error,
    /// What the rollback did; check `rollback.is_clean()`.
    pub rollback: crate::report::RollbackReport,
}

impl ApplyFailed {
    pub(crate) fn new(step: crate::spec::StepId, cause: Error, rollback: crate::report::RollbackReport) -> Self {
        Self { step, cause, rollback }
    }
}

impl fmt::Display for ApplyFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {} failed; {}", self.step, self.rollback)
    }
}

impl std::error::Error for ApplyFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

/// The journal could not be read or written, or does not belong to the request.
#[derive(Debug)]
pub struct JournalError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    before_any_change: bool,
}

impl JournalError {
    /// A journal error without an underlying cause.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), source: None, before_any_change: false }
    }
    /// A journal error caused by `source` (an `io::Error`, a JSON error...).
    pub fn with_source(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self { message: message.into(), source: Some(Box::new(source)), before_any_change: false }
    }
    /// Marks the error as raised before the run changed anything (a journal that cannot be
    /// opened, read or first written, or that belongs to another run): the request is refused
    /// and the account is as it was.
    #[must_use]
    pub fn before_any_change(mut self) -> Self {
        self.before_any_change = true;
        self
    }
    /// Whether the error came before the run changed anything (see [`Self::before_any_change`]).
    pub fn changed_nothing(&self) -> bool {
        self.before_any_change
    }
    /// The message (without the cause).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The underlying I/O error, when there is one.
    pub fn io_error(&self) -> Option<&std::io::Error> {
        self.source.as_deref().and_then(|e| e.downcast_ref::<std::io::Error>())
    }
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "journal: {}", self.message)
    }
}

impl std::error::Error for JournalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<&str> for JournalError {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for JournalError {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

/// A plan or journal names a step kind the caller did not register.
#[derive(Debug)]
pub struct UnregisteredStep {
    kind: String,
    registered: Vec<String>,
}

impl UnregisteredStep {
    pub(crate) fn new(kind: impl Into<String>, registered: Vec<String>) -> Self {
        Self { kind: kind.into(), registered }
    }
    /// The unknown kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }
}

impl fmt::Display for UnregisteredStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the plan or journal holds a step of kind {:?}, which is not registered (registered: {}); register it with ApplyOptions::steps(StepRegistry::new().register::<YourStep>({:?})) and run again; nothing was changed",
            self.kind,
            if self.registered.is_empty() { "none".to_owned() } else { self.registered.join(", ") },
            self.kind
        )
    }
}

impl std::error::Error for UnregisteredStep {}

/// The message of a call that ran out of time ([`crate::CallTimeouts`]).
const TIMED_OUT: &str = "no answer within the time limit (the call may have taken effect)";

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
        let timed_out = match &err {
            SdkError::TimeoutError(_) => true,
            SdkError::DispatchFailure(d) => d.is_timeout(),
            _ => false,
        };
        let (code, message) = match &err {
            SdkError::ServiceError(se) => (
                se.err().code().map(str::to_owned),
                se.err().message().map(str::to_owned),
            ),
            // The SDK's own text (which limit, after how long) follows as source().
            _ if timed_out => (None, Some(TIMED_OUT.to_owned())),
            // No word from the service: what happened is the SDK error itself, reachable as
            // source() (copying its text here would print it twice in a Report).
            _ => (None, None),
        };
        let kind = if timed_out { ErrorKind::Timeout } else { classify_code(code.as_deref()) };
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
    /// AWS's error message, when the service sent one; for a call that ran out of time, a
    /// message saying so ([`ErrorKind::Timeout`]).
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

/// Why [`first_deployment`](crate::deploy::first_deployment) refused to create a deployment. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeployRefused {
    kind: ErrorKind,
    reason: String,
    fix: String,
    pub(crate) active_deployment_id: Option<String>,
}

impl DeployRefused {
    pub(crate) fn new(kind: ErrorKind, reason: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { kind, reason: reason.into(), fix: fix.into(), active_deployment_id: None }
    }
    /// [`ErrorKind::Conflict`] (a deployment in flight), [`ErrorKind::NotFound`] (group or
    /// service missing) or [`ErrorKind::InvalidInput`] (the service cannot be deployed).
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// What is wrong.
    pub fn reason(&self) -> &str {
        &self.reason
    }
    /// What to do about it.
    pub fn fix(&self) -> &str {
        &self.fix
    }
    /// The deployment in flight in the group, when that is the reason.
    pub fn active_deployment_id(&self) -> Option<&str> {
        self.active_deployment_id.as_deref()
    }
}

impl fmt::Display for DeployRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "deploy refused: {}; {}", self.reason, self.fix)
    }
}


/// A run stopped on request ([`crate::cancel::CancelToken`]) before it finished.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} was stopped on request before it finished{}", if *.changed { "; its journal is unfinished: resume it or roll it back" } else { "; nothing was changed" })]
pub struct Cancelled {
    operation: String,
    changed: bool,
}

impl Cancelled {
    pub(crate) fn new(operation: impl Into<String>, changed: bool) -> Self {
        Self { operation: operation.into(), changed }
    }
    /// `apply`, `resume` or `rollback`.
    pub fn operation(&self) -> &str {
        &self.operation
    }
    /// Whether the run had begun changing the account (its journal is then unfinished).
    pub fn changed(&self) -> bool {
        self.changed
    }
}
