//! The examples of a run: `data/train.jsonl` and `data/test.jsonl`, chosen from the domain's
//! `train` split and its `test_split` (`test`, or `validation` for choosing settings) by the
//! difficulty filter, with the test prompts spread over as many problem templates
//! as the split has at that difficulty (first instances of every template first); and the
//! clusters the claims' bootstrap resamples.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::config::RunConfig;
use crate::dataset::example::{
    EVAL_NEEDS_GROUND_TRUTH, Example, GroundTruth, require_ground_truth,
};
use crate::dataset::{Split, load, write_jsonl};

/// `true` if `e` passes the difficulty filter.
fn easy_enough(config: &RunConfig, e: &Example) -> bool {
    match (&e.ground_truth, config.max_calculations) {
        (GroundTruth::Math(m), Some(k)) => m.num_calculations <= k,
        _ => true,
    }
}

/// The instance number of a templated maths problem (0 for other examples).
fn instance(e: &Example) -> u32 {
    match &e.ground_truth {
        GroundTruth::Math(m) => m.instance,
        _ => 0,
    }
}

/// Writes `data/train.jsonl` and `data/test.jsonl`: examples of each split that pass the
/// difficulty filter, first instances of each template first.
pub fn select_examples(config: &RunConfig, dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let data = dir.join("data");
    let train_path = data.join("train.jsonl");
    let test_path = data.join("test.jsonl");
    if train_path.exists() && test_path.exists() {
        return Ok((train_path, test_path));
    }
    std::fs::create_dir_all(&data)?;
    let root = crate::dataset::load::resolve_datasets_dir(&config.datasets);
    for (split, n, path) in [
        (Split::Train, config.train_examples, &train_path),
        (config.test_split, config.test_examples, &test_path),
    ] {
        let mut pool: Vec<Example> = load(&root, config.domain, split)?
            .into_iter()
            .filter(|e| easy_enough(config, e))
            .collect();
        // Maths problems come as instances of templates, stored template by template: take the
        // first instance of every template before any second one, so a small selection
        // covers many different problems (stable sort keeps the file order otherwise).
        pool.sort_by_key(instance);
        let chosen: Vec<Example> = pool.into_iter().take(n).collect();
        if chosen.len() < n.min(2) {
            bail!(
                "only {} {split} examples of {} pass the filter",
                chosen.len(),
                config.domain
            );
        }
        write_jsonl(path, &chosen)?;
    }
    Ok((train_path, test_path))
}

/// Checks that a run can use its examples: every test example has ground truth (the test
/// answers are judged against it), and training prompts alone (no reference, no ground truth:
/// a user's own prompts) come only with a run that trains on reference-free labels alone
/// (`alphas = []`, `baselines = []`, `reference_free_alphas` set).
///
/// # Errors
/// The first example that breaks a rule, named with the rule.
pub fn check_ground_truth(config: &RunConfig, train: &[Example], test: &[Example]) -> Result<()> {
    require_ground_truth(test, EVAL_NEEDS_GROUND_TRUTH).context("the test split")?;
    if let Some(e) = train.iter().find(|e| !e.has_ground_truth())
        && (!config.alphas.is_empty() || !config.baselines.is_empty())
    {
        bail!(
            "training example `{}` is a prompt alone (no reference, no ground truth): a run on \
             such prompts trains only on reference-free labels; set `alphas = []` and \
             `baselines = []`, and the α values in `reference_free_alphas`",
            e.id
        );
    }
    Ok(())
}

/// What the claims' bootstrap resamples: a maths problem's template (its instances are the
/// same problem with other numbers), otherwise the prompt itself (a biography's person, a
/// programming task, a medical question).
pub fn cluster_of(e: &Example) -> String {
    match &e.ground_truth {
        GroundTruth::Math(m) => format!("template-{}", m.template),
        _ => e.id.clone(),
    }
}
