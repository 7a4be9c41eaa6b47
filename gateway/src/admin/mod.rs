//! The admin listener: a small HTTP/1.1 server on its own (loopback by default) address for
//! operators and `witmesh peers` / `witmesh routes`. It answers from the node's view
//! ([`NodeInfo`]) and keeps answering while the node drains, so `/readyz` can say so.
//!
//! | path | answer |
//! |---|---|
//! | `GET /healthz` | 200 while the process runs |
//! | `GET /readyz` | 200 when ready, 503 before the listeners are up and once draining; the status JSON |
//! | `GET /metrics` | Prometheus text format |
//! | `GET /v1/status` | the node's status JSON |
//! | `GET /v1/config` | the effective configuration, secrets hidden |
//! | `GET /v1/peers` | the nodes known, this one first |
//! | `GET /v1/routes` | each forwarded import and its providers |
//! | `GET /v1/catalog` | each instance the mesh serves, its providers and functions |
//! | `GET /v1/wit/{instance}` | the instance's WIT files, dependencies first |
//! | `POST /v1/call/{instance}/{function}` | a call through this node, as on the HTTP gateway |

pub mod client;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::{Method, StatusCode};

use crate::api::catalog::{Catalog, Entry};
use crate::api::NodeInfo;
use crate::call::FailureKind;
use crate::http::gateway::Gateway;
use crate::http::response::{json, problem, text, Answer, Problem};
use crate::http::server::{Handler, HttpServer, ListenError};

/// A bound admin listener.
pub struct AdminListener {
    server: HttpServer,
}

impl AdminListener {
    /// Binds `addr` and serves admin requests from `info` and `catalog`, and calls through
    /// `gateway` (for `witmesh call --via`), until [`AdminListener::close`].
    pub async fn start(
        addr: SocketAddr,
        info: Arc<NodeInfo>,
        catalog: Arc<Catalog>,
        gateway: Arc<Gateway>,
    ) -> Result<Self, ListenError> {
        let handler: Handler = Arc::new(move |req| {
            let (info, catalog, gateway) = (info.clone(), catalog.clone(), gateway.clone());
            Box::pin(async move {
                let path = req.uri().path().to_owned();
                if path.starts_with("/v1/call/") {
                    return gateway.handle(req).await;
                }
                if req.method() == Method::GET && path == "/v1/catalog" {
                    let entries: Vec<Entry> = catalog
                        .entries()
                        .await
                        .into_iter()
                        .map(|(e, _)| e)
                        .collect();
                    return json(StatusCode::OK, &entries);
                }
                if let (&Method::GET, Some(instance)) =
                    (req.method(), path.strip_prefix("/v1/wit/"))
                {
                    let instance =
                        crate::http::gateway::percent_decode(instance).unwrap_or_default();
                    return match catalog.wit_files(&instance).await {
                        Some(files) => json(StatusCode::OK, &files),
                        None => problem(
                            Problem::Call(FailureKind::Unknown),
                            &format!("no WIT for `{instance}`: nothing reachable serves it"),
                        ),
                    };
                }
                respond(&info, req.method(), &path)
            })
        });
        Ok(AdminListener {
            server: HttpServer::start("admin requests", addr, handler).await?,
        })
    }

    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr
    }

    /// Stops accepting; answers in progress finish.
    pub async fn close(self) {
        self.server.close(std::time::Duration::from_secs(1)).await;
    }
}

/// The answer to `method path`.
fn respond(info: &NodeInfo, method: &Method, path: &str) -> Answer {
    if method != Method::GET && method != Method::HEAD {
        return problem(
            Problem::Method,
            &format!("`{method}` is not allowed on the admin listener; use GET"),
        );
    }
    match path {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => {
            let status = info.status();
            let code = if status.ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(code, &status)
        }
        "/metrics" => {
            let m = crate::telemetry::metrics::global();
            m.set_peers(info.peers().len().saturating_sub(1));
            let routes = info.routes();
            m.set_breakers(routes.iter().flat_map(|r| {
                r.providers
                    .iter()
                    .filter(|p| p.source != "local")
                    .map(|p| (r.instance.as_str(), p.node.as_str(), p.breaker))
            }));
            for c in info.components() {
                let (live, idle, memory) = c.usage();
                m.set_component(&c.name, live, idle, memory);
            }
            crate::http::response::bytes(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                m.text(),
            )
        }
        "/v1/status" => json(StatusCode::OK, &info.status()),
        "/v1/config" => json(StatusCode::OK, info.config()),
        "/v1/peers" => json(StatusCode::OK, &info.peers()),
        "/v1/routes" => json(StatusCode::OK, &info.routes()),
        _ => problem(
            Problem::NotFound,
            &format!(
                "no admin endpoint `{}`; try /healthz, /readyz, /metrics, /v1/status, /v1/config, /v1/peers, /v1/routes or /v1/catalog",
                path.chars().take(128).collect::<String>()
            ),
        ),
    }
}
