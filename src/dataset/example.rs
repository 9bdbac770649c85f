//! The `Example` record: one prompt with its reference answer and domain-specific ground truth.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::domain::Domain;
use super::truth::{BioTruth, CodeTruth, MathTruth, MedicineTruth};

/// One dataset example, as stored in `datasets/<domain>/<split>.jsonl`.
///
/// On disk: `{"id", "domain", "prompt", "reference", "ground_truth"}` where `domain` decides the
/// shape of `ground_truth`; in Rust the domain is carried by the [`GroundTruth`] variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Unique id (e.g. `math-0001-03`, `bio-werner-karl-heisenberg`).
    pub id: String,
    /// The question put to the model.
    pub prompt: String,
    /// The ground-truth answer text (used for SFT "Unchanged" targets and few-shot pairs).
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
}

impl GroundTruth {
    /// The domain this ground truth belongs to.
    pub fn domain(&self) -> Domain {
        match self {
            GroundTruth::Math(_) => Domain::Math,
            GroundTruth::Bio(_) => Domain::Bio,
            GroundTruth::Code(_) => Domain::Code,
            GroundTruth::Medicine(_) => Domain::Medicine,
        }
    }
}

impl Example {
    /// The example's domain.
    pub fn domain(&self) -> Domain {
        self.ground_truth.domain()
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
            GroundTruth::Bio(_) | GroundTruth::Code(_) => {}
        }
        Ok(())
    }
}

/// The record as it is on disk (reading).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExample {
    id: String,
    domain: Domain,
    prompt: String,
    reference: String,
    ground_truth: serde_json::Value,
}

/// The record as it is on disk (writing).
#[derive(Serialize)]
struct RawExampleRef<'a> {
    domain: Domain,
    ground_truth: TruthRef<'a>,
    id: &'a str,
    prompt: &'a str,
    reference: &'a str,
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
            GroundTruth::Math(t) => TruthRef::Math(t),
            GroundTruth::Bio(t) => TruthRef::Bio(t),
            GroundTruth::Code(t) => TruthRef::Code(t),
            GroundTruth::Medicine(t) => TruthRef::Medicine(t),
        };
        RawExampleRef {
            domain: self.domain(),
            ground_truth,
            id: &self.id,
            prompt: &self.prompt,
            reference: &self.reference,
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
        let ground_truth = match raw.domain {
            Domain::Math => {
                GroundTruth::Math(serde_json::from_value(raw.ground_truth).map_err(truth)?)
            }
            Domain::Bio => {
                GroundTruth::Bio(serde_json::from_value(raw.ground_truth).map_err(truth)?)
            }
            Domain::Code => {
                GroundTruth::Code(serde_json::from_value(raw.ground_truth).map_err(truth)?)
            }
            Domain::Medicine => {
                GroundTruth::Medicine(serde_json::from_value(raw.ground_truth).map_err(truth)?)
            }
        };
        let example = Example {
            id: raw.id,
            prompt: raw.prompt,
            reference: raw.reference,
            ground_truth,
        };
        example
            .validate()
            .map_err(|m| D::Error::custom(format!("{}: {m}", example.id)))?;
        Ok(example)
    }
}
