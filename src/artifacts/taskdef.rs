//! `taskdef.json`: the task definition template the `CodeDeployToECS` action registers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use typed_builder::TypedBuilder;

use super::ArtifactError;

/// Keys DescribeTaskDefinition returns inside `taskDefinition` that RegisterTaskDefinition
/// refuses ("Unexpected key ... found in params"); the template never contains them.
///
/// They are the members of the SDK's `TaskDefinition` that `RegisterTaskDefinitionInput` lacks.
pub const DESCRIBE_ONLY_KEYS: [&str; 9] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

/// How many images one `CodeDeployToECS` action can substitute (`Image1..Image4`).
pub const MAX_IMAGES: usize = 4;

/// Tag key prefix reserved by AWS; RegisterTaskDefinition refuses tags that use it.
const RESERVED_TAG_PREFIX: &str = "aws:";

/// How [`TaskDefTemplate::from_describe_json`] shapes the template.
///
/// ```
/// use ecs_bluegreen::artifacts::TaskDefOptions;
/// let opts = TaskDefOptions::builder()
///     .load_balanced_container("web")
///     .substitution("prod", "staging")
///     .build();
/// assert!(!opts.include_tags);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
#[builder(doc, mutators(
    /// Replaces `from` with `to` in every string value (see [`TaskDefOptions::substitutions`]).
    pub fn substitution(&mut self, from: impl Into<String>, to: impl Into<String>) {
        self.substitutions.insert(from.into(), to.into());
    }
    /// Adds a container whose image becomes a placeholder (see [`TaskDefOptions::image_containers`]).
    pub fn image_container(&mut self, name: impl Into<String>) {
        self.image_containers.push(name.into());
    }
))]
pub struct TaskDefOptions {
    /// Containers whose image the pipeline builds, by their names in the live task definition
    /// (before substitutions). Their images become
    /// `<IMAGE1_NAME>`, `<IMAGE2_NAME>`, ... numbered in the task definition's container order
    /// (at most [`MAX_IMAGES`]). Other containers keep their image as it is (sidecars with a
    /// fixed image). Empty (the default): only the load-balanced container, or the only
    /// container when there is one.
    #[builder(via_mutators)]
    pub image_containers: Vec<String>,
    /// The container behind the load balancer (the appspec's `ContainerName`), by its live
    /// name: it must exist, and it gets `<IMAGE1_NAME>` when `image_containers` is empty.
    #[builder(default, setter(strip_option, into))]
    pub load_balanced_container: Option<String>,
    /// Write the task definition's tags into the template (`tags`), so each revision the
    /// pipeline registers carries them. Default: no; they are available from
    /// [`TaskDefTemplate::tags`] to be kept elsewhere. Never written when there are none
    /// (RegisterTaskDefinition refuses an empty list: "Tags can not be empty").
    #[builder(default)]
    pub include_tags: bool,
    /// Literal text replacements applied to every string value (never to keys), e.g.
    /// `prod` → `staging` to make a staging template from the production one. Matching is
    /// case-sensitive and respects word boundaries: a text that starts (ends) with an ASCII
    /// letter or digit is not replaced where a letter or digit precedes (follows) it, so
    /// `prod` changes `/ecs/web-prod` and `prod/db` but not `production`. At each position
    /// the longest matching text wins and the result is not scanned again, so replacements
    /// never chain. Applied before the image placeholders, which they
    /// therefore cannot alter. Secrets stay references: a `valueFrom` ARN may be rewritten to
    /// another secret's ARN, but no secret is ever read.
    #[builder(via_mutators)]
    pub substitutions: BTreeMap<String, String>,
}

/// One image placeholder of the template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagePlaceholder {
    /// 1-based number: `1` for `<IMAGE1_NAME>`.
    pub index: usize,
    /// Container whose image it replaces, named as in the template (after substitutions).
    pub container: String,
    /// The image the live task definition uses (after substitutions); a good example value
    /// for `imageDetail.json`.
    pub original_image: Option<String>,
}

