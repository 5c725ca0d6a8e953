//! The happy path: what the plan for the sample service contains, value by value, how it
//! serialises, and how it renders (against the golden file `tests/golden/plan.txt`).
//!
//! To regenerate the golden file after an intended rendering change:
//! `UPDATE_GOLDEN=1 cargo test --test pure plan_output::golden`, then read the diff.

use crate::support;

use std::path::Path;

use ecs_bluegreen::Plan;
use ecs_bluegreen::inventory::{
    ActionInfo, ApplicationInfo, DeploymentConfigurationDef, DeploymentGroupInfo, Inventory, OWNERSHIP_TAG, RoleInfo,
    ServiceDefinition, Tags, TargetGroupInfo, WeightedTargetGroup,
};
use ecs_bluegreen::plan::{
    Action, Change, ChangeDetail, DeploymentGroupValues, DroppedSetting, KNOWN_AFTER_APPLY, StepId, TestRoute, plan,
};
use ecs_bluegreen::spec::{
    AutoRollbackEvent, DeploymentConfig, DeploymentGroupName, DeploymentGroupSpec, ServiceCutover, TerminationWait,
};
use support::sample;

const STEPS: [StepId; 8] = [
    StepId::GreenTargetGroup,
    StepId::TestListener,
    StepId::ServiceRole,
    StepId::Application,
    StepId::ServiceCutover,
    StepId::DeploymentGroup,
    StepId::PipelineRolePolicy,
    StepId::PipelineDeployAction,
];

fn sample_plan() -> Plan {
    plan(&sample::migration(), &sample::inventory()).unwrap_or_else(|e| panic!("{e}"))
}

fn change(p: &Plan, step: StepId) -> &Change {
    p.change(&step).unwrap_or_else(|| panic!("no {step} change in:\n{p}"))
}

fn owned() -> Tags {
    sample::owned_tags(sample::MIGRATION_ID)
}

fn s(v: &str) -> String {
    v.to_owned()
}

// ---------------------------------------------------------------------------------------------
// the changes and their values

#[test]
fn changes_come_in_execution_order() {
    let p = sample_plan();
    let steps: Vec<StepId> = p.changes.iter().map(|c| c.step.clone()).collect();
    assert_eq!(steps, STEPS);
    let actions: Vec<Action> = p.changes.iter().map(|c| c.action).collect();
    assert_eq!(
        actions,
        [
            Action::Create,
            Action::Create,
            Action::Create,
            Action::Create,
            Action::Replace,
            Action::Create,
            Action::Create,
            Action::Update
        ]
    );
    assert_eq!(p.counts(), (6, 1, 1, 0, 0));
    assert!(!p.is_noop());
    assert!(!p.already_migrated);
    assert_eq!(p.migration_id, "prod/web");
    assert_eq!(p.cluster, "prod");
    assert_eq!(p.service, "web");
    assert_eq!(p.account_id.as_deref(), Some(sample::ACCOUNT));
}

#[test]
fn every_change_depends_only_on_earlier_changes() {
    let p = sample_plan();
    let deps = |step| change(&p, step).depends_on.clone();
    assert_eq!(deps(StepId::GreenTargetGroup), []);
    assert_eq!(deps(StepId::TestListener), [StepId::GreenTargetGroup]);
    assert_eq!(deps(StepId::ServiceRole), []);
    assert_eq!(deps(StepId::Application), []);
    assert_eq!(
        deps(StepId::ServiceCutover),
        [StepId::GreenTargetGroup, StepId::TestListener, StepId::ServiceRole, StepId::Application]
    );
    assert_eq!(
        deps(StepId::DeploymentGroup),
        [StepId::ServiceRole, StepId::Application, StepId::ServiceCutover, StepId::TestListener]
    );
    assert_eq!(deps(StepId::PipelineDeployAction), [StepId::DeploymentGroup, StepId::PipelineRolePolicy]);
    assert!(deps(StepId::PipelineRolePolicy).is_empty());
    for (i, c) in p.changes.iter().enumerate() {
        for d in &c.depends_on {
            let j = p.changes.iter().position(|x| x.step == *d).unwrap();
            assert!(j < i, "{} depends on the later {d}", c.step);
        }
    }
}

