//! Native wRPC servers for the benches: generated `wit-bindgen-wrpc` handlers served in the
//! bench process over NATS or QUIC, the baseline witmesh is measured against, and the raw
//! echo servers of the transports' floors.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context as _, Result};
use bytes::Bytes;
use futures::StreamExt as _;
use quinn::{RecvStream, SendStream};
use wit_bindgen_wrpc::wrpc_transport::{ResourceBorrow, ResourceOwn};
use witmesh_tests::every_type::exports::witmesh::every_type::echo::Handler;
use witmesh_tests::every_type::witmesh::every_type::types::{
    Blob, Color, Counter, Everything, Permissions, Point, Shape, TreeNode, WideFlags,
};
use witmesh_tests::native::NativeGreeter;
use wrpc_transport::frame::{Accept, AcceptError};

use crate::payload::RAW_SUBJECT;

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

/// The native greeter (`"Hello, {name}!"`) over QUIC on a free loopback port: its address and
/// the certificate PEM for clients to trust.
pub async fn greeter_quic() -> Result<(SocketAddr, String)> {
    let (server, addr, pem) = quic_server().await?;
    let invocations =
        witmesh_tests::greeter_server::serve(server.as_ref(), NativeGreeter("Hello")).await?;
    drive("quic", invocations);
    Ok((addr, pem))
}

/// The raw floors' servers, in this process: a NATS responder echoing on
/// [`RAW_SUBJECT`] and a QUIC echo of each stream on a free loopback port, whose address and
/// certificate PEM are returned.
pub async fn raw_servers(nats_url: &str) -> Result<(SocketAddr, String)> {
    let nats = async_nats::connect(nats_url).await?;
    let mut sub = nats.subscribe(RAW_SUBJECT).await?;
    tokio::spawn(async move {
        while let Some(msg) = sub.next().await {
            if let Some(reply) = msg.reply {
                let _ = nats.publish(reply, msg.payload).await;
            }
        }
    });
    let (config, pem) = native_tls()?;
    let endpoint = quinn::Endpoint::server(config, SocketAddr::from(([127, 0, 0, 1], 0)))?;
    let addr = endpoint.local_addr()?;
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            tokio::spawn(async move {
                let Ok(conn) = incoming.await else { return };
                while let Ok((mut tx, mut rx)) = conn.accept_bi().await {
                    tokio::spawn(async move {
                        if let Ok(data) = rx.read_to_end(1 << 20).await {
                            let _ = tx.write_all(&data).await;
                            let _ = tx.finish();
                        }
                    });
                }
            });
        }
    });
    Ok((addr, pem))
}

/// Echoes every argument back, as the every-type component does.
#[derive(Clone, Copy)]
pub struct NativeEcho;

