//! The pipeline role's grant on the test kit, which refuses `SimulatePrincipalPolicy` (as IAM
//! does for a caller without `iam:SimulatePrincipalPolicy`): discovery falls back to reading the
//! role's policies and evaluating them here. The simulation itself is tested on moto
//! (`tests/moto/pipeline_role_moto.rs`). Run: `cargo test --test mocked pipeline_role::`.

use ecs_bluegreen::inventory::RoleCheck;
use ecs_bluegreen::plan::ChangeDetail;
use ecs_bluegreen::spec::{Migration, PipelineDeployStage, PipelineName};
use ecs_bluegreen::testing::sample::{ECS_DEPLOY_POLICY, PIPELINE, PIPELINE_ROLE};
use ecs_bluegreen::testing::{InjectedError, MockAccount, Scenario, fail_each_step};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, InMemoryJournal, Outcome, Plan, StepId};

fn migration() -> Migration {
    Migration::for_service("prod", "web")
        .unwrap()
        .pipeline(PipelineDeployStage::named(PipelineName::new(PIPELINE).unwrap()))
        .build()
}

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

async fn migrate(aws: AwsClients) -> Result<Outcome, ecs_bluegreen::Error> {
    let plan = migration().plan(&aws).await?;
    plan.apply(&aws, &InMemoryJournal::new(), &opts()).await
}

fn grant(plan: &Plan) -> Option<(String, Vec<String>)> {
    match plan.change(StepId::PipelineRolePolicy).map(|c| &c.detail) {
        Some(ChangeDetail::PipelineRolePolicy { policy_name, grants, .. }) => {
            Some((policy_name.clone(), grants.iter().map(|g| g.action.clone()).collect()))
        }
        _ => None,
    }
}

const CODEDEPLOY_ACTIONS: [&str; 6] = [
    "codedeploy:CreateDeployment",
    "codedeploy:GetDeployment",
    "codedeploy:GetApplication",
    "codedeploy:GetApplicationRevision",
    "codedeploy:RegisterApplicationRevision",
    "codedeploy:GetDeploymentConfig",
];

#[tokio::test(start_paused = true)]
async fn a_role_written_for_the_ecs_action_is_granted_the_codedeploy_permissions_and_rollback_removes_only_that() {
    let account = MockAccount::default_scenario();
    let aws = account.clients();
    let plan = migration().plan(&aws).await.unwrap();
    let (policy_name, actions) = grant(&plan).expect("a grant for the pipeline role");
    // ecs:RegisterTaskDefinition and iam:PassRole (to ECS tasks) the ECS action's policy allows.
    assert_eq!(actions, CODEDEPLOY_ACTIONS);
    assert!(policy_name.starts_with("ecs-bluegreen-prod-web"), "{policy_name}");
    assert!(plan.notes.iter().any(|n| n.contains("reading its policies") && n.contains("AccessDenied")), "{:?}", plan.notes);
    let pipeline = plan.change(StepId::PipelineDeployAction).unwrap();
    assert!(pipeline.depends_on.contains(&StepId::PipelineRolePolicy), "the pipeline is rewired after the grant");
    let text = plan.to_string();
    assert!(text.contains(&format!("+ create inline policy {policy_name} on pipeline role {PIPELINE_ROLE}")), "{text}");
    assert!(text.contains("allow codedeploy:CreateDeployment, codedeploy:GetDeployment"), "{text}");

    let journal = InMemoryJournal::new();
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);
    let ops = account.mutating_operations();
    let put = ops.iter().position(|o| o == "PutRolePolicy").expect("PutRolePolicy");
    assert!(put < ops.iter().position(|o| o == "UpdatePipeline").unwrap(), "{ops:?}");
    let role = account.state().roles[PIPELINE_ROLE].clone();
    assert_eq!(role.inline_policies.keys().collect::<Vec<_>>(), [policy_name.as_str(), "ecs-deploy"]);
    assert_eq!(role.inline_policies["ecs-deploy"], ECS_DEPLOY_POLICY);

    // Read again, the role lacks nothing: no step, a note.
    let again = migration().plan(&aws).await.unwrap();
    assert!(grant(&again).is_none(), "{again}");
    assert!(again.notes.iter().any(|n| n.contains("already has what")), "{:?}", again.notes);

    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();

    assert!(report.is_clean(), "{report}");
    let role = account.state().roles[PIPELINE_ROLE].clone();
    assert_eq!(role.inline_policies.keys().collect::<Vec<_>>(), ["ecs-deploy"], "only the added policy is gone");
    assert_eq!(role.inline_policies["ecs-deploy"], ECS_DEPLOY_POLICY);
}

