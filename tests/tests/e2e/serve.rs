//! `witmesh up` end to end: real sidecar processes, a real nats-server, real QUIC with TLS and
//! real components, called by `wit-bindgen-wrpc` 0.11 clients exactly as upstream peers call.

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use witmesh_tests::components;
use witmesh_tests::faults_client::witmesh::faults::faults;
use witmesh_tests::greeter_client::local::greeter_demo::greet;
use witmesh_tests::harness::{
    nats_client, path, quic_client, quic_connect, wait_until, write_config, NatsServer, Sidecar,
    READY_TIMEOUT,
};
use wrpc_transport::Invoke;

/// A sidecar serving one component over QUIC on a free port, configured by a file: `keys` are
/// extra `[[components]]` lines, `wasi` the lines of its `[components.wasi]` table.
fn sidecar_with(name: &str, component: &std::path::Path, keys: &str, wasi: &str) -> Sidecar {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        &dir,
        &format!(
            "[quic]\nlisten = \"127.0.0.1:0\"\n\n[[components]]\nname = {name:?}\npath = {:?}\n{keys}\n[components.wasi]\n{wasi}\n",
            path(component)
        ),
    );
    Sidecar::start(&["--config", &cfg])
}

/// Runs `n` concurrent `sleep(ms)` calls and returns how long they all took.
async fn concurrent_sleeps(
    client: &Arc<wrpc_transport_quic::Client>,
    n: usize,
    ms: u64,
) -> Duration {
    let start = Instant::now();
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { faults::sleep(&*c, (), ms).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), ms);
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread")]
async fn up_without_arguments_serves_the_bundled_greeter() {
    // No arguments; the environment only moves the listener off the fixed default port.
    let s = Sidecar::start_with_env(&[], &[("WITMESH_QUIC__LISTEN", "127.0.0.1:0")]);
    assert!(
        s.ready.line.contains("components=greeter"),
        "{}",
        s.ready.line
    );
    let client = quic_client(&s).await;
    let hello = greet::greet(&client, (), "world").await.unwrap();
    assert_eq!(hello, "Hello, world!");
}

