//! Turning a (prompt, target) pair into token ids and a label mask.
//!
//! The conversation is rendered with the model's own chat template twice: the prompt alone
//! with the generation prompt (what the model sees at inference), and the full conversation
//! with the target as the assistant turn. Labels start where the two token sequences stop
//! agreeing (their common prefix is the context), so a template whose assistant header
//! renders differently, or a token merged across the boundary, cannot shift the boundary: a
//! token that holds any target text is a label. Labels end with the end-of-turn token that
//! follows the target (`<|im_end|>` for ChatML); when the template emits none, EOS is
//! appended. Template text after the end token is dropped.

use anyhow::{Result, bail};

use crate::chat::Message;
use crate::tokenizer::Tokenizer;

/// One tokenized training example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainExample {
    /// The record id (for error messages).
    pub id: String,
    /// Token ids `[len]`: context, then the target and its end token.
    pub input_ids: Vec<u32>,
    /// `[len]`: `true` for the tokens the loss is computed on (the target and its end
    /// token). The mask is aligned with `input_ids`; the shift to next-token targets happens
    /// once, in the batcher.
    pub label_mask: Vec<bool>,
    /// Tokens removed from the start of the prompt to fit `max_seq_len`.
    pub prompt_tokens_cut: usize,
    /// Label tokens removed from the end to fit `max_seq_len` (only when the target alone
    /// is longer than the limit).
    pub target_tokens_cut: usize,
}

impl TrainExample {
    /// Number of label tokens.
    pub fn num_labels(&self) -> usize {
        self.label_mask.iter().filter(|&&m| m).count()
    }
}

/// Where the labels of a rendered conversation are.
///
/// `prompt_ids`: the prompt with the generation prompt; `full_ids`: the whole conversation;
/// `target_end`: the token index in `full_ids` where the target's content ends. Returns
/// `(label_start, end_token)`: labels are `full_ids[label_start..]` up to and including the
/// first stop token at or after `target_end` (`Some(index)`), or up to `target_end` when the
/// template emits no stop token there (`None`: the caller appends EOS).
pub fn label_span(
    prompt_ids: &[u32],
    full_ids: &[u32],
    target_end: usize,
    stop_ids: &[u32],
) -> (usize, Option<usize>) {
    let common = prompt_ids
        .iter()
        .zip(full_ids)
        .take_while(|(a, b)| a == b)
        .count();
    let end = full_ids[target_end.min(full_ids.len())..]
        .iter()
        .position(|t| stop_ids.contains(t))
        .map(|p| p + target_end);
    (common, end)
}

/// Tokenizes one (prompt, target) pair for supervised finetuning.
///
/// Sequences longer than `max_seq_len` lose tokens from the start of the prompt (after BOS,
/// if the model asks for one); when the labels alone do not fit, they are cut at the end too.
/// Both cuts are recorded in the result, never silent.
///
/// # Errors
/// Template errors; a tokenizer without any end-of-turn/EOS token; an empty target.
pub fn tokenize_pair(
    tokenizer: &Tokenizer,
    id: &str,
    prompt: &str,
    target: &str,
    max_seq_len: usize,
) -> Result<TrainExample> {
    if target.is_empty() {
        bail!("record {id}: empty target");
    }
    let Some(&eos) = tokenizer.stop_ids.first() else {
        bail!("the tokenizer has no EOS or end-of-turn token; cannot mark the end of a target");
    };
    let user = [Message::user(prompt)];
    let prompt_ids = tokenizer.encode_chat(&user, true)?;
    let convo = [Message::user(prompt), Message::assistant(target)];
    let (mut ids, spans) = tokenizer.encode_chat_spans(&convo, false)?;
    let target_end = spans[1].end;
    let (start, end) = label_span(&prompt_ids, &ids, target_end, &tokenizer.stop_ids);
    match end {
        Some(e) => ids.truncate(e + 1),
        None => {
            ids.truncate(target_end);
            ids.push(eos);
        }
    }
    let start = start.min(ids.len() - 1);
    let mut label_mask: Vec<bool> = (0..ids.len()).map(|i| i >= start).collect();

    let mut prompt_tokens_cut = 0;
    let mut target_tokens_cut = 0;
    if ids.len() > max_seq_len {
        // Keep BOS first when the model asks for one; cut the oldest prompt tokens after it.
        let keep_head = usize::from(
            tokenizer.add_bos
                && tokenizer.bos_id.is_some()
                && ids.first() == tokenizer.bos_id.as_ref(),
        );
        let context = start.saturating_sub(keep_head);
        let excess = ids.len() - max_seq_len;
        // At least one context token must stay so that the first label has a predecessor.
        let cut = excess.min(context.saturating_sub(1));
        ids.drain(keep_head..keep_head + cut);
        label_mask.drain(keep_head..keep_head + cut);
        prompt_tokens_cut = cut;
        if ids.len() > max_seq_len {
            target_tokens_cut = ids.len() - max_seq_len;
            ids.truncate(max_seq_len);
            label_mask.truncate(max_seq_len);
        }
    }
    Ok(TrainExample {
        id: id.to_string(),
        input_ids: ids,
        label_mask,
        prompt_tokens_cut,
        target_tokens_cut,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_decides_the_boundary() {
        // A merge across the boundary: the prompt ends with token 52 (" "), the full
        // conversation has 60 (" the") in its place. 60 holds target text, so it is a label.
        let prompt = [62, 20, 52];
        let full = [62, 20, 60, 4, 63, 53];
        assert_eq!(label_span(&prompt, &full, 4, &[63]), (2, Some(4)));
        // No stop token after the target: the caller appends EOS.
        assert_eq!(label_span(&prompt, &full[..4], 4, &[63]), (2, None));
        // A stop token inside the context is not the target's end.
        let full = [63, 20, 52, 7, 63];
        assert_eq!(label_span(&[63, 20, 52], &full, 4, &[63]), (3, Some(4)));
    }
}
