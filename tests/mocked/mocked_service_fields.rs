//! The CreateService requests the cutover sends, captured on mocked clients.
//!
//! `every_create_service_field_is_carried_or_dropped_on_purpose` fails when the SDK's
//! `CreateServiceInput` grows a field that the library neither carries from the live service
//! nor lists in `DROPPED_SERVICE_FIELDS`: it reads the field names out of the `Debug` output of
//! the request the library really sent.

use crate::support;
use crate::mocks;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ecs::operation::create_service::CreateServiceInput;
use ecs_bluegreen::inventory::{
    CapacityProviderItem, DeploymentAlarmsDef, OWNERSHIP_TAG, PlacementConstraintDef, PlacementStrategyDef,
    ServiceRegistryEntry,
};
use ecs_bluegreen::spec::{Port, ServiceCutover};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, CallRecorder, DROPPED_SERVICE_FIELDS, InMemoryJournal, Inventory, Migration, Outcome};
use aws_smithy_types::retry::RetryConfig;
use mocks::{Rules, World};
use support::sample::{self, *};

const REGISTRY_ARN: &str = "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-4x2kq7jd3e5vq6lm";
const SERVICE_LINKED_ROLE: &str =
    "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS";
const CLASSIC_ROLE: &str = "arn:aws:iam::123456789012:role/ecsServiceRole";

fn s(v: &str) -> String {
    v.to_owned()
}

fn migration(cutover: ServiceCutover) -> Migration {
    sample::base()
        .test_listener_port(Port::new(8080).unwrap())
        .pipeline(sample::pipeline_stage())
        .cutover(cutover)
        .build()
}

/// Settings shared by both services: everything that is not launch-type specific is set.
fn set_common(svc: &mut ecs_bluegreen::inventory::ServiceDefinition) {
    svc.health_check_grace_period_seconds = Some(90);
    svc.service_registries = vec![ServiceRegistryEntry {
        registry_arn: Some(s(REGISTRY_ARN)),
        port: None,
        container_name: Some(s("web")),
        container_port: Some(80),
    }];
    svc.placement_constraints = vec![PlacementConstraintDef {
        r#type: Some(s("memberOf")),
        expression: Some(s("attribute:ecs.cpu-architecture == arm64")),
    }];
    svc.placement_strategy =
        vec![PlacementStrategyDef { r#type: Some(s("spread")), field: Some(s("attribute:ecs.availability-zone")) }];
    let dc = svc.deployment_configuration.as_mut().unwrap();
    dc.maximum_percent = Some(150);
    dc.minimum_healthy_percent = Some(50);
    dc.circuit_breaker = Some((true, true));
    dc.alarms = Some(DeploymentAlarmsDef { alarm_names: vec![s("web-5xx-rate")], enable: true, rollback: true });
    svc.enable_execute_command = true;
    svc.enable_ecs_managed_tags = true;
    svc.propagate_tags = Some(s("SERVICE"));
    svc.availability_zone_rebalancing = Some(s("ENABLED"));
}

/// Service A: Fargate through a capacity provider strategy, awsvpc, platform version pinned.
fn inventory_fargate_capacity_providers() -> Inventory {
    let mut inv = sample::inventory();
    let svc = inv.service.as_mut().unwrap();
    set_common(svc);
    svc.launch_type = None;
    svc.capacity_provider_strategy = vec![
        CapacityProviderItem { capacity_provider: s("FARGATE"), weight: 1, base: 1 },
        CapacityProviderItem { capacity_provider: s("FARGATE_SPOT"), weight: 3, base: 0 },
    ];
    svc.platform_version = Some(s("1.4.0"));
    svc.role_arn = Some(s(SERVICE_LINKED_ROLE));
    inv
}

/// Service B: EC2 launch type, bridge networking, a classic service role.
fn inventory_ec2_bridge() -> Inventory {
    let mut inv = sample::inventory();
    let svc = inv.service.as_mut().unwrap();
    set_common(svc);
    svc.launch_type = Some(s("EC2"));
    svc.capacity_provider_strategy = vec![];
    svc.platform_version = None;
    svc.network_configuration = None;
    svc.role_arn = Some(s(CLASSIC_ROLE));
    inv.blue_target_group.as_mut().unwrap().target_type = Some(s("instance"));
    let td = inv.task_definition.as_mut().unwrap();
    td.network_mode = Some(s("bridge"));
    td.requires_compatibilities = vec![s("EC2")];
    inv
}

fn opts() -> ApplyOptions {
    // The plans here come from hand-made inventories (fields moto drops), not from the fake's
    // account, so apply's re-read would rightly call them stale.
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST).skip_stale_plan_check()
}

/// Plans `migration` on `inventory` and applies it on the fake; returns every CreateService request.
async fn run(migration: &Migration, inventory: &Inventory) -> (World, Vec<CreateServiceInput>) {
    let world = World::sample();
    let recorder = CallRecorder::new();
    let aws = world.clients(&Rules::default(), &recorder, RetryConfig::disabled());
    let plan = ecs_bluegreen::plan::plan(migration, inventory).unwrap();
    let outcome = plan.apply(&aws, &InMemoryJournal::new(), &opts()).await.unwrap();
    assert_eq!(outcome, Outcome::Applied);
    let inputs = world.state().create_service_requests.clone();
    (world, inputs)
}

/// `fieldName` / `field_name` → `fieldname`, so the SDK's snake_case matches the API's camelCase
/// (`enable_ecs_managed_tags` ~ `enableECSManagedTags`).
fn norm(name: &str) -> String {
    name.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

/// The top-level fields of a `CreateServiceInput`, read from its pretty `Debug` output, with
/// whether each is set (`Some(..)`), keyed by normalised name (value: the SDK's name).
fn fields(input: &CreateServiceInput) -> BTreeMap<String, (String, bool)> {
    let text = format!("{input:#?}");
    assert!(text.starts_with("CreateServiceInput {"), "{text}");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        // Top-level fields are indented by exactly four spaces; nested values by more.
        let Some(rest) = line.strip_prefix("    ") else { continue };
        if rest.starts_with(' ') {
            continue;
        }
        let Some((name, value)) = rest.split_once(": ") else { continue };
        let set = match value.trim_end_matches(',') {
            "None" => false,
            v if v.starts_with("Some(") => true,
            v => panic!("field {name} is not an Option: {v}"),
        };
        out.insert(norm(name), (name.to_owned(), set));
    }
    out
}

fn dropped() -> BTreeMap<String, &'static str> {
    DROPPED_SERVICE_FIELDS.iter().map(|(f, why)| (norm(f), *why)).collect()
}

