//! A component's own streams, forwarded: the streamer component on sidecar A (built for the
//! async ABI) passes a `stream<u8>` it writes to the `witmesh:bytes` import and reads the one
//! `download` answers with, while a native wRPC provider on another node serves the import.

#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;

use witmesh_tests::components;
use witmesh_tests::harness::{http, NatsServer, Sidecar};
use witmesh_tests::native::{fnv1a, pattern, serve_bytes, FNV_START};

const RUN: &str = "/v1/call/witmesh:streamer/run@0.1.0";

/// Calls `run.FUNC(len, chunk)` through A's gateway; its `received` result as (len, hash).
async fn call(addr: SocketAddr, func: &str, len: u64, chunk: u32) -> Result<(u64, u32), String> {
    let path = format!("{RUN}/{func}");
    let a = tokio::task::spawn_blocking(move || {
        let args = format!(r#"{{"len": {len}, "chunk": {chunk}}}"#);
        http(addr, "POST", &path, &[], args.as_bytes())
    })
    .await
    .unwrap();
    if a.status != 200 {
        return Err(format!(
            "{}: {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        ));
    }
    let got = &a.json()["result"];
    Ok((
        got["len"].as_u64().unwrap(),
        u32::try_from(got["hash"].as_u64().unwrap()).unwrap(),
    ))
}

fn expected(len: u64) -> (u64, u32) {
    let data: Vec<u8> = (0..len).map(pattern).collect();
    (len, fnv1a(FNV_START, &data))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_components_streams_cross_to_a_provider_over_nats() {
    let nats = NatsServer::start();
    let (_wrpc, _announce) = serve_bytes(&nats.url, "bytes").await.unwrap();
    let a = Sidecar::node(
        &nats,
        "a",
        &[components::streamer()],
        &["--http", "127.0.0.1:0"],
        &[],
    );
    a.wait_for_log("discovered node bytes");
    let addr = a.ready.http.unwrap();

    // 5 MiB written by the component in 100,000-byte writes: the provider hashes what arrived.
    let len = 5 << 20;
    let got = call(addr, "send", len, 100_000).await;
    assert_eq!(got, Ok(expected(len)), "{}", a.logs());
    // 3 MiB read back by the component from the provider's stream.
    let got = call(addr, "fetch", 3 << 20, 65_536).await;
    assert_eq!(got, Ok(expected(3 << 20)), "{}", a.logs());
    // Empty both ways.
    assert_eq!(call(addr, "send", 0, 1).await, Ok(expected(0)));
    assert_eq!(call(addr, "fetch", 0, 1).await, Ok(expected(0)));
}
