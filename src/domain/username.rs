//! Site usernames ("Alexander Romanov", "SPB 1221", Cyrillic, emoji) mapped to WebFinger-safe
//! actor usernames.
//!
//! The mapping is a pure function to a *base* username (`alexander_romanov`); the store keeps the
//! chosen username per site name, so the same site name always gives the same actor. The first
//! site name to claim a base username keeps it; a later one that maps to the same base gets
//! [`disambiguated`], which appends a hash of its original name (stable for that name).

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

/// Longest username produced (Mastodon accepts 30 characters for local accounts).
pub const MAX_LEN: usize = 30;

/// True for `[a-z0-9_]{1,30}`, the form every username we mint has.
pub fn is_valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LEN
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The base username of a site name: ASCII, lowercase, `[a-z0-9_]`, at most [`MAX_LEN`].
/// Latin letters lose their accents, Cyrillic and Greek are transliterated, anything else
/// (punctuation, spaces, emoji) becomes a single `_`. A name with nothing left becomes `user`.
pub fn base_username(site_name: &str) -> String {
    let mut out = String::new();
    for c in site_name.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        let lower: String = c.to_lowercase().collect();
        for l in lower.chars() {
            if l.is_ascii_alphanumeric() {
                out.push(l);
            } else if let Some(latin) = transliterate(l) {
                out.push_str(latin);
            } else if !out.ends_with('_') {
                out.push('_');
            }
        }
    }
    let trimmed: String = out.trim_matches('_').chars().take(MAX_LEN).collect();
    let trimmed = trimmed.trim_end_matches('_').to_string();
    if trimmed.is_empty() {
        "user".to_string()
    } else {
        trimmed
    }
}

/// A username for `site_name` that differs from its base: the base, shortened if needed, then
/// `_` and six hex digits of the name's SHA-256. `attempt` > 0 varies it further.
pub fn disambiguated(site_name: &str, attempt: u32) -> String {
    let digest = Sha256::digest(format!("{site_name}\u{0}{attempt}").as_bytes());
    let suffix: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
    let base = base_username(site_name);
    let keep = MAX_LEN - suffix.len() - 1;
    let head: String = base.chars().take(keep).collect();
    format!("{}_{suffix}", head.trim_end_matches('_'))
}

fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' => "e",
        'ё' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' => "i",
        'й' => "i",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ъ' | 'ь' => "",
        'ы' => "y",
        'э' => "e",
        'ю' => "iu",
        'я' => "ia",
        'і' => "i",
        'ї' => "i",
        'є' => "ie",
        'ґ' => "g",
        'ў' => "u",
        'α' => "a",
        'β' => "b",
        'γ' => "g",
        'δ' => "d",
        'ε' => "e",
        'ζ' => "z",
        'η' => "i",
        'θ' => "th",
        'ι' => "i",
        'κ' => "k",
        'λ' => "l",
        'μ' => "m",
        'ν' => "n",
        'ξ' => "x",
        'ο' => "o",
        'π' => "p",
        'ρ' => "r",
        'σ' | 'ς' => "s",
        'τ' => "t",
        'υ' => "y",
        'φ' => "f",
        'χ' => "ch",
        'ψ' => "ps",
        'ω' => "o",
        'ß' => "ss",
        'æ' => "ae",
        'ø' => "o",
        'œ' => "oe",
        'ł' => "l",
        'đ' => "d",
        'þ' => "th",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_real_threads() {
        assert_eq!(base_username("Alexander Romanov"), "alexander_romanov");
        assert_eq!(base_username("SPB 1221"), "spb_1221");
        assert_eq!(base_username("Vita vko"), "vita_vko");
        assert_eq!(base_username("Demon_blood"), "demon_blood");
        assert_eq!(base_username("Александр Романов"), "aleksandr_romanov");
        assert_eq!(base_username("Zoë Ünal"), "zoe_unal");
        assert_eq!(base_username("🔥🔥"), "user");
        assert_eq!(base_username("..smoke.. break!"), "smoke_break");
    }

    #[test]
    fn disambiguated_is_stable_valid_and_distinct() {
        let a = disambiguated("Alexander Romanov", 0);
        assert_eq!(a, disambiguated("Alexander Romanov", 0));
        assert!(a.starts_with("alexander_romanov_"));
        assert!(is_valid_username(&a));
        assert_ne!(a, disambiguated("alexander romanov", 0));
        assert_ne!(a, disambiguated("Alexander Romanov", 1));
        let long = disambiguated(&"x".repeat(80), 0);
        assert!(is_valid_username(&long), "{long}");
    }
}
