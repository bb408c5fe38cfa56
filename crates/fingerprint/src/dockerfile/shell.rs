//! Variable substitution in a single word, as BuildKit's shell lexer does it
//! for instructions that support it: `$V`, `${V}`, `${V:-d}`, `${V-d}`,
//! `${V:+x}`, `${V+x}`, `${V:?m}`, `${V#p}`, `${V%p}`, `${V/p/r}`, quotes
//! removed, the escape character escaping the next character.
//!
//! Input comes from untrusted files, so nesting depth and output size are
//! bounded instead of trusting the input to be reasonable.

/// Why a word could not be expanded (Docker-like message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShellError(pub String);

const MAX_DEPTH: usize = 64;
const MAX_OUTPUT: usize = 1 << 20;
const MAX_PATTERN_WORK: usize = 1 << 22;

/// Expands `word`; `lookup` returns the value of a variable (None = unset)
/// and sees every name referenced, used or not.
pub(crate) fn expand(
    word: &str,
    escape: char,
    lookup: &mut dyn FnMut(&str) -> Option<String>,
) -> Result<String, ShellError> {
    let mut lx = Lexer {
        chars: word.chars().collect(),
        pos: 0,
        escape,
        lookup,
        depth: 0,
    };
    lx.process(None).map(|(s, _)| s)
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    lookup: &'a mut dyn FnMut(&str) -> Option<String>,
    depth: usize,
}

fn push_checked(out: &mut String, s: &str) -> Result<(), ShellError> {
    if out.len() + s.len() > MAX_OUTPUT {
        return Err(ShellError("expanded value is too long".into()));
    }
    out.push_str(s);
    Ok(())
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Processes until one of `stops` (consumed, returned) or end of input.
    fn process(&mut self, stops: Option<&[char]>) -> Result<(String, Option<char>), ShellError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if let Some(stops) = stops {
                if stops.contains(&c) {
                    self.pos += 1;
                    return Ok((out, Some(c)));
                }
            }
            match c {
                '\'' => {
                    self.pos += 1;
                    let s = self.single_quoted()?;
                    push_checked(&mut out, &s)?;
                }
                '"' => {
                    self.pos += 1;
                    let s = self.double_quoted()?;
                    push_checked(&mut out, &s)?;
                }
                '$' => {
                    self.pos += 1;
                    let s = self.dollar()?;
                    push_checked(&mut out, &s)?;
                }
                c if c == self.escape => {
                    self.pos += 1;
                    if let Some(n) = self.next() {
                        out.push(n);
                    }
                }
                c => {
                    self.pos += 1;
                    out.push(c);
                }
            }
            if out.len() > MAX_OUTPUT {
                return Err(ShellError("expanded value is too long".into()));
            }
        }
        if stops.is_some() {
            return Err(ShellError("syntax error: missing '}'".into()));
        }
        Ok((out, None))
    }

    fn single_quoted(&mut self) -> Result<String, ShellError> {
        let mut out = String::new();
        loop {
            match self.next() {
                None => {
                    return Err(ShellError(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    ))
                }
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, ShellError> {
        let mut out = String::new();
        loop {
            match self.next() {
                None => {
                    return Err(ShellError(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    ))
                }
                Some('"') => return Ok(out),
                Some('$') => {
                    let s = self.dollar()?;
                    push_checked(&mut out, &s)?;
                }
                Some(c) if c == self.escape => match self.peek() {
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.pos += 1;
                        out.push(n);
                    }
                    _ => out.push(c),
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn read_name(&mut self) -> String {
        let mut name = String::new();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {
                while let Some(c) = self.peek().filter(char::is_ascii_digit) {
                    name.push(c);
                    self.pos += 1;
                }
            }
            Some(c) if "@*#?-$!".contains(c) => {
                name.push(c);
                self.pos += 1;
            }
            _ => {
                while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
                    name.push(c);
                    self.pos += 1;
                }
            }
        }
        name
    }

    fn dollar(&mut self) -> Result<String, ShellError> {
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(ShellError("substitution nested too deeply".into()));
                }
                let r = self.braced();
                self.depth -= 1;
                r
            }
            Some(c) if c.is_alphanumeric() || c == '_' => {
                let name = self.read_name();
                Ok((self.lookup)(&name).unwrap_or_default())
            }
            _ => Ok("$".to_string()),
        }
    }

    fn braced(&mut self) -> Result<String, ShellError> {
        let name = self.read_name();
        if name.is_empty() {
            return Err(ShellError("bad substitution".into()));
        }
        let value = (self.lookup)(&name);
        let op = self
            .next()
            .ok_or_else(|| ShellError("syntax error: missing '}'".into()))?;
        match op {
            '}' => Ok(value.unwrap_or_default()),
            ':' => {
                let m = self
                    .next()
                    .ok_or_else(|| ShellError("syntax error: missing '}'".into()))?;
                if !matches!(m, '-' | '+' | '?') {
                    return Err(ShellError(format!(
                        "unsupported modifier (:{m}) in substitution"
                    )));
                }
                let (word, _) = self.process(Some(&['}']))?;
                let set = value.as_deref().is_some_and(|v| !v.is_empty());
                modifier(&name, m, set, value, word, true)
            }
            '-' | '+' | '?' => {
                let (word, _) = self.process(Some(&['}']))?;
                modifier(&name, op, value.is_some(), value, word, false)
            }
            '#' | '%' => {
                let longest = self.peek() == Some(op);
                if longest {
                    self.pos += 1;
                }
                let (pattern, _) = self.process(Some(&['}']))?;
                let v = value.unwrap_or_default();
                trim_pattern(&v, &pattern, op == '#', longest)
            }
            '/' => {
                let all = self.peek() == Some('/');
                if all {
                    self.pos += 1;
                }
                let (pattern, stop) = self.process(Some(&['/', '}']))?;
                let repl = if stop == Some('/') {
                    self.process(Some(&['}']))?.0
                } else {
                    String::new()
                };
                let v = value.unwrap_or_default();
                replace_pattern(&v, &pattern, &repl, all)
            }
            other => Err(ShellError(format!(
                "unsupported modifier ({other}) in substitution"
            ))),
        }
    }
}

