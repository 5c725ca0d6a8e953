//! Fleets on the kit: several services, load balancers and pipelines, each service in a mock
//! account of its own, with the journals and [`Member`]s a [`crate::fleet`] run takes.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::account::{AccountState, MockAccount};
use super::build::default_migration;
use super::faults::{Fault, InjectedError};
use super::scenario::Scenario;
use crate::fleet::Member;
use crate::{ApplyOptions, InMemoryJournal, Migration};

/// What a [`MockFleet`] starts from: one [`Scenario`] per service.
///
/// Each service runs in a mock account of its own (the kit's account holds one load balancer),
/// so a fault armed in one service's account never hits another's. Services named behind the
/// same load balancer get a load balancer of that name and ARN in their accounts: plans,
/// journals and reports name it as on AWS, but a listener one service creates is not seen by
/// the others (give services on one load balancer distinct test listener ports anyway, as on
/// AWS).
///
/// ```
/// use ecs_bluegreen::testing::FleetScenario;
/// let fleet = FleetScenario::new()
///     .service("cart", "shop-public")
///     .service("checkout", "shop-public")
///     .service("search", "shop-internal")
///     .each(|s| s.on_ec2())
///     .build();
/// assert_eq!(fleet.names(), ["cart", "checkout", "search"]);
/// assert_eq!(fleet.account("search").state().load_balancer.name, "shop-internal");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct FleetScenario {
    /// One scenario per service, in the fleet's order.
    pub services: Vec<Scenario>,
}

impl FleetScenario {
    /// No services yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds service `name` ([`Scenario::default`] renamed) behind the load balancer
    /// `load_balancer`, built by its own pipeline `<name>-pipeline`.
    pub fn service(self, name: &str, load_balancer: &str) -> Self {
        let scenario = Scenario::default()
            .with_service_name(name)
            .behind_load_balancer(load_balancer)
            .with_pipeline_name(&format!("{name}-pipeline"));
        self.scenario(scenario)
    }

    /// Adds a service as `scenario` describes it (names as given).
    ///
    /// # Panics
    /// When the fleet holds a service of that name already.
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        assert!(
            self.services.iter().all(|s| s.service.name != scenario.service.name),
            "the fleet holds a service named {} already",
            scenario.service.name
        );
        self.services.push(scenario);
        self
    }

    /// `count` services `svc-01`, `svc-02`, … spread in turn over `load_balancers` load
    /// balancers `alb-1`, `alb-2`, … (at least one).
    pub fn spread(count: usize, load_balancers: usize) -> Self {
        let width = count.to_string().len().max(2);
        (0..count).fold(Self::new(), |f, i| {
            f.service(&format!("svc-{:0width$}", i + 1), &format!("alb-{}", i % load_balancers.max(1) + 1))
        })
    }

    /// Changes every service's scenario, e.g. `.each(|s| s.ecs_timing(timing))`.
    pub fn each(mut self, f: impl Fn(Scenario) -> Scenario) -> Self {
        self.services = self.services.into_iter().map(f).collect();
        self
    }

    /// Changes the scenario of service `name` only.
    ///
    /// # Panics
    /// When the fleet has no service `name`.
    pub fn with(mut self, name: &str, f: impl FnOnce(Scenario) -> Scenario) -> Self {
        let i = self.services.iter().position(|s| s.service.name == name).unwrap_or_else(|| panic!("the fleet has no service {name}"));
        let scenario = self.services.remove(i);
        self.services.insert(i, f(scenario));
        self
    }

    /// The accounts, one per service, each with an empty journal.
    pub fn build(&self) -> MockFleet {
        MockFleet {
            services: self
                .services
                .iter()
                .map(|s| FleetAccount { account: MockAccount::new(s.clone()), journal: Arc::new(InMemoryJournal::new()) })
                .collect(),
        }
    }
}

#[derive(Clone)]
struct FleetAccount {
    account: MockAccount,
    journal: Arc<InMemoryJournal>,
}

/// The mock accounts of a [`FleetScenario`], one per service, and each service's journal.
///
/// Cheap to clone (clones share the accounts and journals). [`MockFleet::members`] gives the
/// [`Member`]s of a [`crate::fleet`] run; the journals outlive each run, so a `rollback` or
/// `resume` of the members reads what an `apply` wrote.
#[derive(Clone)]
pub struct MockFleet {
    services: Vec<FleetAccount>,
}

impl std::fmt::Debug for MockFleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockFleet").field("services", &self.names()).finish_non_exhaustive()
    }
}

impl MockFleet {
    /// The services' names, in the fleet's order.
    pub fn names(&self) -> Vec<&str> {
        self.services.iter().map(|s| s.account.scenario().service.name.as_str()).collect()
    }

    /// The account of service `name`.
    ///
    /// # Panics
    /// When the fleet has no service `name`.
    pub fn account(&self, name: &str) -> &MockAccount {
        &self.entry(name).account
    }

    /// Every service's account, in the fleet's order.
    pub fn accounts(&self) -> impl Iterator<Item = &MockAccount> {
        self.services.iter().map(|s| &s.account)
    }

    /// The journal of service `name` (shared by every member built from this fleet).
    ///
    /// # Panics
    /// When the fleet has no service `name`.
    pub fn journal(&self, name: &str) -> Arc<InMemoryJournal> {
        self.entry(name).journal.clone()
    }

    fn entry(&self, name: &str) -> &FleetAccount {
        self.services
            .iter()
            .find(|s| s.account.scenario().service.name == name)
            .unwrap_or_else(|| panic!("the fleet has no service {name} (it has {})", self.names().join(", ")))
    }

