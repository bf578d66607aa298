//! Registry authentication: `WWW-Authenticate` challenges (Basic, Bearer) and the token endpoint
//! (GET with basic credentials, or OAuth2 POST with an identity/refresh token).

use std::collections::BTreeMap;

use base64::Engine;

use super::RegistryError;

/// Credentials for one registry.
#[derive(Clone, Debug, Default)]
pub enum Credentials {
    /// Anonymous.
    #[default]
    Anonymous,
    /// User name and password.
    Basic {
        /// User.
        username: String,
        /// Password.
        password: String,
    },
    /// OAuth2 refresh token for the token endpoint.
    IdentityToken(String),
    /// A ready bearer token.
    Bearer(String),
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// `basic` or `bearer` (lowercased).
    pub scheme: String,
    /// Parameters (`realm`, `service`, `scope`, …).
    pub params: BTreeMap<String, String>,
}

/// Parses `Bearer realm="…",service="…",scope="…"` (the first challenge only).
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                .collect::<String>()
                .trim()
                .to_string();
        }
        params.insert(key.trim().to_ascii_lowercase(), value);
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

/// `Basic <base64(user:password)>`.
pub fn basic_header(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
    )
}

/// Answers a challenge with an `Authorization` header value.
pub async fn authorize(
    http: &reqwest::Client,
    challenge: &Challenge,
    creds: &Credentials,
    repository: &str,
) -> Result<String, RegistryError> {
    match challenge.scheme.as_str() {
        "basic" => match creds {
            Credentials::Basic { username, password } => Ok(basic_header(username, password)),
            _ => Err(RegistryError::Unauthorized(
                "registry requires basic auth and no credentials are configured".into(),
            )),
        },
        "bearer" => {
            if let Credentials::Bearer(token) = creds {
                return Ok(format!("Bearer {token}"));
            }
            let realm = challenge.params.get("realm").ok_or_else(|| {
                RegistryError::Unauthorized("bearer challenge without realm".into())
            })?;
            let service = challenge.params.get("service").cloned().unwrap_or_default();
            let scope = challenge
                .params
                .get("scope")
                .cloned()
                .unwrap_or_else(|| format!("repository:{repository}:pull"));
            let token = fetch_token(http, realm, &service, &scope, creds).await?;
            Ok(format!("Bearer {token}"))
        }
        other => Err(RegistryError::Unauthorized(format!(
            "unsupported auth scheme {other:?}"
        ))),
    }
}

async fn fetch_token(
    http: &reqwest::Client,
    realm: &str,
    service: &str,
    scope: &str,
    creds: &Credentials,
) -> Result<String, RegistryError> {
    let token_err = |detail: String| RegistryError::Token {
        realm: realm.to_string(),
        detail,
    };
    let req = match creds {
        Credentials::IdentityToken(refresh) => {
            let form = format!(
                "grant_type=refresh_token&client_id=skiff&service={}&scope={}&refresh_token={}",
                form_escape(service),
                form_escape(scope),
                form_escape(refresh)
            );
            http.post(realm)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form)
        }
        _ => {
            let mut url = format!(
                "{realm}{}scope={}",
                if realm.contains('?') { '&' } else { '?' },
                form_escape(scope)
            );
            if !service.is_empty() {
                url.push_str(&format!("&service={}", form_escape(service)));
            }
            let req = http.get(url);
            match creds {
                Credentials::Basic { username, password } => req.header(
                    reqwest::header::AUTHORIZATION,
                    basic_header(username, password),
                ),
                _ => req,
            }
        }
    };
    let resp = req.send().await.map_err(|e| token_err(e.to_string()))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| token_err(e.to_string()))?;
    if !status.is_success() {
        return Err(token_err(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(512)])
        )));
    }
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        #[serde(default)]
        token: String,
        #[serde(default)]
        access_token: String,
    }
    let t: TokenResponse =
        serde_json::from_slice(&body).map_err(|e| token_err(format!("bad token response: {e}")))?;
    let token = if t.token.is_empty() {
        t.access_token
    } else {
        t.token
    };
    if token.is_empty() {
        return Err(token_err("token response holds no token".into()));
    }
    Ok(token)
}

/// Percent-encodes for a query string / form body.
fn form_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let c = parse_challenge(r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#).unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.docker.io/token");
        assert_eq!(c.params["scope"], "repository:library/busybox:pull,push");
        let b = parse_challenge(r#"Basic realm="skiff-test""#).unwrap();
        assert_eq!(b.scheme, "basic");
        assert_eq!(b.params["realm"], "skiff-test");
        assert_eq!(basic_header("u", "p"), "Basic dTpw");
        assert_eq!(
            form_escape("repository:a/b:pull"),
            "repository%3Aa%2Fb%3Apull"
        );
    }
}
