//! WIT loading from every source users point witmesh at, and lookup by wRPC name.

#![allow(clippy::unwrap_used)]

use witmesh_proto::{WitError, WitSet};

const GREETER: &str = r#"
package local:greeter-demo@0.1.0;

interface greet {
    greet: func(name: string) -> string;
}

interface counter {
    resource tally {
        constructor(start: u32);
        add: func(n: u32) -> u32;
        zero: static func() -> tally;
    }
}

world greeter {
    export greet;
    export counter;
    export hello: func() -> string;
}
"#;

fn greeter_set() -> WitSet {
    WitSet::from_wit_str("greeter.wit", GREETER).unwrap()
}

#[test]
fn functions_resolve_by_wrpc_name() {
    let set = greeter_set();
    let f = set.func("local:greeter-demo/greet@0.1.0", "greet").unwrap();
    assert_eq!(f.signature, "greet: func(name: string) -> string");
    assert_eq!(f.param_labels.as_ref(), ["param name".to_owned()]);
    let m = set
        .func("local:greeter-demo/counter@0.1.0", "tally.add")
        .unwrap();
    assert_eq!(
        m.signature,
        "tally.add: func(self: borrow<tally>, n: u32) -> u32"
    );
    let c = set
        .func("local:greeter-demo/counter@0.1.0", "tally")
        .unwrap();
    assert_eq!(c.signature, "tally: func(start: u32) -> tally");
    let s = set
        .func_by_target("local:greeter-demo/counter@0.1.0.tally.zero")
        .unwrap();
    assert_eq!(s.name, "tally.zero");
    let w = set
        .func_by_target("local:greeter-demo/greeter@0.1.0.hello")
        .unwrap();
    assert_eq!(w.instance, "local:greeter-demo/greeter@0.1.0");
}

#[test]
fn unknown_names_list_what_is_known() {
    let set = greeter_set();
    let e = set
        .func("local:greeter-demo/greet@0.1.0", "greet2")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown function `greet2` in `local:greeter-demo/greet@0.1.0` (known: greet)"
    );
    let e = set.func("local:greeter-demo/nope", "greet").unwrap_err();
    assert!(matches!(e, WitError::UnknownInstance { .. }));
    assert!(
        e.to_string().contains("local:greeter-demo/greet@0.1.0"),
        "{e}"
    );
}

#[test]
fn loads_a_single_file_and_a_directory_with_deps() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("greeter.wit");
    std::fs::write(&file, GREETER).unwrap();
    let set = WitSet::load(&file).unwrap();
    assert!(set.func("local:greeter-demo/greet@0.1.0", "greet").is_ok());

    let app = dir.path().join("app");
    std::fs::create_dir_all(app.join("deps/greeter")).unwrap();
    std::fs::write(app.join("deps/greeter/greeter.wit"), GREETER).unwrap();
    std::fs::write(
        app.join("app.wit"),
        "package local:app;\nworld app { import local:greeter-demo/greet@0.1.0; }\n",
    )
    .unwrap();
    let set = WitSet::load(&app).unwrap();
    assert!(set.func("local:greeter-demo/greet@0.1.0", "greet").is_ok());
}

#[test]
fn decodes_the_wit_embedded_in_a_component() {
    let set = greeter_set();
    let resolve = set.resolve();
    let pkg = set.main_packages()[0];
    let world = resolve.select_world(&[pkg], Some("greeter")).unwrap();
    let mut module = wit_component::dummy_module(
        resolve,
        world,
        wit_parser::ManglingAndAbi::Legacy(wit_parser::LiftLowerAbi::Sync),
    );
    wit_component::embed_component_metadata(
        &mut module,
        resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("greeter.wasm");
    std::fs::write(&path, &component).unwrap();

    let loaded = WitSet::load(&path).unwrap();
    let f = loaded
        .func("local:greeter-demo/greet@0.1.0", "greet")
        .unwrap();
    assert_eq!(f.signature, "greet: func(name: string) -> string");

    // A WIT package encoded as wasm loads the same way.
    let encoded = wit_component::encode(resolve, pkg).unwrap();
    std::fs::write(&path, encoded).unwrap();
    let loaded = WitSet::load(&path).unwrap();
    assert!(loaded
        .func("local:greeter-demo/counter@0.1.0", "tally.add")
        .is_ok());

    std::fs::write(&path, b"\0asm garbage").unwrap();
    let e = WitSet::load(&path).unwrap_err();
    assert!(matches!(e, WitError::Parse { .. }), "{e}");
}