/// Checks one CODE_DEPLOY request: every field set, dropped on purpose, or in `not_applicable`
/// (fields that this particular service legitimately leaves unset).
fn check_fields(which: &str, input: &CreateServiceInput, not_applicable: &[(&str, &str)]) -> BTreeSet<String> {
    let fields = fields(input);
    assert!(fields.len() >= 25, "{which}: parsed only {} fields from Debug: {fields:?}", fields.len());
    let dropped = dropped();
    let not_applicable: BTreeMap<String, &str> = not_applicable.iter().map(|(f, why)| (norm(f), *why)).collect();
    for f in dropped.keys().chain(not_applicable.keys()) {
        assert!(fields.contains_key(f), "{which}: {f} is listed but CreateServiceInput has no such field: {fields:?}");
    }
    let mut unexplained = Vec::new();
    for (key, (name, set)) in &fields {
        if let Some(why) = not_applicable.get(key) {
            assert!(!set, "{which}: {name} is listed as not applicable ({why}) but was sent");
        } else if !set && !dropped.contains_key(key) {
            unexplained.push(name.clone());
        }
    }
    assert!(
        unexplained.is_empty(),
        "{which}: CreateService fields neither carried from the live service nor listed in \
         DROPPED_SERVICE_FIELDS: {unexplained:?}\nrequest: {input:#?}"
    );
    // "Dropped" means not carried; only the client token is generated instead.
    for (key, (name, set)) in &fields {
        if dropped.contains_key(key) && key != "clienttoken" {
            assert!(!set, "{which}: {name} is in DROPPED_SERVICE_FIELDS but was sent");
        }
    }
    fields.into_iter().filter(|(_, (_, set))| *set).map(|(k, _)| k).collect()
}

fn tags(input: &CreateServiceInput) -> BTreeMap<String, String> {
    input.tags().iter().map(|t| (s(t.key().unwrap()), s(t.value().unwrap()))).collect()
}

