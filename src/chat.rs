//! Chat templates: the checkpoint's Jinja template (`tokenizer.chat_template` in GGUF,
//! `chat_template` in `tokenizer_config.json`) rendered with minijinja, with Python string
//! methods (`.strip()`, `.startswith()`, …) from minijinja-contrib's pycompat, as
//! transformers' `apply_chat_template` renders it.

use anyhow::{Context, Result, anyhow};
use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State, context};
use serde::{Deserialize, Serialize};

/// Largest width, indent or count a template may pass to a filter or method that allocates
/// from it (`indent`, `batch`, `slice`, `tojson`, format widths): a checkpoint's template is
/// outside input, and minijinja allocates such sizes without a bound (`'x'|indent(10**14)`
/// aborts the process).
const MAX_WIDTH: f64 = 10_000.0;

/// Most bytes one `replace` may produce, and one rendering (16 MiB; a chat prompt is a few
/// KiB).
const MAX_OUTPUT: usize = 16 << 20;

/// The builtin filters that allocate from an argument, guarded by [`guarded_filter`].
const SIZED_FILTERS: [&str; 6] = ["indent", "batch", "slice", "tojson", "format", "replace"];

fn too_large(what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("{what} is too large for a chat template"),
    )
}

/// The numbers among `args` (keyword arguments included).
fn numbers(args: &[Value]) -> Vec<f64> {
    let mut out = Vec::new();
    for a in args {
        match a.kind() {
            ValueKind::Number => out.extend(f64::try_from(a.clone()).ok()),
            ValueKind::Map => {
                if let Ok(keys) = a.try_iter() {
                    for k in keys {
                        if let Ok(v) = a.get_item(&k)
                            && v.kind() == ValueKind::Number
                        {
                            out.extend(f64::try_from(v).ok());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Refuses widths and precisions above [`MAX_WIDTH`] in a `%`-style or `{}`-style format
/// string.
fn check_format(fmt: &str) -> Result<(), Error> {
    let bytes = fmt.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b != b'%' && b != b'{' {
            continue;
        }
        let spec = bytes[i + 1..]
            .iter()
            .take(64)
            .take_while(|&&c| c != b'}' && c != b'%' && !c.is_ascii_alphabetic());
        let mut n = 0f64;
        for &c in spec {
            if c.is_ascii_digit() {
                n = n * 10.0 + f64::from(c - b'0');
                if n > MAX_WIDTH {
                    return Err(too_large("a width in a format string"));
                }
            } else {
                n = 0.0;
            }
        }
    }
    Ok(())
}

/// Refuses a `replace` whose result would exceed [`MAX_OUTPUT`] bytes.
fn check_replace(value: &str, from: Option<&str>, to: Option<&str>) -> Result<(), Error> {
    let (Some(from), Some(to)) = (from, to) else {
        return Ok(());
    };
    let hits = if from.is_empty() {
        value.chars().count() + 1
    } else {
        value.matches(from).count()
    };
    let len = hits.saturating_mul(to.len()).saturating_add(value.len());
    if len > MAX_OUTPUT {
        return Err(too_large("the result of `replace`"));
    }
    Ok(())
}

/// The builtin filter `name`, renamed `__unbounded_<name>`, behind a check of its arguments.
fn guarded_filter(
    name: &'static str,
) -> impl Fn(&State, Rest<Value>) -> Result<Value, Error> + Send + Sync + 'static {
    move |state: &State, args: Rest<Value>| {
        match name {
            "format" => check_format(args.first().and_then(Value::as_str).unwrap_or(""))?,
            "replace" => check_replace(
                args.first().and_then(Value::as_str).unwrap_or(""),
                args.get(1).and_then(Value::as_str),
                args.get(2).and_then(Value::as_str),
            )?,
            _ => {
                if numbers(args.get(1..).unwrap_or(&[]))
                    .iter()
                    .any(|n| n.abs() > MAX_WIDTH)
                {
                    return Err(too_large(&format!("an argument of `{name}`")));
                }
            }
        }
        state.apply_filter(&format!("__unbounded_{name}"), &args)
    }
}

/// Python string methods (minijinja-contrib's pycompat), with `format` widths and `replace`
/// results bounded.
fn bounded_methods(
    state: &State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if let Some(s) = value.as_str() {
        match method {
            "format" => check_format(s)?,
            "replace" => check_replace(
                s,
                args.first().and_then(Value::as_str),
                args.get(1).and_then(Value::as_str),
            )?,
            _ => {}
        }
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// An `io::Write` into a string that fails past [`MAX_OUTPUT`] bytes.
struct Bounded {
    out: Vec<u8>,
    overflow: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + buf.len() > MAX_OUTPUT {
            self.overflow = true;
            return Err(std::io::Error::other("chat template output too large"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text of the message.
    pub content: String,
}

impl Message {
    /// A message with the given role.
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
    /// A `user` message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }
    /// An `assistant` message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
    /// A `system` message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }
}

/// A compiled chat template.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
    /// The template source, as found in the checkpoint.
    pub source: String,
    bos_token: String,
    eos_token: String,
}

impl Clone for ChatTemplate {
    fn clone(&self) -> Self {
        Self::new(&self.source, &self.bos_token, &self.eos_token).expect("compiled before")
    }
}

/// Instructions one chat-template rendering may execute (minijinja's fuel): SmolLM2's template
/// renders a 10-turn conversation in a few thousand; nested loops of 10⁵ × 10⁵ stop here.
const TEMPLATE_FUEL: u64 = 50_000_000;

impl ChatTemplate {
    /// Compiles `source`; `bos_token`/`eos_token` are the strings templates may reference.
    ///
    /// # Errors
    /// Jinja syntax errors (with the line).
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self> {
        let mut env = Environment::new();
        // A bound on the work of one rendering: a template from a model file may loop without
        // printing anything (`range(100000)` inside another), which no output cap would stop.
        env.set_fuel(Some(TEMPLATE_FUEL));
        env.set_unknown_method_callback(bounded_methods);
        for name in SIZED_FILTERS {
            let builtin = format!("__unbounded_{name}");
            match name {
                "indent" => env.add_filter(builtin, minijinja::filters::indent),
                "batch" => env.add_filter(builtin, minijinja::filters::batch),
                "slice" => env.add_filter(builtin, minijinja::filters::slice),
                "tojson" => env.add_filter(builtin, minijinja::filters::tojson),
                "format" => env.add_filter(builtin, minijinja::filters::format),
                _ => env.add_filter(builtin, minijinja::filters::replace),
            }
            env.add_filter(name, guarded_filter(name));
        }
        env.add_function("raise_exception", |msg: String| -> Result<String, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, msg))
        });
        env.set_trim_blocks(false);
        env.add_template_owned("chat", source.to_string())
            .map_err(|e| anyhow!("chat template does not compile: {e:#}"))?;
        Ok(Self {
            env,
            source: source.to_string(),
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
        })
    }

    /// ChatML, used when a checkpoint ships no template.
    pub fn chatml() -> Self {
        Self::new(CHATML, "", "<|im_end|>").expect("static template")
    }

    /// Renders a conversation. With `add_generation_prompt`, the text ends where the
    /// assistant's answer starts.
    ///
    /// # Errors
    /// Template runtime errors, including `raise_exception(...)` calls of the template.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        let tmpl = self.env.get_template("chat").expect("added in new");
        let mut out = Bounded {
            out: Vec::new(),
            overflow: false,
        };
        // minijinja 2.24 panics on some templates (`''[::-1]`: reversing an empty string or
        // list indexes past its end): a panic while rendering is an error of the template.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            tmpl.render_captured_to(
                context! {
                    messages => messages,
                    add_generation_prompt => add_generation_prompt,
                    bos_token => self.bos_token,
                    eos_token => self.eos_token,
                },
                &mut out,
            )
        }))
        .map_err(|_| anyhow!("rendering the chat template: minijinja failed (it panicked)"))?;
        if out.overflow {
            return Err(anyhow!(
                "rendering the chat template: the output exceeds {} MiB",
                MAX_OUTPUT >> 20
            ));
        }
        r.map(drop)
            .map_err(|e| anyhow!("{e:#}"))
            .context("rendering the chat template")?;
        // Every write is a `&str` of the template's output, so the bytes are UTF-8.
        String::from_utf8(out.out).context("rendering the chat template")
    }
}

/// The ChatML template (as used by SmolLM2, Qwen and others), without a default system
/// prompt.
pub const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_renders_like_transformers() {
        let t = ChatTemplate::chatml();
        let s = t
            .render(&[Message::system("S"), Message::user("Hi")], true)
            .unwrap();
        assert_eq!(
            s,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn python_methods_and_raise_exception_work() {
        let t = ChatTemplate::new(
            "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first must be user') }}{% endif %}{{ bos_token }}{{ messages[0]['content'].strip() }}",
            "<s>",
            "</s>",
        )
        .unwrap();
        assert_eq!(t.render(&[Message::user("  x ")], false).unwrap(), "<s>x");
        let e = t.render(&[Message::system("x")], false).unwrap_err();
        assert!(format!("{e:#}").contains("first must be user"), "{e:#}");
    }

    #[test]
    fn sizes_from_the_template_are_bounded() {
        // Fuzz findings: each of these aborted the process (`memory allocation of
        // 99999999999998 bytes failed` and the like) before the guards.
        for src in [
            "{{ 'x'|indent(99999999999999) }}",
            "{{ '%99999999999999d'|format(1) }}",
            "{{ '{:>99999999999999}'.format(1) }}",
            "{{ [1, 2]|batch(99999999999999)|list }}",
            "{{ [1, 2]|slice(99999999999999)|list }}",
            "{{ messages|tojson(indent=99999999999999) }}",
            "{{ ('ab' * 100000).replace('', 'cd' * 1000) }}",
            "{{ ('ab' * 100000)|replace('', 'cd' * 1000) }}",
        ] {
            let t = ChatTemplate::new(src, "", "").unwrap();
            let e = format!("{:#}", t.render(&[Message::user("hi")], false).unwrap_err());
            assert!(e.contains("too large for a chat template"), "{src}: {e}");
        }
        // Silent nested loops (10^10 iterations, no output): stopped by the fuel bound within a
        // second, not hours later.
        let t = ChatTemplate::new(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "",
            "",
        )
        .unwrap();
        let started = std::time::Instant::now();
        let e = format!("{:#}", t.render(&[Message::user("hi")], false).unwrap_err());
        assert!(e.contains("fuel"), "{e}");
        assert!(started.elapsed().as_secs() < 30);
        // Fuzz finding: minijinja panics (index out of bounds) reversing an empty string.
        let t = ChatTemplate::new(
            "{% for m in messages %}{{ m['content'][::-1] }}{% endfor %}",
            "",
            "",
        )
        .unwrap();
        let e = format!("{:#}", t.render(&[Message::system("")], false).unwrap_err());
        assert!(e.contains("minijinja failed"), "{e}");
        assert_eq!(t.render(&[Message::system("ab")], false).unwrap(), "ba");
        // Output past 16 MiB: 200 × 100 000 bytes = 20 MB.
        let t = ChatTemplate::new(
            "{% for i in range(200) %}{{ 'x' * 100000 }}{% endfor %}",
            "",
            "",
        )
        .unwrap();
        let e = format!("{:#}", t.render(&[], false).unwrap_err());
        assert!(e.contains("exceeds 16 MiB"), "{e}");
        // Ordinary uses of the guarded filters and methods still work.
        let t = ChatTemplate::new(
            "{{ 'a\nb'|indent(2) }}|{{ '%3d'|format(7) }}|{{ '{:>4}'.format('x') }}|{{ 'aXa'|replace('X', 'y') }}|{{ 'aXa'.replace('a', '') }}|{{ [1, 2, 3]|batch(2)|list|length }}|{{ {'k': 1}|tojson(indent=1) }}",
            "",
            "",
        )
        .unwrap();
        assert_eq!(
            t.render(&[], false).unwrap(),
            "a\n  b|  7|   x|aya|X|2|{\n \"k\": 1\n}"
        );
    }

    #[test]
    fn syntax_error_is_reported() {
        let e = ChatTemplate::new("{% for %}", "", "")
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not compile"), "{e}");
    }
}
