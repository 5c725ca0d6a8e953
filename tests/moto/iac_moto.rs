//! The Terraform hand-off (`ecs_bluegreen::iac`) against moto. After an apply of each cutover
//! strategy (parallel-keep-name, parallel, recreate) and of the ECS-native target, imports.tf is
//! parsed with hcl-rs and every import ID is checked against the live account (the resource is
//! described by that very ID and found); every import has its resource block; where `terraform`
//! is on PATH, `terraform fmt -check` passes on the files (skipped with a message otherwise).
//! After a rollback, every removed block names a resource that is gone. The CLI: `iac`,
//! `apply --iac-dir`, `--address-map`, and exit 2 for bad input with nothing changed.
//!
//! Run with `cargo test --test moto iac_moto::`.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::cli::{migrate_with, text};
use common::fixture::{Fixture, seed_rolling_account};
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::iac::{self, AddressMap, TerraformFiles};
use ecs_bluegreen::iac::model::{RemovedKind, RunEnd};
use ecs_bluegreen::spec::{
    BakeTime, Migration, NativeDeployment, NativeStrategy, PipelineDeployStage, PipelineName, Port, ServiceCutover, ServiceName, Target,
};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, InMemoryJournal, Journal, Outcome};

fn opts() -> ApplyOptions {
    ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST)
}

fn codedeploy(f: &Fixture, cutover: ServiceCutover) -> Migration {
    Migration::for_service(&f.cluster_name, &f.service_name)
        .unwrap()
        .test_listener_port(Port::new(8080).unwrap())
        .pipeline(PipelineDeployStage::named(PipelineName::new(&f.pipeline_name).unwrap()))
        .cutover(cutover)
        .build()
}

fn native(f: &Fixture) -> Migration {
    Migration::for_service(&f.cluster_name, &f.service_name)
        .unwrap()
        .target(Target::EcsNative)
        .native(NativeDeployment::builder().strategy(NativeStrategy::BlueGreen).bake_time(BakeTime::minutes(3).unwrap()).build())
        .build()
}

/// Seeds an account, applies `migration(f)` and returns the journal.
async fn applied(migration: impl Fn(&Fixture) -> Migration) -> (AwsClients, Fixture, InMemoryJournal) {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let journal = InMemoryJournal::new();
    let plan = migration(&f).plan(&aws).await.unwrap();
    assert_eq!(plan.apply(&aws, &journal, &opts()).await.unwrap(), Outcome::Applied);
    (aws, f, journal)
}

/// `(type, address, id)` of every import block, parsed with hcl-rs.
fn imports(text: &str) -> Vec<(String, String, String)> {
    let body = hcl::parse(text).expect("imports.tf is HCL");
    body.blocks()
        .map(|b| {
            assert_eq!(b.identifier(), "import");
            let mut to = None;
            let mut id = None;
            for a in b.body().attributes() {
                match (a.key(), a.expr()) {
                    ("to", hcl::Expression::Traversal(t)) => to = Some(hcl::format::to_string(&**t).unwrap()),
                    ("id", hcl::Expression::String(s)) => id = Some(s.clone()),
                    (k, e) => panic!("unexpected attribute {k} = {e:?}"),
                }
            }
            let to = to.expect("to = an address");
            let ty = to.split('.').rev().nth(1).unwrap().to_owned();
            (ty, to, id.expect("id = a string"))
        })
        .collect()
}

