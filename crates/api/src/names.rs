//! Names for `metadata.generateName` (upstream's `SimpleNameGenerator`): the base cut to 58
//! bytes, then 5 random characters from an alphabet without vowels or look-alikes.

use rand::Rng;

/// Longest name a generated name may be (a DNS-1123 label).
pub const MAX_NAME_LENGTH: usize = 63;
/// Random characters appended to the base.
pub const RANDOM_LENGTH: usize = 5;
/// Longest base kept (upstream's `MaxGeneratedNameLength`).
pub const MAX_GENERATED_BASE_LENGTH: usize = MAX_NAME_LENGTH - RANDOM_LENGTH;
/// Upstream's `utilrand` alphabet: no vowels (no words) and no 0/1/3 (look-alikes).
pub const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `base` (cut to [`MAX_GENERATED_BASE_LENGTH`] bytes) followed by [`RANDOM_LENGTH`] random
/// characters of [`ALPHANUMS`] drawn from `rng`.
pub fn generate_name_with(base: &str, rng: &mut impl Rng) -> String {
    let mut cut = base.len().min(MAX_GENERATED_BASE_LENGTH);
    // a name is ASCII once valid; never split a character of one that is not
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut name = String::with_capacity(cut + RANDOM_LENGTH);
    name.push_str(&base[..cut]);
    for _ in 0..RANDOM_LENGTH {
        name.push(ALPHANUMS[rng.random_range(0..ALPHANUMS.len())] as char);
    }
    name
}

/// [`generate_name_with`] using the thread's random generator.
pub fn generate_name(base: &str) -> String {
    generate_name_with(base, &mut rand::rng())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn generated_names() {
        let mut rng = StdRng::seed_from_u64(7);
        let long = "x".repeat(70);
        // 3-byte characters: the cut backs off to 57 bytes
        let (euros, kept_euros) = ("€".repeat(30), "€".repeat(19));
        let cases = [
            ("foo", "foo"),
            ("web-", "web-"),
            ("", ""),
            (long.as_str(), &long[..58]),
            (euros.as_str(), kept_euros.as_str()),
        ];
        for (base, kept) in cases {
            let name = generate_name_with(base, &mut rng);
            assert!(name.starts_with(kept), "{base} -> {name}");
            let suffix = &name[kept.len()..];
            assert_eq!(suffix.len(), RANDOM_LENGTH, "{name}");
            assert!(suffix.bytes().all(|b| ALPHANUMS.contains(&b)), "{name}");
            assert!(name.len() <= MAX_NAME_LENGTH);
        }
        assert_eq!(generate_name("a-").len(), 2 + RANDOM_LENGTH);
    }
}
