//! The initial state of a mock account, and the "already migrated" variation.

use std::collections::BTreeMap;

use super::account::{AccountState, MockAccount, role_state};
use super::scenario::Scenario;
use crate::spec::{Migration, PipelineDeployStage, PipelineName, Port};

/// The state `scenario` describes.
pub(crate) fn initial_state(scenario: &Scenario) -> AccountState {
    let mut st = AccountState {
        account_id: scenario.account_id.clone(),
        region: scenario.region.clone(),
        cluster: scenario.cluster.clone(),
        services: BTreeMap::from([(scenario.service.name.clone(), crate::inventory::ServiceDefinition { scaling: None, ..scenario.service.clone() })]),
        task_definitions: BTreeMap::from([(scenario.task_definition.arn.clone(), scenario.task_definition.clone())]),
        load_balancer: scenario.load_balancer.clone(),
        target_groups: scenario.target_groups.iter().map(|t| (t.arn.clone(), t.clone())).collect(),
        roles: scenario.roles.iter().map(|r| (r.name.clone(), role_state(&scenario.account_id, r))).collect(),
        applications: BTreeMap::new(),
        deployment_groups: BTreeMap::new(),
        deployment_group_tags: BTreeMap::new(),
        deployments: BTreeMap::new(),
        deployment_script: scenario.deployments.clone(),
        service_deployments: BTreeMap::new(),
        native_script: scenario.native_deployments.clone(),
        pipelines: scenario
            .pipeline
            .iter()
            .map(|p| (p.name.clone(), crate::convert::pipeline_to_sdk(p, &scenario.account_id)))
            .collect(),
        parameters: BTreeMap::new(),
        deployment_configs: BTreeMap::new(),
        scalable_targets: BTreeMap::new(),
        scaling_policies: BTreeMap::new(),
        scheduled_actions: BTreeMap::new(),
        alarms: BTreeMap::new(),
        caller_arn: None,
        caller_policies: None,
        create_service_requests: Vec::new(),
        log: Vec::new(),
        calls: Vec::new(),
        transitions: Vec::new(),
        pending: BTreeMap::new(),
        service_client_tokens: BTreeMap::new(),
        healthy_at: BTreeMap::new(),
        origin: tokio::time::Instant::now(),
        timing: scenario.ecs_timing,
        next_id: 0,
    };
    st.link_target_groups();
    if let Some(scaling) = &scenario.service.scaling {
        let rid = crate::inventory::scaling_resource_id(&scenario.cluster, &scenario.service.name);
        st.scalable_targets.insert(rid.clone(), scaling.target.clone());
        for p in &scaling.policies {
            st.scaling_policies.insert((rid.clone(), p.name.clone()), p.clone());
        }
        for a in &scaling.scheduled_actions {
            st.scheduled_actions.insert((rid.clone(), a.name.clone()), a.clone());
        }
        for a in &scaling.alarms {
            st.alarms.insert(a.name.clone(), a.clone());
        }
    }
    st
}

/// The migration [`Scenario::already_migrated`] (or [`Scenario::already_on_ecs_native`]) stands
/// for: the defaults, test listener on 8080, the scenario's pipeline rewired (kept as it is by
/// the ECS-native target).
pub fn default_migration(scenario: &Scenario) -> Migration {
    let base = Migration::for_service(scenario.cluster.as_str(), scenario.service.name.as_str())
        .expect("scenario names are valid")
        .test_listener_port(Port::new(8080).expect("8080 is a port"))
        .target(scenario.migrated_to);
    match &scenario.pipeline {
        Some(p) => base
            .pipeline(PipelineDeployStage::named(PipelineName::new(p.name.as_str()).expect("scenario pipeline name is valid")))
            .build(),
        None => base.build(),
    }
}

/// Runs the real migration against the account, on a thread with its own paused runtime (so
/// this works inside or outside a test's runtime), then forgets the calls it made.
pub(crate) fn migrate_in_place(original: &MockAccount) {
    let account = original.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a current-thread runtime");
        rt.block_on(async {
            let aws = account.clients();
            let migration = default_migration(account.scenario());
            let plan = migration
                .plan(&aws)
                .await
                .unwrap_or_else(|e| panic!("Scenario::already_migrated: this scenario cannot be migrated: {e}"));
            let opts = crate::ApplyOptions::new()
                .service_wait(crate::wait::WaitPolicy::FAST)
                .iam_propagation(crate::wait::WaitPolicy::FAST);
            plan.apply(&aws, &crate::InMemoryJournal::new(), &opts)
                .await
                .unwrap_or_else(|e| panic!("Scenario::already_migrated: migrating the scenario failed: {e}"));
        });
        account.shared().forget_mutations();
        let mut st = account.shared().lock();
        // The runtime's clock is gone: apply what ECS still had pending, forget the run.
        let pending: Vec<_> = std::mem::take(&mut st.pending).into_iter().collect();
        for (name, (_, what)) in pending {
            if let Some(svc) = st.services.get_mut(&name) {
                match what {
                    super::account::Pending::TasksRunning => svc.running_count = svc.desired_count,
                    super::account::Pending::Inactive => svc.status = "INACTIVE".into(),
                }
            }
        }
        st.healthy_at.clear();
        st.transitions.clear();
        st.origin = tokio::time::Instant::now();
        st.calls.clear();
        st.log.clear();
        st.create_service_requests.clear();
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    // Faults number the test's own mutating calls, not the setup's.
    original.forget_mutations();
}
