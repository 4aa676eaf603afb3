//! The CRAM-MD5 digest both sides of Mesos' SASL authentication compute
//! (upstream drives Cyrus SASL from src/authentication/cram_md5/; the
//! mechanism is RFC 2195): the client answers a challenge with
//! `principal HMAC-MD5(secret, challenge)` in lowercase hex.

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

/// The mechanism's name on the wire.
pub const CRAM_MD5: &str = "CRAM-MD5";

/// HMAC-MD5 of `challenge` under `secret`, in lowercase hex.
pub fn cram_md5_digest(secret: &str, challenge: &[u8]) -> String {
    let digest = PKey::hmac(secret.as_bytes())
        .and_then(|key| {
            let mut signer = Signer::new(MessageDigest::md5(), &key)?;
            signer.update(challenge)?;
            signer.sign_to_vec()
        })
        .unwrap_or_default();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_rfc_2195s_example() {
        // RFC 2195 section 2: user "tim", secret "tanstaaftanstaaf".
        let challenge = b"<1896.697170952@postoffice.reston.mci.net>";
        assert_eq!(
            cram_md5_digest("tanstaaftanstaaf", challenge),
            "b913a602c7eda7a495b4e6e7334d3890"
        );
    }
}
