//! The test components are real components whose embedded WIT exports what their WIT sources
//! say, and the prebuilt `gateway/assets/greeter.wasm` exports exactly what a fresh build of
//! `tests/components/greeter` does, so the committed binary cannot drift from its source.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use witmesh_proto::wit::{inspect, wrpc_func_name, WorldItem};
use witmesh_proto::WitSet;
use witmesh_tests::components;

/// The component binary preamble: `\0asm`, version 0x0d, layer 1 (a component, not a module).
const COMPONENT_MAGIC: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

fn prebuilt_greeter() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../gateway/assets/greeter.wasm")
}

fn load(path: &Path) -> WitSet {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        bytes.starts_with(&COMPONENT_MAGIC),
        "{} is not a component: it starts {:02x?}",
        path.display(),
        &bytes[..bytes.len().min(8)]
    );
    WitSet::load(path).unwrap_or_else(|e| panic!("decode the WIT of {}: {e}", path.display()))
}

/// What a component's world imports and exports: instance name -> sorted function signatures.
#[derive(Debug, PartialEq)]
struct Shape {
    imports: BTreeMap<String, Vec<String>>,
    exports: BTreeMap<String, Vec<String>>,
}

fn shape(path: &Path) -> Shape {
    let set = load(path);
    let report = inspect(&set);
    let main: Vec<_> = report.packages.iter().filter(|p| p.main).collect();
    assert_eq!(main.len(), 1, "{}: {main:?}", path.display());
    assert_eq!(main[0].worlds.len(), 1, "{}: {main:?}", path.display());
    let world = &main[0].worlds[0];
    let items = |items: &[WorldItem]| {
        items
            .iter()
            .map(|item| match item {
                WorldItem::Interface(i) => {
                    let mut sigs: Vec<String> =
                        i.functions.iter().map(|f| f.signature.clone()).collect();
                    sigs.sort();
                    (i.instance.clone(), sigs)
                }
                WorldItem::Function(f) => (f.name.clone(), vec![f.signature.clone()]),
            })
            .collect()
    };
    Shape {
        imports: items(&world.imports),
        exports: items(&world.exports),
    }
}

/// Checks that `items` (a component's imports or exports) has each `(instance, [signature])`,
/// and that `set` resolves each function by its wRPC name to that signature.
fn assert_has(path: &Path, items: &BTreeMap<String, Vec<String>>, expected: &[(&str, &[&str])]) {
    let set = load(path);
    for (instance, sigs) in expected {
        let Some(have) = items.get(*instance) else {
            panic!("{}: no {instance} in {items:#?}", path.display());
        };
        for sig in *sigs {
            assert!(
                have.iter().any(|h| h == sig),
                "{}: {instance} lacks `{sig}`: {have:#?}",
                path.display()
            );
            let name = sig.split(": ").next().unwrap();
            let func = set
                .func(instance, name)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(func.signature, *sig);
        }
    }
}

/// `items` with each instance's `@version` dropped.
fn unversioned(items: &BTreeMap<String, Vec<String>>) -> BTreeMap<&str, &[String]> {
    items
        .iter()
        .map(|(instance, sigs)| {
            let name = instance
                .split_once('@')
                .map_or(instance.as_str(), |(n, _)| n);
            (name, sigs.as_slice())
        })
        .collect()
}

/// Checks that the component at `path` imports each of `instances` (names without versions).
fn assert_imports(path: &Path, instances: &[&str]) {
    let imports = shape(path).imports;
    let names = unversioned(&imports);
    for instance in instances {
        assert!(
            names.contains_key(instance),
            "{}: does not import {instance}: {names:#?}",
            path.display()
        );
    }
}

fn assert_exports(path: &Path, expected: &[(&str, &[&str])]) {
    assert_has(path, &shape(path).exports, expected);
}

#[test]
fn every_component_is_a_component() {
    for (name, path) in components::all() {
        assert!(path.is_file(), "{name}: {} is missing", path.display());
        load(path);
    }
}

