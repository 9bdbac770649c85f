//! Tests of the maths judge: verdicts written by hand before running.
use super::*;
use crate::dataset::judge::test_data::{MATH_0001, example};

fn verdicts(response: &str) -> Vec<Option<bool>> {
    let ex = example(MATH_0001);
    MathJudge::default()
        .judge(&ex, response)
        .unwrap()
        .iter()
        .map(|f| f.correct)
        .collect()
}

const T: Option<bool> = Some(true);
const F: Option<bool> = Some(false);

#[test]
fn the_reference_solution_is_all_correct() {
    let ex = example(MATH_0001);
    assert_eq!(verdicts(&ex.reference), [T, T, T]);
}

#[test]
fn a_correct_worked_solution_in_other_words() {
    let r = "1. Each 3 miles take 10 minutes.\n2. The city is 42 miles, so there are 42 / 3 = 14 stretches.\n\
             3. That takes 14 x 10 = 140 minutes.\nThe answer is 140.";
    assert_eq!(verdicts(r), [T, T, T, T]);
}

#[test]
fn an_arithmetic_error_is_wrong_and_so_is_everything_after() {
    let r = "The city will be covered in 42/3 = 15 intervals of 10 minutes.\n\
             Thus, it will take 15 * 10 = 150 minutes.\n#### 150";
    assert_eq!(verdicts(r), [F, F, F]);
    let r = "42/3 = 14 intervals.\nSo 14 * 10 = 150 minutes.\n#### 150";
    assert_eq!(verdicts(r), [T, F, F]);
}

#[test]
fn an_unjustified_value_is_wrong() {
    // 11 is not in the question, not computed, not a ground-truth intermediate
    let r = "There are 42/3 = 14 intervals.\nEach takes 11 minutes, so 14 * 11 = 154 minutes.\n#### 154";
    assert_eq!(verdicts(r), [T, F, F]);
    // 14 without the computation is a ground-truth intermediate: allowed
    assert_eq!(
        verdicts("There are 14 intervals.\n14 * 10 = 140.\n#### 140"),
        [T, T, T]
    );
}

#[test]
fn completeness_and_number_free_answers() {
    let j = MathJudge::default();
    assert!(!j.is_complete("42/3 = 14.\n14 * 10 = 140."));
    assert!(j.is_complete("42/3 = 14.\n#### 140"));
    // Steps are still judged when the answer is cut short …
    assert_eq!(verdicts("42/3 = 14.\n14 * 10 = 140."), [T, T]);
    // … and text with no number claims nothing: neutral, not counted.
    let ex = example(MATH_0001);
    let f = j.judge(&ex, "Let me think.\nThe dog is happy.").unwrap();
    assert!(f.iter().all(|f| f.neutral && f.correct == T));
}

#[test]
fn the_final_answer_must_equal_the_ground_truth() {
    assert_eq!(verdicts("42/3 = 14.\n14 * 10 = 140.\n#### 141"), [T, T, F]);
    assert_eq!(verdicts("42/3 = 14.\nSo \\boxed{140} minutes."), [T, T]);
    assert_eq!(verdicts("42/3 = 14.\nThe answer is: 1,40 minutes"), [T, F]);
    assert_eq!(verdicts("42/3 = 14.\nThe answer is $140.00."), [T, T]);
}

#[test]
fn steps_without_numbers_and_empty_answers() {
    assert_eq!(verdicts("Let us think.\n42/3 = 14."), [T, T]);
    let ex = example(MATH_0001);
    let f = MathJudge::default()
        .judge(&ex, "Let us think.\n42/3 = 14.")
        .unwrap();
    assert_eq!((f[0].neutral, f[1].neutral), (true, false));
    // after the first wrong step a number-free step is wrong too (it is not kept)
    let f = MathJudge::default()
        .judge(&ex, "42/3 = 15.\nLet us go on.")
        .unwrap();
    assert_eq!((f[1].correct, f[1].neutral), (F, true));
    assert!(verdicts("").is_empty());
}

