//! Serde of the run settings' stage tables (`[sample]`, `[train]`, `[eval]`): each is the
//! stage's own settings type, and a key left out takes the run preset's value.

use crate::dataset::sample::SampleSettings;
use crate::eval::answer_stage::EvalSettings;
use crate::train::{LoraSettings, TrainConfig};

/// Serde of a stage's table in the run settings: keys left out take the preset's values
/// (not the type's `Default`); `refused` keys are errors (with why).
mod table {
    use serde::de::{DeserializeOwned, Error as _};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// A table whose keys keep the order given (`toml::Table` sorts them).
    pub(super) struct Ordered(pub(super) Vec<(String, Entry)>);

    /// A value of an [`Ordered`] table.
    pub(super) enum Entry {
        Value(toml::Value),
        Table(Ordered),
    }

    impl Serialize for Ordered {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                match v {
                    Entry::Value(v) => m.serialize_entry(k, v)?,
                    Entry::Table(t) => m.serialize_entry(k, t)?,
                }
            }
            m.end()
        }
    }

    /// `value` as a table, made through TOML text so that an `f32` reads as written (`0.7`,
    /// not its exact binary value).
    fn table_of<T: Serialize>(value: &T) -> Result<(String, toml::Table), String> {
        let text = toml::to_string(value).map_err(|e| e.to_string())?;
        let table = toml::from_str(&text).map_err(|e| e.to_string())?;
        Ok((text, table))
    }

    /// The keys of `table` in the order they first appear in `text` (`key = …` or a
    /// `[path.key]` header), nested tables likewise within their section.
    fn ordered(table: toml::Table, text: &str, path: &str) -> Ordered {
        let at = |k: &str| {
            [format!("\n{k} = "), format!("\n[{path}{k}]")]
                .iter()
                .filter_map(|p| text.find(p.as_str()))
                .min()
                .unwrap_or(usize::MAX)
        };
        let mut entries: Vec<(String, Entry)> = table
            .into_iter()
            .map(|(k, v)| {
                let e = match v {
                    toml::Value::Table(t) => {
                        let header = format!("\n[{path}{k}]");
                        let section = text.find(&header).map_or("", |i| &text[i..]);
                        Entry::Table(ordered(t, section, &format!("{path}{k}.")))
                    }
                    v => Entry::Value(v),
                };
                (k, e)
            })
            .collect();
        entries.sort_by_key(|(k, _)| at(k));
        Ordered(entries)
    }

    /// The table of `value` without the keys `skip`, in the order of the fields.
    pub(super) fn to_table<T: Serialize, E: serde::ser::Error>(
        value: &T,
        skip: &[&str],
    ) -> Result<Ordered, E> {
        let (text, mut table) = table_of(value).map_err(E::custom)?;
        for k in skip {
            table.remove(*k);
        }
        Ok(ordered(table, &format!("\n{text}"), ""))
    }

    pub(super) fn serialize<T: Serialize, S: Serializer>(
        value: &T,
        skip: &[&str],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        to_table::<T, S::Error>(value, skip)?.serialize(s)
    }

    /// The table given, before it is laid over the preset.
    pub(super) fn given<'de, D: Deserializer<'de>>(
        d: D,
        refused: &[(&str, &str)],
    ) -> Result<toml::Table, D::Error> {
        let given = toml::Table::deserialize(d)?;
        for (k, why) in refused {
            if given.contains_key(*k) {
                return Err(D::Error::custom(format!("`{k}` is not set here: {why}")));
            }
        }
        Ok(given)
    }

    /// `given` laid over `preset`, key by key (a nested table is replaced whole).
    pub(super) fn over<T: Serialize + DeserializeOwned, E: serde::de::Error>(
        preset: &T,
        given: toml::Table,
    ) -> Result<T, E> {
        let (_, mut base) = table_of(preset).map_err(E::custom)?;
        for (k, v) in given {
            base.insert(k, v);
        }
        toml::Value::Table(base).try_into().map_err(E::custom)
    }
}

/// `[sample]`: [`SampleSettings`] over [`SampleSettings::pipeline_default`].
pub(super) mod sample_table {
    use super::{SampleSettings, table};
    use serde::{Deserializer, Serializer};

    const REFUSED: [(&str, &str); 1] = [("seed", "the run's `seed` (top level) seeds every stage")];

    pub fn serialize<S: Serializer>(v: &SampleSettings, s: S) -> Result<S::Ok, S::Error> {
        table::serialize(v, &[], s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SampleSettings, D::Error> {
        table::over(
            &SampleSettings::pipeline_default(),
            table::given(d, &REFUSED)?,
        )
    }
}

/// `[eval]`: [`EvalSettings`] over [`EvalSettings::pipeline_default`].
pub(super) mod eval_table {
    use super::{EvalSettings, table};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &EvalSettings, s: S) -> Result<S::Ok, S::Error> {
        table::serialize(v, &[], s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<EvalSettings, D::Error> {
        table::over(&EvalSettings::pipeline_default(), table::given(d, &[])?)
    }
}

/// `[train]`: [`TrainConfig`] without its [`TrainConfig::INPUTS`], over
/// [`TrainConfig::small_lora`]. TOML has no "none", so full finetuning is `lora = false`; the
/// former `lora_rank = R` is read as `[train.lora]` of rank R.
pub(super) mod train_table {
    use super::{LoraSettings, TrainConfig, table};
    use serde::de::Error as _;
    use serde::{Deserializer, Serialize, Serializer};

    const REFUSED: [(&str, &str); 4] = [
        ("data", "the run trains each model on its own aligned file"),
        ("model", "the run finetunes its `model` (top level)"),
        ("seed", "the run's `seed` (top level) seeds every stage"),
        ("device", "the run's `device` (top level) runs every stage"),
    ];

    pub fn serialize<S: Serializer>(v: &TrainConfig, s: S) -> Result<S::Ok, S::Error> {
        let mut t = table::to_table::<_, S::Error>(v, &TrainConfig::INPUTS)?;
        if v.lora.is_none() {
            t.0.push((
                "lora".into(),
                table::Entry::Value(toml::Value::Boolean(false)),
            ));
        }
        t.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TrainConfig, D::Error> {
        let mut given = table::given(d, &REFUSED)?;
        if let Some(rank) = given.remove("lora_rank") {
            if given.contains_key("lora") {
                return Err(D::Error::custom(
                    "`lora_rank` (the former name of lora.rank) and `lora` are both given",
                ));
            }
            let rank = rank
                .as_integer()
                .and_then(|r| usize::try_from(r).ok())
                .ok_or_else(|| D::Error::custom("lora_rank must be a whole number"))?;
            let lora =
                toml::Value::try_from(LoraSettings::with_rank(rank)).map_err(D::Error::custom)?;
            given.insert("lora".into(), lora);
        }
        let full = given
            .get("lora")
            .is_some_and(|l| l.as_bool() == Some(false));
        if full {
            given.remove("lora");
        }
        let mut c: TrainConfig = table::over(&TrainConfig::small_lora(), given)?;
        if full {
            c.lora = None;
        }
        Ok(c)
    }
}