#[tokio::test(flavor = "multi_thread")]
async fn greeter_over_nats_with_a_prefix_and_over_quic() {
    let nats = NatsServer::start();
    let s = Sidecar::start(&[
        "--component",
        path(components::greeter()),
        "--nats",
        &nats.url,
        "--nats-prefix",
        "default.greeter",
        "--quic",
        "127.0.0.1:0",
    ]);
    assert_eq!(s.ready.prefix.as_deref(), Some("default.greeter"));
    let over_nats = nats_client(&nats.url, "default.greeter").await;
    assert_eq!(
        greet::greet(&over_nats, None, "nats").await.unwrap(),
        "Hello, nats!"
    );
    let over_quic = quic_client(&s).await;
    assert_eq!(
        greet::greet(&over_quic, (), "quic").await.unwrap(),
        "Hello, quic!"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_in_a_queue_group_share_the_calls() {
    let nats = NatsServer::start();
    let group = [("WITMESH_NATS__QUEUE_GROUP", "faults")];
    let args = [
        "--component",
        path(components::faults()),
        "--nats",
        &nats.url,
        "--quic",
        "127.0.0.1:0",
    ];
    let a = Sidecar::start_with_env(
        &args,
        &[group[0], ("RUST_LOG", "info,witmesh::serve=debug")],
    );
    let b = Sidecar::start_with_env(
        &args,
        &[group[0], ("RUST_LOG", "info,witmesh::serve=debug")],
    );
    let client = nats_client(&nats.url, "").await;
    for n in 0..40u32 {
        assert_eq!(faults::ok(&client, None, n).await.unwrap(), n + 1);
    }
    // Each call reached exactly one replica, and both took some.
    let (ca, cb) = (
        a.logs().matches("call started").count(),
        b.logs().matches("call started").count(),
    );
    assert_eq!(ca + cb, 40, "a={ca} b={cb}");
    assert!(ca > 0 && cb > 0, "a={ca} b={cb}");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_calls_to_one_function_run_in_parallel() {
    let s = Sidecar::start(&[
        "--component",
        path(components::faults()),
        "--quic",
        "127.0.0.1:0",
    ]);
    let client = Arc::new(quic_client(&s).await);
    let took = concurrent_sleeps(&client, 32, 200).await;
    let serial = Duration::from_millis(32 * 200);
    assert!(took < serial / 2, "32 sleeps took {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn warm_instances_are_reused_until_a_call_fails_and_fresh_mode_never_reuses() {
    let s = Sidecar::start(&[
        "--component",
        path(components::faults()),
        "--quic",
        "127.0.0.1:0",
    ]);
    let c = quic_client(&s).await;
    // Sequential calls reuse the one warm instance: its counter keeps counting.
    assert_eq!(faults::count(&c, ()).await.unwrap(), 1);
    assert_eq!(faults::count(&c, ()).await.unwrap(), 2);
    // A trap discards the instance it ran in; the next call starts from a fresh one.
    assert!(faults::trap(&c, ()).await.is_err());
    assert_eq!(faults::count(&c, ()).await.unwrap(), 1);

    let fresh = sidecar_with("faults", components::faults(), "instances = \"fresh\"", "");
    let c = quic_client(&fresh).await;
    for _ in 0..3 {
        assert_eq!(faults::count(&c, ()).await.unwrap(), 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_per_component_concurrency_limit_holds() {
    let s = sidecar_with("faults", components::faults(), "max_concurrency = 2", "");
    let client = Arc::new(quic_client(&s).await);
    let took = concurrent_sleeps(&client, 6, 150).await;
    // Six 150 ms calls, two at a time: at least three rounds.
    assert!(
        took >= Duration::from_millis(450),
        "limit not applied: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn traps_loops_and_memory_bombs_fail_only_their_own_call() {
    let s = sidecar_with(
        "faults",
        components::faults(),
        "call_timeout = \"1s\"
memory_limit = \"16MiB\"",
        "",
    );
    let client = Arc::new(quic_client(&s).await);
    // A stream of good calls runs alongside the faulty ones.
    let good = {
        let c = client.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let mut n = 0u32;
            while start.elapsed() < Duration::from_millis(1500) {
                assert_eq!(faults::ok(&*c, (), n).await.unwrap(), n + 1);
                n += 1;
            }
            n
        })
    };
    assert!(faults::trap(&*client, ()).await.is_err());
    // More endless loops than the sidecar has worker threads: wasm yields every epoch tick,
    // so the good calls above keep flowing and each loop ends at its deadline.
    let spins: Vec<_> = (0..4)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { faults::spin(&*c, ()).await })
        })
        .collect();
    for spin in spins {
        assert!(spin.await.unwrap().is_err());
    }
    assert!(faults::hog(&*client, (), 64).await.is_err());
    assert!(good.await.unwrap() > 10);
    // The component keeps serving and the log says why each call failed.
    assert_eq!(faults::ok(&*client, (), 41).await.unwrap(), 42);
    s.wait_for_log("class=\"trap\"");
    s.wait_for_log("class=\"deadline\"");
    let logs = s.logs();
    assert!(logs.contains("function=\"hog\""), "{logs}");
    assert!(logs.contains("function=\"spin\""), "{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_fails_that_call_only() {
    let nats = NatsServer::start();
    let s = Sidecar::start(&[
        "--component",
        path(components::every_type()),
        "--nats",
        &nats.url,
        "--quic",
        "127.0.0.1:0",
    ]);
    let instance = "witmesh:every-type/echo@0.1.0";
    let paths: &[&[Option<usize>]] = &[];

    // Garbage on a raw QUIC stream: not even a wRPC header.
    let conn = quic_connect(s.ready.quic.unwrap(), &s.dev_cert()).await;
    let (mut tx, mut rx) = conn.open_bi().await.unwrap();
    tx.write_all(&[0xff, 0x13, 0x37, 0, 1, 2, 3]).await.unwrap();
    tx.finish().unwrap();
    let out = rx.read_to_end(1 << 16).await.unwrap_or_default();
    assert!(out.is_empty());
    s.wait_for_log("invalid invocation header");

    // Hostile framing after a valid header: a frame path claiming 2^32 - 1 elements, then a
    // frame claiming 4 GiB of data. Each is refused before anything is allocated for it.
    let mut header = vec![0u8, instance.len() as u8];
    header.extend_from_slice(instance.as_bytes());
    header.push(9);
    header.extend_from_slice(b"echo-bool");
    for attack in [
        &[0xffu8, 0xff, 0xff, 0xff, 0x0f][..],
        &[0, 0xff, 0xff, 0xff, 0xff, 0x0f],
    ] {
        let (mut tx, mut rx) = conn.open_bi().await.unwrap();
        tx.write_all(&header).await.unwrap();
        tx.write_all(attack).await.unwrap();
        let _ = tx.finish();
        let out = rx.read_to_end(1 << 16).await.unwrap_or_default();
        assert!(out.is_empty());
    }
    s.wait_for_log("frame path of 4294967295 elements exceeds");
    s.wait_for_log("frame of 4294967295 bytes exceeds");

    // Parameters of the wrong shape: a bool byte of 7.
    let quic = wrpc_transport_quic::Client::from(conn.clone());
    let (mut tx, mut rx) = quic
        .invoke((), instance, "echo-bool", Bytes::from_static(&[7]), paths)
        .await
        .unwrap();
    tx.shutdown().await.unwrap();
    let mut out = Vec::new();
    let _ = rx.read_to_end(&mut out).await;
    assert!(out.is_empty(), "results for bad params: {out:?}");
    s.wait_for_log("bool byte is 0x07");

    // An unknown function.
    let (mut tx, mut rx) = quic
        .invoke((), instance, "echo-nothing", Bytes::new(), paths)
        .await
        .unwrap();
    let _ = tx.shutdown().await;
    let mut out = Vec::new();
    let _ = rx.read_to_end(&mut out).await;
    assert!(out.is_empty());
    s.wait_for_log("unknown function `echo-nothing`");

    // Truncated parameters over NATS: a string that claims 5 bytes and brings 1.
    let over_nats = nats_client(&nats.url, "").await;
    let (mut tx, mut rx) = over_nats
        .invoke(
            None,
            instance,
            "echo-string",
            Bytes::from_static(&[5, b'a']),
            paths,
        )
        .await
        .unwrap();
    tx.shutdown().await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(READY_TIMEOUT, rx.read_to_end(&mut out)).await;
    assert!(out.is_empty(), "results for truncated params: {out:?}");
    s.wait_for_log("function=\"echo-string\"");
    assert!(s.logs().contains("stream ended early"), "{}", s.logs());

    // Everyone else is unaffected.
    use witmesh_tests::every_type_client::witmesh::every_type::echo;
    assert_eq!(
        echo::echo_string(&quic, (), "still here").await.unwrap(),
        "still here"
    );
    assert_eq!(
        echo::echo_u64(&over_nats, None, u64::MAX).await.unwrap(),
        u64::MAX
    );
}

/// Starts 100 `sleep(1500)` calls through `client`, waits until the sidecar has all of them in
/// flight, sends SIGTERM, and checks every call completes and the exit status is 0.
async fn drain_under_load<C>(mut s: Sidecar, client: Arc<C>, cx: fn() -> C::Context)
where
    C: Invoke + Send + Sync + 'static,
{
    let calls: Vec<_> = (0..100)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { faults::sleep(&*c, cx(), 1500).await })
        })
        .collect();
    wait_until("100 calls in flight", READY_TIMEOUT, || {
        s.logs().matches("call started").count() >= 100
    });
    let status = tokio::task::spawn_blocking(move || s.terminate())
        .await
        .unwrap();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), 1500);
    }
    assert!(status.success(), "exit status {status:?}");
}

