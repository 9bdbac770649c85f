//! Tests of [`config`](super).
use super::*;

#[test]
fn toml_round_trip_and_unknown_fields() {
    let mut c = TrainConfig {
        data: vec!["a.jsonl".into(), "b.jsonl".into()],
        lora: Some(LoraSettings::with_rank(8)),
        ..TrainConfig::default()
    };
    c.device = DeviceChoice::Wgpu;
    let text = c.to_toml();
    let back: TrainConfig = toml::from_str(&text).unwrap();
    assert_eq!(back, c);
    let partial: TrainConfig = toml::from_str("data = [\"x.jsonl\"]\nepochs = 7\n").unwrap();
    assert_eq!(partial.epochs, 7);
    assert_eq!(partial.batch_size, TrainConfig::default().batch_size);
    let err = toml::from_str::<TrainConfig>("data = []\nepochz = 1\n").unwrap_err();
    assert!(err.to_string().contains("epochz"), "{err}");
}

#[test]
fn lora_flags_over_a_file() {
    // by hand: rank 4 alone gives α 8; a file's α survives the same rank, not another one
    let mut c = TrainConfig::default();
    c.overlay_lora(Some(4), None, None).unwrap();
    assert_eq!(c.lora.as_ref().map(|l| (l.rank, l.alpha)), Some((4, 8.0)));
    c.lora.as_mut().unwrap().alpha = 3.0;
    c.overlay_lora(Some(4), None, None).unwrap();
    assert_eq!(c.lora.as_ref().map(|l| l.alpha), Some(3.0));
    c.overlay_lora(Some(16), None, Some(vec!["q_proj".into()]))
        .unwrap();
    let l = c.lora.as_ref().unwrap();
    assert_eq!((l.rank, l.alpha, l.target_modules.len()), (16, 32.0, 1));
    let mut plain = TrainConfig::default();
    assert!(plain.overlay_lora(None, Some(2.0), None).is_err());
    plain.overlay_lora(None, None, None).unwrap();
    assert!(plain.lora.is_none());
}

#[test]
fn validation_names_the_field() {
    let ok = TrainConfig {
        data: vec!["a".into()],
        ..TrainConfig::default()
    };
    ok.validate().unwrap();
    let bad = TrainConfig {
        grad_accum: 0,
        ..ok.clone()
    };
    assert!(
        bad.validate()
            .unwrap_err()
            .to_string()
            .contains("grad_accum")
    );
    let bad = TrainConfig {
        lora: Some(LoraSettings {
            target_modules: vec!["qproj".into()],
            ..LoraSettings::with_rank(4)
        }),
        ..ok
    };
    assert!(bad.validate().unwrap_err().to_string().contains("qproj"));
}

/// `devices` replaces `device`: both given is an error; one device alone is not data
/// parallelism.
#[test]
fn devices_and_device_are_not_given_together() {
    let c = TrainConfig {
        data: vec!["a.jsonl".into()],
        devices: vec!["cpu".into(), "cpu".into()],
        ..TrainConfig::default()
    };
    c.validate().unwrap();
    let both = TrainConfig {
        device: crate::backend::DeviceChoice::Wgpu,
        ..c.clone()
    };
    assert!(format!("{:#}", both.validate().unwrap_err()).contains("give one of them"));
    let one = TrainConfig {
        devices: vec!["cpu".into()],
        ..c
    };
    assert!(format!("{:#}", one.validate().unwrap_err()).contains("two or more devices"));
}
