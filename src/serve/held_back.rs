//! Which text of a streamed answer may be sent yet: the tail that could be the start of a
//! stop string is held back until the next piece shows whether the stop string follows, so a
//! stop string is never sent, even in part.

/// Bytes at the end of `text` that are the start of some stop string (held back until the
/// next piece shows whether the stop string follows); always a character boundary.
pub fn held_back(text: &str, stops: &[String]) -> usize {
    stops
        .iter()
        .filter_map(|s| {
            (1..s.len())
                .rev()
                .filter(|&k| s.is_char_boundary(k) && k <= text.len())
                .find(|&k| text.is_char_boundary(text.len() - k) && text.ends_with(&s[..k]))
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_of_a_stop_string_is_held_back() {
        let stops = vec!["\n\nQ:".to_string(), "END".to_string()];
        assert_eq!(held_back("answer\n", &stops), 1);
        assert_eq!(held_back("answer\n\nQ", &stops), 3);
        assert_eq!(held_back("answer EN", &stops), 2);
        assert_eq!(held_back("answer", &stops), 0);
        assert_eq!(held_back("", &stops), 0);
        // a multi-byte stop string: only whole characters are held
        let stops = vec!["éé".to_string()];
        assert_eq!(held_back("café", &stops), 2);
    }
}
