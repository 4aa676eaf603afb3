//! The CRAM-MD5 digest both sides of Mesos' SASL authentication compute
//! (upstream drives Cyrus SASL from src/authentication/cram_md5/; the
//! mechanism is RFC 2195): the client answers a challenge with
//! `principal HMAC-MD5(secret, challenge)` in lowercase hex.

use std::collections::BTreeMap;

use http::StatusCode;
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

/// libprocess's `BasicAuthenticator` (src/authenticator.cpp): the principal
/// of a request whose `Authorization: Basic` credentials match `secrets`, or
/// the 401 that asks for them in `realm`.
pub fn basic(
    realm: &str,
    secrets: &BTreeMap<String, String>,
    request: &crate::Request,
) -> Result<String, Box<crate::Response>> {
    let unauthorized = || {
        Box::new(crate::Response::new(StatusCode::UNAUTHORIZED).header(
            http::header::WWW_AUTHENTICATE,
            &format!("Basic realm=\"{realm}\""),
        ))
    };
    let header = request.header("authorization").ok_or_else(unauthorized)?;
    let parts: Vec<&str> = header.split(' ').collect();
    let ["Basic", encoded] = parts[..] else {
        return Err(unauthorized());
    };
    let decoded = openssl::base64::decode_block(encoded).map_err(|_| unauthorized())?;
    let decoded = String::from_utf8(decoded).map_err(|_| unauthorized())?;
    // Upstream splits on every ':', so a secret with one never matches.
    match decoded.split(':').collect::<Vec<_>>()[..] {
        [principal, secret] if secrets.get(principal).map(String::as_str) == Some(secret) => {
            Ok(principal.to_string())
        }
        _ => Err(unauthorized()),
    }
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

    #[test]
    fn basic_credentials_as_upstream() {
        let secrets = BTreeMap::from([("p".to_string(), "s".to_string())]);
        let with = |auth: Option<&str>| {
            let mut r = crate::Request::new(http::Method::GET, "/x");
            if let Some(a) = auth {
                r.headers.insert("authorization", a.parse().unwrap());
            }
            basic("realm-x", &secrets, &r)
        };
        assert_eq!(with(Some("Basic cDpz")).unwrap(), "p"); // p:s
        for bad in [
            None,
            Some("Basic cDp4"),
            Some("Bearer cDpz"),
            Some("Basic !!"),
            Some("Basic cDpzOnQ="),
        ] {
            let r = with(bad).unwrap_err();
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            assert_eq!(r.headers["www-authenticate"], "Basic realm=\"realm-x\"");
        }
    }
}
