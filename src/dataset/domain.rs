//! The four HALT domains and the two dataset splits.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::DatasetError;

/// A HALT domain: which source the examples come from and how the judge checks them.
///
/// Serialised in lower case (`"math"`, `"bio"`, `"code"`, `"medicine"`), as in the `domain` field
/// of every dataset record; any other value is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    /// Grade-school maths word problems (GSM8K / GSM-Symbolic); dependent solution steps.
    Math,
    /// Biographies of Nobel laureates; independent factual claims.
    Bio,
    /// Python programming problems (HumanEval); checked by running tests.
    Code,
    /// Medical multiple-choice questions (MMLU medical subjects).
    Medicine,
}

impl Domain {
    /// Every domain, in a fixed order.
    pub const ALL: [Domain; 4] = [Domain::Math, Domain::Bio, Domain::Code, Domain::Medicine];

    /// The lower-case name used in file paths and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Math => "math",
            Domain::Bio => "bio",
            Domain::Code => "code",
            Domain::Medicine => "medicine",
        }
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Domain {
    type Err = DatasetError;

    /// Parses `math`, `bio`, `code` or `medicine`; anything else is [`DatasetError::UnknownDomain`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Domain::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| DatasetError::UnknownDomain(s.to_string()))
    }
}

/// A dataset split: `train` (finetuning and few-shot pairs), `validation` (choosing settings
/// without looking at the test set; only some datasets have one, e.g. the generated chains) or
/// `test` (evaluation only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The training split (`train.jsonl`).
    Train,
    /// The validation split (`validation.jsonl`): held-out prompts for choosing settings.
    Validation,
    /// The held-out test split (`test.jsonl`).
    Test,
}

impl Split {
    /// Every split, train first.
    pub const ALL: [Split; 3] = [Split::Train, Split::Validation, Split::Test];

    /// The lower-case name, which is also the file stem (`train.jsonl`, `test.jsonl`).
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Split {
    type Err = DatasetError;

    /// Parses `train`, `validation` or `test`; anything else is [`DatasetError::UnknownSplit`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Split::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| DatasetError::UnknownSplit(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_round_trip_through_their_names() {
        for d in Domain::ALL {
            assert_eq!(d.as_str().parse::<Domain>().unwrap(), d);
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{d}\""));
        }
    }

    #[test]
    fn unknown_domain_is_an_error() {
        let err = "chemistry".parse::<Domain>().unwrap_err();
        assert!(matches!(err, DatasetError::UnknownDomain(ref s) if s == "chemistry"));
        assert!(err.to_string().contains("chemistry"), "{err}");
        assert!("Math".parse::<Domain>().is_err(), "names are lower case");
        assert!(serde_json::from_str::<Domain>("\"physics\"").is_err());
    }

    #[test]
    fn splits_parse() {
        assert_eq!("train".parse::<Split>().unwrap(), Split::Train);
        assert_eq!("test".parse::<Split>().unwrap(), Split::Test);
        assert_eq!("validation".parse::<Split>().unwrap(), Split::Validation);
        assert!(matches!(
            "dev".parse::<Split>(),
            Err(DatasetError::UnknownSplit(_))
        ));
    }
}
