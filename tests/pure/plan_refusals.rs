//! Every refusal the plan can produce, from the realistic sample inventory with one thing changed.
//!
//! Each test checks the `RefusalKind`, that the message names the problem, and that it says how to
//! fix it ("fix:"). Where a look-alike case must *not* be refused, the test says so next to it.

use crate::support;

use ecs_bluegreen::inventory::{
    ActionInfo, ApplicationInfo, DeploymentConfigInfo, DeploymentGroupInfo, DeploymentSummary, LoadBalancerEntry, OWNERSHIP_TAG, RoleInfo,
    StageInfo, Tags, TargetGroupInfo, WeightedTargetGroup,
};
use ecs_bluegreen::plan::{Action, ChangeDetail, PlanError, RefusalKind, StepId, TestRoute, plan};
use ecs_bluegreen::spec::{
    DeploymentConfig, Migration, Port, ServiceCutover, Target, TargetGroupName, TargetGroupPair,
};
use ecs_bluegreen::{Inventory, Plan};
use support::sample;

// ---------------------------------------------------------------------------------------------
// helpers

/// Plans and expects a refusal.
#[track_caller]
fn refused(m: &Migration, inv: &Inventory) -> PlanError {
    match plan(m, inv) {
        Ok(p) => panic!("expected a refusal, got a plan:\n{p}"),
        Err(e) => e,
    }
}

/// Plans and expects success.
#[track_caller]
fn planned(m: &Migration, inv: &Inventory) -> Plan {
    plan(m, inv).unwrap_or_else(|e| panic!("expected a plan, got:\n{e}"))
}

/// The refusal of `kind` names every needle, carries a fix, and appears as such in the error's Display.
#[track_caller]
fn assert_mentions(err: &PlanError, kind: RefusalKind, needles: &[&str]) {
    let text = err.to_string();
    let Some(r) = err.refusals().iter().find(|r| r.kind == kind) else {
        panic!("no {kind:?} refusal in:\n{text}");
    };
    assert!(err.has(kind));
    assert!(text.starts_with("plan refused; nothing was changed:"), "{text}");
    let shown = r.to_string();
    assert!(text.contains(&shown), "refusal not rendered in:\n{text}");
    assert!(shown.contains("\n    fix: "), "no fix line in {shown:?}");
    assert!(!r.fix.trim().is_empty(), "empty fix for {kind:?}");
    for n in needles {
        assert!(r.problem.contains(n) || r.fix.contains(n), "{n:?} not named by the {kind:?} refusal:\n{shown}");
    }
}

/// Refused for `kind` and nothing else.
#[track_caller]
fn assert_only(err: &PlanError, kind: RefusalKind, needles: &[&str]) {
    let kinds: Vec<RefusalKind> = err.refusals().iter().map(|r| r.kind).collect();
    assert_eq!(kinds, vec![kind], "{err}");
    assert_mentions(err, kind, needles);
}

fn svc(inv: &mut Inventory) -> &mut ecs_bluegreen::inventory::ServiceDefinition {
    inv.service.as_mut().unwrap()
}

fn owned() -> Tags {
    sample::owned_tags(sample::MIGRATION_ID)
}

/// The sample's pipeline with the Deploy stage's actions replaced.
fn with_deploy_actions(inv: &mut Inventory, actions: Vec<ActionInfo>) {
    let p = inv.pipeline.as_mut().unwrap().as_mut().unwrap();
    p.stages.last_mut().unwrap().actions = actions;
}

fn green_tg(tags: Tags) -> TargetGroupInfo {
    TargetGroupInfo {
        arn: sample::GREEN_TG_ARN.to_owned(),
        name: sample::GREEN_TG.to_owned(),
        load_balancer_arns: vec![],
        tags,
        ..sample::blue_target_group()
    }
}

fn role(tags: Tags) -> RoleInfo {
    RoleInfo { name: sample::ROLE_NAME.to_owned(), arn: sample::ROLE_ARN.to_owned(), tags }
}

fn application(tags: Tags) -> ApplicationInfo {
    ApplicationInfo {
        name: sample::APPLICATION.to_owned(),
        id: Some("5f1c2a3b-7d8e-4f90-a1b2-c3d4e5f60718".to_owned()),
        compute_platform: Some("ECS".to_owned()),
        tags,
    }
}

fn deployment_group(tags: Tags) -> DeploymentGroupInfo {
    DeploymentGroupInfo {
        name: sample::DEPLOYMENT_GROUP.to_owned(),
        service_role_arn: Some(sample::ROLE_ARN.to_owned()),
        deployment_config_name: Some("CodeDeployDefault.ECSAllAtOnce".to_owned()),
        ecs_services: vec![],
        target_group_names: vec![],
        prod_listener_arns: vec![sample::PROD_LISTENER_ARN.to_owned()],
        test_listener_arns: vec![],
        tags,
    }
}

fn nlb(inv: &mut Inventory) {
    let lb = inv.load_balancer.as_mut().unwrap();
    lb.r#type = "network".to_owned();
    lb.arn = lb.arn.replace("/app/", "/net/");
    for l in &mut lb.listeners {
        l.protocol = Some("TCP".to_owned());
    }
    let tg = inv.blue_target_group.as_mut().unwrap();
    tg.protocol = Some("TCP".to_owned());
    tg.protocol_version = None;
    tg.matcher_http_code = None;
    tg.health_check_path = None;
    tg.health_check_protocol = Some("TCP".to_owned());
    tg.attributes.remove("stickiness.type");
    tg.attributes.insert("stickiness.enabled".to_owned(), "false".to_owned());
}

