//! The WIT witmesh bundles in `proto-wit/wit` loads as one set and has the shapes peers rely on.

use std::collections::BTreeSet;

use witmesh_proto::WitSet;

const WASI: &str = "0.2.6";

fn bundled() -> WitSet {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/wit");
    match WitSet::load(dir) {
        Ok(set) => set,
        Err(e) => panic!("bundled WIT does not load: {e}"),
    }
}

fn signature(set: &WitSet, instance: &str, func: &str) -> String {
    match set.func(instance, func) {
        Ok(f) => f.signature,
        Err(e) => panic!("{instance}.{func}: {e}"),
    }
}

#[test]
fn whole_directory_loads_with_witmesh_as_main_package() {
    let set = bundled();
    let resolve = set.resolve();
    let main = set.main_packages();
    assert_eq!(main.len(), 1);
    assert_eq!(
        resolve.packages[main[0]].name.to_string(),
        "witmesh:mesh@0.1.0"
    );
    let worlds: BTreeSet<&str> = resolve.packages[main[0]]
        .worlds
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        worlds,
        BTreeSet::from(["client", "http-bridge", "reflector", "sidecar", "supported"])
    );
}

#[test]
fn every_bundled_package_is_present() {
    let set = bundled();
    let present: BTreeSet<String> = set
        .resolve()
        .packages
        .iter()
        .map(|(_, p)| p.name.to_string())
        .collect();
    let expected = [
        "witmesh:mesh@0.1.0".to_owned(),
        format!("wasi:io@{WASI}"),
        format!("wasi:clocks@{WASI}"),
        format!("wasi:random@{WASI}"),
        format!("wasi:cli@{WASI}"),
        format!("wasi:filesystem@{WASI}"),
        format!("wasi:sockets@{WASI}"),
        format!("wasi:http@{WASI}"),
        "wasi:keyvalue@0.2.0-draft".to_owned(),
        "wasi:blobstore@0.2.0-draft".to_owned(),
        "wasi:logging@0.1.0-draft".to_owned(),
        "wasmcloud:bus@1.0.0".to_owned(),
        "wasmcloud:messaging@0.2.0".to_owned(),
        "wrpc:http@0.1.0".to_owned(),
    ];
    for name in &expected {
        assert!(
            present.contains(name),
            "missing package {name}; have {present:?}"
        );
    }
    assert_eq!(
        present.len(),
        expected.len(),
        "unexpected packages: {present:?}"
    );
}

#[test]
fn every_bundled_interface_is_an_instance() {
    let set = bundled();
    let instances: BTreeSet<String> = set.instances().into_iter().map(|(n, _)| n).collect();
    let wasi = |pkg: &str, ifaces: &[&str]| -> Vec<String> {
        ifaces
            .iter()
            .map(|i| format!("wasi:{pkg}/{i}@{WASI}"))
            .collect()
    };
    let mut expected = Vec::new();
    expected.extend(wasi("io", &["error", "poll", "streams"]));
    // `timezone` is `@unstable` in 0.2.6, so it is absent by default (see below).
    expected.extend(wasi("clocks", &["monotonic-clock", "wall-clock"]));
    expected.extend(wasi("random", &["random", "insecure", "insecure-seed"]));
    expected.extend(wasi(
        "cli",
        &[
            "environment",
            "exit",
            "run",
            "stdin",
            "stdout",
            "stderr",
            "terminal-input",
            "terminal-output",
            "terminal-stdin",
            "terminal-stdout",
            "terminal-stderr",
        ],
    ));
    expected.extend(wasi("filesystem", &["types", "preopens"]));
    expected.extend(wasi(
        "sockets",
        &[
            "network",
            "instance-network",
            "ip-name-lookup",
            "tcp",
            "tcp-create-socket",
            "udp",
            "udp-create-socket",
        ],
    ));
    expected.extend(wasi(
        "http",
        &["types", "incoming-handler", "outgoing-handler"],
    ));
    for name in [
        "wasi:keyvalue/store@0.2.0-draft",
        "wasi:keyvalue/atomics@0.2.0-draft",
        "wasi:keyvalue/batch@0.2.0-draft",
        "wasi:keyvalue/watcher@0.2.0-draft",
        "wasi:blobstore/types@0.2.0-draft",
        "wasi:blobstore/container@0.2.0-draft",
        "wasi:blobstore/blobstore@0.2.0-draft",
        "wasi:logging/logging@0.1.0-draft",
        "wasmcloud:bus/lattice@1.0.0",
        "wasmcloud:messaging/types@0.2.0",
        "wasmcloud:messaging/consumer@0.2.0",
        "wasmcloud:messaging/handler@0.2.0",
        "witmesh:mesh/health@0.1.0",
        "witmesh:mesh/discovery@0.1.0",
    ] {
        expected.push(name.to_owned());
    }
    for name in &expected {
        assert!(instances.contains(name), "missing instance {name}");
    }
}

#[test]
fn http_incoming_handler_handle() {
    let set = bundled();
    let instance = format!("wasi:http/incoming-handler@{WASI}");
    let handle = set.func(&instance, "handle").expect("handle");
    assert_eq!(
        handle.signature,
        "handle: func(request: incoming-request, response-out: response-outparam)"
    );
    assert_eq!(handle.param_names, ["request", "response-out"]);
    assert_eq!(handle.params.len(), 2);
    assert!(handle.results.is_empty());
}

#[test]
fn http_outgoing_handler_handle() {
    let set = bundled();
    let instance = format!("wasi:http/outgoing-handler@{WASI}");
    let handle = set.func(&instance, "handle").expect("handle");
    assert_eq!(handle.param_names, ["request", "options"]);
    assert_eq!(handle.results.len(), 1);
}

