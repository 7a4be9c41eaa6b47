//! `witmesh call` and `witmesh describe`: call any function of any wRPC server from the
//! shell, with values in WAVE or JSON checked against the WIT before anything is sent; the
//! WIT comes from `--wit` or, from a witmesh sidecar, from the sidecar itself
//! (`witmesh:mesh/reflect`).

use std::path::PathBuf;

use clap::Args;
use witmesh_config::{HostPort, HumanDuration};
use witmesh_proto::codec::Limits;
use witmesh_proto::text::{json, wave};
use witmesh_proto::wit::reflect;
use witmesh_proto::{Func, Value, WitSet};

use super::Failure;
use crate::call::deadline::by_for;
use crate::call::stream::{is_byte_stream, streams_bytes, ByteStream, StreamAnswer};
use crate::client::{CallFailure, Caller, FailureKind};
use witmesh_proto::value::StreamValue;

/// Where the server is.
#[derive(Debug, Args)]
pub(super) struct Connect {
    /// Call over NATS at this URL.
    #[arg(long, value_name = "URL", conflicts_with_all = ["quic", "via"])]
    pub(super) nats: Option<String>,
    /// The NATS subject prefix the server serves under (witmesh: the `prefix=` of its ready
    /// line).
    #[arg(long, value_name = "PREFIX", default_value = "", requires = "nats")]
    pub(super) prefix: String,
    /// Call over QUIC at this `HOST:PORT`.
    #[arg(long, value_name = "ADDR", requires = "ca", conflicts_with = "via")]
    pub(super) quic: Option<HostPort>,
    /// Call through a witmesh sidecar's admin listener (`admin=` in its ready line): the
    /// sidecar routes the call (a local component, a route or a discovered peer).
    #[arg(long, value_name = "ADDR")]
    pub(super) via: Option<std::net::SocketAddr>,
    /// PEM certificate (CA, or a sidecar's development certificate) to trust for QUIC.
    #[arg(long, value_name = "PEM")]
    pub(super) ca: Option<PathBuf>,
    /// The TLS name the QUIC server's certificate carries.
    #[arg(long, value_name = "NAME", default_value = "localhost")]
    pub(super) server_name: String,
    /// WIT to take the types from: a directory, a .wit file or a component. Without it the
    /// server is asked (witmesh sidecars answer; other servers need --wit).
    #[arg(long, value_name = "PATH")]
    pub(super) wit: Option<PathBuf>,
    #[command(flatten)]
    pub(super) features: super::wit_cmd::WitFeatureArgs,
    /// How long to wait for the answer.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub(super) timeout: HumanDuration,
}

/// `witmesh call`.
#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct CallArgs {
    #[command(flatten)]
    connect: Connect,
    /// Read the parameters as one JSON document (an array, or an object of named
    /// parameters) and print the results as JSON.
    #[arg(long)]
    json: bool,
    /// `INSTANCE.FUNC`, e.g. `local:greeter-demo/greet.greet`.
    target: String,
    /// One WAVE value per parameter (with --json: one JSON document).
    args: Vec<String>,
}

/// `witmesh describe`.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    #[command(flatten)]
    connect: Connect,
    /// The instance, e.g. `local:greeter-demo/greet`.
    instance: String,
}

impl Connect {
    fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))
    }

    pub(super) async fn caller(&self) -> Result<Caller, Failure> {
        let unavailable = |m: String| {
            failure(&CallFailure {
                kind: FailureKind::Unavailable,
                class: None,
                message: m,
            })
        };
        match (&self.nats, &self.quic) {
            (Some(url), None) => {
                let nats = async_nats::ConnectOptions::new()
                    .connection_timeout(self.timeout.0)
                    .connect(url.as_str())
                    .await
                    .map_err(|e| unavailable(format!("cannot connect to NATS at {url}: {e}")))?;
                Ok(Caller::nats(nats, &self.prefix))
            }
            (None, Some(addr)) => {
                let ca = self.ca.as_ref().map_or(Ok(Vec::new()), |p| {
                    std::fs::read(p).map_err(|e| {
                        Failure::new(format!("cannot read the CA `{}`: {e}", p.display()))
                    })
                })?;
                Caller::quic(addr.clone(), &self.server_name, &ca).map_err(Failure::from)
            }
            _ => Err(Failure {
                message: "say where the server is: --nats URL [--prefix P], --quic ADDR --ca PEM, or --via ADMIN_ADDR"
                    .to_owned(),
                status: witmesh_config::EXIT_CONFIG_ERROR as u8,
            }),
        }
    }

    /// The function `target` names, with its types from --wit or from the server.
    pub(super) async fn func(&self, caller: &Caller, target: &str) -> Result<Func, Failure> {
        if let Some(path) = &self.wit {
            let set = self.features.load(path).map_err(anyhow::Error::from)?;
            return set
                .func_by_target(target)
                .map_err(|e| failure(&CallFailure::unknown(e)));
        }
        let instances = match served_instances(caller, self.timeout.0).await {
            Ok(instances) => instances,
            // Not a sidecar: a native provider may still serve `witmesh:mesh/reflect` alone.
            Err(not_a_sidecar) if not_a_sidecar.status == FailureKind::Deadline.exit_status() => {
                return Err(not_a_sidecar)
            }
            Err(not_a_sidecar) => {
                let alone = async {
                    reflect_alone(caller, target, self.timeout.0)
                        .await
                        .ok_or(())
                };
                return by_for(self.timeout.0, alone, |_| ())
                    .await
                    .map_err(|()| not_a_sidecar);
            }
        };
        let instance = pick_instance(&instances, target, "the server")?;
        let set = reflect(caller, instance, self.timeout.0).await?;
        set.func(instance, &target[instance.len() + 1..])
            .map_err(|e| failure(&CallFailure::unknown(e)))
    }
}

