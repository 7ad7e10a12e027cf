//! Crash test of the durable runtime state: a child process adds runtime
//! entries and prints each one after the store acknowledged it; the parent
//! kills it with SIGKILL at a random moment, reopens the state directory and
//! checks that every acknowledged entry is back (and that the journal loads,
//! whatever byte the kill interrupted).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use mod_callscreen::numbers::NumberPlan;
use mod_callscreen::pattern::Pattern;
use mod_callscreen::runtime_lists::{RuntimeEntry, RuntimeList, RuntimeLists};
use mod_callscreen::state_store::StateStore;

const CHILD_ENV: &str = "CALLSCREEN_CRASH_CHILD_DIR";

/// The child's work; a no-op unless the parent started this test binary
/// with the directory in the environment.
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let runtime = RuntimeLists::new();
    let (store, _) =
        StateStore::open(Path::new(&dir), &runtime, 50, SystemTime::now()).expect("open state");
    let plan = NumberPlan::default();
    // A long note makes each record big, so a kill often lands mid-write.
    let note = "x".repeat(20_000);
    for i in 0u64.. {
        let number = format!("+86170{:08}", i);
        let entry = RuntimeEntry {
            list: RuntimeList::Block,
            pattern: Pattern::parse(&number, &plan).unwrap(),
            added: SystemTime::now(),
            expires: None,
            note: note.clone(),
        };
        store
            .add(&runtime, entry, SystemTime::now())
            .expect("append");
        // Unblock every fifth entry again, so compaction has work to do.
        if i % 5 == 4 {
            let p = Pattern::parse(&number, &plan).unwrap();
            store
                .remove(&runtime, RuntimeList::Block, &p, SystemTime::now())
                .expect("remove");
            println!("GONE {number}");
        } else {
            println!("ACK {number}");
        }
    }
}

fn random_below(n: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    (nanos ^ (u64::from(std::process::id()) << 7)).wrapping_mul(0x9E37_79B9_7F4A_7C15) % n
}

fn run_once(round: u32) {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("callscreen-crash-{}-{round}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start child");
    let stop_after = 20 + random_below(300);
    let mut acked = Vec::new();
    let mut gone = Vec::new();
    let reader = BufReader::new(child.stdout.take().unwrap());
    for line in reader.lines() {
        let Ok(line) = line else { break };
        if let Some(n) = line.strip_prefix("ACK ") {
            acked.push(n.to_string());
        } else if let Some(n) = line.strip_prefix("GONE ") {
            gone.push(n.to_string());
        }
        if (acked.len() + gone.len()) as u64 >= stop_after {
            break;
        }
    }
    // SIGKILL: no destructor, no flush, whatever the child was doing.
    child.kill().expect("kill child");
    let _ = child.wait();

    let runtime = RuntimeLists::new();
    let (_, report) = StateStore::open(&dir, &runtime, 50, SystemTime::now())
        .expect("the journal loads after a crash");
    let plan = NumberPlan::default();
    for n in &acked {
        let p = Pattern::parse(n, &plan).unwrap();
        assert!(
            runtime.get(RuntimeList::Block, &p).is_some(),
            "round {round}: acknowledged {n} lost after kill -9 ({} acked, torn: {:?})",
            acked.len(),
            report.torn
        );
    }
    for n in &gone {
        let p = Pattern::parse(n, &plan).unwrap();
        assert!(
            runtime.get(RuntimeList::Block, &p).is_none(),
            "round {round}: acknowledged removal of {n} undone"
        );
    }
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn everything_acknowledged_survives_kill_9() {
    for round in 0..3 {
        run_once(round);
        std::thread::sleep(Duration::from_millis(3));
    }
}
