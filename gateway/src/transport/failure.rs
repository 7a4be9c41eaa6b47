//! Failure classes on the wire between witmesh peers.
//!
//! wRPC 0.29 has no error frame: a failed call just ends without results. Between witmesh
//! peers the class of a failure and a short message travel beside the call, so the caller can
//! tell a trap from a deadline from a dead provider. Upstream peers never see any of this:
//! over NATS it is a header the caller opts into, over QUIC a stream reset code that upstream
//! clients treat as any other reset.

use std::fmt;

/// NATS header carrying the caller's remaining deadline in milliseconds.
pub const HEADER_DEADLINE_MS: &str = "Witmesh-Deadline-Ms";
/// NATS header naming the subject a witmesh server publishes a failure to.
pub const HEADER_ERROR_TO: &str = "Witmesh-Error-To";
/// NATS header on a failure message: its class.
pub const HEADER_CLASS: &str = "Witmesh-Class";
/// NATS header on a failure message: the node that failed the call.
pub const HEADER_NODE: &str = "Witmesh-Node";

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
}