// ---------------------------------------------------------------------------------------------
// the sample itself plans

#[test]
fn the_sample_plans_without_refusal() {
    let p = planned(&sample::migration(), &sample::inventory());
    assert_eq!(p.changes.len(), 8);
    assert!(!p.already_migrated);
}

// ---------------------------------------------------------------------------------------------
// the service

#[test]
fn missing_service_is_refused() {
    let mut inv = sample::inventory();
    inv.service = None;
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::ServiceMissing, &["web", "prod", "not found"]);
}

#[test]
fn draining_service_is_refused() {
    let mut inv = sample::inventory();
    svc(&mut inv).status = "DRAINING".to_owned();
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::ServiceNotActive, &["web", "DRAINING", "ACTIVE"]);
}

#[test]
fn code_deploy_service_without_identical_setup_is_refused() {
    let mut inv = sample::inventory();
    svc(&mut inv).deployment_controller = "CODE_DEPLOY".to_owned();
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::AlreadyCodeDeploy, &["web", "CODE_DEPLOY", "prod-web/web-bluegreen"]);
}

#[test]
fn code_deploy_service_whose_group_deploys_another_service_is_refused() {
    // A deployment group with the planned name exists (ours), but lists another service.
    let mut inv = sample::inventory();
    svc(&mut inv).deployment_controller = "CODE_DEPLOY".to_owned();
    inv.existing.deployment_group = Some(DeploymentGroupInfo {
        ecs_services: vec![("prod".to_owned(), "api".to_owned())],
        target_group_names: vec![sample::BLUE_TG.to_owned(), sample::GREEN_TG.to_owned()],
        ..deployment_group(owned())
    });
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::AlreadyCodeDeploy, &["CODE_DEPLOY"]);
}

#[test]
fn external_controller_is_refused() {
    let mut inv = sample::inventory();
    svc(&mut inv).deployment_controller = "EXTERNAL".to_owned();
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::ExternalController, &["web", "EXTERNAL"]);
}

#[test]
fn unknown_controller_is_refused() {
    let mut inv = sample::inventory();
    svc(&mut inv).deployment_controller = "QUANTUM".to_owned();
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::ExternalController, &["QUANTUM"]);
}

#[test]
fn ecs_native_blue_green_strategy_is_refused() {
    let mut inv = sample::inventory();
    let dc = svc(&mut inv).deployment_configuration.as_mut().unwrap();
    dc.strategy = Some("BLUE_GREEN".to_owned());
    dc.bake_time_in_minutes = Some(10);
    dc.circuit_breaker = None;
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::EcsNativeStrategy, &["web", "BLUE_GREEN", "ROLLING"]);
}

#[test]
fn ecs_native_canary_strategy_is_refused() {
    let mut inv = sample::inventory();
    svc(&mut inv).deployment_configuration.as_mut().unwrap().strategy = Some("CANARY".to_owned());
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::EcsNativeStrategy, &["CANARY"]);
}

#[test]
fn daemon_service_is_refused() {
    let mut inv = sample::inventory();
    svc(&mut inv).scheduling_strategy = Some("DAEMON".to_owned());
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::DaemonScheduling, &["web", "DAEMON", "REPLICA"]);
}

// ---------------------------------------------------------------------------------------------
// load balancing

#[test]
fn service_without_load_balancer_is_refused() {
    let mut inv = sample::inventory();
    svc(&mut inv).load_balancers.clear();
    inv.blue_target_group = None;
    inv.load_balancer = None;
    let err = refused(&sample::migration(), &inv);
    assert_only(
        &err,
        RefusalKind::NoLoadBalancer,
        &["web", "no load balancer", "Application or Network Load Balancer"],
    );
}

#[test]
fn classic_load_balancer_is_refused() {
    let mut inv = sample::inventory();
    svc(&mut inv).load_balancers = vec![LoadBalancerEntry {
        target_group_arn: None,
        load_balancer_name: Some("web-elb".to_owned()),
        container_name: Some("web".to_owned()),
        container_port: Some(80),
        advanced_configuration: None,
    }];
    inv.blue_target_group = None;
    inv.load_balancer = None;
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::ClassicLoadBalancer, &["web", "Classic Load Balancer web-elb"]);
}

#[test]
fn several_target_groups_are_refused() {
    let mut inv = sample::inventory();
    let second = LoadBalancerEntry {
        target_group_arn: Some(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-admin-tg/0e1f2a3b4c5d6e7f".to_owned(),
        ),
        load_balancer_name: None,
        container_name: Some("web".to_owned()),
        container_port: Some(80),
        advanced_configuration: None,
    };
    svc(&mut inv).load_balancers.push(second);
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::SeveralTargetGroups, &["web", "2 target groups", "exactly one"]);
}

#[test]
fn missing_target_group_is_refused() {
    let mut inv = sample::inventory();
    inv.blue_target_group = None;
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::TargetGroupMissing, &[sample::BLUE_TG_ARN, "does not exist"]);
}

#[test]
fn target_group_without_load_balancer_is_refused() {
    let mut inv = sample::inventory();
    inv.blue_target_group.as_mut().unwrap().load_balancer_arns.clear();
    inv.load_balancer = None;
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::TargetGroupMissing, &[sample::BLUE_TG_ARN, "not attached to a load balancer"]);
}

