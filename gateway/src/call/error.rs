//! The errors of one call: an attempt at one provider ([`AttemptError`]), a forwarded call
//! over all its attempts ([`ForwardError`]), and a call from the edge ([`CallFailure`]). Each
//! has a [`Class`]; callers at the edge see its [`FailureKind`].

use std::fmt;
use std::time::Duration;

use super::class::{Class, FailureKind};

/// A provider's own report of why it failed a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteFailure {
    /// The failure class.
    pub class: Class,
    /// The node that failed it.
    pub node: String,
    /// What happened, in the node's words.
    pub message: String,
}

impl fmt::Display for RemoteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on node {}: {}", self.class, self.node, self.message)
    }
}

/// Why one attempt failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum AttemptError {
    /// The call never reached a provider (no connection, nothing subscribed).
    #[error("not delivered: {reason}")]
    NotSent {
        /// What went wrong.
        reason: String,
    },
    /// The connection broke or the results ended early while the call was in flight.
    #[error("lost in flight: {reason}")]
    Lost {
        /// What went wrong.
        reason: String,
        /// Whether some results had arrived.
        results_started: bool,
    },
    /// The provider reported a failure.
    #[error("{0}")]
    Remote(RemoteFailure),
    /// The results did not match the function's WIT types.
    #[error("the provider's results do not match the WIT: {reason}")]
    BadResults {
        /// The decoder's explanation.
        reason: String,
    },
    /// The parameters could not be encoded (a value that does not match the WIT).
    #[error("the parameters do not match the WIT: {reason}")]
    BadParams {
        /// The encoder's explanation.
        reason: String,
    },
    /// The attempt ran out of time.
    #[error("no answer within {after:?}")]
    Deadline {
        /// How long it ran.
        after: std::time::Duration,
    },
}

impl AttemptError {
    /// The failure's class.
    pub fn class(&self) -> Class {
        match self {
            AttemptError::NotSent { .. } => Class::Unreachable,
            AttemptError::Lost { .. } => Class::Lost,
            AttemptError::Remote(f) => f.class,
            AttemptError::BadResults { .. } => Class::BadResults,
            AttemptError::BadParams { .. } => Class::BadParams,
            AttemptError::Deadline { .. } => Class::Deadline,
        }
    }

    /// Whether the call certainly did not run at the provider, so that sending it elsewhere is
    /// safe even for a function that is not idempotent: it was not delivered, or the provider
    /// refused it (unknown function, no room). A provider that was reached and reports "no
    /// provider" or "unreachable" ran the call, and those came from an import deeper in the
    /// mesh; deeper refusals of the other kinds it reports as unreachable (see
    /// `host::CallError::class`).
    pub fn never_ran(&self) -> bool {
        match self {
            AttemptError::NotSent { .. } => true,
            AttemptError::Remote(f) => {
                matches!(f.class, Class::UnknownFunction | Class::Overloaded)
            }
            _ => false,
        }
    }

    /// Whether any result bytes had arrived when the attempt failed.
    pub fn results_started(&self) -> bool {
        matches!(
            self,
            AttemptError::Lost {
                results_started: true,
                ..
            }
        )
    }
}

/// Why a forwarded call failed, as the calling component's host sees it.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ForwardError {
    /// Nothing serves the instance.
    #[error("no provider of `{instance}` is available (looked in: {searched}); serve it on a node of the mesh, or add a [[routes]] entry or --route")]
    NoProvider {
        /// The imported instance.
        instance: String,
        /// Where the router looked.
        searched: String,
    },
    /// Every attempt failed, or the last failure could not be retried.
    #[error("`{instance}.{func}` via {provider} failed after {attempts} attempt(s): {last}")]
    Failed {
        /// The imported instance.
        instance: String,
        /// The function.
        func: String,
        /// The provider of the last attempt.
        provider: String,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's failure.
        last: AttemptError,
    },
    /// The call's deadline passed.
    #[error("`{instance}.{func}` got no answer within its deadline of {timeout:?} ({attempts} attempt(s), last via {provider})")]
    Deadline {
        /// The imported instance.
        instance: String,
        /// The function.
        func: String,
        /// The deadline.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
        /// The provider of the last attempt.
        provider: String,
    },
}

impl ForwardError {
    /// The failure class callers see.
    pub fn class(&self) -> Class {
        match self {
            ForwardError::NoProvider { .. } => Class::NoProvider,
            ForwardError::Failed { last, .. } => last.class(),
            ForwardError::Deadline { .. } => Class::Deadline,
        }
    }
}

/// A failed call: its kind, the wire class when a provider named one, and what happened.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct CallFailure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The failure class, when the call got as far as a transport.
    pub class: Option<Class>,
    /// The whole story, naming the function.
    pub message: String,
}

impl CallFailure {
    /// A value that does not match the WIT.
    pub fn bad_value(target: &str, why: impl std::fmt::Display) -> Self {
        CallFailure {
            kind: FailureKind::BadValue,
            class: Some(Class::BadParams),
            message: format!("{target}: {why}"),
        }
    }

    /// An instance or function that is not known.
    pub fn unknown(why: impl std::fmt::Display) -> Self {
        CallFailure {
            kind: FailureKind::Unknown,
            class: Some(Class::UnknownFunction),
            message: why.to_string(),
        }
    }

    /// A failed attempt at one server.
    pub fn from_attempt(target: &str, e: &AttemptError) -> Self {
        let class = e.class();
        let kind = FailureKind::of_class(class);
        let message = match e {
            // Nothing answered at all: for a plain wRPC server this is also what an unknown
            // function looks like, since nothing subscribes to its subject.
            AttemptError::NotSent { .. } => format!(
                "{target}: {e} (is a server running there, and does it serve this function?)"
            ),
            _ => format!("{target}: {e}"),
        };
        CallFailure {
            kind,
            class: Some(class),
            message,
        }
    }

    /// A failed call through this node's router.
    pub fn from_forward(target: &str, e: &ForwardError) -> Self {
        let class = e.class();
        CallFailure {
            kind: FailureKind::of_class(class),
            class: Some(class),
            message: format!("{target}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(class: Class) -> AttemptError {
        AttemptError::Remote(RemoteFailure {
            class,
            node: "b".into(),
            message: "m".into(),
        })
    }

    #[test]
    fn only_undelivered_or_refused_calls_never_ran() {
        assert!(AttemptError::NotSent { reason: "x".into() }.never_ran());
        assert!(remote(Class::Overloaded).never_ran());
        assert!(remote(Class::UnknownFunction).never_ran());
        // A provider that was reached and reports these ran the call; they came from deeper.
        assert!(!remote(Class::Unreachable).never_ran());
        assert!(!remote(Class::NoProvider).never_ran());
        assert!(!remote(Class::Trap).never_ran());
        let lost = AttemptError::Lost {
            reason: "x".into(),
            results_started: false,
        };
        assert!(!lost.never_ran());
    }
}
