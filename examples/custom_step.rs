//! A platform team's own step inside the migration's transaction, run on the test kit.
//!
//! The team's rule: a service's target group drains in at most `seconds` during a cutover, so
//! the step [`DrainDelay`] sets the blue target group's `deregistration_delay.timeout_seconds`
//! after the green group is cloned (so the clone keeps the original setting) and before the
//! service cutover (so the cutover's drains are short). It is a step like the built-in ones:
//! it shows in the plan, refuses a bad value at plan time, journals its change, is undone in
//! order when a later step fails, and is resumed or rolled back after a crash, by a process
//! that registers its kind.
//!
//! `cargo run --example custom_step` prints the plan and the account's log;
//! `cargo test --example custom_step` runs the tests below: success, a failure after the user
//! step (undone, in order), a crash after it (resume and rollback), an unregistered kind, a
//! refusal, and a fault at every mutating call (`fail_each_step`).

use aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute;
use ecs_bluegreen::journal::Effect;
use ecs_bluegreen::plan::{Action, ChangeDetail, Refusal, RefusalKind};
use ecs_bluegreen::step::{PlanContext, Planned, Step, StepContext, UndoContext};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, Error, Journal, Migration, Outcome, Plan, StepId, StepRegistry, Transaction};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// The kind the step is registered under (the journal names it).
pub const KIND: &str = "acme/drain-delay";
const ATTRIBUTE: &str = "deregistration_delay.timeout_seconds";

/// Sets the blue target group's deregistration delay for the cutover. Its state is itself:
/// the registry rebuilds it from the plan with serde.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrainDelay {
    /// The delay to set, in seconds (ELB accepts 0 to 3600).
    pub seconds: u32,
}

/// What undo needs: which group, and the value before.
#[derive(Serialize, Deserialize)]
struct Changed {
    target_group_arn: String,
    before: String,
}

impl DrainDelay {
    /// The blue target group: the one the service's load balancer entry names, from the plan.
    fn blue_arn(plan: &Plan) -> Option<String> {
        match &plan.change(StepId::ServiceCutover)?.detail {
            ChangeDetail::ServiceCutover { from, .. } => from.load_balancers.first()?.target_group_arn.clone(),
            _ => None,
        }
    }
}

impl Step for DrainDelay {
    fn id(&self) -> StepId {
        StepId::new(KIND).expect("a valid step id")
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec![StepId::GreenTargetGroup]
    }

    fn required_by(&self) -> Vec<StepId> {
        vec![StepId::ServiceCutover]
    }

    fn planned(&self) -> Planned {
        let summary = format!("set the blue target group's {ATTRIBUTE} to {}", self.seconds);
        Planned::custom(KIND, Action::Update, summary, self).expect("the step serialises")
    }

