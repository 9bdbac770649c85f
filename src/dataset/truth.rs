//! The domain-specific ground truth of an [`Example`](super::Example): what the judge checks.
//!
//! Each struct mirrors the `ground_truth` object written by `datasets/prepare.py` (documented in
//! `datasets/<domain>/README.md`). Unknown fields are rejected, so nothing in a file is dropped
//! without notice.

use serde::{Deserialize, Serialize};

/// Ground truth of a maths problem: the solution's steps, every calculation and the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MathTruth {
    /// The GSM-Symbolic template (file stem, e.g. `0001`); the split is made by template.
    pub template: String,
    /// The package's `id_orig` of the template's original GSM8K problem.
    pub source_index: u32,
    /// 0 for the original problem, 1.. for instances generated from the template.
    pub instance: u32,
    /// Whether the example was generated from the template (`instance > 0`).
    pub generated: bool,
    /// The solution lines before `####`, with the `<<expr=value>>` annotations removed.
    pub steps: Vec<String>,
    /// Every `<<expr=value>>` calculation of the solution, in order.
    pub calculations: Vec<Calculation>,
    /// The number of steps (`steps.len()`).
    pub num_steps: usize,
    /// The number of calculations (`calculations.len()`): a measure of difficulty.
    pub num_calculations: usize,
    /// The final answer (the number after `####`), as written.
    pub answer: String,
    /// For generated instances: the template's answer expression with the variables replaced by
    /// their values (arithmetic with `int`, `round`, `ensure_int`); `None` for originals.
    pub answer_expr: Option<String>,
}

/// One `<<expr=value>>` calculation of a maths solution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calculation {
    /// Index into [`MathTruth::steps`] of the step that makes this calculation.
    pub step: usize,
    /// The arithmetic expression (e.g. `42/3`).
    pub expr: String,
    /// Its value as written (e.g. `14`, `2.5`): an intermediate value a correct answer may use.
    pub value: String,
}

/// Ground truth of a biography: structured facts about one Nobel laureate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BioTruth {
    /// The laureate's full name as the source writes it.
    pub name: String,
    /// Birth date, ISO `YYYY-MM-DD`.
    pub birth_date: String,
    /// Birthplace (city, sometimes with a state code or a "(now ...)" note).
    pub birth_place: String,
    /// Country of birth as the source writes it (e.g. `Prussia (now Poland)`).
    pub birth_country: String,
    /// The prizes received (two for the few double laureates), in prize-year order.
    pub prizes: Vec<Prize>,
}

/// One Nobel Prize of a laureate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prize {
    /// The prize year.
    pub year: u16,
    /// The category (`physics`, `chemistry`, `medicine`, `literature`, `peace`, `economics`).
    pub category: String,
    /// The prize's full name (e.g. `The Nobel Prize in Physics`).
    pub prize_name: String,
    /// The official motivation sentence.
    pub motivation: String,
}

/// Ground truth of a programming problem: what is needed to run its tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeTruth {
    /// The source's task id (e.g. `HumanEval/0`).
    pub task_id: String,
    /// The programming language (`python`).
    pub language: String,
    /// The function the tests call.
    pub entry_point: String,
    /// Test code defining `check(candidate)`; run `prompt + completion + test +
    /// "check(<entry_point>)"`.
    pub test: String,
}

/// Ground truth of a multiple-choice medical question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicineTruth {
    /// The MMLU subject (e.g. `clinical knowledge`).
    pub subject: String,
    /// The subject as a slug (e.g. `clinical-knowledge`).
    pub subject_id: String,
    /// The question without the options.
    pub question: String,
    /// The four options, A to D.
    pub options: [String; 4],
    /// The correct option.
    pub answer: OptionKey,
    /// The text of the correct option.
    pub answer_text: String,
    /// An explanation, where the source has one (MMLU has none).
    pub explanation: Option<String>,
    /// The 1-based line of the item in the source file.
    pub source_line: u32,
}

/// The letter of a multiple-choice option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OptionKey {
    /// The first option.
    A,
    /// The second option.
    B,
    /// The third option.
    C,
    /// The fourth option.
    D,
}

impl OptionKey {
    /// The option's position (A = 0 ... D = 3).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The letter as a char.
    pub fn letter(self) -> char {
        (b'A' + self as u8) as char
    }
}
