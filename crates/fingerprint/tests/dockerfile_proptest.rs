//! Property tests for the Dockerfile parser and planner: no input makes them
//! panic, and layout-only rewrites never change the canonical instructions.

use std::collections::BTreeMap;

use imagedeploy_fingerprint::dockerfile::{parse, plan};
use proptest::prelude::*;

/// Fragments that exercise the tricky paths (quotes, escapes, heredocs,
/// substitutions, flags, multi-byte characters) more often than pure noise.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("FROM ".to_string()),
        Just("from a AS b".to_string()),
        Just("ARG ".to_string()),
        Just("ENV ".to_string()),
        Just("COPY ".to_string()),
        Just("ADD ".to_string()),
        Just("RUN ".to_string()),
        Just("ONBUILD ".to_string()),
        Just("HEALTHCHECK CMD ".to_string()),
        Just("SHELL [\"sh\"]".to_string()),
        Just("--from=".to_string()),
        Just("--mount=type=bind,".to_string()),
        Just("--mount=type=secret,id=".to_string()),
        Just("--exclude=".to_string()),
        Just("<<EOF".to_string()),
        Just("<<-\"E\"".to_string()),
        Just("EOF".to_string()),
        Just("${".to_string()),
        Just("${A:-".to_string()),
        Just("${A##*/}".to_string()),
        Just("${A//x/y}".to_string()),
        Just("$A".to_string()),
        Just("}".to_string()),
        Just("\\".to_string()),
        Just("`".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("[\"a\", ".to_string()),
        Just("]".to_string()),
        Just("# escape=`".to_string()),
        Just("# syntax=x".to_string()),
        Just("#".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just(" ".to_string()),
        Just("\t".to_string()),
        Just("é".to_string()),
        Just("\u{feff}".to_string()),
        Just("日本".to_string()),
        "[a-z0-9=./:,*-]{0,6}",
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

fn dockerfile_like() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = parse(&s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn parse_and_plan_never_panic_on_dockerfile_like_text(
        s in dockerfile_like(),
        target in prop::option::of("[a-z0-9]{1,3}"),
        arg in "[A-Z]{1,2}",
        val in "[a-z$/{}]{0,4}",
    ) {
        if let Ok(df) = parse(&s) {
            let mut args = BTreeMap::new();
            args.insert(arg, val);
            let _ = plan(&df, target.as_deref(), &args);
            let _ = plan(&df, None, &BTreeMap::new());
        }
    }
}

/// A small Dockerfile model rendered in two layouts.
#[derive(Debug, Clone)]
struct Line {
    keyword: &'static str,
    words: Vec<String>,
}

fn line() -> impl Strategy<Value = Line> {
    let kw = prop::sample::select(vec![
        "RUN", "COPY", "ENV", "ARG", "LABEL", "EXPOSE", "WORKDIR",
    ]);
    let word = "[a-z0-9_./]{1,8}";
    (kw, prop::collection::vec(word, 2..6)).prop_map(|(keyword, words)| {
        let words = match keyword {
            "ENV" | "LABEL" | "ARG" => words.iter().map(|w| format!("k{w}={w}")).collect(),
            "WORKDIR" => vec![words[0].clone()],
            _ => words,
        };
        Line { keyword, words }
    })
}

fn render(lines: &[Line], messy: bool) -> String {
    let mut out = String::new();
    if messy {
        out.push_str("# leading comment\r\n\r\n");
        out.push_str("from   base:1   AS   Main\r\n");
    } else {
        out.push_str("FROM base:1 AS main\n");
    }
    for (i, l) in lines.iter().enumerate() {
        if !messy {
            out.push_str(&format!("{} {}\n", l.keyword, l.words.join(" ")));
            continue;
        }
        let kw = if i % 2 == 0 {
            l.keyword.to_lowercase()
        } else {
            l.keyword.to_string()
        };
        out.push_str(&format!("  # comment {i}\r\n\r\n{kw}  "));
        let wrap = l.keyword != "WORKDIR";
        for (j, w) in l.words.iter().enumerate() {
            if j > 0 && wrap && j % 2 == 0 {
                out.push_str(" \\\r\n  # inside\r\n\r\n     ");
            } else if j > 0 {
                out.push_str(" \t ");
            }
            out.push_str(w);
        }
        out.push_str("   \r\n");
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn layout_never_changes_canonical_text(lines in prop::collection::vec(line(), 1..12)) {
        let clean = parse(&render(&lines, false)).unwrap();
        let messy = parse(&render(&lines, true)).unwrap();
        let a = plan(&clean, None, &BTreeMap::new()).unwrap();
        let b = plan(&messy, None, &BTreeMap::new()).unwrap();
        let ta: Vec<_> = a.instructions.iter().map(|i| &i.text).collect();
        let tb: Vec<_> = b.instructions.iter().map(|i| &i.text).collect();
        prop_assert_eq!(ta, tb);
        prop_assert_eq!(a.context_sources.len(), b.context_sources.len());
        for (x, y) in a.context_sources.iter().zip(&b.context_sources) {
            prop_assert_eq!(&x.sources, &y.sources);
        }
    }
}

/// Adversarial sizes: long chains of stages, many variables, deep nesting and
/// exponential-growth ARGs finish quickly with a result or an error.
#[test]
fn large_inputs_stay_bounded() {
    let start = std::time::Instant::now();
    let mut chain = String::from("FROM scratch AS s0\n");
    for i in 1..3000 {
        chain.push_str(&format!("FROM s{} AS s{i}\nENV V{i}=$V{}x\n", i - 1, i - 1));
    }
    chain.push_str("COPY $V2999 /x\n");
    let df = parse(&chain).unwrap();
    let p = plan(&df, None, &BTreeMap::new()).unwrap();
    assert_eq!(p.context_sources.len(), 1);

    let mut doubling = String::from("FROM a\nARG A0=xxxxxxxx\n");
    for i in 1..40 {
        doubling.push_str(&format!("ARG A{i}=$A{}$A{}\n", i - 1, i - 1));
    }
    doubling.push_str("COPY $A39 /x\n");
    let df = parse(&doubling).unwrap();
    assert!(plan(&df, None, &BTreeMap::new()).is_err());

    let deep = format!(
        "FROM a\nCOPY {}{} /x\n",
        "${A:-".repeat(5000),
        "}".repeat(5000)
    );
    let df = parse(&deep).unwrap();
    assert!(plan(&df, None, &BTreeMap::new()).is_err());

    let long_run = format!(
        "FROM a\nRUN {}\n",
        "echo \"a  b\" $'c' ${x} \\\n".repeat(20000)
    );
    assert!(parse(&long_run).is_ok());
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
}