#[test]
fn no_listener_forwarding_to_the_blue_group_is_refused() {
    let mut inv = sample::inventory();
    let l = &mut inv.load_balancer.as_mut().unwrap().listeners[0];
    l.default_forward = vec![WeightedTargetGroup {
        target_group_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/other/0123456789abcdef"
            .to_owned(),
        weight: 1,
    }];
    let err = refused(&sample::migration(), &inv);
    assert_only(
        &err,
        RefusalKind::NoProductionListener,
        &["0 listeners of web-alb forward to web-tg-1", "exactly one"],
    );
}

#[test]
fn two_listeners_forwarding_to_the_blue_group_are_refused() {
    // HTTP:80 and HTTPS:443 both forwarding to the service: CodeDeploy takes one production listener.
    let mut inv = sample::inventory();
    let lb = inv.load_balancer.as_mut().unwrap();
    let mut https = sample::prod_listener();
    https.arn = https.arn.replace("f2f7dc8efc522ab2", "0a9b8c7d6e5f4a3b");
    https.port = Some(443);
    https.protocol = Some("HTTPS".to_owned());
    lb.listeners.push(https);
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::NoProductionListener, &["2 listeners of web-alb forward to web-tg-1"]);
}

#[test]
fn listener_reaching_the_blue_group_only_through_a_rule_is_refused_as_verify_fails_it() {
    // One rule for plan and verify: CodeDeploy shifts traffic on the default action, so a
    // listener whose default action does not forward is no production listener.
    let mut inv = sample::inventory();
    let l = &mut inv.load_balancer.as_mut().unwrap().listeners[0];
    l.default_forward.clear();
    l.default_actions.clear();
    let rule = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9a8b7c6d5e4f3a2b";
    l.rules_to_blue = vec![rule.to_owned()];
    let err = refused(&sample::migration(), &inv);
    assert_only(
        &err,
        RefusalKind::NoProductionListener,
        &[sample::PROD_LISTENER_ARN, "its default action does not forward", "only through rule", rule],
    );
}

#[test]
fn listener_forwarding_to_the_blue_group_and_another_is_refused() {
    let mut inv = sample::inventory();
    let l = &mut inv.load_balancer.as_mut().unwrap().listeners[0];
    let other = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/other/0123456789abcdef";
    l.default_forward.push(WeightedTargetGroup { target_group_arn: other.to_owned(), weight: 1 });
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::NoProductionListener, &[sample::PROD_LISTENER_ARN, "also forwards to", other]);
}

#[test]
fn service_connect_is_refused() {
    let mut inv = sample::inventory();
    svc(&mut inv).deployments[0].service_connect = true;
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::ServiceConnect, &["web", "Service Connect"]);
}

#[test]
fn vpc_lattice_is_refused() {
    let mut inv = sample::inventory();
    svc(&mut inv).deployments[0].vpc_lattice = true;
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::VpcLattice, &["web", "VPC Lattice"]);
}

// ---------------------------------------------------------------------------------------------
// deployments in flight

#[test]
fn two_listed_deployments_are_a_deployment_in_flight() {
    let mut inv = sample::inventory();
    let s = svc(&mut inv);
    s.deployments[0].rollout_state = Some("IN_PROGRESS".to_owned());
    s.deployments[0].running_count = 1;
    s.deployments.push(DeploymentSummary {
        id: Some("ecs-svc/1968201450732287564".to_owned()),
        status: "ACTIVE".to_owned(),
        rollout_state: Some("COMPLETED".to_owned()),
        desired_count: 2,
        running_count: 2,
        ..DeploymentSummary::default()
    });
    let err = refused(&sample::migration(), &inv);
    assert_only(
        &err,
        RefusalKind::DeploymentInFlight,
        &["web", "deployment in progress", "2 deployments", "services-stable"],
    );
}

#[test]
fn two_completed_deployments_are_still_in_flight() {
    // Two entries in `deployments` means the old one is still draining, whatever the rollout state says.
    let mut inv = sample::inventory();
    let old = DeploymentSummary { status: "ACTIVE".to_owned(), ..svc(&mut inv).deployments[0].clone() };
    svc(&mut inv).deployments.push(old);
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::DeploymentInFlight, &["2 deployments"]);
}

#[test]
fn one_deployment_in_progress_is_a_deployment_in_flight() {
    let mut inv = sample::inventory();
    svc(&mut inv).deployments[0].rollout_state = Some("IN_PROGRESS".to_owned());
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::DeploymentInFlight, &["service web has a deployment in progress"]);
}

// ---------------------------------------------------------------------------------------------
// test listener port

#[test]
fn test_port_equal_to_production_port_is_refused() {
    let m = sample::base().test_listener_port(Port::new(80).unwrap()).pipeline(sample::pipeline_stage()).build();
    let err = refused(&m, &sample::inventory());
    assert_only(
        &err,
        RefusalKind::TestPortIsProductionPort,
        &["test listener port 80", "production", "--test-listener-port"],
    );
}

#[test]
fn test_port_used_by_another_listener_is_refused() {
    let mut inv = sample::inventory();
    let other_tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/admin-tg/1a2b3c4d5e6f7a8b";
    inv.load_balancer.as_mut().unwrap().listeners.push(sample::listener_8080(other_tg, Tags::new()));
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::TestPortInUse, &["port 8080", sample::PORT_8080_LISTENER_ARN, "web-alb", "free"]);
}

