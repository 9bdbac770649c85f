//! Shared test data: hand-made one-step maths examples in the `Example` JSONL format.

/// One `Example` line for `a + b`: id `math-{tag}{i}`, the given prompt, reference
/// `a+b = c\n#### c` (a calculation step and the final answer), template `{tag}{i}`.
#[allow(dead_code)] // not every test file that shares this module uses it
pub fn sum_example(tag: &str, i: usize, a: u32, b: u32, prompt: &str) -> String {
    let c = a + b;
    serde_json::json!({
        "domain": "math",
        "id": format!("math-{tag}{i}"),
        "prompt": prompt,
        "reference": format!("{a}+{b} = {c}\n#### {c}"),
        "ground_truth": {
            "answer": c.to_string(), "answer_expr": null,
            "calculations": [{"expr": format!("{a}+{b}"), "step": 0, "value": c.to_string()}],
            "generated": false, "instance": 0, "num_calculations": 1, "num_steps": 1,
            "source_index": i, "steps": [format!("{a}+{b} = {c}")], "template": format!("{tag}{i}")
        }
    })
    .to_string()
}
pub mod aligned;
pub mod forward;
pub mod gpu;
pub mod serve;
pub mod weights;
