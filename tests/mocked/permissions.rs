//! Permission coverage: every AWS call a run makes on the kit (plan, apply, rollback, a fault at
//! each mutating call, resume after a crash; each cutover and target) is declared by the plan's
//! permissions ([`ecs_bluegreen::permissions::required`]): its IAM action, and, when the request
//! names ARNs of the action's service, one of them among the declared resources. A call nobody
//! declared fails the test naming the call and the steps running when it was made.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use ecs_bluegreen::iam_policy::{Decision, PolicySet};
use ecs_bluegreen::permissions::{Permission, PermissionContext, PolicyDocument, required};
use ecs_bluegreen::spec::{Port, ServiceCutover, ServiceName, Target};
use ecs_bluegreen::testing::{Fault, InjectedError, MockAccount, MockClients, Scenario, sample};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, EventKind, InMemoryJournal, Journal, Migration, Plan, StepRegistry};

/// One thing that happened, in order: a call, or a step starting, ending, undoing.
#[derive(Debug, Clone)]
enum Seen {
    Call { action: String, input: String },
    Started(String),
    Ended(String),
    Undoing(String),
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    fn push(&self, s: Seen) {
        self.0.lock().unwrap().push(s);
    }
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Log")
    }
}

/// The IAM service prefix of an SDK service name.
fn iam_prefix(service: &str) -> String {
    match service.to_ascii_lowercase().as_str() {
        "ecs" => "ecs",
        s if s.contains("elastic load balancing") || s.contains("elasticloadbalancing") => "elasticloadbalancing",
        "codedeploy" => "codedeploy",
        "codepipeline" => "codepipeline",
        "iam" => "iam",
        "sts" => "sts",
        "ssm" => "ssm",
        s if s.contains("auto scaling") || s.contains("autoscaling") => "application-autoscaling",
        "cloudwatch" => "cloudwatch",
        other => panic!("no IAM prefix known for SDK service {other:?}: add it here"),
    }
    .to_owned()
}

impl Intercept for Log {
    fn name(&self) -> &'static str {
        "permission coverage log"
    }
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            let action = format!("{}:{}", iam_prefix(meta.service()), meta.name());
            self.push(Seen::Call { action, input: format!("{:?}", context.input()) });
        }
        Ok(())
    }
}

fn opts(log: &Log) -> ApplyOptions {
    let log = log.clone();
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST).observer(move |e| match &e.kind {
        EventKind::StepStarted { step } => log.push(Seen::Started(step.to_string())),
        EventKind::StepFinished { step } | EventKind::StepFailed { step, .. } => log.push(Seen::Ended(step.to_string())),
        EventKind::Undoing { what } => log.push(Seen::Undoing(what.clone())),
        _ => {}
    })
}

fn clients(account: &MockAccount, log: &Log) -> AwsClients {
    account.clients_from(MockClients::new().interceptor(log.clone()))
}

/// The ARNs a request names (`arn:...` up to a quote or bracket), of the action's own service.
fn arns_of(action: &str, input: &str) -> Vec<String> {
    let service = action.split(':').next().unwrap_or_default();
    input
        .match_indices("arn:")
        .map(|(i, _)| input[i..].split(['"', ')', ']', ',', ' ', '\\']).next().unwrap_or_default().to_owned())
        .filter(|arn| arn.split(':').nth(2) == Some(service))
        .collect()
}

