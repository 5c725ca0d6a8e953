//! IAM: roles.

use aws_sdk_iam::types as iam;

use crate::inventory::RoleInfo;

/// The role as GetRole reports it.
pub(crate) fn role_from_sdk(r: &iam::Role) -> RoleInfo {
    RoleInfo {
        name: r.role_name().to_owned(),
        arn: r.arn().to_owned(),
        tags: r.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect(),
    }
}

/// The SDK role GetRole answers (the inverse of [`role_from_sdk`], plus what the kit keeps
/// beside the inventory: the trust policy; path `/`, id and creation date made up).
#[cfg(feature = "test-util")]
pub(crate) fn role_to_sdk(name: &str, arn: &str, trust_policy: &str, tags: &crate::inventory::Tags) -> iam::Role {
    iam::Role::builder()
        .path("/")
        .role_name(name)
        .role_id(format!("AROA{:0>17}", name.len() * 7919))
        .arn(arn)
        .create_date(aws_smithy_types::DateTime::from_secs(1_700_000_000))
        .assume_role_policy_document(trust_policy)
        .set_tags(Some(tags.iter().filter_map(|(k, v)| iam::Tag::builder().key(k).value(v).build().ok()).collect()))
        .build()
        .expect("required role fields set")
}