#[test]
fn a_generated_gsm_symbolic_instance() {
    // datasets/math/test.jsonl, math-0000-01 (answer 20; intermediates 768 and 64)
    let line = r#"{"domain":"math","ground_truth":{"answer":"20","answer_expr":"int((((8 * 96) / (320 * 12)) * 100))","calculations":[{"expr":"96*8","step":0,"value":"768"},{"expr":"768/12","step":1,"value":"64"}],"generated":true,"instance":1,"num_calculations":2,"num_steps":3,"source_index":473,"steps":["a","b","c"],"template":"0000"},"id":"math-0000-01","prompt":"Ella saw a 320-foot dolphin with 8 96-inch remoras attached to it. What percentage of the dolphin's body length is the combined length of the remoras?","reference":"x"}"#;
    let ex = example(line);
    let j = MathJudge::default();
    let good = "Combined: 96 inches/remora * 8 remoras = 768 inches.\n768 inches / 12 inches/foot = 64 foot.\n\
                64 foot / 320 feet * 100% = 20%\n#### 20";
    let v: Vec<_> = j
        .judge(&ex, good)
        .unwrap()
        .into_iter()
        .map(|f| f.correct)
        .collect();
    assert_eq!(v, [T, T, T, T]);
    let bad =
        "Combined: 96 * 8 = 768 inches.\n768 / 12 = 64 feet.\n64 / 300 * 100% = 21.33%\n#### 21.33";
    let v: Vec<_> = j
        .judge(&ex, bad)
        .unwrap()
        .into_iter()
        .map(|f| f.correct)
        .collect();
    assert_eq!(v, [T, T, F, F]); // 300 is not in the question
}

#[test]
fn path_cases_worked_by_hand() {
    let j = MathJudge::default();
    let v = |ex: &Example, r: &str| -> Vec<Option<bool>> {
        j.judge(ex, r).unwrap().iter().map(|f| f.correct).collect()
    };
    let angela = example(ANGELA);
    // true arithmetic off the path: 18 = 14 + 4 is no quantity of 14·3 = 42, 42 − 4 = 38
    assert_eq!(
        v(
            &angela,
            "In four years Brett will be 14 + 4 = 18.\nAngela will then be 3 * 18 = 54.\n\
             So Angela is 54 - 4 = 50 now.\n#### 50"
        ),
        [F, F, F, F]
    );
    // the same problem solved on the path
    assert_eq!(
        v(
            &angela,
            "In four years Angela will be 3 * 14 = 42 years old.\n\
             So now she is 42 - 4 = 38 years old.\n#### 38"
        ),
        [T, T, T]
    );
    // right path, false arithmetic in step 2
    assert_eq!(
        v(
            &angela,
            "In four years Angela will be 3 * 14 = 42 years old.\n\
             So now she is 42 - 4 = 36 years old.\n#### 36"
        ),
        [T, F, F]
    );
    // a wrong quantity in words
    assert_eq!(
        v(&angela, "In four years Brett will be eighteen.\n#### 38"),
        [F, F]
    );
    // a constant is no result: 12 * 2 = 24 is true, 24 is a constant, but off the path
    let shark = example(SHARK);
    assert_eq!(
        v(
            &shark,
            "The remoras are 2 * 6 = 12 inches long.\nThe shark's body is 12*2 = 24 feet long.\n#### 50"
        ),
        [T, F, F]
    );
    // an invented quantity inside parentheses
    assert_eq!(
        v(
            &shark,
            "The remoras are 2 * 6 = 12 inches long.\nWe can divide the remoras' length \
             (26 inches) by the shark's length (10 feet).\n#### 10"
        ),
        [T, F, F]
    );
    // currency and decimals on the path
    let pens = example(PENS);
    assert_eq!(
        v(
            &pens,
            "The pens cost $2.50 x 4 = $10.\nWith the notebook: $10.00 + $3.25 = $13.25.\n\
             The answer is $13.25."
        ),
        [T, T, T]
    );
    assert_eq!(v(&pens, "4 * 2.50 = $10.00\n#### $13.30"), [T, F]);
    // a mixed number and a LaTeX fraction as the final answer (2.5 cups)
    let sugar = example(SUGAR);
    let r = "Each cake needs 1/2 cup, so 5 cakes need 5 * 1/2 = 2.5 cups.\n#### 2 1/2";
    assert_eq!(v(&sugar, r), [T, T]);
    assert_eq!(v(&sugar, "5 * 0.5 = 2.5\nSo \\boxed{\\frac{5}{2}}"), [T, T]);
    assert_eq!(v(&sugar, "5 * 0.5 = 2.5\n#### 2 1/4"), [T, F]);
    // "the answer is 60 + 10 = 70": the result, not the first number
    let marbles = example(MARBLES);
    assert_eq!(
        v(
            &marbles,
            "Tom wins 10 more marbles.\nThe answer is 60 + 10 = 70."
        ),
        [T, T]
    );
    assert_eq!(
        v(
            &marbles,
            "Tom wins 10 more marbles.\nThe answer is 60 + 10 = 71."
        ),
        [T, F]
    );
}

