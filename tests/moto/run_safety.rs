//! Run safety through the reference CLI on moto: a journal belongs to one account, region and
//! service (another's is refused with nothing changed); one run per service at a time (the run
//! lock, an SSM parameter); the lock is released after success, failure and rollback, and a
//! stale lock is broken only by its id.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use aws_sdk_ecs::types as ecs;
use aws_sdk_elasticloadbalancingv2::types as elb;
use common::cli::{example, migrate_with, text};
use common::fixture::{Fixture, seed_rolling_account};
use common::snapshot::{assert_same, snapshot};
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::AwsClients;

const WEB: &[&str] = &["--cluster", "prod", "--service", "web", "--pipeline", "web-pipeline", "--test-listener-port", "8080"];
const API: &[&str] = &["--cluster", "prod", "--service", "api", "--test-listener-port", "9090"];

fn migrate(account: &str, dir: &Path, args: &[&str]) -> Output {
    migrate_with(account, dir, args, None)
}

fn args<'a>(head: &[&'a str], journal: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    [head, &["--journal", journal], rest].concat()
}

async fn setup(tag: &str) -> (String, AwsClients, Fixture, PathBuf) {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let dir = std::env::temp_dir().join(format!("ebg-safety-{tag}-{account}"));
    std::fs::create_dir_all(&dir).unwrap();
    (account, aws, f, dir)
}

/// A second rolling service `api` in the same cluster, behind its own target group and a
/// listener on port 81 of the same load balancer, so that it plans cleanly.
async fn seed_api_service(aws: &AwsClients, f: &Fixture) {
    let tg = aws
        .elbv2
        .create_target_group()
        .name("api-tg")
        .protocol(elb::ProtocolEnum::Http)
        .port(80)
        .vpc_id(&f.vpc_id)
        .target_type(elb::TargetTypeEnum::Ip)
        .health_check_path("/health")
        .send()
        .await
        .unwrap();
    let tg_arn = tg.target_groups()[0].target_group_arn().unwrap().to_owned();
    aws.elbv2
        .create_listener()
        .load_balancer_arn(&f.load_balancer_arn)
        .protocol(elb::ProtocolEnum::Http)
        .port(81)
        .default_actions(elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(&tg_arn).build())
        .send()
        .await
        .unwrap();
    aws.ecs
        .create_service()
        .cluster(&f.cluster_name)
        .service_name("api")
        .task_definition(&f.task_definition_arn)
        .load_balancers(
            ecs::LoadBalancer::builder().target_group_arn(&tg_arn).container_name(&f.container_name).container_port(f.container_port).build(),
        )
        .desired_count(1)
        .launch_type(ecs::LaunchType::Fargate)
        .network_configuration(
            ecs::NetworkConfiguration::builder()
                .awsvpc_configuration(
                    ecs::AwsVpcConfiguration::builder()
                        .set_subnets(Some(f.subnet_ids.clone()))
                        .security_groups(&f.security_group_id)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
}

fn assert_refused(out: &Output, needles: &[&str], context: &str) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{context}: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{context}: stderr lacks {n:?}: {stderr}");
    }
    assert!(stderr.contains("nothing was changed"), "{context}: {stderr}");
}

