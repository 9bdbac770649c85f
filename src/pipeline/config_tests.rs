//! Tests of [`config`](super).
use super::*;

#[test]
fn the_default_job_keeps_its_numbers() {
    // by hand: the numbers of the default job before the stages' tables were their types
    let c = RunConfig::default();
    let s = &c.sample;
    assert_eq!(
        (s.n, s.max_new_tokens, s.shots, s.batch_prompts),
        (5, 96, 4, 12)
    );
    assert_eq!((s.temperature, s.top_p), (0.7, 0.95));
    let t = c.train_config(Path::new("m.gguf"), Path::new("a.jsonl"));
    assert_eq!(
        (
            t.epochs,
            t.batch_size,
            t.grad_accum,
            t.max_seq_len,
            t.checkpoint_every
        ),
        (3, 2, 1, 256, 25)
    );
    assert_eq!((t.lr, t.valid_fraction, t.warmup_ratio), (1e-3, 0.0, 0.05));
    let l = t.lora.as_ref().unwrap();
    assert_eq!((l.rank, l.alpha, l.target_modules.len()), (8, 16.0, 7));
    assert_eq!((t.model.as_str(), t.seed), ("m.gguf", 0));
    assert_eq!((c.eval.max_new_tokens, c.eval.batch_size), (96, 12));
    c.validate().unwrap();
}

#[test]
fn printed_settings_read_back_the_same() {
    let c = RunConfig::default();
    assert_eq!(RunConfig::from_toml(&c.to_toml()).unwrap(), c);
    let mut full = RunConfig::default();
    full.train.lora = None;
    full.sample.temperature = 0.3;
    let text = full.to_toml();
    assert!(text.contains("lora = false"), "{text}");
    assert!(text.contains("temperature = 0.3\n"), "{text}");
    assert_eq!(RunConfig::from_toml(&text).unwrap(), full);
}

#[test]
fn keys_left_out_of_a_table_take_the_run_preset() {
    // by hand: [sample] n = 3 keeps the preset's 96 tokens (the stage's own default is
    // 256), [train] lr = 0.01 keeps LoRA rank 8 (the stage's own default has none)
    let c = RunConfig::from_toml("[sample]\nn = 3\n[train]\nlr = 0.01\n").unwrap();
    assert_eq!((c.sample.n, c.sample.max_new_tokens), (3, 96));
    assert_eq!(c.train.lr, 0.01);
    assert_eq!(c.train.batch_size, 2);
    assert_eq!(c.train.lora.as_ref().map(|l| l.rank), Some(8));
    let c = RunConfig::from_toml("[eval]\nbatch_size = 3\n").unwrap();
    assert_eq!((c.eval.max_new_tokens, c.eval.batch_size), (96, 3));
}

#[test]
fn former_names_still_read() {
    // a config.toml written before [eval] and [train.lora]
    let old = "eval_max_new_tokens = 40\neval_batch_size = 4\n\
               [train]\nepochs = 2\nlora_rank = 4\n";
    let c = RunConfig::from_toml(old).unwrap();
    assert_eq!((c.eval.max_new_tokens, c.eval.batch_size), (40, 4));
    let l = c.train.lora.as_ref().unwrap();
    assert_eq!((c.train.epochs, l.rank, l.alpha), (2, 4, 8.0));
    c.validate().unwrap();
    let new = "[eval]\nmax_new_tokens = 40\nbatch_size = 4\n\
               [train]\nepochs = 2\n[train.lora]\nrank = 4\nalpha = 8.0\n\
               target_modules = [\"q_proj\", \"k_proj\", \"v_proj\", \"o_proj\", \
               \"gate_proj\", \"up_proj\", \"down_proj\"]\n";
    assert_eq!(RunConfig::from_toml(new).unwrap(), c);
    let both = "eval_max_new_tokens = 40\n[eval]\nmax_new_tokens = 50\n";
    assert!(RunConfig::from_toml(both).is_err());
}

#[test]
fn a_table_refuses_what_the_run_sets_and_unknown_keys() {
    for (text, word) in [
        ("[train]\nmodel = \"x\"\n", "model"),
        ("[train]\ndata = [\"a.jsonl\"]\n", "data"),
        ("[train]\nseed = 3\n", "seed"),
        ("[sample]\nseed = 3\n", "seed"),
        ("[train]\nepochz = 3\n", "epochz"),
        ("[sample]\nnn = 3\n", "nn"),
        ("[eval]\nmarker = \"x\"\n", "marker"),
    ] {
        let err = format!("{:#}", RunConfig::from_toml(text).unwrap_err());
        assert!(err.contains(word), "{text}: {err}");
    }
}

#[test]
fn a_stage_setting_out_of_range_is_named() {
    let mut c = RunConfig::default();
    c.sample.batch_prompts = 0;
    assert_eq!(
        format!("{:#}", c.validate().unwrap_err()),
        "sample: batch_prompts must be at least 1, got 0"
    );
    let mut c = RunConfig::default();
    c.eval.batch_size = 0;
    assert_eq!(
        format!("{:#}", c.validate().unwrap_err()),
        "eval: batch_size must be at least 1, got 0"
    );
}

/// `configs/`: every file reads and validates, and the validation config differs from the
/// study config only where the book says (the test split and size, and the variants), so the
/// study run can reuse its samples, targets and models; the reference-free config is the
/// embedded default job with more prompts and its own variants.
#[test]
fn the_shipped_configs_read_validate_and_share_their_samples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let read = |name: &str| {
        let c = RunConfig::from_toml_file(&dir.join(name)).unwrap();
        c.validate().unwrap();
        serde_json::to_value(&c).unwrap()
    };
    let (study, validation) = (
        read("study-chains.toml"),
        read("study-chains-validation.toml"),
    );
    let differing: Vec<&str> = study
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| study[*k] != validation[*k])
        .collect();
    assert_eq!(
        differing,
        ["alphas", "baselines", "test_examples", "test_split"],
        "{study:#}\n{validation:#}"
    );
    // the reference-free comparison on the default domain: the default job with more prompts
    let rf = read("reference-free-gsm.toml");
    let default = serde_json::to_value(RunConfig::default()).unwrap();
    let differing: Vec<&str> = default
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| default[*k] != rf[*k])
        .collect();
    assert_eq!(
        differing,
        [
            "alphas",
            "baselines",
            "reference_free_alphas",
            "test_examples",
            "train_examples"
        ]
    );
    let tomls = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("toml".as_ref()))
        .count();
    assert_eq!(tomls, 3, "a new file in configs/ wants a line in this test");
}

/// The devices change results only by rounding: a run folder and `--reuse-from` compare the
/// settings without `device` and `[train] devices`, and nothing else is left out.
#[test]
fn the_devices_are_not_part_of_a_runs_identity() {
    let a = RunConfig::default();
    let mut b = RunConfig {
        device: crate::backend::DeviceChoice::Wgpu,
        ..RunConfig::default()
    };
    b.train.devices = vec!["cpu".into(), "cpu".into()];
    assert_eq!(a.identity(), b.identity());
    b.train.lr *= 2.0;
    assert_ne!(a.identity(), b.identity());
}
