//! A platform team's migration script and its unit tests, on the test kit (no AWS account).
//!
//! The script, [`migrate_and_verify`], is what a team wraps around the library: plan, turn a
//! refusal into a report, migrate, then check the result with `verify`. `main` runs it against a mock
//! account and prints what happened; `cargo test --example testing` runs its tests:
//!
//! * the happy path on the default scenario and on EC2, checking the end state;
//! * a refusal that must change nothing;
//! * a fault at each mutating call in turn (`fail_each_step`): every run must end as it started.

use ecs_bluegreen::spec::{Migration, Port};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, InMemoryJournal, Outcome};

/// What the script reports.
#[derive(Debug, PartialEq, Eq)]
pub enum ScriptOutcome {
    /// Migrated (or already migrated) and `verify` passed.
    Ready,
    /// Refused before any change, with the reason.
    Refused(String),
}

/// Migrates `service` in `cluster` with the default zero-downtime cutover and a test listener on
/// 8080, then verifies the live setup. Errors are the library's (already rolled back).
pub async fn migrate_and_verify(
    aws: &AwsClients,
    cluster: &str,
    service: &str,
    waits: WaitPolicy,
) -> Result<ScriptOutcome, ecs_bluegreen::Error> {
    let migration = Migration::for_service(cluster, service)?.test_listener_port(Port::new(8080)?).build();
    let plan = match migration.plan(aws).await {
        Ok(plan) => plan,
        Err(ecs_bluegreen::Error::Plan(refused)) => return Ok(ScriptOutcome::Refused(refused.to_string())),
        Err(e) => return Err(e),
    };
    let opts = ApplyOptions::new().service_wait(waits).iam_propagation(waits);
    match plan.apply(aws, &InMemoryJournal::new(), &opts).await? {
        Outcome::Applied | Outcome::NothingToDo => {}
        Outcome::RolledBack(report) => return Ok(ScriptOutcome::Refused(format!("an earlier run was rolled back: {report}"))),
        other => return Ok(ScriptOutcome::Refused(format!("unexpected outcome {other:?}"))),
    }
    let report = ecs_bluegreen::verify::verify(aws, &migration).await?;
    match report.failures().next() {
        None => Ok(ScriptOutcome::Ready),
        Some(check) => Ok(ScriptOutcome::Refused(format!("verify failed: {}: {:?}", check.name, check.reason))),
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    use ecs_bluegreen::testing::{MockAccount, Scenario};
    let account = MockAccount::new(Scenario::default());
    let outcome = migrate_and_verify(&account.clients(), "prod", "web", WaitPolicy::FAST).await;
    println!("outcome: {outcome:?}");
    println!("changes made, in order:");
    for line in &account.state().log {
        println!("  {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecs_bluegreen::testing::{InjectedError, MockAccount, Scenario, fail_each_step};

    #[tokio::test(start_paused = true)]
    async fn migrates_and_verifies_on_fargate_and_ec2() {
        for scenario in [Scenario::default(), Scenario::default().on_ec2()] {
            let account = MockAccount::new(scenario);
            let outcome = migrate_and_verify(&account.clients(), "prod", "web", WaitPolicy::FAST).await.unwrap();
            assert_eq!(outcome, ScriptOutcome::Ready);
            let st = account.state();
            assert_eq!(st.services["web"].deployment_controller, "CODE_DEPLOY");
            assert!(st.load_balancer.listeners.iter().any(|l| l.port == Some(8080)));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_plan_changes_nothing() {
        let account = MockAccount::new(Scenario::default().with_deployment_in_flight());
        let outcome = migrate_and_verify(&account.clients(), "prod", "web", WaitPolicy::FAST).await.unwrap();
        let ScriptOutcome::Refused(why) = outcome else { panic!("{outcome:?}") };
        assert!(why.contains("deployment"), "{why}");
        assert!(account.mutating_operations().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_at_any_step_leaves_the_account_as_it_was() {
        let report = fail_each_step(&Scenario::default(), InjectedError::Throttling, |aws| async move {
            migrate_and_verify(&aws, "prod", "web", WaitPolicy::FAST).await
        })
        .await;
        assert!(report.runs.len() >= 10, "{:?}", report.mutating_calls);
        report.assert_all_restored();
    }
}
