//! A wasi:http component (exports `wasi:http/incoming-handler`): answers every request with
//! status 200 (or the status in an `x-status` header), headers naming the method and path,
//! and the request's body streamed back after a one-line greeting. An `x-sleep-ms` header makes
//! it wait that long before it answers. The `APP` environment variable, when set, comes back
//! as an `x-app` header.

use std::io::Write as _;

use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasip2::http::proxy::export!(Hello);

struct Hello;

impl wasip2::exports::http::incoming_handler::Guest for Hello {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        let path = request.path_with_query().unwrap_or_default();
        let method = match request.method() {
            Method::Get => "GET".to_owned(),
            Method::Post => "POST".to_owned(),
            Method::Put => "PUT".to_owned(),
            other => format!("{other:?}"),
        };
        let status = request
            .headers()
            .get("x-status")
            .first()
            .and_then(|v| std::str::from_utf8(v).ok()?.parse::<u16>().ok())
            .unwrap_or(200);
        let sleep = request
            .headers()
            .get("x-sleep-ms")
            .first()
            .and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok());
        if let Some(ms) = sleep {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        let headers = Fields::new();
        let _ = headers.set("x-method", &[method.clone().into_bytes()]);
        let _ = headers.set("x-path", &[path.clone().into_bytes()]);
        if let Ok(app) = std::env::var("APP") {
            let _ = headers.set("x-app", &[app.into_bytes()]);
        }
        let response = OutgoingResponse::new(headers);
        let _ = response.set_status_code(status);
        let body = response.body().expect("response body");
        ResponseOutparam::set(response_out, Ok(response));

        let mut out = body.write().expect("output stream");
        let _ = writeln!(out, "hello from {method} {path}");
        // Stream the request body back in chunks as it arrives.
        if let Ok(incoming) = request.consume() {
            if let Ok(input) = incoming.stream() {
                // Ends when the stream is closed (the whole body has arrived).
                while let Ok(chunk) = input.blocking_read(16 * 1024) {
                    if out.write_all(&chunk).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = out.flush();
        drop(out);
        let _ = OutgoingBody::finish(body, None);
    }
}
