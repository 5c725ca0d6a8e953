//! Fleets through the CLI on moto: three services of one cluster behind two load balancers,
//! migrated from one spec file (`--spec`), each end state read back; one service's mutation
//! denied under each `--on-failure` policy; `rollback --spec` undoes the fleet; `resume --spec`
//! finishes a fleet stopped midway, whose unfinished journals refuse a new plan or apply (exit 2);
//! spec-file errors exit 2 naming the line.

use crate::common;

use std::path::PathBuf;

use common::cli::{migrate_env, migrate_with, text};
use common::fixture::{Fixture, seed_extra_service, seed_rolling_account};
use common::snapshot::{assert_same, snapshot};
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::AwsClients;

const SERVICES: [&str; 3] = ["web", "cart", "search"];

const SPEC: &str = r#"[defaults]
cluster = "prod"
target = "codedeploy"
cutover = "parallel-keep-name"
deployment_config = "CodeDeployDefault.ECSAllAtOnce"
termination_wait_minutes = 5

[[service]]
name = "web"
test_listener_port = 8080
pipeline = "web-pipeline"

[[service]]
name = "cart"
test_listener_port = 8080

[[service]]
name = "search"
test_listener_port = 9090
"#;

struct Setup {
    account: String,
    aws: AwsClients,
    f: Fixture,
    cart_lb: String,
    dir: PathBuf,
}

