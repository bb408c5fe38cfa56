//! Word splitting the way the Dockerfile parser does it before any variable
//! substitution: quotes and escapes are kept in the words (they are removed
//! later, when the words are expanded), only the word boundaries are decided.

/// Whitespace that separates words in whitespace-delimited instructions
/// (FROM, EXPOSE, non-JSON COPY/ADD/VOLUME).
pub(crate) fn is_delim_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0b' | '\x0c' | '\r')
}

/// Splits on runs of Docker's delimiter whitespace, dropping empty words.
pub(crate) fn split_whitespace_delimited(rest: &str) -> Vec<String> {
    rest.split(is_delim_space)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Splits `rest` into words on unquoted whitespace, keeping quotes and escape
/// characters in the words (ARG, ENV and LABEL arguments).
pub(crate) fn split_words_keep_quotes(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut blank_ok = false;
    let mut quote: Option<char> = None;
    let mut chars = rest.chars().peekable();
    while let Some(ch) = chars.next() {
        if let Some(q) = quote {
            if ch == q {
                quote = None;
                word.push(ch);
                continue;
            }
            if ch == escape && q != '\'' {
                match chars.next() {
                    Some(next) => {
                        word.push(ch);
                        word.push(next);
                    }
                    None => quote = None,
                }
                continue;
            }
            word.push(ch);
            continue;
        }
        if ch.is_whitespace() {
            if in_word && (blank_ok || !word.is_empty()) {
                words.push(std::mem::take(&mut word));
            }
            word.clear();
            in_word = false;
            blank_ok = false;
            continue;
        }
        in_word = true;
        if ch == '\'' || ch == '"' {
            quote = Some(ch);
            blank_ok = true;
            word.push(ch);
            continue;
        }
        if ch == escape {
            if let Some(next) = chars.next() {
                word.push(ch);
                word.push(next);
            }
            continue;
        }
        word.push(ch);
    }
    if in_word && (blank_ok || !word.is_empty()) {
        words.push(word);
    }
    words
}

/// Splits a whole instruction line into raw shell words (quotes and `\`
/// escapes kept), used to find heredoc markers such as `<<EOF` or `<<-"EOF"`.
pub(crate) fn split_shell_words_raw(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(ch) = chars.next() {
        match quote {
            Some(q) => {
                word.push(ch);
                if ch == q {
                    quote = None;
                } else if ch == '\\' && q == '"' {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                }
            }
            None => {
                if ch.is_whitespace() {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                    continue;
                }
                in_word = true;
                word.push(ch);
                if ch == '\'' || ch == '"' {
                    quote = Some(ch);
                } else if ch == '\\' {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                }
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_quotes_in_words() {
        assert_eq!(
            split_words_keep_quotes(r#"a=1  b="x y"   c='p q' d=\ e"#, '\\'),
            vec!["a=1", r#"b="x y""#, "c='p q'", r"d=\ e"]
        );
        assert_eq!(split_words_keep_quotes(r#"e="""#, '\\'), vec![r#"e="""#]);
    }

    #[test]
    fn whitespace_delimited() {
        assert_eq!(
            split_whitespace_delimited("a \t b\x0bc"),
            vec!["a", "b", "c"]
        );
    }

    #[test]
    fn raw_shell_words() {
        assert_eq!(
            split_shell_words_raw(r#"RUN cat <<"EOF" 'a b' c\ d"#),
            vec!["RUN", "cat", r#"<<"EOF""#, "'a b'", r"c\ d"]
        );
    }
}
