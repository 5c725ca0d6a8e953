//! A partial migration, composed from built-in steps: the service was already recreated on the
//! `CODE_DEPLOY` controller by Terraform (`deployment_controller { type = "CODE_DEPLOY" }`), so
//! only the green target group, test listener, role, application, deployment group and the
//! pipeline are left to do. The transaction leaves the service cutover out; the plan checks
//! the rest against the live account (a deployment group needs the service on `CODE_DEPLOY`, a
//! pipeline step needs a deployment group) before anything changes.
//!
//! `cargo run --example partial` prints the plan and what changed on the test kit;
//! `cargo test --example partial` runs the tests below.

use ecs_bluegreen::spec::{PipelineDeployStage, PipelineName, Port};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, InMemoryJournal, Migration, Plan, StepId, Transaction};

/// The migration the team runs: a test listener on 8080 and the service's pipeline.
pub fn migration() -> Migration {
    Migration::for_service("prod", "web")
        .expect("valid names")
        .test_listener_port(Port::new(8080).expect("valid port"))
        .pipeline(PipelineDeployStage::named(PipelineName::new("web-pipeline").expect("valid name")))
        .build()
}

/// Everything but the cutover: Terraform already recreated the service.
pub async fn plan_after_terraform(aws: &AwsClients) -> ecs_bluegreen::Result<Plan> {
    Transaction::new(migration()).without([StepId::ServiceCutover]).plan(aws).await
}

