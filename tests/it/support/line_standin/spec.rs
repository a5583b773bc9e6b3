//! The LINE stand-in's view of LINE's OpenAPI spec: the spec's OpenAPI 3.0 schemas translated
//! to JSON Schema (draft 7), each operation found by method and path, and every request checked
//! against its operation: headers, body, and the limits the spec leaves out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::request::Parts;
use axum::http::HeaderMap;
use jsonschema::{Draft, Validator};
use serde_json::{json, Map, Value};

const SCHEMA_REF: &str = "#/components/schemas/";
/// Copy of a discriminated base schema without its dispatch, for the subtypes that `allOf` it.
const BASE_SUFFIX: &str = "__base";
pub(super) const RETRY_KEY: &str = "x-line-retry-key";
/// LINE's documented limit, counted in UTF-16 code units; the spec itself has no maxLength.
const MAX_TEXT_UTF16: usize = 5000;
const MAX_VIOLATION_CHARS: usize = 300;
const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name.to_ascii_lowercase());
    value.and_then(|v| v.to_str().ok())
}

pub(super) fn messages(body: &Value) -> &[Value] {
    body["messages"].as_array().map_or(&[], Vec::as_slice)
}

fn text_length_violations(body: &Value) -> Vec<String> {
    let mut out = vec![];
    for (i, m) in messages(body).iter().enumerate() {
        let units = m["text"].as_str().map_or(0, |t| t.encode_utf16().count());
        if has_type(m, &["text", "textV2"]) && units > MAX_TEXT_UTF16 {
            let limit = MAX_TEXT_UTF16;
            out.push(format!("/messages/{i}/text: {units} UTF-16 units, over {limit}"));
        }
    }
    out
}

pub(super) fn has_type(message: &Value, types: &[&str]) -> bool {
    types.contains(&message["type"].as_str().unwrap_or_default())
}

pub(super) struct Spec {
    ops: Vec<Op>,
    /// `{"schemas": ...}` translated to JSON Schema; every compiled schema carries a copy.
    pub(super) components: Value,
}

pub(super) struct Op {
    method: String,
    pub(super) operation_id: String,
    /// `None` marks a `{param}` segment.
    segments: Vec<Option<String>>,
    /// Header parameters (names lowercased); path ones are matched by `Spec::find`.
    headers: Vec<Param>,
    takes_body: bool,
    body_required: bool,
    /// `None` also for non-JSON bodies (images, multipart), which are not checked.
    body_schema: Option<LazySchema>,
    pub(super) secured: bool,
}

struct Param {
    name: String,
    required: bool,
    schema: Option<LazySchema>,
}

/// Compiled on first use: compiling every operation up front costs seconds in a debug build.
struct LazySchema(Value, OnceLock<Result<Validator, String>>);

impl LazySchema {
    fn new(schema: &Value) -> LazySchema {
        LazySchema(schema.clone(), OnceLock::new())
    }

    /// Violations named by JSON pointer, or by `at` for the instance itself.
    fn violations(&self, components: &Value, instance: &Value, at: &str) -> Vec<String> {
        let compiled = self.1.get_or_init(|| {
            let mut root = self.0.as_object().cloned().unwrap_or_default();
            root.insert("components".into(), components.clone());
            jsonschema::options()
                .with_draft(Draft::Draft7)
                .should_validate_formats(true)
                // Draft 7 has no `uuid` format, and the spec gives it to X-Line-Retry-Key.
                .with_format("uuid", is_uuid)
                .build(&Value::Object(root))
                .map_err(|e| e.to_string())
        });
        let validator = match compiled {
            Ok(validator) => validator,
            Err(e) => return vec![format!("the stand-in cannot compile the schema: {e}")],
        };
        let mut out = vec![];
        for error in validator.iter_errors(instance) {
            let place = error.instance_path().as_str().to_owned();
            let place = if place.is_empty() { at } else { &place };
            // jsonschema quotes the whole offending instance, which can run to kilobytes.
            let text = error.to_string();
            let cut = text.char_indices().nth(MAX_VIOLATION_CHARS).map(|(i, _)| i);
            let text = cut.map_or(text.clone(), |i| format!("{}…", &text[..i]));
            out.push(format!("{place}: {text}"));
        }
        out
    }
}