/// Cases from a review (expected verdicts written before the fix): unit conversions written as
/// equations, an equation whose left operand is a variable, and "answer" in prose.
#[test]
fn conversions_variables_and_prose_answers() {
    let j = MathJudge::default();
    let angela = example(ANGELA);
    let v = |r: &str| -> Vec<Option<bool>> {
        j.judge(&angela, r)
            .unwrap()
            .iter()
            .map(|f| f.correct)
            .collect()
    };
    assert_eq!(
        v(
            "Angela will be 14 * 3 = 42 years old, and 42 years = 504 months.\n\
           So now she is 42 - 4 = 38.\n#### 38"
        ),
        [T, T, T]
    );
    // a conversion of a quantity off the path is still off it
    assert_eq!(v("Brett is 5 years = 60 months old.\n#### 38"), [F, F]);
    assert_eq!(
        v("Then x + 4 = 3 * 14 = 42.\nx = 42 - 4 = 38.\n#### 38"),
        [T, T, T]
    );
    let prose = "Answer: Let's think step by step.\n14*3 = 42.\n42-4 = 38.";
    assert_eq!(v(prose), [T, T, T]);
    assert!(!j.is_complete(prose));
    let f = j.judge(&angela, prose).unwrap();
    assert!(f[0].neutral && !f[1].neutral);
    assert_eq!(v("So the answer is clear.\n14 * 3 = 42."), [T, T]);
    assert_eq!(v("To answer this, we compute 14 * 3 = 42."), [T]);
    // a number too large for f64 is on no path
    assert_eq!(v(&format!("Angela is {} years old.", "9".repeat(400))), [F]);
}

#[test]
fn progress_counts_intermediates_and_a_right_final_answer() {
    let j = MathJudge::default();
    let angela = example(ANGELA);
    let p = |r: &str| {
        let f = j.judge(&angela, r).unwrap();
        j.progress(&angela, &f).unwrap().unwrap()
    };
    // the reference has one intermediate (42) and the final answer: 2 points
    let full = p("3 * 14 = 42.\n42 - 4 = 38.\n#### 38");
    assert_eq!((full.reached, full.desired, full.solved), (2, 2, true));
    // restating the question reaches nothing
    let restate = p("Brett is 14 years old.\nIn four years Angela will be thrice his age.");
    assert_eq!((restate.reached, restate.solved), (0, false));
    // 42 reached, then a wrong final answer: 1 of 2
    let wrong_end = p("3 * 14 = 42.\n#### 40");
    assert_eq!((wrong_end.reached, wrong_end.solved), (1, false));
    // 38 written as an intermediate without `####`: no final-answer point
    let no_marker = p("3 * 14 = 42.\n42 - 4 = 38.");
    assert_eq!((no_marker.reached, no_marker.solved), (1, false));
}

/// `datasets/math/train.jsonl`, `math-0029-00`.
const ANGELA: &str = r#"{"domain":"math","ground_truth":{"answer":"38","answer_expr":null,"calculations":[{"expr":"14*3","step":0,"value":"42"},{"expr":"42-4","step":1,"value":"38"}],"generated":false,"instance":0,"num_calculations":2,"num_steps":2,"source_index":496,"steps":["Four years from now Angela will be 14*3=42.","Right now Angela is 42-4=38 years old."],"template":"0029"},"id":"math-0029-00","prompt":"Brett is 14 years old. In four years his sister Angela will be thrice as old as Brett is now. How old is Angela right now?","reference":"Four years from now Angela will be 14*3=42.\nRight now Angela is 42-4=38 years old.\n#### 38"}"#;

