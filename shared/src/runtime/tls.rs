//! TLS for every HTTP client: rustls on `ring`, installed as the process's crypto provider
//! before the first client is built. (reqwest's default, aws-lc-rs, is about 0.25 MB more
//! per zipped function; `ring` verifies the same certificates with the platform's roots.)

/// `reqwest::Client::builder()`, with the TLS provider installed: build every client
/// through this (a client built before any install panics, as reqwest does without one).
pub fn client_builder() -> reqwest::ClientBuilder {
    install();
    reqwest::Client::builder()
}

/// Installs `ring` as rustls's provider for the process; later calls do nothing.
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Refused only if a provider is installed already, which then serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const CA: &str = include_str!("../../testdata/tls-test-ca.pem");

    /// A TLS server on loopback with a certificate for 127.0.0.1 issued by the test CA,
    /// answering each connection's request with "ok".
    async fn tls_server() -> String {
        let certs =
            CertificateDer::pem_slice_iter(include_bytes!("../../testdata/tls-test-server.pem"))
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
        let key =
            PrivateKeyDer::from_pem_slice(include_bytes!("../../testdata/tls-test-server.key"))
                .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = [0u8; 4096];
                    let _ = tls.read(&mut buf).await;
                    let answer =
                        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        format!("https://{addr}/")
    }

    #[tokio::test]
    async fn clients_speak_tls_on_ring_and_check_the_servers_certificate() {
        let url = tls_server().await;
        let trusting = super::client_builder()
            .add_root_certificate(reqwest::Certificate::from_pem(CA.as_bytes()).unwrap())
            .build()
            .unwrap();
        let res = trusting.get(&url).send().await.unwrap();
        assert_eq!(res.text().await.unwrap(), "ok");
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());

        // Without the test CA among its roots, the certificate is refused.
        let plain = super::client_builder().build().unwrap();
        let refused = plain.get(&url).send().await.unwrap_err();
        let chain = format!("{:?}", refused);
        assert!(
            chain.contains("UnknownIssuer") || chain.contains("certificate"),
            "{chain}"
        );
    }
}
