//! Faults (issue 7): kill -9 during `survmc run`, `calibrate` and `merge`; output locations that
//! cannot be written (read-only, under a regular file, a full disk); damaged or missing shards.
//! Each runs the real binary. After a kill, `--resume` (or the same merge again) must give the
//! bytes of an uninterrupted run; a refusal must be clear (names the file), exit 1 or 2 as
//! `src/main.rs` documents (2 bad input, 1 I/O), never 101; nothing may be left half-written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_survmc");

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn survmc(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("the survmc binary runs")
}

fn spawn(args: &[&str]) -> Child {
    Command::new(BIN).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output, what: &str) {
    assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr(o));
}

/// Exit code `code`, the message names `names`, no panic.
fn assert_refused(o: &Output, code: i32, names: &[&str], what: &str) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{what}: {e}");
    assert!(!e.contains("panicked"), "{what}: {e}");
    for n in names {
        assert!(e.contains(n), "{what}: the message lacks {n:?}: {e}");
    }
}

/// Every regular file under `dir` (relative path -> bytes), except `provenance.json`; temporary
/// files (`.NAME.tmp-*`) are listed apart.
fn files(dir: &Path) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>, tmp: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                walk(root, &p, out, tmp);
            } else if rel.contains(".tmp-") {
                tmp.push(rel);
            } else if !rel.ends_with("provenance.json") {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let (mut out, mut tmp) = (BTreeMap::new(), Vec::new());
    walk(dir, dir, &mut out, &mut tmp);
    (out, tmp)
}

fn assert_same_files(a: &Path, b: &Path) {
    let (fa, _) = files(a);
    let (fb, tb) = files(b);
    assert_eq!(
        fa.keys().collect::<Vec<_>>(),
        fb.keys().collect::<Vec<_>>(),
        "{} vs {}",
        a.display(),
        b.display()
    );
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{name} differs between {} and {}", a.display(), b.display());
    }
    assert!(tb.is_empty(), "temporary files left in {}: {tb:?}", b.display());
}

fn n_blocks(out: &Path) -> usize {
    std::fs::read_dir(out.join("blocks")).map_or(0, |d| {
        d.filter(|e| {
            let n = e.as_ref().unwrap().file_name().to_string_lossy().into_owned();
            n.starts_with("block-") && n.ends_with(".json")
        })
        .count()
    })
}

/// Spawns `args`, waits until `ready()` (polling), then kills it with SIGKILL. Whether it was
/// still running at the kill.
fn kill_when(args: &[&str], ready: impl Fn() -> bool, limit: Duration) -> bool {
    let mut child = spawn(args);
    let start = Instant::now();
    while !ready() && start.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    running
}

const RUN_REPS: &str = "3000";
const RUN_BLOCK: &str = "25"; // 120 blocks

fn run_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let sc = Box::leak(scenario("textbook_exponential.toml").into_boxed_path());
    let mut a = vec!["run", s(sc), "--reps", RUN_REPS, "--block-size", RUN_BLOCK, "--threads", "2"];
    a.extend(["--keep-replicates", "--out", out]);
    a.extend(extra);
    a
}

/// kill -9 once a block is persisted, then `--resume`: the outputs (summary, performance,
/// per-replicate rows, manifest, every block) equal an uninterrupted run's byte for byte. Without
/// `--resume` the killed directory is refused (exit 2), not overwritten.
#[test]
fn a_killed_run_resumes_to_the_uninterrupted_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let (reference, out) = (tmp.path().join("reference"), tmp.path().join("out"));
    assert_ok(&survmc(&run_args(s(&reference), &[])), "uninterrupted run");

    let running = kill_when(&run_args(s(&out), &[]), || n_blocks(&out) >= 1, Duration::from_secs(120));
    assert!(running, "the run finished before it could be killed");
    let kept = n_blocks(&out);
    assert!((1..120).contains(&kept) && !out.join("summary.json").exists(), "{kept} blocks at the kill");
    // Every persisted block is whole JSON.
    for e in std::fs::read_dir(out.join("blocks")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") && !p.to_string_lossy().contains(".tmp-") {
            serde_json::from_slice::<serde_json::Value>(&std::fs::read(&p).unwrap())
                .unwrap_or_else(|e| panic!("{} is not whole: {e}", p.display()));
        }
    }

    assert_refused(&survmc(&run_args(s(&out), &[])), 2, &["already holds a run", "--resume"], "no --resume");
    let resumed = survmc(&run_args(s(&out), &["--resume"]));
    assert_ok(&resumed, "resume");
    assert!(!stderr(&resumed).contains(" 0 reused"), "{}", stderr(&resumed));
    assert_same_files(&reference, &out);
}

