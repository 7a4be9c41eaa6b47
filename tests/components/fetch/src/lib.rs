//! Sends one outgoing HTTP request through wasi:http: the host decides whether it may.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, OutgoingRequest, Scheme};

wit_bindgen::generate!({
    world: "fetch-component",
    path: "../../wit/fetch",
});

struct Fetch;

impl exports::witmesh::fetch::fetch::Guest for Fetch {
    fn get(authority: String, path: String) -> Result<u16, String> {
        let request = OutgoingRequest::new(Fields::new());
        request
            .set_scheme(Some(&Scheme::Http))
            .map_err(|()| "invalid scheme".to_string())?;
        request
            .set_authority(Some(&authority))
            .map_err(|()| format!("invalid authority `{authority}`"))?;
        request
            .set_path_with_query(Some(&path))
            .map_err(|()| format!("invalid path `{path}`"))?;
        let response = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
        response.subscribe().block();
        match response.get() {
            Some(Ok(Ok(r))) => Ok(r.status()),
            Some(Ok(Err(e))) => Err(format!("{e:?}")),
            Some(Err(())) => Err("response already taken".to_string()),
            None => Err("response not ready".to_string()),
        }
    }
}

export!(Fetch);