#[test]
fn test_port_used_by_a_listener_of_another_migration_is_refused() {
    let mut inv = sample::inventory();
    let tags = sample::owned_tags("prod/api");
    inv.load_balancer.as_mut().unwrap().listeners.push(sample::listener_8080(sample::GREEN_TG_ARN, tags));
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::TestPortInUse, &["port 8080"]);
}

#[test]
fn test_port_used_by_our_own_listener_is_planned_as_noop() {
    // A rerun: the listener on 8080 carries our ownership tag, so it is reused, not refused.
    let mut inv = sample::inventory();
    inv.load_balancer.as_mut().unwrap().listeners.push(sample::listener_8080(sample::GREEN_TG_ARN, owned()));
    let p = planned(&sample::migration(), &inv);
    let c = p.change(StepId::TestListener).unwrap();
    assert_eq!(c.action, Action::NoOp);
    let ChangeDetail::TestListener { route: TestRoute::Listener { port, arn, .. }, .. } = &c.detail else {
        panic!("expected a test listener route: {:?}", c.detail)
    };
    assert_eq!(*port, 8080);
    assert_eq!(arn, sample::PORT_8080_LISTENER_ARN);
    let Some(ChangeDetail::DeploymentGroup(dg)) = p.change(StepId::DeploymentGroup).map(|c| &c.detail) else {
        panic!("no deployment group")
    };
    assert_eq!(dg.test_listener_arn.as_deref(), Some(sample::PORT_8080_LISTENER_ARN));
}

// ---------------------------------------------------------------------------------------------
// Network Load Balancer

#[test]
fn nlb_with_canary_config_is_refused() {
    let mut inv = sample::inventory();
    nlb(&mut inv);
    let m = sample::base()
        .test_listener_port(Port::new(8080).unwrap())
        .deployment_config(DeploymentConfig::EcsCanary10Percent5Minutes)
        .pipeline(sample::pipeline_stage())
        .build();
    let err = refused(&m, &inv);
    assert_only(
        &err,
        RefusalKind::NlbNeedsAllAtOnce,
        &["CodeDeployDefault.ECSCanary10Percent5Minutes", "Network Load Balancer", "CodeDeployDefault.ECSAllAtOnce"],
    );
}

#[test]
fn nlb_with_linear_config_is_refused() {
    let mut inv = sample::inventory();
    nlb(&mut inv);
    let m = sample::base().deployment_config(DeploymentConfig::EcsLinear10PercentEvery1Minutes).build();
    let err = refused(&m, &inv);
    assert_only(&err, RefusalKind::NlbNeedsAllAtOnce, &["CodeDeployDefault.ECSLinear10PercentEvery1Minutes"]);
}

#[test]
fn nlb_with_all_at_once_is_planned() {
    let mut inv = sample::inventory();
    nlb(&mut inv);
    let m = sample::base()
        .test_listener_port(Port::new(8080).unwrap())
        .deployment_config(DeploymentConfig::EcsAllAtOnce)
        .pipeline(sample::pipeline_stage())
        .build();
    let p = planned(&m, &inv);
    assert!(!p.warnings.iter().any(|w| w.contains("Network Load Balancer")), "{:?}", p.warnings);
    let c = p.change(StepId::TestListener).unwrap();
    let ChangeDetail::TestListener { route: TestRoute::Listener { protocol, .. }, .. } = &c.detail else {
        panic!("expected a test listener: {:?}", c.detail)
    };
    assert_eq!(protocol, "TCP", "an NLB test listener copies the production listener's protocol");
}

#[test]
fn nlb_with_custom_config_is_planned_with_a_warning() {
    let mut inv = sample::inventory();
    nlb(&mut inv);
    let m = sample::base().deployment_config(DeploymentConfig::parse("web-all-at-once").unwrap()).build();
    let p = planned(&m, &inv);
    assert!(
        p.warnings.iter().any(|w| w.contains("Network Load Balancer") && w.contains("web-all-at-once")),
        "{:?}",
        p.warnings
    );
}

/// What discovery reads for a custom config (GetDeploymentConfig).
fn custom_config(name: &str, platform: &str, routing: Option<&str>) -> Option<Option<DeploymentConfigInfo>> {
    Some(Some(DeploymentConfigInfo {
        name: name.to_owned(),
        compute_platform: Some(platform.to_owned()),
        traffic_routing: routing.map(str::to_owned),
    }))
}

#[test]
fn a_custom_deployment_config_that_does_not_exist_is_refused_naming_it() {
    let mut inv = sample::inventory();
    // Discovery asked GetDeploymentConfig: DeploymentConfigDoesNotExistException.
    inv.deployment_config = Some(None);
    let m = sample::base().deployment_config(DeploymentConfig::parse("web-all-at-onse").unwrap()).build();
    let err = refused(&m, &inv);
    assert_only(&err, RefusalKind::DeploymentConfigMissing, &["web-all-at-onse", "does not exist", "create-deployment-config"]);
}

#[test]
fn a_custom_deployment_config_of_another_compute_platform_is_refused_naming_it() {
    let mut inv = sample::inventory();
    inv.deployment_config = custom_config("web-one-at-a-time", "Server", None);
    let m = sample::base().deployment_config(DeploymentConfig::parse("web-one-at-a-time").unwrap()).build();
    let err = refused(&m, &inv);
    assert_only(&err, RefusalKind::DeploymentConfigNotEcs, &["web-one-at-a-time", "Server", "ECS"]);
}

