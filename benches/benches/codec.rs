//! witmesh-proto's dynamic codec against the code `wit-bindgen-wrpc` 0.11 generates, on the
//! same values: one Criterion group per case and operation (`<case>-<op>`), each with the
//! functions `upstream` and `witmesh`. `cargo run -p witmesh-benches --bin ratios` tabulates the
//! results.
//!
//! Both sides encode by reference into a reused, cleared buffer. Decoding starts from the
//! encoded bytes: upstream's decoder consumes a `BytesMut` (prepared outside the timed section,
//! as a transport hands it over), witmesh's reads the same bytes as shared `Bytes` (byte lists
//! are sliced, not copied, as upstream's are); decoded values are dropped outside
//! the timed section on both sides.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tokio_util::codec::{Decoder as _, Encoder as _};
use witmesh_benches::{bytes_64k, point, point_value, points_1000, points_value, string_1k};
use witmesh_proto::codec::{decode_values_shared, encode_value, Limits};
use witmesh_proto::{Value, WitSet};
use witmesh_tests::every_type::witmesh::every_type::types::Point;
use witmesh_tests::{every_type_wit_dir, UpstreamIncoming, UpstreamOutgoing, ECHO_INSTANCE};
use wrpc_transport::{Decode, Encode};

/// Benches encode and decode of one case; `$ty` is the upstream Rust type.
macro_rules! bench_case {
    ($c:expr, $set:expr, $case:expr, $func:expr, $ty:ty, $rust:expr, $value:expr) => {{
        let c: &mut Criterion = $c;
        let f = $set.func(ECHO_INSTANCE, $func).unwrap();
        let ty = f.params[0].clone();
        let rust: $ty = $rust;
        let value: Value = $value;
        let limits = Limits::default();

        // The bytes both sides must agree on.
        let mut bytes = BytesMut::new();
        <&$ty as Encode<UpstreamOutgoing>>::Encoder::default()
            .encode(&rust, &mut bytes)
            .unwrap();
        let mut ours = BytesMut::new();
        encode_value(&ty, &value, &mut ours).unwrap();
        assert_eq!(bytes, ours, "{}: encodings differ", $case);
        let bytes = bytes.freeze();

        let mut g = c.benchmark_group(format!("{}-encode", $case));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        let mut buf = BytesMut::with_capacity(bytes.len());
        g.bench_function("upstream", |b| {
            b.iter(|| {
                buf.clear();
                <&$ty as Encode<UpstreamOutgoing>>::Encoder::default()
                    .encode(black_box(&rust), &mut buf)
                    .unwrap();
                black_box(&buf);
            })
        });
        g.bench_function("witmesh", |b| {
            b.iter(|| {
                buf.clear();
                encode_value(&ty, black_box(&value), &mut buf).unwrap();
                black_box(&buf);
            })
        });
        g.finish();

        let mut g = c.benchmark_group(format!("{}-decode", $case));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("upstream", |b| {
            b.iter_batched_ref(
                || BytesMut::from(&bytes[..]),
                |src| {
                    <$ty as Decode<UpstreamIncoming>>::Decoder::default()
                        .decode(src)
                        .unwrap()
                        .unwrap()
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_function("witmesh", |b| {
            b.iter_batched_ref(
                || (),
                |()| {
                    decode_values_shared(&f.params, &f.param_labels, black_box(&bytes), &limits)
                        .unwrap()
                },
                BatchSize::LargeInput,
            )
        });
        g.finish();
    }};
}

fn codec(c: &mut Criterion) {
    let set = WitSet::load(every_type_wit_dir()).unwrap();
    let p = point();
    bench_case!(c, set, "point", "echo-record", Point, p, point_value(&p));
    let s = string_1k();
    bench_case!(
        c,
        set,
        "string-1k",
        "echo-string",
        String,
        s.clone(),
        Value::String(s)
    );
    let raw = bytes_64k();
    bench_case!(
        c,
        set,
        "bytes-64k",
        "echo-bytes",
        bytes::Bytes,
        raw.clone(),
        Value::Bytes(raw)
    );
    let ps = points_1000();
    let v = points_value(&ps);
    bench_case!(c, set, "points-1000", "echo-list", Vec<Point>, ps, v);
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = codec
}
criterion_main!(benches);
