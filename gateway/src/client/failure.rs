//! Why a call from the edge failed, in the few kinds a caller acts on, each with its exit
//! status (`witmesh call`) and HTTP status (the gateway).

use crate::route::ForwardError;
use crate::transport::failure::Class;
use crate::transport::AttemptError;

/// What kind of failure a caller sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// A value does not match the function's WIT types.
    BadValue,
    /// The instance or function is not known or not served.
    Unknown,
    /// Nothing could be reached to serve the call.
    Unavailable,
    /// The call ran out of time.
    Deadline,
    /// The remote side failed the call (a trap, bad results, an internal error), or the
    /// connection broke while it ran.
    Remote,
}

impl FailureKind {
    /// The exit status of `witmesh call` (sysexits where one fits).
    pub fn exit_status(self) -> u8 {
        match self {
            FailureKind::BadValue => 65,    // EX_DATAERR
            FailureKind::Unknown => 66,     // EX_NOINPUT: no such function
            FailureKind::Unavailable => 69, // EX_UNAVAILABLE
            FailureKind::Remote => 70,      // EX_SOFTWARE: it failed over there
            FailureKind::Deadline => 75,    // EX_TEMPFAIL
        }
    }

    /// The gateway's HTTP status.
    pub fn http_status(self) -> u16 {
        match self {
            FailureKind::BadValue => 400,
            FailureKind::Unknown => 404,
            FailureKind::Unavailable => 503,
            FailureKind::Deadline => 504,
            FailureKind::Remote => 502,
        }
    }

    /// A short stable name, for problem documents and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::BadValue => "bad-value",
            FailureKind::Unknown => "unknown",
            FailureKind::Unavailable => "unavailable",
            FailureKind::Deadline => "deadline",
            FailureKind::Remote => "remote-failure",
        }
    }

    /// The kind named `s` (as in a gateway problem document's `kind`).
    pub fn parse(s: &str) -> Option<Self> {
        [
            FailureKind::BadValue,
            FailureKind::Unknown,
            FailureKind::Unavailable,
            FailureKind::Deadline,
            FailureKind::Remote,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    fn of_class(class: Class) -> Self {
        match class {
            Class::BadParams => FailureKind::BadValue,
            Class::UnknownFunction => FailureKind::Unknown,
            Class::Deadline => FailureKind::Deadline,
            Class::Overloaded | Class::NoProvider | Class::Unreachable => FailureKind::Unavailable,
            Class::Trap | Class::Lost | Class::BadResults | Class::Internal => FailureKind::Remote,
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
        let kind = match e {
            // Nothing answered at all: for a plain wRPC server this is also what an unknown
            // function looks like, since nothing subscribes to its subject.
            AttemptError::NotSent { .. } => FailureKind::Unavailable,
            _ => FailureKind::of_class(class),
        };
        let message = match e {
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

    #[test]
    fn every_class_has_a_kind_with_distinct_statuses() {
        for c in Class::ALL {
            let k = FailureKind::of_class(c);
            assert!(k.exit_status() > 1);
            assert!(k.http_status() >= 400);
        }
        let kinds = [
            FailureKind::BadValue,
            FailureKind::Unknown,
            FailureKind::Unavailable,
            FailureKind::Deadline,
            FailureKind::Remote,
        ];
        let mut exits: Vec<u8> = kinds.iter().map(|k| k.exit_status()).collect();
        exits.dedup();
        assert_eq!(exits.len(), kinds.len());
        assert_eq!(FailureKind::of_class(Class::Trap).http_status(), 502);
        assert_eq!(FailureKind::of_class(Class::Deadline).http_status(), 504);
        assert_eq!(FailureKind::of_class(Class::NoProvider).http_status(), 503);
    }
}
