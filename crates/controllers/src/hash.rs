//! The `pod-template-hash`: fnv-32a of the pod template (plus collision count), rendered in
//! upstream's SafeEncodeString alphabet.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::Value;

/// Upstream's alphabet for safe-encoded strings (no vowels, no confusable digits).
pub const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-1a, 32 bit.
pub fn fnv32a(data: &[u8], mut h: u32) -> u32 {
    for b in data {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// FNV-1a offset basis.
pub const FNV32_OFFSET: u32 = 0x811c_9dc5;

/// Maps each byte of `s` into [`SAFE_ALPHABET`] (upstream's `rand.SafeEncodeString`).
pub fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()] as char)
        .collect()
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// JSON with sorted keys (a stable byte form of an object).
pub fn canonical_json(v: &Value) -> String {
    let mut s = String::new();
    write_canonical(v, &mut s);
    s
}

/// The hash of a template: fnv32a over its canonical JSON, then the collision count as
/// 8 little-endian bytes (as upstream), printed in decimal and safe-encoded.
pub fn pod_template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let v = serde_json::to_value(template).unwrap_or(Value::Null);
    let mut h = fnv32a(canonical_json(&v).as_bytes(), FNV32_OFFSET);
    if let Some(c) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(c as u32).to_le_bytes());
        h = fnv32a(&bytes, h);
    }
    safe_encode(&h.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_known_values() {
        assert_eq!(fnv32a(b"", FNV32_OFFSET), 0x811c9dc5);
        assert_eq!(fnv32a(b"a", FNV32_OFFSET), 0xe40c292c);
        assert_eq!(fnv32a(b"foobar", FNV32_OFFSET), 0xbf9cf968);
    }

    #[test]
    fn safe_encode_matches_upstream() {
        // Digits map to 4 5 6 7 8 9 b c d f, as in upstream hashes like "775855699b".
        assert_eq!(safe_encode("0123456789"), "456789bcdf");
        assert_eq!(safe_encode("3314112556"), "775855699b");
    }

    #[test]
    fn template_hash_is_stable_and_sensitive() {
        let t: PodTemplateSpec = serde_json::from_value(serde_json::json!({
            "metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}
        }))
        .unwrap();
        let a = pod_template_hash(&t, None);
        assert_eq!(a, pod_template_hash(&t, None));
        assert_ne!(a, pod_template_hash(&t, Some(1)));
        let mut t2 = t.clone();
        t2.spec.as_mut().unwrap().containers[0].image = Some("nginx:2".into());
        assert_ne!(a, pod_template_hash(&t2, None));
        assert!(a.bytes().all(|b| SAFE_ALPHABET.contains(&b)));
    }
}
