//! Top-level request dispatch, below the layers of [`crate::stack`]: public endpoints,
//! discovery, OpenAPI, metrics, then resource requests.

use crate::discovery;
use crate::httputil::{bytes_response, error_response, json_response, negotiate, Output, Resp};
use crate::path::{self, Route};
use crate::state::State;
use crate::status::ApiError;
use http::{header, Method, Request};
use hyper::body::Incoming;
use std::sync::Arc;

/// Handles one HTTP request (authenticated already, unless the path is public).
pub async fn handle(state: Arc<State>, req: Request<Incoming>) -> Resp {
    let route = path::of(&req);
    match route {
        Route::Health => return bytes_response(200, "text/plain; charset=utf-8", "ok"),
        Route::Version => return json_response(200, &discovery::version()),
        Route::CaCerts => {
            return bytes_response(
                200,
                "text/plain; charset=utf-8",
                state.pki.ca_cert_pem.clone(),
            )
        }
        _ => {}
    }
    let output = negotiate(req.headers());
    let get = req.method() == Method::GET;
    match route {
        Route::CoreVersions if get => discovery_response(output, true, || {
            discovery::core_versions(&state.server_address)
        }),
        Route::Groups if get => discovery_response(output, false, discovery::group_list),
        Route::Group(g) if get => match discovery::group(&g) {
            Some(v) => json_response(200, &v),
            None => error_response(&ApiError::no_route()),
        },
        Route::Resources(g, v) if get => match discovery::resource_list(&g, &v) {
            Some(v) => json_response(200, &v),
            None => error_response(&ApiError::no_route()),
        },
        Route::OpenApi(p) if get && p == "v3" => json_response(200, &crate::openapi::root()),
        Route::OpenApi(p) if get && p.starts_with("v3/") => {
            match crate::openapi::group_version(&p[3..]) {
                Some(doc) => json_response(200, &doc),
                None => error_response(&ApiError::no_route()),
            }
        }
        Route::OpenApi(p) if get && p == "v2" => {
            let accept = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if accept.contains("proto-openapi") {
                bytes_response(
                    200,
                    crate::openapi::V2_PROTOBUF_RESPONSE,
                    crate::openapi::v2_protobuf(),
                )
            } else {
                json_response(200, &crate::openapi::v2_json())
            }
        }
        Route::OpenApi(_) => error_response(&ApiError::no_route()),
        Route::Metrics if get => crate::metrics::respond(),
        Route::Resource(rp) => crate::rest::dispatch(state, rp, req, output).await,
        Route::KubeletServingCert if req.method() == Method::POST => {
            match crate::join::kubelet_serving_cert(&state, req.uri().query()) {
                Ok(r) => r,
                Err(e) => error_response(&e),
            }
        }
        Route::CoreVersions
        | Route::Groups
        | Route::Group(_)
        | Route::Resources(..)
        | Route::Metrics => error_response(&ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )),
        _ => error_response(&ApiError::no_route()),
    }
}

fn discovery_response(
    output: Output,
    core: bool,
    plain: impl FnOnce() -> serde_json::Value,
) -> Resp {
    match output {
        Output::Discovery(v) => {
            let mut r = json_response(200, &discovery::aggregated(core, v));
            if let Ok(ct) = http::HeaderValue::from_str(&discovery::aggregated_content_type(v)) {
                r.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            r.headers_mut()
                .insert(header::VARY, http::HeaderValue::from_static("Accept"));
            r
        }
        _ => json_response(200, &plain()),
    }
}
