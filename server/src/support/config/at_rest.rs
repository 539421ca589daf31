//! The at-rest section: the Fernet keys that seal what people write (`PARLEY_ENCRYPTION_KEYS`, comma-separated,
//! the first seals and all open), whether to seal (`PARLEY_ENCRYPTION=on|off`), and the search index's key
//! (`PARLEY_SEARCH_KEY`). Production refuses to start without keys unless encryption is explicitly off.

use crate::support::at_rest::{AtRest, FernetKey, SearchKey};

use super::{accounts::MIN_SECRET_BYTES, reader::Reader};

pub(super) fn read(env: &mut Reader) -> AtRest {
    let mut keys = Vec::new();
    if let Some(list) = env.get("PARLEY_ENCRYPTION_KEYS") {
        for (n, text) in list.split(',').map(str::trim).filter(|k| !k.is_empty()).enumerate() {
            match FernetKey::parse(text) {
                Some(key) => keys.push(key),
                // Never echo the value: it is (a piece of) a secret.
                None => env.problem(format!(
                    "PARLEY_ENCRYPTION_KEYS: key {} is not a Fernet key (URL-safe base64 of 32 bytes, as \
                     `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'` prints)",
                    n + 1
                )),
            }
        }
    }
    let sealing = env.on_off("PARLEY_ENCRYPTION", true);
    if env.production && sealing && keys.is_empty() {
        env.problem(
            "PARLEY_ENCRYPTION_KEYS is missing (Fernet keys that encrypt conversations at rest; or set \
             PARLEY_ENCRYPTION=off to store them as plain text)",
        );
    }
    let search = match env.get("PARLEY_SEARCH_KEY") {
        Some(secret) if secret.len() < MIN_SECRET_BYTES => {
            env.problem(format!("PARLEY_SEARCH_KEY must be at least {MIN_SECRET_BYTES} bytes long"));
            SearchKey::public()
        }
        Some(secret) => SearchKey::new(secret.as_bytes()),
        None if env.production && sealing => {
            env.problem("PARLEY_SEARCH_KEY is missing (at least 32 bytes; keys the search index of encrypted text)");
            SearchKey::public()
        }
        None => SearchKey::public(),
    };
    AtRest::new(keys, sealing, search)
}
