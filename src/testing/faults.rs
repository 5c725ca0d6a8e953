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
    /// The service did the call, its answer was lost, and the SDK's retry sent the call again:
    /// the caller gets the second attempt's answer ("already exists" for a create, "not found"
    /// for a delete). What a client with retries on meets after a lost answer; the kit's
    /// clients have retries off, so this fault plays the retry inside the account (the retry
    /// is recorded as a second call).
    LostAnswer,
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

    /// The code and message this error carries for `operation` of the account's services.
    pub(crate) fn code_and_message(&self, operation: &str) -> (String, String) {
        self.code_and_message_in(operation, is_query_protocol(operation))
    }

    /// The code and message this error carries for `operation` of a service speaking the
    /// query protocol (codes without the `Exception` suffix) or not.
    pub(crate) fn code_and_message_in(&self, operation: &str, query_protocol: bool) -> (String, String) {
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
            Self::Timeout | Self::ResponseLost | Self::LostAnswer => ("RequestTimeout".to_owned(), "injected timeout".to_owned()),
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
/// Operations are named as AWS names them (`CreateListener`, not `create_listener`).
/// [`MockAccount::inject`](super::MockAccount::inject) refuses a name the account does not
/// know, so a misspelt fault cannot silently never fire.
///
/// ```
/// use ecs_bluegreen::testing::{Fault, InjectedError, MockAccount};
/// let account = MockAccount::default_scenario();
/// account
///     .inject(Fault::nth_call("CreateListener", 1, InjectedError::Throttling))
///     .inject(Fault::every_call("CreateRole", InjectedError::AccessDenied))
///     .inject(Fault::nth_mutation(3, InjectedError::ResponseLost));
/// let misspelt = account.try_inject(Fault::nth_call("CreateListner", 1, InjectedError::Throttling));
/// assert_eq!(misspelt.unwrap_err().close_matches(), ["CreateListener"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    when: When,
    error: InjectedError,
}

/// What happens to one call.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    Proceed,
    Fail(InjectedError),
    Lose { applied: bool, error: InjectedError },
    /// Done, answer lost, done again by the retry, whose answer the caller gets.
    Retried(InjectedError),
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

    /// The operation it names (`None`: [`Fault::nth_mutation`], any operation).
    pub fn operation(&self) -> Option<&str> {
        match &self.when {
            When::NthCall { operation, .. } | When::EveryCall { operation } => Some(operation),
            When::NthMutation { .. } => None,
        }
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
            InjectedError::LostAnswer => Verdict::Retried(self.error.clone()),
            e => Verdict::Fail(e.clone()),
        })
    }
}

/// A fault named an operation the mock account does not know (see
/// [`MockAccount::try_inject`](super::MockAccount::try_inject)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownOperation {
    operation: String,
    close_matches: Vec<String>,
    known: Vec<String>,
}

impl UnknownOperation {
    /// Checks `operation` against the names the account knows (a name is known only as
    /// spelt, case included).
    pub(crate) fn check<'a>(operation: &str, known: impl IntoIterator<Item = &'a str>) -> Result<(), Self> {
        let mut known: Vec<String> = known.into_iter().map(str::to_owned).collect();
        known.sort();
        if known.iter().any(|k| k == operation) {
            return Ok(());
        }
        let mut close: Vec<(usize, &String)> = known
            .iter()
            .map(|k| (edit_distance(&operation.to_lowercase(), &k.to_lowercase()), k))
            .filter(|(d, k)| *d <= (k.len() / 4).max(2))
            .collect();
        close.sort();
        let close_matches = close.into_iter().map(|(_, k)| k.clone()).collect();
        Err(Self { operation: operation.to_owned(), close_matches, known })
    }

    /// The name the fault gave.
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// Known names close to it (a few edits away, case aside), closest first.
    pub fn close_matches(&self) -> &[String] {
        &self.close_matches
    }

    /// Every name the account knows, sorted.
    pub fn known(&self) -> &[String] {
        &self.known
    }
}

impl std::fmt::Display for UnknownOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the mock account knows no operation `{}`", self.operation)?;
        match self.close_matches.as_slice() {
            [] => write!(f, "; it knows: {}", self.known.join(", "))?,
            close => write!(f, "; did you mean {}?", close.join(" or "))?,
        }
        f.write_str(" (declare the operations your own clients call: MockAccount::declare_operations)")
    }
}

impl std::error::Error for UnknownOperation {}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: [&str; 4] = ["CreateListener", "DeleteListener", "CreateRole", "DescribeServices"];

    #[test]
    fn a_known_name_passes_and_a_misspelt_one_names_its_close_matches() {
        assert_eq!(UnknownOperation::check("CreateListener", KNOWN), Ok(()));
        let err = UnknownOperation::check("CreateListner", KNOWN).unwrap_err();
        assert_eq!(err.close_matches(), ["CreateListener"]);
        assert!(err.to_string().contains("did you mean CreateListener?"), "{err}");
        let err = UnknownOperation::check("create_listener", KNOWN).unwrap_err();
        assert_eq!(err.close_matches(), ["CreateListener"], "snake case is one edit from the lower-cased name");
        let err = UnknownOperation::check("PutObject", KNOWN).unwrap_err();
        assert!(err.close_matches().is_empty());
        assert!(err.to_string().contains("it knows: CreateListener, CreateRole, DeleteListener, DescribeServices"), "{err}");
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("CreateListner", "CreateListener"), 1);
    }
}
