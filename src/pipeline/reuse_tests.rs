//! Tests of `--reuse-from` on run folders made by hand (the files' contents do not matter to
//! the copy; what is copied, and what is refused, is worked out from the settings).

use super::*;
use crate::dataset::Split;
use crate::dataset::record::AlignMethod;

/// A finished-looking run folder of `config` under `root/name`: settings, training prompts,
/// samples, verdicts, the targets and finished models of its variants, a checkpoint each.
fn folder(root: &Path, name: &str, config: &RunConfig, train: &str) -> std::path::PathBuf {
    let dir = root.join(name);
    let write = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("config.toml", &config.to_toml());
    write("data/train.jsonl", train);
    write("data/test.jsonl", "validation prompts");
    write("eval/pretrained-0shot/summary.json", "{}");
    write("eval/pretrained-4shot/summary.json", "{}");
    write("sampled.jsonl", "samples");
    write("judged.jsonl", "verdicts");
    for v in variants(config) {
        write(
            &format!("aligned/{}.jsonl", v.name),
            &format!("targets of {}", v.name),
        );
        write(&format!("models/{}/model/config.json", v.name), "{}");
        write(&format!("models/{}/checkpoint/optim.bin", v.name), "big");
        write(&format!("models/{}/train_summary.json", v.name), "{}");
        write(&format!("eval/{}/summary.json", v.name), "{}");
    }
    dir
}

/// An empty run folder with its training prompts and the validation prompts.
fn fresh(root: &Path, name: &str, train: &str) -> std::path::PathBuf {
    fresh_with_tests(root, name, train, "validation prompts")
}

/// An empty run folder with its training and test prompts.
fn fresh_with_tests(root: &Path, name: &str, train: &str, test: &str) -> std::path::PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("data/train.jsonl"), train).unwrap();
    std::fs::write(dir.join("data/test.jsonl"), test).unwrap();
    dir
}

fn validation_config() -> RunConfig {
    let mut c = RunConfig::default();
    c.alphas = vec![0.6];
    c.baselines = vec![AlignMethod::Unchanged];
    c.test_split = Split::Validation;
    c
}

