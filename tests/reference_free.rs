//! `halt-llm judge --reference-free` (issue 17) on hand-made samples: labels by support among
//! the other samples of the same prompt, computed here by hand; no examples are needed.

use std::process::Command;

use serde_json::{Value, json};

#[test]
fn five_hand_made_maths_samples_are_labelled_by_support() {
    let dir = tempfile::tempdir().unwrap();
    let sampled = dir.path().join("sampled.jsonl");
    // Computed quantities: s0 {4, 4}, s1 {4, 4}, s2 {22, 22}, s3 {4, 12}, s4 {} (no number).
    let responses = [
        "13 - 9 = 4 marbles.\n#### 4",
        "She has 13 - 9 = 4.\n#### 4",
        "13 + 9 = 22 marbles.\n#### 22",
        "13 - 9 = 4.\nThen 4 * 3 = 12.\n#### 12",
        "I do not know how many.",
    ];
    let record = json!({"id": "p1", "responses": responses, "model": "m",
        "sampling": {"temperature": 0.7, "top_p": 0.95, "seed": 0, "max_new_tokens": 64},
        "finish": ["eos", "eos", "eos", "eos", "eos"]});
    std::fs::write(&sampled, format!("{record}\n")).unwrap();
    let out = dir.path().join("judged.jsonl");
    let o = Command::new(env!("CARGO_BIN_EXE_halt-llm"))
        .args(["judge", "--domain", "math", "--reference-free", "--sampled"])
        .arg(&sampled)
        .arg("--out")
        .arg(&out)
        .args(["--datasets", "/nonexistent"]) // no examples are read
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let judged: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let verdicts: Vec<Vec<Value>> = judged["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["fragments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["correct"].clone())
                .collect()
        })
        .collect();
    // 4 is computed by s0, s1, s3: support 2 for each 4-step (≥ 2: correct)
    assert_eq!(verdicts[0], [json!(true), json!(true)]);
    assert_eq!(verdicts[1], [json!(true), json!(true)]);
    // 22 only by s2 itself: support 0
    assert_eq!(verdicts[2], [json!(false), json!(false)]);
    // s3: 4 (support 2), then 12 (support 0): wrong, and the final answer after it too
    assert_eq!(verdicts[3], [json!(true), json!(false), json!(false)]);
    // s4: a step without a number is neutral (kept, counted neither way)
    assert_eq!(verdicts[4], [json!(true)]);
    assert_eq!(
        judged["responses"][4]["fragments"][0]["neutral"],
        json!(true)
    );
    assert_eq!(judged["responses"][0]["mean_correctness"], json!(1.0));
    assert_eq!(judged["responses"][3]["mean_correctness"], json!(1.0 / 3.0));
}
