//! The fuzz targets (`fuzz/`, cargo fuzz on nightly) run here, on stable, over their committed
//! corpora and their seeds: a target whose entry function no longer builds, or whose invariant
//! no longer holds, fails the ordinary test run without a second build. Every crash fuzzing
//! found is a named test at the end.

use std::path::{Path, PathBuf};

use line_oa::fuzzing::TARGETS;

use crate::support::repo_dir;

mod seeds;

fn corpus_dir(target: &str) -> PathBuf {
    repo_dir().join("fuzz/corpus").join(target)
}

fn entry(target: &str) -> fn(&[u8]) {
    TARGETS.iter().find(|(name, _)| *name == target).unwrap_or_else(|| panic!("no fuzz target {target}")).1
}

/// Runs one input, naming it if the target panics (the panic's own message is printed above).
fn run(target: &str, input: &str, bytes: &[u8]) {
    let run = entry(target);
    if std::panic::catch_unwind(|| run(bytes)).is_err() {
        panic!("fuzz target {target} fails on {input}: reproduce with `fuzz/run.sh --repro {target} <file>`");
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_target_holds_on_its_committed_corpus() {
    for (target, _) in TARGETS {
        let files = files(&corpus_dir(target));
        assert!(files.len() >= 5, "fuzz/corpus/{target} holds {} inputs; run `fuzz/run.sh --seed`", files.len());
        for path in files {
            run(target, &path.display().to_string(), &std::fs::read(&path).unwrap());
        }
    }
}

#[test]
fn every_fuzz_target_holds_on_its_seeds() {
    let seeds = seeds::all();
    for (target, _) in TARGETS {
        assert!(seeds.iter().any(|(t, _, _)| *t == target), "no seeds for {target}");
    }
    for (target, name, bytes) in &seeds {
        run(target, &format!("seed {name}"), bytes);
    }
}

#[test]
fn every_fuzz_target_is_a_cargo_fuzz_binary() {
    let manifest = std::fs::read_to_string(repo_dir().join("fuzz/Cargo.toml")).unwrap();
    for (target, _) in TARGETS {
        let script = std::fs::read_to_string(repo_dir().join(format!("fuzz/fuzz_targets/{target}.rs"))).unwrap();
        assert!(script.contains(&format!("line_oa::fuzzing::{target}(data)")), "fuzz/fuzz_targets/{target}.rs calls another entry");
        assert!(manifest.contains(&format!("name = \"{target}\"\npath = \"fuzz_targets/{target}.rs\"")), "no [[bin]] {target}");
    }
}

/// `fuzz/run.sh --seed`: writes the seeds into `fuzz/corpus/<target>/`.
#[test]
#[ignore = "writes fuzz/corpus; run by fuzz/run.sh --seed"]
fn write_seed_corpora() {
    for (target, name, bytes) in seeds::all() {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
