//! Fleets on the test kit: several services (one mock account each), planned together, applied
//! with each `--on-failure` policy while one service's mutation is denied, rolled back together.

use ecs_bluegreen::fleet::{self, FleetOptions, Member, OnFailure, ServiceOutcome};
use ecs_bluegreen::spec::{Migration, Port};
use ecs_bluegreen::testing::{AccountState, Fault, InjectedError, MockAccount, Scenario};
use ecs_bluegreen::wait::WaitPolicy;
use std::sync::Arc;

use ecs_bluegreen::{ApplyOptions, EventKind, InMemoryJournal};

const NAMES: [&str; 3] = ["cart", "checkout", "search"];

/// One account per service, each as [`Scenario::default`] with the service renamed, in an
/// account of its own (the same account id, region and cluster would be one cluster on AWS,
/// which a fleet's shared waits rely on).
struct Fleet {
    accounts: Vec<MockAccount>,
    start: Vec<AccountState>,
}

impl Fleet {
    fn new() -> Self {
        let accounts: Vec<_> = NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let account = MockAccount::new(Scenario::default().with_service_name(n));
                // Its own account id: STS answers it, the service's ARN carries it.
                let id = format!("{}", 111_122_223_330_u64 + i as u64);
                account.edit(|st| {
                    let old = std::mem::replace(&mut st.account_id, id.clone());
                    for s in st.services.values_mut() {
                        s.arn = s.arn.as_ref().map(|a| a.replace(&old, &id));
                        s.cluster_arn = s.cluster_arn.as_ref().map(|a| a.replace(&old, &id));
                    }
                });
                account
            })
            .collect();
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

// The fleet test kit: `FleetScenario` / `MockFleet`, `fail_each_step_on`, plan-time checks of
// earlier runs.

use ecs_bluegreen::plan::RefusalKind;
use ecs_bluegreen::testing::{FleetScenario, default_migration, fail_each_step_on};

fn fast() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

/// `cart` and `checkout` behind `shop-public`, `search` behind `shop-internal`.
fn shop() -> FleetScenario {
    FleetScenario::new().service("cart", "shop-public").service("checkout", "shop-public").service("search", "shop-internal")
}