impl ImagePlaceholder {
    /// The token the pipeline's `ImageNContainerName` names, e.g. `IMAGE1_NAME`.
    pub fn token(&self) -> String {
        format!("IMAGE{}_NAME", self.index)
    }
    /// The text written as the container's image, e.g. `<IMAGE1_NAME>`.
    pub fn placeholder(&self) -> String {
        format!("<IMAGE{}_NAME>", self.index)
    }
}

/// A container of the template, as a typed summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateContainer {
    /// Container name.
    pub name: String,
    /// Image as written in the template: a placeholder or a literal image.
    pub image: Option<String>,
    /// `containerPort` of each port mapping.
    pub container_ports: Vec<i64>,
}

/// A `taskdef.json` template: the live task definition in RegisterTaskDefinition's shape,
/// with image placeholders.
///
/// It keeps the raw JSON AWS returned (minus [`DESCRIBE_ONLY_KEYS`] and `null`s), so every
/// field survives, including ones newer than this crate.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDefTemplate {
    document: Map<String, Value>,
    placeholders: Vec<ImagePlaceholder>,
    tags: Vec<(String, String)>,
}

impl TaskDefTemplate {
    /// Builds the template from the raw JSON body of a DescribeTaskDefinition response
    /// (`{"taskDefinition": {...}, "tags": [...]}`; `tags` is there when the call asked for
    /// `include=TAGS`).
    ///
    /// ```
    /// use ecs_bluegreen::artifacts::{TaskDefOptions, TaskDefTemplate};
    /// let describe = serde_json::json!({
    ///     "taskDefinition": {
    ///         "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
    ///         "family": "web", "revision": 3, "status": "ACTIVE",
    ///         "containerDefinitions": [{"name": "web", "image": "nginx:1.27"}]
    ///     },
    ///     "tags": []
    /// });
    /// let t = TaskDefTemplate::from_describe_json(&describe, &TaskDefOptions::default())?;
    /// assert_eq!(t.as_json()["containerDefinitions"][0]["image"], "<IMAGE1_NAME>");
    /// assert!(t.as_json().get("revision").is_none());
    /// # Ok::<(), ecs_bluegreen::artifacts::ArtifactError>(())
    /// ```
    ///
    /// # Errors
    /// [`ArtifactError::TaskDefinition`] when the JSON has no `taskDefinition` object or no
    /// containers, a named container is missing or named twice, more than [`MAX_IMAGES`]
    /// images are asked for, the image container cannot be chosen, or a substitution key is
    /// empty.
    pub fn from_describe_json(value: &Value, opts: &TaskDefOptions) -> Result<Self, ArtifactError> {
        let td = value
            .get("taskDefinition")
            .and_then(Value::as_object)
            .ok_or_else(|| tderr("(response)", "the JSON has no \"taskDefinition\" object"))?;
        let family = td.get("family").and_then(Value::as_str).unwrap_or("(no family)").to_owned();

        let mut document = td.clone();
        for key in DESCRIBE_ONLY_KEYS {
            document.remove(key);
        }
        // `tags` belongs to the response's top level; never trust a copy inside.
        document.remove("tags");
        let mut document = match drop_nulls(Value::Object(document)) {
            Value::Object(m) => m,
            _ => unreachable!("an object stays an object"),
        };

        let mut tags = read_tags(value.get("tags"));

        if opts.substitutions.keys().any(String::is_empty) {
            return Err(tderr(&family, "a substitution has an empty text to replace"));
        }

        let names: Vec<String> = document
            .get("containerDefinitions")
            .and_then(Value::as_array)
            .map(|defs| {
                defs.iter().map(|c| c.get("name").and_then(Value::as_str).unwrap_or_default().to_owned()).collect()
            })
            .unwrap_or_default();
        if names.is_empty() {
            return Err(tderr(&family, "it has no containerDefinitions"));
        }
        if let Some(lb) = &opts.load_balanced_container
            && !names.contains(lb)
        {
            return Err(tderr(
                &family,
                format!("the load-balanced container {lb:?} is not in it (containers: {names:?})"),
            ));
        }
        let wanted: Vec<String> = if !opts.image_containers.is_empty() {
            opts.image_containers.clone()
        } else if let Some(lb) = &opts.load_balanced_container {
            vec![lb.clone()]
        } else if let [only] = names.as_slice() {
            vec![only.clone()]
        } else {
            return Err(tderr(
                &family,
                format!(
                    "it has {} containers; name the load-balanced container or the containers whose image the pipeline builds",
                    names.len()
                ),
            ));
        };
        let mut seen = BTreeSet::new();
        for w in &wanted {
            if !seen.insert(w.as_str()) {
                return Err(tderr(&family, format!("container {w:?} is named twice for an image placeholder")));
            }
            if !names.contains(w) {
                return Err(tderr(
                    &family,
                    format!("container {w:?} named for an image placeholder is not in it (containers: {names:?})"),
                ));
            }
        }
        if wanted.len() > MAX_IMAGES {
            return Err(tderr(
                &family,
                format!(
                    "{} images are asked for; a CodeDeployToECS action substitutes at most {MAX_IMAGES}",
                    wanted.len()
                ),
            ));
        }

        // Containers are chosen by their live names, before substitutions rename them.
        let chosen: Vec<bool> = names.iter().map(|n| wanted.contains(n)).collect();

        if !opts.substitutions.is_empty() {
            let subst = Substitutions::new(&opts.substitutions);
            for v in document.values_mut() {
                subst.apply_value(v);
            }
            for (k, v) in &mut tags {
                *k = subst.apply(k);
                *v = subst.apply(v);
            }
        }

        let mut placeholders = Vec::new();
        if let Some(Value::Array(defs)) = document.get_mut("containerDefinitions") {
            for (def, _) in defs.iter_mut().zip(&chosen).filter(|(_, c)| **c) {
                let Some(def) = def.as_object_mut() else { continue };
                let name = def.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let p = ImagePlaceholder {
                    index: placeholders.len() + 1,
                    container: name,
                    original_image: def.get("image").and_then(Value::as_str).map(str::to_owned),
                };
                def.insert("image".to_owned(), Value::String(p.placeholder()));
                placeholders.push(p);
            }
        }

        let writable: Vec<Value> = tags
            .iter()
            .filter(|(k, _)| !k.starts_with(RESERVED_TAG_PREFIX))
            .map(|(k, v)| serde_json::json!({ "key": k, "value": v }))
            .collect();
        if opts.include_tags && !writable.is_empty() {
            document.insert("tags".to_owned(), Value::Array(writable));
        }

        Ok(Self { document, placeholders, tags })
    }

