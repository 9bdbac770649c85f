//! The HALT data subcommands: `sample`, `fragment`, `judge`, `align`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use halt_llm::dataset::align::AlignConfig;
use halt_llm::dataset::align_stage::{AlignInputs, align_stage, method_name};
use halt_llm::dataset::fewshot::PromptFormat;
use halt_llm::dataset::fragment::{Splitter, fragments_json};
use halt_llm::dataset::judge::{JudgeConfig, JudgeSettings, judge_for};
use halt_llm::dataset::judge_stage::judge_stage;
use halt_llm::dataset::record::{AlignMethod, NullPolicy, UNSURE_MARKER};
use halt_llm::dataset::sample::{PromptSource, SampleConfig, SampleSettings, sample_stage};
use halt_llm::dataset::{DATASETS_DIR, Domain, Example, Split, dataset_path, load_examples};
use halt_llm::stage::StageReport;
use serde::de::DeserializeOwned;

use super::model::{ModelArgs, load};

/// Parses a serde enum from its JSON name (`wrong`, `random_trim`, ...).
pub fn serde_name<T: DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|e| e.to_string())
}

/// Which examples: domain, split and the datasets folder.
#[derive(Args, Clone)]
pub struct DataArgs {
    /// math, bio, code or medicine.
    #[arg(long)]
    domain: Domain,
    /// train, validation (datasets that have one) or test.
    #[arg(long, default_value = "train")]
    split: Split,
    /// Folder with `<domain>/<split>.jsonl`.
    #[arg(long, default_value = DATASETS_DIR)]
    datasets: PathBuf,
}

impl DataArgs {
    fn load(&self) -> Result<(Vec<Example>, PathBuf)> {
        let root = halt_llm::dataset::load::resolve_datasets_dir(&self.datasets);
        let path = dataset_path(&root, self.domain, self.split);
        Ok((load_examples(&path)?, path))
    }
}

/// `halt-llm sample`. Every setting left out comes from `--config`, or else from the
/// defaults shown by `--print-config`.
#[derive(Args)]
pub struct SampleArgs {
    /// math, bio, code or medicine.
    #[arg(long, required_unless_present = "print_config")]
    domain: Option<Domain>,
    /// train, validation (datasets that have one) or test.
    #[arg(long, default_value = "train")]
    split: Split,
    /// Folder with `<domain>/<split>.jsonl`.
    #[arg(long, default_value = DATASETS_DIR)]
    datasets: PathBuf,
    #[command(flatten)]
    model: ModelArgs,
    /// TOML file with the sampling settings (field names as in `--print-config`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Responses per example.
    #[arg(long)]
    n: Option<usize>,
    /// Only the first K examples of the split (the few-shot pool is still the whole split).
    #[arg(long)]
    limit: Option<usize>,
    /// Softmax temperature.
    #[arg(long)]
    temperature: Option<f32>,
    /// Nucleus sampling mass.
    #[arg(long)]
    top_p: Option<f32>,
    /// Maximum new tokens per response.
    #[arg(long)]
    max_new_tokens: Option<usize>,
    /// Seed of the sampler and the few-shot choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Few-shot pairs before each prompt.
    #[arg(long)]
    shots: Option<usize>,
    /// `chat` (the model's chat template) or `plain` (`Q: … A: …` text, for base models).
    #[arg(long)]
    format: Option<PromptFormat>,
    /// Examples per generation batch (each gives N sequences).
    #[arg(long)]
    batch_prompts: Option<usize>,
    /// Output JSON Lines file (resumed if it or its `.partial` exists).
    #[arg(long, required_unless_present = "print_config")]
    out: Option<PathBuf>,
    /// Print the resulting settings as TOML and exit.
    #[arg(long)]
    print_config: bool,
}

impl SampleArgs {
    /// The settings: the file (or the defaults), then the flags over it.
    fn settings(&self) -> Result<SampleSettings> {
        let mut s = match &self.config {
            Some(p) => SampleSettings::from_toml_file(p)?,
            None => SampleSettings::default(),
        };
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { s.$f = v; } )* };
        }
        set!(
            n,
            temperature,
            top_p,
            max_new_tokens,
            shots,
            format,
            batch_prompts
        );
        Ok(s)
    }
}