#[test]
fn a_custom_ecs_deployment_config_is_planned_with_its_name() {
    let mut inv = sample::inventory();
    inv.deployment_config = custom_config("web-canary", "ECS", Some("TimeBasedCanary"));
    let m = sample::base().deployment_config(DeploymentConfig::parse("web-canary").unwrap()).build();
    let p = planned(&m, &inv);
    let ChangeDetail::DeploymentGroup(dg) = &p.change(StepId::DeploymentGroup).unwrap().detail else { panic!() };
    assert_eq!(dg.deployment_config.name(), "web-canary");
}

#[test]
fn nlb_with_a_custom_gradual_config_is_refused_and_a_custom_all_at_once_one_planned_without_a_warning() {
    let mut inv = sample::inventory();
    nlb(&mut inv);
    inv.deployment_config = custom_config("web-linear", "ECS", Some("TimeBasedLinear"));
    let m = sample::base().deployment_config(DeploymentConfig::parse("web-linear").unwrap()).build();
    let err = refused(&m, &inv);
    assert_only(&err, RefusalKind::NlbNeedsAllAtOnce, &["web-linear", "Network Load Balancer"]);

    inv.deployment_config = custom_config("web-all-at-once", "ECS", Some("AllAtOnce"));
    let m = sample::base().deployment_config(DeploymentConfig::parse("web-all-at-once").unwrap()).build();
    let p = planned(&m, &inv);
    assert!(!p.warnings.iter().any(|w| w.contains("Network Load Balancer")), "{:?}", p.warnings);
}

// ---------------------------------------------------------------------------------------------
// names

#[test]
fn green_override_equal_to_the_blue_name_is_refused() {
    let mut inv = sample::inventory();
    // Discovery looks the green name up and finds the blue group itself.
    inv.existing.green_target_group = Some(sample::blue_target_group());
    let pair = TargetGroupPair::builder().green_name(TargetGroupName::new(sample::BLUE_TG).unwrap()).build();
    let m = sample::base().target_groups(pair).build();
    let err = refused(&m, &inv);
    assert_mentions(&err, RefusalKind::InvalidName, &["green target group name web-tg-1", "blue group's name"]);
    assert!(err.refusals().iter().all(|r| matches!(r.kind, RefusalKind::InvalidName | RefusalKind::NotOwned)), "{err}");
}

#[test]
fn green_override_equal_to_the_blue_name_is_refused_even_when_discovery_found_nothing() {
    let pair = TargetGroupPair::builder().green_name(TargetGroupName::new(sample::BLUE_TG).unwrap()).build();
    let m = sample::base().target_groups(pair).build();
    let err = refused(&m, &sample::inventory());
    assert_only(&err, RefusalKind::InvalidName, &["web-tg-1"]);
}

#[test]
fn derived_names_from_a_malformed_cluster_arn_are_refused() {
    // `ClusterName` accepts anything starting with "arn:"; without ":cluster/" the whole ARN becomes
    // the "cluster name", and the derived role and application names carry ':' which IAM and
    // CodeDeploy refuse. The plan must say so instead of letting AWS fail half-way.
    let m = Migration::for_service("arn:aws:ecs:us-east-1:123456789012:cluster:prod", "web").unwrap().build();
    let err = refused(&m, &sample::inventory());
    let kinds: Vec<RefusalKind> = err.refusals().iter().map(|r| r.kind).collect();
    assert_eq!(kinds, vec![RefusalKind::InvalidName, RefusalKind::InvalidName], "{err}");
    let text = err.to_string();
    assert!(text.contains("role name"), "{text}");
    assert!(text.contains("CodeDeploy application name"), "{text}");
    assert!(text.contains("':'"), "{text}");
    assert_eq!(text.matches("fix:").count(), 2, "{text}");
}

#[test]
fn long_cluster_and_service_names_are_cut_not_refused() {
    // role_spec cuts `<cluster>-<service>` so that `-codedeploy` still fits IAM's 64 characters.
    let cluster = "c".repeat(200);
    let service = "s".repeat(255);
    let mut inv = sample::inventory();
    svc(&mut inv).name = service.clone();
    let m = Migration::for_service(&cluster, &service).unwrap().test_listener_port(Port::new(8080).unwrap()).build();
    let p = planned(&m, &inv);
    let Some(ChangeDetail::ServiceRole { name, .. }) = p.change(StepId::ServiceRole).map(|c| &c.detail) else {
        panic!("no role")
    };
    assert_eq!(name.len(), 64);
    assert!(name.ends_with("-codedeploy"));
    let Some(ChangeDetail::Application { name, .. }) = p.change(StepId::Application).map(|c| &c.detail) else {
        panic!("no application")
    };
    assert_eq!(name.len(), 100);
    let Some(ChangeDetail::ServiceCutover { bridge_name, .. }) = p.change(StepId::ServiceCutover).map(|c| &c.detail)
    else {
        panic!("no cutover")
    };
    let bridge = bridge_name.as_deref().unwrap();
    assert_eq!(bridge.len(), 255, "bridge service names obey ECS's 255 characters");
    assert!(bridge.ends_with("-bg-bridge"));
}

