//! Fernet (the specification at github.com/fernet/spec, as Python's `cryptography.fernet` implements it),
//! built on RustCrypto's primitives: AES-128-CBC with PKCS#7 padding, then HMAC-SHA256 over the version,
//! timestamp, IV and ciphertext, all as URL-safe base64 with padding.
//!
//! Why not the `fernet` crate: it rejects a token whose timestamp is more than a minute in the future even
//! when no time-to-live is asked for, where Python accepts it, so a row written by an instance (or a Python
//! service) whose clock runs ahead would be unreadable here. Stored values have no time-to-live; this
//! module never looks at the timestamp, exactly like `MultiFernet.decrypt()` without `ttl`.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::{Engine, engine::general_purpose::URL_SAFE};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 0x80;
const HEADER_BYTES: usize = 1 + 8 + 16;
const MAC_BYTES: usize = 32;

/// One Fernet key: 16 bytes that sign, 16 that encrypt.
#[derive(Clone)]
pub struct FernetKey {
    signing: Zeroizing<[u8; 16]>,
    encryption: Zeroizing<[u8; 16]>,
}

impl std::fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FernetKey(<redacted>)")
    }
}

impl FernetKey {
    /// A key as Python's `Fernet.generate_key()` prints it: URL-safe base64 of 32 bytes.
    pub fn parse(text: &str) -> Option<FernetKey> {
        let bytes = Zeroizing::new(URL_SAFE.decode(text.trim()).ok()?);
        if bytes.len() != 32 {
            return None;
        }
        let mut signing = Zeroizing::new([0u8; 16]);
        let mut encryption = Zeroizing::new([0u8; 16]);
        signing.copy_from_slice(&bytes[..16]);
        encryption.copy_from_slice(&bytes[16..]);
        Some(FernetKey { signing, encryption })
    }

    /// A fresh random key, in the same text form.
    pub fn generate() -> String {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        URL_SAFE.encode(bytes.as_ref())
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(self.signing.as_ref()).expect("HMAC takes a key of any length")
    }

    /// A token of `plaintext`, stamped with the current time and a random IV.
    pub fn encrypt(&self, plaintext: &[u8]) -> String {
        let mut iv = [0u8; 16];
        rand::rng().fill_bytes(&mut iv);
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        self.encrypt_with(plaintext, now, iv)
    }

    fn encrypt_with(&self, plaintext: &[u8], timestamp: u64, iv: [u8; 16]) -> String {
        let ciphertext = cbc::Encryptor::<aes::Aes128>::new(self.encryption.as_ref().into(), &iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext);
        let mut token = Vec::with_capacity(HEADER_BYTES + ciphertext.len() + MAC_BYTES);
        token.push(VERSION);
        token.extend_from_slice(&timestamp.to_be_bytes());
        token.extend_from_slice(&iv);
        token.extend_from_slice(&ciphertext);
        let mut mac = self.mac();
        mac.update(&token);
        token.extend_from_slice(&mac.finalize().into_bytes());
        URL_SAFE.encode(token)
    }

