//! The SOAP channel to a municipality's back office: one publication per `POST` (SOAP 1.1,
//! optionally with a client certificate), the answer classified by [`soap::classify_reply_to`]
//! as delivered, transient or permanent. The crate's only I/O; retrying and dead-lettering
//! are the hub's consumer runtime's business.

use std::fmt;
use std::time::Duration;

use adapter_soap::fault::unreadable_is_transient;
use adapter_soap::http::{self, chain, PostError, SoapClient};

use crate::soap::{self, Reply, Uitzondering};

/// The most of a reply that is read; a bigger answer is not a reply to a publication.
pub const MAX_REPLY_BYTES: usize = 1024 * 1024;

/// How a delivery attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    /// Timeout, failed connection, throttling (fault 99995), `soapenv:Server` fault, HTTP
    /// 5xx/429/408 without a reply: worth retrying later.
    #[error("transient: {0}")]
    Transient(String),
    /// A `FOUT`, a `soapenv:Client` fault, another status, or an answer that is not a reply
    /// to this publication: retrying cannot help.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl SoapError {
    pub fn is_transient(&self) -> bool {
        matches!(self, SoapError::Transient(_))
    }
}

/// Mutual TLS material, PEM-encoded. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct ClientTls {
    /// The client certificate chain (leaf first).
    pub certificate_pem: Vec<u8>,
    /// The client certificate's private key (PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub private_key_pem: Vec<u8>,
    /// Extra trusted root(s) for the back office's server certificate, besides the
    /// built-in web PKI roots.
    pub ca_pem: Option<Vec<u8>>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field(
                "certificate_pem",
                &format_args!("{} bytes", self.certificate_pem.len()),
            )
            .field("private_key_pem", &format_args!("***"))
            .field("ca_pem", &self.ca_pem.as_ref().map(|c| c.len()))
            .finish()
    }
}

/// A back office's SOAP endpoint.
#[derive(Debug, Clone)]
pub struct SoapEndpoint {
    endpoint: SoapClient,
}

impl SoapEndpoint {
    /// `timeout` bounds connecting and the whole exchange. With `tls`, the client presents
    /// its certificate (the URL must then be `https`) and trusts `tls.ca_pem` besides the
    /// built-in web PKI roots. Redirects are not followed: a 3xx is a permanent failure (a
    /// redirected POST would lose its body). The error names what is wrong, never key
    /// material.
    pub fn new(url: &str, timeout: Duration, tls: Option<&ClientTls>) -> Result<Self, String> {
        let parsed = http::http_url(url, "SOAP endpoint")?;
        if parsed.scheme() == "http" && tls.is_some() {
            return Err("a client certificate needs an https endpoint URL".to_owned());
        }
        let mut builder = http::client_builder(timeout);
        if let Some(tls) = tls {
            let mut pem = tls.certificate_pem.clone();
            if !pem.ends_with(b"\n") {
                pem.push(b'\n');
            }
            pem.extend_from_slice(&tls.private_key_pem);
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|e| format!("client certificate or key unusable: {}", chain(&e)))?;
            builder = builder.identity(identity);
            if let Some(ca) = &tls.ca_pem {
                let roots = reqwest::Certificate::from_pem_bundle(ca)
                    .map_err(|e| format!("CA certificate unusable: {}", chain(&e)))?;
                if roots.is_empty() {
                    return Err("the CA PEM holds no certificate".to_owned());
                }
                for root in roots {
                    builder = builder.add_root_certificate(root);
                }
            }
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot set up the SOAP client: {}", chain(&e)))?;
        Ok(SoapEndpoint {
            endpoint: SoapClient::new(client, url),
        })
    }

    /// The endpoint's URL.
    pub fn url(&self) -> &str {
        self.endpoint.url()
    }

    /// Posts one envelope (as made by [`soap::request`]) with `Content-Type`
    /// [`soap::CONTENT_TYPE`] and the quoted `SOAPAction`, and classifies the answer
    /// ([`soap::classify_reply_to`] with the envelope's own `Referte`): `Ok(warnings)` when
    /// delivered. A timeout, a failed connection and a connection lost while reading the
    /// answer are transient; at most [`MAX_REPLY_BYTES`] of the answer are read.
    pub async fn send(&self, envelope: String) -> Result<Vec<Uitzondering>, SoapError> {
        let referte = soap::request_referte(&envelope);
        let posted = self
            .endpoint
            .post(soap::SOAP_ACTION, envelope, MAX_REPLY_BYTES)
            .await;
        let (status, body) = match posted {
            Ok(answer) => answer,
            Err(PostError::Send(e)) => return Err(SoapError::Transient(describe(e))),
            Err(PostError::TooLarge { status, too_large }) => {
                return outcome(Reply::Unreadable {
                    transient: unreadable_is_transient(status),
                    reason: format!("HTTP {status}: {too_large}"),
                })
            }
            Err(PostError::Read { status, error }) => {
                return Err(SoapError::Transient(format!(
                    "HTTP {status}, reading the answer failed: {}",
                    describe(error)
                )))
            }
        };
        let reply = match referte {
            Some(referte) => soap::classify_reply_to(status, &body, &referte),
            None => soap::classify_reply(status, &body),
        };
        outcome(reply)
    }
}

