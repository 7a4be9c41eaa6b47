//! Native wRPC providers for mesh tests: programs that speak wRPC without WebAssembly, as
//! first-class peers of witmesh sidecars.

use std::sync::Arc;

use anyhow::Context as _;
use bytes::BytesMut;
use futures::StreamExt as _;
use tokio::io::AsyncWriteExt as _;
use witmesh_proto::codec::{encode_values, read_values, Limits, ValuesDecoder};
use witmesh_proto::{Func, Value};
use wrpc_transport::Serve as _;

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
    for (_, _, mut stream) in invocations {
        tokio::spawn(async move {
            while let Some(Ok(call)) = stream.next().await {
                tokio::spawn(async move {
                    let _ = call.await;
                });
            }
        });
    }
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