/// `web` behind `web-alb`; `cart` (:80) and `search` (:81) behind `cart-alb`.
async fn setup() -> Setup {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let cart_lb = seed_extra_service(&aws, &f, "cart", None, 80).await;
    seed_extra_service(&aws, &f, "search", Some(&cart_lb), 81).await;
    let dir = std::env::temp_dir().join(format!("ebg-fleet-{account}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("fleet.toml"), SPEC).unwrap();
    Setup { account, aws, f, cart_lb, dir }
}

impl Setup {
    async fn snapshot(&self) -> (serde_json::Value, serde_json::Value) {
        (
            snapshot(&self.aws, &self.f.cluster_name, &self.f.load_balancer_arn, &self.f.pipeline_name).await,
            snapshot(&self.aws, &self.f.cluster_name, &self.cart_lb, &self.f.pipeline_name).await,
        )
    }

    /// Each service's deployment controller, as DescribeServices reports the ACTIVE one.
    async fn controllers(&self) -> Vec<(String, String)> {
        let out = self.aws.ecs.describe_services().cluster("prod").set_services(Some(SERVICES.map(String::from).to_vec())).send().await.unwrap();
        let mut found: Vec<_> = out
            .services()
            .iter()
            .filter(|s| s.status() == Some("ACTIVE"))
            .map(|s| {
                let controller = s.deployment_controller().map_or("ECS".to_owned(), |c| c.r#type().as_str().to_owned());
                (s.service_name().unwrap_or_default().to_owned(), controller)
            })
            .collect();
        found.sort_by_key(|(n, _)| SERVICES.iter().position(|s| s == n));
        found
    }

    fn migrate(&self, args: &[&str]) -> std::process::Output {
        migrate_with(&self.account, &self.dir, args, None)
    }
}

fn controllers(list: [(&str, &str); 3]) -> Vec<(String, String)> {
    list.iter().map(|(n, c)| ((*n).to_owned(), (*c).to_owned())).collect()
}

#[tokio::test]
async fn a_fleet_is_planned_applied_and_rolled_back_from_one_spec_file() {
    let s = setup().await;
    let before = s.snapshot().await;

    // The JSON form of the same spec plans the same, with no mutating call.
    let json = serde_json::json!({
        "defaults": { "cluster": "prod", "termination_wait_minutes": 5 },
        "service": [
            { "name": "web", "test_listener_port": 8080, "pipeline": "web-pipeline" },
            { "name": "cart", "test_listener_port": 8080 },
            { "name": "search", "test_listener_port": 9090 }
        ]
    });
    std::fs::write(s.dir.join("fleet.json"), serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let plan = s.migrate(&["plan", "--spec", "fleet.json", "--stats"]);
    assert!(plan.status.success(), "{}", text(&plan.stderr));
    let stdout = text(&plan.stdout);
    for service in SERVICES {
        assert!(stdout.contains(&format!("== prod/{service}\n")), "plan lacks {service}:\n{stdout}");
    }
    assert!(stdout.contains("+ create test listener HTTP:9090 -> search-tg-green"), "{stdout}");
    assert!(text(&plan.stderr).contains("(0 mutating)"), "plan changed something:\n{}", text(&plan.stderr));
    assert_same(&before.0, &s.snapshot().await.0, "after plan");

    let apply = s.migrate(&["apply", "--spec", "fleet.toml", "--yes", "--concurrency", "2"]);
    assert_eq!(apply.status.code(), Some(0), "{}\n{}", text(&apply.stdout), text(&apply.stderr));
    let table = text(&apply.stdout);
    for service in SERVICES {
        let row = table.lines().find(|l| l.starts_with(&format!("prod/{service} "))).unwrap_or_else(|| panic!("no row for {service}:\n{table}"));
        assert!(row.contains("applied"), "{row}");
    }
    assert!(text(&apply.stderr).contains("[prod/cart] ==> "), "progress lines name their service:\n{}", text(&apply.stderr));
    // Not a terminal: plain progress lines, each naming its service, from its start to its end.
    let progress = text(&apply.stderr);
    for service in SERVICES {
        let lines: Vec<&str> = progress.lines().filter(|l| l.starts_with(&format!("[prod/{service}] "))).collect();
        assert_eq!(lines.first(), Some(&format!("[prod/{service}] started").as_str()), "{service}:\n{progress}");
        let last = lines.last().copied().unwrap_or_default();
        assert!(last.starts_with(&format!("[prod/{service}] finished: applied in ")) && last.ends_with('s'), "{service}:\n{progress}");
        assert!(lines.iter().any(|l| l.contains("waiting for")), "{service}'s waits show:\n{progress}");
        assert_eq!(lines.iter().filter(|l| l.contains("finished:")).count(), 1, "{progress}");
    }
    assert!(!progress.contains('\r') && !progress.contains('\u{1b}'), "no terminal control codes off a terminal:\n{progress}");
    assert_eq!(s.controllers().await, controllers([("web", "CODE_DEPLOY"), ("cart", "CODE_DEPLOY"), ("search", "CODE_DEPLOY")]));
    // The spec's termination wait reached every deployment group.
    for (app, group) in [("prod-web", "web-bluegreen"), ("prod-cart", "cart-bluegreen"), ("prod-search", "search-bluegreen")] {
        let dg = s.aws.codedeploy.get_deployment_group().application_name(app).deployment_group_name(group).send().await.unwrap();
        let wait = dg.deployment_group_info().and_then(|i| i.blue_green_deployment_configuration()).and_then(|b| b.terminate_blue_instances_on_deployment_success()).map(|t| t.termination_wait_time_in_minutes());
        assert_eq!(wait, Some(5), "{app}/{group}");
    }
    for service in SERVICES {
        assert!(s.dir.join(format!(".ecs-bluegreen/prod-{service}.journal.json")).exists(), "{service}'s journal");
    }

    let status = s.migrate(&["status", "--spec", "fleet.toml"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    assert_eq!(text(&status.stdout).matches("Applied").count(), 3, "{}", text(&status.stdout));

    let rollback = s.migrate(&["rollback", "--spec", "fleet.toml", "--yes", "--output", "json"]);
    assert_eq!(rollback.status.code(), Some(0), "{}", text(&rollback.stderr));
    let report: serde_json::Value = serde_json::from_slice(&rollback.stdout).unwrap();
    let outcomes: Vec<_> = report["services"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap().to_owned()).collect();
    assert_eq!(outcomes, ["rolled-back"; 3], "{report}");
    for service in SERVICES {
        let done = format!("[prod/{service}] finished: rolled back in ");
        assert!(text(&rollback.stderr).contains(&done), "{done:?}:\n{}", text(&rollback.stderr));
    }
    let after = s.snapshot().await;
    assert_same(&before.0, &after.0, "web-alb side after rollback --spec");
    assert_same(&before.1, &after.1, "cart-alb side after rollback --spec");
}

/// Applies the spec with `cart`'s second mutating call denied, one service at a time.
fn apply_with_cart_denied(s: &Setup, policy: &str) -> std::process::Output {
    migrate_env(
        &s.account,
        &s.dir,
        &["apply", "--spec", "fleet.toml", "--yes", "--concurrency", "1", "--on-failure", policy],
        &[("ECS_BLUEGREEN_FAIL_SERVICE", "cart"), ("ECS_BLUEGREEN_FAIL_MUTATIONS", "2")],
    )
}

fn row<'a>(table: &'a str, service: &str) -> &'a str {
    table.lines().find(|l| l.starts_with(&format!("prod/{service} "))).unwrap_or_else(|| panic!("no row for {service}:\n{table}"))
}

#[tokio::test]
async fn continue_migrates_the_others_while_the_denied_service_rolls_back() {
    let s = setup().await;
    let out = apply_with_cart_denied(&s, "continue");
    let table = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{table}\n{}", text(&out.stderr));
    assert!(row(&table, "cart").contains("failed, rolled back"), "{table}");
    assert!(row(&table, "web").contains("applied") && row(&table, "search").contains("applied"), "{table}");
    assert_eq!(s.controllers().await, controllers([("web", "CODE_DEPLOY"), ("cart", "ECS"), ("search", "CODE_DEPLOY")]));
}

#[tokio::test]
async fn stop_starts_no_service_after_the_denied_one() {
    let s = setup().await;
    let out = apply_with_cart_denied(&s, "stop");
    let table = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{table}\n{}", text(&out.stderr));
    assert!(row(&table, "web").contains("applied"), "{table}");
    assert!(row(&table, "cart").contains("failed, rolled back"), "{table}");
    assert!(row(&table, "search").contains("not started"), "{table}");
    assert_eq!(s.controllers().await, controllers([("web", "CODE_DEPLOY"), ("cart", "ECS"), ("search", "ECS")]));
}

#[tokio::test]
async fn rollback_all_leaves_the_account_as_it_was() {
    let s = setup().await;
    let before = s.snapshot().await;
    let out = apply_with_cart_denied(&s, "rollback-all");
    let table = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{table}\n{}", text(&out.stderr));
    assert!(row(&table, "web").contains("rolled back"), "{table}");
    assert!(row(&table, "cart").contains("failed, rolled back"), "{table}");
    let after = s.snapshot().await;
    assert_same(&before.0, &after.0, "web-alb side after rollback-all");
    assert_same(&before.1, &after.1, "cart-alb side after rollback-all");
}

#[tokio::test]
async fn spec_file_errors_exit_2_naming_the_line_and_change_nothing() {
    let s = setup().await;
    let before = s.snapshot().await;
    let cases: &[(&str, &str, &str)] = &[
        ("unknown.toml", "[defaults]\ncluster = \"prod\"\n[[service]]\nname = \"web\"\ntest_port = 8080\n", "unknown.toml:5: key `test_port`"),
        ("twice.toml", "[defaults]\ncluster = \"prod\"\n[[service]]\nname = \"web\"\n[[service]]\nname = \"web\"\n", "twice.toml:6: key `name`"),
        ("port.toml", "[defaults]\ncluster = \"prod\"\n[[service]]\nname = \"web\"\ntest_listener_port = 0\n", "port.toml:5: key `test_listener_port`"),
        ("enum.toml", "[defaults]\ncluster = \"prod\"\ncutover = \"sideways\"\n[[service]]\nname = \"web\"\n", "enum.toml:3: key `cutover`"),
        ("nocluster.toml", "[[service]]\nname = \"web\"\n", "nocluster.toml:2: key `cluster`"),
        ("bad.json", "{\"defaults\": {\"cluster\": \"prod\"},\n \"service\": [{\"name\": \"web\",\n \"colour\": \"blue\"}]}", "bad.json:3: key `colour`"),
    ];
    for (file, content, needle) in cases {
        std::fs::write(s.dir.join(file), content).unwrap();
        let out = s.migrate(&["apply", "--yes", "--spec", file]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(needle), "{file}: stderr lacks {needle:?}: {}", text(&out.stderr));
    }
    // A refused plan anywhere in the fleet: exit 2, every refusal listed, nothing changed.
    std::fs::write(s.dir.join("refused.toml"), "[defaults]\ncluster = \"prod\"\n[[service]]\nname = \"web\"\n[[service]]\nname = \"ghost\"\n[[service]]\nname = \"cart\"\ntest_listener_port = 80\n").unwrap();
    let out = s.migrate(&["apply", "--yes", "--spec", "refused.toml"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("prod/ghost:") && stderr.contains("prod/cart:") && !stderr.contains("prod/web:"), "{stderr}");
    let after = s.snapshot().await;
    assert_same(&before.0, &after.0, "after refused specs");
    assert_same(&before.1, &after.1, "after refused specs");
}

#[tokio::test]
async fn resume_spec_finishes_a_fleet_stopped_by_sigterm() {
    use std::io::BufRead;
    let s = setup().await;
    let mut child = common::cli::migrate_command(&s.account, &s.dir, &["apply", "--spec", "fleet.toml", "--yes", "--concurrency", "3"])
        .env("ECS_BLUEGREEN_SLOW_MUTATIONS", "500")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !seen.contains("[prod/cart] ==> service-cutover") {
        assert!(std::time::Instant::now() < deadline, "no cutover progress:\n{seen}");
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "apply ended before cart's cutover:\n{seen}");
        seen.push_str(&line);
    }
    assert!(std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{seen}{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("LEFT OVER"), "the table says the stopped runs are unfinished:\n{}", text(&out.stdout));

    let status = s.migrate(&["status", "--spec", "fleet.toml"]);
    assert_eq!(status.status.code(), Some(4), "{}", text(&status.stdout));
    assert!(text(&status.stdout).contains("prod/cart: journal") && text(&status.stdout).contains("Unfinished"), "{}", text(&status.stdout));

    // The unfinished runs refuse the fleet when it is planned: exit 2, the stopped services
    // listed with the way out, nothing changed.
    let before = s.snapshot().await;
    for command in ["plan", "apply"] {
        let out = s.migrate(&[command, "--spec", "fleet.toml", "--yes"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(stderr.contains("prod/cart:") && stderr.contains("did not finish") && stderr.contains("resume --spec"), "{command}: {stderr}");
    }
    {
        // A journal another process holds refuses its service with the others.
        let _held = ecs_bluegreen::FileJournal::open(s.dir.join(".ecs-bluegreen/prod-web.journal.json")).unwrap();
        let out = s.migrate(&["apply", "--spec", "fleet.toml", "--yes"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("prod/web:") && stderr.contains("is locked"), "{stderr}");
        assert!(stderr.contains("prod/cart:") && stderr.contains("did not finish"), "{stderr}");
    }
    let after = s.snapshot().await;
    assert_same(&before.0, &after.0, "web-alb side after the refused plan and apply");
    assert_same(&before.1, &after.1, "cart-alb side after the refused plan and apply");

    let resume = s.migrate(&["resume", "--spec", "fleet.toml"]);
    assert_eq!(resume.status.code(), Some(0), "{}\n{}", text(&resume.stdout), text(&resume.stderr));
    assert_eq!(s.controllers().await, controllers([("web", "CODE_DEPLOY"), ("cart", "CODE_DEPLOY"), ("search", "CODE_DEPLOY")]));
    let status = s.migrate(&["status", "--spec", "fleet.toml"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stdout));
}

#[tokio::test]
async fn the_single_service_flags_reach_the_account() {
    let s = setup().await;
    let args = [
        "apply", "--yes", "--cluster", "prod", "--service", "cart", "--test-listener-port", "8080", "--termination-wait", "7",
        "--green-target-group", "cart-blue2", "--application", "AppECS-prod-cart", "--deployment-group", "DgpECS-prod-cart",
        "--role-name", "cart-codedeploy",
    ];
    let out = s.migrate(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dg = s.aws.codedeploy.get_deployment_group().application_name("AppECS-prod-cart").deployment_group_name("DgpECS-prod-cart").send().await.unwrap();
    let info = dg.deployment_group_info().unwrap();
    let wait = info.blue_green_deployment_configuration().and_then(|b| b.terminate_blue_instances_on_deployment_success()).map(|t| t.termination_wait_time_in_minutes());
    assert_eq!(wait, Some(7));
    assert!(info.service_role_arn().unwrap().ends_with(":role/cart-codedeploy"), "{:?}", info.service_role_arn());
    let tgs = s.aws.elbv2.describe_target_groups().names("cart-blue2").send().await.unwrap();
    assert_eq!(tgs.target_groups().len(), 1);
    // A bad value of a new flag: exit 2 before any change.
    let bad = s.migrate(&["plan", "--cluster", "prod", "--service", "web", "--termination-wait", "9999"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(text(&bad.stderr).contains("termination wait"), "{}", text(&bad.stderr));
}