/// The provider of the deploy action of `pipeline` in `account`.
fn deploy_provider(account: &MockAccount, pipeline: &str) -> String {
    let st = account.state();
    let p = st.pipelines.get(pipeline).unwrap_or_else(|| panic!("no pipeline {pipeline}"));
    let deploy = p.stages().iter().find(|s| s.name() == "Deploy").expect("a Deploy stage");
    deploy.actions()[0].action_type_id().map(|t| t.provider().to_owned()).unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn a_fleet_scenario_holds_services_behind_two_load_balancers_each_with_its_pipeline() {
    let fleet = shop().build();
    assert_eq!(fleet.names(), ["cart", "checkout", "search"]);
    let start = fleet.state();
    let lb = |name: &str| start.services[name].load_balancer.clone();
    assert_eq!((lb("cart").name.as_str(), lb("search").name.as_str()), ("shop-public", "shop-internal"));
    assert_eq!(lb("cart").arn, lb("checkout").arn, "one load balancer, one ARN");
    assert_ne!(lb("cart").arn, lb("search").arn);
    assert!(lb("search").arn.contains(":loadbalancer/app/shop-internal/"), "{}", lb("search").arn);
    for l in &lb("search").listeners {
        assert!(l.arn.contains(":listener/app/shop-internal/"), "{}", l.arn);
    }
    for tg in start.services["search"].target_groups.values() {
        assert_eq!(tg.load_balancer_arns, [lb("search").arn.clone()], "{}", tg.name);
    }
    for name in fleet.names() {
        let pipeline = &start.services[name].pipelines[&format!("{name}-pipeline")];
        let deploy = pipeline.stages().iter().find(|s| s.name() == "Deploy").unwrap();
        assert_eq!(deploy.actions()[0].configuration().unwrap()["ServiceName"], name, "{name}'s pipeline deploys it");
    }

    let members = fleet.members(&fast());
    let plans = fleet::plan(&members, 3).await.unwrap();
    let report = fleet::apply(&members, &plans, &FleetOptions::new(2, OnFailure::Stop)).await;
    assert_eq!(outcomes(&report), ["cart", "checkout", "search"].map(|n| row(n, ServiceOutcome::Applied)), "{report}");
    for name in fleet.names() {
        let st = fleet.account(name).state();
        assert_eq!(st.services[name].deployment_controller, "CODE_DEPLOY", "{name}");
        assert!(st.load_balancer.listeners.iter().any(|l| l.port == Some(8080)), "{name}: the test listener is on its load balancer");
        assert_eq!(deploy_provider(fleet.account(name), &format!("{name}-pipeline")), "CodeDeployToECS", "{name}");
        assert_eq!(report.service(&format!("prod/{name}")).unwrap().calls, fleet.account(name).calls().len());
    }
    assert!(fleet.call_count() > 3 * 20, "{}", fleet.call_count());

    // The fleet's journals outlive the run: members built again roll it back.
    let report = fleet::rollback(&fleet.members(&fast()), 3).await;
    assert_eq!(report.exit_code(), 0, "{report}");
    let diffs = start.differences(&fleet.state());
    assert!(diffs.is_empty(), "the fleet differs from its start after rollback:\n{}", diffs.join("\n"));
}

#[tokio::test(start_paused = true)]
async fn fleet_scenarios_are_spread_over_load_balancers_and_varied_per_service() {
    let fleet = FleetScenario::spread(5, 2).with("svc-03", |s| s.on_ec2()).build();
    assert_eq!(fleet.names(), ["svc-01", "svc-02", "svc-03", "svc-04", "svc-05"]);
    let lbs: Vec<String> = fleet.accounts().map(|a| a.state().load_balancer.name).collect();
    assert_eq!(lbs, ["alb-1", "alb-2", "alb-1", "alb-2", "alb-1"]);
    assert_eq!(fleet.account("svc-03").state().services["svc-03"].launch_type.as_deref(), Some("EC2"));
    assert_eq!(fleet.account("svc-04").state().services["svc-04"].launch_type.as_deref(), Some("FARGATE"));
}

#[tokio::test(start_paused = true)]
async fn a_fault_at_any_mutating_call_of_a_fleet_under_rollback_all_leaves_every_account_as_it_was() {
    let scenario = FleetScenario::new().service("cart", "shop-public").service("search", "shop-internal");
    let report = fail_each_step_on(|| scenario.build(), InjectedError::AccessDenied, |f| async move {
        let members = f.members(&fast());
        let plans = fleet::plan(&members, 2).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(fleet::apply(&members, &plans, &FleetOptions::new(2, OnFailure::RollbackAll)).await.exit_code())
    })
    .await;
    assert_eq!(report.clean_outcome, "Ok(0)");
    // Each service's 13 mutating calls (see testing_kit), numbered per service.
    assert_eq!(report.runs.len(), 26, "{:?}", report.mutating_calls);
    for name in ["cart", "search"] {
        let calls: Vec<_> = report.mutating_calls.iter().filter(|c| c.starts_with(&format!("{name}: "))).collect();
        assert_eq!(calls.len(), 13, "{name}: {calls:?}");
        assert_eq!(calls.first().map(|c| c.as_str()), Some(format!("{name}: CreateTargetGroup").as_str()));
    }
    for run in &report.runs {
        assert_eq!(run.outcome, "Ok(1)", "fault at {} ({}): the fleet failed and rolled back", run.call_number, run.operation);
    }
    report.assert_all_restored();
}

#[tokio::test(start_paused = true)]
async fn fail_each_step_runs_on_an_account_the_test_set_up() {
    // An account changed after it was built: the service scaled to 3 tasks behind the kit's back.
    let setup = || {
        let account = MockAccount::new(Scenario::default());
        account.edit(|st| {
            let web = st.services.get_mut("web").unwrap();
            web.desired_count = 3;
            web.deployments.iter_mut().for_each(|d| d.desired_count = 3);
        });
        account
    };
    let report = fail_each_step_on(setup, InjectedError::Throttling, |account: MockAccount| async move {
        let aws = account.clients();
        let plan = default_migration(account.scenario()).plan(&aws).await?;
        plan.apply(&aws, &InMemoryJournal::new(), &fast()).await?;
        Ok::<_, ecs_bluegreen::Error>(account.state().services["web"].desired_count)
    })
    .await;
    assert_eq!(report.clean_outcome, "Ok(3)", "the migrated service keeps the count the setup gave it");
    assert_eq!(report.runs.len(), 13, "{:?}", report.mutating_calls);
    report.assert_all_restored();
}

#[tokio::test(start_paused = true)]
async fn earlier_runs_not_done_are_refused_when_the_fleet_is_planned_with_every_other_refusal() {
    let fleet = shop().build();
    // checkout: another run holds its lock.
    let held = ecs_bluegreen::lock::acquire(&fleet.account("checkout").clients(), "prod", "checkout", "run-elsewhere", "apply", "someone@elsewhere")
        .await
        .unwrap();
    // search: a run stopped when its first step started left its journal unfinished.
    let search = fleet.account("search");
    let token = ecs_bluegreen::CancelToken::new();
    let stop = token.clone();
    let stopping = fast().cancel(token).observer(move |e| {
        if matches!(e.kind, ecs_bluegreen::EventKind::StepStarted { .. }) {
            stop.cancel();
        }
    });
    let plan = default_migration(search.scenario()).plan(&search.clients()).await.unwrap();
    let err = plan.apply(&search.clients(), fleet.journal("search").as_ref(), &stopping).await.unwrap_err();
    assert!(matches!(err, ecs_bluegreen::Error::Cancelled(_)), "{err:?}");
    // cart: its own plan is refused (the test port is the production port).
    let members = fleet.members_with(&fast(), |s| {
        let port = if s.service.name == "cart" { 80 } else { 8080 };
        Migration::for_service("prod", &s.service.name).unwrap().test_listener_port(Port::new(port).unwrap()).build()
    });
    let start = fleet.state();
    let mutations = fleet.mutating_operations().len();

    let err = fleet::plan(&members, 3).await.unwrap_err();
    let kinds: Vec<(&str, Vec<RefusalKind>)> = err
        .failures
        .iter()
        .map(|(s, e)| match e {
            ecs_bluegreen::Error::Plan(p) => (s.as_str(), p.refusals().iter().map(|r| r.kind).collect()),
            other => panic!("{s}: not a refusal: {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("prod/cart", vec![RefusalKind::TestPortIsProductionPort]),
            ("prod/checkout", vec![RefusalKind::RunLocked]),
            ("prod/search", vec![RefusalKind::UnfinishedRun]),
        ],
        "{err}"
    );
    assert!(err.all_refused(), "exit 2: {err}");
    let text: Vec<String> = err.failures.iter().map(|(_, e)| ecs_bluegreen::error::Report(e).to_string()).collect();
    assert!(text[1].contains("locked by another run") && text[1].contains("someone@elsewhere") && text[1].contains("unlock"), "{}", text[1]);
    assert!(text[2].contains("did not finish") && text[2].contains("resume") && text[2].contains("roll it back"), "{}", text[2]);
    assert_eq!(fleet.mutating_operations().len(), mutations, "planning changed something");
    let diffs = start.differences(&fleet.state());
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));

    // Done as the hints say: the other run ends, search's run is resumed; the fleet plans.
    held.release(&fleet.account("checkout").clients()).await.unwrap();
    let resumed = fleet::resume(&fleet.members(&fast())[2..], 1).await;
    assert_eq!(outcomes(&resumed), [row("search", ServiceOutcome::Applied)], "{resumed}");
    let plans = fleet::plan(&fleet.members(&fast()), 3).await.unwrap();
    assert!(plans[2].is_noop(), "search is migrated: {}", plans[2]);
}