#[test]
fn green_target_group_clones_the_blue_one() {
    let p = sample_plan();
    let c = change(&p, StepId::GreenTargetGroup);
    let ChangeDetail::GreenTargetGroup { settings, blue_name } = &c.detail else { panic!("{:?}", c.detail) };
    assert_eq!(blue_name, sample::BLUE_TG);
    let mut tags = sample::blue_target_group().tags;
    tags.insert(s(OWNERSHIP_TAG), s("prod/web"));
    let expected = TargetGroupInfo {
        arn: s(KNOWN_AFTER_APPLY),
        name: s("web-tg-1-green"),
        load_balancer_arns: vec![],
        tags,
        ..sample::blue_target_group()
    };
    assert_eq!(settings, &expected);
    // Spelled out, the values that matter most:
    assert_eq!(settings.target_type.as_deref(), Some("ip"));
    assert_eq!(settings.health_check_path.as_deref(), Some("/health"));
    assert_eq!(settings.matcher_http_code.as_deref(), Some("200-299"));
    assert_eq!(settings.attributes["deregistration_delay.timeout_seconds"], "30");
    assert_eq!(settings.attributes["stickiness.enabled"], "true");
    assert_eq!(settings.tags[OWNERSHIP_TAG], "prod/web");
    assert_eq!(settings.tags["team"], "storefront");
}

#[test]
fn test_listener_on_8080_forwards_to_the_green_group() {
    let p = sample_plan();
    let c = change(&p, StepId::TestListener);
    assert_eq!(
        c.detail,
        ChangeDetail::TestListener {
            load_balancer_arn: s(sample::LB_ARN),
            route: TestRoute::Listener {
                port: 8080,
                protocol: s("HTTP"),
                arn: s(KNOWN_AFTER_APPLY),
                target_group: s("web-tg-1-green"),
                tls: None,
            },
            tags: owned(),
            green_arn: None,
        }
    );
}

#[test]
fn service_role_trusts_codedeploy_in_this_account_only() {
    let p = sample_plan();
    let c = change(&p, StepId::ServiceRole);
    let ChangeDetail::ServiceRole { name, arn, adopted, trust_policy, managed_policy_arn, tags } = &c.detail else {
        panic!("{:?}", c.detail)
    };
    assert_eq!(name, "prod-web-codedeploy");
    assert_eq!(arn, KNOWN_AFTER_APPLY);
    assert!(!adopted);
    assert_eq!(managed_policy_arn, "arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS");
    assert_eq!(tags, &owned());
    assert!(trust_policy.contains("aws:SourceAccount"));
    assert!(trust_policy.contains("123456789012"));
    let doc: serde_json::Value = serde_json::from_str(trust_policy).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": "codedeploy.amazonaws.com" },
                "Action": "sts:AssumeRole",
                "Condition": { "StringEquals": { "aws:SourceAccount": "123456789012" } }
            }]
        })
    );
    assert!(!p.warnings.iter().any(|w| w.contains("aws:SourceAccount")), "{:?}", p.warnings);
}

#[test]
fn unknown_account_leaves_the_trust_policy_unscoped_and_says_so() {
    let mut inv = sample::inventory();
    inv.account_id = None;
    let p = plan(&sample::migration(), &inv).unwrap();
    let ChangeDetail::ServiceRole { trust_policy, .. } = &change(&p, StepId::ServiceRole).detail else { panic!() };
    assert!(!trust_policy.contains("Condition"), "{trust_policy}");
    assert!(p.warnings.iter().any(|w| w.contains("aws:SourceAccount")), "{:?}", p.warnings);
}

#[test]
fn application_is_named_after_cluster_and_service() {
    let p = sample_plan();
    assert_eq!(
        change(&p, StepId::Application).detail,
        ChangeDetail::Application { name: s("prod-web"), tags: owned() }
    );
}