/// A block damaged on disk (truncated by hand: survmc itself never leaves one) is refused at
/// `--resume` with the file named, exit 2.
#[test]
fn a_truncated_block_in_a_resumed_run_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let sc = scenario("textbook_exponential.toml");
    let args = ["run", s(&sc), "--reps", "100", "--block-size", "25"];
    let with_out = |extra: &[&'static str]| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--out", s(&out)]);
        a.extend(extra);
        survmc(&a)
    };
    assert_ok(&with_out(&[]), "run");
    let block = out.join("blocks/block-000002.json");
    let bytes = std::fs::read(&block).unwrap();
    std::fs::write(&block, &bytes[..bytes.len() / 2]).unwrap();
    assert_refused(&with_out(&["--resume"]), 2, &["block-000002.json", "unreadable"], "truncated block");
}

/// Calibration killed at many moments: the scenario file (`--write`) and the previous report are
/// each either the old bytes or the new whole bytes of an uninterrupted calibration, never a mix.
#[test]
fn a_killed_calibration_never_half_writes_the_scenario_or_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let targets = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/paper/targets.json");
    // The first calibration and the second (the one killed) use different cohorts (seeds), so the
    // second moves the values whether or not the committed file is at a fixed point of the first.
    let calibrate = |dir: &Path, seed: &str| -> Vec<String> {
        [
            "calibrate",
            s(&dir.join("tsh2024.toml")),
            "--write",
            "--seed",
            seed,
            "--cohorts",
            "20",
            "--max-evals",
            "30",
            "--targets",
            s(&targets),
            "--out-dir",
            s(&dir.join("report")),
        ]
        .iter()
        .map(|x| x.to_string())
        .collect()
    };
    let names = ["tsh2024.toml", "report/calibration.json", "report/calibration.md"];
    let read = |dir: &Path| names.map(|n| std::fs::read(dir.join(n)).unwrap());

    // The previous state: one finished calibration. Then the uninterrupted next one, as reference.
    let old_dir = tmp.path().join("old");
    std::fs::create_dir_all(&old_dir).unwrap();
    std::fs::copy(scenario("tsh2024.toml"), old_dir.join("tsh2024.toml")).unwrap();
    let run = |dir: &Path, seed: &str| {
        let a = calibrate(dir, seed);
        survmc(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_ok(&run(&old_dir, "1"), "first calibration");
    let old = read(&old_dir);
    let new_dir = tmp.path().join("new");
    std::fs::create_dir_all(new_dir.join("report")).unwrap();
    for (n, b) in names.iter().zip(&old) {
        std::fs::write(new_dir.join(n), b).unwrap();
    }
    let started = Instant::now();
    assert_ok(&run(&new_dir, "2"), "reference calibration");
    let took = started.elapsed();
    let new = read(&new_dir);
    assert!(new[0] != old[0], "the second calibration should move the values");

    // Kill at 24 moments spread over the reference's duration (the last ones near the writes).
    let mut outcomes = [0usize; 2];
    for i in 0..24u32 {
        let dir = tmp.path().join(format!("kill{i}"));
        std::fs::create_dir_all(dir.join("report")).unwrap();
        for (n, b) in names.iter().zip(&old) {
            std::fs::write(dir.join(n), b).unwrap();
        }
        let a = calibrate(&dir, "2");
        let mut child = spawn(&a.iter().map(String::as_str).collect::<Vec<_>>());
        std::thread::sleep(took.mul_f64(f64::from(i) / 20.0));
        let _ = child.kill();
        child.wait().unwrap();
        let now = read(&dir);
        for ((n, now), (old, new)) in names.iter().zip(&now).zip(old.iter().zip(&new)) {
            assert!(now == old || now == new, "kill {i}: {n} is neither the old nor the new file");
        }
        outcomes[usize::from(now[0] == new[0])] += 1;
    }
    eprintln!("calibrate killed: {} times before the write-back, {} after", outcomes[0], outcomes[1]);
}

/// Two shards of a 40-block run; returns (shard dirs, reference merge).
fn shards(tmp: &Path) -> ([PathBuf; 2], PathBuf) {
    let sc = scenario("textbook_exponential.toml");
    let dirs = [tmp.join("s0"), tmp.join("s1")];
    for (k, d) in dirs.iter().enumerate() {
        let shard = format!("{k}/2");
        let o = survmc(&[
            "run",
            s(&sc),
            "--reps",
            "400",
            "--block-size",
            "10",
            "--keep-replicates",
            "--shard",
            &shard,
            "--out",
            s(d),
        ]);
        assert_ok(&o, "shard");
    }
    let reference = tmp.join("reference");
    assert_ok(&survmc(&["merge", s(&dirs[0]), s(&dirs[1]), "--out", s(&reference)]), "merge");
    (dirs, reference)
}

/// Merge killed at many moments: the output directory is absent or whole (equal to the
/// reference); the same merge then completes to the reference bytes.
#[test]
fn a_killed_merge_leaves_the_full_output_or_none() {
    let tmp = tempfile::tempdir().unwrap();
    let ([s0, s1], reference) = shards(tmp.path());
    let started = Instant::now();
    assert_ok(&survmc(&["merge", s(&s0), s(&s1), "--out", s(&tmp.path().join("timed"))]), "merge");
    let took = started.elapsed();
    let mut whole = 0;
    for i in 0..16u32 {
        let out = tmp.path().join(format!("m{i}"));
        let mut child = spawn(&["merge", s(&s0), s(&s1), "--out", s(&out)]);
        std::thread::sleep(took.mul_f64(f64::from(i) / 12.0));
        let _ = child.kill();
        child.wait().unwrap();
        if out.exists() {
            assert_same_files(&reference, &out);
            whole += 1;
        } else {
            let again = survmc(&["merge", s(&s0), s(&s1), "--out", s(&out)]);
            assert_ok(&again, "merge after a kill");
            assert_same_files(&reference, &out);
        }
        // No staging directory is left beside a finished merge.
        assert!(!tmp.path().join(format!(".m{i}.merging")).exists(), "kill {i}: staging left");
    }
    eprintln!("merge killed: {whole} of 16 had already finished");
}

/// Damaged shard sets: a truncated block, a block from another run, a missing shard. Merge
/// refuses (exit 2) naming the file (or the missing blocks), and writes nothing.
#[test]
fn merge_refuses_damaged_shards_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let ([s0, s1], _) = shards(tmp.path());
    let out = tmp.path().join("out");
    let merge = |dirs: &[&Path]| {
        let mut a = vec!["merge"];
        a.extend(dirs.iter().map(|d| s(d)));
        a.extend(["--out", s(&out)]);
        survmc(&a)
    };

    let copy = |from: &Path, name: &str| {
        let to = tmp.path().join(name);
        std::fs::create_dir_all(to.join("blocks")).unwrap();
        for e in std::fs::read_dir(from.join("blocks")).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, to.join("blocks").join(p.file_name().unwrap())).unwrap();
        }
        std::fs::copy(from.join("run.json"), to.join("run.json")).unwrap();
        to
    };

    // A truncated block file.
    let t = copy(&s1, "truncated");
    let block = t.join("blocks/block-000003.json");
    let bytes = std::fs::read(&block).unwrap();
    std::fs::write(&block, &bytes[..bytes.len() / 3]).unwrap();
    assert_refused(&merge(&[&s0, &t]), 2, &["truncated/blocks/block-000003.json", "unreadable"], "truncated");
    assert!(!out.exists());

    // A block file from another run (seed 2) in place of the shard's own.
    let other = tmp.path().join("other");
    let o = survmc(&[
        "run",
        s(&scenario("textbook_exponential.toml")),
        "--reps",
        "400",
        "--block-size",
        "10",
        "--seed",
        "2",
        "--shard",
        "1/2",
        "--out",
        s(&other),
    ]);
    assert_ok(&o, "other run");
    let f = copy(&s1, "foreign");
    std::fs::copy(other.join("blocks/block-000005.json"), f.join("blocks/block-000005.json")).unwrap();
    assert_refused(&merge(&[&s0, &f]), 2, &["foreign/blocks/block-000005.json", "another run"], "foreign");
    assert!(!out.exists());

    // A whole shard from another run: its run.json is named with the differing field.
    assert_refused(&merge(&[&s0, &other]), 2, &["other/run.json", "seed differs"], "other run");

    // A missing shard.
    assert_refused(&merge(&[&s0]), 2, &["blocks missing: 1, 3, 5", "shard directory missing"], "missing");
    assert!(!out.exists());

    // A missing shard directory.
    let gone = tmp.path().join("gone");
    assert_refused(&merge(&[&s0, &gone]), 1, &["gone/run.json"], "absent directory");
    assert!(!out.exists());
}

