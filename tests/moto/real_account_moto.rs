//! On moto, what a real account carries: the pipeline role written for the `ECS` deploy action
//! (checked with `SimulatePrincipalPolicy`, granted what `CodeDeployToECS` needs, the grant removed
//! on rollback), an HTTPS production listener with an ACM certificate, an additional certificate
//! and an HTTP2 target group, and tags AWS set itself (`aws:`), which no request may carry.
//!
//! Run with `cargo test --test moto real_account_moto::` (starts moto if `MOTO_ENDPOINT` is
//! unset, see `tests/moto/main.rs`).

use crate::common;

use aws_sdk_elasticloadbalancingv2::types as elb;
use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, PolicyEvaluationDecisionType as Decision};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use common::fixture::{Fixture, PIPELINE_ROLE_POLICY, seed_rolling_account};
use common::{fresh_account, moto_clients, moto_endpoint, moto_sdk_config};
use ecs_bluegreen::inventory::RoleCheck;
use ecs_bluegreen::plan::ChangeDetail;
use ecs_bluegreen::spec::{Migration, PipelineDeployStage, PipelineName, Port};
use ecs_bluegreen::testing::sample::ECS_DEPLOY_POLICY;
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, InMemoryJournal, Outcome, StepId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

/// IAM's decision for `action` by `role` on `resource` (with `iam:PassedToService` when given).
async fn simulate(aws: &AwsClients, role: &str, action: &str, resource: &str, passed_to: Option<&str>) -> Decision {
    let mut req = aws.iam.simulate_principal_policy().policy_source_arn(role).action_names(action).resource_arns(resource);
    if let Some(service) = passed_to {
        req = req.context_entries(
            ContextEntry::builder()
                .context_key_name("iam:PassedToService")
                .context_key_values(service)
                .context_key_type(ContextKeyTypeEnum::String)
                .build(),
        );
    }
    let out = req.send().await.unwrap();
    assert_eq!(out.evaluation_results().len(), 1, "{out:?}");
    out.evaluation_results()[0].eval_decision().clone()
}

async fn inline_policies(aws: &AwsClients, role: &str) -> Vec<String> {
    aws.iam.list_role_policies().role_name(role).send().await.unwrap().policy_names().to_vec()
}

#[tokio::test]
async fn the_pipeline_role_can_run_the_new_action_after_apply_and_rollback_removes_only_the_grant() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let migration = Migration::for_service(&f.cluster_name, &f.service_name)
        .unwrap()
        .pipeline(PipelineDeployStage::named(PipelineName::new(&f.pipeline_name).unwrap()))
        .build();
    let role = f.pipeline_role_arn.as_str();
    let cd = |suffix: &str| format!("arn:aws:codedeploy:us-east-1:{account}:{suffix}");
    let group = cd("deploymentgroup:prod-web/web-bluegreen");
    let app = cd("application:prod-web");
    let config = cd("deploymentconfig:CodeDeployDefault.ECSAllAtOnce");
    let family = format!("arn:aws:ecs:us-east-1:{account}:task-definition/web:*");
    let needed: Vec<(&str, &str, Option<&str>)> = vec![
        ("codedeploy:CreateDeployment", &group, None),
        ("codedeploy:GetDeployment", &group, None),
        ("codedeploy:GetApplication", &app, None),
        ("codedeploy:GetApplicationRevision", &app, None),
        ("codedeploy:RegisterApplicationRevision", &app, None),
        ("codedeploy:GetDeploymentConfig", &config, None),
        ("ecs:RegisterTaskDefinition", &family, None),
        ("iam:PassRole", &f.task_role_arn, Some("ecs-tasks.amazonaws.com")),
        ("iam:PassRole", &f.execution_role_arn, Some("ecs-tasks.amazonaws.com")),
    ];
    // Before: the ECS action's policy allows registering and passing, nothing of CodeDeploy.
    for (action, resource, passed) in &needed {
        let expected = if action.starts_with("codedeploy:") { Decision::ImplicitDeny } else { Decision::Allowed };
        assert_eq!(simulate(&aws, role, action, resource, *passed).await, expected, "{action} before");
    }

    let plan = migration.plan(&aws).await.unwrap();
    let Some(ChangeDetail::PipelineRolePolicy { policy_name, grants, role_name, .. }) =
        plan.change(StepId::PipelineRolePolicy).map(|c| &c.detail)
    else {
        panic!("no grant planned:\n{plan}")
    };
    assert_eq!(role_name, "web-pipeline-role");
    assert_eq!(grants.len(), 6, "the CodeDeploy actions: {grants:?}");
    assert!(!plan.notes.iter().any(|n| n.contains("reading its policies")), "moto simulates: {:?}", plan.notes);
    let journal = InMemoryJournal::new();
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);

    // After: every needed action on its resource; the grant is scoped.
    for (action, resource, passed) in &needed {
        assert_eq!(simulate(&aws, role, action, resource, *passed).await, Decision::Allowed, "{action} on {resource} after apply");
    }
    let other_group = cd("deploymentgroup:prod-web/someone-elses");
    assert_eq!(simulate(&aws, role, "codedeploy:CreateDeployment", &other_group, None).await, Decision::ImplicitDeny);
    assert_eq!(
        simulate(&aws, role, "codedeploy:GetApplication", &cd("application:other"), None).await,
        Decision::ImplicitDeny
    );
    assert_eq!(inline_policies(&aws, "web-pipeline-role").await, [PIPELINE_ROLE_POLICY, policy_name.as_str()]);
    let inv = ecs_bluegreen::discover::discover(&aws, &migration).await.unwrap();
    let checked = inv.pipeline_role.unwrap();
    assert_eq!(checked.check, RoleCheck::Simulated);
    assert!(checked.shortfall.missing.is_empty() && checked.shortfall.denied.is_empty(), "{checked:?}");

    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();

    assert!(report.is_clean(), "{report}");
    assert_eq!(inline_policies(&aws, "web-pipeline-role").await, [PIPELINE_ROLE_POLICY], "the grant is gone");
    let kept = aws.iam.get_role_policy().role_name("web-pipeline-role").policy_name(PIPELINE_ROLE_POLICY).send().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(&ecs_bluegreen::iam_policy::url_decode(kept.policy_document())).unwrap();
    assert_eq!(doc, serde_json::from_str::<serde_json::Value>(ECS_DEPLOY_POLICY).unwrap(), "the role's own policy untouched");
    assert_eq!(simulate(&aws, role, "codedeploy:CreateDeployment", &group, None).await, Decision::ImplicitDeny);
}