#[test]
fn ownership_tag_values_fit_aws_tag_limits() {
    // Cluster and service names may each have 255 characters; the derived migration id joins them
    // and is written as a tag value on every created resource. ELBv2, IAM and CodeDeploy cap tag
    // values at 256 characters, so the plan must either keep the id short or refuse before apply.
    let cluster = "c".repeat(200);
    let service = "s".repeat(200);
    let mut inv = sample::inventory();
    svc(&mut inv).name = service.clone();
    let m = Migration::for_service(&cluster, &service).unwrap().test_listener_port(Port::new(8080).unwrap()).build();
    match plan(&m, &inv) {
        Err(err) => assert_mentions(&err, RefusalKind::InvalidName, &["migration"]),
        Ok(p) => {
            let json = serde_json::to_value(&p).unwrap();
            for c in json["changes"].as_array().unwrap() {
                let tags = c["detail"]["tags"].as_object().or_else(|| c["detail"]["settings"]["tags"].as_object());
                for (k, v) in tags.into_iter().flatten() {
                    let v = v.as_str().unwrap();
                    assert!(v.chars().count() <= 256, "{}: tag {k} has {} characters", c["step"], v.chars().count());
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// pipeline

#[test]
fn missing_pipeline_is_refused() {
    let mut inv = sample::inventory();
    inv.pipeline = Some(None);
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::PipelineMissing, &["pipeline web-pipeline does not exist", "--pipeline"]);
}

#[test]
fn pipeline_deploying_another_service_is_refused() {
    let mut inv = sample::inventory();
    let mut action = sample::ecs_deploy_action();
    action.configuration.insert("ServiceName".to_owned(), "api".to_owned());
    with_deploy_actions(&mut inv, vec![action]);
    let err = refused(&sample::migration(), &inv);
    assert_only(
        &err,
        RefusalKind::PipelineNoDeployAction,
        &["pipeline web-pipeline has no Deploy action", "service web", "cluster prod"],
    );
}

#[test]
fn pinned_action_name_that_does_not_exist_is_refused() {
    let stage = ecs_bluegreen::spec::PipelineDeployStage::builder()
        .pipeline_name(ecs_bluegreen::spec::PipelineName::new(sample::PIPELINE).unwrap())
        .action_name("DeployBlue".to_owned())
        .build();
    let m = sample::base().pipeline(stage).build();
    let err = refused(&m, &sample::inventory());
    assert_only(&err, RefusalKind::PipelineNoDeployAction, &["named DeployBlue"]);
}

#[test]
fn pipeline_deploy_action_with_cluster_arn_is_recognised() {
    // The ECS action may name the cluster by ARN.
    let mut inv = sample::inventory();
    let mut action = sample::ecs_deploy_action();
    action.configuration.insert("ClusterName".to_owned(), sample::CLUSTER_ARN.to_owned());
    with_deploy_actions(&mut inv, vec![action]);
    let p = planned(&sample::migration(), &inv);
    assert_eq!(p.change(StepId::PipelineDeployAction).unwrap().action, Action::Update);
}

#[test]
fn two_deploy_actions_for_the_service_are_ambiguous() {
    let mut inv = sample::inventory();
    let first = sample::ecs_deploy_action();
    let second = ActionInfo { name: "DeployAgain".to_owned(), run_order: Some(2), ..sample::ecs_deploy_action() };
    with_deploy_actions(&mut inv, vec![first, second]);
    let err = refused(&sample::migration(), &inv);
    assert_only(
        &err,
        RefusalKind::PipelineAmbiguous,
        &["several Deploy actions for service web", "Deploy/Deploy", "Deploy/DeployAgain", "action_name"],
    );
}

#[test]
fn pinning_the_action_name_resolves_the_ambiguity() {
    let mut inv = sample::inventory();
    let second = ActionInfo { name: "DeployAgain".to_owned(), run_order: Some(2), ..sample::ecs_deploy_action() };
    with_deploy_actions(&mut inv, vec![sample::ecs_deploy_action(), second]);
    let stage = ecs_bluegreen::spec::PipelineDeployStage::builder()
        .pipeline_name(ecs_bluegreen::spec::PipelineName::new(sample::PIPELINE).unwrap())
        .action_name("DeployAgain".to_owned())
        .build();
    let p = planned(&sample::base().pipeline(stage).build(), &inv);
    let Some(ChangeDetail::PipelineDeployAction { before, .. }) =
        p.change(StepId::PipelineDeployAction).map(|c| &c.detail)
    else {
        panic!("no pipeline change")
    };
    assert_eq!(before.name, "DeployAgain");
}

#[test]
fn deploy_input_not_produced_upstream_is_refused() {
    let mut inv = sample::inventory();
    let action = ActionInfo { input_artifacts: vec!["ImageArtifact".to_owned()], ..sample::ecs_deploy_action() };
    with_deploy_actions(&mut inv, vec![action]);
    let err = refused(&sample::migration(), &inv);
    assert_only(
        &err,
        RefusalKind::PipelineInputNotProduced,
        &["Deploy/Deploy", "ImageArtifact", "no earlier stage of pipeline web-pipeline"],
    );
}

#[test]
fn deploy_input_produced_only_by_a_later_stage_is_refused() {
    let mut inv = sample::inventory();
    let p = inv.pipeline.as_mut().unwrap().as_mut().unwrap();
    // Move Build after Deploy: BuildArtifact now comes too late.
    let build = p.stages.remove(1);
    p.stages.push(build);
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::PipelineInputNotProduced, &["BuildArtifact"]);
}

#[test]
fn deploy_input_produced_earlier_in_the_same_stage_is_accepted() {
    // Build and Deploy in one stage, ordered by runOrder: CodePipeline passes BuildArtifact along.
    let mut inv = sample::inventory();
    let p = inv.pipeline.as_mut().unwrap().as_mut().unwrap();
    let build = p.stages.remove(1).actions.remove(0);
    let deploy = ActionInfo { run_order: Some(2), ..sample::ecs_deploy_action() };
    p.stages[1] = StageInfo { name: "BuildAndDeploy".to_owned(), actions: vec![build, deploy] };
    let plan = planned(&sample::migration(), &inv);
    assert_eq!(plan.change(StepId::PipelineDeployAction).unwrap().action, Action::Update);
}

#[test]
fn deploy_action_without_input_is_refused() {
    let mut inv = sample::inventory();
    let action = ActionInfo { input_artifacts: vec![], ..sample::ecs_deploy_action() };
    with_deploy_actions(&mut inv, vec![action]);
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::PipelineInputNotProduced, &["Deploy/Deploy has no input artifact"]);
}

#[test]
fn pipeline_stage_layout_is_kept_when_the_action_is_found_in_another_stage() {
    // The Deploy action lives in a stage named "Production"; the plan names that stage.
    let mut inv = sample::inventory();
    let p = inv.pipeline.as_mut().unwrap().as_mut().unwrap();
    p.stages[2] = StageInfo { name: "Production".to_owned(), actions: vec![sample::ecs_deploy_action()] };
    let plan = planned(&sample::migration(), &inv);
    let Some(ChangeDetail::PipelineDeployAction { stage, .. }) =
        plan.change(StepId::PipelineDeployAction).map(|c| &c.detail)
    else {
        panic!("no pipeline change")
    };
    assert_eq!(stage, "Production");
}

// ---------------------------------------------------------------------------------------------
// ownership of resources under the planned names

#[test]
fn foreign_role_is_refused() {
    let mut inv = sample::inventory();
    inv.existing.role = Some(role(Tags::new()));
    let err = refused(&sample::migration(), &inv);
    assert_only(
        &err,
        RefusalKind::NotOwned,
        &["IAM role prod-web-codedeploy already exists", OWNERSHIP_TAG, "prod/web", "existing_role_arn"],
    );
}

#[test]
fn role_of_another_migration_is_refused() {
    let mut inv = sample::inventory();
    inv.existing.role = Some(role(sample::owned_tags("prod/api")));
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::NotOwned, &["IAM role prod-web-codedeploy"]);
}

#[test]
fn own_role_is_planned_as_noop() {
    let mut inv = sample::inventory();
    inv.existing.role = Some(role(owned()));
    let p = planned(&sample::migration(), &inv);
    let c = p.change(StepId::ServiceRole).unwrap();
    assert_eq!(c.action, Action::NoOp);
    let ChangeDetail::ServiceRole { arn, adopted, .. } = &c.detail else { panic!("{:?}", c.detail) };
    assert_eq!(arn, sample::ROLE_ARN);
    assert!(!adopted);
    let Some(ChangeDetail::DeploymentGroup(dg)) = p.change(StepId::DeploymentGroup).map(|c| &c.detail) else {
        panic!("no deployment group")
    };
    assert_eq!(dg.service_role_arn, sample::ROLE_ARN);
}

#[test]
fn foreign_application_is_refused() {
    let mut inv = sample::inventory();
    inv.existing.application = Some(application(Tags::new()));
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::NotOwned, &["CodeDeploy application prod-web already exists", OWNERSHIP_TAG]);
}

