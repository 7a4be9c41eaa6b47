//! The OpenAPI 3.1 document of the gateway, generated from the WIT of everything it can reach:
//! one `POST` operation per function, request and response schemas from the JSON mapping's
//! JSON Schema, the WIT doc comments as descriptions. Functions that pass resource handles,
//! futures or streams are left out: the gateway refuses them (501).

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{json, Map, Value as Json};
use witmesh_proto::text::schema::schema;
use witmesh_proto::Func;

use crate::call::stream::is_byte_stream;
pub use crate::call::stream::streams_bytes;

use crate::api::catalog::Entry;

/// Statuses every call may answer besides 200, and what each means.
const FAILURES: [(&str, &str); 8] = [
    (
        "400",
        "A value does not match the WIT, or the body is not JSON",
    ),
    ("404", "No such instance or function"),
    ("408", "The body did not arrive in time"),
    ("413", "The body is over the limit"),
    (
        "415",
        "A raw body for a function that does not take one list<u8>",
    ),
    (
        "502",
        "The provider failed the call (a trap, bad results, a broken connection)",
    ),
    ("503", "No provider is available"),
    ("504", "The call's deadline passed"),
];

/// The document for `node`'s gateway over `entries`.
pub fn document(node: &str, entries: &[(Entry, Arc<Vec<Func>>)]) -> Json {
    let mut paths = Map::new();
    let mut ids = HashSet::new();
    for (entry, funcs) in entries {
        for f in funcs.iter().filter(|f| !passes_handles(f)) {
            let path = format!("/v1/call/{}/{}", entry.instance, f.name);
            let mut id = operation_id(&entry.instance, &f.name);
            while !ids.insert(id.clone()) {
                id.push('_');
            }
            paths.insert(path, json!({ "post": operation(entry, f, &id) }));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("witmesh gateway of node {node}"),
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every WIT function the mesh serves, called with JSON. Generated from the WIT by witmesh.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Problem": {
                    "type": "object",
                    "description": "An RFC 9457 problem document",
                    "properties": {
                        "type": { "type": "string" },
                        "title": { "type": "string" },
                        "status": { "type": "integer" },
                        "kind": { "type": "string" },
                        "detail": { "type": "string" },
                    },
                    "required": ["type", "title", "status", "kind", "detail"],
                }
            }
        }
    })
}

fn operation(entry: &Entry, f: &Func, id: &str) -> Json {
    let mut params = Map::new();
    for (name, ty) in f.param_names.iter().zip(f.params.iter()) {
        params.insert(name.clone(), plain_tuples(schema(ty)));
    }
    let mut results = Map::new();
    for (label, ty) in f.result_labels.iter().zip(f.results.iter()) {
        let name = label.strip_prefix("result ").unwrap_or(label);
        results.insert(name.to_owned(), plain_tuples(schema(ty)));
    }
    let result_names: Vec<&String> = results.keys().collect();
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        if is_byte_stream(&f.results) {
            json!({
                "description": "The result stream's bytes, streamed as they come",
                "content": { "application/octet-stream": { "schema": { "type": "string", "contentMediaType": "application/octet-stream" } } }
            })
        } else {
            json!({
                "description": "The results, by name (`result` for an unnamed one)",
                "content": { "application/json": { "schema": {
                    "type": "object",
                    "properties": results,
                    "required": result_names,
                    "additionalProperties": false,
                }}}
            })
        },
    );
    for (code, what) in FAILURES {
        responses.insert(
            code.into(),
            json!({
                "description": what,
                "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
            }),
        );
    }
    let mut description = f.docs.clone().unwrap_or_default();
    if !description.is_empty() {
        description.push_str("\n\n");
    }
    description.push_str(&format!(
        "WIT: `{}` of `{}`, served by {}.",
        f.signature,
        entry.instance,
        if entry.providers.is_empty() {
            "this node".to_owned()
        } else {
            entry.providers.join(", ")
        }
    ));
    json!({
        "operationId": id,
        "summary": f.signature,
        "description": description,
        "tags": [entry.instance],
        "requestBody": if is_byte_stream(&f.params) {
            json!({
                "required": true,
                "description": "The parameter stream's bytes, streamed to the provider as they arrive",
                "content": { "application/octet-stream": { "schema": { "type": "string", "contentMediaType": "application/octet-stream" } } }
            })
        } else {
            json!({
                "required": !f.params.is_empty(),
                "content": { "application/json": { "schema": {
                    "type": "object",
                    "properties": params,
                    "required": f.param_names,
                    "additionalProperties": false,
                }}}
            })
        },
        "responses": responses,
    })
}

/// Whether `f` passes resource handles, futures or streams the gateway cannot carry (it
/// carries a lone `stream<u8>` parameter or result as a raw body: [`streams_bytes`]).
pub fn passes_handles(f: &Func) -> bool {
    !streams_bytes(f)
        && f.params
            .iter()
            .chain(f.results.iter())
            .any(|t| t.has_handles())
}

/// `s` with each tuple's `prefixItems` folded into `items: {anyOf}` (keeping the exact
/// length): OpenAPI tooling (client generators, schemathesis) handles that form, where
/// `prefixItems` support is patchy.
fn plain_tuples(s: Json) -> Json {
    match s {
        Json::Object(mut m) => {
            if let Some(Json::Array(items)) = m.remove("prefixItems") {
                let mut cases: Vec<Json> = Vec::new();
                for i in items.into_iter().map(plain_tuples) {
                    if !cases.contains(&i) {
                        cases.push(i);
                    }
                }
                m.insert(
                    "items".into(),
                    if cases.len() == 1 {
                        cases.remove(0)
                    } else {
                        json!({ "anyOf": cases })
                    },
                );
            }
            Json::Object(m.into_iter().map(|(k, v)| (k, plain_tuples(v))).collect())
        }
        Json::Array(v) => Json::Array(v.into_iter().map(plain_tuples).collect()),
        other => other,
    }
}

/// `local:greeter-demo/greet` + `greet` → `local_greeter_demo_greet_greet`.
fn operation_id(instance: &str, function: &str) -> String {
    format!("{instance}.{function}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
