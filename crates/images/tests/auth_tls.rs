//! Bearer-token auth (a token endpoint in front of a real registry) and HTTPS registries with a
//! private CA / insecure_skip_verify from registries.yaml.
#![allow(clippy::unwrap_used, missing_docs)] // test code: a failed unwrap is a failed test

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const TOKEN: &str = "t0k3n-for-alice";

/// A registry front that demands a bearer token (issued by its /token endpoint for basic
/// credentials alice:s3cret) and forwards authorised /v2/ requests to a real registry.
async fn token_front(upstream: String, seen: Arc<Mutex<Vec<String>>>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (upstream, seen) = (upstream.clone(), Arc::clone(&seen));
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let (mut auth, mut accept, mut len) = (String::new(), String::new(), 0usize);
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let h = h.trim_end();
                        if h.is_empty() {
                            break;
                        }
                        let (k, v) = h.split_once(':').unwrap_or((h, ""));
                        match k.to_ascii_lowercase().as_str() {
                            "authorization" => auth = v.trim().to_string(),
                            "accept" => accept = v.trim().to_string(),
                            "content-length" => len = v.trim().parse().unwrap_or(0),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; len];
                    let _ = r.read_exact(&mut body).await;
                    seen.lock().unwrap().push(format!("{path} {auth}"));
                    let (status, headers, body): (u16, Vec<(String, String)>, Vec<u8>) = if path
                        .starts_with("/token")
                    {
                        if auth == "Basic YWxpY2U6czNjcmV0" {
                            (
                                200,
                                vec![("content-type".into(), "application/json".into())],
                                format!("{{\"token\":\"{TOKEN}\"}}").into_bytes(),
                            )
                        } else {
                            (401, vec![], b"bad credentials".to_vec())
                        }
                    } else if auth == format!("Bearer {TOKEN}") {
                        let resp = client
                            .get(format!("{upstream}{path}"))
                            .header("accept", accept)
                            .send()
                            .await
                            .unwrap();
                        let status = resp.status().as_u16();
                        let mut hs = Vec::new();
                        for k in ["content-type", "docker-content-digest"] {
                            if let Some(v) = resp.headers().get(k) {
                                hs.push((k.to_string(), v.to_str().unwrap().to_string()));
                            }
                        }
                        (status, hs, resp.bytes().await.unwrap().to_vec())
                    } else {
                        let challenge = format!(
                            "Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"skiff-test\",scope=\"repository:private/img:pull\""
                        );
                        (
                            401,
                            vec![("www-authenticate".into(), challenge)],
                            b"{}".to_vec(),
                        )
                    };
                    let mut head =
                        format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                    for (k, v) in headers {
                        head.push_str(&format!("{k}: {v}\r\n"));
                    }
                    head.push_str("\r\n");
                    if w.write_all(head.as_bytes()).await.is_err()
                        || w.write_all(&body).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn bearer_token_flow() {
    let reg = Registry::start(None);
    let push = Pusher::new(&reg);
    push.image(
        "private/img",
        "1",
        &[Layer::gz(Tar::new().file("secret", "bearer").finish())],
    )
    .await;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let port = token_front(format!("http://{}", reg.host()), Arc::clone(&seen)).await;
    let reference = format!("127.0.0.1:{port}/private/img:1");

    let (_d, anon) = store("");
    let err = anon
        .pull(&reference, None, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("token endpoint"), "{err}");

    let yaml = format!(
        "configs:\n  \"127.0.0.1:{port}\":\n    auth: {{username: alice, password: s3cret}}\n"
    );
    let (_d2, store) = store(&yaml);
    let img = store.pull(&reference, None, None).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(store.layer_paths(&img)[0].join("secret")).unwrap(),
        "bearer"
    );
    let seen = seen.lock().unwrap();
    assert!(
        seen.iter()
            .any(|s| s
                .starts_with("/token?scope=repository%3Aprivate%2Fimg%3Apull&service=skiff-test")),
        "{seen:?}"
    );
    let token_requests = seen
        .iter()
        .filter(|s| s.starts_with("/token") && s.ends_with("Basic YWxpY2U6czNjcmV0"))
        .count();
    assert_eq!(token_requests, 1, "one token per pull session: {seen:?}");
}

#[tokio::test]
async fn https_registry_with_private_ca_and_insecure_skip_verify() {
    let work = tempfile::tempdir().unwrap();
    let (ca, cert, key) = (
        work.path().join("ca.pem"),
        work.path().join("cert.pem"),
        work.path().join("key.pem"),
    );
    // A private CA and a leaf for 127.0.0.1 signed by it.
    let script = r#"set -e
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $ec -days 1 -subj /CN=skiff-test-ca -keyout ca.key -out ca.pem
openssl req $ec -subj /CN=127.0.0.1 -keyout key.pem -out leaf.csr
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out cert.pem
"#;
    let st = std::process::Command::new("sh")
        .args(["-c", script])
        .current_dir(work.path())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let reg = Registry::start_with(&[("REGISTRY_TLS_CERT", &cert), ("REGISTRY_TLS_KEY", &key)]);
    let layers = [Layer::gz(Tar::new().file("tls", "over https").finish())];
    {
        // Push through the crate-independent path: a reqwest client trusting the cert.
        install_crypto();
        let pem = std::fs::read(&ca).unwrap();
        let http = reqwest::Client::builder()
            .tls_certs_merge([reqwest::Certificate::from_pem(&pem).unwrap()])
            .build()
            .unwrap();
        let push = Pusher {
            base: format!("https://{}", reg.host()),
            http,
            auth: None,
        };
        push.image("tls/img", "1", &layers).await;
    }
    let reference = format!("{}/tls/img:1", reg.host());

    let no_ca = format!("configs:\n  \"{}\":\n    tls: {{}}\n", reg.host());
    let (_d0, s0) = store(&no_ca);
    let err = s0
        .pull(&reference, None, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("https://"),
        "an untrusted certificate is refused: {err}"
    );

    let with_ca = format!(
        "configs:\n  \"{}\":\n    tls:\n      ca_file: {}\n",
        reg.host(),
        ca.display()
    );
    let (_d1, s1) = store(&with_ca);
    let img = s1.pull(&reference, None, None).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(s1.layer_paths(&img)[0].join("tls")).unwrap(),
        "over https"
    );

    let insecure = format!(
        "configs:\n  \"{}\":\n    tls: {{insecure_skip_verify: true}}\n",
        reg.host()
    );
    let (_d2, s2) = store(&insecure);
    s2.pull(&reference, None, None).await.unwrap();
}