    /// One member per service: the migration [`default_migration`] gives its scenario (test
    /// listener on 8080, pipeline rewired), its account's clients and recorder, its journal,
    /// `options`.
    pub fn members(&self, options: &ApplyOptions) -> Vec<Member> {
        self.members_with(options, default_migration)
    }

    /// One member per service, migrated as `migration` says for its scenario.
    ///
    /// Each member waits on its own (its own [`SharedWaits`](crate::wait::SharedWaits), unless
    /// `options` brings one): the fleet's accounts are separate mock accounts with the same
    /// account id and cluster, so a read batched for several services would ask one account
    /// about another's service.
    pub fn members_with(&self, options: &ApplyOptions, migration: impl Fn(&Scenario) -> Migration) -> Vec<Member> {
        self.services
            .iter()
            .map(|s| {
                let options = match options.waits.shared {
                    Some(_) => options.clone(),
                    None => options.clone().shared_waits(crate::wait::SharedWaits::new()),
                };
                Member::new(migration(s.account.scenario()), s.account.clients(), s.journal.clone())
                    .recorder(s.account.recorder().clone())
                    .options(options)
            })
            .collect()
    }

    /// A copy of every account's state.
    pub fn state(&self) -> FleetState {
        FleetState { services: self.services.iter().map(|s| (s.account.scenario().service.name.clone(), s.account.state())).collect() }
    }

    /// Arms `fault` in the account of service `name`.
    ///
    /// # Panics
    /// As [`MockAccount::inject`], and when the fleet has no service `name`.
    #[track_caller]
    pub fn inject(&self, name: &str, fault: Fault) -> &Self {
        self.account(name).inject(fault);
        self
    }

    /// Disarms every fault of every account.
    pub fn clear_faults(&self) -> &Self {
        self.accounts().for_each(|a| {
            a.clear_faults();
        });
        self
    }

    /// Every account's calls so far.
    pub fn call_count(&self) -> usize {
        self.accounts().map(|a| a.calls().len()).sum()
    }

    /// The mutating operations so far: `(service, operation)`, each account's in order.
    pub fn mutating_operations(&self) -> Vec<(String, String)> {
        self.services
            .iter()
            .flat_map(|s| {
                let name = s.account.scenario().service.name.clone();
                s.account.mutating_operations().into_iter().map(move |op| (name.clone(), op))
            })
            .collect()
    }
}

/// Every account of a [`MockFleet`], as [`MockFleet::state`] copied it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FleetState {
    /// Each service's account, by service name.
    pub services: BTreeMap<String, AccountState>,
}

impl FleetState {
    /// What differs between the accounts of `self` and `other`, one line per resource, each
    /// prefixed with its service (`cart: target group … was added`).
    pub fn differences(&self, other: &FleetState) -> Vec<String> {
        let mut out = Vec::new();
        for (name, a) in &self.services {
            match other.services.get(name) {
                Some(b) => out.extend(a.differences(b).into_iter().map(|d| format!("{name}: {d}"))),
                None => out.push(format!("{name}: the account is gone")),
            }
        }
        out.extend(other.services.keys().filter(|k| !self.services.contains_key(*k)).map(|k| format!("{k}: an account was added")));
        out
    }
}

/// What [`fail_each_step_on`](super::fail_each_step_on) runs a script on: one mock account or a
/// fleet of them. Mutating calls are numbered per account, so a fault lands on the same call
/// however the accounts' calls interleave.
pub trait FaultTarget: Clone {
    /// A copy of what the target holds, compared before and after each run.
    type State;
    /// A copy of the state now.
    fn snapshot(&self) -> Self::State;
    /// How `end` differs from `start`, one line per resource (empty: the same).
    fn differences(start: &Self::State, end: &Self::State) -> Vec<String>;
    /// The mutating calls so far, in each account's order: which account (an index), and the
    /// operation as a report names it.
    fn mutations(&self) -> Vec<(usize, String)>;
    /// Fails the `n`-th (1-based) mutating call of account `account` with `error`.
    fn fail_mutation(&self, account: usize, n: usize, error: InjectedError);
    /// Disarms every fault.
    fn disarm(&self);
}

impl FaultTarget for MockAccount {
    type State = AccountState;
    fn snapshot(&self) -> AccountState {
        self.state()
    }
    fn differences(start: &AccountState, end: &AccountState) -> Vec<String> {
        start.differences(end)
    }
    fn mutations(&self) -> Vec<(usize, String)> {
        self.mutating_operations().into_iter().map(|op| (0, op)).collect()
    }
    fn fail_mutation(&self, _account: usize, n: usize, error: InjectedError) {
        self.inject(Fault::nth_mutation(n, error));
    }
    fn disarm(&self) {
        self.clear_faults();
    }
}

impl FaultTarget for MockFleet {
    type State = FleetState;
    fn snapshot(&self) -> FleetState {
        self.state()
    }
    fn differences(start: &FleetState, end: &FleetState) -> Vec<String> {
        start.differences(end)
    }
    fn mutations(&self) -> Vec<(usize, String)> {
        self.services
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                let name = s.account.scenario().service.name.clone();
                s.account.mutating_operations().into_iter().map(move |op| (i, format!("{name}: {op}")))
            })
            .collect()
    }
    fn fail_mutation(&self, account: usize, n: usize, error: InjectedError) {
        self.services[account].account.inject(Fault::nth_mutation(n, error));
    }
    fn disarm(&self) {
        self.clear_faults();
    }
}