#[tokio::test(start_paused = true)]
async fn every_create_service_field_is_carried_or_dropped_on_purpose() {
    // Service A, Recreate: one CreateService, the CODE_DEPLOY one.
    let inv_a = inventory_fargate_capacity_providers();
    let (_, inputs_a) = run(&migration(ServiceCutover::Recreate), &inv_a).await;
    let [cd_a] = inputs_a.as_slice() else { panic!("expected one CreateService, got {inputs_a:#?}") };
    let set_a = check_fields(
        "fargate service",
        cd_a,
        &[
            ("launchType", "the capacity provider strategy is set; CreateService refuses both"),
            ("role", "awsvpc: the service-linked role is used; CreateService refuses a role with a network configuration"),
        ],
    );

    // Service B, ParallelKeepName: the bridge (ECS), then the CODE_DEPLOY service.
    let inv_b = inventory_ec2_bridge();
    let (_, inputs_b) = run(&migration(ServiceCutover::ParallelKeepName), &inv_b).await;
    let [_bridge, cd_b] = inputs_b.as_slice() else { panic!("expected two CreateService, got {inputs_b:#?}") };
    let set_b = check_fields(
        "ec2 service",
        cd_b,
        &[
            ("capacityProviderStrategy", "launch type EC2 is set; CreateService refuses both"),
            ("networkConfiguration", "bridge network mode takes no network configuration"),
            ("platformVersion", "platform versions exist only on Fargate"),
        ],
    );

    // What one service cannot set, the other does: nothing is exempt across both.
    for f in ["launchtype", "role", "capacityproviderstrategy", "networkconfiguration", "platformversion"] {
        assert!(set_a.contains(f) || set_b.contains(f), "{f} is set by neither service");
    }
}

