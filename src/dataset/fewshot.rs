//! Few-shot contexts (paper §"Sample"): before each prompt, 4 other (prompt, reference) pairs of
//! the same split, chosen with a seed and never the example itself.
//!
//! Two renderings:
//! - [`PromptFormat::Chat`] (instruct models): alternating user / assistant turns, then the
//!   final user prompt, through the model's chat template ([`chat_messages`]);
//! - [`PromptFormat::Plain`] (base models): `Q: …\nA: …` blocks separated by a blank line, then
//!   `Q: <prompt>\nA:` ([`plain_text`]); generation stops at [`PLAIN_STOP`], the start of the
//!   next block.
//!
//! The choice depends only on the seed, the pool size and the example's index in the pool, so a
//! resumed or re-batched run picks the same shots.

use std::fmt;
use std::str::FromStr;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::example::Example;
use crate::chat::Message;

/// Number of few-shot pairs in the paper.
pub const SHOTS: usize = 4;

/// Stop string of the plain format: the next `Q:` block.
pub const PLAIN_STOP: &str = "\nQ:";

/// How the few-shot prompt is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromptFormat {
    /// User / assistant turns through the model's chat template (instruct models).
    #[default]
    Chat,
    /// `Q: … A: …` plain-text blocks (base models).
    Plain,
}

impl PromptFormat {
    /// The name used on the command line (`chat`, `plain`).
    pub fn as_str(self) -> &'static str {
        match self {
            PromptFormat::Chat => "chat",
            PromptFormat::Plain => "plain",
        }
    }

    /// Stop strings generation needs with this format.
    pub fn stop_strings(self) -> Vec<String> {
        match self {
            PromptFormat::Chat => Vec::new(),
            PromptFormat::Plain => vec![PLAIN_STOP.to_string()],
        }
    }
}

impl fmt::Display for PromptFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PromptFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "chat" => Ok(PromptFormat::Chat),
            "plain" => Ok(PromptFormat::Plain),
            _ => Err(format!(
                "unknown prompt format `{s}` (expected chat or plain)"
            )),
        }
    }
}

/// Indices (into a pool of `pool_len` examples) of `k` shots for the example at `index`:
/// distinct, never `index`, in random order; `min(k, pool_len - 1)` of them. Deterministic in
/// (`pool_len`, `index`, `k`, `seed`).
pub fn choose_shots(pool_len: usize, index: usize, k: usize, seed: u64) -> Vec<usize> {
    if pool_len <= 1 || index >= pool_len {
        return Vec::new();
    }
    let k = k.min(pool_len - 1);
    // one stream per example: golden-ratio spacing keeps neighbouring seeds apart
    let stream = seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rng = StdRng::seed_from_u64(stream);
    rand::seq::index::sample(&mut rng, pool_len - 1, k)
        .into_iter()
        .map(|j| if j >= index { j + 1 } else { j })
        .collect()
}

/// The shots of `pool[index]` (see [`choose_shots`]). Only examples with a reference can be
/// shots: in a pool that has [prompts alone](super::example::GroundTruth::PromptOnly), the
/// shots are chosen the same way among the labelled examples other than `pool[index]` (a pool
/// of prompts alone gives none: zero-shot, as suits an instruct model's chat template).
pub fn shots_for(pool: &[Example], index: usize, k: usize, seed: u64) -> Vec<&Example> {
    if pool.iter().all(Example::has_ground_truth) {
        return choose_shots(pool.len(), index, k, seed)
            .into_iter()
            .map(|j| &pool[j])
            .collect();
    }
    // the labelled examples, with the one at `index` (if labelled) first so that it is
    // never chosen: choose_shots(…, 0, …) leaves out position 0
    let mut candidates: Vec<usize> = (0..pool.len())
        .filter(|&j| j != index && pool[j].has_ground_truth())
        .collect();
    candidates.insert(0, index);
    choose_shots(candidates.len(), 0, k, seed ^ index as u64)
        .into_iter()
        .map(|j| &pool[candidates[j]])
        .collect()
}

/// Chat rendering: for each shot a user turn (its prompt) and an assistant turn (its
/// reference), then the user turn `prompt`. Apply the chat template with
/// `add_generation_prompt = true`.
pub fn chat_messages(shots: &[&Example], prompt: &str) -> Vec<Message> {
    let mut messages = Vec::with_capacity(2 * shots.len() + 1);
    for s in shots {
        messages.push(Message::user(s.prompt.trim_end()));
        messages.push(Message::assistant(s.reference.trim_end()));
    }
    messages.push(Message::user(prompt.trim_end()));
    messages
}