/// `datasets/math/test.jsonl`, `math-0000-00`.
const SHARK: &str = r#"{"domain":"math","ground_truth":{"answer":"10","answer_expr":null,"calculations":[{"expr":"6*2","step":0,"value":"12"},{"expr":"12/12","step":1,"value":"1"}],"generated":false,"instance":0,"num_calculations":2,"num_steps":3,"source_index":473,"steps":["First, find the combined length of the remoras in inches: 6 inches/remora * 2 remoras = 12 inches.","Then divide that number by 12 to convert it to feet: 12 inches / 12 inches/foot = 1 foot.","Then divide the combined remora length in feet by the shark's length and multiply by 100% to express the answer as a percentage: 1 foot / 10 feet * 100% = 10%"],"template":"0000"},"id":"math-0000-00","prompt":"Benny saw a 10-foot shark with 2 6-inch remoras attached to it. What percentage of the shark's body length is the combined length of the remoras?","reference":"First, find the combined length of the remoras in inches: 6 inches/remora * 2 remoras = 12 inches.\nThen divide that number by 12 to convert it to feet: 12 inches / 12 inches/foot = 1 foot.\nThen divide the combined remora length in feet by the shark's length and multiply by 100% to express the answer as a percentage: 1 foot / 10 feet * 100% = 10%\n#### 10"}"#;

/// Hand-made: money with decimals.
const PENS: &str = r#"{"domain":"math","ground_truth":{"answer":"13.25","answer_expr":null,"calculations":[{"expr":"4*2.50","step":0,"value":"10"},{"expr":"10+3.25","step":1,"value":"13.25"}],"generated":false,"instance":0,"num_calculations":2,"num_steps":2,"source_index":0,"steps":["4 pens cost 4*2.50=$10.","In total he spends 10+3.25=$13.25."],"template":"x1"},"id":"math-x1-00","prompt":"A pen costs $2.50 and a notebook costs $3.25. Sam buys 4 pens and one notebook. How much does he spend?","reference":"4 pens cost 4*2.50=$10.\nIn total he spends 10+3.25=$13.25.\n#### 13.25"}"#;

/// Hand-made: a fractional answer (2.5 cups).
const SUGAR: &str = r#"{"domain":"math","ground_truth":{"answer":"2.5","answer_expr":null,"calculations":[{"expr":"5*0.5","step":0,"value":"2.5"}],"generated":false,"instance":0,"num_calculations":1,"num_steps":1,"source_index":0,"steps":["5 cakes need 5*0.5=2.5 cups."],"template":"x2"},"id":"math-x2-00","prompt":"A cake needs 1/2 cup of sugar. How many cups do 5 cakes need?","reference":"5 cakes need 5*0.5=2.5 cups.\n#### 2.5"}"#;

/// Hand-made: 60 + 10 = 70.
const MARBLES: &str = r#"{"domain":"math","ground_truth":{"answer":"70","answer_expr":null,"calculations":[{"expr":"60+10","step":0,"value":"70"}],"generated":false,"instance":0,"num_calculations":1,"num_steps":1,"source_index":0,"steps":["He has 60+10=70 marbles."],"template":"x3"},"id":"math-x3-00","prompt":"Tom has 60 marbles and wins 10 more. How many marbles does he have now?","reference":"He has 60+10=70 marbles.\n#### 70"}"#;

