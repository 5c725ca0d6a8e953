//! The test kit as a user sees it: only the public `test-util` API. A small custom migration
//! script (what a platform team writes) runs on the kit for the default scenario and
//! variations; the end state is checked resource by resource; the fail-each-step helper runs it
//! once per mutating call and every run must end as it started.

use aws_sdk_ecs::error::ProvideErrorMetadata;
use ecs_bluegreen::plan::RefusalKind;
use ecs_bluegreen::spec::{CodeDeployRole, Port, RoleArn, RoleName};
use ecs_bluegreen::testing::{
    AccountState, EXISTING_ROLE_ARN, Fault, InjectedError, MockAccount, Scenario, default_migration, fail_each_step,
    sample,
};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, Error, ErrorKind, InMemoryJournal, Migration, Outcome};

/// The script under test: migrate `prod/web` with a test listener on 8080, rewire the pipeline
/// when the account has one, adopt `adopt_role` when given; refuse plans that would delete
/// something the user owns. Returns the outcome.
async fn migrate_web(aws: AwsClients, has_pipeline: bool, adopt_role: Option<&str>) -> Result<Outcome, Error> {
    let base = Migration::for_service("prod", "web")?.test_listener_port(Port::new(8080).unwrap());
    let migration = match (has_pipeline, adopt_role) {
        (true, None) => base.pipeline(sample::pipeline_stage()).build(),
        (false, None) => base.build(),
        (has_pipeline, Some(arn)) => {
            let role = CodeDeployRole::builder()
                .role_name(RoleName::new("unused").unwrap())
                .existing_role_arn(RoleArn::new(arn).unwrap())
                .build();
            if has_pipeline {
                base.pipeline(sample::pipeline_stage()).role(role).build()
            } else {
                base.role(role).build()
            }
        }
    };
    let plan = migration.plan(&aws).await?;
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    plan.apply(&aws, &InMemoryJournal::new(), &opts).await
}

