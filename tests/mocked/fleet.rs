//! Fleets on the test kit: several services (one mock account each), planned together, applied
//! with each `--on-failure` policy while one service's mutation is denied, rolled back together.

use ecs_bluegreen::fleet::{self, FleetOptions, Member, OnFailure, ServiceOutcome};
use ecs_bluegreen::spec::{Migration, Port};
use ecs_bluegreen::testing::{AccountState, Fault, InjectedError, MockAccount, Scenario};
use ecs_bluegreen::wait::WaitPolicy;
use std::sync::Arc;

use ecs_bluegreen::{ApplyOptions, InMemoryJournal};

const NAMES: [&str; 3] = ["cart", "checkout", "search"];

/// One account per service, each as [`Scenario::default`] with the service renamed.
struct Fleet {
    accounts: Vec<MockAccount>,
    start: Vec<AccountState>,
}

impl Fleet {
    fn new() -> Self {
        let accounts: Vec<_> = NAMES.iter().map(|n| MockAccount::new(Scenario::default().with_service_name(n))).collect();
        let start = accounts.iter().map(MockAccount::state).collect();
        Self { accounts, start }
    }

    fn account(&self, name: &str) -> &MockAccount {
        &self.accounts[NAMES.iter().position(|n| *n == name).expect("a fleet service")]
    }

    /// Members whose journals persist across calls (rollback reads what apply wrote).
    fn members(&self, journals: &[Arc<InMemoryJournal>]) -> Vec<Member> {
        self.accounts
            .iter()
            .zip(journals)
            .map(|(a, j)| {
                let m = Migration::for_service("prod", &a.scenario().service.name).unwrap().test_listener_port(Port::new(8080).unwrap()).build();
                Member::new(m, a.clients(), j.clone())
                    .recorder(a.recorder().clone())
                    .options(ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST))
            })
            .collect()
    }

    fn assert_unchanged(&self, name: &str, context: &str) {
        let i = NAMES.iter().position(|n| *n == name).unwrap();
        let diffs = self.start[i].differences(&self.accounts[i].state());
        assert!(diffs.is_empty(), "{context}: {name}'s account differs from its start:\n{}", diffs.join("\n"));
    }

    fn assert_migrated(&self, name: &str, context: &str) {
        let st = self.account(name).state();
        let svc = st.services.get(name).unwrap_or_else(|| panic!("{context}: {name} is gone"));
        assert_eq!((svc.status.as_str(), svc.deployment_controller.as_str()), ("ACTIVE", "CODE_DEPLOY"), "{context}: {name}");
    }

    fn deny_second_mutation_of(&self, name: &str) {
        self.account(name).inject(Fault::nth_mutation(2, InjectedError::aws("AccessDeniedException", "denied by the test")));
    }
}

fn journals() -> Vec<Arc<InMemoryJournal>> {
    NAMES.iter().map(|_| Arc::new(InMemoryJournal::new())).collect()
}

fn outcomes(report: &fleet::FleetReport) -> Vec<(String, ServiceOutcome)> {
    report.services.iter().map(|s| (s.service.clone(), s.outcome)).collect()
}

fn row(name: &str, outcome: ServiceOutcome) -> (String, ServiceOutcome) {
    (format!("prod/{name}"), outcome)
}