#[test]
fn service_cutover_recreates_the_service_under_code_deploy() {
    let p = sample_plan();
    let c = change(&p, StepId::ServiceCutover);
    let ChangeDetail::ServiceCutover { strategy, from, to, bridge_name, dropped, .. } = &c.detail else {
        panic!("{:?}", c.detail)
    };
    assert_eq!(strategy, &ServiceCutover::ParallelKeepName);
    assert_eq!(**from, sample::service(), "the journal keeps the service exactly as it is");
    assert_eq!(bridge_name.as_deref(), Some("web-bg-bridge"));
    let expected_to = ServiceDefinition {
        arn: None,
        deployment_controller: s("CODE_DEPLOY"),
        running_count: 0,
        deployments: vec![],
        task_set_count: 0,
        scaling: None,
        deployment_configuration: Some(DeploymentConfigurationDef {
            maximum_percent: Some(200),
            minimum_healthy_percent: Some(100),
            circuit_breaker: None,
            alarms: None,
            strategy: None,
            bake_time_in_minutes: None,
            linear: None,
            canary: None,
        }),
        ..sample::service()
    };
    assert_eq!(**to, expected_to, "everything CODE_DEPLOY allows is kept");
    assert_eq!(
        dropped,
        &[DroppedSetting {
            field: s("deploymentConfiguration.deploymentCircuitBreaker"),
            reason: s("the circuit breaker works only with the ECS controller; CodeDeploy's auto-rollback replaces it"),
        }]
    );
    // ... and the dropped circuit breaker is also a warning.
    assert!(p.warnings.iter().any(|w| w.contains("deploymentCircuitBreaker is dropped")), "{:?}", p.warnings);
    assert!(p.warnings.iter().any(|w| w.contains("parallel cutover")), "{:?}", p.warnings);
}

#[test]
fn deployment_group_has_every_value() {
    let p = sample_plan();
    let ChangeDetail::DeploymentGroup(dg) = &change(&p, StepId::DeploymentGroup).detail else { panic!() };
    let expected = DeploymentGroupValues {
        application: s("prod-web"),
        name: s("web-bluegreen"),
        service_role_arn: s(KNOWN_AFTER_APPLY),
        deployment_config: DeploymentConfig::EcsAllAtOnce,
        cluster: s("prod"),
        service: s("web"),
        target_groups: [s("web-tg-1"), s("web-tg-1-green")],
        prod_listener_arn: s(sample::PROD_LISTENER_ARN),
        test_listener_arn: Some(s(KNOWN_AFTER_APPLY)),
        auto_rollback_events: vec![AutoRollbackEvent::DeploymentFailure, AutoRollbackEvent::DeploymentStopOnRequest],
        ready_wait: None,
        termination_wait: TerminationWait::minutes(60).unwrap(),
        alarms: vec![],
        tags: owned(),
    };
    assert_eq!(dg, &expected);
}

#[test]
fn alarms_add_the_stop_on_alarm_rollback_event() {
    let dg_spec = ecs_bluegreen::spec::DeploymentGroupSpec::builder()
        .deployment_group_name(ecs_bluegreen::spec::DeploymentGroupName::new("web-bluegreen").unwrap())
        .alarms(vec![s("web-5xx")])
        .build();
    let m = sample::base().deployment_group(dg_spec).build();
    let p = plan(&m, &sample::inventory()).unwrap();
    let ChangeDetail::DeploymentGroup(dg) = &change(&p, StepId::DeploymentGroup).detail else { panic!() };
    assert_eq!(
        dg.auto_rollback_events,
        [
            AutoRollbackEvent::DeploymentFailure,
            AutoRollbackEvent::DeploymentStopOnAlarm,
            AutoRollbackEvent::DeploymentStopOnRequest
        ]
    );
    assert_eq!(dg.alarms, ["web-5xx"]);
}

fn deployment_group_named_web_bluegreen(config: Option<DeploymentConfig>) -> DeploymentGroupSpec {
    DeploymentGroupSpec::builder()
        .deployment_group_name(DeploymentGroupName::new("web-bluegreen").unwrap())
        .deployment_config_opt(config)
        .build()
}