impl Spec {
    /// One parse per spec file per test binary.
    pub(super) fn cached(path: &Path) -> Arc<Spec> {
        static SPECS: OnceLock<Mutex<HashMap<PathBuf, Arc<Spec>>>> = OnceLock::new();
        let specs = SPECS.get_or_init(Mutex::default);
        let mut specs = specs.lock().unwrap_or_else(|e| e.into_inner());
        let load = || Arc::new(Spec::load(path));
        specs.entry(path.to_owned()).or_insert_with(load).clone()
    }

    fn load(path: &Path) -> Spec {
        let fail = |why: String| -> ! { panic!("LINE stand-in: spec {}: {why}", path.display()) };
        let text = std::fs::read_to_string(path);
        let text = text.unwrap_or_else(|e| fail(format!("cannot read the spec: {e}")));
        let doc = serde_norway::from_str::<Value>(&text);
        let doc = doc.unwrap_or_else(|e| fail(format!("invalid YAML: {e}")));
        let schemas = doc.pointer("/components/schemas").cloned();
        let schemas = schemas.and_then(|s| serde_json::from_value(s).ok());
        let mut schemas: Map<_, _> = schemas.unwrap_or_else(|| fail("no schemas".into()));
        openapi_to_json_schema(&mut schemas);
        let paths = doc["paths"].as_object();
        let paths = paths.unwrap_or_else(|| fail("no paths".into()));
        let secured = |security: &Value| security.as_array().is_some_and(|s| !s.is_empty());
        let mut ops = vec![];
        for (template, item) in paths {
            let shared_params = item["parameters"].as_array().cloned().unwrap_or_default();
            for (method, op) in item.as_object().into_iter().flatten() {
                if !METHODS.contains(&method.as_str()) {
                    continue;
                }
                let params = op["parameters"].as_array().into_iter().flatten();
                let params = shared_params.iter().chain(params);
                let headers = params.filter(|p| p["in"] == "header").map(|p| Param {
                    name: p["name"].as_str().unwrap_or_default().to_ascii_lowercase(),
                    required: p["required"].as_bool().unwrap_or(false),
                    schema: p.get("schema").map(LazySchema::new),
                });
                let body = op.get("requestBody");
                let json = op.pointer("/requestBody/content/application~1json/schema");
                let is_param = |s: &str| s.starts_with('{') && s.ends_with('}');
                let segments = template.split('/').map(|s| (!is_param(s)).then(|| s.into()));
                ops.push(Op {
                    method: method.to_uppercase(),
                    operation_id: op["operationId"].as_str().unwrap_or_default().to_owned(),
                    segments: segments.collect(),
                    headers: headers.collect(),
                    takes_body: body.is_some(),
                    body_required: body.is_some_and(|b| b["required"] == true),
                    body_schema: json.map(LazySchema::new),
                    secured: secured(op.get("security").unwrap_or(&doc["security"])),
                });
            }
        }
        let components = json!({ "schemas": schemas });
        Spec { ops, components }
    }

    /// Literal segments win over `{param}` ones: `/richmenu/list` is not `/richmenu/{richMenuId}`.
    pub(super) fn find(&self, method: &str, path: &str) -> Option<&Op> {
        let parts: Vec<&str> = path.split('/').collect();
        let fits = |op: &&Op| {
            op.method == method
                && op.segments.len() == parts.len()
                && op.segments.iter().zip(&parts).all(|(seg, part)| match seg {
                    Some(literal) => literal == part,
                    None => !part.is_empty(),
                })
        };
        let literals = |op: &&Op| op.segments.iter().filter(|s| s.is_some()).count();
        self.ops.iter().filter(fits).max_by_key(literals)
    }
}

