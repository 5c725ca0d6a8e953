//! Operator permissions under IAM enforcement, on a moto server of this test's own (enforcement
//! is server-wide): an IAM user whose only policy is what `migrate permissions` printed runs
//! `apply`, then `rollback`, to the end, for each cutover strategy and for the ECS-native target
//! (onward from rolling, and the way back to rolling); a user whose policy lacks one of its
//! actions is refused by `plan`'s preflight, naming that action, with nothing changed.

use crate::common;

use common::AccountHeader;
use common::cli::{migrate_env_at, text};
use common::fixture::{Fixture, seed_rolling_account};
use common::private_moto::PrivateMoto;
use common::snapshot::{assert_same, snapshot};
use common::{fresh_account, moto_sdk_config};
use ecs_bluegreen::spec::{Migration, Port, Target};
use ecs_bluegreen::wait::WaitPolicy;
use ecs_bluegreen::{ApplyOptions, AwsClients, InMemoryJournal};

const ARGS: &[&str] = &["--cluster", "prod", "--service", "web", "--pipeline", "web-pipeline", "--test-listener-port", "8080"];

/// An IAM user of `account` whose only policy is `document`; its access key.
async fn user_with(aws: &AwsClients, name: &str, document: &str) -> (String, String) {
    user_with_all(aws, name, &[document.to_owned()]).await
}

/// `document` without `action`.
fn without(document: &str, action: &str) -> String {
    let mut doc: serde_json::Value = serde_json::from_str(document).unwrap();
    let statements = doc["Statement"].as_array_mut().unwrap();
    for s in statements.iter_mut() {
        s["Action"].as_array_mut().unwrap().retain(|a| a != action);
    }
    statements.retain(|s| !s["Action"].as_array().unwrap().is_empty());
    doc.to_string()
}

/// A fresh account on `moto` (enforcement off) seeded with the rolling service behind its ALB.
async fn seeded(moto: &PrivateMoto) -> (String, AwsClients, Fixture) {
    moto.stop_enforcing();
    let account = fresh_account();
    let aws = AwsClients::builder(&moto_sdk_config(&moto.endpoint)).interceptor(AccountHeader(account.clone())).build();
    let f = seed_rolling_account(&aws, &moto.endpoint, &account).await;
    (account, aws, f)
}

/// With enforcement on: `plan` as a user holding the printed policy less `removed` exits 2
/// naming it; `apply` then `rollback` as a user holding only the printed policy both end; and
/// the account is as it was before (enforcement off again to read it).
async fn printed_policy_is_enough(moto: &PrivateMoto, account: &str, aws: &AwsClients, f: &Fixture, label: &str, args: &[&str], removed: &str) {
    let (before, after) = refused_then_applied_and_rolled_back(moto, account, aws, f, label, args, removed).await;
    assert_same(&comparable(before), &comparable(after), &format!("{label}: after the refused plan, apply and rollback"));
}

