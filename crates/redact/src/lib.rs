//! Masks secret values in text that reaches a user: engine log lines,
//! builder output, errors, Check failures and diff reasons.
//!
//! One rule set, so every channel masks the same way:
//!
//! - A value is masked as a whole and, when it spans lines, line by line
//!   (each line split at `\n` or `\r`, as printed and with surrounding
//!   whitespace trimmed): a multi-line secret that a program prints over
//!   several output lines is masked in each of them, and in any text that
//!   joins those lines again.
//! - A value (or line of a value) of at least [`SHORT`] characters is
//!   replaced by [`MASK`] wherever it occurs, also inside a word.
//! - A shorter one cannot be masked inside words without masking half of
//!   every message. In messages the provider writes itself
//!   ([`Redactor::redact`]) it is replaced where it stands as a whole token
//!   (not next to a letter, digit or `_`): that is the only way the
//!   provider ever quotes a value. Output of a program the user controls
//!   (a Dockerfile `RUN` step can print a value glued to anything) goes
//!   through [`Redactor::redact_output_line`], which withholds every line
//!   that contains a short value anywhere, so it cannot leak in any form.
//! - Empty values mask nothing. Values are compared as Unicode text
//!   exactly as given (control characters, NUL and non-ASCII included).

#![warn(missing_docs)]

/// What a masked value is replaced with.
pub const MASK: &str = "[secret]";

/// Values (or lines of values) shorter than this many characters are
/// "short": masked as whole tokens in messages, and whole output lines
/// containing them are withheld.
pub const SHORT: usize = 4;

/// Replaces a builder output line that contains a short secret value.
pub const WITHHELD: &str = "[output line withheld: it contains a secret value]";

/// The secret values to mask, ready to apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Values of at least `SHORT` characters, longest first.
    long: Vec<String>,
    /// Shorter values.
    short: Vec<String>,
}

impl Redactor {
    /// A redactor for `values` (each one, and each of its lines).
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut redactor = Redactor::default();
        for value in values {
            redactor.add(value.as_ref());
        }
        redactor
    }

    /// Adds one value (and each of its lines).
    pub fn add(&mut self, value: &str) {
        self.add_piece(value);
        if value.contains(['\n', '\r']) {
            for line in value.split(['\n', '\r']) {
                self.add_piece(line);
                self.add_piece(line.trim());
            }
        }
        self.add_piece(value.trim());
    }

    fn add_piece(&mut self, piece: &str) {
        if piece.is_empty() {
            return;
        }
        let list = if piece.chars().count() >= SHORT {
            &mut self.long
        } else {
            &mut self.short
        };
        if !list.iter().any(|v| v == piece) {
            list.push(piece.to_string());
            list.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        }
    }

    /// Adds every value of `other`.
    pub fn extend(&mut self, other: &Redactor) {
        for v in other.long.iter().chain(&other.short) {
            self.add_piece(v);
        }
    }

    /// True when there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.long.is_empty() && self.short.is_empty()
    }

    /// A message the provider wrote: long values masked anywhere, short
    /// ones where they stand as a whole token.
    pub fn redact(&self, text: &str) -> String {
        if self.is_empty() {
            return text.to_string();
        }
        let mut ranges = self.long_ranges(text);
        for value in &self.short {
            for (start, _) in match_starts(text, value) {
                let end = start + value.len();
                if !word_char_before(text, start) && !word_char_after(text, end) {
                    ranges.push((start, end));
                }
            }
        }
        splice(text, ranges)
    }

    /// A line of output from a program the user controls: long values
    /// masked anywhere; a line containing a short value anywhere is
    /// withheld as a whole ([`WITHHELD`]).
    pub fn redact_output_line(&self, line: &str) -> String {
        if self.is_empty() {
            return line.to_string();
        }
        if self.short.iter().any(|v| line.contains(v.as_str())) {
            return WITHHELD.to_string();
        }
        splice(line, self.long_ranges(line))
    }

    /// True when `text` shows any value in a form [`Redactor::redact`]
    /// would mask.
    pub fn reveals(&self, text: &str) -> bool {
        self.redact(text) != text
    }

    fn long_ranges(&self, text: &str) -> Vec<(usize, usize)> {
        let mut ranges = Vec::new();
        for value in &self.long {
            ranges.extend(match_starts(text, value).map(|(s, _)| (s, s + value.len())));
        }
        ranges
    }
}

/// Every start of `needle` in `text`, overlapping ones included.
fn match_starts<'a>(text: &'a str, needle: &'a str) -> impl Iterator<Item = (usize, ())> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = from + text.get(from..)?.find(needle)?;
        // Next search from the next char boundary after `at`.
        from = at + text[at..].chars().next().map_or(1, char::len_utf8);
        Some((at, ()))
    })
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn word_char_before(text: &str, at: usize) -> bool {
    text[..at].chars().next_back().is_some_and(is_word)
}