/// The served instance `target` (`INSTANCE.FUNC`) names: the longest one it starts with,
/// followed by a dot (versions and resource methods hold dots too).
fn pick_instance<'a>(
    instances: &'a [String],
    target: &str,
    who: &str,
) -> Result<&'a String, Failure> {
    instances
        .iter()
        .filter(|i| target.len() > i.len() + 1 && target.starts_with(i.as_str()))
        .filter(|i| target.as_bytes()[i.len()] == b'.')
        .max_by_key(|i| i.len())
        .ok_or_else(|| {
            failure(&CallFailure::unknown(format!(
                "{who} does not serve the instance of `{target}` (it serves: {})",
                instances.join(", ")
            )))
        })
}

pub(super) fn failure(f: &CallFailure) -> Failure {
    Failure {
        message: f.message.clone(),
        status: f.kind.exit_status(),
    }
}

fn mesh_func(instance: &str, name: &str) -> Result<Func, Failure> {
    reflect::mesh()
        .func(instance, name)
        .map_err(|e| Failure::new(e.to_string()))
}

/// What a witmesh sidecar serves, from `witmesh:mesh/health.check`.
async fn served_instances(
    caller: &Caller,
    timeout: std::time::Duration,
) -> Result<Vec<String>, Failure> {
    let check = mesh_func("witmesh:mesh/health@0.1.0", "check")?;
    let results = caller
        .call(&check, Vec::new(), Limits::default(), timeout)
        .await
        .map_err(|e| no_reflection(&e))?;
    // status { node, ready, components, instances, .. }
    let Some(Value::Record(fields)) = results.first() else {
        return Err(Failure::new(
            "the server's health status has the wrong shape",
        ));
    };
    let mut out = strings(fields.get(3));
    out.extend(["health", "discovery", "reflect"].map(|i| format!("witmesh:mesh/{i}@0.1.0")));
    Ok(out)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::List(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn no_reflection(e: &CallFailure) -> Failure {
    failure(&CallFailure {
        kind: e.kind,
        class: e.class,
        message: format!(
            "cannot ask the server for its WIT ({}); pass --wit PATH for servers that are not witmesh sidecars",
            e.message
        ),
    })
}

/// The function `target` names, from a server that serves `witmesh:mesh/reflect` without the
/// rest of `witmesh:mesh`: each way of splitting `target` into instance and function is asked
/// for, longest instance first (a version and a resource method both hold dots).
async fn reflect_alone(
    caller: &Caller,
    target: &str,
    timeout: std::time::Duration,
) -> Option<Func> {
    let slash = target.find('/')?;
    let dots: Vec<usize> = target[slash..]
        .match_indices('.')
        .map(|(i, _)| slash + i)
        .collect();
    for dot in dots.into_iter().rev() {
        let (instance, function) = (&target[..dot], &target[dot + 1..]);
        if let Ok(set) = reflect(caller, instance, timeout).await {
            return set.func(instance, function).ok();
        }
    }
    None
}

/// The WIT of `instance` from the server's `witmesh:mesh/reflect.wit`.
async fn reflect(
    caller: &Caller,
    instance: &str,
    timeout: std::time::Duration,
) -> Result<WitSet, Failure> {
    let wit = mesh_func("witmesh:mesh/reflect@0.1.0", "wit")?;
    let results = caller
        .call(
            &wit,
            vec![Value::String(instance.to_owned())],
            Limits::default(),
            timeout,
        )
        .await
        .map_err(|e| no_reflection(&e))?;
    let Some(files) = results.first().and_then(reflect::files_of) else {
        return Err(failure(&CallFailure::unknown(format!(
            "the server does not serve `{instance}`"
        ))));
    };
    WitSet::from_wit_files(&files).map_err(|e| {
        Failure::new(format!(
            "the server's WIT for `{instance}` does not load: {e}"
        ))
    })
}

/// The parameters from the command line, checked against the function's types.
pub(super) fn params(
    func: &Func,
    args: &[String],
    as_json: bool,
) -> Result<Vec<Value>, CallFailure> {
    let target = format!("{}.{}", func.instance, func.name);
    if as_json {
        let text = match args {
            [one] => one.as_str(),
            [] if func.params.is_empty() => "[]",
            _ => {
                return Err(CallFailure::bad_value(
                    &target,
                    format!(
                        "with --json give the parameters as one JSON document, e.g. '[...]'; got {} arguments",
                        args.len()
                    ),
                ))
            }
        };
        let j: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| CallFailure::bad_value(&target, format!("`{text}` is not JSON: {e}")))?;
        return json::values_from_json(&func.params, &func.param_names, &func.param_labels, &j)
            .map_err(|e| {
                CallFailure::bad_value(
                    &target,
                    format!("{e} (the function is `{}`)", func.signature),
                )
            });
    }
    if args.len() != func.params.len() {
        return Err(CallFailure::bad_value(
            &target,
            format!(
                "`{}` takes {} parameter(s) but {} value(s) were given",
                func.signature,
                func.params.len(),
                args.len()
            ),
        ));
    }
    func.params
        .iter()
        .zip(&func.param_names)
        .zip(args)
        .map(|((ty, name), text)| {
            wave::from_wave(ty, text).map_err(|e| {
                CallFailure::bad_value(
                    &target,
                    format!("parameter `{name}` (WIT type `{ty}`): `{text}`: {e}"),
                )
            })
        })
        .collect()
}

/// Runs `witmesh call`.
pub(crate) fn call(args: CallArgs) -> Result<(), Failure> {
    let rt = Connect::runtime()?;
    if let Some(via) = args.connect.via {
        return rt.block_on(call_via(&via.to_string(), &args));
    }
    let result = rt.block_on(async {
        let caller = args.connect.caller().await?;
        let func = args.connect.func(&caller, &args.target).await?;
        if streams_bytes(&func) {
            return call_streaming(&caller, &func, &args).await;
        }
        let params = params(&func, &args.args, args.json).map_err(|e| failure(&e))?;
        let results = caller
            .call(&func, params, Limits::default(), args.connect.timeout.0)
            .await
            .map_err(|e| failure(&e))?;
        print_results(&func, &results, args.json)
    });
    // A read of stdin still blocked (the call ended before its input did) must not hold the
    // exit.
    rt.shutdown_background();
    result
}

/// `witmesh call` of a function passing a `stream<u8>`: a stream parameter's bytes come from
/// stdin, a stream result's bytes go to stdout as they arrive.
async fn call_streaming(caller: &Caller, func: &Func, args: &CallArgs) -> Result<(), Failure> {
    use futures::StreamExt as _;
    use tokio::io::AsyncWriteExt as _;
    let (params, input) = if is_byte_stream(&func.params) {
        if !args.args.is_empty() {
            return Err(failure(&CallFailure::bad_value(
                &args.target,
                format!("its one parameter is a stream<u8>: pipe the bytes to stdin instead of passing arguments (`{}`)", func.signature),
            )));
        }
        let stdin = futures::stream::unfold(tokio::io::stdin(), |mut stdin| async move {
            use tokio::io::AsyncReadExt as _;
            let mut buf = bytes::BytesMut::with_capacity(64 << 10);
            match stdin.read_buf(&mut buf).await {
                Ok(0) => None,
                Ok(_) => Some((Ok(buf.freeze()), stdin)),
                Err(e) => Some((Err(e), stdin)),
            }
        });
        let input: ByteStream = Box::pin(stdin);
        (vec![Value::Stream(StreamValue::Pending)], Some(input))
    } else {
        (
            params(func, &args.args, args.json).map_err(|e| failure(&e))?,
            None,
        )
    };
    let answer = caller
        .call_streaming(
            func,
            params,
            input,
            Limits::default(),
            args.connect.timeout.0,
        )
        .await
        .map_err(|e| failure(&e))?;
    match answer {
        StreamAnswer::Values(results) => print_results(func, &results, args.json),
        StreamAnswer::Stream(mut data) => {
            let mut out = tokio::io::stdout();
            while let Some(chunk) = data.next().await {
                let chunk = chunk.map_err(|e| {
                    failure(&CallFailure::from_attempt(
                        &args.target,
                        &crate::call::AttemptError::Lost {
                            reason: format!("the result stream broke: {e}"),
                            results_started: true,
                        },
                    ))
                })?;
                out.write_all(&chunk)
                    .await
                    .map_err(|e| Failure::new(format!("cannot write to stdout: {e}")))?;
            }
            out.flush()
                .await
                .map_err(|e| Failure::new(format!("cannot write to stdout: {e}")))
        }
    }
}

fn admin_failure(e: &crate::admin::client::AdminClientError) -> Failure {
    failure(&CallFailure {
        kind: FailureKind::Unavailable,
        class: None,
        message: e.to_string(),
    })
}

/// `witmesh call --via ADMIN`: types from the sidecar's catalog, the call through its router.
async fn call_via(admin: &str, args: &CallArgs) -> Result<(), Failure> {
    use crate::admin::client;
    let timeout = args.connect.timeout.0;
    let func = match &args.connect.wit {
        Some(path) => {
            let set = args
                .connect
                .features
                .load(path)
                .map_err(anyhow::Error::from)?;
            set.func_by_target(&args.target)
                .map_err(|e| failure(&CallFailure::unknown(e)))?
        }
        None => {
            let body = client::get(admin, "/v1/catalog", timeout)
                .await
                .map_err(|e| admin_failure(&e))?;
            let entries: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| Failure::new(e.to_string()))?;
            let instances: Vec<String> = entries
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["instance"].as_str().map(str::to_owned))
                .collect();
            let target = &args.target;
            let instance = pick_instance(&instances, target, "the mesh")?;
            let body = client::get(admin, &format!("/v1/wit/{instance}"), timeout)
                .await
                .map_err(|e| admin_failure(&e))?;
            let files: Vec<(String, String)> =
                serde_json::from_slice(&body).map_err(|e| Failure::new(e.to_string()))?;
            let set = WitSet::from_wit_files(&files).map_err(|e| Failure::new(e.to_string()))?;
            set.func(instance, &target[instance.len() + 1..])
                .map_err(|e| failure(&CallFailure::unknown(e)))?
        }
    };
    let values = params(&func, &args.args, args.json).map_err(|e| failure(&e))?;
    let body = json::values_to_json(&func.params, &values).to_string();
    let path = format!("/v1/call/{}/{}", func.instance, func.name);
    let (status, answer) = client::request(admin, "POST", &path, body.into(), timeout)
        .await
        .map_err(|e| admin_failure(&e))?;
    let doc: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
    if status != 200 {
        let kind = doc["kind"].as_str().and_then(FailureKind::parse);
        return Err(Failure {
            message: doc["detail"].as_str().map_or_else(
                || String::from_utf8_lossy(&answer).into_owned(),
                str::to_owned,
            ),
            status: kind.map_or(super::EXIT_FAILURE, FailureKind::exit_status),
        });
    }
    let mut results = Vec::new();
    for (ty, label) in func.results.iter().zip(func.result_labels.iter()) {
        let name = label.strip_prefix("result ").unwrap_or(label);
        let v = json::from_json(ty, &doc[name]).map_err(|e| {
            Failure::new(format!("the sidecar's answer does not match the WIT: {e}"))
        })?;
        results.push(v);
    }
    print_results(&func, &results, args.json)
}

