//! SHA-256 in lower-case hex: CreateDeployment's `appSpecContent.sha256` and the plan's
//! fingerprint both need it.

use sha2::{Digest, Sha256};

/// Hex (lower-case) SHA-256 of `content`.
pub(crate) fn sha256_hex(content: &str) -> String {
    Sha256::digest(content.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}
