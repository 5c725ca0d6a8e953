//! Fault injection: which call fails, and how.

/// An error the mock account answers with instead of doing the call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InjectedError {
    /// `ThrottlingException` / `Throttling` (the service's own code), nothing changed.
    Throttling,
    /// `AccessDenied` / `AccessDeniedException`, nothing changed.
    AccessDenied,
    /// What CodeDeploy answers while a just-created role has not propagated yet
    /// (`InvalidRoleException`, "Cannot assume role provided"), nothing changed.
    IamRolePropagation,
    /// The request timed out before reaching the service: no answer, nothing changed.
    Timeout,
    /// The service did the call but the answer was lost (a timeout after the fact).
    ResponseLost,
    /// Any AWS error code and message, nothing changed.
    Aws {
        /// Error code, e.g. `LimitExceededException`.
        code: String,
        /// Message.
        message: String,
    },
}

impl InjectedError {
    /// An arbitrary AWS error.
    pub fn aws(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Aws { code: code.into(), message: message.into() }
    }

    /// The code and message this error carries for `operation`.
    pub(crate) fn code_and_message(&self, operation: &str) -> (String, String) {
        let query_protocol = is_query_protocol(operation);
        match self {
            Self::Throttling => (
                if query_protocol { "Throttling" } else { "ThrottlingException" }.to_owned(),
                "Rate exceeded (injected fault)".to_owned(),
            ),
            Self::AccessDenied => (
                if query_protocol { "AccessDenied" } else { "AccessDeniedException" }.to_owned(),
                format!("User is not authorized to perform: {operation} (injected fault)"),
            ),
            Self::IamRolePropagation => (
                "InvalidRoleException".to_owned(),
                "Cannot assume role provided (injected fault)".to_owned(),
            ),
            Self::Timeout | Self::ResponseLost => ("RequestTimeout".to_owned(), "injected timeout".to_owned()),
            Self::Aws { code, message } => (code.clone(), message.clone()),
        }
    }
}

/// ELBv2 and IAM speak the query protocol, whose error codes drop the `Exception` suffix.
fn is_query_protocol(operation: &str) -> bool {
    const ELB_IAM: &[&str] = &[
        "TargetGroup", "Listener", "LoadBalancer", "Rules", "Tags", "Role", "Policy", "Policies",
    ];
    ELB_IAM.iter().any(|w| operation.contains(w)) && !operation.contains("Deployment")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum When {
    NthCall { operation: String, n: usize },
    EveryCall { operation: String },
    NthMutation { n: usize },
}

/// Which call fails, and with what.
///
/// ```
/// use ecs_bluegreen::testing::{Fault, InjectedError};
/// let first_listener = Fault::nth_call("CreateListener", 1, InjectedError::Throttling);
/// let no_iam = Fault::every_call("CreateRole", InjectedError::AccessDenied);
/// let third_change = Fault::nth_mutation(3, InjectedError::ResponseLost);
/// # let _ = (first_listener, no_iam, third_change);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    when: When,
    error: InjectedError,
}

/// What `serve` does with one call.
pub(crate) enum Verdict {
    Proceed,
    Fail(InjectedError),
    Lose { applied: bool, error: InjectedError },
}

impl Fault {
    /// The `n`-th call (1-based) of `operation` fails.
    pub fn nth_call(operation: impl Into<String>, n: usize, error: InjectedError) -> Self {
        Self { when: When::NthCall { operation: operation.into(), n }, error }
    }

    /// Every call of `operation` fails.
    pub fn every_call(operation: impl Into<String>, error: InjectedError) -> Self {
        Self { when: When::EveryCall { operation: operation.into() }, error }
    }

    /// The `n`-th mutating call (1-based, any operation) fails.
    pub fn nth_mutation(n: usize, error: InjectedError) -> Self {
        Self { when: When::NthMutation { n }, error }
    }

    /// The error it injects.
    pub fn error(&self) -> &InjectedError {
        &self.error
    }

    /// Whether this fault hits a call; `seen` counts this fault's matching operation calls.
    pub(crate) fn verdict(&self, operation: &str, mutation_no: Option<usize>, seen: &mut usize) -> Option<Verdict> {
        let hit = match &self.when {
            When::NthCall { operation: op, n } if op == operation => {
                *seen += 1;
                *seen == *n
            }
            When::EveryCall { operation: op } => op == operation,
            When::NthMutation { n } => mutation_no == Some(*n),
            _ => false,
        };
        hit.then(|| match &self.error {
            InjectedError::Timeout => Verdict::Lose { applied: false, error: self.error.clone() },
            InjectedError::ResponseLost => Verdict::Lose { applied: true, error: self.error.clone() },
            e => Verdict::Fail(e.clone()),
        })
    }
}