fn print_results(func: &Func, results: &[Value], as_json: bool) -> Result<(), Failure> {
    if as_json {
        let j = match results {
            [one] => json::to_json(&func.results[0], one),
            _ => json::values_to_json(&func.results, results),
        };
        println!("{j}");
    } else {
        for (ty, v) in func.results.iter().zip(results) {
            println!("{}", wave::to_wave(ty, v).map_err(Failure::new)?);
        }
    }
    Ok(())
}

/// Runs `witmesh describe`.
pub(crate) fn describe(args: DescribeArgs) -> Result<(), Failure> {
    let rt = Connect::runtime()?;
    rt.block_on(async {
        let files = match &args.connect.wit {
            Some(path) => {
                let set = args
                    .connect
                    .features
                    .load(path)
                    .map_err(anyhow::Error::from)?;
                set.wit_files_of(&args.instance)
                    .map_err(|e| failure(&CallFailure::unknown(e)))?
            }
            None => match args.connect.via {
                Some(via) => {
                    let path = format!("/v1/wit/{}", args.instance);
                    let body =
                        crate::admin::client::get(&via.to_string(), &path, args.connect.timeout.0)
                            .await
                            .map_err(|e| admin_failure(&e))?;
                    serde_json::from_slice(&body).map_err(|e| Failure::new(e.to_string()))?
                }
                None => {
                    let caller = args.connect.caller().await?;
                    let set = reflect(&caller, &args.instance, args.connect.timeout.0).await?;
                    set.wit_files_of(&args.instance)
                        .map_err(|e| failure(&CallFailure::unknown(e)))?
                }
            },
        };
        // The instance's own package last; the packages it uses before it, as comments name.
        for (name, text) in &files {
            println!("// {name}");
            print!("{text}");
            println!();
        }
        Ok(())
    })
}