impl Op {
    pub(super) fn check(&self, components: &Value, parts: &Parts, raw: &[u8]) -> (Option<Value>, Vec<String>) {
        let mut out = vec![];
        for p in &self.headers {
            let here = format!("header {}", p.name);
            match (header(&parts.headers, &p.name), &p.schema) {
                (None, _) if p.required => out.push(format!("{here}: required but missing")),
                (Some(v), Some(schema)) => out.extend(schema.violations(components, &json!(v), &here)),
                _ => {}
            }
        }
        // LINE answers 400 when a retry key goes to an endpoint that does not take one.
        let takes_retry_key = self.headers.iter().any(|p| p.name == RETRY_KEY);
        if parts.headers.contains_key(RETRY_KEY) && !takes_retry_key {
            let id = &self.operation_id;
            out.push(format!("{RETRY_KEY} sent to {id}, which does not take it"));
        }
        let parsed: Option<Value> = serde_json::from_slice(raw).ok();
        if raw.is_empty() && self.body_required {
            out.push("request body is required".into());
        } else if !raw.is_empty() && !self.takes_body {
            out.push("this operation takes no request body".into());
        }
        let Some(schema) = self.body_schema.as_ref().filter(|_| !raw.is_empty()) else {
            return (parsed, out);
        };
        let content_type = header(&parts.headers, "content-type").unwrap_or_default();
        if !content_type.starts_with("application/json") {
            out.push(format!("content-type is {content_type:?}, not application/json"));
        }
        match &parsed {
            None => out.push("request body is not valid JSON".into()),
            Some(body) => {
                out.extend(schema.violations(components, body, "body"));
                out.extend(text_length_violations(body));
            }
        }
        (parsed, out)
    }
}

/// Rewrites the OpenAPI 3.0 dialect (`nullable`, `discriminator`) into JSON Schema draft 7.
fn openapi_to_json_schema(schemas: &mut Map<String, Value>) {
    schemas.values_mut().for_each(translate_nullable);
    let mut discriminated = vec![];
    for (name, schema) in schemas.iter() {
        let d = &schema["discriminator"];
        if let (Some(property), Some(mapping)) = (d["propertyName"].as_str(), d["mapping"].as_object()) {
            discriminated.push((name.clone(), property.to_owned(), mapping.clone()));
        }
    }
    // Subtypes `allOf` their base; pointing them at a dispatch-free copy of it keeps
    // base -> subtype -> base from recursing forever on the same instance.
    for (base, _, mapping) in &discriminated {
        let (base_ref, plain_ref) = (json!(format!("{SCHEMA_REF}{base}")), plain_ref(base));
        for target in mapping.values().filter_map(Value::as_str) {
            let subtype = target.strip_prefix(SCHEMA_REF).and_then(|t| schemas.get_mut(t));
            let all_of = subtype.and_then(|t| t.get_mut("allOf")?.as_array_mut());
            for part in all_of.into_iter().flatten().filter(|p| p["$ref"] == base_ref) {
                part["$ref"] = plain_ref.clone();
            }
        }
    }
    // The base alone checks little more than `type`: validate against the schema the
    // discriminator names, and refuse values the mapping does not know.
    for (base, property, mapping) in discriminated {
        let mut plain = schemas.remove(&base).unwrap_or_default();
        if let Some(obj) = plain.as_object_mut() {
            obj.remove("discriminator");
        }
        schemas.insert(format!("{base}{BASE_SUFFIX}"), plain);
        let known: Vec<&String> = mapping.keys().collect();
        let mut all_of = vec![json!({ "$ref": plain_ref(&base) }), json!({ "properties": { property.as_str(): { "enum": known } } })];
        for (value, target) in &mapping {
            let when = json!({ "properties": { property.as_str(): { "const": value } } });
            let when = json!({ "allOf": [when, { "required": [property] }] });
            all_of.push(json!({ "if": when, "then": { "$ref": target } }));
        }
        schemas.insert(base, json!({ "allOf": all_of }));
    }
}

fn is_uuid(s: &str) -> bool {
    let groups = s.split('-').map(str::len).eq([8, 4, 4, 4, 12]);
    groups && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

fn plain_ref(base: &str) -> Value {
    json!(format!("{SCHEMA_REF}{base}{BASE_SUFFIX}"))
}

fn translate_nullable(schema: &mut Value) {
    if let Some(obj) = schema.as_object_mut() {
        if obj.get("nullable") == Some(&json!(true)) {
            obj.remove("nullable");
            if let Some(t) = obj.get("type").filter(|t| t.is_string()).cloned() {
                obj.insert("type".into(), json!([t, "null"]));
            }
            if let Some(values) = obj.get_mut("enum").and_then(Value::as_array_mut) {
                values.push(Value::Null);
            }
        }
    }
    match schema {
        Value::Object(obj) => obj.values_mut().for_each(translate_nullable),
        Value::Array(items) => items.iter_mut().for_each(translate_nullable),
        _ => {}
    }
}