/// A request failure, without the URL (it may carry credentials), with its causes.
fn describe(e: reqwest::Error) -> String {
    http::describe(e)
        .chars()
        .take(soap::MAX_REASON_CHARS)
        .collect()
}

/// What a classified reply means for the delivery.
pub fn outcome(reply: Reply) -> Result<Vec<Uitzondering>, SoapError> {
    let short = |s: String| -> String { s.chars().take(soap::MAX_REASON_CHARS).collect() };
    match reply {
        Reply::Delivered { warnings } => Ok(warnings),
        Reply::Refused(u) => Err(SoapError::Permanent(short(format!("refused: {u}")))),
        Reply::Throttled(reason) => {
            Err(SoapError::Transient(short(format!("throttled: {reason}"))))
        }
        Reply::Fault { transient, reason } | Reply::Unreadable { transient, reason } => {
            if transient {
                Err(SoapError::Transient(short(reason)))
            } else {
                Err(SoapError::Permanent(short(reason)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::{Parties, Publication, UitzonderingType};
    use contracts::{AssociationRemoved, MessageType, Metadata};
    use std::sync::Arc;
    use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    const REFERTE: &str = "8b7622d6-48b1-4f24-afcd-90653530fb82";

    fn envelope() -> String {
        let removed = AssociationRemoved {
            metadata: Metadata {
                message_id: REFERTE.parse().expect("uuid"),
                message_type: MessageType::AssociationRemoved,
                time: time::OffsetDateTime::UNIX_EPOCH,
                source: "hub/register".into(),
                correlation_id: uuid::Uuid::nil(),
                v_code: "V0001021".parse().expect("vcode"),
                sequence: 48377,
                version: None,
            },
        };
        soap::request(
            &Publication::Removed(&removed),
            &Parties {
                sender: "kbbj.vlaanderen.be/verenigingsloket-hub".into(),
                receiver: "OVO002067".into(),
            },
            time::OffsetDateTime::UNIX_EPOCH,
        )
    }

    fn reply(referte: &str, uitzondering: &str) -> String {
        format!(
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>
<pub:OntvangPublicatieResponse xmlns:pub="{}"><Repliek><Context><Naam>OntvangPublicatie</Naam>
<Versie>01.00.0000</Versie><Bericht><Type>ANTWOORD</Type></Bericht></Context><Antwoorden><Antwoord>
<Referte>{referte}</Referte><Inhoud><Ontvangen>true</Ontvangen></Inhoud>{uitzondering}</Antwoord>
</Antwoorden></Repliek></pub:OntvangPublicatieResponse></soapenv:Body></soapenv:Envelope>"#,
            soap::NAMESPACE
        )
    }

    const WARNING: &str = "<Uitzonderingen><Uitzondering><Identificatie>40143</Identificatie>\
        <Oorsprong>OVO002067</Oorsprong><Type>WAARSCHUWING</Type><Diagnose>Reeds ontvangen\
        </Diagnose></Uitzondering></Uitzonderingen>";

    fn http(status: &str, content_type: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
    }

    /// What the test server saw: the request head (lower-cased) and the body.
    struct Seen {
        head: String,
        body: String,
    }

    /// Reads one HTTP/1.1 request and answers `answer(body)`.
    async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
        mut stream: S,
        answer: &(dyn Fn(&str) -> String + Send + Sync),
    ) -> Option<Seen> {
        let (head, body) = adapter_http::fixtures::read_request(&mut stream).await?;
        let head = head.to_lowercase();
        let body = String::from_utf8_lossy(&body).into_owned();
        stream.write_all(answer(&body).as_bytes()).await.ok()?;
        stream.shutdown().await.ok()?;
        Some(Seen { head, body })
    }

    type Answer = Arc<dyn Fn(&str) -> String + Send + Sync>;

    /// A plain HTTP server answering every request with `answer`.
    async fn serve(answer: Answer) -> (String, mpsc::UnboundedReceiver<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!(
            "http://{}/Publicatie-01.00/soap/WebService",
            listener.local_addr().expect("addr")
        );
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                if let Some(seen) = exchange(stream, answer.as_ref()).await {
                    let _ = tx.send(seen);
                }
            }
        });
        (url, rx)
    }

    fn endpoint(url: &str) -> SoapEndpoint {
        SoapEndpoint::new(url, Duration::from_secs(5), None).expect("endpoint")
    }

    #[tokio::test]
    async fn posts_a_soap_request_and_returns_the_warnings() {
        let (url, mut seen) = serve(Arc::new(|body: &str| {
            let referte = soap::request_referte(body).unwrap_or_default();
            http("200 OK", soap::CONTENT_TYPE, &reply(&referte, WARNING))
        }))
        .await;
        let warnings = endpoint(&url).send(envelope()).await.expect("delivered");
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].type_, UitzonderingType::Waarschuwing);
        let seen = seen.recv().await.expect("request seen");
        assert!(seen
            .head
            .starts_with("post /publicatie-01.00/soap/webservice http/1.1"));
        assert!(seen
            .head
            .contains("content-type: text/xml; charset=utf-8\r\n"));
        assert!(seen.head.contains(
            "soapaction: \"http://verenigingsloket.vlaanderen.be/hub/publicatie/v1/ontvangpublicatie\"\r\n"
        ));
        assert_eq!(seen.body, envelope());
    }

    #[tokio::test]
    async fn classifies_refusals_faults_and_errors() {
        let cases: Vec<(String, bool)> = vec![
            // FOUT: permanent.
            (
                http(
                    "200 OK",
                    "text/xml",
                    &reply(
                        REFERTE,
                        "<Uitzonderingen><Uitzondering><Identificatie>30001</Identificatie>\
                         <Oorsprong>OVO002067</Oorsprong><Type>FOUT</Type><Diagnose>Onbekend\
                         </Diagnose></Uitzondering></Uitzonderingen>",
                    ),
                ),
                false,
            ),
            // A reply to another message: permanent.
            (
                http(
                    "200 OK",
                    "text/xml",
                    &reply("00000000-0000-0000-0000-000000000001", ""),
                ),
                false,
            ),
            // Throttled: transient.
            (
                http(
                    "500 Internal Server Error",
                    "text/xml",
                    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>\
                     <s:Fault><faultcode>s:Server</faultcode><faultstring>99995 - Te veel \
                     gelijktijdige bevragingen</faultstring></s:Fault></s:Body></s:Envelope>",
                ),
                true,
            ),
            (
                http("503 Service Unavailable", "text/html", "<h1>down</h1>"),
                true,
            ),
            (http("404 Not Found", "text/html", "<h1>no</h1>"), false),
            (
                "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
                    .to_owned(),
                false,
            ),
        ];
        for (answer, transient) in cases {
            let text = answer.clone();
            let (url, _seen) = serve(Arc::new(move |_: &str| text.clone())).await;
            let err = endpoint(&url)
                .send(envelope())
                .await
                .expect_err("not delivered");
            assert_eq!(err.is_transient(), transient, "{answer}: {err}");
            let reason = match &err {
                SoapError::Transient(r) | SoapError::Permanent(r) => r,
            };
            assert!(reason.chars().count() <= soap::MAX_REASON_CHARS, "{reason}");
        }
    }

    #[tokio::test]
    async fn unreachable_and_slow_endpoints_are_transient() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        drop(listener);
        let err = endpoint(&format!("http://{addr}/"))
            .send(envelope())
            .await
            .expect_err("refused");
        assert!(err.is_transient(), "{err}");

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream); // never answers
            }
        });
        let slow = SoapEndpoint::new(&format!("http://{addr}/"), Duration::from_millis(300), None)
            .expect("endpoint");
        let err = slow.send(envelope()).await.expect_err("timeout");
        assert!(
            matches!(&err, SoapError::Transient(r) if r.contains("timed out")),
            "{err}"
        );
    }

    #[test]
    fn the_endpoint_and_its_future_can_move_between_threads() {
        fn assert_send<T: Send + Sync>(_: &T) {}
        fn assert_send_future<T: Send>(_: &T) {}
        let endpoint = endpoint("http://127.0.0.1:1/");
        assert_send(&endpoint);
        let future = endpoint.send(String::new());
        assert_send_future(&future);
    }

    #[test]
    fn refuses_unusable_configuration() {
        let t = Duration::from_secs(1);
        assert!(SoapEndpoint::new("not a url", t, None).is_err());
        assert!(SoapEndpoint::new("ftp://example.be/", t, None).is_err());
        let garbage = ClientTls {
            certificate_pem: b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"
                .to_vec(),
            private_key_pem: b"secret-key-material".to_vec(),
            ca_pem: None,
        };
        let err =
            SoapEndpoint::new("https://example.be/", t, Some(&garbage)).expect_err("garbage PEM");
        assert!(!err.contains("secret-key-material"), "{err}");
        let pki = Pki::generate();
        let tls = pki.client_tls();
        assert!(SoapEndpoint::new("http://example.be/", t, Some(&tls)).is_err());
        assert!(SoapEndpoint::new("https://example.be/", t, Some(&tls)).is_ok());
        let no_ca = ClientTls {
            ca_pem: Some(b"no certificate here".to_vec()),
            ..tls
        };
        assert!(SoapEndpoint::new("https://example.be/", t, Some(&no_ca)).is_err());
        assert!(!format!("{no_ca:?}").contains("PRIVATE KEY"));
    }

    /// A throw-away CA, a server certificate for localhost and a client certificate.
    struct Pki {
        ca_pem: String,
        server_cert: rustls::pki_types::CertificateDer<'static>,
        server_key_der: Vec<u8>,
        client_cert_pem: String,
        client_key_pem: String,
    }

    impl Pki {
        fn generate() -> Pki {
            use rcgen::{
                BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
                KeyPair, KeyUsagePurpose,
            };
            let ca_key = KeyPair::generate().expect("key");
            let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
            ca.distinguished_name
                .push(DnType::CommonName, "municipality adapter test CA");
            ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let ca_cert = ca.self_signed(&ca_key).expect("ca");

            let server_key = KeyPair::generate().expect("key");
            let mut server = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
            server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            let server_cert = server
                .signed_by(&server_key, &ca_cert, &ca_key)
                .expect("server cert");

            let client_key = KeyPair::generate().expect("key");
            let mut client = CertificateParams::new(Vec::<String>::new()).expect("params");
            client
                .distinguished_name
                .push(DnType::CommonName, "verenigingsloket-hub");
            client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            let client_cert = client
                .signed_by(&client_key, &ca_cert, &ca_key)
                .expect("client cert");

            Pki {
                ca_pem: ca_cert.pem(),
                server_cert: server_cert.der().clone(),
                server_key_der: server_key.serialize_der(),
                client_cert_pem: client_cert.pem(),
                client_key_pem: client_key.serialize_pem(),
            }
        }

        fn client_tls(&self) -> ClientTls {
            ClientTls {
                certificate_pem: self.client_cert_pem.clone().into_bytes(),
                private_key_pem: self.client_key_pem.clone().into_bytes(),
                ca_pem: Some(self.ca_pem.clone().into_bytes()),
            }
        }

        /// A TLS server requiring a client certificate issued by this CA; sends, per
        /// accepted request, whether the client presented a certificate.
        async fn serve(&self) -> (String, mpsc::UnboundedReceiver<bool>) {
            use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).expect("ca pem"))
                .expect("root");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .expect("verifier");
            let key = PrivateKeyDer::try_from(self.server_key_der.clone()).expect("key");
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_client_cert_verifier(verifier)
                .with_single_cert(vec![self.server_cert.clone()], key)
                .expect("server config");
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let port = listener.local_addr().expect("addr").port();
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        continue;
                    };
                    let presented = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .is_some_and(|c| !c.is_empty());
                    let answer = |body: &str| {
                        let referte = soap::request_referte(body).unwrap_or_default();
                        http("200 OK", soap::CONTENT_TYPE, &reply(&referte, ""))
                    };
                    if exchange(tls, &answer).await.is_some() {
                        let _ = tx.send(presented);
                    }
                }
            });
            (
                format!("https://localhost:{port}/Publicatie-01.00/soap/WebService"),
                rx,
            )
        }
    }

    #[tokio::test]
    async fn mutual_tls_presents_the_client_certificate() {
        let pki = Pki::generate();
        let (url, mut presented) = pki.serve().await;
        let endpoint = SoapEndpoint::new(&url, Duration::from_secs(5), Some(&pki.client_tls()))
            .expect("endpoint");
        assert_eq!(endpoint.send(envelope()).await, Ok(vec![]));
        assert_eq!(presented.recv().await, Some(true));

        // A certificate from another CA is refused in the handshake: transient (the
        // operator fixes the configuration, the message waits).
        let stranger = Pki::generate();
        let wrong_client = ClientTls {
            ca_pem: Some(pki.ca_pem.clone().into_bytes()),
            ..stranger.client_tls()
        };
        let endpoint =
            SoapEndpoint::new(&url, Duration::from_secs(5), Some(&wrong_client)).expect("endpoint");
        let err = endpoint.send(envelope()).await.expect_err("refused");
        assert!(err.is_transient(), "{err}");

        // Without the back office's CA the server is not trusted.
        let untrusting = ClientTls {
            ca_pem: None,
            ..pki.client_tls()
        };
        let endpoint =
            SoapEndpoint::new(&url, Duration::from_secs(5), Some(&untrusting)).expect("endpoint");
        assert!(endpoint
            .send(envelope())
            .await
            .expect_err("untrusted")
            .is_transient());
    }
}