    /// The template as JSON (RegisterTaskDefinition's input shape).
    pub fn as_json(&self) -> &Map<String, Value> {
        &self.document
    }

    /// The template as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.document.clone())
    }

    /// The task definition family.
    pub fn family(&self) -> Option<&str> {
        self.document.get("family").and_then(Value::as_str)
    }

    /// The image placeholders, in container order (`IMAGE1` first).
    pub fn placeholders(&self) -> &[ImagePlaceholder] {
        &self.placeholders
    }

    /// The containers, in order, as written in the template.
    pub fn containers(&self) -> Vec<TemplateContainer> {
        containers(&self.document)
            .iter()
            .map(|c| TemplateContainer {
                name: c.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                image: c.get("image").and_then(Value::as_str).map(str::to_owned),
                container_ports: c
                    .get("portMappings")
                    .and_then(Value::as_array)
                    .map(|pms| pms.iter().filter_map(|pm| pm.get("containerPort")?.as_i64()).collect())
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// The task definition's tags as DescribeTaskDefinition returned them (after
    /// substitutions), whether or not the template includes them. Tags with AWS's reserved
    /// `aws:` prefix are listed here but never written into the template.
    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }

    /// Pretty-printed JSON with a trailing newline: the content of `taskdef.json`.
    pub fn to_json_pretty(&self) -> String {
        let mut s = serde_json::to_string_pretty(&self.document).expect("a JSON map always serialises");
        s.push('\n');
        s
    }
}

impl fmt::Display for TaskDefTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_pretty())
    }
}

