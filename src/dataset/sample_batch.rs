//! One generation batch of the sample stage ([`super::sample::sample_stage`]): the few-shot
//! prompts of consecutive examples × N, generated together, into [`Sampled`] records with
//! why each response ended and its tokens' log-probabilities and text ends.

use anyhow::{Context, Result};
use burn::tensor::Device;

use super::example::Example;
use super::fewshot::PromptFormat;
use super::record::Sampled;
use super::sample::{LONG_PREFILL_TOKENS, SampleConfig, few_shot_prompt, response_seed};
use super::token_confidence::trimmed_ends;
use crate::generate::{SamplingConfig, generate_with_progress};
use crate::model::load::LoadedModel;
use crate::stage::progress::Progress;

/// Splits indices (ascending) into runs of consecutive values.
pub(super) fn contiguous_runs(indices: &[usize]) -> Vec<Vec<usize>> {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for &i in indices {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|&l| l + 1 == i) => run.push(i),
            _ => runs.push(vec![i]),
        }
    }
    runs
}

/// One generation batch: the examples `run` (consecutive indices) × N responses. Reports
/// progress after every decode step, as the examples' worth of work done in the chunk so far
/// (`before` examples of earlier batches of the chunk, plus this batch's share done).
#[allow(clippy::too_many_arguments)]
pub(super) fn sample_run(
    loaded: &LoadedModel,
    device: &Device,
    pool: &[Example],
    run: &[usize],
    cfg: &SampleConfig,
    max_prompt: usize,
    progress: &Progress,
    before: usize,
) -> Result<Vec<Sampled>> {
    let mut prompts = Vec::with_capacity(run.len() * cfg.settings.n);
    for &i in run {
        let (ids, used) = few_shot_prompt(&loaded.tokenizer, pool, i, cfg, max_prompt)?;
        // shots come only from the other examples that have a reference (fewshot::shots_for)
        let labelled = (0..pool.len())
            .filter(|&j| j != i && pool[j].has_ground_truth())
            .count();
        let wanted = cfg.settings.shots.min(labelled);
        if used < wanted {
            progress.note(&format!(
                "sample: `{}`: {used} of {wanted} shots fit in the context",
                pool[i].id
            ));
        }
        prompts.extend(std::iter::repeat_n(ids, cfg.settings.n));
    }
    // A long prompt (many shots) is read whole before the first new token, which reports
    // progress: say so, or a prefill of minutes on a CPU looks like a hang.
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    if longest >= LONG_PREFILL_TOKENS {
        progress.note(&format!(
            "sample: `{}`: reading {} prompt(s) of up to {longest} tokens before the first \
             response token (fewer --shots read faster)",
            pool[run[0]].id,
            run.len()
        ));
    }
    let sampling = SamplingConfig {
        max_new_tokens: cfg.settings.max_new_tokens,
        temperature: cfg.settings.temperature,
        top_p: cfg.settings.top_p,
        // sequence s = (i - run[0])·n + k gets seed + run[0]·n + s = response_seed(i, k)
        seed: response_seed(cfg.seed, cfg.settings.n, run[0], 0),
        stop_strings: cfg.settings.format.stop_strings(),
    };
    let gens = generate_with_progress(
        &loaded.model,
        &loaded.tokenizer,
        &prompts,
        &sampling,
        |_, _| {},
        |step| progress.partial(before as f64 + step.fraction() * run.len() as f64),
        device,
    )
    .with_context(|| format!("sampling `{}`…", pool[run[0]].id))?;
    let mut gens = gens.into_iter();
    Ok(run
        .iter()
        .map(|&i| {
            let mut s = Sampled {
                id: pool[i].id.clone(),
                responses: Vec::new(),
                model: cfg.model_name.clone(),
                sampling: cfg.params(),
                finish: Vec::new(),
                token_logprobs: Vec::new(),
                token_ends: Vec::new(),
            };
            for g in gens.by_ref().take(cfg.settings.n) {
                let (text, ends) = match cfg.settings.format {
                    PromptFormat::Chat => (g.text, g.text_ends),
                    PromptFormat::Plain => (
                        g.text.trim().to_string(),
                        trimmed_ends(&g.text, &g.text_ends),
                    ),
                };
                s.responses.push(text);
                s.finish.push(g.finish);
                s.token_logprobs.push(g.logprobs);
                s.token_ends.push(ends);
            }
            s
        })
        .collect())
}
