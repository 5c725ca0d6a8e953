//! Run safety of the reference CLI on moto: a rollback keeps what an operator changed on the
//! migrated service after apply (desired count) and is refused (exit 2, nothing changed) while
//! a CodeDeploy deployment is in flight unless `--force`; SIGTERM during apply stops it cleanly
//! (exit 143) with the resume/rollback commands, `verify` then advises them (not apply), and the
//! printed rollback restores the account.
//! Run: `cargo test --test moto rollback_cli::` (needs `cargo build --examples`).

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::cli::{migrate_command, migrate_with, text};
use common::fixture::seed_rolling_account;
use common::snapshot::{assert_same, snapshot};
use common::{fresh_account, moto_clients, moto_endpoint};

const ARGS: &[&str] = &["--cluster", "prod", "--service", "web", "--pipeline", "web-pipeline", "--test-listener-port", "8080"];

async fn setup() -> (String, ecs_bluegreen::AwsClients, common::fixture::Fixture, PathBuf) {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let dir = std::env::temp_dir().join(format!("ebg-rollback-cli-{account}"));
    std::fs::create_dir_all(&dir).unwrap();
    (account, aws, f, dir)
}

#[tokio::test]
async fn rollback_keeps_the_desired_count_an_operator_set_after_apply() {
    let (account, aws, f, dir) = setup().await;
    let snap = || snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name);
    let mut before = snap().await;
    let applied = migrate_with(&account, &dir, &[&["apply", "--yes"], ARGS].concat(), None);
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    aws.ecs.update_service().cluster("prod").service("web").desired_count(6).send().await.unwrap();

    let rb = migrate_with(&account, &dir, &["rollback", "--cluster", "prod", "--service", "web"], None);
    let stdout = text(&rb.stdout);
    assert_eq!(rb.status.code(), Some(0), "{}\n{stdout}", text(&rb.stderr));
    assert!(stdout.contains("desired count 2 -> 6 (kept by the restored service)"), "the plan shows the drift:\n{stdout}");
    assert!(stdout.find("<- undo").unwrap() < stdout.find("rollback: rolled back").unwrap(), "the plan comes first:\n{stdout}");
    let web = ecs_bluegreen::discover::describe_service(&aws, "prod", "web").await.unwrap().unwrap();
    assert_eq!((web.deployment_controller.as_str(), web.desired_count), ("ECS", 6));
    // Everything else is as before apply.
    before["services"]["web"]["desired_count"] = 6.into();
    before["services"]["web"]["running_count"] = 6.into();
    assert_same(&before, &snap().await, "after a rollback of a scaled service");
    let _ = std::fs::remove_dir_all(&dir);
}

/// moto's deployments stay `Created`: deploy-check leaves one in flight.
#[tokio::test]
async fn rollback_is_refused_while_a_deployment_is_in_flight_and_force_goes_ahead() {
    let (account, aws, f, dir) = setup().await;
    let snap = || snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name);
    let before = snap().await;
    let applied = migrate_with(&account, &dir, &[&["apply", "--yes"], ARGS].concat(), None);
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    let check = migrate_with(&account, &dir, &[&["deploy-check", "--deadline", "1"], ARGS].concat(), None);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check.stderr));
    let listed = aws.codedeploy.list_deployments().application_name("prod-web").deployment_group_name("web-bluegreen").send().await.unwrap();
    let [id] = listed.deployments() else { panic!("expected one deployment: {listed:?}") };
    let migrated = snap().await;
    let journal = dir.join(".ecs-bluegreen/prod-web.journal.json");
    let journal_before = std::fs::read(&journal).unwrap();

    let refused = migrate_with(&account, &dir, &["rollback", "--cluster", "prod", "--service", "web"], None);
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(id.as_str()) && stderr.contains("--force"), "{stderr}");
    assert_same(&migrated, &snap().await, "after a refused rollback");
    assert_eq!(std::fs::read(&journal).unwrap(), journal_before, "a refused rollback wrote to the journal");

    let forced = migrate_with(&account, &dir, &["rollback", "--force", "--cluster", "prod", "--service", "web"], None);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    assert_same(&before, &snap().await, "after a forced rollback");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn sigterm_during_apply_exits_143_with_the_commands_and_the_printed_rollback_restores_the_account() {
    let (account, aws, f, dir) = setup().await;
    let snap = || snapshot(&aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name);
    let before = snap().await;
    let mut child = migrate_command(&account, &dir, &[&["apply", "--yes"], ARGS].concat())
        .env("ECS_BLUEGREEN_SLOW_MUTATIONS", "700")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !seen.contains("==> service-cutover") {
        assert!(Instant::now() < deadline, "no cutover progress:\n{seen}");
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("apply ended before the cutover:\n{seen}");
        }
        seen.push_str(&line);
    }
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    seen.push_str(&rest);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{seen}");
    assert!(seen.contains("SIGTERM") && seen.contains("UNFINISHED"), "{seen}");
    assert!(!seen.contains("==> deployment-group"), "a step started after the signal:\n{seen}");
    let resume = seen.lines().find(|l| l.contains("migrate resume ")).unwrap_or_else(|| panic!("no resume command:\n{seen}"));
    assert!(resume.contains("--cluster prod --service web --journal "), "{resume}");
    let rollback = seen.lines().find(|l| l.contains("migrate rollback ")).unwrap_or_else(|| panic!("no rollback command:\n{seen}"));
    let args: Vec<&str> = rollback.split("migrate ").nth(1).unwrap().split_whitespace().collect();

    // verify on the half-migrated service advises resume/rollback with the journal, not apply.
    let verify = migrate_with(&account, &dir, &[&["verify"], ARGS].concat(), None);
    let report = text(&verify.stdout);
    assert_eq!(verify.status.code(), Some(1), "{report}{}", text(&verify.stderr));
    assert!(report.starts_with("[FAIL] run: the migration is half done"), "{report}");
    let flags = "--cluster prod --service web --journal .ecs-bluegreen/prod-web.journal.json";
    assert!(report.contains(&format!("migrate resume {flags}")) && report.contains(&format!("migrate rollback {flags}")), "{report}");
    assert!(!report.contains("`migrate apply`"), "verify still advises apply:\n{report}");

    let rb = migrate_with(&account, &dir, &args, None);
    assert_eq!(rb.status.code(), Some(0), "{args:?}: {}", text(&rb.stderr));
    assert_same(&before, &snap().await, "after the printed rollback");
    let _ = std::fs::remove_dir_all(&dir);
}
