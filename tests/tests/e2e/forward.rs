//! The mesh end to end: separate sidecar processes, a real nats-server, QUIC with TLS, real
//! components and native wRPC peers. Sidecar A serves the relay component, whose imports
//! witmesh forwards to the greeter and faults components (or native servers) elsewhere.

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use witmesh::call::AttemptError;
use witmesh::call::Class;
use witmesh::transport::nats::NatsOut;
use witmesh_proto::codec::Limits;
use witmesh_proto::{Value, WitSet};
use witmesh_tests::components;
use witmesh_tests::faults_client::witmesh::faults::faults;
use witmesh_tests::harness::{
    path, quic_client, wait_until, write_config, NatsServer, Sidecar, READY_TIMEOUT,
};
use witmesh_tests::native::{serve_greeter, serve_raw, NativeGreeter};
use witmesh_tests::relay_client::witmesh::relay::relay;
use witmesh_tests::vclient_client::witmesh::vclient::which;

const RELAY: &str = "witmesh:relay/relay@0.1.0";
const FAULTS: &str = "witmesh:faults/faults@0.1.0";
const GREET: &str = "local:greeter-demo/greet";

/// A provider sidecar `id` serving greeter and faults over NATS (prefix = id) and QUIC.
fn provider(nats: &NatsServer, id: &str, env: &[(&str, &str)]) -> Sidecar {
    Sidecar::start_with_env(
        &[
            "--component",
            path(components::greeter()),
            "--component",
            path(components::faults()),
            "--nats",
            &nats.url,
            "--nats-prefix",
            id,
            "--quic",
            "127.0.0.1:0",
            "--node-id",
            id,
        ],
        env,
    )
}

/// A relay sidecar `a` with extra arguments (routes, config) and environment.
fn relay_sidecar(nats: Option<&NatsServer>, extra: &[&str], env: &[(&str, &str)]) -> Sidecar {
    let mut args = vec![
        "--component",
        path(components::relay()),
        "--quic",
        "127.0.0.1:0",
        "--node-id",
        "a",
    ];
    if let Some(n) = nats {
        args.extend(["--nats", n.url.as_str(), "--nats-prefix", "a"]);
    }
    args.extend(extra);
    Sidecar::start_with_env(&args, env)
}

const NO_DISCOVERY: (&str, &str) = ("WITMESH_MESH__DISCOVERY", "false");

