//! SDK shapes ↔ the plain data of [`crate::inventory`], written once per resource.
//!
//! Discovery reads with the `*_from_sdk` functions. The test kit (feature `test-util`) answers
//! with their inverses, `*_to_sdk`, so what the kit holds reads back through discovery as the
//! same data; where the kit turns a create request into a resource, `*_from_create` copies the
//! request into the SDK shape the service would answer and reads that with `*_from_sdk`, so the
//! field mapping is not written a second time.
//!
//! Pure functions only: no client, no I/O.

mod codedeploy;
mod codepipeline;
mod ecs;
mod elb;
mod iam;
mod scaling;

pub(crate) use codedeploy::{application_from_sdk, codedeploy_source_from_sdk, deployment_config_from_sdk, deployment_group_from_sdk, traffic_routing_from_sdk};
pub(crate) use codepipeline::pipeline_from_sdk;
pub(crate) use ecs::{deployment_configuration_to_sdk, lb_entry_to_sdk, service_from_sdk, task_definition_from_sdk};
pub(crate) use elb::{action_from_sdk, actions_to_sdk, forward, forward_targets, listener_from_sdk, with_green_at_zero, load_balancer_from_sdk, target_group_from_sdk};
pub(crate) use iam::role_from_sdk;
pub(crate) use scaling::{
    alarm_from_sdk, datetime, put_alarm_request, scalable_target_from_sdk, scaling_policy_from_sdk, scheduled_action_from_sdk,
    step_config_to_sdk, target_tracking_to_sdk,
};

#[cfg(feature = "test-util")]
pub(crate) use codedeploy::{application_to_sdk, codedeploy_tags_to_sdk, deployment_config_to_sdk};
#[cfg(feature = "test-util")]
pub(crate) use codepipeline::pipeline_to_sdk;
#[cfg(feature = "test-util")]
pub(crate) use iam::role_to_sdk;
#[cfg(feature = "test-util")]
pub(crate) use scaling::{
    alarm_from_put, alarm_to_sdk, scalable_target_to_sdk, scaling_policy_from_put, scaling_policy_to_sdk, scheduled_action_to_sdk,
};
#[cfg(feature = "test-util")]
pub(crate) use ecs::{service_from_create, service_to_sdk, task_definition_to_sdk};
#[cfg(feature = "test-util")]
pub(crate) use elb::{
    elb_tags_to_sdk, listener_from_create, listener_to_sdk, load_balancer_to_sdk, target_group_attributes_to_sdk, target_group_from_create,
    target_group_to_sdk,
};

use crate::inventory::Tags;

/// Key/value pairs (tags, attributes) as [`Tags`]; an entry without a key is left out, a
/// missing value reads as empty.
pub(crate) fn pairs<'a, T: 'a>(
    items: impl IntoIterator<Item = &'a T>,
    key_value: impl Fn(&'a T) -> (Option<&'a str>, Option<&'a str>),
) -> Tags {
    items
        .into_iter()
        .filter_map(|t| {
            let (k, v) = key_value(t);
            Some((k?.to_owned(), v.unwrap_or_default().to_owned()))
        })
        .collect()
}

/// An optional SDK enum (or any `as_str` value) as an owned string.
fn text<T: AsRef<str>>(v: Option<T>) -> Option<String> {
    v.map(|s| s.as_ref().to_owned())
}

/// An optional string as the SDK enum it names (the inverse of [`text`]).
#[cfg(feature = "test-util")]
fn sdk_enum<'a, T: From<&'a str>>(v: &'a Option<String>) -> Option<T> {
    v.as_deref().map(T::from)
}