#[test]
fn a_deployment_config_given_twice_uses_the_deployment_groups_and_warns() {
    let m = sample::base()
        .deployment_config(DeploymentConfig::EcsLinear10PercentEvery1Minutes)
        .deployment_group(deployment_group_named_web_bluegreen(Some(DeploymentConfig::EcsCanary10Percent5Minutes)))
        .build();
    let p = plan(&m, &sample::inventory()).unwrap_or_else(|e| panic!("{e}"));
    let ChangeDetail::DeploymentGroup(dg) = &change(&p, StepId::DeploymentGroup).detail else { panic!() };
    assert_eq!(dg.deployment_config, DeploymentConfig::EcsCanary10Percent5Minutes);
    let warning = p
        .warnings
        .iter()
        .find(|w| w.contains("two deployment configs"))
        .unwrap_or_else(|| panic!("no warning about the two configs in {:?}", p.warnings));
    assert!(
        warning.contains("CodeDeployDefault.ECSCanary10Percent5Minutes is used")
            && warning.contains("CodeDeployDefault.ECSLinear10PercentEvery1Minutes is ignored"),
        "{warning}"
    );
}

#[test]
fn a_deployment_config_given_once_is_used_without_a_warning() {
    // On the migration only: it reaches a deployment group spec that sets none.
    let m = sample::base()
        .deployment_config(DeploymentConfig::EcsLinear10PercentEvery1Minutes)
        .deployment_group(deployment_group_named_web_bluegreen(None))
        .build();
    // On both, the same: nothing to warn about.
    let same = sample::base()
        .deployment_config(DeploymentConfig::EcsLinear10PercentEvery1Minutes)
        .deployment_group(deployment_group_named_web_bluegreen(Some(DeploymentConfig::EcsLinear10PercentEvery1Minutes)))
        .build();
    for m in [m, same] {
        let p = plan(&m, &sample::inventory()).unwrap_or_else(|e| panic!("{e}"));
        let ChangeDetail::DeploymentGroup(dg) = &change(&p, StepId::DeploymentGroup).detail else { panic!() };
        assert_eq!(dg.deployment_config, DeploymentConfig::EcsLinear10PercentEvery1Minutes);
        assert!(!p.warnings.iter().any(|w| w.contains("two deployment configs")), "{:?}", p.warnings);
    }
}

#[test]
fn pipeline_deploy_action_becomes_code_deploy_to_ecs() {
    let p = sample_plan();
    let c = change(&p, StepId::PipelineDeployAction);
    let ChangeDetail::PipelineDeployAction { pipeline, stage, before, after } = &c.detail else {
        panic!("{:?}", c.detail)
    };
    assert_eq!(pipeline, "web-pipeline");
    assert_eq!(stage, "Deploy");
    assert_eq!(before, &sample::ecs_deploy_action());
    let configuration = [
        ("ApplicationName", "prod-web"),
        ("DeploymentGroupName", "web-bluegreen"),
        ("TaskDefinitionTemplateArtifact", "BuildArtifact"),
        ("TaskDefinitionTemplatePath", "taskdef.json"),
        ("AppSpecTemplateArtifact", "BuildArtifact"),
        ("AppSpecTemplatePath", "appspec.yml"),
        ("Image1ArtifactName", "BuildArtifact"),
        ("Image1ContainerName", "IMAGE1_NAME"),
    ]
    .into_iter()
    .map(|(k, v)| (s(k), s(v)))
    .collect();
    let expected = ActionInfo {
        name: s("Deploy"),
        category: s("Deploy"),
        owner: s("AWS"),
        provider: s("CodeDeployToECS"),
        version: s("1"),
        configuration,
        input_artifacts: vec![s("BuildArtifact")],
        output_artifacts: vec![],
        run_order: Some(1),
    };
    assert_eq!(after, &expected);
}

