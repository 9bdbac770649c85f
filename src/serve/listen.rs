//! The accept loop of `halt-llm serve`: hyper's HTTP/1 server under the axum router, with the
//! limits a server facing slow or hostile clients needs (axum's own `serve` sets none):
//!
//! - a client has [`HEADER_TIMEOUT`] to send a request's headers (and an idle keep-alive
//!   connection as long to start its next request), after which the connection is closed;
//! - at most `max_connections` connections are open at once; further clients wait in the
//!   kernel's accept queue until one closes (so a flood of idle connections cannot exhaust
//!   the process's file descriptors);
//! - the body's own deadline ([`BODY_TIMEOUT`]) is applied where the body is read
//!   (`routes`), with 408 when it passes.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Time a client has to send a request's headers, in seconds' worth of [`Duration`].
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a client has to send a request's body once its headers are in.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts connections on `listener` forever and serves `router` on each (see the module
/// docs). An accept error (e.g. out of file descriptors) is reported on standard error and
/// retried after a short pause; it never ends the loop.
pub(super) async fn accept_loop(listener: TcpListener, router: Router, max_connections: usize) {
    let permits = Arc::new(Semaphore::new(max_connections));
    loop {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("serve: accepting a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let router = router.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| router.clone().oneshot(req));
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            // A connection that ends badly (reset, timeout) concerns that client only.
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}