const SERVE_DEBUG: (&str, &str) = ("RUST_LOG", "info,witmesh::serve=debug");

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_in_flight_quic_calls_then_exits_zero() {
    let args = [
        "--component",
        path(components::faults()),
        "--quic",
        "127.0.0.1:0",
    ];
    let s = Sidecar::start_with_env(&args, &[SERVE_DEBUG]);
    let client = Arc::new(quic_client(&s).await);
    drain_under_load(s, client, || ()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_in_flight_nats_calls_then_exits_zero() {
    let nats = NatsServer::start();
    let args = [
        "--component",
        path(components::faults()),
        "--nats",
        &nats.url,
    ];
    let s = Sidecar::start_with_env(&args, &[SERVE_DEBUG, ("WITMESH_QUIC__ENABLED", "false")]);
    let client = Arc::new(nats_client(&nats.url, "").await);
    drain_under_load(s, client, || None).await;
}

mod every_type {
    use witmesh_tests::every_type_client::witmesh::every_type::echo;
    use witmesh_tests::every_type_client::witmesh::every_type::types::{
        Color, Everything, Permissions, Point, Shape, TreeNode, WideFlags,
    };
    use wrpc_transport::Invoke;

    use super::*;

    fn everything() -> Everything {
        Everything {
            flag: true,
            small: -8,
            medium: -300,
            large: 70_000,
            huge: i64::MIN,
            byte: 255,
            word: 65_535,
            dword: u32::MAX,
            qword: u64::MAX,
            single: 1.5,
            double: -2.25,
            letter: '🦀',
            text: "every type".into(),
            raw: Bytes::from_static(&[0, 1, 2, 255]),
            words: vec!["a".into(), "b".into()],
            pair: (7, "seven".into()),
            maybe: Some(Point { x: 1, y: -1 }),
            outcome: Err(404),
            shape: Shape::Rect(Point { x: 3, y: 4 }),
            color: Color::Green,
            perms: Permissions::READ | Permissions::EXEC,
            wide: WideFlags::F0 | WideFlags::F15,
        }
    }

    /// Calls every function of the every-type echo interface (resources aside) and checks that
    /// each value comes back unchanged.
    async fn exercise<C: Invoke>(w: &C, cx: impl Fn() -> C::Context) {
        assert!(echo::echo_bool(w, cx(), true).await.unwrap());
        assert_eq!(echo::echo_s8(w, cx(), i8::MIN).await.unwrap(), i8::MIN);
        assert_eq!(echo::echo_s16(w, cx(), -12_345).await.unwrap(), -12_345);
        assert_eq!(echo::echo_s32(w, cx(), i32::MIN).await.unwrap(), i32::MIN);
        assert_eq!(echo::echo_s64(w, cx(), i64::MAX).await.unwrap(), i64::MAX);
        assert_eq!(echo::echo_u8(w, cx(), 200).await.unwrap(), 200);
        assert_eq!(echo::echo_u16(w, cx(), 65_535).await.unwrap(), 65_535);
        assert_eq!(echo::echo_u32(w, cx(), 1 << 31).await.unwrap(), 1 << 31);
        assert_eq!(echo::echo_u64(w, cx(), u64::MAX).await.unwrap(), u64::MAX);
        assert_eq!(echo::echo_f32(w, cx(), -0.5).await.unwrap(), -0.5);
        assert_eq!(echo::echo_f64(w, cx(), 1e300).await.unwrap(), 1e300);
        assert_eq!(echo::echo_char(w, cx(), 'ß').await.unwrap(), 'ß');
        assert_eq!(echo::echo_string(w, cx(), "héllo").await.unwrap(), "héllo");
        let raw = Bytes::from(vec![7u8; 4096]);
        assert_eq!(echo::echo_bytes(w, cx(), &raw).await.unwrap(), raw);
        let pts = vec![Point { x: 1, y: 2 }, Point { x: -3, y: 4 }];
        assert_eq!(echo::echo_list(w, cx(), &pts).await.unwrap(), pts);
        assert_eq!(
            echo::echo_record(w, cx(), &Point { x: 5, y: 6 })
                .await
                .unwrap(),
            Point { x: 5, y: 6 }
        );
        let t = (9u8, "nine".to_owned(), 9.5f64);
        assert_eq!(
            echo::echo_tuple(w, cx(), (t.0, &t.1, t.2)).await.unwrap(),
            t
        );
        assert_eq!(
            echo::echo_variant(w, cx(), &Shape::Circle(2.0))
                .await
                .unwrap(),
            Shape::Circle(2.0)
        );
        assert_eq!(
            echo::echo_variant(w, cx(), &Shape::Empty).await.unwrap(),
            Shape::Empty
        );
        assert_eq!(
            echo::echo_enum(w, cx(), Color::Blue).await.unwrap(),
            Color::Blue
        );
        assert_eq!(
            echo::echo_option(w, cx(), Some("x")).await.unwrap(),
            Some("x".to_owned())
        );
        assert_eq!(echo::echo_option(w, cx(), None).await.unwrap(), None);
        let ok: Result<Point, String> = Ok(Point { x: 0, y: 0 });
        assert_eq!(echo::echo_result(w, cx(), &ok).await.unwrap(), ok);
        let err: Result<Point, String> = Err("bad".into());
        assert_eq!(echo::echo_result(w, cx(), &err).await.unwrap(), err);
        let p = Permissions::WRITE;
        assert_eq!(echo::echo_flags(w, cx(), &p).await.unwrap(), p);
        let wf = WideFlags::F8 | WideFlags::F9;
        assert_eq!(echo::echo_wide_flags(w, cx(), &wf).await.unwrap(), wf);
        let e = everything();
        assert_eq!(echo::echo_everything(w, cx(), &e).await.unwrap(), e);
        let tree = TreeNode {
            label: "root".into(),
            children: vec![vec![None, Some(Point { x: 1, y: 1 })], vec![]],
        };
        assert_eq!(echo::echo_nested(w, cx(), &tree).await.unwrap(), tree);
        let many = echo::echo_many(w, cx(), 1, "two", &Bytes::from_static(b"3"), Some(false))
            .await
            .unwrap();
        assert_eq!(
            many,
            (1, "two".to_owned(), Bytes::from_static(b"3"), Some(false))
        );
        echo::echo_unit(w, cx()).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn every_type_round_trips_over_nats_and_quic() {
        let nats = NatsServer::start();
        let s = Sidecar::start(&[
            "--component",
            path(components::every_type()),
            "--nats",
            &nats.url,
            "--nats-prefix",
            "lattice.echo",
            "--quic",
            "127.0.0.1:0",
        ]);
        let over_nats = nats_client(&nats.url, "lattice.echo").await;
        exercise(&over_nats, || None).await;
        let over_quic = quic_client(&s).await;
        exercise(&over_quic, || ()).await;
    }
}

mod policy {
    use witmesh_tests::policy_client::witmesh::policy::policy;

    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn filesystem_and_sockets_are_denied_by_default() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let s = Sidecar::start(&[
            "--component",
            path(components::policy()),
            "--quic",
            "127.0.0.1:0",
        ]);
        let c = quic_client(&s).await;
        assert!(policy::read_file(&c, (), "/etc/hostname")
            .await
            .unwrap()
            .is_err());
        assert!(policy::write_file(&c, (), "/tmp/witmesh-denied", "x")
            .await
            .unwrap()
            .is_err());
        assert!(policy::connect(&c, (), &addr).await.unwrap().is_err());
        assert!(!std::path::Path::new("/tmp/witmesh-denied").exists());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn configured_directories_and_addresses_are_allowed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(data.join("hello.txt"), "hi from the host").unwrap();
        let wasi = format!(
            "preopens = [{{ host = {:?}, guest = \"/data\", writable = true }}]
allow_sockets = [{addr:?}]",
            data.to_str().unwrap()
        );
        let s = sidecar_with("policy", components::policy(), "", &wasi);
        let c = quic_client(&s).await;
        assert_eq!(
            policy::read_file(&c, (), "/data/hello.txt").await.unwrap(),
            Ok("hi from the host".to_owned())
        );
        assert_eq!(
            policy::write_file(&c, (), "/data/out.txt", "written")
                .await
                .unwrap(),
            Ok(())
        );
        assert_eq!(
            std::fs::read_to_string(data.join("out.txt")).unwrap(),
            "written"
        );
        assert_eq!(policy::connect(&c, (), &addr).await.unwrap(), Ok(()));
        // Only the listed address: another port stays closed to the component.
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let other = other.local_addr().unwrap().to_string();
        assert!(policy::connect(&c, (), &other).await.unwrap().is_err());
        s.wait_for_log("socket use denied by policy");
    }
}

mod http {
    use std::io::{Read as _, Write as _};

    use witmesh_tests::fetch_client::witmesh::fetch::fetch;

    use super::*;

    /// A one-shot HTTP/1.1 server on loopback answering 204 to the first request.
    fn http_204() -> (String, std::thread::JoinHandle<bool>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let served = std::thread::spawn(move || {
            let Ok((mut conn, _)) = listener.accept() else {
                return false;
            };
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap_or(0);
            let ok = buf[..n].starts_with(b"GET /ping");
            let _ = conn.write_all(
                b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            ok
        });
        (authority, served)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn outgoing_http_is_denied_unless_the_host_is_allowed() {
        let (authority, served) = http_204();

        let denied = Sidecar::start(&[
            "--component",
            path(components::fetch()),
            "--quic",
            "127.0.0.1:0",
        ]);
        let c = quic_client(&denied).await;
        let e = fetch::get(&c, (), &authority, "/ping")
            .await
            .unwrap()
            .unwrap_err();
        assert!(e.contains("HttpRequestDenied"), "{e}");
        denied.wait_for_log("outgoing HTTP request denied by policy");

        let allowed = sidecar_with(
            "fetch",
            components::fetch(),
            "",
            "allow_http_hosts = [\"127.0.0.1\"]",
        );
        let c = quic_client(&allowed).await;
        assert_eq!(
            fetch::get(&c, (), &authority, "/ping").await.unwrap(),
            Ok(204)
        );
        assert!(served.join().unwrap(), "the server saw no GET /ping");
    }
}

mod logging {
    use witmesh_tests::logger_client::witmesh::logger::logger;

    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn wasi_logging_and_stdio_reach_the_log_tagged_with_the_component() {
        let s = Sidecar::start(&[
            "--component",
            path(components::logger()),
            "--quic",
            "127.0.0.1:0",
        ]);
        let c = quic_client(&s).await;
        assert_eq!(logger::emit(&c, (), "hello-from-guest").await.unwrap(), 2);
        s.wait_for_log("stream=\"stderr\"");
        let logs = s.logs();
        let tagged: Vec<&str> = logs
            .lines()
            .filter(|l| {
                l.contains("hello-from-guest") && l.contains("component=\"witmesh_test_logger\"")
            })
            .collect();
        assert!(
            tagged
                .iter()
                .any(|l| l.contains("INFO") && l.contains("context=\"logger-test\"")),
            "{logs}"
        );
        assert!(
            tagged
                .iter()
                .any(|l| l.contains("WARN") && l.contains("context=\"logger-test\"")),
            "{logs}"
        );
        assert!(
            tagged.iter().any(|l| l.contains("stream=\"stdout\"")),
            "{logs}"
        );
    }
}

#[test]
fn a_component_with_unsatisfiable_imports_fails_at_start_listing_them() {
    // A real component (a dummy core module with embedded WIT) importing two interfaces that
    // neither WASI nor witmesh provides.
    let wit = "package local:needy;\n\ninterface answer { get: func() -> u32; }\n\nworld needy {\n  import local:greeter-demo/greet;\n  import wasi:keyvalue/store@0.2.0-draft;\n  export answer;\n}\n";
    let dir = tempfile::tempdir().unwrap();
    let mut resolve = wit_parser::Resolve::default();
    resolve.push_dir(witmesh_tests::wit_dir("greeter")).unwrap();
    resolve
        .push_path(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../proto-wit/wit/deps/keyvalue"
        ))
        .unwrap();
    let pkg = resolve.push_str("needy.wit", wit).unwrap();
    let world = resolve.select_world(&[pkg], Some("needy")).unwrap();
    let mut module = wit_component::dummy_module(
        &resolve,
        world,
        wit_parser::ManglingAndAbi::Legacy(wit_parser::LiftLowerAbi::Sync),
    );
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .encode()
        .unwrap();
    let file = dir.path().join("needy.wasm");
    std::fs::write(&file, component).unwrap();

    let out = std::process::Command::new(witmesh_tests::harness::witmesh_bin())
        .args(["up", "--component", path(&file), "--quic", "127.0.0.1:0"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("component `needy` imports what nothing provides"),
        "{err}"
    );
    assert!(err.contains("local:greeter-demo/greet"), "{err}");
    assert!(err.contains("wasi:keyvalue/store@0.2.0-draft"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn sigterm_exits_promptly_when_the_nats_server_is_gone() {
    let nats = NatsServer::start();
    let mut s = Sidecar::start(&["--nats", &nats.url, "--quic", "127.0.0.1:0"]);
    // The server dies first: the sidecar must not wait for it to come back.
    drop(nats);
    s.wait_for_log("event: disconnected");
    let started = Instant::now();
    let status = s.terminate();
    assert!(status.success(), "{status:?}\n{}", s.logs());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the drain took {:?}",
        started.elapsed()
    );
    s.wait_for_log("exiting without it");
}

#[test]
fn a_component_built_for_wasi_0_3_runs() {
    let nats = NatsServer::start();
    let s = Sidecar::node(&nats, "w03", &[components::wasi03()], &[], &[]);
    let url = s.ready.nats.clone().unwrap();
    let call = |target: &str, arg: &str| {
        witmesh_tests::harness::run_witmesh(&[
            "call", "--nats", &url, "--prefix", "w03", target, arg,
        ])
    };
    let (code, out, err) = call("witmesh:wasi03/probe@0.1.0.random-len", "32");
    assert_eq!((code, out.trim()), (0, "32"), "{err}\n{}", s.logs());
    // An async WASI 0.3 import: the clock says at least the 5 ms asked for passed.
    let (code, out, err) = call("witmesh:wasi03/probe@0.1.0.nap", "5000000");
    assert_eq!(code, 0, "{err}\n{}", s.logs());
    let slept: u64 = out.trim().parse().unwrap();
    assert!(slept >= 5_000_000, "{slept}");
}