#[test]
fn without_a_test_port_the_green_group_joins_the_production_listener_at_weight_zero() {
    let m = sample::base().pipeline(sample::pipeline_stage()).build();
    let p = plan(&m, &sample::inventory()).unwrap();
    let c = change(&p, StepId::TestListener);
    assert_eq!(c.action, Action::Update);
    assert_eq!(
        c.detail,
        ChangeDetail::TestListener {
            load_balancer_arn: s(sample::LB_ARN),
            route: TestRoute::ProductionWeightZero {
                listener_arn: s(sample::PROD_LISTENER_ARN),
                before: vec![WeightedTargetGroup { target_group_arn: s(sample::BLUE_TG_ARN), weight: 1 }],
                actions: vec![sample::forward_action(sample::BLUE_TG_ARN)],
            },
            tags: owned(),
            green_arn: None,
        }
    );
    let ChangeDetail::DeploymentGroup(dg) = &change(&p, StepId::DeploymentGroup).detail else { panic!() };
    assert_eq!(dg.test_listener_arn, None);
    assert_eq!(p.counts(), (5, 2, 1, 0, 0));
}

#[test]
fn without_a_pipeline_nothing_is_planned_for_it() {
    let p = plan(&sample::base().build(), &sample::inventory()).unwrap();
    assert!(p.change(StepId::PipelineDeployAction).is_none());
    assert_eq!(p.changes.len(), 6);
}

// ---------------------------------------------------------------------------------------------
// serialisation

