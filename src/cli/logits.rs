//! `halt-llm logits`: the next-token top-k logits after a prompt, for checking a model against
//! a reference implementation (NumPy, transformers, llama.cpp).
//!
//! The prompt is tokenized, run through the model in one forward pass (no cache), and the
//! logits of the last position are ranked: by logit descending, equal logits (`-0.0` and `0.0`
//! count as equal) by token id ascending. `--top-k` larger than the vocabulary prints the whole
//! vocabulary in that order.

use std::io::Write;

use anyhow::{Context, Result, anyhow, bail};
use burn::tensor::{Int, Tensor, TensorData};
use clap::Args;
use halt_llm::chat::Message;
use halt_llm::generate::logsumexp;
use halt_llm::model::load::LoadedModel;
use halt_llm::settings;

use super::model::{ModelArgs, load};

/// `halt-llm logits`.
#[derive(Args)]
pub struct LogitsArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The prompt text. Tokenized as is (plain text: special-token strings such as
    /// `<|im_start|>` stay text), with BOS if the model asks for it.
    #[arg(long)]
    prompt: String,
    /// Render the prompt as one user message with the model's chat template (its default
    /// system turn included) and the generation prompt.
    #[arg(long, conflicts_with = "special")]
    chat: bool,
    /// Match the tokenizer's special-token strings (e.g. `<|im_start|>`) in the prompt as
    /// control tokens, for a prompt already rendered with a chat template.
    #[arg(long)]
    special: bool,
    /// How many of the largest logits to print (the whole vocabulary if it has fewer tokens).
    #[arg(long, default_value_t = 10)]
    top_k: usize,
    /// Print one JSON object: `ids`, `logits`, `tokens` (vocabulary pieces, e.g. `Ġthe`),
    /// `prompt_ids`, `prompt_tokens`, `logsumexp`.
    #[arg(long)]
    json: bool,
}

/// The report of one `logits` run.
struct TopK {
    prompt_ids: Vec<u32>,
    ids: Vec<u32>,
    logits: Vec<f32>,
    logsumexp: f64,
    vocab_size: usize,
}

/// `halt-llm logits`.
pub fn logits(args: LogitsArgs) -> Result<()> {
    settings::tokens("top_k", args.top_k, 1)?;
    if args.prompt.is_empty() {
        bail!("prompt is empty: give the text whose next-token logits to print");
    }
    let (loaded, device) = load(&args.model)?;
    let prompt_ids = encode(&loaded, &args)?;
    if prompt_ids.is_empty() {
        bail!("the prompt tokenized to no tokens");
    }
    let n = prompt_ids.len();
    settings::fits_context("prompt", n, loaded.model.config.max_position_embeddings)?;
    let input = Tensor::<2, Int>::from_data(
        TensorData::new(prompt_ids.iter().map(|&i| i64::from(i)).collect(), [1, n]),
        &device,
    );
    let hidden = loaded.model.hidden_states(input, &[vec![true; n]]);
    let row = loaded
        .model
        .logits(hidden.narrow(1, n - 1, 1))
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow!("reading logits: {e:?}"))?;
    let top = top_k(&row, args.top_k);
    let report = TopK {
        prompt_ids,
        ids: top.iter().map(|p| p.0).collect(),
        logits: top.iter().map(|p| p.1).collect(),
        logsumexp: logsumexp(&row),
        vocab_size: row.len(),
    };
    let piece = |id: u32| loaded.tokenizer.inner().id_to_token(id);
    let mut out = std::io::stdout().lock();
    if args.json {
        let value = serde_json::json!({
            "ids": report.ids,
            "logits": report.logits,
            "tokens": report.ids.iter().map(|&i| piece(i)).collect::<Vec<_>>(),
            "prompt_ids": report.prompt_ids,
            "prompt_tokens": report.prompt_ids.iter().map(|&i| piece(i)).collect::<Vec<_>>(),
            "logsumexp": report.logsumexp,
        });
        writeln!(out, "{value}")?;
        return Ok(());
    }
    let show = |id: u32| piece(id).map_or_else(|| "(no token)".to_string(), |p| format!("{p:?}"));
    let last = *report.prompt_ids.last().expect("checked non-empty");
    writeln!(
        out,
        "prompt: {n} tokens (last {last} {}); vocabulary {}; logsumexp {:.4}",
        show(last),
        report.vocab_size,
        report.logsumexp
    )?;
    writeln!(
        out,
        "{:>4}  {:>8}  {:>10}  {:>8}  token",
        "rank", "id", "logit", "prob"
    )?;
    for (r, (&id, &logit)) in report.ids.iter().zip(&report.logits).enumerate() {
        let prob = (f64::from(logit) - report.logsumexp).exp();
        writeln!(
            out,
            "{:>4}  {id:>8}  {logit:>10.4}  {prob:>8.4}  {}",
            r + 1,
            show(id)
        )?;
    }
    Ok(())
}

/// The prompt's token ids, as the flags ask.
fn encode(loaded: &LoadedModel, args: &LogitsArgs) -> Result<Vec<u32>> {
    let tok = &loaded.tokenizer;
    if args.chat {
        return tok
            .encode_chat(&[Message::user(args.prompt.as_str())], true)
            .context("rendering the prompt with the chat template");
    }
    if !args.special {
        return tok.encode(&args.prompt);
    }
    let mut ids = tok
        .inner()
        .encode(args.prompt.as_str(), false)
        .map_err(|e| anyhow!("tokenizing: {e}"))?
        .get_ids()
        .to_vec();
    if let (true, Some(bos)) = (tok.add_bos, tok.bos_id)
        && ids.first() != Some(&bos)
    {
        ids.insert(0, bos);
    }
    Ok(ids)
}

/// The `k` largest entries of `row` as `(id, logit)`, by logit descending, equal logits by id
/// ascending (`-0.0` equals `0.0`; NaNs rank by `f32::total_cmp`). `k` larger than the row
/// gives the whole row.
fn top_k(row: &[f32], k: usize) -> Vec<(u32, f32)> {
    // `+ 0.0` turns -0.0 into 0.0, so that total_cmp sees the two zeros as equal.
    let order =
        |a: &(u32, f32), b: &(u32, f32)| (b.1 + 0.0).total_cmp(&(a.1 + 0.0)).then(a.0.cmp(&b.0));
    let mut pairs: Vec<(u32, f32)> = (0u32..).zip(row.iter().copied()).collect();
    let k = k.min(pairs.len());
    if k == 0 {
        return Vec::new();
    }
    if k < pairs.len() {
        pairs.select_nth_unstable_by(k - 1, order);
        pairs.truncate(k);
    }
    pairs.sort_unstable_by(order);
    pairs
}

#[cfg(test)]
mod tests {
    use super::top_k;

    #[test]
    fn top_k_orders_by_logit_then_id_and_clamps() {
        let row = [1.0, 3.0, -0.0, 3.0, 0.0, 2.0, 3.0];
        assert_eq!(top_k(&row, 1), vec![(1, 3.0)]);
        assert_eq!(top_k(&row, 2), vec![(1, 3.0), (3, 3.0)]);
        let all = top_k(&row, 100);
        let ids: Vec<u32> = all.iter().map(|p| p.0).collect();
        assert_eq!(ids, vec![1, 3, 6, 5, 0, 2, 4]);
        assert_eq!(top_k(&row, 7), all);
        assert_eq!(top_k(&row, 0), vec![]);
        assert_eq!(top_k(&[], 3), vec![]);
    }
}