    fn reads(&self) -> Vec<&'static str> {
        vec!["elasticloadbalancing:DescribeTargetGroupAttributes"]
    }

    fn refusals(&self, cx: &PlanContext<'_>) -> Vec<Refusal> {
        let mut refusals = Vec::new();
        if self.seconds > 3600 {
            refusals.push(Refusal::new(
                RefusalKind::Custom,
                format!("a deregistration delay of {} s is over ELB's limit of 3600 s", self.seconds),
                "choose a delay from 0 to 3600 seconds",
            ));
        }
        if cx.change(&StepId::ServiceCutover).is_none() {
            refusals.push(Refusal::new(
                RefusalKind::Custom,
                "the drain-delay step shortens the cutover's drains, but the transaction has no service cutover",
                "leave the step out of transactions without the service-cutover step",
            ));
        }
        refusals
    }

    fn apply<'a>(&'a self, cx: &'a StepContext<'a>) -> BoxFuture<'a, ecs_bluegreen::Result<()>> {
        Box::pin(async move {
            let arn = Self::blue_arn(cx.plan()).ok_or_else(|| Error::custom("the plan names no blue target group"))?;
            let elb = &cx.aws().elbv2;
            let attrs = elb.describe_target_group_attributes().target_group_arn(&arn).send().await.map_err(Error::custom)?;
            let before = attrs.attributes().iter().find(|a| a.key() == Some(ATTRIBUTE)).and_then(|a| a.value()).unwrap_or("300");
            let wanted = self.seconds.to_string();
            if before == wanted {
                return Ok(()); // idempotent: a resumed run finds it done
            }
            let effect = Effect::custom(
                format!("{ATTRIBUTE} of target group {arn} ({before} -> {wanted})"),
                &Changed { target_group_arn: arn.clone(), before: before.to_owned() },
            )?;
            let call = elb
                .modify_target_group_attributes()
                .target_group_arn(&arn)
                .attributes(TargetGroupAttribute::builder().key(ATTRIBUTE).value(&wanted).build())
                .send();
            cx.mutate(effect, async { call.await.map_err(Error::custom) }, |_, e| e).await?;
            Ok(())
        })
    }

    fn undo<'a>(&'a self, cx: &'a UndoContext<'a>, effect: &'a Effect, _confirmed: bool) -> BoxFuture<'a, ecs_bluegreen::Result<()>> {
        Box::pin(async move {
            let Effect::Custom { data, .. } = effect else { return Err(Error::custom("not this step's effect")) };
            let changed: Changed = serde_json::from_value(data.clone()).map_err(Error::custom)?;
            // Setting the value it had is harmless whether or not the change was made.
            let result = cx
                .aws()
                .elbv2
                .modify_target_group_attributes()
                .target_group_arn(&changed.target_group_arn)
                .attributes(TargetGroupAttribute::builder().key(ATTRIBUTE).value(&changed.before).build())
                .send()
                .await;
            match result {
                Ok(_) => Ok(()),
                Err(e) if format!("{e:?}").contains("TargetGroupNotFound") => Ok(()),
                Err(e) => Err(Error::custom(e)),
            }
        })
    }

    fn manual_undo(&self, effect: &Effect) -> String {
        match effect {
            Effect::Custom { data, .. } => format!(
                "aws elbv2 modify-target-group-attributes --target-group-arn {} --attributes Key={ATTRIBUTE},Value={}",
                data["target_group_arn"].as_str().unwrap_or("<blue target group>"),
                data["before"].as_str().unwrap_or("<value before>")
            ),
            other => format!("undo by hand: {}", other.describe()),
        }
    }
}

/// The team's registry: every process that may resume or roll back their migrations builds it.
pub fn registry() -> StepRegistry {
    StepRegistry::new().register::<DrainDelay>(KIND)
}

/// Options for the kit (short waits) with the team's steps registered.
pub fn options(registry: StepRegistry) -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST).steps(registry)
}

/// The team's script: the full migration with their step between the built-in ones.
pub async fn plan(aws: &AwsClients, seconds: u32) -> ecs_bluegreen::Result<Plan> {
    Transaction::new(Migration::for_service("prod", "web")?.build()).step(DrainDelay { seconds }).plan(aws).await
}