#[tokio::test]
async fn simulate_principal_policy_on_moto_evaluates_users_groups_denies_and_conditions() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let user = aws.iam.create_user().user_name("deployer").send().await.unwrap().user.unwrap().arn().to_owned();
    aws.iam.create_group().group_name("deployers").send().await.unwrap();
    aws.iam.add_user_to_group().group_name("deployers").user_name("deployer").send().await.unwrap();
    let allow_all_codedeploy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"CodeDeploy:*","Resource":"*"}]}"#;
    aws.iam.put_group_policy().group_name("deployers").policy_name("cd").policy_document(allow_all_codedeploy).send().await.unwrap();
    let user_policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Deny","Action":"codedeploy:DeleteApplication","Resource":"*"},
        {"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::*:role/web-?ask-role","Condition":{"StringLike":{"iam:PassedToService":"ecs-*"}}}]}"#;
    aws.iam.put_user_policy().user_name("deployer").policy_name("own").policy_document(user_policy).send().await.unwrap();
    let role = format!("arn:aws:iam::{account}:role/web-task-role");
    assert_eq!(simulate(&aws, &user, "codedeploy:CreateDeployment", "arn:aws:codedeploy:us-east-1:1:deploymentgroup:a/b", None).await, Decision::Allowed);
    assert_eq!(simulate(&aws, &user, "codedeploy:DeleteApplication", "arn:aws:codedeploy:us-east-1:1:application:a", None).await, Decision::ExplicitDeny);
    assert_eq!(simulate(&aws, &user, "iam:PassRole", &role, Some("ecs-tasks.amazonaws.com")).await, Decision::Allowed);
    assert_eq!(simulate(&aws, &user, "iam:PassRole", &role, Some("lambda.amazonaws.com")).await, Decision::ImplicitDeny);
    assert_eq!(simulate(&aws, &user, "iam:PassRole", &role, None).await, Decision::ImplicitDeny, "a missing key fails StringLike");
    assert_eq!(simulate(&aws, &user, "iam:PassRole", &role.replace("web-task", "web-batch"), Some("ecs-tasks.amazonaws.com")).await, Decision::ImplicitDeny);
    // Several resources: one result per action, the most restrictive decision, and one per resource.
    let out = aws
        .iam
        .simulate_principal_policy()
        .policy_source_arn(&user)
        .action_names("iam:PassRole")
        .resource_arns(&role)
        .resource_arns(format!("arn:aws:iam::{account}:role/admin"))
        .context_entries(
            ContextEntry::builder()
                .context_key_name("iam:PassedToService")
                .context_key_values("ecs-tasks.amazonaws.com")
                .context_key_type(ContextKeyTypeEnum::String)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let result = &out.evaluation_results()[0];
    assert_eq!(out.evaluation_results().len(), 1);
    assert_eq!(result.eval_decision(), &Decision::ImplicitDeny);
    let per: Vec<_> = result.resource_specific_results().iter().map(|r| r.eval_resource_decision().clone()).collect();
    assert_eq!(per, [Decision::Allowed, Decision::ImplicitDeny]);
    let missing = aws.iam.simulate_principal_policy().policy_source_arn(format!("arn:aws:iam::{account}:role/nobody")).action_names("s3:GetObject").send().await;
    assert_eq!(missing.unwrap_err().code(), Some("NoSuchEntity"));
}