/// The end state every successful run must reach.
fn assert_migrated(st: &AccountState, scenario: &Scenario, context: &str) {
    let original = &scenario.service;
    let svc = &st.services["web"];
    assert_eq!((svc.status.as_str(), svc.deployment_controller.as_str()), ("ACTIVE", "CODE_DEPLOY"), "{context}");
    assert_eq!(svc.task_definition, original.task_definition, "{context}");
    assert_eq!(svc.desired_count, original.desired_count, "{context}");
    assert_eq!(svc.launch_type, original.launch_type, "{context}");
    assert_eq!(svc.capacity_provider_strategy, original.capacity_provider_strategy, "{context}");
    assert_eq!(svc.platform_version, original.platform_version, "{context}");
    assert_eq!(svc.health_check_grace_period_seconds, original.health_check_grace_period_seconds, "{context}");
    assert_eq!(svc.network_configuration, original.network_configuration, "{context}");
    assert_eq!(svc.load_balancers, original.load_balancers, "{context}");
    for (k, v) in &original.tags {
        assert_eq!(svc.tags.get(k), Some(v), "{context}: tag {k}");
    }
    // No bridge left running.
    assert!(
        st.services.iter().all(|(n, s)| n == "web" || s.status == "INACTIVE"),
        "{context}: {:?}",
        st.services.keys().collect::<Vec<_>>()
    );

    let blue = &scenario.target_groups[0];
    let green = st.target_groups.values().find(|t| t.name == format!("{}-green", blue.name)).expect("green target group");
    for (field, a, b) in [
        ("protocol", &green.protocol, &blue.protocol),
        ("target type", &green.target_type, &blue.target_type),
        ("vpc", &green.vpc_id, &blue.vpc_id),
        ("health check path", &green.health_check_path, &blue.health_check_path),
    ] {
        assert_eq!(a, b, "{context}: green {field}");
    }
    assert_eq!(green.port, blue.port, "{context}");

    let test = st.load_balancer.listeners.iter().find(|l| l.port == Some(8080)).expect("test listener");
    assert_eq!(test.default_forward[0].target_group_arn, green.arn, "{context}: test listener forwards to green");
    let prod = st.load_balancer.listeners.iter().find(|l| l.port == Some(80)).unwrap();
    assert_eq!(prod.default_forward[0].target_group_arn, blue.arn, "{context}: production still on blue");

    let dg = &st.deployment_groups[&("prod-web".to_owned(), "web-bluegreen".to_owned())];
    let pair = &dg.load_balancer_info().unwrap().target_group_pair_info_list()[0];
    let names: Vec<_> = pair.target_groups().iter().filter_map(|t| t.name()).collect();
    assert_eq!(names, [blue.name.as_str(), green.name.as_str()], "{context}");
    assert_eq!(pair.prod_traffic_route().unwrap().listener_arns(), std::slice::from_ref(&prod.arn), "{context}");
    assert_eq!(pair.test_traffic_route().unwrap().listener_arns(), std::slice::from_ref(&test.arn), "{context}");
    assert!(dg.auto_rollback_configuration().is_some_and(|a| a.enabled()), "{context}: auto-rollback");

    match &scenario.pipeline {
        Some(p) => {
            let decl = &st.pipelines[&p.name];
            let deploy = decl.stages().iter().find(|s| s.name() == "Deploy").unwrap();
            let t = deploy.actions()[0].action_type_id().unwrap();
            assert_eq!(t.provider(), "CodeDeployToECS", "{context}");
            let others: Vec<_> = decl.stages().iter().filter(|s| s.name() != "Deploy").cloned().collect();
            let fresh = MockAccount::new(scenario.clone()).state();
            let before: Vec<_> = fresh.pipelines[&p.name].stages().iter().filter(|s| s.name() != "Deploy").cloned().collect();
            assert_eq!(others, before, "{context}: other stages untouched");
        }
        None => assert!(st.pipelines.is_empty(), "{context}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_script_migrates_the_default_scenario_and_three_variations() {
    let cases: [(&str, Scenario, Option<&str>); 6] = [
        ("default", Scenario::default(), None),
        ("Fargate Spot capacity providers", Scenario::default().on_fargate_spot(), None),
        ("EC2", Scenario::default().on_ec2(), None),
        ("NLB", Scenario::default().behind_nlb(), None),
        ("existing role, no pipeline", Scenario::default().with_existing_role().without_pipeline(), Some(EXISTING_ROLE_ARN)),
        ("existing role", Scenario::default().with_existing_role(), Some(EXISTING_ROLE_ARN)),
    ];
    for (context, scenario, adopt) in cases {
        let account = MockAccount::new(scenario.clone());
        let outcome = migrate_web(account.clients(), scenario.pipeline.is_some(), adopt).await;
        assert_eq!(outcome.unwrap(), Outcome::Applied, "{context}");
        let st = account.state();
        assert_migrated(&st, &scenario, context);
        match adopt {
            // The adopted role is used as it is, and no role is created.
            Some(arn) => {
                let roles: Vec<&String> = st.roles.keys().collect();
                let mut given: Vec<&String> = scenario.roles.iter().map(|r| &r.name).collect();
                given.sort();
                assert_eq!(roles, given, "{context}: the scenario's roles only");
                let dg = &st.deployment_groups[&("prod-web".to_owned(), "web-bluegreen".to_owned())];
                assert_eq!(dg.service_role_arn(), Some(arn), "{context}");
            }
            None => assert_eq!(st.roles["prod-web-codedeploy"].policies, ["arn:aws:iam::aws:policy/AWSCodeDeployRoleForECS"], "{context}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn refused_scenarios_change_nothing_and_say_why() {
    let cases = [
        ("two target groups", Scenario::default().with_two_target_groups(), RefusalKind::SeveralTargetGroups),
        ("Service Connect", Scenario::default().with_service_connect(), RefusalKind::ServiceConnect),
        ("deployment in flight", Scenario::default().with_deployment_in_flight(), RefusalKind::DeploymentInFlight),
        ("port 8080 taken", Scenario::default().with_listener_on(8080), RefusalKind::TestPortInUse),
    ];
    for (context, scenario, kind) in cases {
        let account = MockAccount::new(scenario);
        let err = migrate_web(account.clients(), true, None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{context}: {err}");
        let Error::Plan(refused) = &err else { panic!("{context}: {err}") };
        assert!(refused.has(kind), "{context}: {err}");
        assert!(account.mutating_operations().is_empty(), "{context}: {:?}", account.mutating_operations());
    }
}

/// Plans and applies `prod/web` with `--deployment-config config` on the kit.
async fn migrate_with_config(account: &MockAccount, config: &str) -> Result<Outcome, Error> {
    let migration = Migration::for_service("prod", "web")?
        .test_listener_port(Port::new(8080).unwrap())
        .deployment_config(ecs_bluegreen::spec::DeploymentConfig::parse(config)?)
        .build();
    let plan = migration.plan(&account.clients()).await?;
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    plan.apply(&account.clients(), &InMemoryJournal::new(), &opts).await
}

/// Creates a custom deployment config in the account through its CodeDeploy client.
async fn create_config(account: &MockAccount, name: &str, platform: aws_sdk_codedeploy::types::ComputePlatform) {
    use aws_sdk_codedeploy::types::{TrafficRoutingConfig, TrafficRoutingType};
    let mut req = account.clients().codedeploy.create_deployment_config().deployment_config_name(name).compute_platform(platform.clone());
    if platform == aws_sdk_codedeploy::types::ComputePlatform::Ecs {
        req = req.traffic_routing_config(TrafficRoutingConfig::builder().r#type(TrafficRoutingType::AllAtOnce).build());
    }
    req.send().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_custom_deployment_config_is_checked_at_plan_time() {
    use aws_sdk_codedeploy::types::ComputePlatform;
    // A typo: refused at plan, naming the config, before any change.
    let account = MockAccount::default_scenario();
    let before = account.state();
    let err = migrate_with_config(&account, "web-all-at-onse").await.unwrap_err();
    let Error::Plan(refused) = &err else { panic!("{err}") };
    assert!(refused.has(RefusalKind::DeploymentConfigMissing), "{err}");
    assert!(err.to_string().contains("web-all-at-onse"), "{err}");
    assert!(account.mutating_operations().is_empty(), "{:?}", account.mutating_operations());
    assert!(account.operations().contains(&"GetDeploymentConfig".to_owned()), "{:?}", account.operations());
    assert_eq!(before.differences(&account.state()), Vec::<String>::new());

    // A custom config of the Server platform: refused the same way.
    create_config(&account, "web-servers", ComputePlatform::Server).await;
    let err = migrate_with_config(&account, "web-servers").await.unwrap_err();
    let Error::Plan(refused) = &err else { panic!("{err}") };
    assert!(refused.has(RefusalKind::DeploymentConfigNotEcs), "{err}");
    assert!(err.to_string().contains("web-servers") && err.to_string().contains("Server"), "{err}");
    assert_eq!(account.mutating_operations(), ["CreateDeploymentConfig"], "only the test's own call");

    // A custom ECS config created beforehand: planned, applied, and the group uses it.
    create_config(&account, "web-all-at-once", ComputePlatform::Ecs).await;
    assert_eq!(migrate_with_config(&account, "web-all-at-once").await.unwrap(), Outcome::Applied);
    let st = account.state();
    let dg = &st.deployment_groups[&("prod-web".to_owned(), "web-bluegreen".to_owned())];
    assert_eq!(dg.deployment_config_name(), Some("web-all-at-once"));
}

#[tokio::test(start_paused = true)]
async fn a_predefined_ecs_config_needs_no_lookup() {
    let account = MockAccount::default_scenario();
    assert_eq!(migrate_with_config(&account, "CodeDeployDefault.ECSCanary10Percent5Minutes").await.unwrap(), Outcome::Applied);
    assert!(!account.operations().contains(&"GetDeploymentConfig".to_owned()), "{:?}", account.operations());
}

#[tokio::test(start_paused = true)]
async fn an_already_migrated_account_has_nothing_to_do() {
    let scenario = Scenario::default().already_migrated();
    let account = MockAccount::new(scenario.clone());
    assert_migrated(&account.state(), &scenario, "as built");
    assert!(account.calls().is_empty(), "building the scenario is not part of the test's calls");
    assert_eq!(migrate_web(account.clients(), true, None).await.unwrap(), Outcome::NothingToDo);
    assert!(account.mutating_operations().is_empty(), "{:?}", account.mutating_operations());
}

#[tokio::test(start_paused = true)]
async fn every_mutating_call_of_the_script_can_fail_and_the_account_ends_as_it_started() {
    for error in [InjectedError::Throttling, InjectedError::ResponseLost] {
        let report =
            fail_each_step(&Scenario::default(), error.clone(), |aws| async move { migrate_web(aws, true, None).await }).await;
        assert_eq!(report.clean_outcome, "Ok(Applied)");
        // The default cutover: 6 calls before it, its 4 service calls, deployment group, the
        // pipeline role's grant, pipeline.
        assert_eq!(report.runs.len(), 13, "{:?}", report.mutating_calls);
        assert_eq!(report.mutating_calls.first().map(String::as_str), Some("CreateTargetGroup"));
        assert_eq!(report.mutating_calls.last().map(String::as_str), Some("UpdatePipeline"));
        for run in &report.runs {
            assert!(run.outcome.starts_with("Err("), "{error:?} at call {}: {}", run.call_number, run.outcome);
        }
        report.assert_all_restored();
    }
}

#[tokio::test(start_paused = true)]
async fn the_harness_reports_a_script_that_does_not_clean_up() {
    // A careless script: creates the green target group by hand, then fails, leaving it.
    let report = fail_each_step(&Scenario::default(), InjectedError::AccessDenied, |aws| async move {
        aws.elbv2
            .create_target_group()
            .name("by-hand")
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(80)
            .vpc_id(sample::VPC_ID)
            .send()
            .await
            .map_err(|e| e.code().unwrap_or_default().to_owned())?;
        aws.elbv2
            .create_listener()
            .load_balancer_arn(sample::LB_ARN)
            .port(9000)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.code().unwrap_or_default().to_owned())
    })
    .await;
    assert_eq!(report.runs.len(), 2);
    assert!(report.runs[0].differences.is_empty(), "nothing was created when the first call failed");
    assert_eq!(report.left_changed().count(), 1);
    let leak = &report.runs[1];
    assert_eq!(leak.operation, "CreateListener");
    assert!(leak.outcome.contains("AccessDenied"), "{}", leak.outcome);
    assert!(leak.differences.iter().any(|d| d.contains("by-hand") && d.contains("added")), "{:?}", leak.differences);
}

#[tokio::test(start_paused = true)]
async fn faults_reach_the_script_with_the_aws_error_code_and_calls_are_recorded_with_inputs() {
    let account = MockAccount::default_scenario();
    account.inject(Fault::nth_call("CreateDeploymentGroup", 1, InjectedError::AccessDenied));
    let err = migrate_web(account.clients(), true, None).await.unwrap_err();
    let Error::Apply(failed) = &err else { panic!("{err}") };
    assert!(failed.cause.to_string().contains("AccessDeniedException"), "{}", failed.cause);
    assert!(failed.rollback.is_clean(), "{}", failed.rollback);
    let calls = account.calls();
    let create = calls.iter().find(|c| c.operation == "CreateService").expect("the cutover created a service");
    assert!(create.input.contains("CODE_DEPLOY") || create.input.contains("web-bg"), "{}", create.input);
    let failed_call = calls.iter().find(|c| c.fault.is_some()).unwrap();
    assert_eq!((failed_call.operation.as_str(), failed_call.fault.clone()), ("CreateDeploymentGroup", Some(InjectedError::AccessDenied)));
    assert!(account.state().differences(&MockAccount::default_scenario().state()).is_empty());
}

#[test]
fn a_fault_naming_an_operation_the_account_does_not_answer_is_refused_with_the_close_matches() {
    let account = MockAccount::default_scenario();
    let err = account.try_inject(Fault::nth_call("CreateListner", 1, InjectedError::Throttling)).unwrap_err();
    assert_eq!((err.operation(), err.close_matches()), ("CreateListner", &["CreateListener".to_owned()][..]));
    assert!(err.to_string().contains("did you mean CreateListener?"), "{err}");
    let err = account.try_inject(Fault::every_call("PutObject", InjectedError::AccessDenied)).unwrap_err();
    assert!(err.close_matches().is_empty() && err.known() == account.known_operations(), "{err}");
    assert_eq!(account.calls(), [], "nothing was armed, nothing called");
}

#[test]
#[should_panic(expected = "the mock account knows no operation `create_role`; did you mean CreateRole?")]
fn inject_panics_on_a_misspelt_operation() {
    MockAccount::default_scenario().inject(Fault::every_call("create_role", InjectedError::AccessDenied));
}

#[test]
fn every_operation_the_tests_and_docs_name_in_a_fault_is_known() {
    let account = MockAccount::default_scenario();
    for operation in ["CreateListener", "CreateRole", "CreateDeploymentGroup"] {
        account.try_inject(Fault::nth_call(operation, 1, InjectedError::Throttling)).unwrap();
        account.try_inject(Fault::every_call(operation, InjectedError::Throttling)).unwrap();
    }
    account.try_inject(Fault::nth_mutation(1, InjectedError::ResponseLost)).unwrap();
    let known = account.known_operations();
    for operation in ["DescribeServices", "CreateService", "DeleteService", "ModifyListener", "GetRole", "UpdatePipeline", "GetDeployment"] {
        assert!(known.iter().any(|k| k == operation), "{operation} missing from {known:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_state_is_a_copy_held_safely_while_the_account_is_called_and_edit_changes_it() {
    let account = MockAccount::default_scenario();
    let aws = account.clients();
    let before = account.state();
    // The state and a call in one expression, and a copy held across an await: no lock is held.
    let seen = format!("{:?} {:?}", account.state().services.keys().collect::<Vec<_>>(), account.calls());
    assert!(seen.contains("\"web\""), "{seen}");
    aws.ecs.delete_service().cluster("prod").service("web").force(true).send().await.unwrap();
    assert_eq!(before.services["web"].status, "ACTIVE", "a copy does not follow the account");
    assert_eq!(account.state().services["web"].status, "DRAINING");

    let was = account.edit(|st| std::mem::replace(&mut st.services.get_mut("web").unwrap().status, "INACTIVE".into()));
    assert_eq!((was.as_str(), account.state().services["web"].status.as_str()), ("DRAINING", "INACTIVE"));
}

#[test]
#[should_panic(expected = "do not call the account (or its clients) from inside MockAccount::edit")]
fn calling_the_account_from_inside_edit_panics_instead_of_waiting_for_itself() {
    let account = MockAccount::default_scenario();
    account.edit(|_| account.calls());
}

/// A user's own ECS client (not the kit's), built from the kit's mock configuration with the
/// account's interceptor.
fn own_ecs_client(account: &MockAccount) -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::from_conf(aws_sdk_ecs::config::Builder::from(&account.sdk_config()).interceptor(account.interceptor()).build())
}

#[tokio::test(start_paused = true)]
async fn the_accounts_faults_fire_on_a_users_own_sdk_client_and_its_calls_are_recorded() {
    let account = MockAccount::default_scenario();
    account
        .declare_operations(["RegisterTaskDefinition"])
        .inject(Fault::nth_call("DescribeServices", 1, InjectedError::Throttling))
        .inject(Fault::every_call("RegisterTaskDefinition", InjectedError::aws("ClientException", "Too many revisions")));
    let own = own_ecs_client(&account);

    let err = own.describe_services().cluster("prod").services("web").send().await.unwrap_err();
    assert_eq!((err.code(), err.message()), (Some("ThrottlingException"), Some("Rate exceeded (injected fault)")));
    let err = own.register_task_definition().family("web").send().await.unwrap_err();
    assert!(err.as_service_error().is_some_and(|e| e.is_client_exception()), "the modeled error: {err:?}");
    assert_eq!(err.message(), Some("Too many revisions"));

    let calls = account.calls();
    let seen: Vec<_> = calls.iter().map(|c| (c.operation.as_str(), c.mutating, c.fault.clone())).collect();
    assert_eq!(
        seen,
        [
            ("DescribeServices", false, Some(InjectedError::Throttling)),
            ("RegisterTaskDefinition", true, Some(InjectedError::aws("ClientException", "Too many revisions"))),
        ]
    );
    assert!(calls[1].input.starts_with("RegisterTaskDefinitionInput {") && calls[1].input.contains("\"web\""), "{}", calls[1].input);
    assert_eq!(account.state().services["web"].status, "ACTIVE", "the account answers none of the own client's calls");
}

#[tokio::test(start_paused = true)]
async fn a_users_own_client_sees_timeouts_and_query_protocol_codes_and_unfaulted_calls_pass() {
    use aws_sdk_elasticloadbalancingv2::error::SdkError;
    let account = MockAccount::default_scenario();
    account
        .inject(Fault::nth_call("DescribeTargetGroups", 1, InjectedError::AccessDenied))
        .inject(Fault::nth_call("DeleteService", 1, InjectedError::Timeout));
    let elb = aws_sdk_elasticloadbalancingv2::Client::from_conf(
        aws_sdk_elasticloadbalancingv2::config::Builder::from(&account.sdk_config()).interceptor(account.interceptor()).build(),
    );
    let err = elb.describe_target_groups().send().await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"), "ELBv2 speaks the query protocol: {err:?}");

    let own = own_ecs_client(&account);
    let err = own.delete_service().cluster("prod").service("web").send().await.unwrap_err();
    assert!(matches!(&err, SdkError::DispatchFailure(d) if d.is_timeout()), "{err:?}");
    // No fault: the call goes to the mock HTTP client, which answers no rule with a 418.
    let err = own.delete_service().cluster("prod").service("web").send().await.unwrap_err();
    assert!(!matches!(&err, SdkError::DispatchFailure(_)), "{err:?}");

    let faults: Vec<_> = account.calls().into_iter().map(|c| (c.operation, c.fault)).collect();
    assert_eq!(
        faults,
        [
            ("DescribeTargetGroups".to_owned(), Some(InjectedError::AccessDenied)),
            ("DeleteService".to_owned(), Some(InjectedError::Timeout)),
            ("DeleteService".to_owned(), None),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_fault_wins_over_the_users_own_mock_rule_and_without_one_the_rule_answers() {
    use aws_sdk_ecs::operation::list_services::ListServicesOutput;
    use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, mock};
    let account = MockAccount::default_scenario();
    account.inject(Fault::nth_call("ListServices", 1, InjectedError::AccessDenied));
    let rule = mock!(aws_sdk_ecs::Client::list_services).then_output(|| ListServicesOutput::builder().service_arns("arn:own").build());
    let rules = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny).with_rule(&rule);
    let own = aws_sdk_ecs::Client::from_conf(
        aws_sdk_ecs::config::Builder::from(&account.sdk_config()).interceptor(rules).interceptor(account.interceptor()).build(),
    );
    let err = own.list_services().send().await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
    assert_eq!(own.list_services().send().await.unwrap().service_arns(), ["arn:own"]);
    assert_eq!(account.operations(), ["ListServices", "ListServices"]);
}

#[tokio::test(start_paused = true)]
async fn apply_then_rollback_gives_back_the_account_it_started_from() {
    let account = MockAccount::default_scenario();
    let start = account.state();
    let aws = account.clients();
    let plan = default_migration(account.scenario()).plan(&aws).await.unwrap();
    let journal = InMemoryJournal::new();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    assert_eq!(plan.apply(&aws, &journal, &opts).await.unwrap(), Outcome::Applied);
    assert!(!start.differences(&account.state()).is_empty());
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts).await.unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(start.differences(&account.state()), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn the_kit_refuses_what_aws_refuses() {
    let account = MockAccount::default_scenario();
    let aws = account.clients();
    // A name still in use (ACTIVE) cannot be created again.
    let err = aws
        .ecs
        .create_service()
        .cluster("prod")
        .service_name("web")
        .task_definition(sample::TASK_DEFINITION_ARN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    // CODE_DEPLOY takes one target group.
    let lb = |tg: &str| {
        aws_sdk_ecs::types::LoadBalancer::builder().target_group_arn(tg).container_name("web").container_port(80).build()
    };
    let err = aws
        .ecs
        .create_service()
        .cluster("prod")
        .service_name("web-two")
        .task_definition(sample::TASK_DEFINITION_ARN)
        .deployment_controller(
            aws_sdk_ecs::types::DeploymentController::builder()
                .r#type(aws_sdk_ecs::types::DeploymentControllerType::CodeDeploy)
                .build()
                .unwrap(),
        )
        .load_balancers(lb(sample::BLUE_TG_ARN))
        .load_balancers(lb(ecs_bluegreen::testing::ADMIN_TG_ARN))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert!(err.message().unwrap_or_default().contains("one target group"), "{err:?}");
    // A deployment group for a service on the ECS controller.
    let err = aws
        .codedeploy
        .create_application()
        .application_name("prod-web")
        .compute_platform(aws_sdk_codedeploy::types::ComputePlatform::Ecs)
        .send()
        .await
        .map(|_| ());
    assert!(err.is_ok());
    let err = aws
        .codedeploy
        .create_deployment_group()
        .application_name("prod-web")
        .deployment_group_name("g")
        .service_role_arn("arn:aws:iam::123456789012:role/none")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidRoleException"));
    assert_eq!(account.state().log, ["CreateApplication prod-web"]);
}

/// Migrates the default scenario's account with the default migration.
async fn migrated(scenario: Scenario) -> MockAccount {
    let account = MockAccount::new(scenario);
    let aws = account.clients();
    let plan = default_migration(account.scenario()).plan(&aws).await.unwrap();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap(), Outcome::Applied);
    account
}

fn deploy_request() -> ecs_bluegreen::deploy::DeployRequest {
    ecs_bluegreen::deploy::DeployRequest::for_migration(&default_migration(&Scenario::default())).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_first_deployment_on_the_kit_succeeds_and_is_recorded() {
    use ecs_bluegreen::deploy::{self, DeployEvent, DeployOptions, DeploymentOutcome};
    let account = migrated(Scenario::default()).await;
    let migration_calls = account.mutating_operations().len();
    let mut statuses = Vec::new();
    let report = deploy::first_deployment(&account.clients(), &deploy_request(), &DeployOptions::default(), |e| {
        if let DeployEvent::Status { status, .. } = e {
            statuses.push(status.clone());
        }
    })
    .await
    .unwrap();
    assert_eq!(report.outcome, DeploymentOutcome::Succeeded, "{report}");
    assert_eq!(statuses, ["Created", "InProgress", "Succeeded"]);
    assert_eq!(report.task_definition, sample::TASK_DEFINITION_ARN);
    let st = account.state();
    let d = &st.deployments[&report.deployment_id];
    assert_eq!((d.status.as_str(), d.application.as_str()), ("Succeeded", "prod-web"));
    assert_eq!(d.sha256.as_deref(), Some(report.appspec_sha256.as_str()));
    assert!(d.appspec.contains(sample::TASK_DEFINITION_ARN), "{}", d.appspec);
    assert_eq!(st.services["web"].task_definition.as_deref(), Some(sample::TASK_DEFINITION_ARN));
    drop(st);
    assert_eq!(account.mutating_operations()[migration_calls..], ["CreateDeployment"]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_deployment_reports_codedeploys_error_and_rollback() {
    use ecs_bluegreen::deploy::{self, DeployOptions, DeploymentOutcome};
    let account = migrated(Scenario::default().deployments_fail("HEALTH_CONSTRAINTS", "The ECS tasks failed health checks")).await;
    let report = deploy::first_deployment(&account.clients(), &deploy_request(), &DeployOptions::default(), |_| {}).await.unwrap();
    assert_eq!(report.outcome, DeploymentOutcome::Failed);
    let error = report.error.as_ref().expect("CodeDeploy's error");
    assert_eq!(error.code.as_deref(), Some("HEALTH_CONSTRAINTS"));
    assert!(report.rollback.as_ref().and_then(|r| r.deployment_id.clone()).is_some(), "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_hanging_deployment_reaches_the_deadline_and_blocks_the_next_check() {
    use ecs_bluegreen::deploy::{self, DeployOptions, DeploymentOutcome};
    let account = migrated(Scenario::default().deployments_progress(&["Created", "InProgress"])).await;
    let migration_calls = account.mutating_operations().len();
    let aws = account.clients();
    let short = DeployOptions::builder().wait(WaitPolicy { deadline: std::time::Duration::from_secs(60), ..WaitPolicy::AWS }).build();
    let report = deploy::first_deployment(&aws, &deploy_request(), &short, |_| {}).await.unwrap();
    assert_eq!((report.outcome, report.status.as_str()), (DeploymentOutcome::DeadlineReached, "InProgress"));
    let err = deploy::first_deployment(&aws, &deploy_request(), &short, |_| {}).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains(&report.deployment_id), "{err}");
    assert_eq!(account.mutating_operations()[migration_calls..], ["CreateDeployment"], "the refused check created nothing");
}

/// A journal that records no run says nothing about the account: rollback and resume refuse
/// it (nothing changed, no call made) instead of reporting "rolled back 0 change(s)" over an
/// account that may well be migrated.
#[tokio::test(start_paused = true)]
async fn rollback_and_resume_refuse_a_journal_without_a_run() {
    let account = MockAccount::default_scenario();
    let aws = account.clients();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    let plan = default_migration(account.scenario()).plan(&aws).await.unwrap();
    assert_eq!(plan.apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap(), Outcome::Applied);
    let migrated = account.state();
    let calls = account.calls().len();
    let empty = InMemoryJournal::new();
    let results = [
        ecs_bluegreen::rollback(&aws, &empty, &opts).await.map(|r| format!("{r}")),
        ecs_bluegreen::resume(&aws, &empty, &opts).await.map(|o| format!("{o:?}")),
    ];
    for result in results {
        match result {
            Err(Error::Journal(j)) => {
                assert!(j.changed_nothing(), "{j}");
                assert!(j.message().contains("records no run"), "{j}");
            }
            other => panic!("a journal without a run was not refused: {other:?}"),
        }
    }
    assert_eq!(account.calls().len(), calls, "no call was made");
    assert_eq!(account.state().differences(&migrated), Vec::<String>::new());
}

/// A journal that cannot take the run's first record (its `Begin`) stops the run before any
/// change, and the error says so: the CLI maps it to exit 2, not 3 ("something left over").
#[tokio::test(start_paused = true)]
async fn a_journal_that_refuses_the_first_record_stops_the_run_before_any_change() {
    struct Unwritable;
    impl ecs_bluegreen::Journal for Unwritable {
        fn append(&self, _: ecs_bluegreen::journal::Entry) -> ecs_bluegreen::Result<u64> {
            Err(Error::Journal("disk full".into()))
        }
        fn records(&self) -> ecs_bluegreen::Result<Vec<ecs_bluegreen::journal::Record>> {
            Ok(Vec::new())
        }
    }
    let account = MockAccount::default_scenario();
    let start = account.state();
    let aws = account.clients();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    let plan = default_migration(account.scenario()).plan(&aws).await.unwrap();
    match plan.apply(&aws, &Unwritable, &opts).await {
        Err(Error::Journal(j)) => assert!(j.changed_nothing(), "{j}"),
        other => panic!("expected a journal error: {other:?}"),
    }
    assert_eq!(account.state().differences(&start), Vec::<String>::new());
}
