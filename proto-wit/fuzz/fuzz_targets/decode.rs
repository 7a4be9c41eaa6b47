//! Decodes arbitrary bytes as the parameters of a function of the every-type WIT: whole and in
//! two pieces, which must agree, and what decodes must re-encode to the bytes it came from
//! (modulo non-minimal LEB128, which peers may send and witmesh re-encodes minimally).

#![no_main]

use std::sync::{Arc, OnceLock};

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use witmesh_proto::codec::{decode_values, encode_values, Limits, ValuesDecoder};
use witmesh_proto::{Func, WitSet};

fn funcs() -> &'static [Func] {
    static FUNCS: OnceLock<Vec<Func>> = OnceLock::new();
    FUNCS.get_or_init(|| {
        let src = include_str!("../../../tests/wit/every-type/every-type.wit");
        let set = WitSet::from_wit_str("every-type.wit", src).expect("every-type WIT loads");
        set.instances()
            .iter()
            .filter(|(name, _)| name == "witmesh:every-type/echo@0.1.0")
            .flat_map(|(name, fs)| {
                fs.iter()
                    .map(|f| Func::new(&set, name, f))
                    .collect::<Vec<_>>()
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let funcs = funcs();
    let func = &funcs[selector as usize % funcs.len()];
    let limits = Limits {
        max_call_bytes: 1 << 16,
        max_string_bytes: 1 << 12,
        max_list_len: 1 << 10,
        max_depth: 16,
    };
    let whole = decode_values(&func.params, &func.param_labels, rest, &limits);

    let cut = rest.len() / 2;
    let params: Arc<[_]> = func.params.clone();
    let mut dec = ValuesDecoder::new(params, func.param_labels.clone(), limits);
    let mut buf = BytesMut::from(&rest[..cut]);
    let mut pieces = dec.decode(&mut buf);
    if let Ok(None) = pieces {
        buf.extend_from_slice(&rest[cut..]);
        pieces = dec.decode(&mut buf);
    }

    // Values are compared through their encodings: NaN is not equal to itself.
    let encode = |values: &[witmesh_proto::Value]| {
        let mut out = BytesMut::new();
        encode_values(&func.params, &func.param_labels, values, &mut out).expect("re-encodes");
        out
    };
    if let Ok(values) = whole {
        let Ok(Some(from_pieces)) = pieces else {
            panic!("whole decoded but pieces gave {pieces:?}");
        };
        let bytes = encode(&values);
        assert_eq!(encode(&from_pieces), bytes, "pieces disagree with whole");
        let again = decode_values(&func.params, &func.param_labels, &bytes, &limits).expect("decodes");
        assert_eq!(encode(&again), bytes);
    }
});
