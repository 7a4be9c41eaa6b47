//! A component's own streams, forwarded: the streamer component on sidecar A (built for the
//! async ABI) passes a `stream<u8>` it writes to the `witmesh:bytes` import and reads the one
//! `download` answers with, while a native wRPC provider on another node serves the import.

#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use witmesh_tests::components;
use witmesh_tests::harness::{http, metric, witmesh_bin, NatsServer, Sidecar};
use witmesh_tests::native::{
    announce_ghost, fnv1a, pattern, serve_bytes, serve_bytes_quic, serve_greeter,
    serve_tearing_bytes, NativeGreeter, TearingBytes, BYTES_INSTANCE, FNV_START,
};

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

/// Starts sidecar `id` serving the streamer component with its HTTP gateway, plus `extra`.
fn streamer_node(nats: &NatsServer, id: &str, extra: &[&str], env: &[(&str, &str)]) -> Sidecar {
    let mut args = vec!["--http", "127.0.0.1:0"];
    args.extend(extra);
    Sidecar::node(nats, id, &[components::streamer()], &args, env)
}

fn expected(len: u64) -> (u64, u32) {
    let data: Vec<u8> = (0..len).map(pattern).collect();
    (len, fnv1a(FNV_START, &data))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_components_streams_cross_to_a_provider_over_nats() {
    let nats = NatsServer::start();
    let (_wrpc, _announce) = serve_bytes(&nats.url, "bytes").await.unwrap();
    let _greeter = serve_greeter(&nats.url, "greeter", NativeGreeter("Hi"))
        .await
        .unwrap();
    let a = streamer_node(
        &nats,
        "a",
        &["--route", "local:greeter-demo/greet=nats:greeter"],
        &[],
    );
    a.wait_for_log("discovered node bytes");
    let addr = a.ready.http.unwrap();

    // An async import that passes plain values.
    let a2 = tokio::task::spawn_blocking(move || {
        http(
            addr,
            "POST",
            &format!("{RUN}/hello"),
            &[],
            br#"{"name": "async"}"#,
        )
    })
    .await
    .unwrap();
    assert_eq!(a2.status, 200, "{}", String::from_utf8_lossy(&a2.body));
    assert_eq!(a2.json()["result"], "Hi, async!");

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_components_streams_cross_to_a_provider_over_quic() {
    let nats = NatsServer::start();
    let provider = serve_bytes_quic().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("provider.pem");
    std::fs::write(&ca, &provider.cert_pem).unwrap();
    let route = format!("{BYTES_INSTANCE}=quic://{}", provider.addr);
    let a = streamer_node(
        &nats,
        "a",
        &["--route", &route, "--ca", ca.to_str().unwrap()],
        &[],
    );
    let addr = a.ready.http.unwrap();
    let len = 4 << 20;
    assert_eq!(
        call(addr, "send", len, 1 << 16).await,
        Ok(expected(len)),
        "{}",
        a.logs()
    );
    assert_eq!(call(addr, "fetch", len, 1000).await, Ok(expected(len)));
    // Several at once on the one connection.
    let calls = (0..8u64).map(|i| async move {
        let len = (i + 1) * 100_000;
        let func = if i % 2 == 0 { "send" } else { "fetch" };
        (len, call(addr, func, len, 30_000).await)
    });
    for (len, got) in futures::future::join_all(calls).await {
        assert_eq!(got, Ok(expected(len)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_is_sent_again_only_when_the_call_never_ran_and_only_whole() {
    let nats = NatsServer::start();
    // Two announced providers that nothing serves (no responders: provably never reached)
    // beside one that works: every call succeeds within its three attempts, the failed ones
    // sent again elsewhere with the stream whole (its first bytes kept for that).
    let mut ghosts = Vec::new();
    for g in ["ghost1", "ghost2"] {
        ghosts.push(announce_ghost(&nats.url, g, BYTES_INSTANCE).await.unwrap());
    }
    let (_wrpc, _announce) = serve_bytes(&nats.url, "bytes").await.unwrap();
    let a = streamer_node(&nats, "a", &["--admin", "127.0.0.1:0"], &[]);
    for node in ["ghost1", "ghost2", "bytes"] {
        a.wait_for_log(&format!("discovered node {node}"));
    }
    let addr = a.ready.http.unwrap();
    for i in 0..12u64 {
        let len = 300_000 + i;
        let got = call(addr, "send", len, 7_000).await;
        assert_eq!(got, Ok(expected(len)), "call {i}\n{}", a.logs());
    }
    let retried = metric(
        a.ready.admin.unwrap(),
        "witmesh_retries_total",
        &["function=\"upload\""],
    );
    assert!(retried.unwrap_or(0.0) >= 1.0, "no ghost was ever tried");
    for g in ghosts {
        g.abort();
    }

    // A provider that reads a stream in part and then fails: even marked idempotent, the
    // upload is not sent again (its bytes are gone), and the caller hears why. `download`,
    // which takes no stream, is retried as an idempotent call.
    let torn_nats = NatsServer::start();
    let torn = TearingBytes::default();
    let _torn = serve_tearing_bytes(&torn_nats.url, "torn", torn.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("witmesh.toml");
    std::fs::write(
        &cfg,
        format!(
            "[mesh]\nidempotent = [\"{BYTES_INSTANCE}.*\"]\nmax_attempts = 3\nbreaker_failures = 100000\nbackoff_base = \"1ms\"\nbackoff_max = \"2ms\"\n"
        ),
    )
    .unwrap();
    let b = streamer_node(&torn_nats, "b", &["--config", cfg.to_str().unwrap()], &[]);
    b.wait_for_log("discovered node torn");
    let addr = b.ready.http.unwrap();
    let err = call(addr, "send", 1 << 20, 1 << 16).await.unwrap_err();
    assert!(err.contains("upload"), "{err}");
    assert_eq!(
        torn.uploads.load(Ordering::SeqCst),
        1,
        "the upload ran twice"
    );
    let err = call(addr, "fetch", 10, 10).await.unwrap_err();
    assert!(err.contains("download"), "{err}");
    assert_eq!(torn.downloads.load(Ordering::SeqCst), 3);

    // The streamer's own call ran before its import failed, so the gateway does not run it
    // again on account of the import's "unreachable".
    let c = streamer_node(
        &torn_nats,
        "c",
        &[
            "--route",
            &format!("{BYTES_INSTANCE}=nats:nobody"),
            "--route",
            "local:greeter-demo/greet=nats:nobody",
        ],
        &[("WITMESH_MESH__DISCOVERY", "false")],
    );
    let err = call(c.ready.http.unwrap(), "send", 10, 10)
        .await
        .unwrap_err();
    assert!(err.contains("no responders"), "{err}");
    assert!(
        err.contains("run@0.1.0.send` via local:witmesh_test_streamer failed after 1 attempt(s)"),
        "{err}"
    );

    // A streaming import keeps its own deadline (`[mesh] timeouts`), shorter than the call's.
    let slow = TearingBytes {
        stall: true,
        ..TearingBytes::default()
    };
    let _slow = serve_tearing_bytes(&torn_nats.url, "slow", slow.clone())
        .await
        .unwrap();
    let cfg = dir.path().join("slow.toml");
    std::fs::write(
        &cfg,
        format!("[mesh]\ndiscovery = false\n[mesh.timeouts]\n\"{BYTES_INSTANCE}.download\" = \"300ms\"\n"),
    )
    .unwrap();
    let d = streamer_node(
        &torn_nats,
        "d",
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--route",
            &format!("{BYTES_INSTANCE}=nats:slow"),
            "--route",
            "local:greeter-demo/greet=nats:nobody",
        ],
        &[],
    );
    let started = std::time::Instant::now();
    let err = call(d.ready.http.unwrap(), "fetch", 10, 10)
        .await
        .unwrap_err();
    assert!(err.contains("deadline"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the import ran past its 300 ms deadline: {:?}",
        started.elapsed()
    );
    assert_eq!(slow.downloads.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_on_another_node_reads_the_stream_over_nats_and_quic() {
    let nats = NatsServer::start();
    let b = Sidecar::node(&nats, "b", &[components::sink()], &[], &[]);
    let greet = ["--route", "local:greeter-demo/greet=nats:nobody"];
    let a = streamer_node(&nats, "a", &greet, &[]);
    a.wait_for_log("discovered node b");
    let addr = a.ready.http.unwrap();
    let len = 3 << 20;
    assert_eq!(
        call(addr, "send", len, 50_000).await,
        Ok(expected(len)),
        "{}\n{}",
        a.logs(),
        b.logs()
    );
    assert_eq!(call(addr, "send", 0, 1).await, Ok(expected(0)));
    // B's component answers `download` with a stream it writes after returning.
    assert_eq!(
        call(addr, "fetch", len, 10_000).await,
        Ok(expected(len)),
        "{}",
        b.logs()
    );

    // Over QUIC: trusting B's certificate, discovery gives A B's QUIC address.
    let cert = b.dir.path().join(".witmesh/dev-cert.pem");
    let mut args = greet.to_vec();
    args.extend(["--ca", cert.to_str().unwrap()]);
    let q = streamer_node(&nats, "q", &args, &[]);
    q.wait_for_log("discovered node b");
    let addr = q.ready.http.unwrap();
    let calls = (0..4u64).map(|i| async move {
        let len = (i + 1) * 700_000;
        (len, call(addr, "send", len, 64 << 10).await)
    });
    for (len, got) in futures::future::join_all(calls).await {
        assert_eq!(got, Ok(expected(len)), "{}", q.logs());
    }
    assert_eq!(
        call(addr, "fetch", 1 << 20, 4096).await,
        Ok(expected(1 << 20)),
        "{}",
        q.logs()
    );
}

/// `witmesh call` of B's sink `download`, over NATS or QUIC: exit status, stdout, stderr.
fn call_download(b: &Sidecar, quic: bool, len: u64, chunk: u32) -> std::process::Output {
    let cert = b.dir.path().join(".witmesh/dev-cert.pem");
    let target = format!("{BYTES_INSTANCE}.download");
    let (len, chunk) = (len.to_string(), chunk.to_string());
    let mut args = vec!["call".to_owned()];
    if quic {
        args.extend([
            "--quic".into(),
            b.ready.quic.unwrap().to_string(),
            "--ca".into(),
            cert.to_str().unwrap().to_owned(),
        ]);
    } else {
        args.extend([
            "--nats".into(),
            b.ready.nats.clone().unwrap(),
            "--prefix".into(),
            "b".into(),
        ]);
    }
    args.extend([target, len, chunk]);
    std::process::Command::new(witmesh_bin())
        .args(&args)
        .output()
        .unwrap()
}

#[test]
fn a_components_result_stream_reaches_witmesh_call_and_the_gateway_whole_or_cut() {
    let nats = NatsServer::start();
    let b = Sidecar::node(
        &nats,
        "b",
        &[components::sink()],
        &["--http", "127.0.0.1:0"],
        &[],
    );
    let len = 8u64 << 20;
    let whole: Vec<u8> = (0..len).map(pattern).collect();
    for quic in [false, true] {
        let got = call_download(&b, quic, len, 65_536);
        assert!(
            got.status.success(),
            "quic={quic}: {}\n{}",
            String::from_utf8_lossy(&got.stderr),
            b.logs()
        );
        assert_eq!(got.stdout.len() as u64, len, "quic={quic}");
        assert!(got.stdout == whole, "quic={quic}: the bytes differ");

        // Cut midway by a trap: an error and a failing exit, never a short success.
        let cut = call_download(&b, quic, len, u32::MAX);
        assert!(!cut.status.success(), "quic={quic}: a cut stream exited 0");
        assert!((cut.stdout.len() as u64) < len);
        let err = String::from_utf8_lossy(&cut.stderr);
        assert!(err.contains("stream"), "quic={quic}: {err}");
    }
    b.wait_for_log("a result stream was cut before its end");

    // Through the gateway of the component's own node (in-process) and of another node
    // (over wRPC): a raw body, streamed.
    let g = Sidecar::node(&nats, "g", &[], &["--http", "127.0.0.1:0"], &[]);
    g.wait_for_log("discovered node b");
    for (node, gateway) in [("b", &b), ("g", &g)] {
        let addr = gateway.ready.http.unwrap();
        let download = |chunk: u32| {
            let args = format!(r#"{{"len": {len}, "chunk": {chunk}}}"#);
            http(
                addr,
                "POST",
                &format!("/v1/call/{BYTES_INSTANCE}/download"),
                &[],
                args.as_bytes(),
            )
        };
        let a = download(100_000);
        assert_eq!(
            a.status,
            200,
            "{node}: {}",
            String::from_utf8_lossy(&a.body)
        );
        assert_eq!(a.header("content-type"), Some("application/octet-stream"));
        assert!(a.complete, "{node}");
        assert!(
            a.body == whole,
            "{node}: the gateway's body differs ({} bytes)",
            a.body.len()
        );
        let cut = download(u32::MAX);
        assert!(!cut.complete, "{node}: a cut stream ended as a whole body");
        assert!((cut.body.len() as u64) < len, "{node}");
    }
}