/// Plans and applies.
pub async fn migrate(aws: AwsClients, journal: &dyn Journal) -> ecs_bluegreen::Result<Outcome> {
    plan(&aws, 5).await?.apply(&aws, journal, &options(registry())).await
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    use ecs_bluegreen::testing::{MockAccount, Scenario};
    let account = MockAccount::new(Scenario::default());
    let aws = account.clients();
    let plan = plan(&aws, 5).await.expect("plan");
    println!("{plan}");
    let outcome = plan.apply(&aws, &ecs_bluegreen::InMemoryJournal::new(), &options(registry())).await;
    println!("outcome: {outcome:?}\nchanges made, in order:");
    for line in &account.state().log {
        println!("  {line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecs_bluegreen::InMemoryJournal;
    use ecs_bluegreen::journal::{Entry, Record};
    use ecs_bluegreen::testing::{Fault, InjectedError, MockAccount, Scenario, fail_each_step};

    fn blue(account: &MockAccount) -> (String, String) {
        let st = account.state();
        let arn = st.services["web"].load_balancers[0].target_group_arn.clone().unwrap();
        let delay = st.target_groups[&arn].attributes[ATTRIBUTE].clone();
        (arn, delay)
    }

    fn position(log: &[String], pred: impl Fn(&str) -> bool) -> usize {
        log.iter().position(|l| pred(l)).unwrap_or_else(|| panic!("not in the log: {log:#?}"))
    }

    #[tokio::test(start_paused = true)]
    async fn the_users_step_runs_between_the_green_group_and_the_cutover() {
        let account = MockAccount::new(Scenario::default());
        let (arn, before) = blue(&account);
        assert_eq!(before, "30");
        let blue_name = account.state().target_groups[&arn].name.clone();
        let p = plan(&account.clients(), 5).await.unwrap();
        assert!(p.to_string().contains("set the blue target group's deregistration_delay.timeout_seconds to 5"), "{p}");
        assert_eq!(migrate(account.clients(), &InMemoryJournal::new()).await.unwrap(), Outcome::Applied);
        assert_eq!(blue(&account).1, "5");
        let log = account.state().log;
        let green = position(&log, |l| l.starts_with("CreateTargetGroup"));
        let mine = position(&log, |l| l == format!("ModifyTargetGroupAttributes {blue_name}"));
        let cutover = position(&log, |l| l.starts_with("CreateService"));
        assert!(green < mine && mine < cutover, "{log:#?}");
        // The green clone kept the original delay: it was cloned before the user's step ran.
        let st = account.state();
        let green_tg = st.target_groups.values().find(|t| t.name.ends_with("-green")).unwrap();
        assert_eq!(green_tg.attributes[ATTRIBUTE], "30");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_after_the_users_step_undoes_it_in_order() {
        let account = MockAccount::new(Scenario::default());
        let start = account.state();
        account.inject(Fault::nth_call("CreateService", 1, InjectedError::AccessDenied));
        let Err(Error::Apply(failed)) = migrate(account.clients(), &InMemoryJournal::new()).await else {
            panic!("the cutover should fail")
        };
        assert_eq!(failed.step, StepId::ServiceCutover);
        assert!(failed.rollback.is_clean(), "{}", failed.rollback);
        let undone = &failed.rollback.undone;
        let mine = undone.iter().position(|u| u.starts_with(ATTRIBUTE)).expect("the user's step is undone");
        let green = undone.iter().position(|u| u.starts_with("target group")).expect("the green group is undone");
        assert!(mine < green, "undone newest first: {undone:#?}");
        assert_eq!(account.state().differences(&start), Vec::<String>::new());
        // The cause is reachable through source(): Display does not repeat it.
        let err = Error::Apply(failed);
        assert!(std::error::Error::source(&err).is_some());
    }

    /// A journal that stops the process (fails) when the cutover is about to start.
    struct CrashBeforeCutover(InMemoryJournal);

    impl Journal for CrashBeforeCutover {
        fn append(&self, entry: Entry) -> ecs_bluegreen::Result<u64> {
            if matches!(&entry, Entry::StepStarted { step } if *step == StepId::ServiceCutover) {
                return Err(Error::Journal("simulated crash".into()));
            }
            self.0.append(entry)
        }
        fn records(&self) -> ecs_bluegreen::Result<Vec<Record>> {
            self.0.records()
        }
    }

    async fn crash_after_the_users_step(account: &MockAccount) -> Vec<Record> {
        let journal = CrashBeforeCutover(InMemoryJournal::new());
        assert!(matches!(migrate(account.clients(), &journal).await, Err(Error::Journal(_))));
        assert_eq!(blue(account).1, "5", "the user's step ran before the crash");
        journal.records().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_crash_after_the_users_step_is_resumed_to_the_end() {
        let account = MockAccount::new(Scenario::default());
        let records = crash_after_the_users_step(&account).await;
        let journal = InMemoryJournal::from_records(records);
        let outcome = ecs_bluegreen::resume(&account.clients(), &journal, &options(registry())).await.unwrap();
        assert_eq!(outcome, Outcome::Applied);
        assert_eq!(account.state().services["web"].deployment_controller, "CODE_DEPLOY");
        assert_eq!(blue(&account).1, "5");
    }

    #[tokio::test(start_paused = true)]
    async fn a_crash_after_the_users_step_is_rolled_back_by_another_process() {
        let account = MockAccount::new(Scenario::default());
        let start = account.state();
        let records = crash_after_the_users_step(&account).await;
        // Another process: only the journal (as JSON) and the registry.
        let json = serde_json::to_string(&records).unwrap();
        let journal = InMemoryJournal::from_records(serde_json::from_str(&json).unwrap());
        let report = ecs_bluegreen::rollback(&account.clients(), &journal, &options(registry())).await.unwrap();
        assert!(report.is_clean(), "{report}");
        let mine = report.undone.iter().position(|u| u.starts_with(ATTRIBUTE)).expect("the user's step is undone");
        let green = report.undone.iter().position(|u| u.starts_with("target group")).expect("the green group is undone");
        assert!(mine < green, "undone before the step it depends on: {:#?}", report.undone);
        assert_eq!(account.state().differences(&start), Vec::<String>::new());
    }

    #[tokio::test(start_paused = true)]
    async fn a_journal_naming_an_unregistered_kind_is_refused_and_nothing_changes() {
        let account = MockAccount::new(Scenario::default());
        let records = crash_after_the_users_step(&account).await;
        let crashed = account.state();
        let journal = InMemoryJournal::from_records(records);
        for result in [
            ecs_bluegreen::rollback(&account.clients(), &journal, &options(StepRegistry::new())).await.map(|_| ()),
            ecs_bluegreen::resume(&account.clients(), &journal, &options(StepRegistry::new())).await.map(|_| ()),
        ] {
            let Err(Error::UnregisteredStep(e)) = result else { panic!("an unregistered kind was not refused: {result:?}") };
            assert_eq!(e.kind(), KIND);
        }
        assert_eq!(account.state().differences(&crashed), Vec::<String>::new());
        // Applying a plan with the step but without registering it is refused the same way.
        let fresh = MockAccount::new(Scenario::default());
        let p = plan(&fresh.clients(), 5).await.unwrap();
        let result = p.apply(&fresh.clients(), &InMemoryJournal::new(), &options(StepRegistry::new())).await;
        assert!(matches!(result, Err(Error::UnregisteredStep(_))), "{result:?}");
        assert!(fresh.mutating_operations().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_users_refusals_stop_the_plan() {
        let account = MockAccount::new(Scenario::default());
        let Err(Error::Plan(refused)) = plan(&account.clients(), 7200).await else { panic!("7200 s was accepted") };
        assert!(refused.has(RefusalKind::Custom), "{refused}");
        let partial = Transaction::new(Migration::for_service("prod", "web").unwrap().build())
            .without([StepId::ServiceCutover, StepId::DeploymentGroup, StepId::PipelineDeployAction])
            .step(DrainDelay { seconds: 5 })
            .plan(&account.clients())
            .await;
        let Err(Error::Plan(refused)) = partial else { panic!("a transaction without a cutover was accepted") };
        assert!(refused.to_string().contains("no service cutover"), "{refused}");
        assert!(account.mutating_operations().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_fault_at_every_mutating_call_restores_the_account() {
        for error in [InjectedError::Throttling, InjectedError::ResponseLost] {
            let report = fail_each_step(&Scenario::default(), error, |aws| async move {
                migrate(aws, &InMemoryJournal::new()).await
            })
            .await;
            assert!(report.mutating_calls.iter().any(|c| c == "ModifyTargetGroupAttributes"), "{:?}", report.mutating_calls);
            report.assert_all_restored();
        }
    }
}
