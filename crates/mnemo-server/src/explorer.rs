//! The memory explorer: a small static web page over the HTTP API.
//!
//! The page (`explorer/index.html`, `explorer.js`, `explorer.css` and a
//! favicon, hand-written, no framework and no build step) is compiled into
//! the binary with `include_str!` and served under `/explorer/` without
//! authentication: it holds no data. `viz.js` and `viz.css`, served beside
//! them, hold what the page shares with the npm package's demo page
//! (`scripts/build-npm` copies both there): the DOM helpers, signal bars and
//! activation-graph drawing, and the styles both pages use (the page loads
//! `viz.css` before `explorer.css`, which overrides it). The page itself asks
//! for a token and sends it as `Authorization: Bearer` to `/v1/...`, where
//! the API checks it.
//!
//! Every response carries a strict Content-Security-Policy (only same-origin
//! scripts, styles, images and fetches; no inline script or style; no
//! framing), `cache-control: no-cache` (so a new server version is picked up
//! at once), `x-content-type-options: nosniff` and `referrer-policy:
//! no-referrer`. Unknown files under `/explorer/` answer 404 with the API's
//! JSON error body.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::error::ApiError;

/// The explorer's Content-Security-Policy: same origin only, nothing inline.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("../explorer/index.html");
const EXPLORER_JS: &str = include_str!("../explorer/explorer.js");
const VIZ_JS: &str = include_str!("../explorer/viz.js");
const VIZ_CSS: &str = include_str!("../explorer/viz.css");
const EXPLORER_CSS: &str = include_str!("../explorer/explorer.css");
const FAVICON_SVG: &str = include_str!("../explorer/favicon.svg");

/// The explorer's routes: `/explorer` (a redirect to `/explorer/`), the page
/// and its assets, and a 404 JSON error for any other path under
/// `/explorer/`. They need no state and no authentication; merge them into
/// the application router with `Router::merge`.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/explorer", get(redirect))
        .route("/explorer/", get(index))
        .route("/explorer/index.html", get(index))
        .route("/explorer/explorer.js", get(script))
        .route("/explorer/viz.js", get(viz_script))
        .route("/explorer/viz.css", get(viz_stylesheet))
        .route("/explorer/explorer.css", get(stylesheet))
        .route("/explorer/favicon.svg", get(favicon))
        .route("/explorer/{*path}", get(unknown))
}

async fn redirect() -> Response {
    let mut response = Redirect::permanent("/explorer/").into_response();
    secure(response.headers_mut());
    response
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", EXPLORER_JS)
}

async fn viz_script() -> Response {
    asset("text/javascript; charset=utf-8", VIZ_JS)
}

async fn viz_stylesheet() -> Response {
    asset("text/css; charset=utf-8", VIZ_CSS)
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", EXPLORER_CSS)
}

async fn favicon() -> Response {
    asset("image/svg+xml", FAVICON_SVG)
}

async fn unknown(uri: axum::http::Uri) -> Response {
    let mut response =
        ApiError::not_found(format!("no explorer file at {}", uri.path())).into_response();
    secure(response.headers_mut());
    response
}

/// A static file with its content type and the explorer's headers.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure(headers);
    response
}

/// The security headers every explorer response carries.
fn secure(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get_path(path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let app: Router = routes();
        let response = app
            .oneshot(
                Request::get(path)
                    .body(Body::empty())
                    .expect("request builds"),
            )
            .await
            .expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body reads")
            .to_bytes();
        (
            status,
            headers,
            String::from_utf8(bytes.to_vec()).expect("utf-8 body"),
        )
    }

    fn header_str(headers: &axum::http::HeaderMap, name: HeaderName) -> &str {
        headers
            .get(&name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .expect("ascii header")
    }

    #[tokio::test]
    async fn serves_the_page_and_its_assets() {
        for (path, content_type, needle) in [
            (
                "/explorer/",
                "text/html; charset=utf-8",
                "<script src=\"explorer.js\"",
            ),
            (
                "/explorer/index.html",
                "text/html; charset=utf-8",
                "data-testid=\"token\"",
            ),
            (
                "/explorer/explorer.js",
                "text/javascript; charset=utf-8",
                "Authorization",
            ),
            (
                "/explorer/viz.js",
                "text/javascript; charset=utf-8",
                "MnemoViz",
            ),
            ("/explorer/viz.css", "text/css; charset=utf-8", ".edge"),
            (
                "/explorer/explorer.css",
                "text/css; charset=utf-8",
                ".layout",
            ),
            ("/explorer/favicon.svg", "image/svg+xml", "<svg"),
        ] {
            let (status, headers, body) = get_path(path).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(
                header_str(&headers, header::CONTENT_TYPE),
                content_type,
                "{path}"
            );
            assert_eq!(
                header_str(&headers, header::CACHE_CONTROL),
                "no-cache",
                "{path}"
            );
            let csp = header_str(&headers, header::CONTENT_SECURITY_POLICY);
            assert!(csp.starts_with("default-src 'self'"), "{path}: {csp}");
            assert!(
                !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
                "{csp}"
            );
            assert_eq!(
                header_str(&headers, header::X_CONTENT_TYPE_OPTIONS),
                "nosniff"
            );
            assert!(body.contains(needle), "{path} lacks {needle}");
        }
    }

    #[tokio::test]
    async fn redirects_the_bare_path() {
        let (status, headers, _) = get_path("/explorer").await;
        assert!(status.is_redirection(), "{status}");
        assert_eq!(header_str(&headers, header::LOCATION), "/explorer/");
    }

    #[tokio::test]
    async fn unknown_files_are_json_404s() {
        for path in [
            "/explorer/nope.js",
            "/explorer/a/b/c",
            "/explorer/../etc/passwd",
        ] {
            let (status, headers, body) = get_path(path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            assert!(
                header_str(&headers, header::CONTENT_TYPE).starts_with("application/json"),
                "{path}"
            );
            let json: serde_json::Value = serde_json::from_str(&body).expect("json body");
            assert_eq!(json["error"]["code"], "not_found", "{path}: {body}");
            assert!(json["error"]["message"].is_string(), "{body}");
        }
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        // The CSP forbids them; the page would break silently if one crept in.
        assert!(!INDEX_HTML.contains("<script>"));
        assert!(!INDEX_HTML.contains("style="));
        assert!(!INDEX_HTML.contains("<style"));
        let lower = INDEX_HTML.to_ascii_lowercase();
        for (at, _) in lower.match_indices(" on") {
            let rest = &lower[at + 3..];
            let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            assert!(
                !rest[name_len..].starts_with('='),
                "inline event handler in index.html at byte {at}"
            );
        }
        // Data goes in as text only, and nothing is evaluated.
        for sink in [
            ".innerHTML",
            ".outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "setAttribute('style'",
        ] {
            assert!(!EXPLORER_JS.contains(sink), "explorer.js uses {sink}");
            assert!(!VIZ_JS.contains(sink), "viz.js uses {sink}");
        }
        // No network fetches beyond the same origin.
        for text in [INDEX_HTML, EXPLORER_JS, VIZ_JS, VIZ_CSS, EXPLORER_CSS] {
            assert!(!text.contains("http://") || text.contains("http://www.w3.org/2000/svg"));
            assert!(!text.contains("https://"));
        }
    }
}