/// Short waits for the kit.
pub fn options() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    use ecs_bluegreen::testing::{MockAccount, Scenario};
    let account = MockAccount::new(Scenario::default());
    // What Terraform did: the same service, now on the CODE_DEPLOY controller.
    account.edit(|st| st.services.get_mut("web").expect("the scenario's service").deployment_controller = "CODE_DEPLOY".into());
    let aws = account.clients();
    let plan = plan_after_terraform(&aws).await.expect("plan");
    println!("{plan}");
    let outcome = plan.apply(&aws, &InMemoryJournal::new(), &options()).await;
    println!("outcome: {outcome:?}\nchanges made, in order:");
    for line in &account.state().log {
        println!("  {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecs_bluegreen::{Error, Outcome};
    use ecs_bluegreen::plan::RefusalKind;
    use ecs_bluegreen::testing::{MockAccount, Scenario};

    fn recreated_by_terraform() -> MockAccount {
        let account = MockAccount::new(Scenario::default());
        account.edit(|st| st.services.get_mut("web").unwrap().deployment_controller = "CODE_DEPLOY".into());
        account
    }

    #[tokio::test(start_paused = true)]
    async fn the_rest_of_the_migration_is_created_around_the_recreated_service() {
        let account = recreated_by_terraform();
        let service_before = account.state().services["web"].clone();
        let plan = plan_after_terraform(&account.clients()).await.unwrap();
        assert!(plan.change(StepId::ServiceCutover).is_none());
        assert_eq!(plan.built_in_steps.len(), 7);
        assert_eq!(plan.apply(&account.clients(), &InMemoryJournal::new(), &options()).await.unwrap(), Outcome::Applied);
        let st = account.state();
        assert_eq!(st.services["web"], service_before, "the service is not touched");
        assert!(!st.log.iter().any(|l| l.contains("Service")), "{:#?}", st.log);
        let group = &st.deployment_groups[&("prod-web".to_owned(), "web-bluegreen".to_owned())];
        assert_eq!(group.ecs_services()[0].service_name(), Some("web"));
        let action = st.pipelines["web-pipeline"].stages.iter().flat_map(|s| s.actions.iter()).find(|a| a.name == "Deploy").unwrap();
        assert_eq!(action.action_type_id.as_ref().unwrap().provider, "CodeDeployToECS");
        // verify agrees that the setup is complete.
        let report = ecs_bluegreen::verify::verify(&account.clients(), &migration()).await.unwrap();
        let failures: Vec<_> = report.failures().map(|c| c.name.clone()).collect();
        assert!(failures.is_empty(), "{failures:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_same_transaction_on_a_service_still_on_rolling_updates_is_refused() {
        let account = MockAccount::new(Scenario::default());
        let Err(Error::Plan(refused)) = plan_after_terraform(&account.clients()).await else { panic!("accepted") };
        assert!(refused.has(RefusalKind::MissingPrerequisite), "{refused}");
        assert!(refused.to_string().contains("service-cutover"), "{refused}");
        assert!(account.mutating_operations().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_pipeline_step_without_a_deployment_group_is_refused() {
        let account = MockAccount::new(Scenario::default());
        let only_pipeline = Transaction::new(migration()).only([StepId::PipelineDeployAction]).plan(&account.clients()).await;
        let Err(Error::Plan(refused)) = only_pipeline else { panic!("a pipeline pointed at a missing group was accepted") };
        assert!(refused.has(RefusalKind::MissingPrerequisite), "{refused}");
        assert!(refused.to_string().contains("deployment group prod-web/web-bluegreen"), "{refused}");
        assert!(account.mutating_operations().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_plan_is_refused_and_nothing_changes() {
        let account = MockAccount::new(Scenario::default());
        let plan = migration().plan(&account.clients()).await.unwrap();
        // An operator scales the service between plan and apply: the cutover would undo it.
        account.edit(|st| st.services.get_mut("web").unwrap().desired_count += 4);
        let before = account.state();
        let result = plan.apply(&account.clients(), &InMemoryJournal::new(), &options()).await;
        let Err(Error::Plan(refused)) = result else { panic!("a stale plan was applied: {result:?}") };
        assert!(refused.has(RefusalKind::StalePlan), "{refused}");
        assert!(refused.to_string().contains("service-cutover"), "{refused}");
        assert_eq!(account.state().differences(&before), Vec::<String>::new());
        // A plan made now is applied.
        let again = migration().plan(&account.clients()).await.unwrap();
        assert_eq!(again.apply(&account.clients(), &InMemoryJournal::new(), &options()).await.unwrap(), Outcome::Applied);
        assert_eq!(account.state().services["web"].desired_count, before.services["web"].desired_count);
    }

    #[tokio::test(start_paused = true)]
    async fn a_plan_loaded_from_an_older_version_is_refused() {
        let account = recreated_by_terraform();
        let plan = plan_after_terraform(&account.clients()).await.unwrap();
        let mut json: serde_json::Value = serde_json::to_value(&plan).unwrap();
        json.as_object_mut().unwrap().remove("migration");
        let old: Plan = serde_json::from_value(json).unwrap();
        let result = old.apply(&account.clients(), &InMemoryJournal::new(), &options()).await;
        let Err(Error::Plan(refused)) = result else { panic!("applied without a check: {result:?}") };
        assert!(refused.has(RefusalKind::StalePlan), "{refused}");
        assert!(account.mutating_operations().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_green_group_made_earlier_is_attached_by_a_later_transaction() {
        let account = recreated_by_terraform();
        let no_test_port = || Migration::for_service("prod", "web").unwrap().build();
        let first = Transaction::new(no_test_port()).only([StepId::GreenTargetGroup]).plan(&account.clients()).await.unwrap();
        assert_eq!(first.apply(&account.clients(), &InMemoryJournal::new(), &options()).await.unwrap(), Outcome::Applied);
        // The rest, without the green step: the green group joins the production listener at
        // weight 0 by the ARN the plan found.
        let rest = Transaction::new(no_test_port())
            .without([StepId::GreenTargetGroup, StepId::ServiceCutover])
            .plan(&account.clients())
            .await
            .unwrap();
        assert_eq!(rest.apply(&account.clients(), &InMemoryJournal::new(), &options()).await.unwrap(), Outcome::Applied);
        let st = account.state();
        let green = st.target_groups.values().find(|t| t.name.ends_with("-green")).unwrap().arn.clone();
        let listener = &st.load_balancer.listeners.iter().find(|l| l.port == Some(80)).unwrap();
        let weights: Vec<(String, i32)> = listener.default_forward.iter().map(|t| (t.target_group_arn.clone(), t.weight)).collect();
        assert!(weights.contains(&(green, 0)), "{weights:?}");
        assert!(st.deployment_groups.contains_key(&("prod-web".to_owned(), "web-bluegreen".to_owned())));
    }
}
