//! A fake API server at the HTTP seam, for this crate's unit tests: a `kube::Client`
//! whose requests are answered by a closure and reported on a channel.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::{stream, Stream, StreamExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// One request the client sent.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: http::Method,
    pub path: String,
    pub query: String,
    pub body: Value,
}

/// How the fake answers.
pub(crate) enum Reply {
    /// This status and JSON body.
    Json(u16, Value),
    /// A watch stream: these events, then nothing more (the stream stays open).
    Watch(Vec<Value>),
}

/// A `Status` body for an error reply.
pub(crate) fn status(code: u16, reason: &str) -> Reply {
    Reply::Json(
        code,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
            "reason": reason, "message": reason, "code": code}),
    )
}

type Frames = Pin<Box<dyn Stream<Item = Result<Frame<Bytes>, Infallible>> + Send>>;

fn response(reply: Reply) -> http::Response<StreamBody<Frames>> {
    let (code, frames): (u16, Frames) = match reply {
        Reply::Json(code, v) => {
            let body = Bytes::from(v.to_string());
            (
                code,
                Box::pin(stream::once(async move { Ok(Frame::data(body)) })),
            )
        }
        Reply::Watch(events) => {
            let lines = events
                .into_iter()
                .map(|e| Ok(Frame::data(Bytes::from(format!("{e}\n")))));
            (200, Box::pin(stream::iter(lines).chain(stream::pending())))
        }
    };
    let mut resp = http::Response::new(StreamBody::new(frames));
    *resp.status_mut() = http::StatusCode::from_u16(code).unwrap_or_default();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

/// A client whose requests `answer` replies to; every request is also sent on the
/// returned channel (after it was answered).
pub(crate) fn client(
    answer: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> (kube::Client, mpsc::UnboundedReceiver<Request>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let answer = Arc::new(answer);
    let svc = tower::service_fn(move |req: http::Request<kube::client::Body>| {
        let (answer, tx) = (answer.clone(), tx.clone());
        async move {
            let (parts, body) = req.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let request = Request {
                method: parts.method,
                path: parts.uri.path().to_string(),
                query: parts.uri.query().unwrap_or("").to_string(),
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            };
            let reply = answer(&request);
            let _ = tx.send(request);
            Ok::<_, Infallible>(response(reply))
        }
    });
    (kube::Client::new(svc, "default"), rx)
}
