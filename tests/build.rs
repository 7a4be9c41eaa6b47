//! Builds the test components in `tests/components/` (a workspace of their own) for
//! `wasm32-wasip2`, the way wasmtime builds its test-programs, and hands their paths to the
//! crate as `TEST_COMPONENT_<NAME>` (see `src/components.rs`).
//!
//! The nested cargo gets its own target directory, `<target>/components`, so it never waits on
//! the lock of the build that runs this script, and an environment cleaned of what the outer
//! build sets for build scripts (flags, wrappers, jobserver, package metadata) and would break or
//! redirect it.

use std::env;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest target: it produces components directly.
const TARGET: &str = "wasm32-wasip2";

/// The components: crate directory, env var suffix, and the artifact's file stem.
const COMPONENTS: &[(&str, &str, &str)] = &[
    ("greeter", "GREETER", "witmesh_test_greeter"),
    ("every-type", "EVERY_TYPE", "witmesh_test_every_type"),
    ("faults", "FAULTS", "witmesh_test_faults"),
    ("logger", "LOGGER", "witmesh_test_logger"),
    ("policy", "POLICY", "witmesh_test_policy"),
    ("fetch", "FETCH", "witmesh_test_fetch"),
    ("relay", "RELAY", "witmesh_test_relay"),
    ("vclient", "VCLIENT", "witmesh_test_vclient"),
    ("http-hello", "HTTP_HELLO", "witmesh_test_http_hello"),
    ("tally", "TALLY", "witmesh_test_tally"),
    ("counters", "COUNTERS", "witmesh_test_counters"),
    ("streamer", "STREAMER", "witmesh_test_streamer"),
    ("sink", "SINK", "witmesh_test_sink"),
    ("wasi03", "WASI03", "witmesh_test_wasi03"),
    ("bytes-relay", "BYTES_RELAY", "witmesh_test_bytes_relay"),
    ("http03", "HTTP03", "witmesh_test_http03"),
];

/// Variables the outer build sets (or a user sets for it) that must not reach the nested cargo.
const LEAKING: &[&str] = &[
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "CARGO_BUILD_RUSTDOCFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_BUILD_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_JOBS",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_INCREMENTAL",
    "CARGO_BUILD_INCREMENTAL",
    "CLIPPY_ARGS",
    "CLIPPY_CONF_DIR",
    "__CARGO_FIX_PLZ",
    "RUSTDOC",
    "RUSTC_LINKER",
    "OUT_DIR",
    "TARGET",
    "HOST",
    "NUM_JOBS",
    "OPT_LEVEL",
    "DEBUG",
    "PROFILE",
];

/// Prefixes of leaking variables: build-script metadata, profile and per-target settings.
const LEAKING_PREFIXES: &[&str] = &[
    "CARGO_CFG_",
    "CARGO_FEATURE_",
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "CARGO_PROFILE_",
    "CARGO_TARGET_",
    "DEP_",
];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let components = manifest_dir.join("components");
    let wit = manifest_dir.join("wit");

    println!("cargo:rerun-if-changed={}", components.display());
    println!(
        "cargo:rerun-if-changed={}",
        components.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        components.join("Cargo.lock").display()
    );
    for (dir, _, _) in COMPONENTS {
        println!(
            "cargo:rerun-if-changed={}",
            components.join(dir).join("src").display()
        );
        println!(
            "cargo:rerun-if-changed={}",
            components.join(dir).join("Cargo.toml").display()
        );
    }
    println!("cargo:rerun-if-changed={}", wit.display());

    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    require_target(&rustc);

    let target_dir = outer_target_dir(&manifest_dir).join("components");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(&components)
        .args(["build", "--release", "--locked", "-j2", "--target", TARGET])
        .arg("--manifest-path")
        .arg(components.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for (key, _) in env::vars_os() {
        if let Some(k) = key.to_str() {
            if LEAKING.contains(&k) || LEAKING_PREFIXES.iter().any(|p| k.starts_with(p)) {
                cmd.env_remove(&key);
            }
        }
    }

    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not run `{}`: {e}", Path::new(&cargo).display()));
    if !out.status.success() {
        panic!(
            "building the test components failed ({}): {cmd:?}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let release = target_dir.join(TARGET).join("release");
    for (_, name, stem) in COMPONENTS {
        let wasm = release.join(format!("{stem}.wasm"));
        assert!(
            wasm.is_file(),
            "the component build did not produce {}",
            wasm.display()
        );
        // A deleted artifact reruns this script instead of leaving a dangling path.
        println!("cargo:rerun-if-changed={}", wasm.display());
        println!("cargo:rustc-env=TEST_COMPONENT_{name}={}", wasm.display());
    }
}

/// Panics with the fix when `rustc` has no standard library for the guest target.
fn require_target(rustc: &OsStr) {
    let out = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .unwrap_or_else(|e| panic!("could not run `{}`: {e}", Path::new(rustc).display()));
    let libdir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || libdir.is_empty() || !Path::new(&libdir).is_dir() {
        panic!(
            "the `{TARGET}` target is not installed; the test components need it: run \
             `rustup target add {TARGET}`"
        );
    }
}

/// The outer build's target directory: the nearest ancestor of `OUT_DIR` that cargo tagged as
/// its target directory, else `CARGO_TARGET_DIR`, else `<workspace>/target`.
fn outer_target_dir(manifest_dir: &Path) -> PathBuf {
    if let Some(out_dir) = env::var_os("OUT_DIR") {
        let out_dir = PathBuf::from(out_dir);
        if let Some(dir) = out_dir
            .ancestors()
            .find(|d| d.join("CACHEDIR.TAG").is_file())
        {
            return dir.to_path_buf();
        }
    }
    if let Some(dir) = env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            dir
        } else {
            manifest_dir.parent().unwrap_or(manifest_dir).join(dir)
        };
    }
    manifest_dir.parent().unwrap_or(manifest_dir).join("target")
}
