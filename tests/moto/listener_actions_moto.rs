//! On moto: with no test port the production listener keeps `[authenticate-oidc, forward]`
//! with the forward's stickiness; the green group joins the forward at weight 0; rollback puts
//! the list back as it was.
//!
//! AWS accepts `authenticate-oidc` only on HTTPS listeners; moto also takes it on the fixture's
//! HTTP listener, which is what this test uses (the action list handling does not depend on the
//! protocol).

use crate::common;

use aws_sdk_elasticloadbalancingv2::types as elb;
use common::fixture::seed_rolling_account;
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::spec::Migration;
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, InMemoryJournal, Outcome};

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

fn oidc() -> elb::Action {
    elb::Action::builder()
        .r#type(elb::ActionTypeEnum::AuthenticateOidc)
        .order(1)
        .authenticate_oidc_config(
            elb::AuthenticateOidcActionConfig::builder()
                .issuer("https://idp.example.com")
                .authorization_endpoint("https://idp.example.com/authorize")
                .token_endpoint("https://idp.example.com/token")
                .user_info_endpoint("https://idp.example.com/userinfo")
                .client_id("storefront")
                .client_secret("s3cret")
                .scope("openid")
                .session_timeout(3600)
                .on_unauthenticated_request(elb::AuthenticateOidcActionConditionalBehaviorEnum::Authenticate)
                .build(),
        )
        .build()
}

fn sticky_forward(groups: &[(&str, i32)]) -> elb::Action {
    elb::Action::builder()
        .r#type(elb::ActionTypeEnum::Forward)
        .order(2)
        .forward_config(
            elb::ForwardActionConfig::builder()
                .set_target_groups(Some(
                    groups.iter().map(|(arn, w)| elb::TargetGroupTuple::builder().target_group_arn(*arn).weight(*w).build()).collect(),
                ))
                .target_group_stickiness_config(elb::TargetGroupStickinessConfig::builder().enabled(true).duration_seconds(900).build())
                .build(),
        )
        .build()
}

async fn actions(aws: &AwsClients, listener: &str) -> Vec<elb::Action> {
    let out = aws.elbv2.describe_listeners().listener_arns(listener).send().await.unwrap();
    out.listeners()[0].default_actions().to_vec()
}

#[tokio::test]
async fn authentication_and_stickiness_survive_apply_and_rollback_restores_the_list() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    aws.elbv2
        .modify_listener()
        .listener_arn(&f.listener_arn)
        .default_actions(oidc())
        .default_actions(sticky_forward(&[(&f.target_group_arn, 1)]))
        .send()
        .await
        .unwrap();
    let before = actions(&aws, &f.listener_arn).await;
    assert_eq!(before.len(), 2, "{before:?}");

    let plan = Migration::for_service(&f.cluster_name, &f.service_name).unwrap().build().plan(&aws).await.unwrap();
    let journal = InMemoryJournal::new();
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);

    let after = actions(&aws, &f.listener_arn).await;
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(after[0].r#type(), Some(&elb::ActionTypeEnum::AuthenticateOidc), "authentication stays first: {after:?}");
    let (a, b) = (after[0].authenticate_oidc_config().unwrap(), before[0].authenticate_oidc_config().unwrap());
    assert_eq!((a.issuer(), a.client_id(), a.scope(), a.session_timeout()), (b.issuer(), b.client_id(), b.scope(), b.session_timeout()));
    assert_eq!(after[0].order(), Some(1));
    let fwd = after[1].forward_config().unwrap();
    let groups: Vec<(String, Option<i32>)> =
        fwd.target_groups().iter().map(|t| (t.target_group_arn().unwrap().to_owned(), t.weight())).collect();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(groups[0], (f.target_group_arn.clone(), Some(1)));
    assert_eq!(groups[1].1, Some(0), "green joins at weight 0: {groups:?}");
    let sticky = fwd.target_group_stickiness_config().unwrap();
    assert_eq!((sticky.enabled(), sticky.duration_seconds()), (Some(true), Some(900)));

    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(actions(&aws, &f.listener_arn).await, before, "rollback restores the list exactly");
}

/// The moto extension does what AWS does with an OIDC client secret: never returned, kept by
/// `UseExistingClientSecret`, required otherwise.
#[tokio::test]
async fn an_oidc_secret_is_never_returned_and_a_resent_action_needs_it_or_use_existing() {
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let modify = |actions: Vec<elb::Action>| {
        aws.elbv2.modify_listener().listener_arn(&f.listener_arn).set_default_actions(Some(actions)).send()
    };
    modify(vec![oidc(), sticky_forward(&[(&f.target_group_arn, 1)])]).await.unwrap();
    let read = actions(&aws, &f.listener_arn).await;
    let cfg = read[0].authenticate_oidc_config().unwrap();
    assert_eq!((cfg.client_secret(), cfg.use_existing_client_secret()), (None, None), "{cfg:?}");

    // Re-sent as read: no secret, no UseExistingClientSecret.
    let err = modify(read.clone()).await.unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"), "{err:?}");
    assert_eq!(actions(&aws, &f.listener_arn).await, read, "a refused call changes nothing");

    let mut with_flag = cfg.clone();
    with_flag.use_existing_client_secret = Some(true);
    let mut resent = read.clone();
    resent[0].authenticate_oidc_config = Some(with_flag);
    modify(resent).await.unwrap();
    assert_eq!(actions(&aws, &f.listener_arn).await, read);
}
