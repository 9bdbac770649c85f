//! The judges' settings as they appear in a settings file (`[judge]` in `halt-llm run`'s TOML)
//! and on the command line (`halt-llm judge`/`eval --llm-url …`): one type for both, turned
//! into the live [`JudgeConfig`] by [`JudgeSettings::judge_config`].

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::JudgeConfig;
use super::llm::{LlmConfig, LlmJudge};
use super::sandbox::SandboxLimits;
use crate::settings;

/// Settings of the judges: the optional LLM judge (paper §"Judge": a strong LLM compares each
/// fragment with the ground truth) and the code sandbox's limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JudgeSettings {
    /// OpenAI-compatible chat-completions endpoint of an LLM judge (`None`: the rule-based
    /// judges only). Needs `llm_model`.
    pub llm_url: Option<String>,
    /// Model name sent to the LLM judge.
    pub llm_model: Option<String>,
    /// Environment variable that holds the LLM judge's API key (its value is never stored).
    pub llm_api_key_env: Option<String>,
    /// Folder for the LLM judge's verdict cache (`None`: no cache).
    pub llm_cache: Option<PathBuf>,
    /// Wall-clock limit of one sandboxed program run, in seconds: in (0, 3600]
    /// ([`settings::seconds`]).
    pub sandbox_seconds: f64,
    /// Address-space limit of one sandboxed program run, in MiB: from 64 MiB to 1 TiB
    /// (1,048,576 MiB; [`settings::memory_mib`]).
    pub sandbox_memory_mib: u64,
    /// The Python interpreter the code judge runs: Python 3.8 or later, probed before any work
    /// where code is judged ([`JudgeSettings::check_interpreter`], [`settings::python`]).
    pub python: String,
}

impl Default for JudgeSettings {
    fn default() -> Self {
        let limits = SandboxLimits::default();
        JudgeSettings {
            llm_url: None,
            llm_model: None,
            llm_api_key_env: None,
            llm_cache: None,
            sandbox_seconds: limits.wall.as_secs_f64(),
            sandbox_memory_mib: limits.memory_bytes >> 20,
            python: limits.python,
        }
    }
}

impl JudgeSettings {
    /// Checks the settings with the [`settings`] rules (the interpreter is not started: only
    /// the code judge needs it, see [`JudgeSettings::check_interpreter`]).
    ///
    /// # Errors
    /// An LLM endpoint without a model (or the reverse), a time limit outside (0, 3600] s, a
    /// memory limit outside [64 MiB, 1 TiB], an empty interpreter name.
    pub fn validate(&self) -> Result<()> {
        self.sandbox_limits().map(|_| ())
    }

    /// Runs the interpreter once to read its version: checked before any work by the commands
    /// that judge code (the `code` domain), since the sandbox needs Python 3.8 or later.
    ///
    /// # Errors
    /// An interpreter that does not run or is older than Python 3.8, naming `judge.python`.
    pub fn check_interpreter(&self) -> Result<()> {
        settings::python("judge.python", &self.python)
    }

    /// The sandbox limits of these settings, checked ([`JudgeSettings::validate`]).
    fn sandbox_limits(&self) -> Result<SandboxLimits> {
        match (&self.llm_url, &self.llm_model) {
            (Some(_), None) => bail!("judge.llm_url needs judge.llm_model"),
            (None, Some(_)) => bail!("judge.llm_model needs judge.llm_url"),
            _ => {}
        }
        if self.llm_url.is_none() && (self.llm_api_key_env.is_some() || self.llm_cache.is_some()) {
            bail!("judge.llm_api_key_env and judge.llm_cache need judge.llm_url");
        }
        let wall = settings::seconds("judge.sandbox_seconds", self.sandbox_seconds)?;
        let memory_bytes =
            settings::memory_mib("judge.sandbox_memory_mib", self.sandbox_memory_mib)?;
        if self.python.trim().is_empty() {
            bail!("judge.python is empty");
        }
        Ok(SandboxLimits {
            wall,
            memory_bytes,
            python: self.python.clone(),
        })
    }

    /// The live judge configuration: the sandbox limits, and the LLM judge when an endpoint is
    /// set (its API key is read from the environment now).
    ///
    /// # Errors
    /// Invalid settings ([`JudgeSettings::validate`]); a configured key variable that is not
    /// set.
    pub fn judge_config(&self) -> Result<JudgeConfig> {
        let mut config = JudgeConfig {
            llm: None,
            sandbox: self.sandbox_limits()?,
        };
        if let (Some(url), Some(model)) = (&self.llm_url, &self.llm_model) {
            let mut llm = LlmConfig::new(url.clone(), model.clone());
            llm.api_key_env = self.llm_api_key_env.clone();
            llm.cache_dir = self.llm_cache.clone();
            config.llm = Some(Arc::new(LlmJudge::new(llm)?));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn defaults_are_the_sandbox_defaults_and_no_llm() {
        let c = JudgeSettings::default().judge_config().unwrap();
        assert!(c.llm.is_none());
        assert_eq!(c.sandbox, SandboxLimits::default());
    }

    #[test]
    fn incomplete_llm_settings_are_refused() {
        let s = JudgeSettings {
            llm_url: Some("http://127.0.0.1:8080/v1".into()),
            ..JudgeSettings::default()
        };
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "judge.llm_url needs judge.llm_model"
        );
        let s = JudgeSettings {
            sandbox_seconds: 0.0,
            ..JudgeSettings::default()
        };
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("sandbox_seconds")
        );
    }

    #[test]
    fn sandbox_limits_are_bounded_and_the_interpreter_probed() {
        let check = |s: JudgeSettings| format!("{:#}", s.judge_config().unwrap_err());
        let d = JudgeSettings::default;
        for (seconds, shown) in [
            (1e12, "1000000000000"),
            (1e30, "1000000000000000000000000000000"),
            (0.0, "0"),
        ] {
            assert_eq!(
                check(JudgeSettings {
                    sandbox_seconds: seconds,
                    ..d()
                }),
                format!("judge.sandbox_seconds must be in (0, 3600] seconds, got {shown}")
            );
        }
        // 2^44 MiB = 2^64 bytes, which wrapped to 0 before
        assert_eq!(
            check(JudgeSettings {
                sandbox_memory_mib: 1 << 44,
                ..d()
            }),
            "judge.sandbox_memory_mib must be at most 1048576, got 17592186044416"
        );
        // the interpreter is probed only where code is judged
        let missing = JudgeSettings {
            python: "/nonexistent/python3".into(),
            ..d()
        };
        missing.validate().unwrap();
        assert_eq!(
            format!("{:#}", missing.check_interpreter().unwrap_err()),
            "judge.python = \"/nonexistent/python3\": cannot run it: No such file or directory \
             (os error 2) (the code judge needs Python 3.8 or later)"
        );
        // the largest limits pass and reach the sandbox exactly
        let c = JudgeSettings {
            sandbox_seconds: 3600.0,
            sandbox_memory_mib: 1 << 20,
            ..d()
        }
        .judge_config()
        .unwrap();
        assert_eq!(
            (c.sandbox.wall, c.sandbox.memory_bytes),
            (Duration::from_secs(3600), 1 << 40)
        );
    }
}