#[tokio::test(start_paused = true)]
async fn the_code_deploy_service_carries_the_live_settings_without_what_code_deploy_forbids() {
    let inv = inventory_fargate_capacity_providers();
    let def = inv.service.clone().unwrap();
    let (world, inputs) = run(&migration(ServiceCutover::Recreate), &inv).await;
    let [cd] = inputs.as_slice() else { panic!("expected one CreateService, got {inputs:#?}") };

    assert_eq!(cd.cluster(), Some(CLUSTER));
    assert_eq!(cd.service_name(), Some(SERVICE));
    assert_eq!(cd.deployment_controller().map(|c| c.r#type().as_str()), Some("CODE_DEPLOY"));
    assert_eq!(cd.task_definition(), def.task_definition.as_deref());
    assert_eq!(cd.desired_count(), Some(def.desired_count));
    assert_eq!(cd.launch_type(), None);
    let cps: Vec<(&str, Option<i32>, Option<i32>)> =
        cd.capacity_provider_strategy().iter().map(|c| (c.capacity_provider(), Some(c.weight()), Some(c.base()))).collect();
    assert_eq!(cps, [("FARGATE", Some(1), Some(1)), ("FARGATE_SPOT", Some(3), Some(0))]);
    assert_eq!(cd.platform_version(), Some("1.4.0"));
    assert_eq!(cd.health_check_grace_period_seconds(), Some(90));
    assert_eq!(cd.scheduling_strategy().map(|x| x.as_str()), Some("REPLICA"));
    assert_eq!(cd.enable_ecs_managed_tags(), Some(true));
    assert_eq!(cd.propagate_tags().map(|x| x.as_str()), Some("SERVICE"));
    assert_eq!(cd.enable_execute_command(), Some(true));
    assert_eq!(cd.availability_zone_rebalancing().map(|x| x.as_str()), Some("ENABLED"));
    assert_eq!(cd.role(), None, "a service-linked role is never passed");
    let lb = cd.load_balancers();
    assert_eq!(lb.len(), 1);
    assert_eq!(
        (lb[0].target_group_arn(), lb[0].container_name(), lb[0].container_port()),
        (Some(BLUE_TG_ARN), Some("web"), Some(80))
    );
    let reg = cd.service_registries();
    assert_eq!(reg.len(), 1);
    assert_eq!(
        (reg[0].registry_arn(), reg[0].container_name(), reg[0].container_port(), reg[0].port()),
        (Some(REGISTRY_ARN), Some("web"), Some(80), None)
    );
    let vpc = cd.network_configuration().and_then(|n| n.awsvpc_configuration()).expect("awsvpc configuration");
    let net = def.network_configuration.as_ref().unwrap();
    assert_eq!(vpc.subnets(), net.subnets.as_slice());
    assert_eq!(vpc.security_groups(), net.security_groups.as_slice());
    assert_eq!(vpc.assign_public_ip().map(|a| a.as_str()), Some("DISABLED"));
    let pc: Vec<_> = cd.placement_constraints().iter().map(|p| (p.r#type().map(|t| t.as_str()), p.expression())).collect();
    assert_eq!(pc, [(Some("memberOf"), Some("attribute:ecs.cpu-architecture == arm64"))]);
    let ps: Vec<_> = cd.placement_strategy().iter().map(|p| (p.r#type().map(|t| t.as_str()), p.field())).collect();
    assert_eq!(ps, [(Some("spread"), Some("attribute:ecs.availability-zone"))]);
    let dc = cd.deployment_configuration().expect("deployment configuration");
    assert_eq!((dc.maximum_percent(), dc.minimum_healthy_percent()), (Some(150), Some(50)));
    assert!(dc.deployment_circuit_breaker().is_none(), "CODE_DEPLOY refuses the circuit breaker: {dc:?}");
    assert!(dc.alarms().is_none(), "CODE_DEPLOY refuses deployment alarms: {dc:?}");
    assert!(dc.strategy().is_none(), "CODE_DEPLOY takes no ECS deployment strategy: {dc:?}");
    assert_eq!(tags(cd), def.tags, "the service keeps its own tags");
    let token = cd.client_token().expect("client token");
    assert!(!token.is_empty() && token.len() <= 36, "{token}");

    let st = world.state();
    let web = &st.services[SERVICE];
    assert_eq!((web.status.as_str(), web.deployment_controller.as_str()), ("ACTIVE", "CODE_DEPLOY"));
    assert!(st.deployment_groups.contains_key(&(APPLICATION.to_owned(), DEPLOYMENT_GROUP.to_owned())));
}

#[tokio::test(start_paused = true)]
async fn the_bridge_service_is_ecs_controlled_and_tagged_as_ours() {
    let inv = inventory_ec2_bridge();
    let def = inv.service.clone().unwrap();
    let (world, inputs) = run(&migration(ServiceCutover::ParallelKeepName), &inv).await;
    let [bridge, cd] = inputs.as_slice() else { panic!("expected bridge + service, got {inputs:#?}") };

    let bridge_name = format!("{SERVICE}-bg-bridge"); // the documented bridge name
    assert_eq!(bridge.service_name(), Some(bridge_name.as_str()));
    assert_eq!(bridge.deployment_controller().map(|c| c.r#type().as_str()), Some("ECS"));
    let bridge_tags = tags(bridge);
    assert_eq!(bridge_tags.get(OWNERSHIP_TAG).map(String::as_str), Some(MIGRATION_ID), "{bridge_tags:?}");
    for (k, v) in &def.tags {
        assert_eq!(bridge_tags.get(k), Some(v), "the bridge keeps the service's tag {k}");
    }
    // The bridge stays on the ECS controller, so it keeps the rolling-update safety settings.
    let dc = bridge.deployment_configuration().expect("deployment configuration");
    let cb = dc.deployment_circuit_breaker().expect("the ECS bridge keeps the circuit breaker");
    assert!(cb.enable() && cb.rollback());
    assert_eq!(dc.alarms().map(|a| a.alarm_names().to_vec()), Some(vec![s("web-5xx-rate")]));
    assert_eq!(bridge.load_balancers().first().and_then(|l| l.target_group_arn()), Some(BLUE_TG_ARN));
    assert_eq!(bridge.launch_type().map(|l| l.as_str()), Some("EC2"));
    assert_eq!(bridge.role(), Some(CLASSIC_ROLE));

    assert_eq!(cd.service_name(), Some(SERVICE));
    assert_eq!(cd.deployment_controller().map(|c| c.r#type().as_str()), Some("CODE_DEPLOY"));
    let dc = cd.deployment_configuration().expect("deployment configuration");
    assert!(dc.deployment_circuit_breaker().is_none() && dc.alarms().is_none(), "{dc:?}");
    assert_eq!(tags(cd).get(OWNERSHIP_TAG), None, "the user's service is not tagged as created by the tool");
    assert_eq!(cd.role(), Some(CLASSIC_ROLE));

    let st = world.state();
    assert_eq!(st.services[&bridge_name].status, "INACTIVE", "the bridge is deleted at the end");
    let web = &st.services[SERVICE];
    assert_eq!((web.status.as_str(), web.deployment_controller.as_str()), ("ACTIVE", "CODE_DEPLOY"));
    let deploy = st.pipelines[PIPELINE].stages().iter().find(|s| s.name() == "Deploy").unwrap();
    assert_eq!(deploy.actions()[0].action_type_id().map(|t| t.provider()), Some("CodeDeployToECS"));
}