/// `halt-llm sample`: few-shot responses of the pretrained model.
pub fn sample(args: SampleArgs) -> Result<()> {
    let settings = args.settings()?;
    if args.print_config {
        print!("{}", settings.to_toml());
        return Ok(());
    }
    let (Some(domain), Some(out)) = (args.domain, args.out.clone()) else {
        bail!("--domain and --out are required");
    };
    // the settings first: a value out of range is the error, not a missing data file
    settings.validate()?;
    halt_llm::settings::limit(args.limit)?;
    let data = DataArgs {
        domain,
        split: args.split,
        datasets: args.datasets.clone(),
    };
    let (examples, path) = data.load()?;
    let mut cfg = SampleConfig {
        settings,
        seed: args.seed,
        limit: args.limit,
        model_name: String::new(),
        quiet: false,
        source: PromptSource::new(&path, "max_new_tokens"),
    };
    cfg.validate()?;
    let prompts = args.limit.map_or(examples.len(), |l| l.min(examples.len()));
    cfg.settings
        .check_memory("", &super::model::config(&args.model)?, Some(prompts))?;
    let (loaded, device) = load(&args.model)?;
    cfg.model_name = halt_llm::fetch::model_name(&loaded.source);
    let start = Instant::now();
    halt_llm::dataset::sample::check_made_with(&loaded, &cfg, &out)?;
    let r = sample_stage(&loaded, &device, &examples, &cfg, &out)?;
    let secs = start.elapsed().as_secs_f64();
    let responses = r.written * cfg.settings.n;
    eprintln!(
        "sample: {} examples ({} already done), wrote {} records = {responses} responses in {secs:.1} s \
         ({:.1} responses/min) to {}",
        r.total,
        r.skipped,
        r.written,
        responses as f64 * 60.0 / secs.max(1e-9),
        r.path.display()
    );
    Ok(())
}

/// `halt-llm fragment`.
#[derive(Args)]
pub struct FragmentArgs {
    /// claims or facts (independent: sentences, or biography facts), steps or lines (dependent).
    #[arg(long)]
    kind: Splitter,
}

/// `halt-llm fragment`: fragments of the text on stdin, as JSON.
pub fn fragment(args: FragmentArgs) -> Result<()> {
    let text = std::io::read_to_string(std::io::stdin()).context("reading stdin")?;
    println!("{}", fragments_json(&text, args.kind));
    Ok(())
}

/// `halt-llm judge`.
#[derive(Args)]
pub struct JudgeArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The sample stage's output.
    #[arg(long)]
    sampled: PathBuf,
    /// Output JSON Lines file (resumed if it or its `.partial` exists).
    #[arg(long)]
    out: PathBuf,
    /// How an undecided (`null`) verdict counts: wrong, correct or ignore.
    #[arg(long, default_value = "wrong", value_parser = serde_name::<NullPolicy>)]
    null_policy: NullPolicy,
    /// Label fragments by agreement across each prompt's own samples instead of against
    /// ground truth (no examples are read; see the book's "Labels without ground truth").
    #[arg(long)]
    reference_free: bool,
    /// With --reference-free: a fragment is correct when at least this many of the other
    /// samples contain it.
    #[arg(long, default_value_t = halt_llm::dataset::agreement::DEFAULT_MIN_SUPPORT, requires = "reference_free")]
    min_support: usize,
    #[command(flatten)]
    llm: LlmJudgeArgs,
}

/// The optional LLM judge (shared by `judge` and `eval`).
#[derive(Args, Clone)]
pub struct LlmJudgeArgs {
    /// OpenAI-compatible chat-completions endpoint of an LLM judge (optional).
    #[arg(long, requires = "llm_model")]
    llm_url: Option<String>,
    /// Model name sent to the LLM judge.
    #[arg(long, requires = "llm_url")]
    llm_model: Option<String>,
    /// Environment variable that holds the LLM judge's API key.
    #[arg(long, requires = "llm_url")]
    llm_api_key_env: Option<String>,
    /// Folder for the LLM judge's verdict cache.
    #[arg(long, requires = "llm_url")]
    llm_cache: Option<PathBuf>,
    /// Wall-clock limit of one sandboxed program run of the code judge, in seconds
    #[arg(long, default_value_t = JudgeSettings::default().sandbox_seconds)]
    sandbox_seconds: f64,
    /// Memory limit of one sandboxed program run of the code judge, in MiB
    #[arg(long, default_value_t = JudgeSettings::default().sandbox_memory_mib)]
    sandbox_memory_mib: u64,
    /// The Python interpreter the code judge runs (3.8 or later)
    #[arg(long, default_value_t = JudgeSettings::default().python)]
    python: String,
}

impl LlmJudgeArgs {
    /// The judges' settings ([`JudgeSettings`], the type of `run`'s `[judge]` table): the LLM
    /// judge when `--llm-url` is given, the code sandbox's limits and interpreter.
    pub fn judge_config(&self) -> Result<JudgeConfig> {
        JudgeSettings {
            llm_url: self.llm_url.clone(),
            llm_model: self.llm_model.clone(),
            llm_api_key_env: self.llm_api_key_env.clone(),
            llm_cache: self.llm_cache.clone(),
            sandbox_seconds: self.sandbox_seconds,
            sandbox_memory_mib: self.sandbox_memory_mib,
            python: self.python.clone(),
        }
        .judge_config()
    }
}

