//! template.yaml read as data, and its IAM policies evaluated the way IAM does for the subset
//! the template uses: Allow and Deny statements (also under `!If`), wildcard actions and resources, and
//! `ForAllValues:StringEquals|StringLike` on `dynamodb:LeadingKeys`. Any other condition is
//! refused loudly, so a new kind of statement cannot pass unchecked.

use serde_norway::Value;

pub fn template() -> Value {
    let text = std::fs::read_to_string(crate::support::repo_dir().join("template.yaml")).expect("template.yaml");
    serde_norway::from_str(&text).expect("template.yaml parses")
}

/// `!Sub "..."`, `!Ref X`, a literal: its text, with the tag in front of intrinsic functions.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Tagged(t) => format!("{} {}", t.tag, text(&t.value)),
        Value::Sequence(items) => items.iter().map(text).collect::<Vec<_>>().join(" | "),
        other => serde_norway::to_string(other).unwrap().trim().to_owned(),
    }
}

/// A value that may be one item or a list of them, as IAM allows for Action and Resource.
/// `!If [condition, a, b]` counts as both branches: what the role may do in any configuration.
fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::Sequence(items) => items.iter().flat_map(texts).collect(),
        Value::Tagged(t) if t.tag == "If" => {
            let branches = t.value.as_sequence().expect("!If [condition, then, else]");
            branches[1..].iter().filter(|b| text(b) != "!Ref AWS::NoValue").flat_map(texts).collect()
        }
        other => vec![text(other)],
    }
}

pub fn resources(t: &Value) -> impl Iterator<Item = (String, &Value)> {
    t["Resources"].as_mapping().expect("Resources").iter().map(|(name, r)| (text(name), r))
}

pub fn resources_of_type<'a>(t: &'a Value, kind: &'a str) -> impl Iterator<Item = (String, &'a Value)> + 'a {
    resources(t).filter(move |(_, r)| r["Type"].as_str() == Some(kind))
}

/// The role resource a function runs with (`Role: !GetAtt <role>.Arn`).
pub fn role_of(t: &Value, function: &str) -> String {
    let role = text(&t["Resources"][function]["Properties"]["Role"]);
    let name = role.strip_prefix("!GetAtt ").and_then(|r| r.strip_suffix(".Arn"));
    name.unwrap_or_else(|| panic!("{function} has no role of its own (Role: !GetAtt <Role>.Arn), got {role:?}")).to_owned()
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: String,
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// `(operator, values)` of a `dynamodb:LeadingKeys` condition.
    pub leading_keys: Option<(String, Vec<String>)>,
}

/// Every statement of a role's inline policies.
pub fn statements(t: &Value, role: &str) -> Vec<Statement> {
    let props = &t["Resources"][role]["Properties"];
    assert_eq!(t["Resources"][role]["Type"].as_str(), Some("AWS::IAM::Role"), "{role} is an IAM role");
    assert!(props["ManagedPolicyArns"].is_null(), "{role}: no managed policies, only what is written here");
    let mut out = Vec::new();
    for policy in props["Policies"].as_sequence().unwrap_or_else(|| panic!("{role} has inline policies")) {
        for s in policy["PolicyDocument"]["Statement"].as_sequence().expect("Statement list").iter().flat_map(present) {
            let sid = s["Sid"].as_str().unwrap_or("").to_owned();
            let mut leading_keys = None;
            if let Some(conditions) = s["Condition"].as_mapping() {
                for (op, keys) in conditions {
                    let op = text(op);
                    for (key, values) in keys.as_mapping().expect("condition keys") {
                        assert_eq!(text(key), "dynamodb:LeadingKeys", "{role}/{sid}: the evaluator knows LeadingKeys only");
                        assert!(
                            ["ForAllValues:StringEquals", "ForAllValues:StringLike"].contains(&op.as_str()),
                            "{role}/{sid}: LeadingKeys is multivalued: ForAllValues:StringEquals or StringLike, not {op}"
                        );
                        leading_keys = Some((op.clone(), texts(values)));
                    }
                }
            }
            out.push(Statement {
                allow: s["Effect"].as_str() == Some("Allow"),
                actions: texts(&s["Action"]),
                resources: texts(&s["Resource"]),
                leading_keys,
                sid,
            });
        }
    }
    out
}