/// Plain rendering: `Q: <prompt>\nA: <reference>\n\n` per shot, then `Q: <prompt>\nA:`.
pub fn plain_text(shots: &[&Example], prompt: &str) -> String {
    let mut text = String::new();
    for s in shots {
        text.push_str("Q: ");
        text.push_str(s.prompt.trim_end());
        text.push_str("\nA: ");
        text.push_str(s.reference.trim_end());
        text.push_str("\n\n");
    }
    text.push_str("Q: ");
    text.push_str(prompt.trim_end());
    text.push_str("\nA:");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Domain;
    use crate::dataset::judge::test_data::{MATH_0001, example};

    #[test]
    fn four_distinct_shots_never_the_example_itself() {
        for index in 0..10 {
            for seed in 0..20 {
                let s = choose_shots(10, index, 4, seed);
                assert_eq!(s.len(), 4);
                assert!(!s.contains(&index), "index {index} seed {seed}: {s:?}");
                assert!(s.iter().all(|&j| j < 10));
                let mut d = s.clone();
                d.sort();
                d.dedup();
                assert_eq!(d.len(), 4, "{s:?}");
            }
        }
    }

    #[test]
    fn small_pools_give_what_there_is() {
        assert_eq!(choose_shots(1, 0, 4, 0), Vec::<usize>::new());
        assert_eq!(choose_shots(0, 0, 4, 0), Vec::<usize>::new());
        let mut s = choose_shots(3, 1, 4, 5);
        s.sort();
        assert_eq!(s, [0, 2]);
        // a pool of exactly k + 1: every other example, once
        let mut s = choose_shots(5, 4, 4, 9);
        s.sort();
        assert_eq!(s, [0, 1, 2, 3]);
    }

    #[test]
    fn the_seed_decides() {
        assert_eq!(choose_shots(100, 7, 4, 3), choose_shots(100, 7, 4, 3));
        let by_seed: Vec<Vec<usize>> = (0..5).map(|s| choose_shots(100, 7, 4, s)).collect();
        assert!(by_seed.windows(2).any(|w| w[0] != w[1]), "{by_seed:?}");
        // neighbouring examples get different shots with the same seed
        assert_ne!(choose_shots(100, 7, 4, 3), choose_shots(100, 8, 4, 3));
    }

    fn ex(id: &str, prompt: &str, reference: &str) -> Example {
        let mut e = example(MATH_0001);
        e.id = id.into();
        e.prompt = prompt.into();
        e.reference = reference.into();
        e
    }

    /// A pool of three labelled examples and two prompts alone: a prompt alone gets the three
    /// labelled ones (k = 4 asks for more than there are), a labelled one the other two, and
    /// no prompt alone is ever a shot; a pool of prompts alone gives none.
    #[test]
    fn prompts_alone_are_never_shots() {
        let mut pool: Vec<Example> = ["a", "b", "c", "p", "q"]
            .iter()
            .map(|id| ex(id, "?", "ref"))
            .collect();
        for e in &mut pool[3..] {
            e.ground_truth = crate::dataset::example::GroundTruth::PromptOnly(Domain::Math);
            e.reference.clear();
        }
        let ids = |shots: Vec<&Example>| {
            let mut v: Vec<String> = shots.iter().map(|e| e.id.clone()).collect();
            v.sort();
            v
        };
        for seed in 0..20 {
            assert_eq!(ids(shots_for(&pool, 3, 4, seed)), ["a", "b", "c"]);
            assert_eq!(ids(shots_for(&pool, 4, 2, seed)).len(), 2);
            assert!(
                ids(shots_for(&pool, 4, 2, seed))
                    .iter()
                    .all(|i| i != "p" && i != "q")
            );
            assert_eq!(ids(shots_for(&pool, 0, 4, seed)), ["b", "c"]);
            assert!(shots_for(&pool[3..], 0, 4, seed).is_empty());
        }
    }

    #[test]
    fn plain_rendering_by_hand() {
        let a = ex("a", "1+1?", "1+1 = 2\n#### 2\n");
        let b = ex("b", "2*3?", "2*3 = 6\n#### 6");
        assert_eq!(
            plain_text(&[&a, &b], "5-1?"),
            "Q: 1+1?\nA: 1+1 = 2\n#### 2\n\nQ: 2*3?\nA: 2*3 = 6\n#### 6\n\nQ: 5-1?\nA:"
        );
        assert_eq!(PromptFormat::Plain.stop_strings(), ["\nQ:"]);
        assert!(PromptFormat::Chat.stop_strings().is_empty());
    }

    #[test]
    fn chat_rendering_through_chatml_by_hand() {
        let a = ex("a", "1+1?", "#### 2");
        let b = ex("b", "2*3?", "#### 6");
        let msgs = chat_messages(&[&a, &b], "5-1?");
        let roles: Vec<&str> = msgs.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["user", "assistant", "user", "assistant", "user"]);
        let text = crate::chat::ChatTemplate::chatml()
            .render(&msgs, true)
            .unwrap();
        assert_eq!(
            text,
            "<|im_start|>user\n1+1?<|im_end|>\n<|im_start|>assistant\n#### 2<|im_end|>\n\
             <|im_start|>user\n2*3?<|im_end|>\n<|im_start|>assistant\n#### 6<|im_end|>\n\
             <|im_start|>user\n5-1?<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn format_names() {
        assert_eq!(
            "plain".parse::<PromptFormat>().unwrap(),
            PromptFormat::Plain
        );
        assert_eq!("chat".parse::<PromptFormat>().unwrap(), PromptFormat::Chat);
        assert!("xml".parse::<PromptFormat>().is_err());
    }
}