impl<Ctx: Send> Handler<Ctx> for NativeEcho {
    async fn echo_bool(&self, _: Ctx, v: bool) -> Result<bool> {
        Ok(v)
    }
    async fn echo_s8(&self, _: Ctx, v: i8) -> Result<i8> {
        Ok(v)
    }
    async fn echo_s16(&self, _: Ctx, v: i16) -> Result<i16> {
        Ok(v)
    }
    async fn echo_s32(&self, _: Ctx, v: i32) -> Result<i32> {
        Ok(v)
    }
    async fn echo_s64(&self, _: Ctx, v: i64) -> Result<i64> {
        Ok(v)
    }
    async fn echo_u8(&self, _: Ctx, v: u8) -> Result<u8> {
        Ok(v)
    }
    async fn echo_u16(&self, _: Ctx, v: u16) -> Result<u16> {
        Ok(v)
    }
    async fn echo_u32(&self, _: Ctx, v: u32) -> Result<u32> {
        Ok(v)
    }
    async fn echo_u64(&self, _: Ctx, v: u64) -> Result<u64> {
        Ok(v)
    }
    async fn echo_f32(&self, _: Ctx, v: f32) -> Result<f32> {
        Ok(v)
    }
    async fn echo_f64(&self, _: Ctx, v: f64) -> Result<f64> {
        Ok(v)
    }
    async fn echo_char(&self, _: Ctx, v: char) -> Result<char> {
        Ok(v)
    }
    async fn echo_string(&self, _: Ctx, v: String) -> Result<String> {
        Ok(v)
    }
    async fn echo_bytes(&self, _: Ctx, v: Bytes) -> Result<Bytes> {
        Ok(v)
    }
    async fn echo_blob(&self, _: Ctx, v: Blob) -> Result<Blob> {
        Ok(v)
    }
    async fn echo_list(&self, _: Ctx, v: Vec<Point>) -> Result<Vec<Point>> {
        Ok(v)
    }
    async fn echo_record(&self, _: Ctx, v: Point) -> Result<Point> {
        Ok(v)
    }
    async fn echo_tuple(&self, _: Ctx, v: (u8, String, f64)) -> Result<(u8, String, f64)> {
        Ok(v)
    }
    async fn echo_variant(&self, _: Ctx, v: Shape) -> Result<Shape> {
        Ok(v)
    }
    async fn echo_enum(&self, _: Ctx, v: Color) -> Result<Color> {
        Ok(v)
    }
    async fn echo_option(&self, _: Ctx, v: Option<String>) -> Result<Option<String>> {
        Ok(v)
    }
    async fn echo_result(&self, _: Ctx, v: Result<Point, String>) -> Result<Result<Point, String>> {
        Ok(v)
    }
    async fn echo_flags(&self, _: Ctx, v: Permissions) -> Result<Permissions> {
        Ok(v)
    }
    async fn echo_wide_flags(&self, _: Ctx, v: WideFlags) -> Result<WideFlags> {
        Ok(v)
    }
    async fn echo_everything(&self, _: Ctx, v: Everything) -> Result<Everything> {
        Ok(v)
    }
    async fn echo_nested(&self, _: Ctx, v: TreeNode) -> Result<TreeNode> {
        Ok(v)
    }
    async fn echo_many(
        &self,
        _: Ctx,
        a: u32,
        b: String,
        c: Bytes,
        d: Option<bool>,
    ) -> Result<(u32, String, Bytes, Option<bool>)> {
        Ok((a, b, c, d))
    }
    async fn echo_unit(&self, _: Ctx) -> Result<()> {
        Ok(())
    }
    async fn echo_own(&self, _: Ctx, v: ResourceOwn<Counter>) -> Result<ResourceOwn<Counter>> {
        Ok(v)
    }
    async fn echo_borrow(&self, _: Ctx, _: ResourceBorrow<Counter>) -> Result<u64> {
        bail!("the native bench server does not implement `counter`")
    }
}

/// Serves [`NativeEcho`] over NATS at `url` under `prefix`; the client must outlive the bench.
pub async fn echo_nats(url: &str, prefix: &str) -> Result<wrpc_transport_nats::Client> {
    let nats = async_nats::connect(url)
        .await
        .context("native server: cannot connect to NATS")?;
    let wrpc = wrpc_transport_nats::Client::new(nats.clone(), prefix, None)
        .await
        .context("native server: wRPC over NATS")?;
    let invocations = witmesh_tests::every_type::serve(&wrpc, NativeEcho)
        .await
        .context("native server: serve over NATS")?;
    drive("nats", invocations);
    nats.flush().await.context("native server: NATS flush")?;
    Ok(wrpc)
}

/// Serves [`NativeEcho`] over QUIC on a free loopback port: its address and the certificate
/// PEM.
pub async fn echo_quic() -> Result<(SocketAddr, String)> {
    let (server, addr, pem) = quic_server().await?;
    let invocations = witmesh_tests::every_type::serve(server.as_ref(), NativeEcho)
        .await
        .context("native server: serve over QUIC")?;
    drive("quic", invocations);
    Ok((addr, pem))
}
