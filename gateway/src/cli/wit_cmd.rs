//! `witmesh wit inspect|encode|decode`: WIT and the wRPC value encoding from the shell.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use bytes::BytesMut;
use clap::{Args, Subcommand};
use witmesh_proto::codec::{decode_values, encode_values, Limits};
use witmesh_proto::text::{json, wave};
use witmesh_proto::wit::WitFeatures;
use witmesh_proto::{Func, Ty, Value, WitError, WitSet};

use super::Failure;

/// WIT commands.
#[derive(Debug, Subcommand)]
pub enum WitCommand {
    /// Print packages, worlds, imports and exports, and each function's WIT signature.
    Inspect {
        /// A WIT directory (with deps/), a .wit file, or a compiled component (.wasm).
        path: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        features: WitFeatureArgs,
    },
    /// Encode a function's parameters (or results) and print the wRPC bytes as hex.
    Encode {
        #[command(flatten)]
        target: FuncTarget,
        /// One value per parameter (or result), in WAVE, or in JSON with --json.
        values: Vec<String>,
        /// Encode results instead of parameters.
        #[arg(long)]
        results: bool,
        /// Read the values as JSON instead of WAVE.
        #[arg(long)]
        json: bool,
    },
    /// Decode hex wRPC bytes of a function's parameters or results and print them.
    Decode {
        #[command(flatten)]
        target: FuncTarget,
        /// Decode parameters.
        #[arg(long, conflicts_with = "results", required_unless_present = "results")]
        params: bool,
        /// Decode results.
        #[arg(long)]
        results: bool,
        /// The bytes, as hex (spaces and a 0x prefix allowed).
        hex: String,
        /// Print a JSON array instead of WAVE, one value per line.
        #[arg(long)]
        json: bool,
    },
}

/// Which `@unstable(feature = ...)` items of WIT files are kept; without these flags they
/// are left out, as published WIT intends.
#[derive(Debug, Args, Clone, Default)]
pub struct WitFeatureArgs {
    /// Keep the WIT items gated by these features (comma-separated), e.g. `clocks-timezone`.
    #[arg(long, value_name = "LIST")]
    wit_features: Option<String>,
    /// Keep every WIT item gated by a feature.
    #[arg(long, conflicts_with = "wit_features")]
    all_wit_features: bool,
}

impl WitFeatureArgs {
    /// Loads WIT from `path` with these features.
    pub(super) fn load(&self, path: &Path) -> Result<WitSet, WitError> {
        let features = if self.all_wit_features {
            WitFeatures::all()
        } else {
            WitFeatures::parse(self.wit_features.as_deref().unwrap_or_default())
        };
        WitSet::load_with(path, &features)
    }
}

/// The WIT and the function a command works on.
#[derive(Debug, Args)]
pub struct FuncTarget {
    /// WIT to load: a directory, a .wit file or a component.
    #[arg(long)]
    wit: PathBuf,
    #[command(flatten)]
    features: WitFeatureArgs,
    /// INSTANCE.FUNC, e.g. `local:greeter-demo/greet.greet`.
    func: String,
}

impl FuncTarget {
    fn resolve(&self) -> anyhow::Result<Func> {
        let set = self.features.load(&self.wit)?;
        Ok(set.func_by_target(&self.func)?)
    }
}

/// Runs a WIT command.
pub(crate) fn run(cmd: WitCommand) -> Result<(), Failure> {
    match cmd {
        WitCommand::Inspect {
            path,
            json,
            features,
        } => {
            let set = features.load(&path).map_err(anyhow::Error::from)?;
            let report = witmesh_proto::wit::inspect(&set);
            if json {
                let text =
                    serde_json::to_string_pretty(&report).context("cannot serialize the report")?;
                println!("{text}");
            } else {
                print!("{report}");
            }
            Ok(())
        }
        WitCommand::Encode {
            target,
            values,
            results,
            json,
        } => {
            let func = target.resolve()?;
            let (tys, labels) = side(&func, results);
            let values = parse_values(&func, results, &values, json)?;
            let mut buf = BytesMut::new();
            encode_values(tys, labels, &values, &mut buf).map_err(Failure::new)?;
            println!("{}", hex::encode(&buf));
            Ok(())
        }
        WitCommand::Decode {
            target,
            results,
            hex: text,
            json,
            ..
        } => {
            let func = target.resolve()?;
            let (tys, labels) = side(&func, results);
            let cleaned: String = text
                .trim()
                .trim_start_matches("0x")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let bytes = hex::decode(&cleaned)
                .map_err(|e| Failure::new(format!("`{text}` is not hex: {e}")))?;
            let values =
                decode_values(tys, labels, &bytes, &Limits::default()).map_err(Failure::new)?;
            if json {
                println!("{}", json::values_to_json(tys, &values));
            } else {
                for (ty, v) in tys.iter().zip(&values) {
                    println!("{}", wave::to_wave(ty, v).map_err(Failure::new)?);
                }
            }
            Ok(())
        }
    }
}

fn side(func: &Func, results: bool) -> (&[Ty], &[String]) {
    if results {
        (&func.results, &func.result_labels)
    } else {
        (&func.params, &func.param_labels)
    }
}

fn parse_values(
    func: &Func,
    results: bool,
    texts: &[String],
    as_json: bool,
) -> anyhow::Result<Vec<Value>> {
    let (tys, labels) = side(func, results);
    if texts.len() != tys.len() {
        let what = if results { "result" } else { "parameter" };
        bail!(
            "`{}` takes {} {what}(s) but {} value(s) were given",
            func.signature,
            tys.len(),
            texts.len()
        );
    }
    tys.iter()
        .zip(labels.iter())
        .zip(texts)
        .map(|((ty, label), text)| {
            if as_json {
                let j: serde_json::Value = serde_json::from_str(text)
                    .with_context(|| format!("{label}: `{text}` is not JSON"))?;
                json::from_json(ty, &j).with_context(|| label.clone())
            } else {
                wave::from_wave(ty, text).with_context(|| label.clone())
            }
        })
        .collect()
}