/// Whether the resource of `ty` with import ID `id` exists in the account, described by that ID
/// exactly as the provider's import would read it.
async fn exists(aws: &AwsClients, ty: &str, id: &str) -> bool {
    match ty {
        "aws_lb_target_group" => aws.elbv2.describe_target_groups().target_group_arns(id).send().await.is_ok_and(|o| o.target_groups().len() == 1),
        "aws_lb_listener" => aws.elbv2.describe_listeners().listener_arns(id).send().await.is_ok_and(|o| o.listeners().len() == 1),
        "aws_iam_role" => aws.iam.get_role().role_name(id).send().await.is_ok(),
        "aws_iam_role_policy_attachment" => {
            let (role, policy) = id.split_once('/').expect("role/policy-arn");
            aws.iam
                .list_attached_role_policies()
                .role_name(role)
                .send()
                .await
                .is_ok_and(|o| o.attached_policies().iter().any(|p| p.policy_arn() == Some(policy)))
        }
        "aws_iam_role_policy" => {
            let (role, name) = id.split_once(':').expect("role:policy");
            aws.iam.get_role_policy().role_name(role).policy_name(name).send().await.is_ok()
        }
        "aws_codedeploy_app" => aws.codedeploy.get_application().application_name(id).send().await.is_ok(),
        "aws_codedeploy_deployment_group" => {
            let (app, group) = id.split_once(':').expect("app:group");
            aws.codedeploy.get_deployment_group().application_name(app).deployment_group_name(group).send().await.is_ok()
        }
        "aws_ecs_service" => {
            let (cluster, service) = id.split_once('/').expect("cluster/service");
            aws.ecs
                .describe_services()
                .cluster(cluster)
                .services(service)
                .send()
                .await
                .is_ok_and(|o| o.services().iter().any(|s| s.status() == Some("ACTIVE")))
        }
        "aws_codepipeline" => aws.codepipeline.get_pipeline().name(id).send().await.is_ok(),
        "aws_appautoscaling_target" | "aws_appautoscaling_policy" => {
            let scaling = aws.autoscaling.as_ref().expect("the scaling client");
            let (target, policy) = if ty == "aws_appautoscaling_policy" { id.rsplit_once('/').map(|(t, p)| (t, Some(p))).unwrap() } else { (id, None) };
            let rid = target.strip_prefix("ecs/").and_then(|t| t.strip_suffix("/ecs:service:DesiredCount")).expect("ecs/RESOURCE/DIMENSION");
            let ns = aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs;
            match policy {
                None => scaling.describe_scalable_targets().service_namespace(ns).resource_ids(rid).send().await.is_ok_and(|o| o.scalable_targets().len() == 1),
                Some(p) => scaling
                    .describe_scaling_policies()
                    .service_namespace(ns)
                    .resource_id(rid)
                    .policy_names(p)
                    .send()
                    .await
                    .is_ok_and(|o| o.scaling_policies().len() == 1),
            }
        }
        other => panic!("imports.tf names a resource type the test does not know: {other}"),
    }
}

/// Every import ID names a live resource, every import has its resource block, and the files
/// pass `terraform fmt -check` where terraform is on PATH. Returns the imported types.
async fn check_hand_off(aws: &AwsClients, files: &TerraformFiles, label: &str) -> BTreeSet<String> {
    let imports = imports(&files.imports);
    assert!(!imports.is_empty(), "{label}: no import block");
    for (ty, address, id) in &imports {
        assert!(exists(aws, ty, id).await, "{label}: {address} imports {id:?}, which the account does not hold");
    }
    let resources = hcl::parse(&files.resources).expect("resources.tf is HCL");
    let declared: BTreeSet<String> = resources.blocks().map(|b| format!("{}.{}", b.labels()[0].as_str(), b.labels()[1].as_str())).collect();
    let imported: BTreeSet<String> = imports.iter().map(|(_, a, _)| a.clone()).collect();
    assert_eq!(declared, imported, "{label}: a resource block per import");
    assert!(files.readme.contains("terraform plan"), "{label}: the README says the order");
    fmt_check(files, label);
    imports.into_iter().map(|(ty, _, _)| ty).collect()
}