#[tokio::test(start_paused = true)]
async fn a_role_that_already_can_gets_no_step_and_a_note() {
    let account = MockAccount::new(Scenario::default().with_pipeline_role_ready());
    let plan = migration().plan(&account.clients()).await.unwrap();
    assert!(grant(&plan).is_none());
    assert!(plan.notes.iter().any(|n| n.contains(PIPELINE_ROLE) && n.contains("already has what")), "{:?}", plan.notes);
    assert_eq!(migrate(account.clients()).await.unwrap(), Outcome::Applied);
    assert!(!account.operations().contains(&"PutRolePolicy".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn a_role_whose_policies_cannot_be_read_is_granted_everything_with_a_warning() {
    let account = MockAccount::default_scenario();
    // An attached managed policy the kit holds no document of: GetPolicy fails.
    account.edit(|st| st.roles.get_mut(PIPELINE_ROLE).unwrap().policies.push("arn:aws:iam::123456789012:policy/team-deployers".into()));
    let plan = migration().plan(&account.clients()).await.unwrap();
    let (_, actions) = grant(&plan).unwrap();
    assert_eq!(actions.len(), 8, "every permission, PassRole for the execution role included: {actions:?}");
    assert!(actions.contains(&"ecs:RegisterTaskDefinition".to_owned()) && actions.contains(&"iam:PassRole".to_owned()));
    assert!(plan.warnings.iter().any(|w| w.contains("could not be read") && w.contains("GetPolicy")), "{:?}", plan.warnings);
}

#[tokio::test(start_paused = true)]
async fn an_explicit_deny_is_reported_and_a_missing_role_gets_no_step() {
    let account = MockAccount::default_scenario();
    account.edit(|st| {
        st.roles.get_mut(PIPELINE_ROLE).unwrap().inline_policies.insert(
            "no-deploys".into(),
            r#"{"Statement":[{"Effect":"Deny","Action":"codedeploy:CreateDeployment","Resource":"*"}]}"#.into(),
        );
    });
    let plan = migration().plan(&account.clients()).await.unwrap();
    assert!(plan.warnings.iter().any(|w| w.contains("explicitly denied codedeploy:CreateDeployment")), "{:?}", plan.warnings);
    assert_eq!(grant(&plan).unwrap().1, CODEDEPLOY_ACTIONS[1..], "a Deny is not granted around");

    account.edit(|st| st.roles.remove(PIPELINE_ROLE));
    let plan = migration().plan(&account.clients()).await.unwrap();
    assert!(grant(&plan).is_none());
    assert!(plan.warnings.iter().any(|w| w.contains("does not exist") && w.contains(PIPELINE_ROLE)), "{:?}", plan.warnings);
}

#[tokio::test(start_paused = true)]
async fn discovery_reports_how_the_role_was_checked() {
    let account = MockAccount::default_scenario();
    let inv = ecs_bluegreen::discover::discover(&account.clients(), &migration()).await.unwrap();
    let role = inv.pipeline_role.expect("the pipeline role is checked");
    assert_eq!(role.name, PIPELINE_ROLE);
    assert!(matches!(role.check, RoleCheck::Policies { .. }), "{:?}", role.check);
    assert_eq!(role.shortfall.missing.len(), 6);
    assert!(role.shortfall.denied.is_empty());
    // Without a pipeline nothing is checked.
    let no_pipeline = Migration::for_service("prod", "web").unwrap().build();
    assert!(ecs_bluegreen::discover::discover(&account.clients(), &no_pipeline).await.unwrap().pipeline_role.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_fault_at_every_mutating_call_including_the_grant_leaves_the_account_as_it_started() {
    for error in [InjectedError::Throttling, InjectedError::ResponseLost] {
        let report = fail_each_step(&Scenario::default(), error.clone(), migrate).await;
        assert_eq!(report.clean_outcome, "Ok(Applied)");
        assert!(report.mutating_calls.iter().any(|c| c == "PutRolePolicy"), "{:?}", report.mutating_calls);
        assert!(report.runs.iter().any(|r| r.operation == "PutRolePolicy"), "the grant failed in one run");
        report.assert_all_restored();
    }
}

#[tokio::test(start_paused = true)]
async fn a_partial_transaction_without_the_grant_warns() {
    let account = MockAccount::default_scenario();
    let plan = ecs_bluegreen::Transaction::new(migration())
        .without([StepId::PipelineRolePolicy])
        .plan(&account.clients())
        .await
        .unwrap();
    assert!(plan.change(StepId::PipelineRolePolicy).is_none());
    assert!(plan.warnings.iter().any(|w| w.contains("add the pipeline-role-policy step")), "{:?}", plan.warnings);
}
