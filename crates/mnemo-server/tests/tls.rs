//! HTTPS with rustls: the server loads a PEM certificate and key, and a
//! rustls client with its default provider negotiates the post-quantum
//! hybrid key exchange X25519MLKEM768.

mod common;

use std::sync::Arc;
use std::time::Duration;

use mnemo_server::config::TlsConfig;
use mnemo_server::{Config, Server};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

#[tokio::test]
async fn https_negotiates_the_hybrid_post_quantum_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem()).expect("write cert");
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).expect("write key");

    let config = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        tls: Some(TlsConfig {
            cert: cert_path,
            key: key_path,
        }),
        ..Config::default()
    };
    let server = Server::bind(config, common::engine()).await.expect("bind");
    assert!(server.is_tls());
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    // A client trusting only this certificate, with rustls's defaults.
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(certified.cert.der().to_vec()))
        .expect("root");
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(client));
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let mut tls = connector
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("handshake");
    let (_, session) = tls.get_ref();
    let group = session
        .negotiated_key_exchange_group()
        .expect("a key exchange group")
        .name();
    assert_eq!(
        group,
        rustls::NamedGroup::X25519MLKEM768,
        "negotiated {group:?}"
    );
    assert_eq!(session.alpn_protocol(), None);

    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut answer))
        .await
        .expect("answer within 5 s")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("{\"status\":\"ok\"}"), "{answer}");

    // A plain-HTTP client gets no answer from the TLS port.
    let mut plain = TcpStream::connect(addr).await.expect("connect");
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(
        !String::from_utf8_lossy(&buf).contains("200 OK"),
        "plain HTTP must not be served: {read:?}"
    );

    let _ = stop.send(());
    running.await.expect("join").expect("clean stop");
}

#[tokio::test]
async fn a_bad_certificate_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "not a certificate").expect("write");
    let config = Config {
        listen: "127.0.0.1:0".parse().expect("addr"),
        tls: Some(TlsConfig {
            cert: cert.clone(),
            key: dir.path().join("missing.pem"),
        }),
        ..Config::default()
    };
    let err = Server::bind(config, common::engine())
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(text.starts_with("tls:"), "{text}");
    assert!(text.contains("cert.pem"), "{text}");
}