#[tokio::test]
async fn a_journal_of_another_service_or_account_is_refused_with_nothing_changed() {
    let (account, aws, f, dir) = setup("identity").await;
    seed_api_service(&aws, &f).await;
    let snap = |aws: &AwsClients, f: &Fixture| {
        let (aws, f) = (aws.clone(), f.clone());
        async move { snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await }
    };
    let before = snap(&aws, &f).await;
    let journal = dir.join("web.journal.json");
    let j = journal.to_str().unwrap();
    let out = migrate(&account, &dir, &args(&["apply", "--yes"], j, WEB));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let migrated = snap(&aws, &f).await;
    let journal_bytes = std::fs::read(&journal).unwrap();

    // Same account, another service: rollback, resume and apply all refuse.
    let api = ["--cluster", "prod", "--service", "api"];
    for verb in ["rollback", "resume"] {
        let out = migrate(&account, &dir, &args(&[verb], j, &api));
        assert_refused(&out, &["service prod/web", "prod/api"], verb);
    }
    let out = migrate(&account, &dir, &args(&["apply", "--yes"], j, API));
    assert_refused(&out, &["one journal records one migration", "service prod/web", "prod/api"], "apply api");
    assert_same(&migrated, &snap(&aws, &f).await, "after the refusals in the journal's account");
    assert_eq!(std::fs::read(&journal).unwrap(), journal_bytes, "the journal is untouched");

    // Another account (same names): the journal is refused there too, naming both accounts.
    let other = fresh_account();
    let other_aws = moto_clients(&other);
    let of = seed_rolling_account(&other_aws, &moto_endpoint(), &other).await;
    let other_before = snap(&other_aws, &of).await;
    for verb in ["rollback", "resume"] {
        let out = migrate(&other, &dir, &args(&[verb], j, &["--cluster", "prod", "--service", "web"]));
        assert_refused(&out, &[&account, &other], &format!("{verb} in another account"));
        // Without --cluster/--service as well: the account alone decides.
        let out = migrate(&other, &dir, &["rollback", "--journal", j]);
        assert_refused(&out, &[&account, &other], "rollback in another account, journal only");
    }
    let out = migrate(&other, &dir, &args(&["apply", "--yes"], j, WEB));
    assert_refused(&out, &[&account, &other], "apply in another account");
    assert_same(&other_before, &snap(&other_aws, &of).await, "the other account");
    assert_eq!(std::fs::read(&journal).unwrap(), journal_bytes, "the journal is untouched");

    // In its own account and for its own service the journal still rolls back cleanly.
    let out = migrate(&account, &dir, &args(&["rollback"], j, &["--cluster", "prod", "--service", "web"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_same(&before, &snap(&aws, &f).await, "after the rollback");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn two_concurrent_applies_on_one_service_make_one_migration() {
    let (account, aws, f, dir) = setup("race").await;
    let before = snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await;
    // Two operators: two working directories, two journals, started within 100 ms.
    let spawn = |sub: &str| {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).unwrap();
        std::process::Command::new(example("migrate"))
            .args([&["apply", "--yes"], WEB].concat())
            .current_dir(&d)
            .env("AWS_ENDPOINT_URL", moto_endpoint())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env("MOTO_ACCOUNT_ID", &account)
            .env("ECS_BLUEGREEN_FAST_WAITS", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn("alice");
    std::thread::sleep(std::time::Duration::from_millis(50));
    let b = spawn("bob");
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.code(), b.status.code()];
    let (winner, loser, winner_dir) = match codes {
        [Some(0), Some(2)] => (&a, &b, "alice"),
        [Some(2), Some(0)] => (&b, &a, "bob"),
        _ => panic!("expected one success and one refusal, got {codes:?}\nA: {}\nB: {}", text(&a.stderr), text(&b.stderr)),
    };
    assert!(text(&winner.stdout).contains("applied"), "{}", text(&winner.stdout));
    let refusal = text(&loser.stderr);
    // Refused by the lock while the other runs (or, had it planned late, by the stale-plan check).
    assert!(
        refusal.contains("is locked by another run") && refusal.contains("migrate unlock") || refusal.contains("changed since"),
        "{refusal}"
    );
    // The account holds exactly one clean migration: every check passes, and a rollback with
    // the winner's journal gives back the account as it was (nothing the loser made is left).
    let verify = migrate(&account, &dir, &[&["verify"], WEB].concat());
    assert!(verify.status.success(), "{}{}", text(&verify.stdout), text(&verify.stderr));
    let journal = dir.join(winner_dir).join(".ecs-bluegreen/prod-web.journal.json");
    let rb = migrate(&account, &dir, &["rollback", "--journal", journal.to_str().unwrap()]);
    assert!(rb.status.success(), "{}", text(&rb.stderr));
    assert_same(&before, &snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await, "after the winner's rollback");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_lock_is_released_after_success_failure_and_rollback_and_a_stale_lock_is_broken_only_by_its_id() {
    let (account, aws, f, dir) = setup("lock").await;
    let snap = || snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name);
    let lock = "/ecs-bluegreen/lock/prod/web";
    let locked = || async { aws.ssm.get_parameter().name(lock).send().await.is_ok() };
    let before = snap().await;

    // Failure (the last mutating call, UpdatePipeline, fails): rolled back, lock released.
    let out = migrate_with(&account, &dir, &[&["apply", "--yes"], WEB].concat(), Some("12"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("run lock taken"), "{}", text(&out.stderr));
    assert!(!locked().await, "lock left after a failed apply");
    assert_same(&before, &snap().await, "after the failed apply");

    // Success, then rollback: released after each.
    let out = migrate(&account, &dir, &[&["apply", "--yes"], WEB].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!locked().await, "lock left after apply");
    let out = migrate(&account, &dir, &["rollback", "--cluster", "prod", "--service", "web"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!locked().await, "lock left after rollback");
    assert_same(&before, &snap().await, "after the rollback");

    // A stale lock of a run that died elsewhere: apply is refused naming it and how to break it.
    let stale = serde_json::json!({
        "lock_id": "0123456789abcdef", "run_id": "elsewhere", "operation": "apply",
        "holder": "arn:aws:iam::123456789012:user/alice (alice@laptop, pid 42)", "since_ms": 1_700_000_000_000u64,
    });
    aws.ssm
        .put_parameter()
        .name(lock)
        .value(stale.to_string())
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let locked_before = snap().await;
    let fresh_journal = dir.join("second.journal.json");
    let out = migrate(&account, &dir, &args(&["apply", "--yes"], fresh_journal.to_str().unwrap(), WEB));
    assert_refused(&out, &["alice@laptop", "--lock-id 0123456789abcdef", "migrate unlock"], "apply under a stale lock");
    assert_same(&locked_before, &snap().await, "after the refused apply");

    // Broken only by its id.
    let out = migrate(&account, &dir, &["unlock", "--cluster", "prod", "--service", "web", "--lock-id", "ffffffffffffffff"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("0123456789abcdef"), "{}", text(&out.stderr));
    assert!(locked().await, "a wrong id broke the lock");
    let out = migrate(&account, &dir, &["unlock", "--cluster", "prod", "--service", "web", "--lock-id", "0123456789abcdef"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("alice@laptop"), "{}", text(&out.stdout));
    assert!(!locked().await);
    assert_same(&before, &snap().await, "after unlock");

    // Then the service can be migrated again.
    let out = migrate(&account, &dir, &args(&["apply", "--yes"], fresh_journal.to_str().unwrap(), WEB));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!locked().await);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The answer of each mutating call of `apply` lost in turn (the call takes effect on moto,
/// the SDK sees a timeout and retries, meeting "already exists" for a create): every run
/// ends applied (and then rolls back to the start) or rolled back with nothing left over.
#[tokio::test]
async fn a_lost_answer_at_every_mutating_call_ends_applied_or_rolled_back_with_nothing_left() {
    let (account, aws, f, dir) = setup("lost").await;
    let snap = || snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name);
    let before = snap().await;
    // The 12 mutating calls of a clean apply that change the migrated resources (the run
    // lock's two SSM calls are not numbered; see tests/common/faults.rs).
    for n in 1..=12 {
        let journal = dir.join(format!("lost-{n}.journal.json"));
        let j = journal.to_str().unwrap();
        let n_text = n.to_string();
        let out = common::cli::migrate_env(&account, &dir, &args(&["apply", "--yes"], j, WEB), &[("ECS_BLUEGREEN_LOSE_ANSWERS", &n_text)]);
        let stderr = text(&out.stderr);
        match out.status.code() {
            Some(0) => {
                let verify = migrate(&account, &dir, &[&["verify"], WEB].concat());
                assert!(verify.status.success(), "answer {n} lost: applied but verify fails: {}", text(&verify.stdout));
                let rb = migrate(&account, &dir, &["rollback", "--journal", j]);
                assert!(rb.status.success(), "answer {n} lost: {}", text(&rb.stderr));
            }
            Some(1) => {}
            other => panic!("answer {n} lost: exit {other:?}: {stderr}"),
        }
        assert_same(&before, &snap().await, &format!("answer of mutating call {n} lost"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