fn fmt_check(files: &TerraformFiles, label: &str) {
    let dir = std::env::temp_dir().join(format!("ebg-iac-moto-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    files.write_to(&dir).unwrap();
    match std::process::Command::new("terraform").args(["fmt", "-check", "-diff"]).current_dir(&dir).output() {
        Ok(out) => assert!(out.status.success(), "{label}: terraform fmt -check fails:\n{}", text(&out.stdout)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("SKIPPED: terraform is not on PATH, so `terraform fmt -check` did not run ({label})")
        }
        Err(e) => panic!("terraform: {e}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn types(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

const CODEDEPLOY_TYPES: [&str; 9] = [
    "aws_lb_target_group",
    "aws_lb_listener",
    "aws_iam_role",
    "aws_iam_role_policy_attachment",
    "aws_iam_role_policy",
    "aws_codedeploy_app",
    "aws_codedeploy_deployment_group",
    "aws_ecs_service",
    "aws_codepipeline",
];

async fn codedeploy_hand_off(cutover: ServiceCutover, label: &str) -> (AwsClients, Fixture, TerraformFiles) {
    let (aws, f, journal) = applied(|f| codedeploy(f, cutover.clone())).await;
    let files = iac::terraform(&aws, &journal.records().unwrap(), &AddressMap::new()).await.unwrap();
    assert_eq!(check_hand_off(&aws, &files, label).await, types(&CODEDEPLOY_TYPES), "{label}");
    let resources = &files.resources;
    assert!(resources.contains(r#"type = "CODE_DEPLOY""#), "{label}: {resources}");
    assert!(resources.contains("ignore_changes = [") && resources.contains("task_definition"), "{label}");
    (aws, f, files)
}

#[tokio::test]
async fn parallel_keep_name_hand_off_imports_only_what_the_account_holds() {
    let (_, f, files) = codedeploy_hand_off(ServiceCutover::ParallelKeepName, "parallel-keep-name").await;
    let ids: Vec<(String, String, String)> = imports(&files.imports);
    assert!(ids.iter().any(|(ty, _, id)| ty == "aws_ecs_service" && *id == format!("{}/{}", f.cluster_name, f.service_name)));
    assert!(!ids.iter().any(|(_, _, id)| id.contains("bridge")), "the bridge service is gone: {ids:?}");
    assert!(files.removed.is_empty());
}

#[tokio::test]
async fn recreate_hand_off_imports_only_what_the_account_holds() {
    let (_, _, files) = codedeploy_hand_off(ServiceCutover::Recreate, "recreate").await;
    assert!(files.readme.contains("| recreated |"), "{}", files.readme);
}

#[tokio::test]
async fn parallel_hand_off_imports_the_new_service_and_removes_the_old_one() {
    let new = ServiceName::new("web-v2").unwrap();
    let (aws, f, files) = codedeploy_hand_off(ServiceCutover::Parallel { new_name: new }, "parallel").await;
    let ids = imports(&files.imports);
    assert!(ids.iter().any(|(ty, _, id)| ty == "aws_ecs_service" && *id == format!("{}/web-v2", f.cluster_name)), "{ids:?}");
    assert_eq!(files.removed_addresses.iter().map(ToString::to_string).collect::<Vec<_>>(), [format!("aws_ecs_service.{}", f.service_name)]);
    assert!(!exists(&aws, "aws_ecs_service", &format!("{}/{}", f.cluster_name, f.service_name)).await, "the original is gone");
}

#[tokio::test]
async fn ecs_native_hand_off_imports_only_what_the_account_holds() {
    let (aws, _, journal) = applied(native).await;
    let files = iac::terraform(&aws, &journal.records().unwrap(), &AddressMap::new()).await.unwrap();
    let imported = check_hand_off(&aws, &files, "ecs-native").await;
    assert_eq!(imported, types(&["aws_lb_target_group", "aws_lb_listener", "aws_iam_role", "aws_iam_role_policy_attachment", "aws_ecs_service"]));
    let resources = hcl::parse(&files.resources).unwrap();
    let prod = resources.blocks().find(|b| b.labels()[0].as_str() == "aws_lb_listener").unwrap();
    assert!(hcl::format::to_string(prod).unwrap().contains("default_action"), "the production weights are ignored");
    assert!(files.resources.contains(r#"strategy             = "BLUE_GREEN""#) || files.resources.contains(r#"strategy = "BLUE_GREEN""#), "{}", files.resources);
    assert!(files.resources.contains("advanced_configuration"), "{}", files.resources);
}

#[tokio::test]
async fn rolled_back_hand_off_removes_only_what_is_gone() {
    let (aws, f, journal) = applied(|f| codedeploy(f, ServiceCutover::ParallelKeepName)).await;
    let report = ecs_bluegreen::rollback(&aws, &journal, &opts()).await.unwrap();
    assert!(report.is_clean(), "{report}");
    let records = journal.records().unwrap();
    let hand = iac::read(&aws, &records).await.unwrap();
    assert_eq!(hand.end, RunEnd::RolledBack);
    assert!(hand.resources.is_empty());
    let kinds: BTreeSet<RemovedKind> = hand.removed.iter().map(|r| r.kind).collect();
    for k in [RemovedKind::TargetGroup, RemovedKind::Listener, RemovedKind::Role, RemovedKind::Application, RemovedKind::DeploymentGroup] {
        assert!(kinds.contains(&k), "{k:?} missing: {:?}", hand.removed);
    }
    for r in &hand.removed {
        let gone = match r.kind {
            RemovedKind::TargetGroup => aws.elbv2.describe_target_groups().names(&r.name).send().await.is_err(),
            RemovedKind::Listener => {
                let out = aws.elbv2.describe_listeners().load_balancer_arn(&f.load_balancer_arn).send().await.unwrap();
                !out.listeners().iter().any(|l| l.port().map(|p| p.to_string()) == Some(r.name.clone()))
            }
            RemovedKind::Role => !exists(&aws, "aws_iam_role", &r.name).await,
            RemovedKind::RolePolicyAttachment => !exists(&aws, "aws_iam_role_policy_attachment", &r.name).await,
            RemovedKind::RolePolicy => !exists(&aws, "aws_iam_role_policy", &r.name).await,
            RemovedKind::Application => !exists(&aws, "aws_codedeploy_app", &r.name).await,
            RemovedKind::DeploymentGroup => !exists(&aws, "aws_codedeploy_deployment_group", &r.name).await,
            other => panic!("unexpected {other:?}"),
        };
        assert!(gone, "{r:?} is still in the account");
    }
    let files = iac::render_terraform(&hand, &AddressMap::new()).unwrap();
    assert!(files.imports.is_empty() && files.resources.is_empty());
    assert_eq!(hcl::parse(&files.removed).unwrap().blocks().count(), hand.removed.len());
    fmt_check(&files, "rolled-back");
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir).map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default();
    n.sort();
    n
}

#[tokio::test]
async fn cli_writes_the_hand_off_after_apply_and_with_iac_and_refuses_bad_input() {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let dir = std::env::temp_dir().join(format!("ebg-iac-cli-{account}"));
    std::fs::create_dir_all(&dir).unwrap();
    let args = ["--cluster", f.cluster_name.as_str(), "--service", f.service_name.as_str(), "--test-listener-port", "8080"];
    let run = |extra: &[&str]| migrate_with(&account, &dir, &[extra, &args[..]].concat(), None);

    // No journal yet: exit 2, nothing written.
    let out = run(&["iac", "--format", "terraform", "--out", "no-journal"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no journal"), "{}", text(&out.stderr));
    assert!(!dir.join("no-journal").exists());
    // An unknown format: exit 2.
    assert_eq!(run(&["iac", "--format", "pulumi", "--out", "x"]).status.code(), Some(2));
    // apply with an unreadable address map: exit 2 before any change (no journal is begun).
    let out = run(&["apply", "--yes", "--iac-dir", "hand-off", "--address-map", "missing.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("missing.toml"), "{}", text(&out.stderr));
    assert!(!dir.join(".ecs-bluegreen").exists(), "nothing was begun");
    assert!(aws.elbv2.describe_target_groups().names(format!("{}-green", f.target_group_name)).send().await.is_err(), "nothing changed");

    // apply --iac-dir writes the hand-off once the migration is applied.
    let out = run(&["apply", "--yes", "--iac-dir", "hand-off"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(names(&dir.join("hand-off")), ["README.md", "imports.tf", "resources.tf"]);
    let after_apply = std::fs::read_to_string(dir.join("hand-off/imports.tf")).unwrap();
    for (ty, address, id) in imports(&after_apply) {
        assert!(exists(&aws, &ty, &id).await, "{address} = {id}");
    }

    // iac with an address map: the service goes to the user's module address.
    std::fs::write(dir.join("map.json"), format!(r#"{{ "aws_ecs_service.{}": "module.svc.aws_ecs_service.this" }}"#, f.service_name)).unwrap();
    let out = run(&["iac", "--format", "terraform", "--out", "mapped", "--address-map", "map.json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mapped = std::fs::read_to_string(dir.join("mapped/imports.tf")).unwrap();
    assert!(imports(&mapped).iter().any(|(_, a, id)| a == "module.svc.aws_ecs_service.this" && *id == format!("{}/{}", f.cluster_name, f.service_name)), "{mapped}");
    let resources = std::fs::read_to_string(dir.join("mapped/resources.tf")).unwrap();
    assert!(!resources.contains("aws_ecs_service"), "the module's service has no root block:\n{resources}");

    // CloudFormation: the snippet, the import file and the README.
    let out = run(&["iac", "--format", "cloudformation", "--out", "cfn"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(names(&dir.join("cfn")), ["README.md", "resources-to-import.json", "template-snippet.yaml"]);

    // A map naming a placeholder the hand-off lacks, or not a map: exit 2, nothing written.
    std::fs::write(dir.join("typo.json"), r#"{ "aws_ecs_service.wbe": "aws_ecs_service.x" }"#).unwrap();
    std::fs::write(dir.join("broken.toml"), "not = [toml").unwrap();
    for (map, out_dir) in [("typo.json", "typo"), ("broken.toml", "broken")] {
        let out = run(&["iac", "--format", "terraform", "--out", out_dir, "--address-map", map]);
        assert_eq!(out.status.code(), Some(2), "{map}: {}", text(&out.stderr));
        assert!(!dir.join(out_dir).exists(), "{map}: nothing written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn cloudformation_hand_off_parses_and_its_identifiers_name_live_resources() {
    let (aws, _, journal) = applied(|f| codedeploy(f, ServiceCutover::ParallelKeepName)).await;
    let files = iac::cloudformation(&aws, &journal.records().unwrap()).await.unwrap();
    let template: serde_json::Value = serde_norway::from_str(&files.template).expect("the snippet is YAML");
    let resources = template["Resources"].as_object().unwrap();
    assert!(resources.values().all(|r| r["DeletionPolicy"] == "Retain"), "{resources:?}");
    let imports: Vec<serde_json::Value> = serde_json::from_str(&files.resources_to_import).unwrap();
    assert!(imports.len() >= 6, "{imports:?}");
    for i in &imports {
        let (ty, id) = (i["ResourceType"].as_str().unwrap(), &i["ResourceIdentifier"]);
        let s = |k: &str| id[k].as_str().unwrap().to_owned();
        assert!(resources.contains_key(i["LogicalResourceId"].as_str().unwrap()), "{i}");
        let found = match ty {
            "AWS::ElasticLoadBalancingV2::TargetGroup" => exists(&aws, "aws_lb_target_group", &s("TargetGroupArn")).await,
            "AWS::ElasticLoadBalancingV2::Listener" => exists(&aws, "aws_lb_listener", &s("ListenerArn")).await,
            "AWS::IAM::Role" => exists(&aws, "aws_iam_role", &s("RoleName")).await,
            "AWS::IAM::RolePolicy" => exists(&aws, "aws_iam_role_policy", &format!("{}:{}", s("RoleName"), s("PolicyName"))).await,
            "AWS::CodeDeploy::Application" => exists(&aws, "aws_codedeploy_app", &s("ApplicationName")).await,
            "AWS::CodePipeline::Pipeline" => exists(&aws, "aws_codepipeline", &s("Name")).await,
            "AWS::ECS::Service" => aws
                .ecs
                .describe_services()
                .cluster(s("Cluster"))
                .services(s("ServiceArn"))
                .send()
                .await
                .is_ok_and(|o| o.services().iter().any(|x| x.status() == Some("ACTIVE"))),
            other => panic!("unexpected type {other}"),
        };
        assert!(found, "{ty} {id} is not in the account");
    }
    assert!(files.not_importable.iter().any(|(_, ty)| ty == "AWS::CodeDeploy::DeploymentGroup"));
}