#[test]
fn plan_round_trips_through_json() {
    let p = sample_plan();
    let json = serde_json::to_string_pretty(&p).unwrap();
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);

    // The JSON carries the same changes, in the same order, with their values.
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let changes = v["changes"].as_array().unwrap();
    let steps: Vec<&str> = changes.iter().map(|c| c["step"].as_str().unwrap()).collect();
    assert_eq!(
        steps,
        [
            "green-target-group",
            "test-listener",
            "service-role",
            "application",
            "service-cutover",
            "deployment-group",
            "pipeline-role-policy",
            "pipeline-deploy-action"
        ]
    );
    let actions: Vec<&str> = changes.iter().map(|c| c["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "create", "create", "create", "replace", "create", "create", "update"]);
    let kinds: Vec<&str> = changes.iter().map(|c| c["detail"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, steps, "each detail is tagged with its step's kind");
    assert_eq!(changes[0]["detail"]["settings"]["name"], "web-tg-1-green");
    assert_eq!(changes[1]["detail"]["route"]["mode"], "listener");
    assert_eq!(changes[1]["detail"]["route"]["port"], 8080);
    assert_eq!(changes[4]["detail"]["strategy"]["strategy"], "parallel-keep-name");
    assert_eq!(changes[5]["detail"]["target_groups"], serde_json::json!(["web-tg-1", "web-tg-1-green"]));
    assert_eq!(changes[5]["detail"]["deployment_config"], "CodeDeployDefault.ECSAllAtOnce");
    assert_eq!(changes[5]["detail"]["termination_wait"], 60);
    assert_eq!(changes[6]["detail"]["role_name"], "web-pipeline-role");
    assert_eq!(changes[6]["detail"]["grants"][0]["action"], "codedeploy:CreateDeployment");
    assert_eq!(changes[7]["detail"]["after"]["provider"], "CodeDeployToECS");
    assert_eq!(v["already_migrated"], false);
}

#[test]
fn plan_without_test_port_round_trips_through_json() {
    let p = plan(&sample::base().build(), &sample::inventory()).unwrap();
    let back: Plan = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
}

// ---------------------------------------------------------------------------------------------
// rendering

#[test]
fn display_lists_every_change_and_the_summary() {
    let text = sample_plan().to_string();
    for line in [
        "Migration prod/web of service web (cluster prod) to CodeDeploy blue/green",
        "  + create target group web-tg-1-green (clone of web-tg-1)",
        "  + create test listener HTTP:8080 -> web-tg-1-green",
        "  + create IAM role prod-web-codedeploy",
        "  + create CodeDeploy application prod-web",
        "  -/+ replace ECS service web -> web (controller ECS -> CODE_DEPLOY, cutover parallel-keep-name, no downtime)",
        "  + create deployment group prod-web/web-bluegreen",
        "  ~ update pipeline web-pipeline: action Deploy/Deploy",
        "Plan: 6 to create, 1 to update, 1 to replace, 0 to delete, 0 unchanged.",
    ] {
        assert!(text.lines().any(|l| l == line), "line {line:?} missing from:\n{text}");
    }
    // Change headlines appear in execution order.
    let pos = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle:?} missing"));
    let order = [
        "create target group",
        "create test listener",
        "create IAM role",
        "create CodeDeploy application",
        "replace ECS service",
        "create deployment group",
        "create inline policy ecs-bluegreen-prod-web-",
        "update pipeline",
        "Plan: ",
        "Warnings:",
    ];
    for w in order.windows(2) {
        assert!(pos(w[0]) < pos(w[1]), "{:?} should come before {:?}", w[0], w[1]);
    }
    assert!(text.contains("  ! deploymentConfiguration.deploymentCircuitBreaker is dropped"), "{text}");
}

#[test]
fn display_never_prints_the_task_definition() {
    // The renderer promises to print identifiers and settings only: the task definition (images,
    // environment, secrets) stays out of plans that end up in CI logs and pull requests.
    for p in [sample_plan(), plan(&sample::base().build(), &sample::inventory()).unwrap()] {
        let text = p.to_string();
        assert!(!text.contains(sample::WEB_IMAGE), "container image leaked:\n{text}");
        assert!(!text.contains("dkr.ecr"), "{text}");
        assert!(!text.contains("log_router"), "container list leaked:\n{text}");
        assert!(!text.to_lowercase().contains("secret"), "{text}");
        assert!(!text.to_lowercase().contains("environment"), "{text}");
        // The task definition is named by ARN only.
        assert!(text.contains(sample::TASK_DEFINITION_ARN));
    }
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
    if expected != actual {
        let mut diff = String::new();
        let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
        for i in 0..e.len().max(a.len()) {
            let (x, y) = (e.get(i).copied(), a.get(i).copied());
            if x != y {
                diff.push_str(&format!(
                    "line {}:\n  - {}\n  + {}\n",
                    i + 1,
                    x.unwrap_or("<eof>"),
                    y.unwrap_or("<eof>")
                ));
            }
        }
        panic!("{} differs (UPDATE_GOLDEN=1 rewrites it):\n{diff}", path.display());
    }
}

#[test]
fn golden_plan_text() {
    golden("plan.txt", &sample_plan().to_string());
}

// ---------------------------------------------------------------------------------------------
// already migrated

/// The sample after this tool migrated it: CODE_DEPLOY service, every resource tagged as ours,
/// test listener on 8080 forwarding to the green group; the pipeline not yet rewired.
fn migrated_inventory() -> Inventory {
    let mut inv = sample::inventory();
    let svc = inv.service.as_mut().unwrap();
    svc.deployment_controller = s("CODE_DEPLOY");
    svc.deployment_configuration = Some(DeploymentConfigurationDef {
        maximum_percent: Some(200),
        minimum_healthy_percent: Some(100),
        ..Default::default()
    });
    // CODE_DEPLOY services report task sets, not deployments.
    svc.deployments.clear();
    svc.task_set_count = 1;
    inv.load_balancer.as_mut().unwrap().listeners.push(sample::listener_8080(sample::GREEN_TG_ARN, owned()));
    inv.existing.green_target_group = Some(TargetGroupInfo {
        arn: s(sample::GREEN_TG_ARN),
        name: s(sample::GREEN_TG),
        load_balancer_arns: vec![s(sample::LB_ARN)],
        tags: {
            let mut t = sample::blue_target_group().tags;
            t.extend(owned());
            t
        },
        ..sample::blue_target_group()
    });
    inv.existing.role = Some(RoleInfo { name: s(sample::ROLE_NAME), arn: s(sample::ROLE_ARN), tags: owned() });
    inv.existing.application = Some(ApplicationInfo {
        name: s(sample::APPLICATION),
        id: Some(s("5f1c2a3b-7d8e-4f90-a1b2-c3d4e5f60718")),
        compute_platform: Some(s("ECS")),
        tags: owned(),
    });
    inv.existing.deployment_group = Some(DeploymentGroupInfo {
        name: s(sample::DEPLOYMENT_GROUP),
        service_role_arn: Some(s(sample::ROLE_ARN)),
        deployment_config_name: Some(s("CodeDeployDefault.ECSAllAtOnce")),
        ecs_services: vec![(s("prod"), s("web"))],
        target_group_names: vec![s(sample::BLUE_TG), s(sample::GREEN_TG)],
        prod_listener_arns: vec![s(sample::PROD_LISTENER_ARN)],
        test_listener_arns: vec![s(sample::PORT_8080_LISTENER_ARN)],
        tags: owned(),
    });
    // The migration granted the pipeline role what it needs.
    inv.pipeline_role.as_mut().unwrap().shortfall = Default::default();
    inv
}

#[test]
fn already_migrated_service_is_noop_but_for_the_pipeline() {
    let p = plan(&sample::migration(), &migrated_inventory()).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.already_migrated);
    let steps: Vec<StepId> = p.changes.iter().map(|c| c.step.clone()).collect();
    let without_grant: Vec<StepId> = STEPS.iter().filter(|s| **s != StepId::PipelineRolePolicy).cloned().collect();
    assert_eq!(steps, without_grant, "the role has what it needs: no grant");
    for c in &p.changes {
        if c.step == StepId::PipelineDeployAction {
            assert_eq!(c.action, Action::Update, "the pipeline still deploys with the ECS provider");
        } else {
            assert_eq!(c.action, Action::NoOp, "{} should be a no-op", c.step);
        }
    }
    assert!(!p.is_noop());
    assert_eq!(p.counts(), (0, 1, 0, 0, 6));
    // Existing identifiers, not placeholders.
    let ChangeDetail::DeploymentGroup(dg) = &change(&p, StepId::DeploymentGroup).detail else { panic!() };
    assert_eq!(dg.service_role_arn, sample::ROLE_ARN);
    assert_eq!(dg.test_listener_arn.as_deref(), Some(sample::PORT_8080_LISTENER_ARN));
    let text = p.to_string();
    assert!(text.contains("The service is already migrated to an identical blue/green setup."), "{text}");
    assert!(text.contains("Plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 6 unchanged."), "{text}");
}