// ---------------------------------------------------------------- HTTPS, HTTP2, certificates

/// ACM RequestCertificate over plain HTTP (moto checks no signature); returns the ARN.
async fn request_certificate(account: &str, domain: &str) -> String {
    let endpoint = moto_endpoint();
    let authority = endpoint.strip_prefix("http://").unwrap().trim_end_matches('/').to_owned();
    let body = serde_json::json!({ "DomainName": domain, "ValidationMethod": "DNS" }).to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: CertificateManager.RequestCertificate\r\nContent-Length: {}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/acm/aws4_request, SignedHeaders=host, Signature=x\r\n\
         x-moto-account-id: {account}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "RequestCertificate: {head}\n{body}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["CertificateArn"].as_str().unwrap().to_owned()
}

const SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// The fixture's service moved to an HTTP2 target group behind an HTTPS :443 listener with an
/// ACM default certificate and one additional certificate. Returns (target group ARN,
/// listener ARN, default certificate, additional certificate).
async fn https_http2_service(aws: &AwsClients, f: &Fixture) -> (String, String, String, String) {
    let cert = request_certificate(&f.account, "web.example.com").await;
    let sni = request_certificate(&f.account, "api.example.com").await;
    let tg = aws
        .elbv2
        .create_target_group()
        .name("web-h2")
        .protocol(elb::ProtocolEnum::Http)
        .protocol_version("HTTP2")
        .port(f.container_port)
        .vpc_id(&f.vpc_id)
        .target_type(elb::TargetTypeEnum::Ip)
        .health_check_path("/health")
        .send()
        .await
        .unwrap();
    let tg_arn = tg.target_groups()[0].target_group_arn().unwrap().to_owned();
    let listener = aws
        .elbv2
        .create_listener()
        .load_balancer_arn(&f.load_balancer_arn)
        .protocol(elb::ProtocolEnum::Https)
        .port(443)
        .ssl_policy(SSL_POLICY)
        .certificates(elb::Certificate::builder().certificate_arn(&cert).build())
        .default_actions(elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(&tg_arn).build())
        .send()
        .await
        .unwrap();
    let listener_arn = listener.listeners()[0].listener_arn().unwrap().to_owned();
    aws.elbv2
        .add_listener_certificates()
        .listener_arn(&listener_arn)
        .certificates(elb::Certificate::builder().certificate_arn(&sni).build())
        .send()
        .await
        .unwrap();
    aws.ecs
        .update_service()
        .cluster(&f.cluster_name)
        .service(&f.service_name)
        .load_balancers(
            aws_sdk_ecs::types::LoadBalancer::builder()
                .target_group_arn(&tg_arn)
                .container_name(&f.container_name)
                .container_port(f.container_port)
                .build(),
        )
        .send()
        .await
        .unwrap();
    (tg_arn, listener_arn, cert, sni)
}

