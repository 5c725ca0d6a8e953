//! Terraform resource addresses, and the `--address-map` file that maps the hand-off's
//! placeholder addresses to the user's own.
//!
//! The file is a flat table of placeholder address → the user's address, JSON (a file ending in
//! `.json`) or TOML (anything else); keys with dots are quoted in TOML:
//!
//! ```toml
//! "aws_ecs_service.web" = "module.web.aws_ecs_service.this"
//! "aws_lb_target_group.web_tg_1_green" = "aws_lb_target_group.green"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::spec::ValidationError;

/// The instance key of a resource or module (`[0]`, `["eu"]`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum InstanceKey {
    /// `count` index.
    Index(u64),
    /// `for_each` key.
    Key(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Index(i) => write!(f, "[{i}]"),
            InstanceKey::Key(k) => write!(f, "[{}]", serde_json::Value::String(k.clone())),
        }
    }
}

/// A resource address: `[module.NAME[KEY].]...TYPE.NAME[KEY]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Address {
    modules: Vec<(String, Option<InstanceKey>)>,
    r#type: String,
    name: String,
    key: Option<InstanceKey>,
}

impl Address {
    /// A root-module address `TYPE.NAME`.
    pub fn resource(r#type: impl Into<String>, name: impl Into<String>) -> Self {
        Self { modules: Vec::new(), r#type: r#type.into(), name: name.into(), key: None }
    }

    /// Parses an address as Terraform writes it (`module.app.aws_ecs_service.this`,
    /// `aws_lb_target_group.tg["green"]`).
    ///
    /// # Errors
    /// What is wrong with `text`, when it is not a resource address.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut steps: Vec<(String, Option<InstanceKey>)> = Vec::new();
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err("is empty".into());
        }
        loop {
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
            let ident = &rest[..end];
            if !ident.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
                return Err(format!("has no name where one is expected, at {rest:?}"));
            }
            rest = &rest[end..];
            let key = if let Some(inner) = rest.strip_prefix('[') {
                let close = inner.find(']').ok_or("has a [ without ]")?;
                let raw = &inner[..close];
                rest = &inner[close + 1..];
                Some(if let Ok(i) = raw.parse::<u64>() {
                    InstanceKey::Index(i)
                } else {
                    match serde_json::from_str::<String>(raw) {
                        Ok(s) => InstanceKey::Key(s),
                        Err(_) => return Err(format!("has an instance key {raw:?} that is neither a number nor a quoted string")),
                    }
                })
            } else {
                None
            };
            steps.push((ident.to_owned(), key));
            if rest.is_empty() {
                break;
            }
            rest = rest.strip_prefix('.').ok_or_else(|| format!("has {rest:?} where a . is expected"))?;
        }
        // module.NAME pairs, then TYPE.NAME.
        let mut modules = Vec::new();
        let mut i = 0;
        while steps.len() - i > 2 {
            let (word, key) = &steps[i];
            if word != "module" || key.is_some() {
                return Err("is not of the form [module.NAME.]...TYPE.NAME".into());
            }
            modules.push(steps[i + 1].clone());
            i += 2;
        }
        if steps.len() - i != 2 || steps[i].1.is_some() || steps[i].0 == "module" || steps[i].0 == "data" {
            return Err("is not of the form [module.NAME.]...TYPE.NAME (a managed resource)".into());
        }
        let (name, key) = steps[i + 1].clone();
        Ok(Self { modules, r#type: steps[i].0.clone(), name, key })
    }

    /// The resource type (`aws_ecs_service`).
    pub fn resource_type(&self) -> &str {
        &self.r#type
    }

    /// The resource name (`this`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it names a resource of the root module without an instance key: one a
    /// `resource` block of the hand-off's own files can declare.
    pub fn is_root_block(&self) -> bool {
        self.modules.is_empty() && self.key.is_none()
    }

    /// The address as an HCL traversal expression (for `to =` and `from =`).
    pub fn to_expression(&self) -> hcl::Expression {
        fn key_expr(k: &InstanceKey) -> hcl::Expression {
            match k {
                InstanceKey::Index(i) => hcl::Expression::Number((*i).into()),
                InstanceKey::Key(s) => hcl::Expression::String(s.clone()),
            }
        }
        let mut words: Vec<(String, Option<&InstanceKey>)> = Vec::new();
        for (m, k) in &self.modules {
            words.push(("module".to_owned(), None));
            words.push((m.clone(), k.as_ref()));
        }
        words.push((self.r#type.clone(), None));
        words.push((self.name.clone(), self.key.as_ref()));
        let mut it = words.into_iter();
        let (root, _) = it.next().expect("an address has a type and a name");
        let mut b = hcl::expr::Traversal::builder(hcl::expr::Variable::unchecked(root));
        for (w, k) in it {
            b = b.attr(hcl::Identifier::unchecked(w));
            if let Some(k) = k {
                b = b.index(key_expr(k));
            }
        }
        hcl::Expression::from(b.build())
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (m, k) in &self.modules {
            write!(f, "module.{m}")?;
            if let Some(k) = k {
                write!(f, "{k}")?;
            }
            f.write_str(".")?;
        }
        write!(f, "{}.{}", self.r#type, self.name)?;
        if let Some(k) = &self.key {
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

/// Placeholder address → the user's address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressMap {
    entries: BTreeMap<Address, Address>,
}

impl AddressMap {
    /// An empty map: every resource keeps its placeholder address.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `from` to `to`.
    ///
    /// # Errors
    /// [`ValidationError`] when the two name different resource types.
    pub fn insert(&mut self, from: Address, to: Address) -> Result<(), ValidationError> {
        if from.resource_type() != to.resource_type() {
            return Err(ValidationError::new(
                "address map entry",
                format!("{from} = {to}"),
                format!("maps a {} to a {}: both sides must name the same resource type", from.resource_type(), to.resource_type()),
            ));
        }
        self.entries.insert(from, to);
        Ok(())
    }

    /// Parses the map: JSON when `json`, else TOML; a flat table of strings.
    ///
    /// # Errors
    /// [`ValidationError`] naming the entry (or the syntax error) when it is not such a table
    /// of two resource addresses of one type.
    pub fn parse(text: &str, json: bool) -> Result<Self, ValidationError> {
        let bad = |reason: String| ValidationError::new("address map", if json { "JSON" } else { "TOML" }, reason);
        let table: BTreeMap<String, String> = if json {
            serde_json::from_str(text).map_err(|e| bad(format!("is not a JSON object of strings: {e}")))?
        } else {
            toml::from_str(text).map_err(|e| bad(format!("is not a TOML table of strings: {e}")))?
        };
        let mut map = Self::new();
        for (from, to) in table {
            let parse = |s: &str| {
                Address::parse(s).map_err(|why| ValidationError::new("address map entry", s, format!("{why} (a Terraform resource address)")))
            };
            map.insert(parse(&from)?, parse(&to)?)?;
        }
        Ok(map)
    }

    /// Reads the map from `path` (JSON when it ends in `.json`, else TOML).
    ///
    /// # Errors
    /// [`ValidationError`] when the file cannot be read or parsed.
    pub fn read(path: &Path) -> Result<Self, ValidationError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ValidationError::new("address map", path.display().to_string(), format!("cannot be read: {e}")))?;
        Self::parse(&text, path.extension().is_some_and(|e| e == "json"))
    }

    /// The user's address for `placeholder` (the placeholder itself when unmapped).
    pub fn resolve(&self, placeholder: &Address) -> Address {
        self.entries.get(placeholder).cloned().unwrap_or_else(|| placeholder.clone())
    }

    /// The placeholders the map names.
    pub fn placeholders(&self) -> impl Iterator<Item = &Address> {
        self.entries.keys()
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_print_as_terraform_writes_them() {
        for text in ["aws_ecs_service.web", "module.app.aws_ecs_service.this", "module.a[0].module.b[\"eu\"].aws_lb_target_group.tg[\"green\"]"] {
            assert_eq!(Address::parse(text).unwrap().to_string(), text);
        }
        let a = Address::parse("module.svc.aws_ecs_service.this").unwrap();
        assert_eq!((a.resource_type(), a.name(), a.is_root_block()), ("aws_ecs_service", "this", false));
        assert!(Address::parse("aws_ecs_service.web").unwrap().is_root_block());
        for bad in ["", "aws_ecs_service", "module.x", "data.aws_iam_role.r", "aws_x.y.z", "aws_x.1y", "aws_x.y[", "aws_x.y[eu]"] {
            assert!(Address::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn the_map_reads_json_and_toml_and_refuses_a_change_of_type() {
        let json = AddressMap::parse(r#"{ "aws_ecs_service.web": "module.svc.aws_ecs_service.this" }"#, true).unwrap();
        let toml = AddressMap::parse(r#""aws_ecs_service.web" = "module.svc.aws_ecs_service.this""#, false).unwrap();
        assert_eq!(json, toml);
        let web = Address::resource("aws_ecs_service", "web");
        assert_eq!(json.resolve(&web).to_string(), "module.svc.aws_ecs_service.this");
        assert_eq!(json.resolve(&Address::resource("aws_iam_role", "r")).to_string(), "aws_iam_role.r");
        let e = AddressMap::parse(r#"{ "aws_ecs_service.web": "aws_iam_role.web" }"#, true).unwrap_err();
        assert!(e.to_string().contains("same resource type"), "{e}");
        assert!(AddressMap::parse("[not a table of strings", false).is_err());
        assert!(AddressMap::parse(r#"{ "aws_ecs_service.web": 3 }"#, true).is_err());
    }
}