#[test]
fn greeter_exports_greet() {
    assert_exports(
        components::greeter(),
        &[(
            "local:greeter-demo/greet",
            &["greet: func(name: string) -> string"],
        )],
    );
}

#[test]
fn every_type_exports_echo_and_the_counter() {
    // Exactly the functions of the WIT source, with the same signatures.
    let source = WitSet::load(witmesh_tests::every_type_wit_dir()).unwrap();
    let expected: BTreeMap<String, Vec<String>> = source
        .instances()
        .into_iter()
        .filter(|(i, _)| i.starts_with("witmesh:every-type/"))
        .map(|(instance, funcs)| {
            let mut sigs: Vec<String> = funcs
                .iter()
                .map(|f| source.func(&instance, wrpc_func_name(f)).unwrap().signature)
                .collect();
            sigs.sort();
            (instance, sigs)
        })
        .collect();
    assert_eq!(expected.len(), 2, "{expected:#?}");
    let built = shape(components::every_type());
    assert_eq!(built.exports, expected);
    assert_exports(
        components::every_type(),
        &[
            (
                "witmesh:every-type/types@0.1.0",
                &[
                    "counter: func(start: u64) -> counter",
                    "counter.get: func(self: borrow<counter>) -> u64",
                ],
            ),
            (
                "witmesh:every-type/echo@0.1.0",
                &["echo-borrow: func(v: borrow<counter>) -> u64"],
            ),
        ],
    );
}

#[test]
fn faults_exports_its_misbehaviour() {
    assert_exports(
        components::faults(),
        &[(
            "witmesh:faults/faults@0.1.0",
            &[
                "ok: func(n: u32) -> u32",
                "trap: func() -> u32",
                "spin: func() -> u32",
                "hog: func(mib: u32) -> u32",
                "sleep: func(ms: u64) -> u64",
                "count: func() -> u64",
            ],
        )],
    ); // `sleep` waits on wasi:clocks.
    assert_imports(
        components::faults(),
        &["wasi:clocks/monotonic-clock", "wasi:io/poll"],
    );
}

#[test]
fn logger_exports_emit_and_imports_wasi_logging() {
    assert_exports(
        components::logger(),
        &[(
            "witmesh:logger/logger@0.1.0",
            &["emit: func(message: string) -> u32"],
        )],
    );
    let path = components::logger();
    assert_has(
        path,
        &shape(path).imports,
        &[(
            "wasi:logging/logging@0.1.0-draft",
            &["log: func(level: level, context: string, message: string)"],
        )],
    );
}

#[test]
fn policy_exports_file_and_network_access() {
    assert_exports(
        components::policy(),
        &[(
            "witmesh:policy/policy@0.1.0",
            &[
                "read-file: func(path: string) -> result<string, string>",
                "write-file: func(path: string, contents: string) -> result<_, string>",
                "connect: func(addr: string) -> result<_, string>",
            ],
        )],
    );
    assert_imports(
        components::policy(),
        &[
            "wasi:filesystem/types",
            "wasi:filesystem/preopens",
            "wasi:sockets/tcp",
            "wasi:sockets/tcp-create-socket",
        ],
    );
}

#[test]
fn prebuilt_greeter_matches_its_source() {
    let fresh = shape(components::greeter());
    let prebuilt = shape(&prebuilt_greeter());
    assert!(
        fresh.exports.contains_key("local:greeter-demo/greet"),
        "{fresh:#?}"
    );
    assert_eq!(
        prebuilt.exports, fresh.exports,
        "gateway/assets/greeter.wasm exports differ from tests/components/greeter's: copy {} over it",
        components::greeter().display()
    );
    // Imports compared without versions: a newer toolchain's std may import a later WASI 0.2.x,
    // which any WASI 0.2 host satisfies as well.
    assert_eq!(
        unversioned(&prebuilt.imports),
        unversioned(&fresh.imports),
        "gateway/assets/greeter.wasm imports differ from tests/components/greeter's: copy {} over it",
        components::greeter().display()
    );
}

