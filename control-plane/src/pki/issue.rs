//! Creating and loading the CA and the certificates it signs.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use super::{read, write, PkiError};

/// A certificate and its private key, PEM-encoded.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Certificate chain (leaf first).
    pub cert_pem: String,
    /// PKCS#8 private key.
    pub key_pem: String,
}

/// The CA and serving certificate under a data directory.
pub struct Pki {
    pub(super) dir: PathBuf,
    pub(super) ca_pem: String,
    ca_key_pem: String,
    pub(super) serving: Identity,
    pub(super) admin: Identity,
}

/// Days a leaf certificate is valid; it is re-issued when fewer than `RENEW_DAYS` remain.
const LEAF_DAYS: i64 = 365;
const RENEW_DAYS: i64 = 90;
const CA_DAYS: i64 = 3650;

impl Pki {
    /// Loads `DIR/tls/*` or creates a CA, a serving certificate (SANs: host name, host
    /// addresses, 127.0.0.1, 10.43.0.1, `kubernetes*` names, `extra_sans`) and an admin client
    /// certificate (CN `admin`, O `system:masters`).
    pub fn load_or_create(dir: &Path, extra_sans: &[String]) -> Result<Self, PkiError> {
        let tls = dir.join("tls");
        std::fs::create_dir_all(&tls).map_err(|source| PkiError::Io {
            path: tls.clone(),
            source,
        })?;
        let (ca_pem, ca_key_pem) = load_or_create_ca(&tls)?;
        let mut pki = Pki {
            dir: dir.to_path_buf(),
            ca_pem,
            ca_key_pem,
            serving: Identity {
                cert_pem: String::new(),
                key_pem: String::new(),
            },
            admin: Identity {
                cert_pem: String::new(),
                key_pem: String::new(),
            },
        };
        let sans = serving_sans(extra_sans);
        pki.serving = pki.load_or_issue(
            &tls,
            "server",
            |p| {
                p.subject_alt_names = sans.iter().map(|s| san(s)).collect::<Result<_, _>>()?;
                p.distinguished_name
                    .push(DnType::CommonName, "kube-apiserver");
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                Ok(())
            },
            &sans,
        )?;
        pki.admin = pki.load_or_issue(
            &tls,
            "admin",
            |p| {
                p.distinguished_name.push(DnType::CommonName, "admin");
                p.distinguished_name
                    .push(DnType::OrganizationName, "system:masters");
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
                Ok(())
            },
            &[],
        )?;
        Ok(pki)
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The data directory this PKI lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Issues a client certificate for user `cn` in `groups`, signed by the CA.
    pub fn issue_client(&self, cn: &str, groups: &[&str]) -> Result<Identity, PkiError> {
        self.issue("client", |p| {
            p.distinguished_name.push(DnType::CommonName, cn);
            for g in groups {
                p.distinguished_name.push(DnType::OrganizationName, *g);
            }
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            Ok(())
        })
    }

    /// Loads `tls/<name>.crt` unless it is missing, expiring, or (for the serving certificate)
    /// lacks one of `sans`; issues a new one otherwise.
    fn load_or_issue(
        &self,
        tls: &Path,
        name: &'static str,
        shape: impl Fn(&mut CertificateParams) -> Result<(), PkiError>,
        sans: &[String],
    ) -> Result<Identity, PkiError> {
        let (crt, key) = (
            tls.join(format!("{name}.crt")),
            tls.join(format!("{name}.key")),
        );
        if crt.exists() && key.exists() {
            let id = Identity {
                cert_pem: read(&crt)?,
                key_pem: read(&key)?,
            };
            if still_good(name, &id.cert_pem, sans)? {
                return Ok(id);
            }
            tracing::info!(
                certificate = name,
                "re-issuing certificate (expiring or names changed)"
            );
        }
        let id = self.issue(name, shape)?;
        write(&key, id.key_pem.as_bytes(), true)?;
        write(&crt, id.cert_pem.as_bytes(), false)?;
        Ok(id)
    }

    fn issue(
        &self,
        what: &'static str,
        shape: impl Fn(&mut CertificateParams) -> Result<(), PkiError>,
    ) -> Result<Identity, PkiError> {
        let fail = |e: rcgen::Error| PkiError::Certificate {
            what,
            reason: e.to_string(),
        };
        let ca_key = KeyPair::from_pem(&self.ca_key_pem).map_err(fail)?;
        let issuer = Issuer::from_ca_cert_pem(&self.ca_pem, ca_key).map_err(fail)?;
        let key = KeyPair::generate().map_err(fail)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        validity(&mut params, LEAF_DAYS);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        shape(&mut params)?;
        let cert = params.signed_by(&key, &issuer).map_err(fail)?;
        Ok(Identity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

fn load_or_create_ca(tls: &Path) -> Result<(String, String), PkiError> {
    let (crt, key) = (tls.join("ca.crt"), tls.join("ca.key"));
    if crt.exists() && key.exists() {
        return Ok((read(&crt)?, read(&key)?));
    }
    let fail = |e: rcgen::Error| PkiError::Certificate {
        what: "CA",
        reason: e.to_string(),
    };
    let ca_key = KeyPair::generate().map_err(fail)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(
        DnType::CommonName,
        format!("skiff-ca@{}", chrono::Utc::now().timestamp()),
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, CA_DAYS);
    let cert = params.self_signed(&ca_key).map_err(fail)?;
    let (cert_pem, key_pem) = (cert.pem(), ca_key.serialize_pem());
    write(&key, key_pem.as_bytes(), true)?;
    write(&crt, cert_pem.as_bytes(), false)?;
    tracing::info!(path = %crt.display(), "created cluster CA");
    Ok((cert_pem, key_pem))
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = rcgen::date_time_ymd(1970, 1, 1) + time_seconds(chrono::Utc::now().timestamp());
    params.not_before = now - time_seconds(3600);
    params.not_after = now + time_seconds(days * 86_400);
}

fn time_seconds(s: i64) -> std::time::Duration {
    std::time::Duration::from_secs(s.unsigned_abs())
}

/// Whether a stored leaf certificate can be kept: parses, has ≥ `RENEW_DAYS` left and covers
/// every name in `sans`.
fn still_good(what: &'static str, pem: &str, sans: &[String]) -> Result<bool, PkiError> {
    let fail = |reason: String| PkiError::Certificate { what, reason };
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(pem.as_bytes())
        .map(|c: rustls_pki_types::CertificateDer<'static>| c)
        .map_err(|e| fail(e.to_string()))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|e| fail(e.to_string()))?;
    let left = cert.validity().not_after.timestamp() - chrono::Utc::now().timestamp();
    if left < RENEW_DAYS * 86_400 {
        return Ok(false);
    }
    let have: Vec<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                    x509_parser::extensions::GeneralName::IPAddress(b) => {
                        ip_from_bytes(b).map(|ip| ip.to_string())
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(sans.iter().all(|s| have.contains(s)))
}

fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}

fn san(name: &str) -> Result<SanType, PkiError> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let dns = name
        .to_string()
        .try_into()
        .map_err(|_| PkiError::Certificate {
            what: "serving",
            reason: format!("invalid DNS name {name:?}"),
        })?;
    Ok(SanType::DnsName(dns))
}

/// The serving certificate's names: the usual `kubernetes*` names, localhost, the service IP,
/// this host's name and addresses, and the operator's extra names.
fn serving_sans(extra: &[String]) -> Vec<String> {
    let mut sans: Vec<String> = [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
        "127.0.0.1",
        "10.43.0.1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        if !host.trim().is_empty() {
            sans.push(host.trim().to_string());
        }
    }
    if let Ok(addrs) = nix::ifaddrs::getifaddrs() {
        for a in addrs {
            if let Some(v4) = a.address.as_ref().and_then(|s| s.as_sockaddr_in()) {
                sans.push(v4.ip().to_string());
            }
        }
    }
    sans.extend(extra.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    sans.retain(|s| seen.insert(s.clone()));
    sans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_creates_and_restart_reuses_the_pki() {
        let dir = tempfile::tempdir().unwrap();
        let first = Pki::load_or_create(dir.path(), &["api.example.test".into()]).unwrap();
        let again = Pki::load_or_create(dir.path(), &["api.example.test".into()]).unwrap();
        assert_eq!(first.ca_pem, again.ca_pem);
        assert_eq!(first.serving.cert_pem, again.serving.cert_pem);
        assert_eq!(first.admin.cert_pem, again.admin.cert_pem);
        let mode = std::fs::metadata(dir.path().join("tls/ca.key"))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        first.server_tls_config().unwrap();
    }

    #[test]
    fn serving_certificate_covers_defaults_and_extra_names() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::load_or_create(dir.path(), &["api.example.test".into()]).unwrap();
        let want: Vec<String> = [
            "127.0.0.1",
            "10.43.0.1",
            "kubernetes.default.svc",
            "api.example.test",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert!(still_good("serving", &pki.serving.cert_pem, &want).unwrap());
        assert!(!still_good(
            "serving",
            &pki.serving.cert_pem,
            &["other.test".to_string()]
        )
        .unwrap());
    }

    #[test]
    fn a_new_extra_name_reissues_the_serving_certificate_but_keeps_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        let first = Pki::load_or_create(dir.path(), &[]).unwrap();
        let second = Pki::load_or_create(dir.path(), &["new.example.test".into()]).unwrap();
        assert_eq!(first.ca_pem, second.ca_pem);
        assert_ne!(first.serving.cert_pem, second.serving.cert_pem);
    }

    #[test]
    fn admin_certificate_is_in_system_masters() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::load_or_create(dir.path(), &[]).unwrap();
        let der: rustls_pki_types::CertificateDer<'static> =
            rustls_pki_types::pem::PemObject::from_pem_slice(pki.admin.cert_pem.as_bytes())
                .unwrap();
        let user = crate::auth::Authenticator::new(Default::default())
            .authenticate(Some(&der), None)
            .unwrap();
        assert_eq!(user.name, "admin");
        assert!(user.groups.contains(&"system:masters".to_string()));
    }
}
