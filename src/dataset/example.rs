//! The `Example` record: one prompt with its reference answer and domain-specific ground truth,
//! or a prompt alone ([`GroundTruth::PromptOnly`]: a user's own prompt, labelled without ground
//! truth; book: "Labels without ground truth").

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::domain::Domain;
use super::truth::{BioTruth, CodeTruth, MathTruth, MedicineTruth};

/// One dataset example, as stored in `datasets/<domain>/<split>.jsonl`.
///
/// On disk: `{"id", "domain", "prompt", "reference", "ground_truth"}` where `domain` decides the
/// shape of `ground_truth`; in Rust the domain is carried by the [`GroundTruth`] variant. A
/// prompt alone is `{"id", "domain", "prompt"}` (no `reference`, no `ground_truth`): it can be
/// sampled, labelled by agreement (`judge --reference-free`) and aligned with HALT, but neither
/// judged against ground truth, nor used as a few-shot pair, nor an `unchanged` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Unique id (e.g. `math-0001-03`, `bio-werner-karl-heisenberg`).
    pub id: String,
    /// The question put to the model.
    pub prompt: String,
    /// The ground-truth answer text (used for SFT "Unchanged" targets and few-shot pairs); empty
    /// for a [prompt alone](GroundTruth::PromptOnly).
    pub reference: String,
    /// What the judge checks; its variant is the example's domain.
    pub ground_truth: GroundTruth,
}

/// Domain-specific ground truth of an [`Example`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroundTruth {
    /// Maths: steps, calculations and the final answer.
    Math(MathTruth),
    /// Biographies: structured facts about a laureate.
    Bio(BioTruth),
    /// Code: entry point and tests.
    Code(CodeTruth),
    /// Medicine: options and answer key.
    Medicine(MedicineTruth),
    /// No ground truth and no reference: a prompt of this domain alone.
    PromptOnly(Domain),
}

impl GroundTruth {
    /// The domain this ground truth belongs to.
    pub fn domain(&self) -> Domain {
        match self {
            GroundTruth::Math(_) => Domain::Math,
            GroundTruth::Bio(_) => Domain::Bio,
            GroundTruth::Code(_) => Domain::Code,
            GroundTruth::Medicine(_) => Domain::Medicine,
            GroundTruth::PromptOnly(d) => *d,
        }
    }
}

impl Example {
    /// The example's domain.
    pub fn domain(&self) -> Domain {
        self.ground_truth.domain()
    }

    /// Whether the example has a reference answer and ground truth (it is not a
    /// [prompt alone](GroundTruth::PromptOnly)).
    pub fn has_ground_truth(&self) -> bool {
        !matches!(self.ground_truth, GroundTruth::PromptOnly(_))
    }

    /// The maths ground truth, if this is a maths example.
    pub fn math(&self) -> Option<&MathTruth> {
        match &self.ground_truth {
            GroundTruth::Math(t) => Some(t),
            _ => None,
        }
    }

    /// The biography ground truth, if this is a bio example.
    pub fn bio(&self) -> Option<&BioTruth> {
        match &self.ground_truth {
            GroundTruth::Bio(t) => Some(t),
            _ => None,
        }
    }

    /// The code ground truth, if this is a code example.
    pub fn code(&self) -> Option<&CodeTruth> {
        match &self.ground_truth {
            GroundTruth::Code(t) => Some(t),
            _ => None,
        }
    }

    /// The medicine ground truth, if this is a medicine example.
    pub fn medicine(&self) -> Option<&MedicineTruth> {
        match &self.ground_truth {
            GroundTruth::Medicine(t) => Some(t),
            _ => None,
        }
    }

    /// Checks what serde cannot: the stored counts agree with the lists they count, every
    /// calculation points at an existing step, and the medicine answer text is the keyed option.
    pub fn validate(&self) -> Result<(), String> {
        match &self.ground_truth {
            GroundTruth::Math(t) => {
                if t.num_steps != t.steps.len() {
                    return Err(format!(
                        "num_steps is {} but there are {} steps",
                        t.num_steps,
                        t.steps.len()
                    ));
                }
                if t.num_calculations != t.calculations.len() {
                    return Err(format!(
                        "num_calculations is {} but there are {} calculations",
                        t.num_calculations,
                        t.calculations.len()
                    ));
                }
                if let Some(c) = t.calculations.iter().find(|c| c.step >= t.steps.len()) {
                    return Err(format!(
                        "calculation `{}` points at missing step {}",
                        c.expr, c.step
                    ));
                }
                if t.generated != (t.instance > 0) {
                    return Err("`generated` must be true exactly when `instance` > 0".into());
                }
            }
            GroundTruth::Medicine(t) => {
                if t.options[t.answer.index()] != t.answer_text {
                    return Err(format!("answer_text is not option {}", t.answer.letter()));
                }
            }
            GroundTruth::Bio(t) if t.prizes.is_empty() => {
                return Err("a laureate without prizes".into());
            }
            GroundTruth::Bio(_) | GroundTruth::Code(_) | GroundTruth::PromptOnly(_) => {}
        }
        Ok(())
    }
}