#[test]
fn keyvalue_bucket_methods_by_wrpc_name() {
    let set = bundled();
    let store = "wasi:keyvalue/store@0.2.0-draft";
    let get = set.func(store, "bucket.get").expect("bucket.get");
    assert_eq!(get.name, "bucket.get");
    assert_eq!(get.param_names, ["self", "key"]);
    assert_eq!(get.results.len(), 1);
    for method in [
        "bucket.set",
        "bucket.delete",
        "bucket.exists",
        "bucket.list-keys",
    ] {
        set.func(store, method).expect(method);
    }
    let open = set.func(store, "open").expect("open");
    assert_eq!(open.param_names, ["identifier"]);
    let inc = set
        .func("wasi:keyvalue/atomics@0.2.0-draft", "increment")
        .expect("increment");
    assert_eq!(inc.param_names, ["bucket", "key", "delta"]);
}

#[test]
fn witmesh_health_and_discovery() {
    let set = bundled();
    let check = set
        .func("witmesh:mesh/health@0.1.0", "check")
        .expect("check");
    assert!(check.params.is_empty());
    assert_eq!(check.results.len(), 1);
    assert!(
        check.signature.starts_with("check: func() -> "),
        "{}",
        check.signature
    );

    let discovery = "witmesh:mesh/discovery@0.1.0";
    let peers = set.func(discovery, "peers").expect("peers");
    assert!(peers.params.is_empty());
    assert_eq!(peers.results.len(), 1);
    let lookup = set.func(discovery, "lookup").expect("lookup");
    assert_eq!(lookup.param_names, ["instance"]);
    assert_eq!(lookup.results.len(), 1);
    let instances = set.func(discovery, "instances").expect("instances");
    assert!(instances.params.is_empty());
    assert_eq!(instances.results.len(), 1);
}

#[test]
fn mesh_package_loads_on_its_own() {
    // The sidecar embeds `witmesh.wit` alone to serve it; it must not need any dependency.
    let src = include_str!("../wit/witmesh.wit");
    let set = witmesh_proto::WitSet::from_wit_str("witmesh.wit", src).expect("loads alone");
    set.func("witmesh:mesh/health@0.1.0", "check")
        .expect("check");
    set.func("witmesh:mesh/discovery@0.1.0", "lookup")
        .expect("lookup");
}

#[test]
fn logging_bus_and_messaging_signatures() {
    let set = bundled();
    let log = set
        .func("wasi:logging/logging@0.1.0-draft", "log")
        .expect("log");
    assert_eq!(log.param_names, ["level", "context", "message"]);
    assert!(log.results.is_empty());

    let bus = "wasmcloud:bus/lattice@1.0.0";
    let ctor = set.func(bus, "call-target-interface").expect("constructor");
    assert_eq!(ctor.param_names, ["namespace", "package", "interface"]);
    let link = set.func(bus, "set-link-name").expect("set-link-name");
    assert_eq!(link.param_names, ["name", "interfaces"]);
    assert!(link.results.is_empty());

    let consumer = "wasmcloud:messaging/consumer@0.2.0";
    let request = set.func(consumer, "request").expect("request");
    assert_eq!(request.param_names, ["subject", "body", "timeout-ms"]);
    set.func(consumer, "publish").expect("publish");
    let handle = set
        .func("wasmcloud:messaging/handler@0.2.0", "handle-message")
        .expect("handle-message");
    assert_eq!(handle.param_names, ["msg"]);
}

#[test]
fn unstable_features_stay_out_by_default() {
    let set = bundled();
    // Gated `@unstable` in 0.2.6: not part of the default feature set.
    let timezone = format!("wasi:clocks/timezone@{WASI}");
    assert!(!set.instances().iter().any(|(n, _)| *n == timezone));
    let exit = format!("wasi:cli/exit@{WASI}");
    assert!(set.func(&exit, "exit").is_ok());
    assert!(set.func(&exit, "exit-with-code").is_err());
    let outparam = format!("wasi:http/types@{WASI}");
    assert!(set.func(&outparam, "response-outparam.set").is_ok());
    assert!(set
        .func(&outparam, "response-outparam.send-informational")
        .is_err());
}

#[test]
fn signatures_render() {
    let set = bundled();
    assert_eq!(
        signature(&set, "wasi:logging/logging@0.1.0-draft", "log"),
        "log: func(level: level, context: string, message: string)"
    );
}

#[test]
fn loads_with_every_unstable_feature_too() {
    let mut resolve = wit_parser::Resolve {
        all_features: true,
        ..Default::default()
    };
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/wit");
    if let Err(e) = resolve.push_path(dir) {
        panic!("bundled WIT does not load with all features: {e:#}");
    }
    let funcs = |iface: &str| -> Vec<String> {
        let (_, i) = resolve
            .interfaces
            .iter()
            .find(|(id, _)| resolve.id_of(*id).as_deref() == Some(iface))
            .unwrap_or_else(|| panic!("no interface {iface}"));
        i.functions.keys().cloned().collect()
    };
    assert!(funcs(&format!("wasi:clocks/timezone@{WASI}")).contains(&"display".to_owned()));
    assert!(funcs(&format!("wasi:cli/exit@{WASI}")).contains(&"exit-with-code".to_owned()));
    assert!(
        funcs(&format!("wasi:sockets/network@{WASI}")).contains(&"network-error-code".to_owned())
    );
    assert!(funcs(&format!("wasi:http/types@{WASI}"))
        .contains(&"[method]response-outparam.send-informational".to_owned()));
}