/// The client bindings' shapes, checked by the compiler (never called): what serving tests write
/// to call a served component over any wRPC transport.
#[allow(dead_code)]
async fn client_bindings_type_check<C>(wrpc: &C, cx: C::Context) -> anyhow::Result<()>
where
    C: wrpc_transport::Invoke,
    C::Context: Clone,
{
    use witmesh_tests::{faults_client, greeter_client, logger_client, policy_client};
    use wrpc_transport::ResourceOwn;

    let hello: String =
        greeter_client::local::greeter_demo::greet::greet(wrpc, cx.clone(), "world").await?;
    assert_eq!(hello, "Hello, world!");

    use faults_client::witmesh::faults::faults;
    let _: u32 = faults::ok(wrpc, cx.clone(), 41).await?;
    let _: u32 = faults::trap(wrpc, cx.clone()).await?;
    let _: u32 = faults::spin(wrpc, cx.clone()).await?;
    let _: u32 = faults::hog(wrpc, cx.clone(), 8).await?;
    let _: u64 = faults::sleep(wrpc, cx.clone(), 100).await?;
    let _: u64 = faults::count(wrpc, cx.clone()).await?;

    let _: u32 = logger_client::witmesh::logger::logger::emit(wrpc, cx.clone(), "hi").await?;

    use policy_client::witmesh::policy::policy;
    let _: Result<String, String> = policy::read_file(wrpc, cx.clone(), "/a").await?;
    let _: Result<(), String> = policy::write_file(wrpc, cx.clone(), "/a", "b").await?;
    let _: Result<(), String> = policy::connect(wrpc, cx.clone(), "127.0.0.1:1").await?;

    use witmesh_tests::every_type_client::witmesh::every_type::echo;
    let _: String = echo::echo_string(wrpc, cx.clone(), "x").await?;
    let _: (u32, String, bytes::Bytes, Option<bool>) = echo::echo_many(
        wrpc,
        cx.clone(),
        1,
        "b",
        &bytes::Bytes::from_static(b"c"),
        Some(true),
    )
    .await?;
    echo::echo_unit(wrpc, cx.clone()).await?;

    use witmesh_tests::every_type_client::witmesh::every_type::types::Counter;
    let counter: ResourceOwn<Counter> = Counter::new(wrpc, cx.clone(), 7).await?;
    let _: u64 = Counter::get(wrpc, cx.clone(), &counter.as_borrow()).await?;
    let _: u64 = echo::echo_borrow(wrpc, cx.clone(), &counter.as_borrow()).await?;
    let _: ResourceOwn<Counter> = echo::echo_own(wrpc, cx, &counter).await?;
    Ok(())
}

#[test]
fn the_streamer_is_read_for_the_async_abi() {
    // One decoder reads it and knows what is async: the component needs the async engine.
    let set = load(components::streamer());
    assert!(set.async_abi());
    assert_imports(
        components::streamer(),
        &["witmesh:bytes/bytes", "local:greeter-demo/greet"],
    );
    assert_exports(
        components::streamer(),
        &[(
            "witmesh:streamer/run@0.1.0",
            &[
                "fetch: async func(len: u64, chunk: u32) -> received",
                "hello: async func(name: string) -> string",
                "send: async func(len: u64, chunk: u32) -> received",
            ],
        )],
    );
    assert!(set.is_async("witmesh:bytes/bytes@0.1.0", "upload"));
    assert!(set.is_async("local:greeter-demo/greet", "greet"));
    assert!(set.is_async("witmesh:streamer/run@0.1.0", "send"));
    assert!(!set.is_async("wasi:cli/environment@0.2.6", "get-environment"));
    let plain = load(components::greeter());
    assert!(!plain.async_abi());
    let upload = set.func("witmesh:bytes/bytes@0.1.0", "upload").unwrap();
    assert_eq!(
        upload.signature,
        "upload: async func(data: stream<u8>) -> received"
    );
}