fn tderr(family: &str, reason: impl Into<String>) -> ArtifactError {
    ArtifactError::TaskDefinition { family: family.to_owned(), reason: reason.into() }
}

fn containers(doc: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    doc.get("containerDefinitions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default()
}

/// `[{"key": k, "value": v}, ...]` → pairs; entries without a key are skipped.
fn read_tags(tags: Option<&Value>) -> Vec<(String, String)> {
    tags.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| {
                    let k = t.get("key")?.as_str()?;
                    let v = t.get("value").and_then(Value::as_str).unwrap_or_default();
                    Some((k.to_owned(), v.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Removes `null` members of objects, recursively (AWS CLI input validation refuses `null`).
fn drop_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, drop_nulls(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

/// Whether `from`, found at byte `at` of `s`, is not glued to letters or digits: a key that
/// starts (ends) with an ASCII letter or digit must not follow (precede) one.
fn on_boundaries(s: &str, at: usize, from: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric();
    let starts_word = from.chars().next().is_some_and(word);
    let ends_word = from.chars().next_back().is_some_and(word);
    let before_ok = !starts_word || !s[..at].chars().next_back().is_some_and(word);
    let after_ok = !ends_word || !s[at + from.len()..].chars().next().is_some_and(word);
    before_ok && after_ok
}

/// Single-pass, longest-match literal replacement on word boundaries.
struct Substitutions<'a> {
    /// Longest first.
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Substitutions<'a> {
    fn new(map: &'a BTreeMap<String, String>) -> Self {
        let mut pairs: Vec<(&str, &str)> = map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
        Self { pairs }
    }

    fn apply(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        'scan: while i < s.len() {
            let rest = &s[i..];
            for (from, to) in &self.pairs {
                if rest.starts_with(from) && on_boundaries(s, i, from) {
                    out.push_str(to);
                    i += from.len();
                    continue 'scan;
                }
            }
            let c = rest.chars().next().expect("i is on a char boundary below len");
            out.push(c);
            i += c.len_utf8();
        }
        out
    }

    fn apply_value(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.apply(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.apply_value(x)),
            Value::Object(m) => m.values_mut().for_each(|x| self.apply_value(x)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn describe() -> Value {
        json!({
            "taskDefinition": {
                "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
                "family": "web",
                "revision": 7,
                "status": "ACTIVE",
                "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.ecr-auth"}],
                "compatibilities": ["EC2", "FARGATE"],
                "registeredAt": 1_700_000_000.123,
                "registeredBy": "arn:aws:iam::123456789012:user/ci",
                "deregisteredAt": null,
                "deleteRequestedAt": 1_700_000_001.0,
                "requiresCompatibilities": ["EC2"],
                "networkMode": "bridge",
                "pidMode": null,
                "containerDefinitions": [
                    {"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable", "essential": true},
                    {"name": "web", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:prod-1",
                     "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}],
                     "environment": [{"name": "APP_ENV", "value": "prod"}, {"name": "TIER", "value": "production"}],
                     "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db"}]},
                    {"name": "worker", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/worker:prod-1"}
                ],
                "someFutureField": {"kept": true}
            },
            "tags": [{"key": "env", "value": "prod"}, {"key": "aws:cloudformation:stack-name", "value": "s"}]
        })
    }

    #[test]
    fn strips_describe_only_keys_and_nulls_and_keeps_unknown_fields() {
        let t = TaskDefTemplate::from_describe_json(
            &describe(),
            &TaskDefOptions::builder().load_balanced_container("web").build(),
        )
        .unwrap();
        for k in DESCRIBE_ONLY_KEYS {
            assert!(!t.as_json().contains_key(k), "{k} survived");
        }
        assert!(!t.as_json().contains_key("pidMode"), "null member survived");
        assert_eq!(t.as_json()["someFutureField"], json!({"kept": true}));
        assert!(!t.as_json().contains_key("tags"), "tags are left out by default");
        assert_eq!(t.tags()[0], ("env".to_owned(), "prod".to_owned()));
    }

    #[test]
    fn load_balanced_container_gets_image1_and_others_keep_their_image() {
        let t = TaskDefTemplate::from_describe_json(
            &describe(),
            &TaskDefOptions::builder().load_balanced_container("web").build(),
        )
        .unwrap();
        let c = t.containers();
        assert_eq!(c[0].image.as_deref(), Some("public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"));
        assert_eq!(c[1].image.as_deref(), Some("<IMAGE1_NAME>"));
        assert_eq!(c[1].container_ports, vec![8080]);
        assert_eq!(c[2].image.as_deref(), Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/worker:prod-1"));
        assert_eq!(t.placeholders().len(), 1);
        assert_eq!(t.placeholders()[0].token(), "IMAGE1_NAME");
        assert_eq!(
            t.placeholders()[0].original_image.as_deref(),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:prod-1")
        );
    }

    #[test]
    fn image_containers_are_numbered_in_container_order() {
        let opts = TaskDefOptions::builder()
            .image_container("worker")
            .image_container("web")
            .load_balanced_container("web")
            .build();
        let t = TaskDefTemplate::from_describe_json(&describe(), &opts).unwrap();
        let defs = t.as_json()["containerDefinitions"].as_array().unwrap();
        assert_eq!(defs[1]["image"], "<IMAGE1_NAME>");
        assert_eq!(defs[2]["image"], "<IMAGE2_NAME>");
        assert_eq!(
            t.placeholders().iter().map(|p| (p.index, p.container.as_str())).collect::<Vec<_>>(),
            vec![(1, "web"), (2, "worker")]
        );
    }

    #[test]
    fn refuses_what_the_pipeline_could_not_deploy() {
        let err =
            |opts: TaskDefOptions| TaskDefTemplate::from_describe_json(&describe(), &opts).unwrap_err().to_string();
        assert!(err(TaskDefOptions::default()).contains("it has 3 containers"));
        assert!(err(TaskDefOptions::builder().image_container("nope").build()).contains("\"nope\""));
        assert!(err(TaskDefOptions::builder().load_balanced_container("api").build()).contains("\"api\""));
        assert!(err(TaskDefOptions::builder().image_container("web").image_container("web").build()).contains("twice"));
        assert!(err(TaskDefOptions::builder().substitution("", "x").build()).contains("empty"));
        let five = json!({"taskDefinition": {"family": "f", "containerDefinitions":
            (1..=5).map(|i| json!({"name": format!("c{i}"), "image": "i"})).collect::<Vec<_>>()}});
        let opts = TaskDefOptions { image_containers: (1..=5).map(|i| format!("c{i}")).collect(), ..Default::default() };
        let e = TaskDefTemplate::from_describe_json(&five, &opts).unwrap_err().to_string();
        assert!(e.contains("at most 4"), "{e}");
        let e = TaskDefTemplate::from_describe_json(&json!({"family": "x"}), &TaskDefOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no \"taskDefinition\""), "{e}");
    }

    /// Property: whatever else the describe body holds, no describe-only key, `null` or
    /// secret value reaches the template, and secrets keep their exact `valueFrom`.
    #[test]
    fn no_describe_only_key_or_null_survives_random_bodies() {
        // xorshift64: deterministic, no dependency.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let extra = ["cpu", "memory", "pidMode", "ipcMode", "volumes", "runtimePlatform", "enableFaultInjection"];
        for _ in 0..500 {
            let mut td = Map::new();
            td.insert("family".into(), json!(format!("f{}", next(1000))));
            for k in DESCRIBE_ONLY_KEYS.iter().chain(&extra) {
                match next(4) {
                    0 => {}
                    1 => _ = td.insert((*k).into(), Value::Null),
                    2 => _ = td.insert((*k).into(), json!("x")),
                    _ => _ = td.insert((*k).into(), json!({"nested": null, "status": "kept"})),
                }
            }
            let n = 1 + next(4) as usize;
            let defs: Vec<Value> = (0..n)
                .map(|i| {
                    json!({"name": format!("c{i}"), "image": format!("img{i}"), "user": null,
                           "secrets": [{"name": "S", "valueFrom": format!("arn:aws:ssm:::parameter/s{i}")}]})
                })
                .collect();
            td.insert("containerDefinitions".into(), Value::Array(defs));
            let body = json!({"taskDefinition": td, "tags": if next(2) == 0 { json!([]) } else { json!([{"key": "k", "value": "v"}]) }});
            let opts = TaskDefOptions {
                image_containers: (0..n).filter(|_| next(2) == 0).map(|i| format!("c{i}")).take(MAX_IMAGES).collect(),
                load_balanced_container: Some("c0".into()),
                include_tags: next(2) == 0,
                substitutions: BTreeMap::new(),
            };
            let t = TaskDefTemplate::from_describe_json(&body, &opts).unwrap();
            let out: Value = serde_json::from_str(&t.to_json_pretty()).unwrap();
            for k in DESCRIBE_ONLY_KEYS {
                assert!(out.get(k).is_none(), "{k} survived in {out}");
            }
            let text = out.to_string();
            assert!(!text.contains("null"), "a null survived: {text}");
            for (i, c) in out["containerDefinitions"].as_array().unwrap().iter().enumerate() {
                assert_eq!(c["secrets"], json!([{"name": "S", "valueFrom": format!("arn:aws:ssm:::parameter/s{i}")}]));
            }
            if let Some(tags) = out.get("tags") {
                assert!(opts.include_tags && !tags.as_array().unwrap().is_empty());
            }
        }
    }

    #[test]
    fn tags_are_written_only_when_asked_never_empty_never_reserved() {
        let opts = TaskDefOptions::builder().load_balanced_container("web").include_tags(true).build();
        let t = TaskDefTemplate::from_describe_json(&describe(), &opts).unwrap();
        assert_eq!(t.as_json()["tags"], json!([{"key": "env", "value": "prod"}]));

        let mut d = describe();
        d["tags"] = json!([]);
        let t = TaskDefTemplate::from_describe_json(&d, &opts).unwrap();
        assert!(!t.as_json().contains_key("tags"), "empty tags must not be written");
        d["tags"] = json!([{"key": "aws:cloudformation:stack-id", "value": "x"}]);
        let t = TaskDefTemplate::from_describe_json(&d, &opts).unwrap();
        assert!(!t.as_json().contains_key("tags"), "only reserved tags: nothing writable");
    }

    #[test]
    fn substitutions_are_single_pass_longest_match_and_spare_placeholders() {
        let opts = TaskDefOptions::builder()
            .load_balanced_container("web")
            .include_tags(true)
            .substitution("prod", "staging")
            .substitution("prod-1", "staging-9")
            .substitution("staging", "NEVER-CHAINED")
            .substitution("IMAGE1", "broken")
            .build();
        let t = TaskDefTemplate::from_describe_json(&describe(), &opts).unwrap();
        let web = &t.as_json()["containerDefinitions"][1];
        assert_eq!(web["image"], "<IMAGE1_NAME>");
        assert_eq!(
            t.placeholders()[0].original_image.as_deref(),
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:staging-9")
        );
        assert_eq!(web["environment"][0]["value"], "staging");
        assert_eq!(web["environment"][1]["value"], "production", "no match inside a word");
        assert_eq!(web["secrets"][0]["valueFrom"], "arn:aws:ssm:us-east-1:123456789012:parameter/staging/db");
        assert!(web["secrets"][0].get("value").is_none());
        assert_eq!(t.as_json()["tags"], json!([{"key": "env", "value": "staging"}]));
        assert_eq!(
            t.as_json()["containerDefinitions"][2]["image"],
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/worker:staging-9"
        );
    }
}