/// `halt-llm judge`: fragments and verdicts for every sampled response.
pub fn judge(args: JudgeArgs) -> Result<()> {
    if args.reference_free {
        let judge = judge_for(args.data.domain, &JudgeConfig::default());
        let r = halt_llm::dataset::judge_stage::reference_free_stage(
            judge.as_ref(),
            &args.sampled,
            args.null_policy,
            args.min_support,
            &args.out,
            false,
        )?;
        report("judge", &r);
        return Ok(());
    }
    let (examples, examples_path) = args.data.load()?;
    let config = args.llm.judge_config()?;
    if args.data.domain == Domain::Code {
        halt_llm::settings::python("judge.python", &config.sandbox.python)?;
    }
    let judge = judge_for(args.data.domain, &config);
    let r = judge_stage(
        judge.as_ref(),
        &examples,
        &examples_path,
        &args.sampled,
        args.null_policy,
        &args.out,
        false,
    )?;
    report("judge", &r);
    Ok(())
}

/// `halt-llm align`.
#[derive(Args)]
pub struct AlignArgs {
    #[command(flatten)]
    data: DataArgs,
    /// The sample stage's output (not needed for `--method unchanged`).
    #[arg(long)]
    sampled: Option<PathBuf>,
    /// The judge stage's output (not needed for `--method unchanged`).
    #[arg(long)]
    judged: Option<PathBuf>,
    /// Selection threshold α in [0, 1] (paper: 0.4, 0.6, 0.8).
    #[arg(long, default_value_t = 0.6)]
    alpha: f64,
    /// halt, addon, unchanged, idk, random_trim or own_best (the best sample whole).
    #[arg(long, default_value = "halt", value_parser = serde_name::<AlignMethod>)]
    method: AlignMethod,
    /// The abstention marker.
    #[arg(long, default_value = UNSURE_MARKER)]
    marker: String,
    /// Seed of random_trim.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output JSON Lines file (resumed if it or its `.partial` exists).
    #[arg(long)]
    out: PathBuf,
}

/// `halt-llm align`: finetuning targets by α and method.
pub fn align(args: AlignArgs) -> Result<()> {
    if args.method != AlignMethod::Unchanged && (args.sampled.is_none() || args.judged.is_none()) {
        bail!(
            "align --method {} needs --sampled FILE and --judged FILE",
            method_name(args.method)
        );
    }
    halt_llm::settings::fraction("alpha", args.alpha)?;
    halt_llm::settings::marker("marker", &args.marker)?;
    let (examples, examples_path) = args.data.load()?;
    let config = AlignConfig {
        alpha: args.alpha,
        marker: args.marker.clone(),
        seed: args.seed,
    };
    let inputs = AlignInputs {
        examples: &examples,
        examples_path: &examples_path,
        sampled: args.sampled.as_deref(),
        judged: args.judged.as_deref(),
    };
    let r = align_stage(inputs, args.method, &config, &args.out, false)?;
    report("align", &r);
    Ok(())
}

fn report(stage: &str, r: &StageReport) {
    eprintln!(
        "{stage}: {} records ({} already done), wrote {} to {}",
        r.total,
        r.skipped,
        r.written,
        r.path.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sample: SampleArgs,
    }

    fn settings(args: &[&str]) -> SampleSettings {
        let mut all = vec!["halt-llm", "--print-config"];
        all.extend(args);
        Cli::try_parse_from(all).unwrap().sample.settings().unwrap()
    }

    #[test]
    fn sample_flags_over_the_file_over_the_defaults() {
        // by hand: no file, no flags: the defaults; a flag replaces one default
        assert_eq!(settings(&[]), SampleSettings::default());
        assert_eq!(settings(&[]).max_new_tokens, 256);
        let s = settings(&["--n", "3", "--format", "plain"]);
        assert_eq!(
            (s.n, s.format, s.max_new_tokens),
            (3, PromptFormat::Plain, 256)
        );
        // a file sets n = 2 and max_new_tokens = 64; --max-new-tokens 32 wins over the file,
        // n stays the file's, batch_prompts (in neither) the default 4
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.toml");
        std::fs::write(&file, "n = 2\nmax_new_tokens = 64\n").unwrap();
        let s = settings(&["--config", file.to_str().unwrap(), "--max-new-tokens", "32"]);
        assert_eq!((s.n, s.max_new_tokens, s.batch_prompts), (2, 32, 4));
        assert_eq!(s.temperature, 0.7);
        // the printed settings read back as the same settings
        let back: SampleSettings = toml::from_str(&s.to_toml()).unwrap();
        assert_eq!(back, s);
    }
}