#[tokio::test(start_paused = true)]
async fn a_fleet_is_planned_then_applied_with_one_report() {
    let fleet = Fleet::new();
    let journals = journals();
    let members = fleet.members(&journals);
    let plans = fleet::plan(&members, 4).await.unwrap();
    assert_eq!(plans.len(), 3);
    let report = fleet::apply(&members, &plans, &FleetOptions::default()).await;
    assert_eq!(outcomes(&report), NAMES.map(|n| row(n, ServiceOutcome::Applied)), "{report}");
    assert_eq!(report.exit_code(), 0);
    for (name, account) in NAMES.iter().zip(&fleet.accounts) {
        fleet.assert_migrated(name, "applied");
        let r = report.service(&format!("prod/{name}")).unwrap();
        assert_eq!(r.calls, account.recorder().calls().len(), "{name}: the row counts its own account's calls");
        assert!(r.calls > 10 && r.left_over.is_empty() && r.error.is_none(), "{r:?}");
    }
    let table = report.to_string();
    assert!(table.starts_with("service") && table.contains("prod/checkout") && table.contains("applied"), "{table}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["services"][1]["outcome"], "applied", "{json}");

    // Applying the same fleet again finds nothing to do.
    let again = fleet.members(&self::journals());
    let plans = fleet::plan(&again, 4).await.unwrap();
    let report = fleet::apply(&again, &plans, &FleetOptions::default()).await;
    assert_eq!(outcomes(&report), NAMES.map(|n| row(n, ServiceOutcome::NothingToDo)), "{report}");
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(start_paused = true)]
async fn every_refusal_is_listed_before_anything_changes() {
    let fleet = Fleet::new();
    let journals = journals();
    let mut members = fleet.members(&journals);
    // Two services the accounts do not hold.
    for (i, ghost) in [(0, "ghost"), (2, "phantom")] {
        let m = Migration::for_service("prod", ghost).unwrap().build();
        members[i] = Member::new(m, fleet.accounts[i].clients(), journals[i].clone());
    }
    let err = fleet::plan(&members, 2).await.unwrap_err();
    let failed: Vec<_> = err.failures.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(failed, ["prod/ghost", "prod/phantom"], "{err}");
    assert!(err.all_refused(), "{:?}", err.failures);
    for a in &fleet.accounts {
        assert!(a.mutating_operations().is_empty(), "planning changed something: {:?}", a.mutating_operations());
    }
}

#[tokio::test(start_paused = true)]
async fn continue_lets_the_others_finish_and_the_failed_one_rolls_back() {
    let fleet = Fleet::new();
    let journals = journals();
    let members = fleet.members(&journals);
    let plans = fleet::plan(&members, 4).await.unwrap();
    fleet.deny_second_mutation_of("checkout");
    let report = fleet::apply(&members, &plans, &FleetOptions::new(1, OnFailure::Continue)).await;
    assert_eq!(
        outcomes(&report),
        [row("cart", ServiceOutcome::Applied), row("checkout", ServiceOutcome::Failed), row("search", ServiceOutcome::Applied)],
        "{report}"
    );
    assert_eq!(report.exit_code(), 1);
    assert!(report.service("prod/checkout").unwrap().error.as_deref().unwrap().contains("denied by the test"), "{report}");
    fleet.assert_migrated("cart", "continue");
    fleet.assert_unchanged("checkout", "continue");
    fleet.assert_migrated("search", "continue");
}

#[tokio::test(start_paused = true)]
async fn stop_starts_no_new_service_after_a_failure() {
    let fleet = Fleet::new();
    let journals = journals();
    let members = fleet.members(&journals);
    let plans = fleet::plan(&members, 4).await.unwrap();
    fleet.deny_second_mutation_of("checkout");
    let report = fleet::apply(&members, &plans, &FleetOptions::new(1, OnFailure::Stop)).await;
    assert_eq!(
        outcomes(&report),
        [row("cart", ServiceOutcome::Applied), row("checkout", ServiceOutcome::Failed), row("search", ServiceOutcome::NotStarted)],
        "{report}"
    );
    assert_eq!(report.exit_code(), 1);
    fleet.assert_migrated("cart", "stop");
    fleet.assert_unchanged("checkout", "stop");
    fleet.assert_unchanged("search", "stop");
    assert!(fleet.account("search").mutating_operations().is_empty());
}

#[tokio::test(start_paused = true)]
async fn stop_lets_the_running_services_finish() {
    let fleet = Fleet::new();
    let journals = journals();
    let members = fleet.members(&journals);
    let plans = fleet::plan(&members, 4).await.unwrap();
    fleet.deny_second_mutation_of("cart");
    let report = fleet::apply(&members, &plans, &FleetOptions::new(3, OnFailure::Stop)).await;
    assert_eq!(
        outcomes(&report),
        [row("cart", ServiceOutcome::Failed), row("checkout", ServiceOutcome::Applied), row("search", ServiceOutcome::Applied)],
        "{report}"
    );
    assert_eq!(report.exit_code(), 1);
}

#[tokio::test(start_paused = true)]
async fn rollback_all_leaves_every_account_as_it_was() {
    for concurrency in [1, 3] {
        let context = format!("rollback-all at concurrency {concurrency}");
        let fleet = Fleet::new();
        let journals = journals();
        let members = fleet.members(&journals);
        let plans = fleet::plan(&members, 4).await.unwrap();
        fleet.deny_second_mutation_of("checkout");
        let report = fleet::apply(&members, &plans, &FleetOptions::new(concurrency, OnFailure::RollbackAll)).await;
        assert_eq!(report.exit_code(), 1, "{context}: {report}");
        let cart = report.service("prod/cart").unwrap();
        assert_eq!(cart.outcome, ServiceOutcome::RolledBack, "{context}: {report}");
        assert!(cart.error.as_deref().unwrap().contains("rollback-all"), "{context}: {report}");
        assert_eq!(report.service("prod/checkout").unwrap().outcome, ServiceOutcome::Failed, "{context}: {report}");
        for name in NAMES {
            fleet.assert_unchanged(name, &context);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_fleet_rollback_undoes_every_service() {
    let fleet = Fleet::new();
    let journals = journals();
    let members = fleet.members(&journals);
    let plans = fleet::plan(&members, 4).await.unwrap();
    assert_eq!(fleet::apply(&members, &plans, &FleetOptions::default()).await.exit_code(), 0);
    let report = fleet::rollback(&members, 2).await;
    assert_eq!(outcomes(&report), NAMES.map(|n| row(n, ServiceOutcome::RolledBack)), "{report}");
    assert_eq!(report.exit_code(), 0);
    for name in NAMES {
        fleet.assert_unchanged(name, "fleet rollback");
    }
}

/// The caller the kit's STS names.
const KIT_USER: &str = "arn:aws:iam::123456789012:user/ecs-bluegreen-kit";

/// Each account's caller holds the policy `migrate permissions` prints for its service, less
/// the action `missing` names for that service (if any).
async fn grant_printed_policies(fleet: &Fleet, members: &[Member], missing: &[(&str, &str)]) {
    use ecs_bluegreen::permissions::{PermissionContext, policy};
    for (account, member) in fleet.accounts.iter().zip(members) {
        let plan = member.migration().plan(&account.clients()).await.unwrap();
        let mut doc = policy(&PermissionContext::new(&plan).region(ecs_bluegreen::testing::sample::REGION).caller(KIT_USER));
        let name = &account.scenario().service.name;
        if let Some((_, action)) = missing.iter().find(|(service, _)| service == name) {
            for s in &mut doc.statements {
                s.actions.retain(|a| a != action);
            }
            doc.statements.retain(|s| !s.actions.is_empty());
        }
        account.edit(|st| st.caller_policies = Some(vec![doc.to_json()]));
    }
}

fn simulations_of_the_caller(account: &MockAccount) -> usize {
    account.calls().iter().filter(|c| c.operation == "SimulatePrincipalPolicy" && c.input.contains(KIT_USER)).count()
}

#[tokio::test(start_paused = true)]
async fn the_preflight_lists_every_services_denials_together_before_anything_changes() {
    let fleet = Fleet::new();
    let journals = journals();
    let members: Vec<Member> = fleet.members(&journals).into_iter().map(|m| m.preflight(true)).collect();
    grant_printed_policies(&fleet, &members, &[("cart", "ecs:CreateService"), ("search", "iam:CreateRole")]).await;

    let err = fleet::plan(&members, 2).await.unwrap_err();
    let failed: Vec<_> = err.failures.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(failed, ["prod/cart", "prod/search"], "{err}");
    assert!(err.all_refused(), "a denial is a refusal (exit 2): {:?}", err.failures);
    for ((service, e), action) in err.failures.iter().zip(["ecs:CreateService", "iam:CreateRole"]) {
        let ecs_bluegreen::Error::Plan(refused) = e else { panic!("{service}: {e:?}") };
        assert!(refused.refusals().iter().all(|r| r.kind == ecs_bluegreen::plan::RefusalKind::PermissionDenied), "{service}: {e}");
        assert!(refused.refusals().iter().all(|r| r.problem.contains(action)), "{service}: only {action} is denied: {e}");
    }
    for (name, a) in NAMES.iter().zip(&fleet.accounts) {
        assert!(simulations_of_the_caller(a) > 0, "{name}: its caller was simulated");
        assert!(a.mutating_operations().is_empty(), "{name}: planning changed something: {:?}", a.mutating_operations());
        fleet.assert_unchanged(name, "a refused preflight");
    }
}

#[tokio::test(start_paused = true)]
async fn a_fleet_whose_callers_hold_the_printed_policies_passes_the_preflight_and_off_means_no_simulation() {
    let fleet = Fleet::new();
    let journals = journals();
    let members = fleet.members(&journals);
    grant_printed_policies(&fleet, &members, &[]).await;

    let checked: Vec<Member> = members.iter().cloned().map(|m| m.preflight(true)).collect();
    let plans = fleet::plan(&checked, 4).await.unwrap();
    for (name, plan) in NAMES.iter().zip(&plans) {
        assert!(!plan.warnings.iter().any(|w| w.contains("permissions not checked")), "{name}: {:?}", plan.warnings);
    }
    let simulated: Vec<usize> = fleet.accounts.iter().map(simulations_of_the_caller).collect();
    assert!(simulated.iter().all(|n| *n > 0), "every service's caller simulated: {simulated:?}");

    // Off (the default, and --skip-preflight): no simulation of the caller.
    fleet::plan(&members, 4).await.unwrap();
    assert_eq!(fleet.accounts.iter().map(simulations_of_the_caller).collect::<Vec<_>>(), simulated);
}