/// Issue 14, case 2: a small model goes on after its final answer with a few-shot item of its
/// own. The answer is the text up to the first final answer (`#### 140`, right); the invented
/// question and its `#### 7` are not judged, not counted and not kept in targets. Expected
/// values by hand: three steps, all on the reference's path; the answer ends after `#### 140`.
#[test]
fn text_after_the_first_final_answer_is_not_the_answer() {
    use crate::dataset::align::{AlignConfig, align};
    use crate::dataset::judge::judge_sampled;
    use crate::dataset::record::{AlignMethod, NullPolicy, Sampled, SamplingParams};
    use crate::eval::answer::evaluate_answer;
    use crate::generate::FinishReason;

    let answer = "42/3 = 14 intervals.\n14 * 10 = 140 minutes.\n#### 140";
    let invented = "\n\nQuestion: Tom has 3 apples and buys 4 more. How many apples does he have?\n\
                    Answer: 3 + 4 = 7\n#### 7";
    let response = format!("{answer}{invented}");
    let ex = example(MATH_0001);
    let j = MathJudge::default();
    assert_eq!(j.answer_end(&response), answer.len());
    assert_eq!(j.answer_end(answer), answer.len());
    // no final answer: the whole response is the answer
    assert_eq!(
        j.answer_end("42/3 = 14.\nMore text"),
        "42/3 = 14.\nMore text".len()
    );

    // training data: judged, then aligned
    let sampled = Sampled {
        id: ex.id.clone(),
        responses: vec![response.clone()],
        model: "m".into(),
        sampling: SamplingParams {
            temperature: 0.7,
            top_p: 0.95,
            seed: 1,
            max_new_tokens: 96,
        },
        // it ran into the token limit while writing its own next item: the answer still ended
        finish: vec![FinishReason::Length],
        token_logprobs: Vec::new(),
        token_ends: Vec::new(),
    };
    let judged = judge_sampled(&j, &ex, &sampled, NullPolicy::Wrong).unwrap();
    let r = &judged.responses[0];
    let texts: Vec<&str> = r.fragments.iter().map(|f| f.text.as_str()).collect();
    assert_eq!(
        texts,
        ["42/3 = 14 intervals.", "14 * 10 = 140 minutes.", "#### 140"]
    );
    assert!(r.fragments.iter().all(|f| f.correct == Some(true)));
    assert_eq!(r.mean_correctness, 1.0);
    assert!(r.complete && !r.cut);
    assert_eq!(r.answer_end, Some(answer.len()));
    let config = AlignConfig {
        alpha: 0.6,
        ..AlignConfig::default()
    };
    let aligned = align(&ex, &sampled, &judged, AlignMethod::Halt, &config).unwrap();
    assert_eq!(aligned.target, answer);

    // evaluation: solved, complete, three correct steps
    let e = evaluate_answer(&j, &ex, &response, FinishReason::Eos, "Unsure from Here").unwrap();
    assert_eq!((e.n_fragments, e.n_correct), (3, 3));
    assert!(e.complete);
    assert!(e.progress.unwrap().solved);
}

#[test]
fn an_invented_item_on_the_final_answers_line_is_not_the_answer() {
    let j = MathJudge::default();
    let steps = "42/3 = 14 intervals.\n14 * 10 = 140 minutes.\n";
    // (response, where the answer ends: the text before it, written out by hand)
    let cases = [
        (
            "#### 140 Question: Tom has 3 apples and buys 4. How many? Answer: 3 + 4 = 7 #### 7",
            "#### 140",
        ),
        ("#### 140\nQuestion: next", "#### 140"),
        ("#### $1,250.50 Q: next", "#### $1,250.50"),
        ("#### 3 3/4 Question: next", "#### 3 3/4"),
        ("#### -7/2 Problem: next", "#### -7/2"),
        ("#### 25% Answer: 7", "#### 25%"),
        ("**#### 140** Question: next", "**#### 140**"),
        (
            "\\boxed{\\frac{1}{2}} Question: next",
            "\\boxed{\\frac{1}{2}}",
        ),
        (
            "The answer is 140 minutes. Question: what now?",
            "The answer is 140 minutes.",
        ),
        (
            "So the answer is 140 Question: what now?",
            "So the answer is 140",
        ),
        ("The answer is 140, then Question: x", "The answer is 140,"),
        // nothing readable after the marker: the clause's end
        ("#### forty. Question: x", "#### forty."),
    ];
    for (last, answer) in cases {
        let response = format!("{steps}{last}");
        assert_eq!(
            &response[..j.answer_end(&response)],
            format!("{steps}{answer}"),
            "{last}"
        );
    }
    // the value is the first statement's, and the judged fragments stop there
    let ex = example(MATH_0001);
    let response = format!("{steps}#### 140 Question: Tom has 3 apples. Answer: 7 #### 7");
    let judged = crate::dataset::judge::judge_response(&j, &ex, &response, false).unwrap();
    let texts: Vec<&str> = judged.fragments.iter().map(|f| f.text.as_str()).collect();
    assert_eq!(
        texts,
        ["42/3 = 14 intervals.", "14 * 10 = 140 minutes.", "#### 140"]
    );
    assert!(judged.answer_ended);
    assert!(judged.fragments.iter().all(|f| f.correct == Some(true)));
}
