//! Native wRPC servers for the benches: generated `wit-bindgen-wrpc` handlers served in the
//! bench process over NATS or QUIC, the baseline witmesh is measured against.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};
use futures::StreamExt as _;
use quinn::{RecvStream, SendStream};
use wrpc_transport::frame::{Accept, AcceptError};

/// Drives the invocation streams `serve` returned: every invocation runs in its own task, so
/// the native server handles calls concurrently.
pub fn drive<S, F>(what: &'static str, invocations: Vec<(&'static str, &'static str, S)>)
where
    S: futures::Stream<Item = Result<F>> + Send + Unpin + 'static,
    F: std::future::Future<Output = Result<()>> + Send + 'static,
{
    for (instance, name, mut stream) in invocations {
        tokio::spawn(async move {
            while let Some(next) = stream.next().await {
                match next {
                    Ok(call) => {
                        tokio::spawn(async move {
                            if let Err(e) = call.await {
                                eprintln!("native {what}: {instance}.{name} failed: {e:#}");
                            }
                        });
                    }
                    Err(e) => eprintln!("native {what}: {instance}.{name} invocation: {e:#}"),
                }
            }
        });
    }
}

/// A development certificate and the QUIC server configuration using it, built exactly as
/// witmesh builds its own; returns the configuration and the PEM for clients to trust.
pub fn native_tls() -> Result<(quinn::ServerConfig, String)> {
    let id = witmesh::transport::tls::dev_identity()?;
    let config = witmesh::transport::tls::server_config(&id)?;
    Ok((config, id.dev_pem.unwrap_or_default()))
}

/// One already-accepted QUIC stream pair, handed to `Server::accept` so that each stream's
/// invocation header is read in its own task (as witmesh does), not serially per connection.
struct OneStream(Mutex<Option<(SendStream, RecvStream)>>);

impl Accept for OneStream {
    type Context = ();
    type Outgoing = SendStream;
    type Incoming = RecvStream;

    async fn accept(&self) -> std::io::Result<((), SendStream, RecvStream)> {
        let pair = self.0.lock().ok().and_then(|mut s| s.take());
        let (tx, rx) = pair.ok_or_else(|| std::io::Error::other("stream already accepted"))?;
        Ok(((), tx, rx))
    }
}

/// A native wRPC server over QUIC on a free loopback port: register handlers on the returned
/// server with a generated `serve`, then hand the invocations to [`drive`]. Returns the server,
/// its address and the certificate PEM for clients to trust.
pub async fn quic_server() -> Result<(Arc<wrpc_transport_quic::Server>, SocketAddr, String)> {
    let (config, pem) = native_tls()?;
    let endpoint = quinn::Endpoint::server(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .context("native server: cannot bind QUIC")?;
    let addr = endpoint.local_addr().context("no local address")?;
    let server = Arc::new(wrpc_transport_quic::Server::new());
    let accepting = server.clone();
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            let server = accepting.clone();
            tokio::spawn(async move {
                let conn = match incoming.await {
                    Ok(conn) => conn,
                    Err(e) => return eprintln!("native quic: handshake failed: {e}"),
                };
                while let Ok((tx, rx)) = conn.accept_bi().await {
                    let server = server.clone();
                    tokio::spawn(async move {
                        let one = OneStream(Mutex::new(Some((tx, rx))));
                        match server.accept(one).await {
                            Ok(()) | Err(AcceptError::IO(_)) => {}
                            Err(e) => eprintln!("native quic: accept: {e}"),
                        }
                    });
                }
            });
        }
    });
    Ok((server, addr, pem))
}