fn word_char_after(text: &str, at: usize) -> bool {
    text[at..].chars().next().is_some_and(is_word)
}

/// `text` with the union of `ranges` replaced by one [`MASK`] each.
fn splice(text: &str, mut ranges: Vec<(usize, usize)>) -> String {
    if ranges.is_empty() {
        return text.to_string();
    }
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut current: Option<(usize, usize)> = None;
    for (start, end) in ranges {
        match current {
            Some((s, e)) if start <= e => current = Some((s, e.max(end))),
            Some((s, e)) => {
                out.push_str(&text[at..s]);
                out.push_str(MASK);
                at = e;
                current = Some((start, end));
            }
            None => current = Some((start, end)),
        }
    }
    if let Some((s, e)) = current {
        out.push_str(&text[at..s]);
        out.push_str(MASK);
        at = e;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn long_values_are_masked_anywhere() {
        let r = Redactor::new(["hunter22"]);
        assert_eq!(r.redact("pw=hunter22!"), format!("pw={MASK}!"));
        assert_eq!(r.redact_output_line("xhunter22y"), format!("x{MASK}y"));
        assert_eq!(r.redact("nothing here"), "nothing here");
    }

    #[test]
    fn multi_line_values_are_masked_line_by_line_and_joined() {
        let value = "-----BEGIN KEY-----\nMIIEvQIBADANBg\nab\n-----END KEY-----\n";
        let r = Redactor::new([value]);
        for line in value.lines() {
            let shown = r.redact_output_line(line);
            assert!(!shown.contains(line), "{line:?} leaked as {shown:?}");
        }
        let joined = format!("error; last lines:\n{value}");
        let shown = r.redact(&joined);
        assert!(!shown.contains("MIIEvQIBADANBg") && !shown.contains("BEGIN KEY"));
        // The two-character line `ab` stands alone: a token.
        assert!(!shown.lines().any(|l| l == "ab"), "{shown}");
        // \r-separated lines too.
        let r = Redactor::new(["first-part\rsecond-part"]);
        assert_eq!(r.redact("second-part"), MASK);
    }

    #[test]
    fn short_values_are_tokens_in_messages_and_withhold_output_lines() {
        let r = Redactor::new(["x7"]);
        assert_eq!(
            r.redact("got x7, expected y"),
            format!("got {MASK}, expected y")
        );
        assert_eq!(
            r.redact("ax7b stays (inside a word)"),
            "ax7b stays (inside a word)"
        );
        assert_eq!(r.redact_output_line("prefix-x7-suffix"), WITHHELD);
        assert_eq!(r.redactor_len(), 1);
        let one = Redactor::new(["1"]);
        assert_eq!(one.redact("count -1"), format!("count -{MASK}"));
        assert_eq!(one.redact("10 items"), "10 items");
    }

    #[test]
    fn binary_and_unicode_values() {
        let value = "\u{0}\u{1}bin\u{7f}ärY\u{fffd}";
        let r = Redactor::new([value]);
        assert_eq!(r.redact(&format!("a{value}b")), format!("a{MASK}b"));
        let short = Redactor::new(["\u{0}é"]);
        assert_eq!(short.redact_output_line("x\u{0}éy"), WITHHELD);
        assert_eq!(Redactor::new([""]).redact("anything"), "anything");
    }

    #[test]
    fn overlapping_values_become_one_mask() {
        let r = Redactor::new(["abcdef", "defghi"]);
        assert_eq!(r.redact("xabcdefghiy"), format!("x{MASK}y"));
        let r = Redactor::new(["aaaa"]);
        assert_eq!(r.redact("aaaaaa"), MASK);
    }

    impl Redactor {
        fn redactor_len(&self) -> usize {
            self.long.len() + self.short.len()
        }
    }

    proptest! {
        #[test]
        fn a_long_value_never_survives(value in "[a-zA-Z0-9+/=\u{0}\u{e9}]{4,20}", before in "[ .,;:!?-]{0,10}", after in "[ .,;:!?-]{0,10}") {
            let r = Redactor::new([value.as_str()]);
            let text = format!("{before}{value}{after}");
            prop_assert_eq!(r.redact(&text), format!("{before}{MASK}{after}"));
            prop_assert_eq!(r.redact_output_line(&text), format!("{before}{MASK}{after}"));
        }

        #[test]
        fn a_short_value_never_survives_in_output(value in "[a-z0-9]{1,3}", before in "[ -~]{0,10}", after in "[ -~]{0,10}") {
            let r = Redactor::new([value.as_str()]);
            prop_assert_eq!(r.redact_output_line(&format!("{before}{value}{after}")), WITHHELD);
        }
    }
}
