//! The cryptography under `jsonwebtoken`, on `ring`: the library rustls already links for
//! TLS. `jsonwebtoken`'s own choices would each add a second crypto library to every
//! function (aws-lc-rs, about 0.25 MB zipped; or the RustCrypto RSA and curve crates).
//!
//! Verifies every algorithm a JWT may carry (HMAC, RSA PKCS#1 and PSS, ECDSA P-256/P-384,
//! Ed25519): our own tokens are HS256, an outside identity provider's are asymmetric.
//! Signs HMAC (our tokens) and ECDSA (an outside issuer's, in the tests); other signing keys
//! and making JWKs from private keys are refused with an error. [`install`] must run before
//! `jsonwebtoken` signs or verifies anything: `domain::sessions` calls it.

use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::rand::SystemRandom;
use ring::{digest, hmac, signature as sig};

/// Makes this module `jsonwebtoken`'s provider for the process; later calls do nothing
/// (`install_default` refuses once a provider is set, and this is the only one).
pub fn install() {
    let _ = PROVIDER.install_default();
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    jwk_utils: JwkUtils {
        extract_rsa_public_key_components: |_| Err(ErrorKind::InvalidAlgorithm.into()),
        extract_ec_public_key_coordinates: |_, _| Err(ErrorKind::InvalidAlgorithm.into()),
        compute_digest,
    },
};

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Vec<u8> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &digest::SHA256,
        ThumbprintHash::SHA384 => &digest::SHA384,
        ThumbprintHash::SHA512 => &digest::SHA512,
    };
    digest::digest(algorithm, data).as_ref().to_vec()
}

fn hmac_of(alg: Algorithm) -> Option<hmac::Algorithm> {
    match alg {
        Algorithm::HS256 => Some(hmac::HMAC_SHA256),
        Algorithm::HS384 => Some(hmac::HMAC_SHA384),
        Algorithm::HS512 => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

enum SignWith {
    Hmac(hmac::Key),
    Ecdsa(sig::EcdsaKeyPair),
}

struct Signer {
    alg: Algorithm,
    with: SignWith,
}

fn new_signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    let with = if let Some(h) = hmac_of(*alg) {
        SignWith::Hmac(hmac::Key::new(h, key.try_get_hmac_secret()?))
    } else {
        let signing = match alg {
            Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            _ => return Err(ErrorKind::InvalidAlgorithm.into()),
        };
        if key.family() != AlgorithmFamily::Ec {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        let pair = sig::EcdsaKeyPair::from_pkcs8(signing, key.inner(), &SystemRandom::new())
            .map_err(|_| ErrorKind::InvalidEcdsaKey)?;
        SignWith::Ecdsa(pair)
    };
    Ok(Box::new(Signer { alg: *alg, with }))
}

impl signature::Signer<Vec<u8>> for Signer {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        match &self.with {
            SignWith::Hmac(key) => Ok(hmac::sign(key, msg).as_ref().to_vec()),
            SignWith::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| signature::Error::new()),
        }
    }
}

