//! Traces across hops: a call through sidecar A's HTTP gateway, into A's relay component,
//! forwarded over NATS to sidecar B's greeter, is one trace. Both sidecars export spans over
//! OTLP/HTTP to a receiver in this test, which decodes them with `opentelemetry-proto` and
//! checks the trace id, the parent links and the attributes.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;
use witmesh_tests::components;
use witmesh_tests::harness::{http, path, wait_until, NatsServer, Sidecar};

/// A span as received: its service, ids, kind, name and string attributes.
#[derive(Clone, Debug)]
struct Got {
    service: String,
    trace_id: String,
    span_id: String,
    parent: String,
    kind: i32,
    name: String,
    attrs: HashMap<String, String>,
}

fn text(kvs: &[KeyValue]) -> HashMap<String, String> {
    kvs.iter()
        .filter_map(|kv| {
            let v = match kv.value.as_ref()?.value.as_ref()? {
                AnyValue::StringValue(s) => s.clone(),
                AnyValue::IntValue(i) => i.to_string(),
                AnyValue::BoolValue(b) => b.to_string(),
                other => format!("{other:?}"),
            };
            Some((kv.key.clone(), v))
        })
        .collect()
}

/// An OTLP/HTTP receiver: `POST /v1/traces` with a protobuf `ExportTraceServiceRequest`.
struct Receiver {
    addr: SocketAddr,
    spans: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let spans = Arc::new(Mutex::new(Vec::new()));
        let out = spans.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().map_while(Result::ok) {
                let out = out.clone();
                std::thread::spawn(move || serve(conn, &out));
            }
        });
        Receiver { addr, spans }
    }

    fn spans(&self) -> Vec<Got> {
        self.spans.lock().unwrap().clone()
    }
}

/// Answers requests on one keep-alive connection until it closes.
fn serve(conn: TcpStream, out: &Mutex<Vec<Got>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let request = line.trim().to_owned();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        assert!(request.starts_with("POST /v1/traces "), "{request}");
        let req = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
        let mut got = out.lock().unwrap();
        for rs in req.resource_spans {
            let service = rs
                .resource
                .as_ref()
                .map(|r| text(&r.attributes))
                .and_then(|a| a.get("service.name").cloned())
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for s in ss.spans {
                    got.push(Got {
                        service: service.clone(),
                        trace_id: hex::encode(&s.trace_id),
                        span_id: hex::encode(&s.span_id),
                        parent: hex::encode(&s.parent_span_id),
                        kind: s.kind,
                        name: s.name.clone(),
                        attrs: text(&s.attributes),
                    });
                }
            }
        }
        drop(got);
        let _ = conn.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
        );
    }
}

