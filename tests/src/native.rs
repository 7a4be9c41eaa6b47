//! Native wRPC providers for mesh tests: programs that speak wRPC without WebAssembly, as
//! first-class peers of witmesh sidecars.

use std::sync::Arc;

use anyhow::Context as _;
use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use tokio::io::AsyncWriteExt as _;
use witmesh_proto::codec::{encode_values, read_values, Limits, ValuesDecoder};
use witmesh_proto::{Func, Value};
use wrpc_transport::{ResourceBorrow, ResourceOwn, Serve as _};

use crate::counters_server::exports::witmesh::counters::counters::{self, Counter};

use crate::greeter_server::exports::local::greeter_demo::greet::Handler;

/// A `wit-bindgen-wrpc` greeter answering `greet(name)` with `"{greeting}, {name}!"`.
#[derive(Clone)]
pub struct NativeGreeter(pub &'static str);

impl<Ctx: Send> Handler<Ctx> for NativeGreeter {
    async fn greet(&self, _: Ctx, name: String) -> anyhow::Result<String> {
        Ok(format!("{}, {name}!", self.0))
    }
}

/// Serves the native greeter over NATS at `url` under `prefix`; keep the client alive.
pub async fn serve_greeter(
    url: &str,
    prefix: &str,
    greeter: NativeGreeter,
) -> anyhow::Result<wrpc_transport_nats::Client> {
    let nats = async_nats::connect(url).await.context("connect")?;
    let wrpc = wrpc_transport_nats::Client::new(nats.clone(), prefix, None).await?;
    let invocations = crate::greeter_server::serve(&wrpc, greeter).await?;
    handle_all(invocations.into_iter().map(|(_, _, s)| s).collect());
    nats.flush().await?;
    Ok(wrpc)
}

/// What a native handler does with one call: answer with results, or fail it by ending the
/// stream without results (as an upstream server does on any failure).
pub type NativeHandler = Arc<dyn Fn(Vec<Value>) -> Option<Vec<Value>> + Send + Sync>;

/// Serves `func` under the instance name `instance` over NATS at `url` under `prefix` with
/// `handler`, decoding and encoding with witmesh's codec: a native provider of any WIT
/// function. Keep the returned client alive.
pub async fn serve_raw(
    url: &str,
    prefix: &str,
    instance: &str,
    func: Func,
    handler: NativeHandler,
) -> anyhow::Result<wrpc_transport_nats::Client> {
    let nats = async_nats::connect(url).await.context("connect")?;
    let wrpc = wrpc_transport_nats::Client::new(nats.clone(), prefix, None).await?;
    let paths: Arc<[Box<[Option<usize>]>]> = Arc::from(Vec::new());
    let invocations = wrpc.serve(instance, &func.name, paths).await?;
    let func = Arc::new(func);
    tokio::spawn(async move {
        let mut invocations = std::pin::pin!(invocations);
        while let Some(Ok((_cx, mut tx, mut rx))) = invocations.next().await {
            let (func, handler) = (func.clone(), handler.clone());
            tokio::spawn(async move {
                let mut dec = ValuesDecoder::new(
                    func.params.clone(),
                    func.param_labels.clone(),
                    Limits::default(),
                );
                let mut buf = BytesMut::new();
                let Ok(params) = read_values(&mut rx, &mut dec, &mut buf).await else {
                    return;
                };
                drop(rx);
                if let Some(results) = handler(params) {
                    let mut out = BytesMut::new();
                    if encode_values(&func.results, &func.result_labels, &results, &mut out).is_ok()
                    {
                        let _ = tx.write_all(&out).await;
                        let _ = tx.shutdown().await;
                    }
                }
            });
        }
    });
    nats.flush().await?;
    Ok(wrpc)
}

/// A native provider of `witmesh:counters` counters, keeping them in memory under handles it
/// makes (`NAME/ID`); a handle it did not issue fails the call, as a real resource host would.
#[derive(Clone)]
pub struct NativeCounters {
    name: Arc<str>,
    counters: Arc<std::sync::Mutex<std::collections::HashMap<Bytes, u32>>>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl NativeCounters {
    /// A provider called `name` (what `home` returns).
    pub fn new(name: &str) -> Self {
        NativeCounters {
            name: Arc::from(name),
            counters: Arc::default(),
            next: Arc::default(),
        }
    }

    /// How many counters it holds (made and not finished).
    pub fn held(&self) -> usize {
        self.counters.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Forgets every counter, as a provider that restarted would.
    pub fn forget(&self) {
        if let Ok(mut c) = self.counters.lock() {
            c.clear();
        }
    }

    fn issue(&self, start: u32) -> ResourceOwn<Counter> {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let handle = Bytes::from(format!("{}/{id}", self.name));
        if let Ok(mut c) = self.counters.lock() {
            c.insert(handle.clone(), start);
        }
        ResourceOwn::from(handle)
    }

    fn with<T>(&self, handle: &Bytes, f: impl FnOnce(&mut u32) -> T) -> anyhow::Result<T> {
        let mut c = self
            .counters
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        let v = c.get_mut(handle).with_context(|| {
            format!(
                "{} does not hold counter {:?}",
                self.name,
                String::from_utf8_lossy(handle)
            )
        })?;
        Ok(f(v))
    }
}

impl<Ctx: Send> counters::Handler<Ctx> for NativeCounters {
    async fn make(&self, _: Ctx, start: u32) -> anyhow::Result<ResourceOwn<Counter>> {
        Ok(self.issue(start))
    }

    async fn peek(&self, _: Ctx, c: ResourceBorrow<Counter>) -> anyhow::Result<u32> {
        self.with(&Bytes::from(c), |v| *v)
    }

    async fn finish(&self, _: Ctx, c: ResourceOwn<Counter>) -> anyhow::Result<u32> {
        let handle = Bytes::from(c);
        let v = self.with(&handle, |v| *v)?;
        if let Ok(mut c) = self.counters.lock() {
            c.remove(&handle);
        }
        Ok(v)
    }
}

impl<Ctx: Send> counters::HandlerCounter<Ctx> for NativeCounters {
    async fn new(&self, _: Ctx, start: u32) -> anyhow::Result<ResourceOwn<Counter>> {
        Ok(self.issue(start))
    }

    async fn add(&self, _: Ctx, c: ResourceBorrow<Counter>, by: u32) -> anyhow::Result<u32> {
        self.with(&Bytes::from(c), |v| {
            *v = v.wrapping_add(by);
            *v
        })
    }

    async fn home(&self, _: Ctx, c: ResourceBorrow<Counter>) -> anyhow::Result<String> {
        self.with(&Bytes::from(c), |_| self.name.to_string())
    }
}

/// Serves `counters` over NATS at `url` under `prefix` and announces it to witmesh discovery
/// in lattice `default` as node `prefix`, once a second until the returned task is aborted.
pub async fn serve_counters(
    url: &str,
    prefix: &str,
    counters: NativeCounters,
) -> anyhow::Result<(wrpc_transport_nats::Client, tokio::task::JoinHandle<()>)> {
    let nats = async_nats::connect(url).await.context("connect")?;
    let wrpc = wrpc_transport_nats::Client::new(nats.clone(), prefix, None).await?;
    let invocations = crate::counters_server::serve(&wrpc, counters).await?;
    handle_all(invocations.into_iter().map(|(_, _, s)| s).collect());
    nats.flush().await?;
    let announce = announce(nats, prefix, "witmesh:counters/counters@0.1.0");
    Ok((wrpc, announce))
}

/// The byte a native bytes provider sends at offset `i` of a download.
#[must_use]
pub fn pattern(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 11) as u8
}

/// FNV-1a (32 bits) over `data`, continuing from `h`.
#[must_use]
pub fn fnv1a(mut h: u32, data: &[u8]) -> u32 {
    for b in data {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// FNV-1a's starting value.
pub const FNV_START: u32 = 0x811c_9dc5;

/// A native provider of `witmesh:bytes/bytes`, which also tells sidecars its WIT.
#[derive(Clone)]
pub struct NativeBytes;

impl<Ctx: Send> crate::bytes_server::exports::witmesh::bytes::bytes::Handler<Ctx> for NativeBytes {
    async fn upload(
        &self,
        _: Ctx,
        mut data: std::pin::Pin<Box<dyn futures::Stream<Item = Bytes> + Send>>,
    ) -> anyhow::Result<crate::bytes_server::exports::witmesh::bytes::bytes::Received> {
        let (mut len, mut hash) = (0u64, FNV_START);
        while let Some(chunk) = data.next().await {
            len += chunk.len() as u64;
            hash = fnv1a(hash, &chunk);
        }
        Ok(crate::bytes_server::exports::witmesh::bytes::bytes::Received { len, hash })
    }

    async fn download(
        &self,
        _: Ctx,
        len: u64,
        chunk: u32,
    ) -> anyhow::Result<std::pin::Pin<Box<dyn futures::Stream<Item = Bytes> + Send>>> {
        let chunk = u64::from(chunk.max(1));
        let chunks = (0..len.div_ceil(chunk)).map(move |c| {
            let (start, end) = (c * chunk, ((c + 1) * chunk).min(len));
            (start..end).map(pattern).collect::<Bytes>()
        });
        Ok(Box::pin(futures::stream::iter(chunks)))
    }
}

impl<Ctx: Send> crate::reflect_server::exports::witmesh::mesh::reflect::Handler<Ctx>
    for NativeBytes
{
    async fn wit(
        &self,
        _: Ctx,
        instance: String,
    ) -> anyhow::Result<Option<Vec<crate::reflect_server::exports::witmesh::mesh::reflect::WitFile>>>
    {
        Ok((instance == BYTES_INSTANCE).then(|| {
            vec![
                crate::reflect_server::exports::witmesh::mesh::reflect::WitFile {
                    name: "witmesh:bytes.wit".to_owned(),
                    text: include_str!("../wit/bytes/bytes.wit").to_owned(),
                },
            ]
        }))
    }
}

/// The instance the native bytes provider serves.
pub const BYTES_INSTANCE: &str = "witmesh:bytes/bytes@0.1.0";

/// Serves [`NativeBytes`] (and its reflection) over NATS at `url` under `prefix`, announcing it
/// to witmesh discovery as node `prefix` once a second until the returned task is aborted.
pub async fn serve_bytes(
    url: &str,
    prefix: &str,
) -> anyhow::Result<(wrpc_transport_nats::Client, tokio::task::JoinHandle<()>)> {
    let nats = async_nats::connect(url).await.context("connect")?;
    let wrpc = wrpc_transport_nats::Client::new(nats.clone(), prefix, None).await?;
    let mut all = Vec::new();
    for (_, _, s) in crate::bytes_server::serve(&wrpc, NativeBytes).await? {
        all.push(s);
    }
    for (_, _, s) in crate::reflect_server::serve(&wrpc, NativeBytes).await? {
        all.push(s);
    }
    handle_all(all);
    nats.flush().await?;
    let announce = announce(nats, prefix, BYTES_INSTANCE);
    Ok((wrpc, announce))
}

/// Announces a native provider of `instance` under `prefix` to witmesh discovery in lattice
/// `default` as node `prefix`, once a second until the returned task is aborted.
fn announce(nats: async_nats::Client, prefix: &str, instance: &str) -> tokio::task::JoinHandle<()> {
    let me = format!(
        r#"{{"node":"{prefix}","nats_prefix":"{prefix}","instances":["{instance}"],"ttl_ms":3000}}"#
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            if nats
                .publish("witmesh.discovery.default", me.clone().into())
                .await
                .is_err()
            {
                return;
            }
        }
    })
}

/// Handles the invocations of `streams` (from a bindings' `serve`) until they end.
fn handle_all<S, F>(streams: Vec<S>)
where
    S: futures::Stream<Item = anyhow::Result<F>> + Send + Unpin + 'static,
    F: std::future::Future + Send + 'static,
{
    for mut stream in streams {
        tokio::spawn(async move {
            while let Some(Ok(call)) = stream.next().await {
                tokio::spawn(async move {
                    let _ = call.await;
                });
            }
        });
    }
}

/// A native QUIC provider of [`NativeBytes`] on a free loopback port, with a fresh
/// self-signed certificate for `localhost`.
pub struct QuicBytes {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Its certificate, for `--ca`.
    pub cert_pem: String,
    endpoint: quinn::Endpoint,
}

impl Drop for QuicBytes {
    fn drop(&mut self) {
        self.endpoint.close(0u32.into(), b"test over");
    }
}

/// Serves [`NativeBytes`] over QUIC (no discovery: route to it by address).
pub async fn serve_bytes_quic() -> anyhow::Result<QuicBytes> {
    let id = witmesh::transport::tls::dev_identity()?;
    let cert_pem = id
        .dev_pem
        .clone()
        .context("a development identity has its PEM")?;
    let config = witmesh::transport::tls::server_config(&id)?;
    let endpoint = quinn::Endpoint::server(config, "127.0.0.1:0".parse()?)?;
    let addr = endpoint.local_addr()?;
    let srv = Arc::new(wrpc_transport_quic::Server::new());
    let streams = crate::bytes_server::serve(&*srv, NativeBytes).await?;
    handle_all(streams.into_iter().map(|(_, _, s)| s).collect());
    let ep = endpoint.clone();
    tokio::spawn(async move {
        while let Some(incoming) = ep.accept().await {
            let srv = srv.clone();
            tokio::spawn(async move {
                let Ok(conn) = incoming.await else { return };
                let conn = wrpc_transport_quic::Client::from(conn);
                while srv.accept(&conn).await.is_ok() {}
            });
        }
    });
    Ok(QuicBytes {
        addr,
        cert_pem,
        endpoint,
    })
}

/// How often a [`TearingBytes`] provider was called.
#[derive(Clone, Default)]
pub struct TearingBytes {
    /// `upload` calls.
    pub uploads: Arc<std::sync::atomic::AtomicUsize>,
    /// `download` calls.
    pub downloads: Arc<std::sync::atomic::AtomicUsize>,
    /// Whether `download` stalls (for a minute) instead of failing.
    pub stall: bool,
}

impl<Ctx: Send> crate::bytes_server::exports::witmesh::bytes::bytes::Handler<Ctx> for TearingBytes {
    /// Reads the first chunk of `data`, then fails the call.
    async fn upload(
        &self,
        _: Ctx,
        mut data: std::pin::Pin<Box<dyn futures::Stream<Item = Bytes> + Send>>,
    ) -> anyhow::Result<crate::bytes_server::exports::witmesh::bytes::bytes::Received> {
        self.uploads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _ = data.next().await;
        anyhow::bail!("torn after one chunk")
    }

    /// Fails at once, before any result (or, with `stall`, answers a minute later).
    async fn download(
        &self,
        _: Ctx,
        _: u64,
        _: u32,
    ) -> anyhow::Result<std::pin::Pin<Box<dyn futures::Stream<Item = Bytes> + Send>>> {
        self.downloads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.stall {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        }
        anyhow::bail!("no download today")
    }
}

/// Serves `tearing` over NATS at `url` under `prefix` and announces it; keep the client.
pub async fn serve_tearing_bytes(
    url: &str,
    prefix: &str,
    tearing: TearingBytes,
) -> anyhow::Result<(wrpc_transport_nats::Client, tokio::task::JoinHandle<()>)> {
    let nats = async_nats::connect(url).await.context("connect")?;
    let wrpc = wrpc_transport_nats::Client::new(nats.clone(), prefix, None).await?;
    let streams = crate::bytes_server::serve(&wrpc, tearing).await?;
    handle_all(streams.into_iter().map(|(_, _, s)| s).collect());
    nats.flush().await?;
    Ok((wrpc, announce(nats, prefix, BYTES_INSTANCE)))
}

/// Announces `prefix` as a provider of `instance` that nothing serves: every call to it finds
/// no responder, so it provably never reaches a server.
pub async fn announce_ghost(
    url: &str,
    prefix: &str,
    instance: &str,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let nats = async_nats::connect(url).await.context("connect")?;
    Ok(announce(nats, prefix, instance))
}
