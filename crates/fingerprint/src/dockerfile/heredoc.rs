//! Heredoc markers (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`) on RUN, COPY and
//! ADD lines. The bodies are read by the line reader; this module only decides
//! which words are markers and what their terminators are.

use super::words::split_shell_words_raw;

/// One heredoc attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// Terminator word, quotes removed (`EOF` for `<<"EOF"`).
    pub name: String,
    /// The marker as written (`<<-"EOF"`), part of the canonical text.
    pub marker: String,
    /// `<<-`: leading tabs are stripped from body lines and the terminator.
    pub chomp: bool,
    /// False when the terminator was quoted: the body is not expanded.
    pub expand: bool,
    /// Body, verbatim, including each line's original line ending.
    pub content: String,
}

/// Parses one word as a heredoc marker: `^(\d*)<<(-?)([^<]*)$` with a
/// non-empty terminator that is a single shell word.
pub(crate) fn parse_marker(word: &str) -> Option<Heredoc> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let rest = word[digits..].strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let (name, quoted) = unquote_word(rest)?;
    Some(Heredoc {
        name,
        marker: word.to_string(),
        chomp,
        expand: !quoted,
        content: String::new(),
    })
}

/// Removes shell quoting from a single word; None if it is not exactly one
/// word (unquoted whitespace or an unterminated quote).
fn unquote_word(raw: &str) -> Option<(String, bool)> {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = raw.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\'' => {
                quoted = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => out.push(c),
                    }
                }
            }
            '"' => {
                quoted = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            c @ ('"' | '\\' | '$') => out.push(c),
                            c => {
                                out.push('\\');
                                out.push(c);
                            }
                        },
                        c => out.push(c),
                    }
                }
            }
            '\\' => {
                if let Some(c) = chars.next() {
                    out.push(c);
                }
            }
            c if c.is_whitespace() => return None,
            c => out.push(c),
        }
    }
    if out.is_empty() {
        return None;
    }
    Some((out, quoted))
}

/// All heredoc markers on a logical instruction line, in order.
pub(crate) fn markers_in_line(line: &str) -> Vec<Heredoc> {
    if !line.contains("<<") {
        return Vec::new();
    }
    split_shell_words_raw(line)
        .iter()
        .filter_map(|w| parse_marker(w))
        .collect()
}

impl Heredoc {
    /// The body as the instruction will use it (`<<-` strips leading tabs).
    pub fn effective_content(&self) -> String {
        if !self.chomp {
            return self.content.clone();
        }
        self.content
            .split_inclusive('\n')
            .map(|l| l.trim_start_matches('\t'))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        let m = markers_in_line(r#"RUN <<EOF 3<<-"END" cat <<'x y' <<"#);
        let names: Vec<_> = m.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, vec!["EOF", "END", "x y"]);
        assert!(m[0].expand && !m[0].chomp);
        assert!(!m[1].expand && m[1].chomp);
        assert!(markers_in_line("RUN echo a<b").is_empty());
        assert!(markers_in_line("RUN cat << EOF").is_empty());
    }

    #[test]
    fn chomp() {
        let h = Heredoc {
            name: "E".into(),
            marker: "<<-E".into(),
            chomp: true,
            expand: true,
            content: "\t\ta\n\tb\r\n".into(),
        };
        assert_eq!(h.effective_content(), "a\nb\r\n");
    }
}