#[tokio::test]
async fn an_https_production_listener_with_an_http2_group_gets_an_https_test_listener_with_its_certificates() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let (_, prod, cert, sni) = https_http2_service(&aws, &f).await;
    let plan = Migration::for_service(&f.cluster_name, &f.service_name)
        .unwrap()
        .test_listener_port(Port::new(8443).unwrap())
        .build()
        .plan(&aws)
        .await
        .unwrap();
    let Some(ChangeDetail::DeploymentGroup(dg)) = plan.change(StepId::DeploymentGroup).map(|c| &c.detail) else { panic!() };
    assert_eq!(dg.prod_listener_arn, prod, "the HTTPS listener is the production listener");
    let journal = InMemoryJournal::new();
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);

    let listeners = aws.elbv2.describe_listeners().load_balancer_arn(&f.load_balancer_arn).send().await.unwrap();
    let test = listeners.listeners().iter().find(|l| l.port() == Some(8443)).expect("a test listener on 8443");
    assert_eq!(test.protocol(), Some(&elb::ProtocolEnum::Https));
    assert_eq!(test.ssl_policy(), Some(SSL_POLICY));
    assert_eq!(test.certificates().first().and_then(|c| c.certificate_arn()), Some(cert.as_str()));
    let certs = aws.elbv2.describe_listener_certificates().listener_arn(test.listener_arn().unwrap()).send().await.unwrap();
    let extra: Vec<&str> =
        certs.certificates().iter().filter(|c| c.is_default() != Some(true)).filter_map(|c| c.certificate_arn()).collect();
    assert_eq!(extra, [sni.as_str()], "the additional certificate");
    // The green clone keeps HTTP2, which an HTTP test listener could not forward to.
    let green = aws.elbv2.describe_target_groups().names("web-h2-green").send().await.unwrap();
    assert_eq!(green.target_groups()[0].protocol_version(), Some("HTTP2"));

    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();

    assert!(report.is_clean(), "{report}");
    let after = aws.elbv2.describe_listeners().load_balancer_arn(&f.load_balancer_arn).send().await.unwrap();
    assert!(after.listeners().iter().all(|l| l.port() != Some(8443)), "the test listener is gone");
}

#[tokio::test]
async fn moto_refuses_an_http_listener_forwarding_to_an_http2_or_grpc_group() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let (tg_arn, prod, _, _) = https_http2_service(&aws, &f).await;
    let forward = elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(&tg_arn).build();
    let refused = aws
        .elbv2
        .create_listener()
        .load_balancer_arn(&f.load_balancer_arn)
        .protocol(elb::ProtocolEnum::Http)
        .port(8080)
        .default_actions(forward.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("UnsupportedProtocol"));
    assert_eq!(
        refused.message(),
        Some("Listener protocol 'HTTP' is not supported with a target group with the protocol-version 'HTTP2'")
    );
    // Turning the HTTPS listener into HTTP is refused too; the fixture's HTTP listener may not
    // forward to the group either.
    let to_http = aws.elbv2.modify_listener().listener_arn(&prod).protocol(elb::ProtocolEnum::Http).port(80).send().await;
    assert_eq!(to_http.unwrap_err().code(), Some("UnsupportedProtocol"));
    let http_forward = aws.elbv2.modify_listener().listener_arn(&f.listener_arn).default_actions(forward).send().await;
    assert_eq!(http_forward.unwrap_err().code(), Some("UnsupportedProtocol"));
    // A GRPC group likewise; an HTTP1 group is fine.
    let grpc = aws
        .elbv2
        .create_target_group()
        .name("web-grpc")
        .protocol(elb::ProtocolEnum::Http)
        .protocol_version("GRPC")
        .port(50051)
        .vpc_id(&f.vpc_id)
        .target_type(elb::TargetTypeEnum::Ip)
        .send()
        .await
        .unwrap();
    let grpc_arn = grpc.target_groups()[0].target_group_arn().unwrap();
    let to_grpc = elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(grpc_arn).build();
    let refused = aws.elbv2.create_listener().load_balancer_arn(&f.load_balancer_arn).protocol(elb::ProtocolEnum::Http).port(8081).default_actions(to_grpc).send().await;
    assert_eq!(refused.unwrap_err().code(), Some("UnsupportedProtocol"));
    let to_http1 = elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(&f.target_group_arn).build();
    aws.elbv2.create_listener().load_balancer_arn(&f.load_balancer_arn).protocol(elb::ProtocolEnum::Http).port(8082).default_actions(to_http1).send().await.unwrap();
}

// ---------------------------------------------------------------- `aws:` tags

/// Sends the header with which moto lets a test set tags AWS sets itself.
#[derive(Debug, Clone)]
struct SeedReservedTags;

impl Intercept for SeedReservedTags {
    fn name(&self) -> &'static str {
        "SeedReservedTags"
    }
    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context.request_mut().headers_mut().insert("x-ecs-bluegreen-seed-reserved-tags", "1");
        Ok(())
    }
}

fn seeding_clients(account: &str) -> AwsClients {
    AwsClients::builder(&moto_sdk_config(&moto_endpoint()))
        .interceptor(common::AccountHeader(account.to_owned()))
        .interceptor(SeedReservedTags)
        .build()
}

const STACK_TAG: &str = "aws:cloudformation:stack-name";