#[tokio::test(start_paused = true)]
async fn each_service_reports_its_progress_and_waits_are_shared_only_within_an_account() {
    let fleet = Fleet::new();
    let journals = journals();
    let events: Arc<std::sync::Mutex<Vec<ecs_bluegreen::Event>>> = Arc::default();
    let members: Vec<Member> = fleet
        .members(&journals)
        .into_iter()
        .map(|m| {
            let events = events.clone();
            m.options(
                ApplyOptions::new()
                    .service_wait(WaitPolicy::FAST)
                    .iam_propagation(WaitPolicy::FAST)
                    .observer(move |e| events.lock().unwrap().push(e.clone())),
            )
        })
        .collect();
    let plans = fleet::plan(&members, 4).await.unwrap();
    fleet.deny_second_mutation_of("checkout");
    let report = fleet::apply(&members, &plans, &FleetOptions::new(3, OnFailure::Continue)).await;
    assert_eq!(report.exit_code(), 1, "{report}");

    let events = events.lock().unwrap().clone();
    for (name, plan) in NAMES.iter().zip(&plans) {
        let service = format!("prod/{name}");
        let own: Vec<_> = events.iter().filter(|e| e.migration_id == plan.migration_id).map(|e| &e.kind).collect();
        assert!(matches!(own.first(), Some(EventKind::ServiceStarted { service: s }) if *s == service), "{name}: {own:#?}");
        let Some(EventKind::ServiceFinished { service: s, outcome, seconds, error }) = own.last() else { panic!("{name}: {own:#?}") };
        let row = report.service(&service).unwrap();
        assert_eq!((s, outcome.as_str(), *seconds, error), (&service, row.outcome.as_str(), row.seconds, &row.error), "{name}");
        assert!(own.iter().any(|k| matches!(k, EventKind::StepStarted { .. })), "{name}: its steps are reported: {own:#?}");
        if *name != "checkout" {
            assert!(own.iter().any(|k| matches!(k, EventKind::Waiting { .. })), "{name}: its waits are reported: {own:#?}");
        }
    }
    let failed = events.iter().filter(|e| e.migration_id == plans[1].migration_id);
    assert!(failed.clone().any(|e| matches!(e.kind, EventKind::StepFailed { .. })), "checkout's failure is reported");
    assert!(failed.clone().any(|e| matches!(e.kind, EventKind::Undone { .. })), "checkout's rollback is reported");

    // Every account saw DescribeServices for its own services only: the accounts differ, so
    // their waits were never batched together.
    for (name, account) in NAMES.iter().zip(&fleet.accounts) {
        for c in account.calls().iter().filter(|c| c.operation == "DescribeServices") {
            let others: Vec<_> = NAMES.iter().filter(|n| *n != name && c.input.contains(&format!("\"{n}"))).collect();
            assert!(others.is_empty(), "{name}'s account was asked for {others:?}: {}", c.input);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_fleet_scenarios_accounts_are_never_asked_about_each_others_services() {
    // Same account id and cluster in every mock account: batched waits across them would ask
    // one account about another's service.
    let fleet = FleetScenario::spread(4, 2).build();
    let members = fleet.members(&fast());
    let plans = fleet::plan(&members, 4).await.unwrap();
    let report = fleet::apply(&members, &plans, &FleetOptions::new(4, OnFailure::Stop)).await;
    assert_eq!(report.exit_code(), 0, "{report}");
    let names = fleet.names();
    for name in &names {
        let asked = fleet.account(name).calls();
        let describes: Vec<_> = asked.iter().filter(|c| c.operation == "DescribeServices").collect();
        assert!(!describes.is_empty(), "{name} waited");
        for c in describes {
            // The service or its bridge (`<name>-bg-bridge`), quoted in the input.
            let others: Vec<_> = names.iter().filter(|n| *n != name && c.input.contains(&format!("\"{n}"))).collect();
            assert!(others.is_empty(), "{name}'s account was asked about {others:?}: {}", c.input);
        }
    }
}

/// The caller the kit's STS names in `account` (each fleet account has an id of its own).
fn kit_user(account: &MockAccount) -> String {
    format!("arn:aws:iam::{}:user/ecs-bluegreen-kit", account.state().account_id)
}

/// Each account's caller holds the policy `migrate permissions` prints for its service, less
/// the action `missing` names for that service (if any).
async fn grant_printed_policies(fleet: &Fleet, members: &[Member], missing: &[(&str, &str)]) {
    use ecs_bluegreen::permissions::{PermissionContext, policy};
    for (account, member) in fleet.accounts.iter().zip(members) {
        let plan = member.migration().plan(&account.clients()).await.unwrap();
        let mut doc = policy(&PermissionContext::new(&plan).region(ecs_bluegreen::testing::sample::REGION).caller(kit_user(account)));
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
    account.calls().iter().filter(|c| c.operation == "SimulatePrincipalPolicy" && c.input.contains(&kit_user(account))).count()
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
