//! The clients the harness measures with: one long-lived connection to one path's server, and
//! which function it calls there. Every answer is checked.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Context as _, Result};
use witmesh::client::HttpCaller;
use witmesh_proto::{Func, Value, WitSet};
use witmesh_tests::every_type_client::witmesh::every_type::echo::{echo_blob, echo_bytes};
use witmesh_tests::every_type_client::witmesh::every_type::types::Blob;
use witmesh_tests::greeter_client::local::greeter_demo::greet::greet;
use witmesh_tests::relay_client::witmesh::relay::relay;

use crate::drive;
use crate::payload::{Payload, GREET, RAW_SUBJECT};

/// A wRPC transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// wRPC over NATS.
    Nats,
    /// wRPC over QUIC.
    Quic,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Nats => "nats",
            Transport::Quic => "quic",
        })
    }
}

/// The function a wRPC client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// The greeter's `greet(name)`, served by the greeter component or a native server.
    Greet,
    /// The relay component's `greet(name)`, which it forwards through its `greet` import.
    RelayGreet,
    /// The every-type component's `echo-bytes(bytes)`.
    EchoBytes,
    /// The every-type component's `echo-blob(blob)`: the same bytes inside a record.
    EchoBlob,
}

/// One long-lived connection to one path's server.
#[derive(Clone)]
pub enum Client {
    /// NATS request-reply to the raw echo responder.
    RawNats(async_nats::Client),
    /// One QUIC stream per request to the raw echo server.
    RawQuic(quinn::Connection),
    /// A `wit-bindgen-wrpc` client over NATS.
    Nats(wrpc_transport_nats::Client, Call),
    /// A `wit-bindgen-wrpc` client over QUIC.
    Quic(wrpc_transport_quic::Client, Call),
    /// JSON through a sidecar's HTTP gateway, calling `greet`.
    Http(Arc<HttpCaller>, Arc<Func>),
}

impl Client {
    /// A NATS connection to `url` for the raw floor.
    pub async fn raw_nats(url: &str) -> Result<Self> {
        let nats = async_nats::connect(url)
            .await
            .context("client: cannot connect to NATS")?;
        Ok(Client::RawNats(nats))
    }

    /// A QUIC connection to the raw echo server at `addr`, trusting `pem`.
    pub async fn raw_quic(addr: SocketAddr, pem: &[u8]) -> Result<Self> {
        Ok(Client::RawQuic(quic_connect(addr, pem).await?))
    }

    /// A wRPC client over NATS at `url` under `prefix`, calling `call`.
    pub async fn nats(url: &str, prefix: &str, call: Call) -> Result<Self> {
        let nats = async_nats::connect(url)
            .await
            .context("client: cannot connect to NATS")?;
        let wrpc = wrpc_transport_nats::Client::new(nats, prefix, None)
            .await
            .context("client: wRPC over NATS")?;
        Ok(Client::Nats(wrpc, call))
    }

    /// A wRPC client over QUIC to `addr` (`None`: the server announced no QUIC address),
    /// trusting `pem`, calling `call`.
    pub async fn quic(addr: Option<SocketAddr>, pem: &[u8], call: Call) -> Result<Self> {
        let conn = quic_connect(addr.context("no QUIC address")?, pem).await?;
        Ok(Client::Quic(wrpc_transport_quic::Client::from(conn), call))
    }

    /// `greet` through the HTTP gateway at `addr`, with the greeter's WIT from `tests/wit`.
    pub fn http(addr: Option<SocketAddr>) -> Result<Self> {
        let set = WitSet::load(witmesh_tests::wit_dir("greeter"))?;
        let func = Arc::new(set.func_by_target(&format!("{GREET}.greet"))?);
        let caller = HttpCaller::new(&format!("http://{}", addr.context("no HTTP address")?))
            .map_err(anyhow::Error::msg)?;
        Ok(Client::Http(Arc::new(caller), func))
    }