#[test]
fn a_test_run_takes_the_validation_runs_samples_targets_and_models() {
    let root = tempfile::tempdir().unwrap();
    let from = folder(root.path(), "val", &validation_config(), "prompts");
    // the test run: three α and two baselines, the test split, more test prompts
    let mut config = RunConfig::default();
    config.alphas = vec![0.4, 0.6, 0.8];
    config.baselines = vec![AlignMethod::Unchanged, AlignMethod::Idk];
    config.test_examples = 300;
    let dir = fresh_with_tests(root.path(), "test", "prompts", "test prompts");
    let copied = reuse_from(&config, &dir, &from, &variants(&config)).unwrap();
    // by hand: halt-0.6 and unchanged are in both runs (same name, method, α: the middle α of
    // [0.4, 0.6, 0.8] is 0.6); idk, halt-0.4 and halt-0.8 are not in the validation run
    assert_eq!(
        copied,
        vec![
            "sampled.jsonl",
            "judged.jsonl",
            "aligned/halt-0.6.jsonl",
            "aligned/unchanged.jsonl",
            "models/halt-0.6",
            "models/unchanged",
        ]
    );
    assert!(dir.join("models/halt-0.6/model/config.json").exists());
    assert!(dir.join("models/halt-0.6/train_summary.json").exists());
    assert!(
        !dir.join("models/halt-0.6/checkpoint").exists(),
        "checkpoints stay behind"
    );
    assert!(
        !dir.join("eval").exists(),
        "other test prompts: no evaluation is reused"
    );
    assert!(!dir.join("aligned/idk.jsonl").exists());
    // a second call finds everything in place
    assert!(
        reuse_from(&config, &dir, &from, &variants(&config))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn other_training_settings_reuse_the_samples_and_targets_only() {
    let root = tempfile::tempdir().unwrap();
    let from = folder(root.path(), "val", &validation_config(), "prompts");
    let mut config = validation_config();
    config.train.lr *= 3.0;
    let dir = fresh(root.path(), "lr", "prompts");
    let copied = reuse_from(&config, &dir, &from, &variants(&config)).unwrap();
    // by hand: same validation prompts and [eval], other [train]: the pretrained model's
    // evaluations are reused, the finetuned models and their evaluations are not
    assert_eq!(
        copied,
        vec![
            "sampled.jsonl",
            "judged.jsonl",
            "aligned/halt-0.6.jsonl",
            "aligned/unchanged.jsonl",
            "eval/pretrained-0shot",
            "eval/pretrained-4shot",
        ]
    );
    assert!(!dir.join("models").exists());
    assert!(!dir.join("eval/halt-0.6").exists());
}

#[test]
fn the_same_run_in_a_new_folder_reuses_everything() {
    let root = tempfile::tempdir().unwrap();
    let from = folder(root.path(), "val", &validation_config(), "prompts");
    let config = validation_config();
    let dir = fresh(root.path(), "again", "prompts");
    let copied = reuse_from(&config, &dir, &from, &variants(&config)).unwrap();
    assert_eq!(
        copied,
        vec![
            "sampled.jsonl",
            "judged.jsonl",
            "aligned/halt-0.6.jsonl",
            "aligned/unchanged.jsonl",
            "eval/pretrained-0shot",
            "eval/pretrained-4shot",
            "models/halt-0.6",
            "eval/halt-0.6",
            "models/unchanged",
            "eval/unchanged",
        ]
    );
}

#[test]
fn samples_made_otherwise_are_refused_by_name() {
    let root = tempfile::tempdir().unwrap();
    let from = folder(root.path(), "val", &validation_config(), "prompts");
    let mut config = validation_config();
    config.sample.n = 3;
    config.seed = 9;
    let dir = fresh(root.path(), "n3", "prompts");
    let err = format!(
        "{:#}",
        reuse_from(&config, &dir, &from, &variants(&config)).unwrap_err()
    );
    assert!(
        err.contains("seed = 0 there, 9 now; sample.n = 5 there, 3 now"),
        "{err}"
    );
    assert!(!dir.join("sampled.jsonl").exists());
    // same settings, other training prompts
    let dir = fresh(root.path(), "other", "other prompts");
    let config = validation_config();
    let err = format!(
        "{:#}",
        reuse_from(&config, &dir, &from, &variants(&config)).unwrap_err()
    );
    assert!(err.contains("training prompts"), "{err}");
    // no settings at all
    let err = reuse_from(&config, &dir, &root.path().join("none"), &[]).unwrap_err();
    assert!(format!("{err:#}").contains("config.toml"), "{err:#}");
}

/// Found in review: this folder's own samples (an interrupted run) were paired with the other
/// folder's verdicts. A file this folder already has must be the other's, else nothing made
/// from it is taken; a model of its own keeps its own evaluation.
#[test]
fn nothing_is_taken_on_top_of_this_folders_own_different_files() {
    let root = tempfile::tempdir().unwrap();
    let from = folder(root.path(), "val", &validation_config(), "prompts");
    let config = validation_config();
    let dir = fresh(root.path(), "own", "prompts");
    std::fs::write(dir.join("sampled.jsonl"), "other samples").unwrap();
    let copied = reuse_from(&config, &dir, &from, &variants(&config)).unwrap();
    assert!(copied.is_empty(), "{copied:?}");
    assert!(!dir.join("judged.jsonl").exists());
    // the same samples, its own half-trained model of halt-0.6 and a partial sample file
    let dir = fresh(root.path(), "half", "prompts");
    std::fs::write(dir.join("sampled.jsonl"), "samples").unwrap();
    std::fs::create_dir_all(dir.join("models/halt-0.6/checkpoint")).unwrap();
    std::fs::write(dir.join("judged.jsonl.partial"), "half").unwrap();
    let copied = reuse_from(&config, &dir, &from, &variants(&config)).unwrap();
    assert_eq!(
        copied,
        vec![
            "judged.jsonl",
            "aligned/halt-0.6.jsonl",
            "aligned/unchanged.jsonl",
            "eval/pretrained-0shot",
            "eval/pretrained-4shot",
            "models/unchanged",
            "eval/unchanged",
        ]
    );
    assert!(!dir.join("judged.jsonl.partial").exists());
    assert!(!dir.join("eval/halt-0.6").exists());
}