#[test]
fn own_application_is_planned_as_noop() {
    let mut inv = sample::inventory();
    inv.existing.application = Some(application(owned()));
    let p = planned(&sample::migration(), &inv);
    assert_eq!(p.change(StepId::Application).unwrap().action, Action::NoOp);
}

#[test]
fn foreign_deployment_group_is_refused() {
    let mut inv = sample::inventory();
    inv.existing.deployment_group = Some(deployment_group(Tags::new()));
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::NotOwned, &["deployment group web-bluegreen already exists", OWNERSHIP_TAG]);
}

#[test]
fn own_deployment_group_is_planned_as_noop() {
    let mut inv = sample::inventory();
    inv.existing.deployment_group = Some(deployment_group(owned()));
    let p = planned(&sample::migration(), &inv);
    assert_eq!(p.change(StepId::DeploymentGroup).unwrap().action, Action::NoOp);
}

#[test]
fn foreign_green_target_group_is_refused() {
    let mut inv = sample::inventory();
    inv.existing.green_target_group = Some(green_tg(Tags::new()));
    let err = refused(&sample::migration(), &inv);
    assert_only(
        &err,
        RefusalKind::NotOwned,
        &["target group web-tg-1-green already exists", OWNERSHIP_TAG, "TargetGroupPair"],
    );
}

#[test]
fn own_green_target_group_is_planned_as_noop() {
    let mut inv = sample::inventory();
    inv.existing.green_target_group = Some(green_tg(owned()));
    let p = planned(&sample::migration(), &inv);
    let c = p.change(StepId::GreenTargetGroup).unwrap();
    assert_eq!(c.action, Action::NoOp);
    let ChangeDetail::GreenTargetGroup { settings, .. } = &c.detail else { panic!("{:?}", c.detail) };
    assert_eq!(settings.arn, sample::GREEN_TG_ARN);
}

// ---------------------------------------------------------------------------------------------
// task definition

#[test]
fn load_balancer_container_missing_from_the_task_definition_is_refused() {
    let mut inv = sample::inventory();
    svc(&mut inv).load_balancers[0].container_name = Some("app".to_owned());
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::ContainerMismatch, &["container \"app\"", sample::TASK_DEFINITION_ARN]);
}