#[test]
fn already_migrated_service_with_rewired_pipeline_is_a_noop() {
    let mut inv = migrated_inventory();
    let p0 = plan(&sample::migration(), &inv).unwrap();
    let ChangeDetail::PipelineDeployAction { after, .. } = &change(&p0, StepId::PipelineDeployAction).detail else {
        panic!()
    };
    let rewired = after.clone();
    let pipeline = inv.pipeline.as_mut().unwrap().as_mut().unwrap();
    pipeline.stages.last_mut().unwrap().actions = vec![rewired];
    let p = plan(&sample::migration(), &inv).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.already_migrated);
    assert!(p.is_noop(), "{p}");
    assert_eq!(p.counts(), (0, 0, 0, 0, 7));
}

#[test]
fn already_migrated_without_test_port_is_noop_too() {
    let mut inv = migrated_inventory();
    inv.load_balancer.as_mut().unwrap().listeners[0].default_forward = vec![
        WeightedTargetGroup { target_group_arn: s(sample::BLUE_TG_ARN), weight: 1 },
        WeightedTargetGroup { target_group_arn: s(sample::GREEN_TG_ARN), weight: 0 },
    ];
    inv.load_balancer.as_mut().unwrap().listeners.truncate(1);
    let p = plan(&sample::base().build(), &inv).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.already_migrated);
    assert!(p.is_noop(), "{p}");
}