#[tokio::test(flavor = "multi_thread")]
async fn forwards_imports_over_nats_over_quic_and_to_a_native_server() {
    let nats = NatsServer::start();
    let b = provider(&nats, "b", &[NO_DISCOVERY]);

    // Over NATS, by --route.
    let over_nats = relay_sidecar(
        Some(&nats),
        &[
            "--route",
            &format!("{GREET}=nats:b"),
            "--route",
            &format!("{FAULTS}=nats:b"),
        ],
        &[NO_DISCOVERY],
    );
    let client = quic_client(&over_nats).await;
    assert_eq!(
        relay::greet(&client, (), "mesh").await.unwrap(),
        "Hello, mesh!"
    );
    assert_eq!(relay::ok(&client, (), 41).await.unwrap(), 42);

    // Over QUIC, trusting B's development certificate.
    let b_cert = b.dir.path().join(".witmesh/dev-cert.pem");
    let b_quic = format!("quic://{}", b.ready.quic.unwrap());
    let over_quic = relay_sidecar(
        None,
        &[
            "--route",
            &format!("{GREET}={b_quic}"),
            "--route",
            &format!("{FAULTS}={b_quic}"),
            "--ca",
            b_cert.to_str().unwrap(),
        ],
        &[],
    );
    let client = quic_client(&over_quic).await;
    assert_eq!(
        relay::greet(&client, (), "quic").await.unwrap(),
        "Hello, quic!"
    );
    assert_eq!(relay::ok(&client, (), 1).await.unwrap(), 2);

    // To a native wit-bindgen-wrpc server: WIT without WebAssembly.
    let _native = serve_greeter(&nats.url, "native", NativeGreeter("Native hello"))
        .await
        .unwrap();
    let to_native = relay_sidecar(
        Some(&nats),
        &[
            "--route",
            &format!("{GREET}=nats:native"),
            "--route",
            &format!("{FAULTS}=nats:b"),
        ],
        &[NO_DISCOVERY],
    );
    let client = quic_client(&to_native).await;
    assert_eq!(
        relay::greet(&client, (), "rust").await.unwrap(),
        "Native hello, rust!"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn co_located_components_are_linked_in_process_without_a_network() {
    // No NATS, no routes, no peers: the relay's imports can only be served in-process.
    let s = Sidecar::start(&[
        "--component",
        path(components::relay()),
        "--component",
        path(components::greeter()),
        "--component",
        path(components::faults()),
        "--quic",
        "127.0.0.1:0",
    ]);
    s.wait_for_log(&format!("forwarding import {GREET}"));
    let client = quic_client(&s).await;
    assert_eq!(
        relay::greet(&client, (), "local").await.unwrap(),
        "Hello, local!"
    );
    assert_eq!(relay::mark(&client, (), 7).await.unwrap(), 7);
    s.wait_for_log("mark 7");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_nothing_can_serve_fails_at_start_naming_it() {
    let out = std::process::Command::new(witmesh_tests::harness::witmesh_bin())
        .args([
            "up",
            "--component",
            path(components::relay()),
            "--quic",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "info")
        .current_dir(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(GREET) && err.contains(FAULTS), "{err}");
}

/// Calls `func` of the relay on sidecar A over NATS as a witmesh peer does, so the failure
/// report comes back with the class.
async fn call_as_peer(
    nats_url: &str,
    prefix: &str,
    func: &str,
    params: Vec<Value>,
) -> Result<Vec<Value>, AttemptError> {
    let wit = WitSet::load(witmesh_tests::wit_dir("relay")).unwrap();
    let f = wit.func(RELAY, func).unwrap();
    let out = NatsOut::new(async_nats::connect(nats_url).await.unwrap());
    let params = witmesh::transport::call::encode_params(&f, &params).unwrap();
    out.attempt(
        prefix,
        RELAY,
        &f,
        params,
        Limits::default(),
        Duration::from_secs(20),
    )
    .await
}

fn remote(e: AttemptError) -> witmesh::call::RemoteFailure {
    match e {
        AttemptError::Remote(f) => f,
        other => panic!("expected a failure report, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failure_classes_and_messages_reach_callers_across_hops() {
    let nats = NatsServer::start();
    let b = provider(&nats, "b", &[NO_DISCOVERY]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        &dir,
        &format!(
            "[nats]\nenabled = true\nurl = \"{}\"\n\n[mesh]\ndiscovery = false\n[mesh.timeouts]\n\"{FAULTS}.sleep\" = \"500ms\"\n\n[[routes]]\ninstance = \"{GREET}\"\nvia = \"nats\"\nnats_prefix = \"b\"\n\n[[routes]]\ninstance = \"{FAULTS}\"\nvia = \"nats\"\nnats_prefix = \"b\"\n",
            nats.url
        ),
    );
    let _a = relay_sidecar(Some(&nats), &["--config", &cfg], &[]);

    // A trap in B's component reaches A's caller as a trap, with B's message.
    let trap = remote(
        call_as_peer(&nats.url, "a", "trap", vec![])
            .await
            .unwrap_err(),
    );
    assert_eq!(trap.class, Class::Trap, "{trap}");
    assert!(
        trap.message.contains("on node b") && trap.message.contains("faults"),
        "{trap}"
    );

    // A deadline: A gives up at its 500 ms deadline; B was told the reduced budget.
    let start = Instant::now();
    let late = remote(
        call_as_peer(&nats.url, "a", "sleep", vec![Value::U64(5000)])
            .await
            .unwrap_err(),
    );
    assert_eq!(late.class, Class::Deadline, "{late}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    b.wait_for_log("class=\"deadline\"");
    let budget = b
        .logs()
        .lines()
        .find(|l| l.contains("class=\"deadline\""))
        .and_then(|l| l.split("deadline of ").nth(1))
        .and_then(|t| t.split("ms").next())
        .and_then(|n| n.parse::<f64>().ok())
        .expect("B logs the deadline it was given in ms");
    assert!(
        budget <= 500.0,
        "B worked to {budget} ms, past A's 500 ms budget"
    );

    // A provider that is gone: a function without results reports the failure too.
    drop(b);
    let gone = remote(
        call_as_peer(&nats.url, "a", "ping", vec![])
            .await
            .unwrap_err(),
    );
    assert_eq!(gone.class, Class::Unreachable, "{gone}");
    assert!(gone.message.contains(FAULTS), "{gone}");

    // Upstream callers keep standard wRPC behaviour: the call fails, without a class.
    let upstream =
        wrpc_transport_nats::Client::new(async_nats::connect(&nats.url).await.unwrap(), "a", None)
            .await
            .unwrap();
    assert!(relay::trap(&upstream, None).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn failure_classes_and_messages_cross_quic_as_reset_codes_and_notices() {
    let nats = NatsServer::start();
    let b = provider(&nats, "b", &[NO_DISCOVERY]);
    let b_cert = b.dir.path().join(".witmesh/dev-cert.pem");
    let b_quic = format!("quic://{}", b.ready.quic.unwrap());
    let a = relay_sidecar(
        Some(&nats),
        &[
            "--route",
            &format!("{GREET}={b_quic}"),
            "--route",
            &format!("{FAULTS}={b_quic}"),
            "--ca",
            b_cert.to_str().unwrap(),
        ],
        &[NO_DISCOVERY],
    );
    let trap = remote(
        call_as_peer(&nats.url, "a", "trap", vec![])
            .await
            .unwrap_err(),
    );
    assert_eq!(trap.class, Class::Trap, "{trap}");
    // B's message came in its notice, beside the reset code.
    assert!(
        trap.message.contains("on node b") && trap.message.contains("in component"),
        "{trap}"
    );
    assert!(!trap.message.contains("sent no notice"), "{trap}");

    // An upstream QUIC caller asks for no notices and gets none: a plain failed call.
    let upstream = quic_client(&b).await;
    let started = Instant::now();
    assert!(faults::trap(&upstream, ()).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(faults::ok(&upstream, (), 1).await.unwrap(), 2);
    drop(a);
}

/// Serves the faults component on `id`, counting `mark` executions from its log.
fn marks(s: &Sidecar) -> Vec<u64> {
    s.logs()
        .lines()
        .filter_map(|l| l.split("mark ").nth(1))
        .filter_map(|t| t.split_whitespace().next())
        .filter_map(|n| n.trim_matches('"').parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn balances_over_discovered_providers_and_fails_over_when_one_dies() {
    let nats = NatsServer::start();
    let debug = [("RUST_LOG", "info,witmesh::serve=debug")];
    let b = provider(&nats, "b", &debug);
    let mut c = provider(&nats, "c", &debug);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        &dir,
        &format!("[mesh]\nidempotent = [\"{FAULTS}.ok\"]\nattempt_timeout = \"1s\"\nannounce_interval = \"200ms\"\nannounce_ttl = \"1s\"\n"),
    );
    let a = relay_sidecar(Some(&nats), &["--config", &cfg], &[]);
    a.wait_for_log("discovered node b");
    a.wait_for_log("discovered node c");
    let client = Arc::new(quic_client(&a).await);

    // Idempotent: 2,000 calls at concurrency 16, C killed a third of the way: none fails.
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..16u32 {
        let (client, done) = (client.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..125u32 {
                let n = w * 1000 + i;
                let r = relay::ok(&*client, (), n).await;
                assert_eq!(r.unwrap(), n + 1, "call {n} failed");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    wait_until("a third of the calls", READY_TIMEOUT, || {
        done.load(Ordering::Relaxed) >= 650
    });
    let served = |s: &Sidecar| s.logs().matches("call started").count();
    let (on_b, on_c) = (served(&b), served(&c));
    assert!(
        on_b > 50 && on_c > 50,
        "calls not spread: b {on_b}, c {on_c}"
    );
    c.kill();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(done.load(Ordering::Relaxed), 2000);

    // Not idempotent: a new C is killed mid-run; failures are errors, no call runs twice.
    let mut c2 = provider(&nats, "c2", &debug);
    a.wait_for_log("discovered node c2");
    let ok = Arc::new(std::sync::Mutex::new(Vec::new()));
    let failed = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..16u64 {
        let (client, ok, failed, done) = (client.clone(), ok.clone(), failed.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..125u64 {
                let id = w * 1000 + i;
                match relay::mark(&*client, (), id).await {
                    Ok(v) => {
                        assert_eq!(v, id);
                        ok.lock().unwrap().push(id);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    wait_until("a third of the calls", READY_TIMEOUT, || {
        done.load(Ordering::Relaxed) >= 650
    });
    c2.kill();
    for t in tasks {
        t.await.unwrap();
    }
    let mut ran: Vec<u64> = marks(&b);
    ran.extend(marks(&c2));
    let mut seen = std::collections::HashMap::new();
    for id in &ran {
        *seen.entry(*id).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "calls executed twice: {twice:?}");
    for id in ok.lock().unwrap().iter() {
        assert!(
            seen.contains_key(id),
            "call {id} succeeded but no provider ran it"
        );
    }
    assert_eq!(
        ok.lock().unwrap().len() as u64 + failed.load(Ordering::Relaxed),
        2000
    );
    drop(c);
}

#[tokio::test(flavor = "multi_thread")]
async fn imports_go_only_to_semver_compatible_providers() {
    let nats = NatsServer::start();
    let wit = WitSet::load(witmesh_tests::wit_dir("versioned")).unwrap();
    let f = wit.func("witmesh:versioned/api@1.2.0", "which").unwrap();
    let mut servers = Vec::new();
    for v in ["1.3.1", "2.0.0"] {
        let answer = v.to_owned();
        let handler: witmesh_tests::native::NativeHandler =
            Arc::new(move |_| Some(vec![Value::String(answer.clone())]));
        let instance = format!("witmesh:versioned/api@{v}");
        servers.push(
            serve_raw(&nats.url, &format!("v{v}"), &instance, f.clone(), handler)
                .await
                .unwrap(),
        );
    }
    // The native servers announce themselves with discovery's JSON, as any program can.
    let announcer = async_nats::connect(&nats.url).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let heartbeat = {
        let (announcer, stop) = (announcer.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(300));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                for v in ["1.3.1", "2.0.0"] {
                    let msg = format!(
                        r#"{{"node":"native-{v}","nats_prefix":"v{v}","instances":["witmesh:versioned/api@{v}"],"ttl_ms":3000}}"#
                    );
                    announcer
                        .publish("witmesh.discovery.default", msg.into())
                        .await
                        .unwrap();
                }
            }
        })
    };
    let a = Sidecar::start(&[
        "--component",
        path(components::vclient()),
        "--nats",
        &nats.url,
        "--nats-prefix",
        "a",
        "--quic",
        "127.0.0.1:0",
        "--node-id",
        "a",
    ]);
    a.wait_for_log("discovered node native-1.3.1");
    a.wait_for_log("discovered node native-2.0.0");
    let client = quic_client(&a).await;
    for _ in 0..20 {
        assert_eq!(which::which(&client, ()).await.unwrap(), "1.3.1");
    }
    // `witmesh routes` shows the version chosen for the import, and only that one.
    let out = std::process::Command::new(witmesh_tests::harness::witmesh_bin())
        .args(["routes", "--admin", &a.ready.admin.unwrap().to_string()])
        .output()
        .unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("witmesh:versioned/api@1.2.0"))
        .collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert!(rows[0].contains("witmesh:versioned/api@1.3.1 "), "{out}");
    assert!(rows[0].contains("native-1.3.1"), "{out}");
    assert!(!out.contains("@2.0.0"), "{out}");
    stop.store(true, Ordering::Relaxed);
    heartbeat.await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_provider_is_ejected_then_readmitted_by_a_probe() {
    let nats = NatsServer::start();
    let b = provider(&nats, "b", &[]);
    let wit = WitSet::load(witmesh_tests::wit_dir("faults")).unwrap();
    let ok = wit.func(FAULTS, "ok").unwrap();
    // A native provider of `ok` that fails every call until it is healed.
    let healthy = Arc::new(AtomicBool::new(false));
    let (calls, good) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let handler: witmesh_tests::native::NativeHandler = {
        let (healthy, calls, good) = (healthy.clone(), calls.clone(), good.clone());
        Arc::new(move |params| {
            calls.fetch_add(1, Ordering::Relaxed);
            if !healthy.load(Ordering::Relaxed) {
                return None;
            }
            good.fetch_add(1, Ordering::Relaxed);
            let Some(Value::U32(n)) = params.first() else {
                return None;
            };
            Some(vec![Value::U32(n + 1)])
        })
    };
    let _bad = serve_raw(&nats.url, "bad", FAULTS, ok.clone(), handler)
        .await
        .unwrap();
    let announcer = async_nats::connect(&nats.url).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let heartbeat = {
        let (announcer, stop) = (announcer.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(300));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let msg = format!(
                    r#"{{"node":"bad","nats_prefix":"bad","instances":["{FAULTS}"],"ttl_ms":3000}}"#
                );
                announcer
                    .publish("witmesh.discovery.default", msg.into())
                    .await
                    .unwrap();
            }
        })
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        &dir,
        &format!("[mesh]\nidempotent = [\"{FAULTS}.ok\"]\nattempt_timeout = \"300ms\"\nbreaker_failures = 3\nbreaker_ejection = \"1s\"\n"),
    );
    let a = relay_sidecar(Some(&nats), &["--config", &cfg], &[]);
    a.wait_for_log("discovered node b");
    a.wait_for_log("discovered node bad");
    let client = quic_client(&a).await;
    for n in 0..60u32 {
        assert_eq!(relay::ok(&client, (), n).await.unwrap(), n + 1);
    }
    // The bad provider got at most the calls that ejected it (and a probe per ejection).
    let while_failing = calls.load(Ordering::Relaxed);
    assert!(
        (3..=12).contains(&while_failing),
        "bad provider got {while_failing} calls"
    );
    a.wait_for_log("provider ejected");
    // The ejection shows in the metrics: breaker open (2) for the bad provider only.
    let metrics = witmesh_tests::harness::http(a.ready.admin.unwrap(), "GET", "/metrics", &[], b"");
    let text = String::from_utf8(metrics.body).unwrap();
    let state = |peer: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("witmesh_breaker_state{")
                    && l.contains(&format!("instance=\"{FAULTS}\""))
                    && l.contains(&format!("peer=\"{peer}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .unwrap_or_else(|| panic!("no breaker state for {peer}:\n{text}"))
            .to_owned()
    };
    assert_eq!(state("bad"), "2");
    assert_eq!(state("b"), "0");
    // Healed: after the ejection a probe succeeds and it takes calls again.
    healthy.store(true, Ordering::Relaxed);
    let start = Instant::now();
    let mut n = 0;
    while good.load(Ordering::Relaxed) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the healed provider was never readmitted"
        );
        assert_eq!(relay::ok(&client, (), n).await.unwrap(), n + 1);
        n += 1;
    }
    stop.store(true, Ordering::Relaxed);
    heartbeat.await.unwrap();
    drop(b);
}

#[tokio::test(flavor = "multi_thread")]
async fn set_link_name_switches_between_named_links() {
    let nats = NatsServer::start();
    let _en = serve_greeter(&nats.url, "en", NativeGreeter("Hello"))
        .await
        .unwrap();
    let _fr = serve_greeter(&nats.url, "fr", NativeGreeter("Bonjour"))
        .await
        .unwrap();
    let _de = serve_greeter(&nats.url, "de", NativeGreeter("Hallo"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        &dir,
        &format!(
            "[nats]\nenabled = true\nurl = \"{}\"\n\n[mesh]\ndiscovery = false\n\n[[mesh.links]]\nname = \"french\"\ninterfaces = [\"{GREET}\"]\nnats_prefix = \"fr\"\n\n[[mesh.links]]\nname = \"german\"\ninterfaces = [\"{GREET}\"]\nnats_prefix = \"de\"\n",
            nats.url
        ),
    );
    let a = relay_sidecar(
        Some(&nats),
        &[
            "--config",
            &cfg,
            "--route",
            &format!("{GREET}=nats:en"),
            "--route",
            &format!("{FAULTS}=nats:nobody"),
        ],
        &[],
    );
    let client = quic_client(&a).await;
    assert_eq!(relay::greet(&client, (), "x").await.unwrap(), "Hello, x!");
    assert_eq!(
        relay::greet_via(&client, (), "french", "x").await.unwrap(),
        "Bonjour, x!"
    );
    assert_eq!(
        relay::greet_via(&client, (), "german", "x").await.unwrap(),
        "Hallo, x!"
    );
    // `default` is the link components start on: the route.
    assert_eq!(
        relay::greet_via(&client, (), "default", "x").await.unwrap(),
        "Hello, x!"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_every_provider_failing_attempts_stay_within_the_retry_budget() {
    let nats = NatsServer::start();
    let wit = WitSet::load(witmesh_tests::wit_dir("faults")).unwrap();
    let ok = wit.func(FAULTS, "ok").unwrap();
    let calls = Arc::new(AtomicU64::new(0));
    let mut servers = Vec::new();
    for p in ["bad1", "bad2", "bad3"] {
        let calls = calls.clone();
        let handler: witmesh_tests::native::NativeHandler = Arc::new(move |_| {
            calls.fetch_add(1, Ordering::Relaxed);
            None
        });
        servers.push(
            serve_raw(&nats.url, p, FAULTS, ok.clone(), handler)
                .await
                .unwrap(),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    // Breakers out of the way (they would cut attempts further); budget: 20% of calls plus
    // one retry per second over the 10 s window.
    let cfg = write_config(
        &dir,
        &format!(
            "[nats]\nenabled = true\nurl = \"{}\"\n\n[mesh]\ndiscovery = false\nidempotent = [\"{FAULTS}.ok\"]\nmax_attempts = 3\nretry_budget_percent = 20\nretry_min_per_second = 1\nbreaker_failures = 100000\nbackoff_base = \"1ms\"\nbackoff_max = \"2ms\"\n\n[[peers]]\nname = \"bad1\"\nnats_prefix = \"bad1\"\n[[peers]]\nname = \"bad2\"\nnats_prefix = \"bad2\"\n[[peers]]\nname = \"bad3\"\nnats_prefix = \"bad3\"\n\n[[routes]]\ninstance = \"{FAULTS}\"\nvia = \"nats\"\npeers = [\"bad1\", \"bad2\", \"bad3\"]\n",
            nats.url
        ),
    );
    let a = relay_sidecar(
        Some(&nats),
        &["--config", &cfg, "--route", &format!("{GREET}=nats:nobody")],
        &[],
    );
    let client = quic_client(&a).await;
    let n = 100u64;
    for i in 0..n {
        assert!(relay::ok(&client, (), i as u32).await.is_err());
    }
    let attempts = calls.load(Ordering::Relaxed);
    // Without a budget this would be 3 attempts per call (300).
    let allowed = n + n * 20 / 100 + 10;
    assert!(
        attempts >= n && attempts <= allowed,
        "{attempts} attempts for {n} calls (allowed {allowed})"
    );
}

/// Bytes forwarded through a component's import: A's bytes-relay calls the every-type echo
/// on B. The bare list takes the typed path into and out of both components, the record the
/// dynamic one; both arrive whole, every byte value included.
#[test]
fn bytes_cross_a_forwarded_import_whole_bare_and_in_a_record() {
    let nats = NatsServer::start();
    let b = Sidecar::node(&nats, "b", &[components::every_type()], &[], &[]);
    let a = Sidecar::node(
        &nats,
        "a",
        &[components::bytes_relay()],
        &["--http", "127.0.0.1:0"],
        &[],
    );
    a.wait_for_log("discovered node b");
    let addr = a.ready.http.unwrap();
    let relay = "witmesh:bytes-relay/relay@0.1.0";
    let data: Vec<u8> = (0..(1u32 << 20)).map(|i| (i * 7 % 256) as u8).collect();
    let bare = witmesh_tests::harness::http(
        addr,
        "POST",
        &format!("/v1/call/{relay}/relay-bytes"),
        &[
            ("content-type", "application/octet-stream"),
            ("accept", "application/octet-stream"),
        ],
        &data,
    );
    assert_eq!(
        bare.status,
        200,
        "{}\n{}",
        String::from_utf8_lossy(&bare.body),
        a.logs()
    );
    assert!(
        bare.body == data,
        "the bare bytes differ ({} bytes)",
        bare.body.len()
    );

    use base64::Engine as _;
    let small = &data[..4096];
    let blob = format!(
        r#"{{"v": {{"name": "b.bin", "data": "{}"}}}}"#,
        base64::engine::general_purpose::STANDARD.encode(small)
    );
    let rec = witmesh_tests::harness::http(
        addr,
        "POST",
        &format!("/v1/call/{relay}/relay-blob"),
        &[("content-type", "application/json")],
        blob.as_bytes(),
    );
    assert_eq!(rec.status, 200, "{}", String::from_utf8_lossy(&rec.body));
    let out = rec.json();
    assert_eq!(out["result"]["name"], "b.bin");
    let back = base64::engine::general_purpose::STANDARD
        .decode(out["result"]["data"].as_str().unwrap())
        .unwrap();
    assert!(back == small, "the record's bytes differ");
    assert!(!b.logs().contains("panicked"));
}
