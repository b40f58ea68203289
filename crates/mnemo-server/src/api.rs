//! The route table: each route is added together with its OpenAPI
//! operation, so the document served at `/v1/openapi.json` lists exactly
//! the routes the server answers (a test walks the document to check).
//!
//! Route modules (`routes/*.rs`) each expose `routes(api: Api) -> Api`
//! and call [`Api::op`] once per operation.

use std::collections::BTreeMap;

use axum::Router;
use axum::http::Method;
use axum::routing::MethodRouter;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value as Json, json};

use crate::AppState;
use crate::auth::Right;
use crate::error::ErrorBody;

type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// What the document says of one operation.
#[derive(Clone)]
pub(crate) struct Doc {
    id: &'static str,
    summary: &'static str,
    tag: &'static str,
    right: Option<Right>,
    body: Option<SchemaFn>,
    query: Option<SchemaFn>,
    ok_status: u16,
    also_ok: Option<u16>,
    ok: Option<SchemaFn>,
    ok_type: &'static str,
}

impl Doc {
    /// An operation named `id` (the OpenAPI `operationId`) in group `tag`,
    /// needing `right` on the namespace (or on every namespace for routes
    /// without one); answers 200 with no schema until [`Self::ok`].
    pub(crate) fn new(
        id: &'static str,
        tag: &'static str,
        right: Option<Right>,
        summary: &'static str,
    ) -> Self {
        Self {
            id,
            summary,
            tag,
            right,
            body: None,
            query: None,
            ok_status: 200,
            also_ok: None,
            ok: None,
            ok_type: "application/json",
        }
    }

    /// Takes a JSON body of type `T`.
    pub(crate) fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some(|g| g.subschema_for::<T>());
        self
    }

    /// Takes query-string parameters: the fields of `T`.
    pub(crate) fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(|g| g.root_schema_for::<T>());
        self
    }

    /// Answers `status` with a JSON body of type `T`.
    pub(crate) fn ok<T: JsonSchema>(mut self, status: u16) -> Self {
        self.ok_status = status;
        self.ok = Some(|g| g.subschema_for::<T>());
        self
    }

    /// Also answers `status` with the same body (e.g. 200 beside 201 when
    /// the thing to create already existed).
    pub(crate) fn also(mut self, status: u16) -> Self {
        self.also_ok = Some(status);
        self
    }

    /// Answers 200 with a body of this content type (text, HTML, an event
    /// stream).
    pub(crate) fn ok_raw(mut self, content_type: &'static str) -> Self {
        self.ok_type = content_type;
        self
    }
}

/// The router being built and the operations documented so far.
pub(crate) struct Api {
    router: Router<AppState>,
    public: Router<AppState>,
    paths: BTreeMap<String, Map<String, Json>>,
    generator: SchemaGenerator,
}

impl Api {
    /// An empty table.
    pub(crate) fn new() -> Self {
        let settings = SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        });
        Self {
            router: Router::new(),
            public: Router::new(),
            paths: BTreeMap::new(),
            generator: SchemaGenerator::new(settings),
        }
    }

    /// Adds `handler` for `method` on `path` (axum syntax, `{name}` for
    /// parameters) and documents it. Routes whose doc names a right go
    /// behind the token check; the others are public.
    pub(crate) fn op(
        mut self,
        method: Method,
        path: &'static str,
        handler: MethodRouter<AppState>,
        doc: Doc,
    ) -> Self {
        let operation = self.operation(path, &doc);
        let entry = self.paths.entry(path.to_owned()).or_default();
        let previous = entry.insert(method.as_str().to_ascii_lowercase(), operation);
        debug_assert!(previous.is_none(), "{method} {path} is routed twice");
        if doc.right.is_some() {
            self.router = self.router.route(path, handler);
        } else {
            self.public = self.public.route(path, handler);
        }
        self
    }

    fn operation(&mut self, path: &str, doc: &Doc) -> Json {
        let mut op = Map::new();
        op.insert("operationId".into(), json!(doc.id));
        op.insert("summary".into(), json!(doc.summary));
        op.insert("tags".into(), json!([doc.tag]));
        let mut params: Vec<Json> = path_params(path)
            .into_iter()
            .map(|name| {
                let schema = if name == "id" {
                    json!({"type": "integer", "format": "uint64", "minimum": 0})
                } else {
                    json!({
                        "type": "string",
                        "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$"
                    })
                };
                json!({"name": name, "in": "path", "required": true, "schema": schema})
            })
            .collect();
        if let Some(query) = doc.query {
            let schema = query(&mut self.generator).to_value();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = schema["properties"].as_object() {
                for (name, prop) in props {
                    let mut prop = prop.clone();
                    let description = prop.as_object_mut().and_then(|p| p.remove("description"));
                    let mut param = json!({
                        "name": name,
                        "in": "query",
                        "required": required.contains(&name.as_str()),
                        "schema": prop,
                    });
                    if let Some(d) = description {
                        param["description"] = d;
                    }
                    params.push(param);
                }
            }
        }
        if !params.is_empty() {
            op.insert("parameters".into(), Json::Array(params));
        }
        if let Some(body) = doc.body {
            let schema = body(&mut self.generator).to_value();
            op.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": schema}}}),
            );
        }
        let ok_content = match doc.ok {
            Some(ok) => {
                let schema = ok(&mut self.generator).to_value();
                json!({doc.ok_type: {"schema": schema}})
            }
            None => json!({doc.ok_type: {}}),
        };
        let error = self.generator.subschema_for::<ErrorBody>().to_value();
        let error_content = json!({"application/json": {"schema": error}});
        let mut responses = Map::new();
        for status in std::iter::once(doc.ok_status).chain(doc.also_ok) {
            responses.insert(
                status.to_string(),
                json!({"description": "Success.", "content": ok_content.clone()}),
            );
        }
        responses.insert(
            "default".into(),
            json!({
                "description": "An error: {\"error\": {\"code\", \"message\"}}.",
                "content": error_content
            }),
        );
        op.insert("responses".into(), Json::Object(responses));
        if let Some(right) = doc.right {
            op.insert("security".into(), json!([{"bearer": []}]));
            op.insert("x-mnemo-right".into(), json!(right.as_str()));
        }
        Json::Object(op)
    }

    /// The routers (behind the token check, public) and the OpenAPI
    /// document.
    pub(crate) fn finish(mut self) -> (Router<AppState>, Router<AppState>, Json) {
        let schemas = self.generator.take_definitions(true);
        let doc = json!({
            "openapi": "3.1.0",
            "info": {
                "title": "mnemo",
                "version": env!("CARGO_PKG_VERSION"),
                "description": "The mnemo memory engine over HTTP: namespaces of memories, \
                    recall (vector, keywords and spreading activation), links, facts with \
                    contradiction detection, learned patterns, Merkle proofs. Every route \
                    under /v1 but this document needs `Authorization: Bearer <token>`.",
            },
            "paths": self.paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"}
                }
            }
        });
        (self.router, self.public, doc)
    }
}

/// The `{name}` parameters of an axum path.
fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_found() {
        assert_eq!(
            path_params("/v1/namespaces/{ns}/memories/{id}"),
            vec!["ns", "id"]
        );
        assert!(path_params("/healthz").is_empty());
    }
}
