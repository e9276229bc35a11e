//! Content digests (`sha256:<hex>`) as the OCI image spec and `go-digest` define them: parsing,
//! computing and verifying, in one shot or streamed for large blobs.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

/// A hash algorithm a digest may name; the set `go-digest` registers by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgorithm {
    /// SHA-256, the algorithm registries and containerd use for everything they address.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The name used before the `:` in a digest string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Length in characters of this algorithm's hex encoding.
    pub fn hex_len(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Sha384 => 96,
            Self::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not a usable digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// The string is not `<algorithm>:<encoded>` with both parts present.
    #[error("digest {digest:?} is not of the form <algorithm>:<hex>")]
    Malformed {
        /// The rejected input.
        digest: String,
    },
    /// The algorithm is well formed but not one of sha256, sha384, sha512.
    #[error("digest algorithm {algorithm:?} is not supported (use sha256, sha384 or sha512)")]
    UnsupportedAlgorithm {
        /// The algorithm named by the input.
        algorithm: String,
    },
    /// The encoded part has the wrong length for its algorithm.
    #[error("{algorithm} digest must have {expected} hex characters, found {actual}")]
    InvalidLength {
        /// The algorithm named by the input.
        algorithm: DigestAlgorithm,
        /// Hex characters the algorithm produces.
        expected: usize,
        /// Characters found after the `:`.
        actual: usize,
    },
    /// The encoded part has characters other than lowercase hex digits.
    #[error("{algorithm} digest must be lowercase hexadecimal (0-9, a-f)")]
    InvalidHex {
        /// The algorithm named by the input.
        algorithm: DigestAlgorithm,
    },
}

/// A validated content digest such as `sha256:9b2a…`; its text form is `algorithm:hex`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: DigestAlgorithm,
    hex: String,
}