    /// The plaintext of a token this key made; `None` for anything else (another key, tampering, not a
    /// token at all). The MAC is checked, in constant time, before anything is decrypted.
    pub fn decrypt(&self, token: &str) -> Option<Vec<u8>> {
        let raw = decode_token(token)?;
        let (signed, tag) = raw.split_at(raw.len() - MAC_BYTES);
        let mut mac = self.mac();
        mac.update(signed);
        mac.verify_slice(tag).ok()?;
        let iv: [u8; 16] = signed[9..HEADER_BYTES].try_into().ok()?;
        cbc::Decryptor::<aes::Aes128>::new(self.encryption.as_ref().into(), &iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(&signed[HEADER_BYTES..])
            .ok()
    }
}

/// The bytes of something shaped like a Fernet token (version byte, room for a header, at least one
/// cipher block and the MAC), else `None`.
fn decode_token(token: &str) -> Option<Vec<u8>> {
    if !may_be_token(token) {
        return None;
    }
    let raw = URL_SAFE.decode(token).ok()?;
    let body = raw.len().checked_sub(HEADER_BYTES + MAC_BYTES)?;
    (raw[0] == VERSION && body >= 16 && body.is_multiple_of(16)).then_some(raw)
}

/// Whether `text` could be a Fernet token, judged from its first characters and its length alone (no
/// decoding): what every read tests before anything dearer.
pub(super) fn may_be_token(text: &str) -> bool {
    // Version byte 0x80 and a timestamp below 2^40 seconds, base64 in blocks of four.
    text.len() >= 4 * (HEADER_BYTES + 16 + MAC_BYTES).div_ceil(3)
        && text.len().is_multiple_of(4)
        && text.starts_with("gAAAAA")
}

/// Whether `text` has the shape of a Fernet token (checked without any key).
pub fn looks_like_token(text: &str) -> bool {
    decode_token(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key and token of the specification's `verify.json` vector.
    const SPEC_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

    #[test]
    fn makes_the_specifications_token() {
        let key = FernetKey::parse(SPEC_KEY).unwrap();
        let iv: [u8; 16] = core::array::from_fn(|i| i as u8);
        // 1985-10-26T01:20:00-07:00, the specification's "now".
        let token = key.encrypt_with(b"hello", 499_162_800, iv);
        assert_eq!(
            token,
            "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=="
        );
        assert_eq!(key.decrypt(&token).as_deref(), Some(&b"hello"[..]));
    }

    #[test]
    fn reads_tokens_python_wrote() {
        // Written by Python's cryptography 48: Fernet(SPEC_KEY).encrypt(...) and Fernet(other).encrypt(b"").
        let key = FernetKey::parse(SPEC_KEY).unwrap();
        let python = "gAAAAABrEVJLcAZEyjNLlMxtAE0PxB--_IKhm2TbwcKIYcHyG2Hd61VeCvx16tyS0VvowJM2tvBeK6eGs_GUkvLOpSc2MnQv8i6086urkzKaMdhXSnf525TOtDddwDrx4p1opR9zY72J";
        assert_eq!(String::from_utf8(key.decrypt(python).unwrap()).unwrap(), "Crème brûlée at the lighthouse — 🌊");
        let other = FernetKey::parse("vwtwEfQf2wpFbYdHLKsbdMdS4Z0HhFj8E_wdWEsyDn8=").unwrap();
        let empty =
            "gAAAAABrEVJLcxcOizGAj_mguE5UIzqNuN0jq3AYuGg12z8iQZO3hKcf7iyLBIw56U1dXKLKx_zWpdTVrnb4LPwCcEu4gqYz3Q==";
        assert_eq!(other.decrypt(empty).as_deref(), Some(&b""[..]));
        assert_eq!(key.decrypt(empty), None, "another key's token is not read");
    }

    #[test]
    fn refuses_tampering_and_non_tokens() {
        let key = FernetKey::parse(&FernetKey::generate()).unwrap();
        let token = key.encrypt(b"secret");
        let mut bytes = URL_SAFE.decode(&token).unwrap();
        bytes[30] ^= 1;
        assert_eq!(key.decrypt(&URL_SAFE.encode(&bytes)), None);
        for text in ["", "hello", "gAAAAA", "gAAAAA!!!!", &token[..token.len() - 4]] {
            assert_eq!(key.decrypt(text), None, "{text:?}");
        }
        assert!(looks_like_token(&token));
        assert!(may_be_token(&token), "every token passes the cheap test");
        assert!(may_be_token(&key.encrypt(b"")), "the shortest token included");
        assert!(!looks_like_token("gAAAAA is how a token starts"));
        assert!(!may_be_token("gAAAAA is how a token starts"));
    }

    #[test]
    fn keys_must_be_32_bytes_of_url_safe_base64() {
        assert!(FernetKey::parse(SPEC_KEY).is_some());
        assert!(FernetKey::parse("c2hvcnQ=").is_none());
        assert!(FernetKey::parse("not base64 at all").is_none());
        assert_eq!(format!("{:?}", FernetKey::parse(SPEC_KEY).unwrap()), "FernetKey(<redacted>)");
    }
}
