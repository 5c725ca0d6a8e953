//! The journal file through the reference CLI against moto: two processes on one journal file
//! never corrupt it; a journal that cannot be read or written is refused with exit 2 and
//! nothing changed; `status` exits 4 while a run is unfinished; `rollback`/`resume` without a
//! journal at the path exit 2 naming the path and what in the account carries the
//! migration's ownership tag, instead of claiming the account is as it was.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::cli::{example, migrate_with, text};
use common::fixture::{Fixture, seed_rolling_account};
use common::snapshot::{assert_same, snapshot};
use common::{fresh_account, moto_clients, moto_endpoint};
use ecs_bluegreen::txn::journal::{self, Entry, JournalStatus};

const ARGS: &[&str] = &["--cluster", "prod", "--service", "web", "--pipeline", "web-pipeline", "--test-listener-port", "8080"];

fn migrate(account: &str, dir: &Path, args: &[&str]) -> Output {
    migrate_with(account, dir, args, None)
}

async fn setup(tag: &str) -> (String, ecs_bluegreen::AwsClients, Fixture, PathBuf) {
    let account = fresh_account();
    let aws = moto_clients(&account);
    let f = seed_rolling_account(&aws, &moto_endpoint(), &account).await;
    let dir = std::env::temp_dir().join(format!("ebg-journal-cli-{tag}-{account}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    (account, aws, f, dir)
}

async fn snap(aws: &ecs_bluegreen::AwsClients, f: &Fixture) -> serde_json::Value {
    snapshot(aws, &f.cluster_name, &f.load_balancer_arn, &f.pipeline_name).await
}

/// The records of the journal file at `path`, parsed as the library writes them.
fn journal_records(path: &Path) -> Vec<journal::Record> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    serde_json::from_value(v["records"].clone()).unwrap()
}

/// `migrate apply --yes ARGS --journal JOURNAL` in `account`, started, not awaited.
fn spawn_apply(account: &str, dir: &Path, journal: &Path) -> std::process::Child {
    Command::new(example("migrate"))
        .args([&["apply", "--yes", "--journal", journal.to_str().unwrap()], ARGS].concat())
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL", moto_endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("MOTO_ACCOUNT_ID", account)
        .env("ECS_BLUEGREEN_FAST_WAITS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Two operators point `apply` at the same journal file at the same moment (here in two
/// accounts, so the run lock in the account cannot keep them apart): the file's own lock lets
/// one run and refuses the other before it changes anything; the journal describes exactly the
/// run that happened.
#[tokio::test]
async fn two_apply_processes_on_one_journal_file_one_runs_the_other_is_refused_and_the_journal_stays_valid() {
    let ((a, aws_a, fa, dir), (b, aws_b, fb, _)) = tokio::join!(setup("shared"), setup("shared-b"));
    let (before_a, before_b) = tokio::join!(snap(&aws_a, &fa), snap(&aws_b, &fb));
    let path = dir.join("shared.journal.json");

    let (pa, pb) = (spawn_apply(&a, &dir, &path), spawn_apply(&b, &dir, &path));
    let (oa, ob) = (pa.wait_with_output().unwrap(), pb.wait_with_output().unwrap());
    let codes = (oa.status.code(), ob.status.code());
    let (winner, loser, out_w, out_l) = match codes {
        (Some(0), Some(2)) => ((&a, &aws_a, &fa, &before_a), (&b, &aws_b, &fb, &before_b), &oa, &ob),
        (Some(2), Some(0)) => ((&b, &aws_b, &fb, &before_b), (&a, &aws_a, &fa, &before_a), &ob, &oa),
        _ => panic!(
            "expected one run (exit 0) and one refusal (exit 2), got {codes:?}\n--- a:\n{}\n--- b:\n{}",
            text(&oa.stderr),
            text(&ob.stderr)
        ),
    };
    let refusal = text(&out_l.stderr);
    assert!(
        refusal.contains(path.to_str().unwrap()) && refusal.contains("another run is using it"),
        "the refusal names the journal and why: {refusal}"
    );
    assert_same(loser.3, &snap(loser.1, loser.2).await, "the refused run changed nothing");
    let svc = ecs_bluegreen::discover::describe_service(winner.1, "prod", "web").await.unwrap().unwrap();
    assert_eq!(svc.deployment_controller, "CODE_DEPLOY", "the winner migrated: {}", text(&out_w.stderr));

    let records = journal_records(&path);
    assert_eq!(journal::status(&records), JournalStatus::Applied);
    let begins = records.iter().filter(|r| matches!(r.entry, Entry::Begin { .. })).count();
    assert_eq!(begins, 1, "one run recorded: {records:#?}");
    let info = journal::last_run_info(&records).expect("the run records its identity");
    assert_eq!(&info.identity.account_id, winner.0, "the journal describes the run that happened");
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64, "records are in sequence");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");

    // The journal rolls back the run it describes, cleanly.
    let rb = migrate(winner.0, &dir, &["rollback", "--journal", path.to_str().unwrap()]);
    assert_eq!(rb.status.code(), Some(0), "{}", text(&rb.stderr));
    assert_same(winner.3, &snap(winner.1, winner.2).await, "after rolling back the winner's run");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A journal that cannot be used (corrupt, empty, a directory, under a regular file) is refused
/// by apply, rollback and resume with exit 2 and the path, before any change.
#[tokio::test]
async fn an_unusable_journal_is_refused_with_exit_2_before_any_change() {
    let (account, aws, f, dir) = setup("unusable").await;
    let before = snap(&aws, &f).await;
    let corrupt = dir.join("corrupt.journal.json");
    std::fs::write(&corrupt, b"{not json").unwrap();
    let empty = dir.join("empty.journal.json");
    std::fs::write(&empty, b"").unwrap();
    let directory = dir.join("directory.journal.json");
    std::fs::create_dir_all(&directory).unwrap();
    // Root ignores permission bits: a regular file as the parent makes the path unwritable.
    let regular = dir.join("regular-file");
    std::fs::write(&regular, b"x").unwrap();
    let under_file = regular.join("web.journal.json");

    for path in [&corrupt, &empty, &directory, &under_file] {
        let p = path.to_str().unwrap();
        for args in [
            [&["apply", "--yes", "--journal", p], ARGS].concat(),
            [&["rollback", "--journal", p], ARGS].concat(),
            [&["resume", "--journal", p], ARGS].concat(),
        ] {
            let out = migrate(&account, &dir, &args);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(p), "{args:?}: the message names the journal: {stderr}");
        }
    }
    assert_same(&before, &snap(&aws, &f).await, "after refused journals");
    assert_eq!(std::fs::read(&corrupt).unwrap(), b"{not json", "the corrupt journal is left as it was");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `status` exits 0 when nothing is unfinished (no journal, applied, rolled back) and 4 while
/// a run is unfinished or a rollback left something behind.
#[tokio::test]
async fn status_exits_4_while_a_run_is_unfinished_and_0_otherwise() {
    let (account, _aws, _f, dir) = setup("status").await;
    let status = |journal: &Path| migrate(&account, &dir, &["status", "--journal", journal.to_str().unwrap()]);
    let path = dir.join("web.journal.json");

    let none = status(&path);
    assert_eq!(none.status.code(), Some(0), "no journal: {}", text(&none.stderr));
    assert!(!path.exists(), "status does not create the journal");

    let applied = migrate(&account, &dir, &[&["apply", "--yes", "--journal", path.to_str().unwrap()], ARGS].concat());
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    let ok = status(&path);
    assert_eq!(ok.status.code(), Some(0), "applied: {}", text(&ok.stdout));
    assert!(text(&ok.stdout).contains("applied"), "{}", text(&ok.stdout));

    // The same run, cut short after its third step (as a crash leaves it).
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let records = v["records"].as_array().unwrap().clone();
    let cut = records.iter().filter(|r| r["entry"] == "step-finished").nth(2).map(|r| r["seq"].as_u64().unwrap()).unwrap();
    v["records"] = serde_json::Value::Array(records.into_iter().take(cut as usize + 1).collect());
    let crashed = dir.join("crashed.journal.json");
    std::fs::write(&crashed, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    assert_eq!(journal::status(&journal_records(&crashed)), JournalStatus::Unfinished);
    let unfinished = status(&crashed);
    assert_eq!(unfinished.status.code(), Some(4), "unfinished: {}{}", text(&unfinished.stdout), text(&unfinished.stderr));
    assert!(text(&unfinished.stdout).contains("UNFINISHED"), "{}", text(&unfinished.stdout));
    let json = migrate(&account, &dir, &["status", "--output", "json", "--journal", crashed.to_str().unwrap()]);
    assert_eq!(json.status.code(), Some(4));
    let j: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(j["status"], "unfinished");

    let rb = migrate(&account, &dir, &["rollback", "--journal", path.to_str().unwrap()]);
    assert_eq!(rb.status.code(), Some(0), "{}", text(&rb.stderr));
    let rolled_back = status(&path);
    assert_eq!(rolled_back.status.code(), Some(0), "rolled back: {}", text(&rolled_back.stdout));

    // Fail UpdatePipeline and then the first undo: the rollback is incomplete.
    let incomplete = dir.join("incomplete.journal.json");
    let out = migrate_with(&account, &dir, &[&["apply", "--yes", "--journal", incomplete.to_str().unwrap()], ARGS].concat(), Some("12,13"));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let left = status(&incomplete);
    assert_eq!(left.status.code(), Some(4), "rollback incomplete: {}", text(&left.stdout));
    let rb = migrate(&account, &dir, &["rollback", "--journal", incomplete.to_str().unwrap()]);
    assert_eq!(rb.status.code(), Some(0), "{}", text(&rb.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rollback` and `resume` with no journal at the path (a typo, another working directory)
/// exit 2 naming the path and listing what in the account carries the migration's ownership
/// tag; they change nothing and never say the account is as it was.
#[tokio::test]
async fn rollback_and_resume_without_a_journal_exit_2_and_list_the_migrations_resources() {
    let (account, aws, f, dir) = setup("missing").await;

    // Nothing migrated yet: refused, and nothing owned is found.
    for cmd in ["rollback", "resume"] {
        let out = migrate(&account, &dir, &[&[cmd], ARGS].concat());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {stderr}");
        assert!(stderr.contains(".ecs-bluegreen/prod-web.journal.json"), "{cmd}: the path is named: {stderr}");
        assert!(stderr.contains("no resource carries"), "{cmd}: {stderr}");
        assert!(!text(&out.stdout).contains("as it was"), "{cmd}: {}", text(&out.stdout));
    }

    let journal = dir.join("real.journal.json");
    let applied = migrate(&account, &dir, &[&["apply", "--yes", "--journal", journal.to_str().unwrap()], ARGS].concat());
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied.stderr));
    let migrated = snap(&aws, &f).await;

    let typo = dir.join("typo.journal.json");
    for cmd in ["rollback", "resume"] {
        let out = migrate(&account, &dir, &[&[cmd, "--journal", typo.to_str().unwrap()], ARGS].concat());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {stderr}");
        assert!(stderr.contains(typo.to_str().unwrap()), "{cmd}: the path is named: {stderr}");
        for owned in ["web-tg-1-green", "prod-web-codedeploy", "CodeDeploy application prod-web", "prod-web/web-bluegreen"] {
            assert!(stderr.contains(owned), "{cmd}: {owned} is listed: {stderr}");
        }
        assert!(!text(&out.stdout).contains("as it was"), "{cmd}: {}", text(&out.stdout));
        assert!(!typo.exists(), "{cmd} created the missing journal");
    }
    // Without --cluster/--service the migration cannot be named; still refused with the path.
    let out = migrate(&account, &dir, &["rollback", "--journal", typo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(typo.to_str().unwrap()), "{}", text(&out.stderr));
    assert_same(&migrated, &snap(&aws, &f).await, "after rollback/resume without a journal");

    let rb = migrate(&account, &dir, &["rollback", "--journal", journal.to_str().unwrap()]);
    assert_eq!(rb.status.code(), Some(0), "{}", text(&rb.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}