impl Digest {
    /// Parses `algorithm:hex`, with the same rules and error cases as `go-digest`'s `Parse`.
    pub fn parse(s: &str) -> Result<Self, DigestError> {
        let malformed = || DigestError::Malformed {
            digest: s.to_owned(),
        };
        let (name, encoded) = s.split_once(':').ok_or_else(malformed)?;
        if name.is_empty() || encoded.is_empty() {
            return Err(malformed());
        }
        let Some(algorithm) = DigestAlgorithm::from_name(name) else {
            return Err(if is_well_formed_unknown(name, encoded) {
                DigestError::UnsupportedAlgorithm {
                    algorithm: name.to_owned(),
                }
            } else {
                malformed()
            });
        };
        if encoded.len() != algorithm.hex_len() {
            return Err(DigestError::InvalidLength {
                algorithm,
                expected: algorithm.hex_len(),
                actual: encoded.len(),
            });
        }
        if !encoded
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(DigestError::InvalidHex { algorithm });
        }
        Ok(Self {
            algorithm,
            hex: encoded.to_owned(),
        })
    }

    /// Computes the digest of `bytes` with `algorithm`.
    pub fn compute(algorithm: DigestAlgorithm, bytes: &[u8]) -> Self {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        Self {
            algorithm,
            hex: hasher.finish_hex(),
        }
    }

    /// Computes the sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Self {
        Self::compute(DigestAlgorithm::Sha256, bytes)
    }

    /// The hash algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The lowercase hex encoding of the hash, without the algorithm prefix.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Whether `bytes` hash to this digest.
    pub fn verify(&self, bytes: &[u8]) -> bool {
        let mut verifier = self.verifier();
        verifier.update(bytes);
        verifier.verified()
    }

    /// A streaming verifier for content too large to hold in memory (pulled blobs).
    pub fn verifier(&self) -> DigestVerifier {
        DigestVerifier {
            expected: self.clone(),
            hasher: Hasher::new(self.algorithm),
            len: 0,
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Hashes content fed in pieces and tells whether it matches an expected digest.
///
/// It also implements [`std::io::Write`], so `io::copy` can feed it while a blob is stored.
#[derive(Debug, Clone)]
pub struct DigestVerifier {
    expected: Digest,
    hasher: Hasher,
    len: u64,
}

impl DigestVerifier {
    /// Feeds the next piece of content.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing has been fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of everything fed so far.
    pub fn computed(&self) -> Digest {
        Digest {
            algorithm: self.expected.algorithm,
            hex: self.hasher.clone().finish_hex(),
        }
    }

    /// Whether everything fed hashes to the expected digest.
    pub fn verified(&self) -> bool {
        self.computed() == self.expected
    }
}

impl std::io::Write for DigestVerifier {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Hasher {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn new(algorithm: DigestAlgorithm) -> Self {
        match algorithm {
            DigestAlgorithm::Sha256 => Self::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha384 => Self::Sha384(sha2::Sha384::new()),
            DigestAlgorithm::Sha512 => Self::Sha512(sha2::Sha512::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(bytes),
            Self::Sha384(h) => h.update(bytes),
            Self::Sha512(h) => h.update(bytes),
        }
    }

    fn finish_hex(self) -> String {
        match self {
            Self::Sha256(h) => to_hex(&h.finalize()),
            Self::Sha384(h) => to_hex(&h.finalize()),
            Self::Sha512(h) => to_hex(&h.finalize()),
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// `go-digest`'s general digest grammar, `[a-z0-9]+([.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+`: it
/// separates "unknown algorithm" from "not a digest at all".
fn is_well_formed_unknown(algorithm: &str, encoded: &str) -> bool {
    let lower_alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let algorithm_ok = algorithm
        .split(['.', '+', '_', '-'])
        .all(|part| !part.is_empty() && part.bytes().all(lower_alnum));
    let encoded_ok = encoded
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    algorithm_ok && encoded_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const HELLO_SHA256: &str =
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn sha256_of_known_inputs_matches_published_values() {
        assert_eq!(Digest::sha256_of(b"").to_string(), EMPTY_SHA256);
        assert_eq!(Digest::sha256_of(b"hello").to_string(), HELLO_SHA256);
    }

    #[test]
    fn sha384_and_sha512_digests_have_their_lengths_and_round_trip() {
        for algorithm in [DigestAlgorithm::Sha384, DigestAlgorithm::Sha512] {
            let digest = Digest::compute(algorithm, b"hello");
            assert_eq!(digest.hex().len(), algorithm.hex_len());
            assert_eq!(Digest::parse(&digest.to_string()).unwrap(), digest);
            assert!(digest.verify(b"hello"));
        }
        assert!(Digest::compute(DigestAlgorithm::Sha512, b"")
            .hex()
            .starts_with("cf83e1357eefb8bd"));
    }

    #[test]
    fn verify_accepts_matching_content_and_rejects_any_change() {
        let digest = Digest::parse(HELLO_SHA256).unwrap();
        assert!(digest.verify(b"hello"));
        assert!(!digest.verify(b"hello "));
        assert!(!digest.verify(b"Hello"));
        assert!(!digest.verify(b""));
    }

    #[test]
    fn streamed_content_verifies_like_one_shot() {
        let digest = Digest::parse(HELLO_SHA256).unwrap();
        let mut verifier = digest.verifier();
        assert!(verifier.is_empty());
        verifier.update(b"he");
        assert!(!verifier.verified());
        std::io::copy(&mut &b"llo"[..], &mut verifier).unwrap();
        assert_eq!(verifier.len(), 5);
        assert!(verifier.verified());
        assert_eq!(verifier.computed(), digest);
    }

    #[test]
    fn parse_reports_each_kind_of_bad_digest() {
        let long = "f".repeat(64);
        let cases: Vec<(String, DigestError)> = vec![
            (
                "sha256".into(),
                DigestError::Malformed {
                    digest: "sha256".into(),
                },
            ),
            (
                format!(":{long}"),
                DigestError::Malformed {
                    digest: format!(":{long}"),
                },
            ),
            (
                "sha256:".into(),
                DigestError::Malformed {
                    digest: "sha256:".into(),
                },
            ),
            (
                format!("md5:{long}"),
                DigestError::UnsupportedAlgorithm {
                    algorithm: "md5".into(),
                },
            ),
            (
                format!("sha256+b64u:{long}"),
                DigestError::UnsupportedAlgorithm {
                    algorithm: "sha256+b64u".into(),
                },
            ),
            (
                format!("SHA256:{long}"),
                DigestError::Malformed {
                    digest: format!("SHA256:{long}"),
                },
            ),
            (
                format!("sha256:{}", "f".repeat(34)),
                DigestError::InvalidLength {
                    algorithm: DigestAlgorithm::Sha256,
                    expected: 64,
                    actual: 34,
                },
            ),
            (
                format!("sha512:{long}"),
                DigestError::InvalidLength {
                    algorithm: DigestAlgorithm::Sha512,
                    expected: 128,
                    actual: 64,
                },
            ),
            (
                format!("sha256:{}", "F".repeat(64)),
                DigestError::InvalidHex {
                    algorithm: DigestAlgorithm::Sha256,
                },
            ),
            (
                format!("sha256:{}g", "f".repeat(63)),
                DigestError::InvalidHex {
                    algorithm: DigestAlgorithm::Sha256,
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(Digest::parse(&input), Err(expected), "input {input:?}");
        }
    }

    #[test]
    fn digest_serializes_as_its_string() {
        let digest = Digest::parse(HELLO_SHA256).unwrap();
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(json, format!("\"{HELLO_SHA256}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), digest);
        assert!(serde_json::from_str::<Digest>("\"sha256:abc\"").is_err());
    }
}
