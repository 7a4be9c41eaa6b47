//! Failure classes: why a call failed, as witmesh peers tell each other (over NATS in a
//! header, over QUIC as a stream reset code and a notice), and the few kinds a caller at the
//! edge acts on, each with its exit status (`witmesh call`) and HTTP status (the gateway).
//!
//! Upstream wRPC peers never see the classes: they treat the reset code as any other reset
//! and never ask for a report.

use std::fmt;

/// Longest failure message sent on the wire; longer ones are cut (on a char boundary).
pub const MAX_MESSAGE_BYTES: usize = 1024; // a sentence or two; the full story is in the failing node's log

/// QUIC reset codes for failure classes are this base plus the class number ("WM" in ASCII).
const QUIC_CODE_BASE: u32 = 0x574d_0000;

/// Why a call failed, as witmesh peers tell each other and callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// The parameters did not match the function's WIT types.
    BadParams,
    /// The instance or function is not served there.
    UnknownFunction,
    /// The component trapped.
    Trap,
    /// The call ran out of time.
    Deadline,
    /// The provider had no capacity for the call.
    Overloaded,
    /// Nothing serves the interface.
    NoProvider,
    /// A provider could not be reached; the call never started there.
    Unreachable,
    /// The connection to a provider broke while the call was in flight.
    Lost,
    /// The results did not match the function's WIT types.
    BadResults,
    /// Anything else (instantiation, unsupported values, internal errors).
    Internal,
}

impl Class {
    /// Every class, in code order.
    pub const ALL: [Class; 10] = [
        Class::BadParams,
        Class::UnknownFunction,
        Class::Trap,
        Class::Deadline,
        Class::Overloaded,
        Class::NoProvider,
        Class::Unreachable,
        Class::Lost,
        Class::BadResults,
        Class::Internal,
    ];

    /// The class's stable name, used in logs, headers and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::BadParams => "bad-params",
            Class::UnknownFunction => "unknown-function",
            Class::Trap => "trap",
            Class::Deadline => "deadline",
            Class::Overloaded => "overloaded",
            Class::NoProvider => "no-provider",
            Class::Unreachable => "unreachable",
            Class::Lost => "lost",
            Class::BadResults => "bad-results",
            Class::Internal => "internal",
        }
    }

    /// The class named `s`.
    pub fn parse(s: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The QUIC stream reset code that carries this class.
    pub fn quic_code(self) -> u32 {
        let n = Class::ALL.iter().position(|c| *c == self).unwrap_or(0);
        QUIC_CODE_BASE + n as u32
    }

    /// The class a QUIC reset code carries, when it is one of witmesh's.
    pub fn from_quic_code(code: u64) -> Option<Class> {
        let n = code.checked_sub(u64::from(QUIC_CODE_BASE))?;
        Class::ALL.get(usize::try_from(n).ok()?).copied()
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `message` cut to at most [`MAX_MESSAGE_BYTES`], on a char boundary.
pub fn bounded(message: &str) -> &str {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

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

    /// The kind a failure of `class` is to a caller.
    pub fn of_class(class: Class) -> Self {
        match class {
            Class::BadParams => FailureKind::BadValue,
            Class::UnknownFunction => FailureKind::Unknown,
            Class::Deadline => FailureKind::Deadline,
            Class::Overloaded | Class::NoProvider | Class::Unreachable => FailureKind::Unavailable,
            Class::Trap | Class::Lost | Class::BadResults | Class::Internal => FailureKind::Remote,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_trip_through_names_and_codes() {
        for c in Class::ALL {
            assert_eq!(Class::parse(c.as_str()), Some(c));
            assert_eq!(Class::from_quic_code(u64::from(c.quic_code())), Some(c));
        }
        assert_eq!(Class::from_quic_code(1), None);
        assert_eq!(Class::from_quic_code(u64::from(QUIC_CODE_BASE) + 99), None);
        assert_eq!(Class::parse("nope"), None);
    }

    #[test]
    fn messages_are_cut_on_char_boundaries() {
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_MESSAGE_BYTES);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(bounded("short"), "short");
    }

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