/// What evaluation says of a prompt alone: its answers are judged against ground truth.
pub const EVAL_NEEDS_GROUND_TRUTH: &str = "evaluation judges answers against ground truth, so \
     every evaluated example needs its reference and ground truth";

/// Checks that no example of `examples` is a [prompt alone](GroundTruth::PromptOnly); `why`
/// says what needs the ground truth.
///
/// # Errors
/// The first prompt alone, named, with `why`.
pub fn require_ground_truth(examples: &[Example], why: &str) -> anyhow::Result<()> {
    match examples.iter().find(|e| !e.has_ground_truth()) {
        Some(e) => anyhow::bail!(
            "example `{}` is a prompt alone (no reference, no ground truth): {why}",
            e.id
        ),
        None => Ok(()),
    }
}

/// The record as it is on disk (reading).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExample {
    id: String,
    domain: Domain,
    prompt: String,
    reference: Option<String>,
    ground_truth: Option<serde_json::Value>,
}

/// The record as it is on disk (writing).
#[derive(Serialize)]
struct RawExampleRef<'a> {
    domain: Domain,
    #[serde(skip_serializing_if = "Option::is_none")]
    ground_truth: Option<TruthRef<'a>>,
    id: &'a str,
    prompt: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum TruthRef<'a> {
    Math(&'a MathTruth),
    Bio(&'a BioTruth),
    Code(&'a CodeTruth),
    Medicine(&'a MedicineTruth),
}

impl Serialize for Example {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let ground_truth = match &self.ground_truth {
            GroundTruth::Math(t) => Some(TruthRef::Math(t)),
            GroundTruth::Bio(t) => Some(TruthRef::Bio(t)),
            GroundTruth::Code(t) => Some(TruthRef::Code(t)),
            GroundTruth::Medicine(t) => Some(TruthRef::Medicine(t)),
            GroundTruth::PromptOnly(_) => None,
        };
        RawExampleRef {
            domain: self.domain(),
            reference: ground_truth.as_ref().map(|_| self.reference.as_str()),
            ground_truth,
            id: &self.id,
            prompt: &self.prompt,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Example {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = RawExample::deserialize(deserializer)?;
        let truth =
            |e: serde_json::Error| D::Error::custom(format!("ground_truth ({}): {e}", raw.domain));
        let (reference, value) = match (raw.reference, raw.ground_truth) {
            (Some(r), Some(v)) => (r, v),
            (None, None) => {
                return Ok(Example {
                    id: raw.id,
                    prompt: raw.prompt,
                    reference: String::new(),
                    ground_truth: GroundTruth::PromptOnly(raw.domain),
                });
            }
            (Some(_), None) => {
                return Err(D::Error::custom(format!(
                    "{}: a `reference` without `ground_truth` (give both, or neither for a \
                     prompt alone)",
                    raw.id
                )));
            }
            (None, Some(_)) => {
                return Err(D::Error::custom(format!(
                    "{}: `ground_truth` without a `reference` (give both, or neither for a \
                     prompt alone)",
                    raw.id
                )));
            }
        };
        let ground_truth = match raw.domain {
            Domain::Math => GroundTruth::Math(serde_json::from_value(value).map_err(truth)?),
            Domain::Bio => GroundTruth::Bio(serde_json::from_value(value).map_err(truth)?),
            Domain::Code => GroundTruth::Code(serde_json::from_value(value).map_err(truth)?),
            Domain::Medicine => {
                GroundTruth::Medicine(serde_json::from_value(value).map_err(truth)?)
            }
        };
        let example = Example {
            id: raw.id,
            prompt: raw.prompt,
            reference,
            ground_truth,
        };
        example
            .validate()
            .map_err(|m| D::Error::custom(format!("{}: {m}", example.id)))?;
        Ok(example)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A prompt alone reads as `PromptOnly` of its domain with an empty reference and writes
    /// back without `reference` and `ground_truth`; half of the pair is an error naming the id.
    #[test]
    fn a_prompt_alone_reads_writes_and_half_a_pair_is_refused() {
        let line = r#"{"domain":"math","id":"mine-1","prompt":"What is 2 + 2?"}"#;
        let e: Example = serde_json::from_str(line).unwrap();
        assert_eq!(e.ground_truth, GroundTruth::PromptOnly(Domain::Math));
        assert_eq!((e.domain(), e.reference.as_str()), (Domain::Math, ""));
        assert!(!e.has_ground_truth() && e.math().is_none());
        assert_eq!(serde_json::to_string(&e).unwrap(), line);
        let half = r#"{"domain":"bio","id":"b","prompt":"Who?","reference":"Someone."}"#;
        let err = serde_json::from_str::<Example>(half)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("b: a `reference` without `ground_truth`"),
            "{err}"
        );
        let half = r#"{"domain":"math","id":"m","prompt":"?","ground_truth":{}}"#;
        let err = serde_json::from_str::<Example>(half)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("m: `ground_truth` without a `reference`"),
            "{err}"
        );
    }
}
