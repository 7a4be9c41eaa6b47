//! The WASI 0.3 wasi:http test component: `wasi:http/handler@0.3.0.handle` answers 200 with
//! the request's body streamed back as the response body, and `x-echo-method` naming the
//! request's method; a request for `/fail` gets the error `internal-error("asked to fail")`.

wit_bindgen::generate!({
    world: "http03-component",
    path: "../../wit/http03",
    generate_all,
});

use exports::wasi::http::handler::Guest;
use wasi::http::types::{ErrorCode, Fields, Request, Response, Trailers};

struct Echo;

impl Guest for Echo {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let method = format!("{:?}", request.get_method());
        if request.get_path_with_query().as_deref() == Some("/fail") {
            return Err(ErrorCode::InternalError(Some("asked to fail".to_owned())));
        }
        let (_, handled) = wit_future::new::<Result<(), ErrorCode>>(|| Ok(()));
        let (mut body, _trailers) = Request::consume_body(request, handled);
        let headers = Fields::new();
        headers
            .set("x-echo-method", &[method.into_bytes()])
            .map_err(|e| ErrorCode::InternalError(Some(format!("{e:?}"))))?;
        let (mut tx, rx) = wit_stream::new::<u8>();
        let (trailers_tx, trailers_rx) =
            wit_future::new::<Result<Option<Trailers>, ErrorCode>>(|| Ok(None));
        let (response, _sent) = Response::new(headers, Some(rx), trailers_rx);
        wit_bindgen::spawn_local(async move {
            loop {
                let (_, chunk) = body.read(Vec::with_capacity(64 << 10)).await;
                if chunk.is_empty() {
                    break;
                }
                if !tx.write_all(chunk).await.is_empty() {
                    break;
                }
            }
            drop(tx);
            let _ = trailers_tx.write(Ok(None)).await;
        });
        Ok(response)
    }
}

export!(Echo);
