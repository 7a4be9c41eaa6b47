//! Which exported signatures this host can carry across the component boundary: every value
//! type, resources, and a `stream<u8>` as the one parameter or the one result. Streams of
//! other elements and futures need a reader or writer of a Rust element type
//! (`StreamAny::try_into_stream_reader::<T>` in wasmtime 48 requires `T: Lift`), which a host
//! that learns its types from WIT at run time does not have, so such exports are refused when
//! the component loads, naming the function, rather than failing each call.

use witmesh_proto::{Func, Ty};

use crate::call::stream::is_byte_stream;

/// Why `func` cannot be served, or `None` when it can.
pub(super) fn refusal(func: &Func) -> Option<String> {
    let sides = [
        ("parameter", &func.params[..]),
        ("result", &func.results[..]),
    ];
    for (side, tys) in sides {
        if is_byte_stream(tys) {
            continue;
        }
        if let Some(t) = tys.iter().find(|t| has_future_or_stream(t)) {
            return Some(format!(
                "`{}.{}` passes `{t}` as a {side}: only a `stream<u8>` that is the one parameter \
                 or the one result can cross the component boundary (wasmtime 48 reads streams and \
                 futures only as a Rust element type, `StreamAny::try_into_stream_reader::<T>`)",
                func.instance, func.name
            ));
        }
    }
    None
}

fn has_future_or_stream(t: &Ty) -> bool {
    t.contains(&|t| matches!(t, Ty::Future(_) | Ty::Stream(_)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use witmesh_proto::WitSet;

    use super::refusal;

    #[test]
    fn only_a_lone_byte_stream_crosses() {
        let set = WitSet::from_wit_str(
            "b.wit",
            "package t:b@0.1.0;
             interface i {
               up: func(s: stream<u8>) -> u64;
               down: func(n: u64) -> stream<u8>;
               plain: func(v: list<u8>) -> string;
               words: func() -> stream<string>;
               later: func(f: future<u32>);
               two: func(a: stream<u8>, b: u32);
             }",
        )
        .unwrap();
        let f = |name: &str| set.func("t:b/i@0.1.0", name).unwrap();
        assert_eq!(refusal(&f("up")), None);
        assert_eq!(refusal(&f("down")), None);
        assert_eq!(refusal(&f("plain")), None);
        let words = refusal(&f("words")).unwrap();
        assert!(
            words.contains("`t:b/i@0.1.0.words` passes `stream<string>` as a result"),
            "{words}"
        );
        assert!(refusal(&f("later")).unwrap().contains("future<u32>"));
        assert!(refusal(&f("two")).unwrap().contains("as a parameter"));
    }
}