impl JwtSigner for Signer {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

enum VerifyWith {
    Hmac(hmac::Key),
    Rsa(&'static sig::RsaParameters, DecodingKey),
    /// ECDSA and Ed25519: the key's bytes are the public point or key.
    Public(&'static dyn sig::VerificationAlgorithm, DecodingKey),
}

struct Verifier {
    alg: Algorithm,
    with: VerifyWith,
}

fn new_verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    use AlgorithmFamily::{Ec, Ed, Rsa};
    let of_family = |f: AlgorithmFamily| {
        if key.family() == f {
            Ok(key.clone())
        } else {
            Err(Error::from(ErrorKind::InvalidKeyFormat))
        }
    };
    let hmac = |h| {
        Ok::<_, Error>(VerifyWith::Hmac(hmac::Key::new(
            h,
            key.try_get_hmac_secret()?,
        )))
    };
    let rsa = |params| Ok::<_, Error>(VerifyWith::Rsa(params, of_family(Rsa)?));
    let public = |v, f| Ok::<_, Error>(VerifyWith::Public(v, of_family(f)?));
    let with = match alg {
        Algorithm::HS256 => hmac(hmac::HMAC_SHA256)?,
        Algorithm::HS384 => hmac(hmac::HMAC_SHA384)?,
        Algorithm::HS512 => hmac(hmac::HMAC_SHA512)?,
        Algorithm::RS256 => rsa(&sig::RSA_PKCS1_2048_8192_SHA256)?,
        Algorithm::RS384 => rsa(&sig::RSA_PKCS1_2048_8192_SHA384)?,
        Algorithm::RS512 => rsa(&sig::RSA_PKCS1_2048_8192_SHA512)?,
        Algorithm::PS256 => rsa(&sig::RSA_PSS_2048_8192_SHA256)?,
        Algorithm::PS384 => rsa(&sig::RSA_PSS_2048_8192_SHA384)?,
        Algorithm::PS512 => rsa(&sig::RSA_PSS_2048_8192_SHA512)?,
        Algorithm::ES256 => public(&sig::ECDSA_P256_SHA256_FIXED, Ec)?,
        Algorithm::ES384 => public(&sig::ECDSA_P384_SHA384_FIXED, Ec)?,
        Algorithm::EdDSA => public(&sig::ED25519, Ed)?,
    };
    Ok(Box::new(Verifier { alg: *alg, with }))
}

impl signature::Verifier<Vec<u8>> for Verifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let checked = match &self.with {
            VerifyWith::Hmac(key) => hmac::verify(key, msg, signature),
            VerifyWith::Rsa(params, key) => match key.kind() {
                DecodingKeyKind::SecretOrDer(der) => {
                    sig::UnparsedPublicKey::new(*params, der).verify(msg, signature)
                }
                DecodingKeyKind::RsaModulusExponent { n, e } => {
                    sig::RsaPublicKeyComponents { n, e }.verify(params, msg, signature)
                }
            },
            VerifyWith::Public(alg, key) => {
                sig::UnparsedPublicKey::new(*alg, key.as_bytes()).verify(msg, signature)
            }
        };
        checked.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for Verifier {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

#[cfg(test)]
mod tests {
    use super::install;
    use base64::Engine;
    use jsonwebtoken::crypto::verify;
    use jsonwebtoken::{encode, Algorithm, DecodingKey, EncodingKey, Header};
    use serde_json::{json, Value};

    /// Tokens signed by Python's `cryptography` (OpenSSL) and their public keys.
    fn elsewhere() -> Value {
        serde_json::from_str(include_str!("../../testdata/jwt-signed-elsewhere.json")).unwrap()
    }

    /// Checks `token`'s signature with `key`, and a copy of it whose payload changed.
    fn checks(token: &str, key: &DecodingKey, alg: Algorithm) -> (bool, bool) {
        install();
        let (message, signature) = token.rsplit_once('.').unwrap();
        let genuine = verify(signature, message.as_bytes(), key, alg).unwrap();
        let forged = message.replacen("eyJ", "eyK", 2);
        let tampered = verify(signature, forged.as_bytes(), key, alg).unwrap_or(false);
        (genuine, tampered)
    }

    #[test]
    fn our_hmac_tokens_sign_and_verify_and_another_secret_fails() {
        install();
        let claims = json!({"sub": "u1", "exp": 4102444800i64});
        let token = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"s3cret"),
        )
        .unwrap();
        let ours = DecodingKey::from_secret(b"s3cret");
        assert_eq!(checks(&token, &ours, Algorithm::HS256), (true, false));
        let other = DecodingKey::from_secret(b"another");
        assert_eq!(checks(&token, &other, Algorithm::HS256), (false, false));
    }

    #[test]
    fn tokens_signed_elsewhere_verify_with_their_jwk_and_tampering_fails() {
        let f = elsewhere();
        let s = |v: &Value| v.as_str().unwrap().to_string();
        let rsa = DecodingKey::from_rsa_components(&s(&f["rsa"]["n"]), &s(&f["rsa"]["e"])).unwrap();
        let p384 =
            DecodingKey::from_ec_components(&s(&f["p384"]["x"]), &s(&f["p384"]["y"])).unwrap();
        let ed = DecodingKey::from_ed_components(&s(&f["ed25519"]["x"])).unwrap();
        for (alg, name, key) in [
            (Algorithm::RS256, "RS256", &rsa),
            (Algorithm::PS256, "PS256", &rsa),
            (Algorithm::ES384, "ES384", &p384),
            (Algorithm::EdDSA, "EdDSA", &ed),
        ] {
            assert_eq!(checks(&s(&f[name]), key, alg), (true, false), "{name}");
        }
        // A key of another family is refused, not tried.
        install();
        let (message, signature) = s(&f["RS256"])
            .rsplit_once('.')
            .map(|(m, g)| (m.to_string(), g.to_string()))
            .unwrap();
        assert!(verify(&signature, message.as_bytes(), &p384, Algorithm::RS256).is_err());
        // RS256's signature is not an ES384 one for the same bytes.
        assert!(!verify(&signature, message.as_bytes(), &p384, Algorithm::ES384).unwrap_or(false));
    }

    #[test]
    fn ecdsa_signs_for_an_outside_issuer_and_rsa_signing_is_an_error() {
        install();
        let pem = include_str!("../../../tests/fixtures/jwks-test-key.pem");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        let claims = json!({"email": "a@b.c"});
        let token = encode(
            &Header::new(Algorithm::ES256),
            &claims,
            &EncodingKey::from_ec_der(&der),
        )
        .unwrap();
        // The public half, as the e2e test's JWKS serves it.
        let key = DecodingKey::from_ec_components(
            "xo2bq58ok1JZHmN3nqapkiOTJjDAUX-IZthHHECmYic",
            "dYtCFs_IAYPi1Ft6Zlg_Xz82hRs6E3DBNnlHPMkuCBI",
        )
        .unwrap();
        assert_eq!(checks(&token, &key, Algorithm::ES256), (true, false));
        let rsa_signing = encode(
            &Header::new(Algorithm::RS256),
            &claims,
            &EncodingKey::from_rsa_der(&der),
        );
        assert!(rsa_signing.is_err());
    }
}
