//! With no test port the green group joins the production listener's forward at weight 0:
//! only the forward's target groups change; authentication actions, order and stickiness stay,
//! and rollback puts the list back exactly.

use ecs_bluegreen::inventory::{AuthSettings, ForwardSettings, ListenerAction, WeightedTargetGroup};
use ecs_bluegreen::testing::{Fault, InjectedError, MockAccount, sample};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, InMemoryJournal, Migration, Outcome};

fn s(v: &str) -> String {
    v.to_owned()
}

fn oidc() -> ListenerAction {
    ListenerAction {
        r#type: s("authenticate-oidc"),
        order: Some(1),
        authenticate_oidc: Some(AuthSettings {
            fields: [
                ("Issuer", "https://idp.example.com"),
                ("AuthorizationEndpoint", "https://idp.example.com/authorize"),
                ("TokenEndpoint", "https://idp.example.com/token"),
                ("UserInfoEndpoint", "https://idp.example.com/userinfo"),
                ("ClientId", "storefront"),
                ("OnUnauthenticatedRequest", "authenticate"),
            ]
            .into_iter()
            .map(|(k, v)| (s(k), s(v)))
            .collect(),
            session_timeout: Some(3600),
            extra_params: [(s("prompt"), s("login"))].into(),
        }),
        ..ListenerAction::default()
    }
}

fn sticky_forward(targets: Vec<WeightedTargetGroup>) -> ListenerAction {
    ListenerAction {
        r#type: s("forward"),
        order: Some(2),
        forward_config: Some(ForwardSettings {
            target_groups: targets,
            stickiness_enabled: Some(true),
            stickiness_duration_seconds: Some(900),
        }),
        ..ListenerAction::default()
    }
}

fn blue() -> WeightedTargetGroup {
    WeightedTargetGroup { target_group_arn: s(sample::BLUE_TG_ARN), weight: 1 }
}

/// The default scenario with `[authenticate-oidc, forward(blue, sticky)]` on the production listener.
fn account() -> (MockAccount, Vec<ListenerAction>) {
    let account = MockAccount::default_scenario();
    let before = vec![oidc(), sticky_forward(vec![blue()])];
    account.edit(|st| {
        let l = &mut st.load_balancer.listeners[0];
        assert_eq!(l.arn, sample::PROD_LISTENER_ARN);
        l.default_actions = before.clone();
    });
    (account, before)
}

fn prod_actions(account: &MockAccount) -> Vec<ListenerAction> {
    account.state().load_balancer.listeners.iter().find(|l| l.arn == sample::PROD_LISTENER_ARN).unwrap().default_actions.clone()
}

async fn migrate(account: &MockAccount) -> Result<Outcome, ecs_bluegreen::Error> {
    let aws = account.clients();
    let plan = Migration::for_service("prod", "web").unwrap().build().plan(&aws).await?;
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    plan.apply(&aws, &InMemoryJournal::new(), &opts).await
}

#[tokio::test(start_paused = true)]
async fn the_green_group_joins_the_forward_and_authentication_and_stickiness_stay() {
    let (account, _) = account();
    assert_eq!(migrate(&account).await.unwrap(), Outcome::Applied);
    let green = account
        .state()
        .target_groups
        .values()
        .find(|t| t.arn != sample::BLUE_TG_ARN)
        .map(|t| t.arn.clone())
        .expect("a green target group");
    let after = prod_actions(&account);
    assert_eq!(
        after,
        vec![oidc(), sticky_forward(vec![blue(), WeightedTargetGroup { target_group_arn: green, weight: 0 }])],
        "authentication first, stickiness kept, green at weight 0"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_run_restores_the_listener_action_list_exactly() {
    let (account, before) = account();
    let start = account.state();
    // After the listener changed: the run fails and rolls back.
    account.inject(Fault::every_call("CreateDeploymentGroup", InjectedError::AccessDenied));
    migrate(&account).await.unwrap_err();
    let left = account.state().differences(&start);
    assert!(left.is_empty(), "{left:?}");
    assert!(account.mutating_operations().iter().any(|o| o.starts_with("ModifyListener")), "{:?}", account.mutating_operations());
    assert_eq!(prod_actions(&account), before);
}

#[tokio::test(start_paused = true)]
async fn an_https_production_listener_gets_an_https_test_listener_with_its_policy_and_certificate() {
    const CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
    const POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";
    let account = MockAccount::default_scenario();
    account.edit(|st| {
        let l = &mut st.load_balancer.listeners[0];
        l.port = Some(443);
        l.protocol = Some(s("HTTPS"));
        l.tls = Some(ecs_bluegreen::inventory::ListenerTls {
            ssl_policy: Some(s(POLICY)),
            certificate_arn: Some(s(CERT)),
            ..Default::default()
        });
    });
    let aws = account.clients();
    let plan = Migration::for_service("prod", "web")
        .unwrap()
        .test_listener_port(ecs_bluegreen::spec::Port::new(8443).unwrap())
        .build()
        .plan(&aws)
        .await
        .unwrap();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap(), Outcome::Applied);
    let st = account.state();
    let test = st.load_balancer.listeners.iter().find(|l| l.port == Some(8443)).expect("a test listener on 8443");
    assert_eq!(test.protocol.as_deref(), Some("HTTPS"));
    let tls = test.tls.as_ref().expect("TLS settings on the test listener");
    assert_eq!((tls.ssl_policy.as_deref(), tls.certificate_arn.as_deref()), (Some(POLICY), Some(CERT)));
}

#[tokio::test(start_paused = true)]
async fn the_test_listener_gets_the_production_listeners_additional_certificates() {
    const CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";
    const SNI: &str = "arn:aws:acm:us-east-1:123456789012:certificate/9f8e7d6c-5b4a-3c2d-1e0f-a9b8c7d6e5f4";
    let account = MockAccount::default_scenario();
    account.edit(|st| {
        let l = &mut st.load_balancer.listeners[0];
        l.port = Some(443);
        l.protocol = Some(s("HTTPS"));
        l.tls = Some(ecs_bluegreen::inventory::ListenerTls {
            ssl_policy: Some(s("ELBSecurityPolicy-TLS13-1-2-2021-06")),
            certificate_arn: Some(s(CERT)),
            additional_certificates: vec![s(SNI)],
            ..Default::default()
        });
    });
    let aws = account.clients();
    let plan = Migration::for_service("prod", "web")
        .unwrap()
        .test_listener_port(ecs_bluegreen::spec::Port::new(8443).unwrap())
        .build()
        .plan(&aws)
        .await
        .unwrap();
    assert!(plan.to_string().contains(&format!("additional_certificates = {SNI}")), "{plan}");
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    let journal = InMemoryJournal::new();
    assert_eq!(plan.apply(&aws, &journal, &opts).await.unwrap(), Outcome::Applied);
    let st = account.state();
    let test = st.load_balancer.listeners.iter().find(|l| l.port == Some(8443)).expect("a test listener on 8443");
    let tls = test.tls.as_ref().expect("TLS settings on the test listener");
    assert_eq!(tls.certificate_arn.as_deref(), Some(CERT));
    assert_eq!(tls.additional_certificates, [SNI]);
    assert!(account.mutating_operations().contains(&s("AddListenerCertificates")));
    // Undo deletes the listener, and its certificates with it.
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts).await.unwrap();
    assert!(report.is_clean(), "{report}");
    assert!(account.state().load_balancer.listeners.iter().all(|l| l.port != Some(8443)));
}