    /// One call with `p` (`greet(name)`, `echo-bytes(bytes)`, or an echo of the name's bytes
    /// for the raw paths), its answer checked.
    pub async fn call(&self, p: &Payload) -> Result<()> {
        let name = p.name.as_str();
        let got = match self {
            Client::RawNats(nats) => {
                let msg = nats
                    .request(RAW_SUBJECT, bytes::Bytes::copy_from_slice(name.as_bytes()))
                    .await?;
                ensure!(
                    msg.payload.as_ref() == name.as_bytes(),
                    "raw NATS echo differs"
                );
                return Ok(());
            }
            Client::RawQuic(conn) => {
                let (mut tx, mut rx) = conn.open_bi().await?;
                tx.write_all(name.as_bytes()).await?;
                tx.finish()?;
                let back = rx.read_to_end(1 << 20).await?;
                ensure!(back == name.as_bytes(), "raw QUIC echo differs");
                return Ok(());
            }
            Client::Nats(c, Call::EchoBytes) => {
                return check_echo(p, echo_bytes(c, None, &p.bytes).await?)
            }
            Client::Quic(c, Call::EchoBytes) => {
                return check_echo(p, echo_bytes(c, (), &p.bytes).await?)
            }
            Client::Nats(c, Call::EchoBlob) => {
                return check_blob(p, echo_blob(c, None, &blob(p)).await?)
            }
            Client::Quic(c, Call::EchoBlob) => {
                return check_blob(p, echo_blob(c, (), &blob(p)).await?)
            }
            Client::Nats(c, Call::RelayGreet) => relay::greet(c, None, name).await?,
            Client::Nats(c, Call::Greet) => greet(c, None, name).await?,
            Client::Quic(c, Call::RelayGreet) => relay::greet(c, (), name).await?,
            Client::Quic(c, Call::Greet) => greet(c, (), name).await?,
            Client::Http(h, func) => {
                let out = h
                    .call(
                        func,
                        &[Value::String(name.to_owned())],
                        Duration::from_secs(30),
                    )
                    .await?;
                match out.as_slice() {
                    [Value::String(s)] => s.clone(),
                    other => anyhow::bail!("the gateway answered {other:?}"),
                }
            }
        };
        ensure!(
            got == format!("Hello, {name}!"),
            "answered {} bytes, not the greeting",
            got.len()
        );
        Ok(())
    }

    /// `calls` calls with `p` over `concurrency` workers (see [`drive::batch`]): every
    /// latency, nanoseconds, and the wall time.
    pub async fn batch(
        &self,
        p: &Payload,
        concurrency: usize,
        calls: usize,
        timeout: Duration,
        what: &str,
    ) -> Result<(Vec<u64>, Duration)> {
        let (client, p) = (self.clone(), Arc::new(p.clone()));
        drive::batch(concurrency, calls, timeout, what, move || {
            let (client, p) = (client.clone(), p.clone());
            async move { client.call(&p).await }
        })
        .await
    }
}

/// The name every `echo-blob` call carries beside its bytes.
const BLOB_NAME: &str = "payload.bin";

fn blob(p: &Payload) -> Blob {
    Blob {
        name: BLOB_NAME.to_owned(),
        data: p.bytes.clone(),
    }
}

fn check_blob(p: &Payload, out: Blob) -> Result<()> {
    ensure!(
        out.name == BLOB_NAME,
        "returned a blob named {:?}",
        out.name
    );
    check_echo(p, out.data)
}

fn check_echo(p: &Payload, out: bytes::Bytes) -> Result<()> {
    ensure!(
        out == p.bytes,
        "returned {} bytes that differ from the {} sent",
        out.len(),
        p.bytes.len()
    );
    Ok(())
}

/// A QUIC connection trusting `pem`, server name `localhost`, kept alive between cells.
pub async fn quic_connect(addr: SocketAddr, pem: &[u8]) -> Result<quinn::Connection> {
    let mut config = witmesh::transport::tls::client_config(pem)?;
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_secs(2)));
    config.transport_config(Arc::new(transport));
    let mut ep = quinn::Endpoint::client(SocketAddr::from(([127, 0, 0, 1], 0)))
        .context("QUIC client endpoint")?;
    ep.set_default_client_config(config);
    ep.connect(addr, "localhost")
        .context("QUIC connect")?
        .await
        .with_context(|| format!("QUIC handshake with {addr}"))
}