#[test]
fn load_balancer_port_missing_from_the_container_is_refused() {
    let mut inv = sample::inventory();
    svc(&mut inv).load_balancers[0].container_port = Some(8080);
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::ContainerMismatch, &["container web", "port 8080", "port mapping"]);
}

// ---------------------------------------------------------------------------------------------
// target

#[test]
fn ecs_native_target_plans_the_in_place_steps_and_a_code_deploy_service_needs_its_deployment_group() {
    // The ECS-native target (direction 1 of issue #15) is planned; its refusals are in
    // tests/mocked/native.rs. A CODE_DEPLOY service migrates onward (tests/mocked/
    // from_codedeploy.rs) from its deployment group and single primary task set.
    let m = sample::base().target(Target::EcsNative).build();
    let plan = ecs_bluegreen::plan::plan(&m, &sample::inventory()).unwrap();
    assert_eq!(plan.changes.iter().map(|c| c.step.clone()).collect::<Vec<_>>(), StepId::NATIVE.to_vec());
    let mut inv = sample::inventory();
    svc(&mut inv).deployment_controller = "CODE_DEPLOY".to_owned();
    svc(&mut inv).task_set_count = 1;
    let err = refused(&m, &inv);
    assert_only(&err, RefusalKind::NoDeploymentGroup, &["no CodeDeploy deployment group", "web"]);
}

// ---------------------------------------------------------------------------------------------
// several problems at once

#[test]
fn every_problem_is_reported_at_once() {
    let mut inv = sample::inventory();
    let s = svc(&mut inv);
    s.scheduling_strategy = Some("DAEMON".to_owned());
    s.deployments[0].service_connect = true;
    s.deployments[0].rollout_state = Some("IN_PROGRESS".to_owned());
    s.load_balancers[0].container_port = Some(8080);
    inv.pipeline = Some(None);
    inv.existing.role = Some(role(Tags::new()));
    inv.existing.application = Some(application(Tags::new()));
    let m = sample::base()
        .test_listener_port(Port::new(80).unwrap())
        .cutover(ServiceCutover::Recreate)
        .pipeline(sample::pipeline_stage())
        .build();
    let err = refused(&m, &inv);
    let kinds: Vec<RefusalKind> = err.refusals().iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        vec![
            RefusalKind::DaemonScheduling,
            RefusalKind::ServiceConnect,
            RefusalKind::DeploymentInFlight,
            RefusalKind::TestPortIsProductionPort,
            RefusalKind::ContainerMismatch,
            RefusalKind::NotOwned,
            RefusalKind::NotOwned,
            RefusalKind::PipelineMissing,
        ],
        "{err}"
    );
    let text = err.to_string();
    for needle in [
        "ECS-native",
        "DAEMON",
        "Service Connect",
        "deployment in progress",
        "port 80",
        "port mapping",
        "IAM role",
        "CodeDeploy application",
        "web-pipeline",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert_eq!(text.matches("\n  - ").count(), kinds.len(), "{text}");
    assert_eq!(text.matches("fix:").count(), kinds.len(), "{text}");
}

#[test]
fn refusals_serialise_for_machines() {
    let mut inv = sample::inventory();
    svc(&mut inv).scheduling_strategy = Some("DAEMON".to_owned());
    let err = refused(&sample::migration(), &inv);
    let json = serde_json::to_value(&err).unwrap();
    assert_eq!(json["refusals"][0]["kind"], "daemon-scheduling");
    assert!(json["refusals"][0]["fix"].as_str().unwrap().contains("REPLICA"));
    let back: PlanError = serde_json::from_value(json).unwrap();
    assert_eq!(back, err);
}

// ---------------------------------------------------------------------------------------------
// names the cutover creates

#[test]
fn a_foreign_service_under_the_bridge_name_is_refused() {
    let mut inv = sample::inventory();
    let mut other = sample::service();
    other.name = "web-bg-bridge".to_owned();
    inv.existing.cutover_service = Some(other);
    let err = refused(&sample::migration(), &inv);
    assert_only(&err, RefusalKind::NotOwned, &["service web-bg-bridge already exists", "parallel-keep-name"]);
}

#[test]
fn this_migrations_own_leftover_bridge_is_not_refused() {
    let mut inv = sample::inventory();
    let mut bridge = sample::service();
    bridge.name = "web-bg-bridge".to_owned();
    bridge.tags.insert(ecs_bluegreen::inventory::OWNERSHIP_TAG.to_owned(), "prod/web".to_owned());
    inv.existing.cutover_service = Some(bridge);
    let p = planned(&sample::migration(), &inv);
    assert_eq!(p.change(StepId::ServiceCutover).unwrap().action, Action::Replace);
}

#[test]
fn a_taken_new_service_name_is_refused_for_the_parallel_cutover() {
    let mut inv = sample::inventory();
    let mut other = sample::service();
    other.name = "web-v2".to_owned();
    inv.existing.cutover_service = Some(other);
    let m = sample::base()
        .test_listener_port(Port::new(8080).unwrap())
        .cutover(ServiceCutover::Parallel { new_name: ecs_bluegreen::spec::ServiceName::new("web-v2").unwrap() })
        .build();
    let err = refused(&m, &inv);
    assert_only(&err, RefusalKind::NotOwned, &["service web-v2 already exists", "--new-service-name"]);
}