#[test]
fn a_call_through_the_gateway_and_two_sidecars_is_one_trace() {
    let nats = NatsServer::start();
    let receiver = Receiver::start();
    let endpoint = format!("http://{}", receiver.addr);
    let env = |service: &'static str| {
        [
            ("WITMESH_TELEMETRY__OTLP_ENDPOINT", endpoint.clone()),
            ("WITMESH_TELEMETRY__SERVICE_NAME", service.to_owned()),
            // Export batches quickly instead of every 5 s.
            ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
        ]
    };
    let env_b = env("sidecar-b");
    let env_b: Vec<(&str, &str)> = env_b.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _b = Sidecar::node(
        &nats,
        "b",
        &[components::greeter(), components::faults()],
        &[],
        &env_b,
    );
    let env_a = env("sidecar-a");
    let env_a: Vec<(&str, &str)> = env_a.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = Sidecar::node(
        &nats,
        "a",
        &[components::relay()],
        &[
            "--http",
            "127.0.0.1:0",
            "--route",
            "local:greeter-demo/greet=nats:b",
            "--route",
            "witmesh:faults/faults@0.1.0=nats:b",
        ],
        &env_a,
    );

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let traceparent = format!("00-{trace_id}-{caller_span}-01");
    let answer = http(
        a.ready.http.unwrap(),
        "POST",
        "/v1/call/witmesh:relay/relay@0.1.0/greet",
        &[
            ("content-type", "application/json"),
            ("traceparent", &traceparent),
        ],
        br#"{"name":"trace"}"#,
    );
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.header("traceparent"), Some(traceparent.as_str()));

    // Each sidecar exports its spans in its own batches: wait (bounded) until B's server span,
    // A's client span and A's gateway span have all arrived.
    wait_until(
        "the spans of both sidecars at the receiver",
        Duration::from_secs(30),
        || {
            let spans = receiver.spans();
            let has = |service: &str, kind: SpanKind, name: &dyn Fn(&str) -> bool| {
                spans
                    .iter()
                    .any(|s| s.service == service && s.kind == kind as i32 && name(&s.name))
            };
            has("sidecar-b", SpanKind::Server, &|n| n.ends_with("/greet"))
                && has("sidecar-a", SpanKind::Client, &|n| {
                    n == "local:greeter-demo/greet/greet"
                })
                && has("sidecar-a", SpanKind::Server, &|n| n.starts_with("POST "))
        },
    );
    let spans: Vec<Got> = receiver
        .spans()
        .into_iter()
        .filter(|s| s.trace_id == trace_id)
        .collect();
    let by_id: HashMap<&str, &Got> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let find = |service: &str, name: &str, kind: SpanKind| {
        spans
            .iter()
            .find(|s| s.service == service && s.name == name && s.kind == kind as i32)
            .unwrap_or_else(|| panic!("no {kind:?} span {name} from {service} in {spans:#?}"))
    };
    let server_b = find(
        "sidecar-b",
        "local:greeter-demo/greet/greet",
        SpanKind::Server,
    );
    let client_a = find(
        "sidecar-a",
        "local:greeter-demo/greet/greet",
        SpanKind::Client,
    );
    let gateway = spans
        .iter()
        .find(|s| {
            s.service == "sidecar-a"
                && s.kind == SpanKind::Server as i32
                && s.name.starts_with("POST ")
        })
        .unwrap_or_else(|| panic!("no gateway span in {spans:#?}"));

    // B's server span is the child of A's client span (the context crossed in NATS headers),
    // A's client span descends from the gateway's span, and that from the caller's.
    assert_eq!(server_b.parent, client_a.span_id);
    assert_eq!(gateway.parent, caller_span);
    let mut at = client_a;
    let mut hops = 0;
    while at.span_id != gateway.span_id {
        at = by_id
            .get(at.parent.as_str())
            .unwrap_or_else(|| panic!("the parent of {at:?} is not in the trace: {spans:#?}"));
        hops += 1;
        assert!(hops < 8, "no path from A's client span to the gateway span");
    }

    for (s, transport) in [(server_b, "nats"), (client_a, "nats")] {
        assert_eq!(
            s.attrs.get("rpc.system").map(String::as_str),
            Some("wrpc"),
            "{s:?}"
        );
        assert_eq!(
            s.attrs.get("rpc.service").map(String::as_str),
            Some("local:greeter-demo/greet"),
            "{s:?}"
        );
        assert_eq!(
            s.attrs.get("rpc.method").map(String::as_str),
            Some("greet"),
            "{s:?}"
        );
        assert_eq!(
            s.attrs.get("transport").map(String::as_str),
            Some(transport),
            "{s:?}"
        );
        assert_eq!(
            s.attrs.get("outcome").map(String::as_str),
            Some("ok"),
            "{s:?}"
        );
    }
    assert_eq!(
        client_a.attrs.get("peer").map(String::as_str),
        Some("nats:b")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_components_outgoing_http_request_continues_the_callers_trace() {
    use std::io::{Read as _, Write as _};

    let nats = NatsServer::start();
    let receiver = Receiver::start();
    // A one-shot HTTP server that keeps the request head it got.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    let seen = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 8192];
        let n = conn.read(&mut buf).unwrap_or(0);
        let _ = conn.write_all(
            b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        );
        String::from_utf8_lossy(&buf[..n]).to_lowercase()
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("witmesh.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[components]]\nname = \"fetch\"\npath = {:?}\n[components.wasi]\nallow_http_hosts = [\"127.0.0.1\"]\n",
            path(components::fetch())
        ),
    )
    .unwrap();
    let endpoint = format!("http://{}", receiver.addr);
    let s = Sidecar::start_with_env(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--nats",
            &nats.url,
            "--nats-prefix",
            "f",
            "--quic",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
        ],
        &[
            ("WITMESH_TELEMETRY__OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    // Through the HTTP gateway, with the caller's trace context.
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let traceparent = format!("00-{trace_id}-b7ad6b7169203331-01");
    let gateway = s.ready.http.unwrap();
    let body = serde_json::json!({ "authority": authority, "path": "/ping" }).to_string();
    let answer = tokio::task::spawn_blocking(move || {
        http(
            gateway,
            "POST",
            "/v1/call/witmesh:fetch/fetch@0.1.0/get",
            &[
                ("content-type", "application/json"),
                ("traceparent", &traceparent),
            ],
            body.as_bytes(),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let head = seen.join().unwrap();
    let tp = head
        .lines()
        .find_map(|l| l.strip_prefix("traceparent:"))
        .unwrap_or_else(|| panic!("no traceparent in the component's request:\n{head}"))
        .trim()
        .to_owned();
    // The same trace, continued by the sidecar's spans (not the caller's span itself).
    assert!(tp.starts_with(&format!("00-{trace_id}-")), "{tp}");
    assert!(
        !tp.contains("b7ad6b7169203331"),
        "{tp}: the caller's span, not the call's"
    );
}