#[tokio::test]
async fn moto_refuses_aws_tags_in_requests_of_every_resource_kind_the_tool_creates() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let elb_tag = elb::Tag::builder().key(STACK_TAG).value("web").build();
    let add = aws.elbv2.add_tags().resource_arns(&f.target_group_arn).tags(elb_tag.clone()).send().await.unwrap_err();
    assert_eq!((add.code(), add.message()), (Some("ValidationError"), Some("Tag key 'aws:cloudformation:stack-name' cannot start with 'aws:'")));
    let tg = aws.elbv2.create_target_group().name("t").protocol(elb::ProtocolEnum::Http).port(80).vpc_id(&f.vpc_id).tags(elb_tag.clone()).send().await;
    assert_eq!(tg.unwrap_err().code(), Some("ValidationError"));
    let upper = elb::Tag::builder().key("AWS:x").value("v").build();
    assert_eq!(aws.elbv2.add_tags().resource_arns(&f.listener_arn).tags(upper).send().await.unwrap_err().code(), Some("ValidationError"));
    let role = aws
        .iam
        .create_role()
        .role_name("r")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .tags(aws_sdk_iam::types::Tag::builder().key(STACK_TAG).value("web").build().unwrap())
        .send()
        .await;
    assert_eq!(role.unwrap_err().code(), Some("InvalidInput"));
    let app = aws
        .codedeploy
        .create_application()
        .application_name("a")
        .compute_platform(aws_sdk_codedeploy::types::ComputePlatform::Ecs)
        .tags(aws_sdk_codedeploy::types::Tag::builder().key(STACK_TAG).value("web").build())
        .send()
        .await;
    assert_eq!(app.unwrap_err().code(), Some("InvalidTagsToAddException"));
    let svc = aws
        .ecs
        .tag_resource()
        .resource_arn(&f.service_arn)
        .tags(aws_sdk_ecs::types::Tag::builder().key(STACK_TAG).value("web").build())
        .send()
        .await;
    assert_eq!(svc.unwrap_err().code(), Some("InvalidParameterException"));
    // Ordinary keys pass, and the seeding header lets AWS's own tags in.
    aws.elbv2.add_tags().resource_arns(&f.target_group_arn).tags(elb::Tag::builder().key("team").value("web").build()).send().await.unwrap();
    seeding_clients(&account).elbv2.add_tags().resource_arns(&f.target_group_arn).tags(elb_tag).send().await.unwrap();
}

#[tokio::test]
async fn a_service_and_target_group_carrying_aws_tags_migrate_without_sending_them() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let seed = seeding_clients(&account);
    seed.elbv2
        .add_tags()
        .resource_arns(&f.target_group_arn)
        .tags(elb::Tag::builder().key(STACK_TAG).value("web-stack").build())
        .send()
        .await
        .unwrap();
    seed.ecs
        .tag_resource()
        .resource_arn(&f.service_arn)
        .tags(aws_sdk_ecs::types::Tag::builder().key(STACK_TAG).value("web-stack").build())
        .send()
        .await
        .unwrap();
    let plan = Migration::for_service(&f.cluster_name, &f.service_name)
        .unwrap()
        .test_listener_port(Port::new(8080).unwrap())
        .build()
        .plan(&aws)
        .await
        .unwrap();
    assert!(plan.warnings.iter().any(|w| w.contains("target group web-tg-1 carries tags reserved for AWS")), "{:?}", plan.warnings);
    assert!(plan.warnings.iter().any(|w| w.contains("service web carries tags reserved for AWS")), "{:?}", plan.warnings);
    // moto refuses any request carrying the key: applying proves none was sent.
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts()).await.unwrap(), Outcome::Applied);
    let green = aws.elbv2.describe_target_groups().names("web-tg-1-green").send().await.unwrap();
    let green_arn = green.target_groups()[0].target_group_arn().unwrap();
    let tags = aws.elbv2.describe_tags().resource_arns(green_arn).send().await.unwrap();
    let keys: Vec<&str> = tags.tag_descriptions()[0].tags().iter().filter_map(|t| t.key()).collect();
    assert!(!keys.contains(&STACK_TAG) && keys.contains(&"ecs-bluegreen:migration-id"), "{keys:?}");
    let svc = ecs_bluegreen::discover::describe_service(&aws, &f.cluster_name, &f.service_name).await.unwrap().unwrap();
    assert_eq!(svc.deployment_controller, "CODE_DEPLOY");
    assert!(!svc.tags.contains_key(STACK_TAG), "{:?}", svc.tags);
}
