//! Serving the router: the accept loop, TLS, slow-client protection,
//! bounded connections and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use mnemo::Mnemo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::config::{Config, TlsConfig};
use crate::state::{AppState, Phase, RequestStart};

/// How long in-flight requests get to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(30);

/// Why the server could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is invalid.
    #[error("config: {0}")]
    Config(String),
    /// A socket or file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The certificate or key could not be used.
    #[error("tls: {0}")]
    Tls(String),
    /// The engine failed to close (a log could not be synced, ...).
    #[error("closing the engine: {0}")]
    Engine(#[from] mnemo::Error),
}

/// A bound server, ready to [`Server::run`].
pub struct Server {
    listener: TcpListener,
    state: AppState,
    tls: Option<TlsAcceptor>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.listener.local_addr().ok())
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Checks `config`, loads the TLS certificate if any and binds the
    /// listening socket (port 0 picks a free one).
    pub async fn bind(config: Config, mnemo: Mnemo) -> Result<Server, ServerError> {
        let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
        let listen = config.listen;
        let state = AppState::new(config, mnemo).map_err(ServerError::Config)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| ServerError::Io {
                what: format!("cannot listen on {listen}"),
                source,
            })?;
        Ok(Server {
            listener,
            state,
            tls,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Whether it speaks HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The shared state (the engine, metrics, ...).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops accepting, lets the
    /// requests in flight finish (up to 30 s), ends watch streams, keeps a
    /// signed checkpoint of every open namespace whose log grew (with
    /// `[checkpoints]`), and closes the engine: every log synced, snapshots
    /// written. While serving, with `[checkpoints]`, it keeps checkpoints
    /// at the configured intervals.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let Server {
            listener,
            state,
            tls,
        } = self;
        state.metrics().mark_start();
        let opener = state.clone();
        tokio::task::spawn_blocking(move || opener.open_all());
        let keeper = state
            .keeps_checkpoints_at_intervals()
            .then(|| tokio::spawn(keep_checkpoints(state.clone())));
        let app = crate::router(state.clone());
        let limits = state.config().limits.clone();
        let header_timeout = Duration::from_millis(limits.header_timeout_ms);
        let connections = Arc::new(Semaphore::new(limits.max_connections));
        let graceful = GracefulShutdown::new();
        tracing::info!(addr = %listener.local_addr().map_err(|source| ServerError::Io {
            what: "listening socket".into(),
            source,
        })?, tls = tls.is_some(), "serving");
        tokio::pin!(shutdown);
        loop {
            // Wait for a free connection slot before accepting, so excess
            // clients queue in the kernel instead of in memory.
            let permit = tokio::select! {
                permit = Arc::clone(&connections).acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
                () = &mut shutdown => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off
                        // instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let app = app.clone();
            let tls = tls.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let _permit = permit;
                match tls {
                    None => serve_connection(stream, app, watcher, header_timeout).await,
                    Some(acceptor) => {
                        match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                            Ok(Ok(tls_stream)) => {
                                serve_connection(tls_stream, app, watcher, header_timeout).await;
                            }
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed")
                            }
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    }
                }
            });
        }
        drop(listener);
        tracing::info!("shutting down: draining requests");
        state.set_phase(Phase::Stopping);
        if tokio::time::timeout(DRAIN, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("requests still running after {DRAIN:?}; closing anyway");
        }
        // The interval keeper stops at `Stopping`; let it finish the round
        // it is in, then keep the last head of every namespace that grew.
        if let Some(keeper) = keeper
            && let Err(e) = keeper.await
        {
            tracing::warn!(error = %e, "the checkpoint keeper failed");
        }
        let closing = state.clone();
        match tokio::task::spawn_blocking(move || closing.keep_checkpoints(true)).await {
            Ok(kept) if !kept.is_empty() => {
                tracing::info!(namespaces = kept.len(), "kept signed checkpoints");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "keeping the last checkpoints failed"),
        }
        let engine = state.clone();
        let closed = tokio::task::spawn_blocking(move || engine.mnemo().close())
            .await
            .map_err(|e| ServerError::Config(format!("the closing task failed: {e}")))?;
        closed?;
        tracing::info!("stopped: logs synced, snapshots written");
        Ok(())
    }
}

/// Keeps signed checkpoints at intervals
/// ([`AppState::keep_checkpoints`], about once a second, off the async
/// workers) until the server is stopping.
async fn keep_checkpoints(state: AppState) {
    let mut tick = tokio::time::interval(crate::kept::CHECK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = state.stopping() => return,
        }
        let round = state.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || round.keep_checkpoints(false)).await {
            tracing::warn!(error = %e, "a checkpoint keeping round failed");
        }
    }
}

async fn serve_connection<I>(
    io: I,
    app: axum::Router,
    watcher: hyper_util::server::graceful::Watcher,
    header_timeout: Duration,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Stamped as hyper hands the request over (its head read), so the
    // deadline the recall pool works to counts the time the body takes.
    let service = TowerToHyperService::new(app.map_request(stamp::<hyper::body::Incoming>));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Records when the request's head arrived ([`RequestStart`]).
fn stamp<B>(mut req: axum::http::Request<B>) -> axum::http::Request<B> {
    req.extensions_mut().insert(RequestStart(Instant::now()));
    req
}

fn tls_acceptor(tls: &TlsConfig) -> Result<TlsAcceptor, ServerError> {
    let certs = read_certs(&tls.cert)?;
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| {
        ServerError::Tls(format!("{}: no usable private key: {e}", tls.key.display()))
    })?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ServerError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| ServerError::Tls(format!("{}: {e}", path.display())))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServerError::Tls(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(ServerError::Tls(format!(
            "{}: no certificate found",
            path.display()
        )));
    }
    Ok(certs)
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