fn modifier(
    name: &str,
    m: char,
    set: bool,
    value: Option<String>,
    word: String,
    colon: bool,
) -> Result<String, ShellError> {
    match m {
        '-' => Ok(if set { value.unwrap_or_default() } else { word }),
        '+' => Ok(if set { word } else { String::new() }),
        _ => {
            if set {
                Ok(value.unwrap_or_default())
            } else if !word.is_empty() {
                Err(ShellError(format!("{name}: {word}")))
            } else if colon {
                Err(ShellError(format!(
                    "{name}: is not allowed to be unset or empty"
                )))
            } else {
                Err(ShellError(format!("{name}: is not allowed to be unset")))
            }
        }
    }
}

fn check_work(text: &[char], pattern: &[char]) -> Result<(), ShellError> {
    let work = text
        .len()
        .saturating_add(1)
        .saturating_mul(text.len().saturating_add(1))
        .saturating_mul(pattern.len().saturating_add(1));
    if work > MAX_PATTERN_WORK {
        return Err(ShellError("substitution pattern too complex".into()));
    }
    Ok(())
}

/// Shell glob match of the whole `text` (`*`, `?`, `\x`; the rest literal).
fn glob_match(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                '*' => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                '?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                '\\' if p + 1 < pattern.len() && pattern[p + 1] == text[t] => {
                    p += 2;
                    t += 1;
                    continue;
                }
                '\\' if p + 1 < pattern.len() => {}
                c if c == text[t] => {
                    p += 1;
                    t += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    while p < pattern.len() && pattern[p] == '*' {
        p += 1;
    }
    p == pattern.len()
}