#[test]
fn already_migrated_after_two_deployments_is_still_recognised() {
    // CodeDeploy swaps the groups on each deployment and leaves the idle one at weight 0 (aws-facts
    // §3). After the second deployment web-tg-1 serves again: production forwards to
    // web-tg-1@1 + web-tg-1-green@0 and the test listener (ours, tagged) to web-tg-1.
    let mut inv = migrated_inventory();
    let lb = inv.load_balancer.as_mut().unwrap();
    lb.listeners[0].default_forward = vec![
        WeightedTargetGroup { target_group_arn: s(sample::BLUE_TG_ARN), weight: 1 },
        WeightedTargetGroup { target_group_arn: s(sample::GREEN_TG_ARN), weight: 0 },
    ];
    lb.listeners[1].default_forward = vec![WeightedTargetGroup { target_group_arn: s(sample::BLUE_TG_ARN), weight: 1 }];
    let p = plan(&sample::migration(), &inv).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.already_migrated);
    let ChangeDetail::DeploymentGroup(dg) = &change(&p, StepId::DeploymentGroup).detail else { panic!() };
    assert_eq!(dg.prod_listener_arn, sample::PROD_LISTENER_ARN);
}

#[test]
fn already_migrated_by_hand_keeps_the_live_role() {
    // Migrated manually following the AWS tutorial: nothing carries our tag and the deployment
    // group uses ecsCodeDeployRole. The plan recognises the setup (no NotOwned refusals), so every
    // step but the pipeline should be a no-op and the deployment group should keep its role.
    let mut inv = migrated_inventory();
    let hand_role = "arn:aws:iam::123456789012:role/ecsCodeDeployRole";
    inv.existing.role = None;
    inv.existing.green_target_group.as_mut().unwrap().tags.remove(OWNERSHIP_TAG);
    inv.existing.application.as_mut().unwrap().tags.clear();
    let dg = inv.existing.deployment_group.as_mut().unwrap();
    dg.tags.clear();
    dg.service_role_arn = Some(s(hand_role));
    // Without a test port: a hand-made test listener would not carry our tag.
    inv.load_balancer.as_mut().unwrap().listeners.truncate(1);
    let m = sample::base().pipeline(sample::pipeline_stage()).build();
    let p = plan(&m, &inv).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.already_migrated);
    for c in &p.changes {
        if c.step != StepId::PipelineDeployAction {
            assert_eq!(c.action, Action::NoOp, "{} should be a no-op:\n{p}", c.step);
        }
    }
    let ChangeDetail::DeploymentGroup(dg) = &change(&p, StepId::DeploymentGroup).detail else { panic!() };
    assert_eq!(dg.service_role_arn, hand_role);
}

#[test]
fn rerun_with_another_deployment_config_is_not_reported_unchanged() {
    // Already migrated with ECSAllAtOnce; the user reruns asking for a canary. The plan must not
    // claim the deployment group is unchanged while it renders a config the live group does not have.
    let m = sample::base()
        .test_listener_port(ecs_bluegreen::spec::Port::new(8080).unwrap())
        .deployment_config(DeploymentConfig::EcsCanary10Percent5Minutes)
        .pipeline(sample::pipeline_stage())
        .build();
    match plan(&m, &migrated_inventory()) {
        Ok(p) => {
            let c = change(&p, StepId::DeploymentGroup);
            let ChangeDetail::DeploymentGroup(dg) = &c.detail else { panic!() };
            assert_eq!(dg.deployment_config, DeploymentConfig::EcsCanary10Percent5Minutes);
            assert_ne!(c.action, Action::NoOp, "live group uses CodeDeployDefault.ECSAllAtOnce:\n{p}");
        }
        // Refusing is the other honest answer: it must name both configs.
        Err(e) => {
            assert!(e.has(ecs_bluegreen::plan::RefusalKind::ExistingDiffers), "{e}");
            let text = e.to_string();
            assert!(text.contains("CodeDeployDefault.ECSAllAtOnce") && text.contains("ECSCanary10Percent5Minutes"), "{text}");
        }
    }
}