/// [`printed_policy_is_enough`] but the comparison: the account's snapshots before and after.
async fn refused_then_applied_and_rolled_back(
    moto: &PrivateMoto,
    account: &str,
    aws: &AwsClients,
    f: &Fixture,
    label: &str,
    args: &[&str],
    removed: &str,
) -> (serde_json::Value, serde_json::Value) {
    let dir = std::env::temp_dir().join(format!("ebg-permissions-{account}"));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |cmd: &[&str], key: &(String, String)| {
        let env = [("AWS_ACCESS_KEY_ID", key.0.as_str()), ("AWS_SECRET_ACCESS_KEY", key.1.as_str())];
        migrate_env_at(&moto.endpoint, account, &dir, &[cmd, args].concat(), &env)
    };
    let root = ("test".to_owned(), "test".to_owned());

    let printed = run(&["permissions", "--output", "json"], &root);
    assert!(printed.status.success(), "{label}: {}", text(&printed.stderr));
    let policy = text(&printed.stdout);
    let parsed: serde_json::Value = serde_json::from_str(&policy).unwrap_or_else(|e| panic!("{label}: not JSON ({e}):\n{policy}"));
    assert!(policy.contains(removed), "{label}: {removed} in the policy:\n{policy}");
    assert!(!parsed["Statement"].as_array().unwrap().iter().any(|s| s["Action"].as_array().unwrap().iter().any(|a| a == "*")));
    let deployer = user_with(aws, "deployer", &policy).await;
    let short = user_with(aws, "short", &without(&policy, removed)).await;
    let before = snapshot(aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await;

    moto.enforce_iam();
    // Enforcement is on: the root's dummy key is no IAM user's.
    let refused = run(&["plan"], &root);
    assert!(!refused.status.success(), "{label}: the dummy key is refused once IAM is enforced");

    let plan = run(&["plan"], &short);
    let stderr = text(&plan.stderr);
    assert_eq!(plan.status.code(), Some(2), "{label}: {stderr}\n{}", text(&plan.stdout));
    assert!(stderr.contains(removed) && stderr.contains("user/short"), "{label}: the refusal names {removed}:\n{stderr}");

    let applied = run(&["apply", "--yes"], &deployer);
    assert!(applied.status.success(), "{label}: apply as deployer: {}\n{}", text(&applied.stderr), text(&applied.stdout));
    assert!(!text(&applied.stdout).contains("permissions not checked"), "{label}: the preflight ran:\n{}", text(&applied.stdout));
    let rolled = run(&["rollback", "--yes"], &deployer);
    assert!(rolled.status.success(), "{label}: rollback as deployer: {}\n{}", text(&rolled.stderr), text(&rolled.stdout));

    moto.stop_enforcing();
    let after = snapshot(aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await;
    let _ = std::fs::remove_dir_all(&dir);
    (before, after)
}

/// A snapshot with what means the same written one way: a strategy not set is `ROLLING` (once
/// set, ECS reports it), and a bake time under `ROLLING` is unused (moto's UpdateService merges
/// `deploymentConfiguration`, so it keeps the one it stored).
fn comparable(mut v: serde_json::Value) -> serde_json::Value {
    let services = v["services"].as_object_mut().into_iter().flat_map(|s| s.values_mut());
    for service in services.filter_map(serde_json::Value::as_object_mut) {
        if let Some(dc) = service.get_mut("deployment_configuration").and_then(serde_json::Value::as_object_mut) {
            if dc.get("strategy").is_none_or(serde_json::Value::is_null) {
                dc.insert("strategy".to_owned(), "ROLLING".into());
            }
            if dc["strategy"] == "ROLLING" {
                dc.remove("bake_time_in_minutes");
            }
        }
    }
    v
}

/// [`comparable`], without the identifiers AWS gives what a rollback recreates: the services'
/// ARNs and the deployment groups' ids.
fn comparable_recreated(v: serde_json::Value) -> serde_json::Value {
    let mut v = comparable(v);
    let services = v["services"].as_object_mut().into_iter().flat_map(|s| s.values_mut());
    for service in services.filter_map(serde_json::Value::as_object_mut) {
        service.remove("arn");
    }
    let groups = v["codedeploy"].as_object_mut().into_iter().flat_map(|apps| apps.values_mut());
    for group in groups.filter_map(serde_json::Value::as_object_mut).flat_map(|g| g.values_mut()) {
        if let Some(text) = group.as_str()
            && let Some(start) = text.find("deployment_group_id: Some(\"")
        {
            let end = text[start..].find("\")").map_or(text.len(), |e| start + e + 2);
            *group = format!("{}{}", &text[..start], &text[end..]).into();
        }
    }
    v
}

#[tokio::test]
async fn the_printed_policy_is_enough_for_apply_and_rollback_and_one_action_less_is_refused_at_plan() {
    let moto = PrivateMoto::start();
    let cases: [(&str, &[&str], &str); 3] = [
        ("parallel-keep-name", &[], "ecs:CreateService"),
        ("recreate", &[], "iam:CreateRole"),
        ("parallel", &["--new-service-name", "web-bg"], "codedeploy:CreateDeploymentGroup"),
    ];
    for (cutover, extra, removed) in cases {
        let (account, aws, f) = seeded(&moto).await;
        let args: Vec<&str> = [ARGS, &["--cutover", cutover], extra].concat();
        printed_policy_is_enough(&moto, &account, &aws, &f, cutover, &args, removed).await;
    }
}

/// Rolling → ECS-native in place: the infrastructure role created and passed to ECS, the
/// service's load balancer and strategy updated; and undone.
#[tokio::test]
async fn the_printed_policy_is_enough_for_the_ecs_native_target() {
    let moto = PrivateMoto::start();
    let (account, aws, f) = seeded(&moto).await;
    let args = ["--cluster", "prod", "--service", "web", "--target", "ecs-native", "--test-listener-port", "8080"];
    printed_policy_is_enough(&moto, &account, &aws, &f, "rolling → ecs-native", &args, "ecs:UpdateService").await;
}

/// ECS-native → rolling in place (the way back), from a service the library moved to
/// ECS-native first with enforcement off.
#[tokio::test]
async fn the_printed_policy_is_enough_for_the_way_back_to_rolling() {
    let moto = PrivateMoto::start();
    let (account, aws, f) = seeded(&moto).await;
    let native = Migration::for_service(&f.cluster_name, &f.service_name).unwrap().target(Target::EcsNative).build();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    native.plan(&aws).await.unwrap().apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap();
    let args = ["--cluster", "prod", "--service", "web", "--target", "rolling"];
    printed_policy_is_enough(&moto, &account, &aws, &f, "ecs-native → rolling", &args, "ecs:UpdateService").await;
}

/// A service the library moved to CodeDeploy (enforcement off): the fixture's account, then.
async fn seeded_on_codedeploy(moto: &PrivateMoto) -> (String, AwsClients, Fixture) {
    let (account, aws, f) = seeded(moto).await;
    let codedeploy = Migration::for_service(&f.cluster_name, &f.service_name).unwrap().test_listener_port(Port::new(8080).unwrap()).build();
    let opts = ApplyOptions::new().service_wait(WaitPolicy::FAST).iam_propagation(WaitPolicy::FAST);
    codedeploy.plan(&aws).await.unwrap().apply(&aws, &InMemoryJournal::new(), &opts).await.unwrap();
    (account, aws, f)
}

const ONWARD: &[&str] = &["--cluster", "prod", "--service", "web", "--target", "ecs-native"];

/// CodeDeploy → ECS-native (onward, in place): the deployment group found among the account's
/// applications, the controller switched, the group and application deleted; and undone (the
/// service and group recreated under their names, with new identifiers). The production
/// listener is compared by `rollback_onward_from_codedeploy_restores_the_production_listener`.
#[tokio::test]
async fn the_printed_policy_is_enough_onward_from_codedeploy_to_ecs_native() {
    let moto = PrivateMoto::start();
    let (account, aws, f) = seeded_on_codedeploy(&moto).await;
    let label = "CodeDeploy → ecs-native";
    let (before, after) = refused_then_applied_and_rolled_back(&moto, &account, &aws, &f, label, ONWARD, "ecs:UpdateService").await;
    let (mut before, mut after) = (comparable_recreated(before), comparable_recreated(after));
    for v in [&mut before, &mut after] {
        v.as_object_mut().unwrap().remove("listeners");
    }
    assert_same(&before, &after, &format!("{label}: after the refused plan, apply and rollback"));
}

/// The switch to ECS runs a BLUE_GREEN deployment that swings the production listener to the
/// green group; the undo recreates the service on CODE_DEPLOY on the blue group and puts the
/// listener's actions back, under the printed policy.
#[tokio::test]
async fn rollback_onward_from_codedeploy_restores_the_production_listener() {
    let moto = PrivateMoto::start();
    let (account, aws, f) = seeded_on_codedeploy(&moto).await;
    let (before, after) = refused_then_applied_and_rolled_back(&moto, &account, &aws, &f, "onward", ONWARD, "ecs:UpdateService").await;
    assert_eq!(before["listeners"], after["listeners"], "the production listener after the rollback");
}

/// A fleet through `--spec`: `plan` and `apply` preflight every service. A user holding each
/// service's printed policy less one action is refused at `plan --spec` (exit 2), every
/// service's denial listed, nothing changed; `--skip-preflight` plans without the check; a user
/// holding the printed policies applies and rolls the fleet back.
#[tokio::test]
async fn a_fleet_is_preflighted_service_by_service() {
    use common::fixture::seed_extra_service;
    const SPEC: &str = r#"[defaults]
cluster = "prod"
target = "codedeploy"
cutover = "parallel-keep-name"

[[service]]
name = "web"
test_listener_port = 8080

[[service]]
name = "cart"
test_listener_port = 8080
"#;
    let moto = PrivateMoto::start();
    let (account, aws, f) = seeded(&moto).await;
    let cart_lb = seed_extra_service(&aws, &f, "cart", None, 80).await;
    let dir = std::env::temp_dir().join(format!("ebg-permissions-fleet-{account}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("fleet.toml"), SPEC).unwrap();
    let run = |args: &[&str], key: &(String, String)| {
        let env = [("AWS_ACCESS_KEY_ID", key.0.as_str()), ("AWS_SECRET_ACCESS_KEY", key.1.as_str())];
        migrate_env_at(&moto.endpoint, &account, &dir, args, &env)
    };
    let root = ("test".to_owned(), "test".to_owned());
    let removed = "ecs:CreateService";

    // Each service's policy, printed per service with the spec's settings as flags.
    let mut policies = Vec::new();
    for service in ["web", "cart"] {
        let flags = ["permissions", "--output", "json", "--cluster", "prod", "--service", service];
        let printed = run(&[&flags[..], &["--test-listener-port", "8080", "--cutover", "parallel-keep-name"]].concat(), &root);
        assert!(printed.status.success(), "{service}: {}", text(&printed.stderr));
        policies.push(text(&printed.stdout));
    }
    let deployer = user_with_all(&aws, "deployer", &policies).await;
    let short = user_with_all(&aws, "short", &policies.iter().map(|p| without(p, removed)).collect::<Vec<_>>()).await;
    let snapshots = async || {
        (
            snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await,
            snapshot(&aws, &f.cluster_name, &cart_lb, &f.pipeline_name).await,
        )
    };
    let before = snapshots().await;

    moto.enforce_iam();
    let spec = ["--spec", "fleet.toml"];
    let plan = run(&[&["plan"][..], &spec].concat(), &short);
    let stderr = text(&plan.stderr);
    assert_eq!(plan.status.code(), Some(2), "{stderr}\n{}", text(&plan.stdout));
    for service in ["web", "cart"] {
        assert!(stderr.contains(&format!("prod/{service}:")), "{service} listed:\n{stderr}");
        let named = stderr.lines().any(|l| l.contains(removed) && l.contains(&format!(":service/prod/{service} ")));
        assert!(named, "{service}'s {removed} named with its ARN:\n{stderr}");
    }
    assert!(stderr.contains(removed) && stderr.contains("user/short"), "{stderr}");
    let applied = run(&[&["apply", "--yes"][..], &spec].concat(), &short);
    assert_eq!(applied.status.code(), Some(2), "apply is preflighted too: {}", text(&applied.stderr));

    let unchecked = run(&[&["plan", "--skip-preflight"][..], &spec].concat(), &short);
    assert!(unchecked.status.success(), "--skip-preflight plans without the check: {}", text(&unchecked.stderr));

    let applied = run(&[&["apply", "--yes"][..], &spec].concat(), &deployer);
    assert!(applied.status.success(), "apply --spec as deployer: {}\n{}", text(&applied.stderr), text(&applied.stdout));
    let rolled = run(&[&["rollback", "--yes"][..], &spec].concat(), &deployer);
    assert!(rolled.status.success(), "rollback --spec as deployer: {}\n{}", text(&rolled.stderr), text(&rolled.stdout));

    moto.stop_enforcing();
    let after = snapshots().await;
    assert_same(&before.0, &after.0, "web-alb: after the refused plans, apply and rollback");
    assert_same(&before.1, &after.1, "cart-alb: after the refused plans, apply and rollback");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An IAM user of `account` holding each of `documents` (one managed policy each); its key.
async fn user_with_all(aws: &AwsClients, name: &str, documents: &[String]) -> (String, String) {
    aws.iam.create_user().user_name(name).send().await.unwrap();
    for (i, document) in documents.iter().enumerate() {
        let policy = aws.iam.create_policy().policy_name(format!("{name}-policy-{i}")).policy_document(document).send().await.unwrap();
        let arn = policy.policy().and_then(|p| p.arn()).unwrap().to_owned();
        aws.iam.attach_user_policy().user_name(name).policy_arn(arn).send().await.unwrap();
    }
    let key = aws.iam.create_access_key().user_name(name).send().await.unwrap();
    let key = key.access_key().unwrap();
    (key.access_key_id().to_owned(), key.secret_access_key().to_owned())
}