fn trim_pattern(
    value: &str,
    pattern: &str,
    prefix: bool,
    longest: bool,
) -> Result<String, ShellError> {
    let text: Vec<char> = value.chars().collect();
    let pat: Vec<char> = pattern.chars().collect();
    check_work(&text, &pat)?;
    let n = text.len();
    let lens: Box<dyn Iterator<Item = usize>> = if longest {
        Box::new((0..=n).rev())
    } else {
        Box::new(0..=n)
    };
    for len in lens {
        if prefix {
            if glob_match(&pat, &text[..len]) {
                return Ok(text[len..].iter().collect());
            }
        } else if glob_match(&pat, &text[n - len..]) {
            return Ok(text[..n - len].iter().collect());
        }
    }
    Ok(value.to_string())
}

fn replace_pattern(
    value: &str,
    pattern: &str,
    repl: &str,
    all: bool,
) -> Result<String, ShellError> {
    let text: Vec<char> = value.chars().collect();
    let pat: Vec<char> = pattern.chars().collect();
    check_work(&text, &pat)?;
    if pat.is_empty() {
        return Ok(value.to_string());
    }
    let mut out = String::new();
    let mut i = 0;
    let mut replaced = false;
    while i < text.len() {
        if !replaced || all {
            if let Some(end) = (i + 1..=text.len())
                .rev()
                .find(|&e| glob_match(&pat, &text[i..e]))
            {
                push_checked(&mut out, repl)?;
                i = end;
                replaced = true;
                continue;
            }
        }
        out.push(text[i]);
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn ex(word: &str, vars: &[(&str, &str)]) -> Result<String, ShellError> {
        let env: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        expand(word, '\\', &mut |n| env.get(n).cloned())
    }

    #[test]
    fn forms() {
        let v = [("V", "val"), ("E", ""), ("P", "/usr/local/bin")];
        assert_eq!(ex("$V/${V}", &v).unwrap(), "val/val");
        assert_eq!(ex("${U:-d}|${E:-d}|${E-d}|${U-d}", &v).unwrap(), "d|d||d");
        assert_eq!(ex("${V:+x}|${E:+x}|${E+x}|${U+x}", &v).unwrap(), "x||x|");
        assert_eq!(ex(r#"\$V '$V' "$V""#, &v).unwrap(), "$V $V val");
        assert_eq!(ex(r#""a\"b\$c\d""#, &v).unwrap(), r#"a"b$c\d"#);
        assert_eq!(
            ex("${P#*/}|${P##*/}|${P%/*}|${P%%/*}", &v).unwrap(),
            "usr/local/bin|bin|/usr/local|"
        );
        assert_eq!(
            ex("${P/local/x}|${P//l/L}", &v).unwrap(),
            "/usr/x/bin|/usr/LocaL/bin"
        );
        assert_eq!(ex("${U:-${V}x}", &v).unwrap(), "valx");
        assert_eq!(ex("a$", &v).unwrap(), "a$");
        assert_eq!(ex("$1x", &v).unwrap(), "x");
        assert!(ex("${V", &v).is_err());
        assert!(ex("${U:?need it}", &v).unwrap_err().0.contains("need it"));
        assert!(ex("'abc", &v).is_err());
        assert!(ex("${V:x}", &v).is_err());
    }

    #[test]
    fn backtick_escape() {
        let r = expand(r"C:\dir\`$V", '`', &mut |_| Some("v".into())).unwrap();
        assert_eq!(r, r"C:\dir\$V");
    }

    #[test]
    fn bounded() {
        let deep = "${a:-".repeat(200) + &"}".repeat(200);
        assert!(ex(&deep, &[]).is_err());
        let big = "x".repeat(600_000);
        assert!(ex("$B$B", &[("B", big.as_str())]).is_err());
    }
}