/// A statement as the role may have it: `!If [condition, statement, AWS::NoValue]` counts as
/// the statement (what the role may do in any configuration).
fn present(v: &Value) -> Vec<&Value> {
    match v {
        Value::Tagged(t) if t.tag == "If" => {
            let branches = t.value.as_sequence().expect("!If [condition, then, else]");
            branches[1..].iter().filter(|b| text(b) != "!Ref AWS::NoValue").flat_map(present).collect()
        }
        other => vec![other],
    }
}

/// One authorisation IAM makes: an action on a resource (template text such as
/// `!GetAtt Table.Arn`), with the partition keys it touches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Request {
    pub action: String,
    pub resource: String,
    pub leading_keys: Vec<String>,
}

pub const TABLE: &str = "!GetAtt Table.Arn";

pub fn index(name: &str) -> String {
    format!("!Sub ${{Table.Arn}}/index/{name}")
}

impl Request {
    pub fn on_table(action: &str, pk: &str) -> Self {
        Self { action: format!("dynamodb:{action}"), resource: TABLE.into(), leading_keys: vec![pk.into()] }
    }
}

/// IAM's wildcard match (`*` any run, `?` one character), case-insensitive for actions.
pub fn glob(pattern: &str, value: &str) -> bool {
    fn go(p: &[u8], v: &[u8]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], v) || (!v.is_empty() && go(p, &v[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &v[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &v[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), value.as_bytes())
}

fn matches(s: &Statement, r: &Request) -> bool {
    let action = s.actions.iter().any(|a| glob(&a.to_lowercase(), &r.action.to_lowercase()));
    let resource = s.resources.iter().any(|res| glob(res, &r.resource));
    // ForAllValues over no values is true: IAM's own rule (which is why such statements grant
    // only actions that always name a key, see the template checks).
    let condition = match &s.leading_keys {
        None => true,
        Some((op, allowed)) => {
            r.leading_keys.iter().all(|key| allowed.iter().any(|a| if op.ends_with("StringLike") { glob(a, key) } else { a == key }))
        }
    };
    action && resource && condition
}

/// Allowed: some Allow statement matches and no Deny does.
pub fn allowed(statements: &[Statement], r: &Request) -> bool {
    !statements.iter().any(|s| !s.allow && matches(s, r)) && statements.iter().any(|s| s.allow && matches(s, r))
}

/// Every request that `statements` would refuse.
pub fn refused<'a>(statements: &[Statement], requests: &'a [Request]) -> Vec<&'a Request> {
    requests.iter().filter(|r| !allowed(statements, r)).collect()
}

#[test]
fn the_evaluator_applies_wildcards_conditions_and_denies() {
    let s = |allow: bool, actions: &[&str], keys: Option<(&str, &[&str])>| Statement {
        sid: String::new(),
        allow,
        actions: actions.iter().map(|a| a.to_string()).collect(),
        resources: vec![TABLE.into()],
        leading_keys: keys.map(|(op, v)| (op.to_owned(), v.iter().map(|k| k.to_string()).collect())),
    };
    let conv = [s(true, &["dynamodb:PutItem"], Some(("ForAllValues:StringLike", &["CONV#*"])))];
    assert!(allowed(&conv, &Request::on_table("PutItem", "CONV#user:U1")));
    assert!(!allowed(&conv, &Request::on_table("PutItem", "DOC#meta")));
    assert!(!allowed(&conv, &Request::on_table("DeleteItem", "CONV#user:U1")), "another action");
    let exact = [s(true, &["dynamodb:Get*"], Some(("ForAllValues:StringEquals", &["WARMUP"])))];
    assert!(allowed(&exact, &Request::on_table("GetItem", "WARMUP")));
    assert!(!allowed(&exact, &Request::on_table("GetItem", "WARMUP2")));
    let denied = [s(true, &["dynamodb:*"], None), s(false, &["dynamodb:DeleteItem"], None)];
    assert!(allowed(&denied, &Request::on_table("PutItem", "X")));
    assert!(!allowed(&denied, &Request::on_table("DeleteItem", "X")));
    let index_query = Request { action: "dynamodb:Query".into(), resource: index("by_activity"), leading_keys: vec!["CONV".into()] };
    assert!(!allowed(&denied[..1], &index_query), "the table's ARN does not cover its indexes");
}