/// Every call in `seen` must be declared in `declared`; a missing one names the steps running.
fn assert_covered(scenario: &str, seen: &[Seen], declared: &[Permission]) {
    let document = PolicyDocument::from_permissions(declared);
    let policies = PolicySet::parse([("declared", document.to_json().as_str())]).unwrap();
    let mut running: Vec<String> = Vec::new();
    let mut undoing: Option<String> = None;
    let mut missing = BTreeMap::<String, String>::new();
    for s in seen {
        match s {
            Seen::Started(step) => running.push(step.clone()),
            Seen::Ended(step) => running.retain(|r| r != step),
            Seen::Undoing(what) => undoing = Some(what.clone()),
            Seen::Call { action, input } => {
                let who = match (&undoing, running.is_empty()) {
                    (Some(what), _) => format!("undo of {what}"),
                    (None, false) => format!("step(s) {}", running.join(", ")),
                    (None, true) => "the run itself (discovery, lock, preflight)".to_owned(),
                };
                if !declared.iter().any(|p| p.action.eq_ignore_ascii_case(action)) {
                    missing.entry(format!("{action} (undeclared action)")).or_insert(who);
                    continue;
                }
                // Conditions (iam:PassedToService) are not part of the call: check the resources.
                // These name their resource by name; the ARNs they carry are parameters (the
                // task definition of a service, the managed policy attached to a role).
                let by_name = ["ecs:CreateService", "ecs:UpdateService", "iam:AttachRolePolicy", "iam:DetachRolePolicy"];
                let arns = if by_name.contains(&action.as_str()) { Vec::new() } else { arns_of(action, input) };
                let context: BTreeMap<String, String> = declared
                    .iter()
                    .filter(|p| p.action.eq_ignore_ascii_case(action))
                    .flat_map(Permission::context)
                    .collect();
                if !arns.is_empty() && !arns.iter().any(|arn| policies.evaluate(action, arn, &context) == Decision::Allowed) {
                    missing.entry(format!("{action} on {}", arns.join(" / "))).or_insert(who);
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{scenario}: calls not covered by the declared permissions (declare them in the step's `permissions`, or in \
         permissions::run_permissions for the run's own calls):\n{}",
        missing.iter().map(|(call, who)| format!("  {call}, made by {who}")).collect::<Vec<_>>().join("\n")
    );
}

fn declared(plan: &Plan) -> Vec<Permission> {
    required(&PermissionContext::new(plan).region(sample::REGION), &StepRegistry::new()).unwrap()
}

/// A journal that fails (as a crash would) once it holds `limit` records.
struct CrashAfter(InMemoryJournal, usize);

impl Journal for CrashAfter {
    fn append(&self, entry: ecs_bluegreen::journal::Entry) -> ecs_bluegreen::Result<u64> {
        if self.0.records()?.len() >= self.1 {
            return Err(ecs_bluegreen::Error::Journal("simulated crash".into()));
        }
        self.0.append(entry)
    }
    fn records(&self) -> ecs_bluegreen::Result<Vec<ecs_bluegreen::journal::Record>> {
        self.0.records()
    }
}

/// Plan, apply, rollback; then a fault at each mutating call; then a crash half way and a
/// resume: every call of every run covered.
async fn check(name: &str, scenario: Scenario, migration: Migration) {
    let log = Log::default();
    let account = MockAccount::new(scenario.clone());
    let aws = clients(&account, &log);
    let plan = migration.plan(&aws).await.unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let declared = declared(&plan);
    let journal = InMemoryJournal::new();
    plan.apply(&aws, &journal, &opts(&log)).await.unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts(&log)).await.unwrap_or_else(|e| panic!("{name}: {e:?}"));
    assert!(report.is_clean(), "{name}: {report}");
    let mutations = account.mutating_operations();
    let records = journal.records().unwrap().len();
    assert_covered(&format!("{name}: apply and rollback"), &log.take(), &declared);

    for (i, op) in mutations.iter().enumerate() {
        let account = MockAccount::new(scenario.clone());
        let aws = clients(&account, &log);
        let plan = migration.plan(&aws).await.unwrap();
        account.inject(Fault::nth_mutation(i + 1, InjectedError::Throttling));
        let _ = plan.apply(&aws, &InMemoryJournal::new(), &opts(&log)).await;
        account.clear_faults();
        assert_covered(&format!("{name}: fault at mutating call {} ({op})", i + 1), &log.take(), &declared);
    }

    let account = MockAccount::new(scenario);
    let aws = clients(&account, &log);
    let plan = migration.plan(&aws).await.unwrap();
    let crashed = CrashAfter(InMemoryJournal::new(), records / 3);
    assert!(plan.apply(&aws, &crashed, &opts(&log)).await.is_err(), "{name}: the crash");
    let journal = InMemoryJournal::from_records(crashed.records().unwrap());
    ecs_bluegreen::resume(&aws, &journal, &opts(&log)).await.unwrap_or_else(|e| panic!("{name}: resume: {e:?}"));
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts(&log)).await.unwrap_or_else(|e| panic!("{name}: rollback after resume: {e:?}"));
    assert!(report.is_clean(), "{name}: {report}");
    assert_covered(&format!("{name}: resume after a crash, then rollback"), &log.take(), &declared);
}

fn codedeploy(cutover: ServiceCutover, test_port: Option<u16>) -> Migration {
    sample::base()
        .test_listener_port_opt(test_port.map(|p| Port::new(p).unwrap()))
        .pipeline(sample::pipeline_stage())
        .cutover(cutover)
        .build()
}

#[tokio::test(start_paused = true)]
async fn every_call_of_a_codedeploy_migration_is_declared_for_each_cutover() {
    for (name, cutover) in [
        ("parallel-keep-name", ServiceCutover::ParallelKeepName),
        ("recreate", ServiceCutover::Recreate),
        ("parallel", ServiceCutover::Parallel { new_name: ServiceName::new("web-bg").unwrap() }),
    ] {
        check(name, Scenario::default().with_scaling(), codedeploy(cutover, Some(8080))).await;
    }
}

#[tokio::test(start_paused = true)]
async fn every_call_is_declared_without_a_test_port_with_an_existing_role_and_a_ready_pipeline_role() {
    check("weight zero", Scenario::default(), codedeploy(ServiceCutover::ParallelKeepName, None)).await;
    check("pipeline role ready", Scenario::default().with_pipeline_role_ready(), codedeploy(ServiceCutover::ParallelKeepName, Some(8080))).await;
    let adopt = ecs_bluegreen::spec::CodeDeployRole::builder()
        .role_name(ecs_bluegreen::spec::RoleName::new("unused").unwrap())
        .existing_role_arn(ecs_bluegreen::spec::RoleArn::new(ecs_bluegreen::testing::EXISTING_ROLE_ARN).unwrap())
        .build();
    check("existing role", Scenario::default().with_existing_role(), sample::base().role(adopt).build()).await;
}

#[tokio::test(start_paused = true)]
async fn every_call_of_an_ecs_native_migration_is_declared() {
    for port in [Some(8080), None] {
        let migration = Migration::for_service(sample::CLUSTER, sample::SERVICE)
            .unwrap()
            .target(Target::EcsNative)
            .test_listener_port_opt(port.map(|p| Port::new(p).unwrap()))
            .build();
        check(&format!("ecs-native, test port {port:?}"), Scenario::default(), migration).await;
    }
}

#[tokio::test(start_paused = true)]
async fn every_call_of_the_way_back_from_ecs_native_to_rolling_is_declared() {
    let migration = Migration::for_service(sample::CLUSTER, sample::SERVICE).unwrap().target(Target::Rolling).build();
    check("ecs-native → rolling", Scenario::default().already_on_ecs_native(), migration).await;
}

#[tokio::test(start_paused = true)]
async fn every_call_of_the_way_onward_from_codedeploy_is_declared() {
    for target in [Target::EcsNative, Target::Rolling] {
        let migration =
            Migration::for_service(sample::CLUSTER, sample::SERVICE).unwrap().target(target).pipeline(sample::pipeline_stage()).build();
        check(&format!("CODE_DEPLOY → {target:?}"), Scenario::default().already_migrated(), migration).await;
    }
}

#[test]
fn the_policy_never_allows_every_action_and_scopes_what_the_plan_names() {
    let plan = ecs_bluegreen::plan::plan(&codedeploy(ServiceCutover::ParallelKeepName, Some(8080)), &sample::inventory()).unwrap();
    let doc = ecs_bluegreen::permissions::policy(&PermissionContext::new(&plan));
    let json = doc.to_json();
    assert!(doc.statements.iter().all(|s| s.actions.iter().all(|a| a != "*" && !a.ends_with(":*"))), "{json}");
    let allowed = |action: &str, resource: &str| doc.pairs().iter().any(|(a, r)| a == action && r == resource);
    assert!(allowed("ecs:CreateService", sample::SERVICE_ARN), "{json}");
    assert!(allowed("iam:CreateRole", sample::ROLE_ARN), "{json}");
    assert!(allowed("codedeploy:CreateApplication", "arn:aws:codedeploy:us-east-1:123456789012:application:prod-web"), "{json}");
    assert!(allowed("codepipeline:UpdatePipeline", "arn:aws:codepipeline:us-east-1:123456789012:web-pipeline"), "{json}");
    assert!(!allowed("ecs:CreateService", "*") && !allowed("iam:CreateRole", "*"), "mutations are scoped: {json}");
    // The pipeline role's check reads that role only (its ARN from GetPipeline, in the plan).
    for read in ["iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies"] {
        assert!(allowed(read, sample::PIPELINE_ROLE_ARN), "{read}: {json}");
        assert!(!doc.pairs().iter().any(|(a, r)| a == read && r.ends_with(":role/*")), "{read} on no role but those it names: {json}");
    }
    // UpdatePipeline passes the pipeline's role: that role only.
    let to_codepipeline: Vec<&String> = doc
        .statements
        .iter()
        .filter(|s| s.actions == ["iam:PassRole"] && s.conditions["StringEquals"]["iam:PassedToService"] == ["codepipeline.amazonaws.com"])
        .flat_map(|s| &s.resources)
        .collect();
    assert_eq!(to_codepipeline, [sample::PIPELINE_ROLE_ARN], "{json}");
    let pass = doc.statements.iter().find(|s| s.actions == ["iam:PassRole"] && s.resources == [sample::ROLE_ARN]).expect(&json);
    assert_eq!(pass.conditions["StringEquals"]["iam:PassedToService"], ["codedeploy.amazonaws.com"]);
    // The same plan gives the same text.
    assert_eq!(json, ecs_bluegreen::permissions::policy(&PermissionContext::new(&plan)).to_json());
}

/// The policy `migrate permissions` prints for `migration` on `account`, as the caller's.
async fn printed_policy(account: &MockAccount, migration: &Migration, caller: &str) -> PolicyDocument {
    let plan = migration.plan(&account.clients()).await.unwrap();
    ecs_bluegreen::permissions::policy(&PermissionContext::new(&plan).region(sample::REGION).caller(caller))
}

fn preflighted(migration: &Migration) -> ecs_bluegreen::Transaction {
    ecs_bluegreen::Transaction::new(migration.clone()).preflight(true)
}

const KIT_USER: &str = "arn:aws:iam::123456789012:user/ecs-bluegreen-kit";

#[tokio::test(start_paused = true)]
async fn the_preflight_passes_a_caller_holding_the_printed_policy() {
    let account = MockAccount::new(Scenario::default());
    let migration = codedeploy(ServiceCutover::ParallelKeepName, Some(8080));
    let doc = printed_policy(&account, &migration, KIT_USER).await;
    account.edit(|st| st.caller_policies = Some(vec![doc.to_json()]));
    let before = account.calls().len();
    let plan = preflighted(&migration).plan(&account.clients()).await.unwrap();
    assert!(!plan.warnings.iter().any(|w| w.contains("permissions not checked")), "{:?}", plan.warnings);
    // Discovery simulates the pipeline's role too: count the caller's simulations.
    let simulations =
        account.calls()[before..].iter().filter(|c| c.operation == "SimulatePrincipalPolicy" && c.input.contains(KIT_USER)).count();
    assert_eq!(simulations, doc.statements.len(), "one simulation per statement");
    assert!(account.mutating_operations().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_missing_action_refuses_the_plan_naming_it_and_its_resource_with_nothing_changed() {
    let account = MockAccount::new(Scenario::default());
    let start = account.state();
    let migration = codedeploy(ServiceCutover::ParallelKeepName, Some(8080));
    let mut doc = printed_policy(&account, &migration, KIT_USER).await;
    for s in &mut doc.statements {
        s.actions.retain(|a| a != "ecs:CreateService");
    }
    doc.statements.retain(|s| !s.actions.is_empty());
    account.edit(|st| st.caller_policies = Some(vec![doc.to_json()]));
    let err = preflighted(&migration).plan(&account.clients()).await.unwrap_err();
    let ecs_bluegreen::Error::Plan(refused) = &err else { panic!("{err:?}") };
    assert!(refused.refusals().iter().all(|r| r.kind == ecs_bluegreen::plan::RefusalKind::PermissionDenied), "{err}");
    let problems: Vec<&str> = refused.refusals().iter().map(|r| r.problem.as_str()).collect();
    assert!(problems.iter().any(|p| p.contains("ecs:CreateService") && p.contains(sample::SERVICE_ARN)), "{problems:?}");
    assert!(problems.iter().all(|p| p.contains("ecs:CreateService")), "only the removed action: {problems:?}");
    assert!(account.mutating_operations().is_empty());
    assert_eq!(start.differences(&account.state()), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn an_explicit_deny_is_refused_as_one() {
    let account = MockAccount::new(Scenario::default());
    let migration = codedeploy(ServiceCutover::ParallelKeepName, Some(8080));
    let doc = printed_policy(&account, &migration, KIT_USER).await;
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateRole","Resource":"*"}]}"#;
    account.edit(|st| st.caller_policies = Some(vec![doc.to_json(), deny.to_owned()]));
    let err = preflighted(&migration).plan(&account.clients()).await.unwrap_err();
    let ecs_bluegreen::Error::Plan(refused) = &err else { panic!("{err:?}") };
    assert_eq!(refused.refusals().len(), 1, "{err}");
    assert!(refused.refusals()[0].problem.contains("iam:CreateRole") && refused.refusals()[0].problem.contains("explicit deny"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_may_not_simulate_gets_a_warning_and_the_plan() {
    // The kit refuses SimulatePrincipalPolicy when the test gave the caller no policies.
    let account = MockAccount::new(Scenario::default());
    let migration = codedeploy(ServiceCutover::ParallelKeepName, Some(8080));
    let plan = preflighted(&migration).plan(&account.clients()).await.unwrap();
    let warning = plan.warnings.iter().find(|w| w.contains("permissions not checked")).expect("a warning");
    assert!(warning.contains("AccessDenied") && warning.contains(KIT_USER), "{warning}");
    assert!(account.mutating_operations().is_empty());
    // Without the preflight, no simulation of the caller at all.
    let before = account.calls().len();
    migration.plan(&account.clients()).await.unwrap();
    assert!(!account.calls()[before..].iter().any(|c| c.operation == "SimulatePrincipalPolicy" && c.input.contains("ecs-bluegreen-kit")));
}

#[tokio::test(start_paused = true)]
async fn an_assumed_role_is_simulated_as_its_role() {
    let account = MockAccount::new(Scenario::default());
    let session = "arn:aws:sts::123456789012:assumed-role/Deployer/alice";
    let role = "arn:aws:iam::123456789012:role/Deployer";
    account.edit(|st| st.caller_arn = Some(session.to_owned()));
    let migration = codedeploy(ServiceCutover::ParallelKeepName, Some(8080));
    let doc = printed_policy(&account, &migration, role).await;
    account.edit(|st| st.caller_policies = Some(vec![doc.to_json()]));
    let plan = preflighted(&migration).plan(&account.clients()).await.unwrap();
    assert!(!plan.warnings.iter().any(|w| w.contains("permissions not checked")), "{:?}", plan.warnings);
    let sims: Vec<String> =
        account.calls().iter().filter(|c| c.operation == "SimulatePrincipalPolicy" && c.input.contains("Deployer")).map(|c| c.input.clone()).collect();
    assert!(!sims.is_empty() && sims.iter().all(|i| i.contains(role) && !i.contains("assumed-role/Deployer/alice\"")), "{sims:?}");
}