/// Whether this process can write into a directory with mode 555 (root can).
fn root_ignores_modes(tmp: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let d = tmp.join("probe");
    std::fs::create_dir(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o555)).unwrap();
    let writable = std::fs::write(d.join("x"), b"x").is_ok();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    writable
}

/// Output locations that cannot be written: under a regular file (always), and a chmod 555
/// directory (only when not root: root writes anyway). Every command fails with exit 1 (an I/O
/// failure), a message naming the path, and no panic.
#[test]
fn unwritable_output_locations_are_clear_io_errors() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let sc = scenario("textbook_exponential.toml");
    let file = tmp.path().join("a_file");
    std::fs::write(&file, b"not a directory").unwrap();
    let mut places = vec![(file.join("out"), "Not a directory")];
    let cal = scenario("tsh2024.toml");
    let targets = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/paper/targets.json");
    if root_ignores_modes(tmp.path()) {
        eprintln!("note: running as root, chmod 555 does not stop writes: only the under-a-file case");
    } else {
        let ro = tmp.path().join("readonly");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        places.push((ro.join("out"), "ermission denied"));
    }
    let (s0, _) = {
        let t = tmp.path().join("shards");
        std::fs::create_dir(&t).unwrap();
        let ([a, b], r) = shards(&t);
        ([a, b], r)
    };
    for (place, why) in &places {
        let p = s(place);
        let csv = place.join("cohorts.csv");
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("run", vec!["run", s(&sc), "--reps", "20", "--block-size", "10", "--out", p]),
            ("simulate", vec!["simulate", s(&sc), "--out", s(&csv)]),
            ("merge", vec!["merge", s(&s0[0]), s(&s0[1]), "--out", p]),
            (
                "calibrate",
                vec!["calibrate", s(&cal), "--targets", s(&targets), "--max-evals", "2", "--out-dir", p],
            ),
        ];
        for (what, args) in cases {
            assert_refused(&survmc(&args), 1, &[p, why], what);
        }
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory");
}

