//! A native greeter: serves `local:greeter-demo/greet` over wRPC on NATS with code generated
//! by `wit-bindgen-wrpc`, no WebAssembly, and announces itself to witmesh's discovery so
//! sidecars forward their components' `greet` imports to it.
//!
//! `greeter-server --nats nats://127.0.0.1:4222 --prefix native-greeter`

use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use futures::StreamExt as _;
use witmesh_examples::server::exports::local::greeter_demo::greet::Handler;

/// Serves the greeter over NATS.
#[derive(Parser)]
struct Args {
    /// The NATS server.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats: String,
    /// The subject prefix to serve under.
    #[arg(long, default_value = "native-greeter")]
    prefix: String,
    /// The greeting.
    #[arg(long, default_value = "Hello")]
    greeting: String,
    /// The witmesh lattice to announce in (`[node] lattice`).
    #[arg(long, default_value = "default")]
    lattice: String,
}

#[derive(Clone)]
struct Greeter(String);

impl<Ctx: Send> Handler<Ctx> for Greeter {
    async fn greet(&self, _: Ctx, name: String) -> anyhow::Result<String> {
        Ok(format!("{}, {name}!", self.0))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let nats = async_nats::connect(&args.nats)
        .await
        .with_context(|| format!("cannot connect to NATS at {}", args.nats))?;
    let wrpc = wrpc_transport_nats::Client::new(nats.clone(), args.prefix.clone(), None).await?;
    let invocations =
        witmesh_examples::server::serve(&wrpc, Greeter(args.greeting.clone())).await?;
    for (_, _, mut calls) in invocations {
        tokio::spawn(async move {
            while let Some(call) = calls.next().await {
                match call {
                    Ok(call) => {
                        tokio::spawn(async move {
                            if let Err(e) = call.await {
                                eprintln!("greet failed: {e:#}");
                            }
                        });
                    }
                    Err(e) => eprintln!("bad invocation: {e:#}"),
                }
            }
        });
    }
    nats.flush().await?;
    println!("serving local:greeter-demo/greet under {}", args.prefix);
    // witmesh discovery: the same JSON every sidecar publishes, once a second.
    let subject = format!("witmesh.discovery.{}", args.lattice);
    let me = format!(
        r#"{{"node":"{}","nats_prefix":"{}","instances":["local:greeter-demo/greet"],"ttl_ms":3500}}"#,
        args.prefix, args.prefix
    );
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        nats.publish(subject.clone(), me.clone().into()).await?;
    }
}