/// A full disk: a 64 KiB tmpfs (skipped with a note where mounting is not permitted). `run`,
/// `simulate` and `merge` into it fail with exit 1 and "No space left", leave no temporary
/// file, and every file they did write is whole.
#[test]
fn a_full_disk_is_a_clear_error_and_leaves_nothing_half_written() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("tiny");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs", s(&mnt)])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|st| st.success());
    if !mounted {
        eprintln!("note: cannot mount a tmpfs here (not permitted): full-disk test skipped");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    let sc = scenario("textbook_exponential.toml");
    let ([s0, s1], _) = shards(tmp.path());

    let check = |what: &str, o: Output| {
        assert_refused(&o, 1, &["No space left"], what);
        let (written, tmp_files) = files(&mnt);
        assert!(tmp_files.is_empty(), "{what}: temporary files left: {tmp_files:?}");
        for (name, bytes) in &written {
            if name.ends_with(".json") {
                serde_json::from_slice::<serde_json::Value>(bytes)
                    .unwrap_or_else(|e| panic!("{what}: {name} is half-written: {e}"));
            }
        }
        assert!(!written.keys().any(|k| k.ends_with("summary.json")), "{what}: {written:?}");
        for e in std::fs::read_dir(&mnt).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) }.unwrap();
        }
    };
    let out = mnt.join("out");
    check(
        "run",
        survmc(&[
            "run",
            s(&sc),
            "--reps",
            "2000",
            "--block-size",
            "10",
            "--keep-replicates",
            "--out",
            s(&out),
        ]),
    );
    check("simulate", survmc(&["simulate", s(&sc), "--cohorts", "3000", "--out", s(&mnt.join("c.csv"))]));
    assert!(!mnt.join("c.csv").exists());
    check("merge", survmc(&["merge", s(&s0), s(&s1), "--out", s(&out)]));
    assert!(!out.exists(), "a failed merge leaves no output directory");
}
