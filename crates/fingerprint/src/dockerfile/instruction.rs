//! One logical line -> a typed [`Instruction`] with its canonical text.
//!
//! Argument shapes follow the Dockerfile parser: JSON (exec) form where it is
//! allowed, whitespace-delimited words for FROM/COPY/ADD/EXPOSE/VOLUME, quoted
//! words for ARG/ENV/LABEL, the verbatim rest of the line for WORKDIR/USER/...
//! Canonical text re-renders each shape with layout-only differences removed.

use super::canonical::{json_array, normalize_posix_command};
use super::error::ParseError;
use super::flags::{
    extract_flags, flag_bool, flag_value, flag_values, parse_flags, render_flags, Flag, FlagKind,
};
use super::heredoc::{parse_marker, Heredoc};
use super::lines::Joined;
use super::mount::{parse_mount, Mount};
use super::words::{is_delim_space, split_whitespace_delimited, split_words_keep_quotes};

/// A parsed Dockerfile instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// 1-based line where it ends (continuations and heredoc bodies included).
    pub end_line: usize,
    /// Keyword, upper-case (`COPY`).
    pub keyword: String,
    /// Flags after quote removal, in source order.
    pub flags: Vec<Flag>,
    pub command: Command,
    /// Heredoc bodies attached to this instruction.
    pub heredocs: Vec<Heredoc>,
    /// Layout-independent text used for hashing (not variable-substituted).
    pub canonical: String,
    /// The instruction's text as written, joined, with the position of each
    /// byte in the file (for edits in place).
    pub source: Joined,
}

/// Typed arguments of each instruction (values as written: not substituted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    From {
        image: String,
        /// Stage name, lower-cased as BuildKit does.
        name: Option<String>,
        platform: Option<String>,
    },
    Arg(Vec<ArgDecl>),
    Env(Vec<KeyValue>),
    Label(Vec<KeyValue>),
    Run(Run),
    Copy(CopyArgs),
    Add(CopyArgs),
    Cmd(CommandLine),
    Entrypoint(CommandLine),
    Shell(Vec<String>),
    Workdir(String),
    User(String),
    Expose(Vec<String>),
    Volume(Vec<String>),
    StopSignal(String),
    Maintainer(String),
    /// None for `HEALTHCHECK NONE`.
    Healthcheck(Option<CommandLine>),
    Onbuild(Box<Instruction>),
}

/// `ARG name[=default]` (default keeps its quotes until expansion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    pub default: Option<String>,
}

/// One `key=value` of ENV or LABEL (value keeps its quotes until expansion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// Exec form (JSON array) or shell form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    Exec(Vec<String>),
    Shell(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub mounts: Vec<Mount>,
    pub network: Option<String>,
    pub security: Option<String>,
    pub command: CommandLine,
}

/// Arguments of COPY and ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyArgs {
    /// Source words that are not heredocs, as written.
    pub sources: Vec<String>,
    /// Names of heredocs used as sources (`COPY <<EOF /dst`).
    pub heredoc_sources: Vec<String>,
    pub dest: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub excludes: Vec<String>,
    pub checksum: Option<String>,
    pub keep_git_dir: bool,
}

/// Parsing context that changes how text is canonicalised.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub escape: char,
    /// Shell-form commands run in a POSIX shell, so unquoted blank runs can
    /// be collapsed in the canonical text.
    pub posix_shell: bool,
}

const FROM_FLAGS: &[(&str, FlagKind)] = &[("platform", FlagKind::String)];
const COPY_FLAGS: &[(&str, FlagKind)] = &[
    ("from", FlagKind::String),
    ("chown", FlagKind::String),
    ("chmod", FlagKind::String),
    ("link", FlagKind::Bool),
    ("parents", FlagKind::Bool),
    ("exclude", FlagKind::Strings),
];
const ADD_FLAGS: &[(&str, FlagKind)] = &[
    ("chown", FlagKind::String),
    ("chmod", FlagKind::String),
    ("link", FlagKind::Bool),
    ("parents", FlagKind::Bool),
    ("exclude", FlagKind::Strings),
    ("checksum", FlagKind::String),
    ("keep-git-dir", FlagKind::Bool),
    ("unpack", FlagKind::Bool),
];
const RUN_FLAGS: &[(&str, FlagKind)] = &[
    ("mount", FlagKind::Strings),
    ("network", FlagKind::String),
    ("security", FlagKind::String),
    ("device", FlagKind::Strings),
];
const HEALTHCHECK_FLAGS: &[(&str, FlagKind)] = &[
    ("interval", FlagKind::String),
    ("timeout", FlagKind::String),
    ("start-period", FlagKind::String),
    ("start-interval", FlagKind::String),
    ("retries", FlagKind::String),
];

const KEYWORDS: &[&str] = &[
    "from",
    "arg",
    "env",
    "label",
    "run",
    "copy",
    "add",
    "cmd",
    "entrypoint",
    "shell",
    "workdir",
    "user",
    "expose",
    "volume",
    "stopsignal",
    "maintainer",
    "healthcheck",
    "onbuild",
];

/// Splits `KEYWORD rest` at the first run of blanks.
fn split_keyword(text: &str) -> (&str, &str) {
    let text = text.trim();
    match text.find(is_delim_space) {
        Some(i) => (&text[..i], text[i..].trim_start_matches(is_delim_space)),
        None => (text, ""),
    }
}

/// JSON array of strings, if `args` is one. A JSON array with non-string
/// members is an error, anything else that is not JSON is shell form.
fn maybe_json(args: &str, line: usize) -> Result<Option<Vec<String>>, ParseError> {
    if !args.trim_start().starts_with('[') {
        return Ok(None);
    }
    let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(args) else {
        return Ok(None);
    };
    values
        .into_iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s),
            _ => Err(ParseError::syntax(
                line,
                "when using JSON array syntax, arrays must be comprised of strings only",
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Whether a logical line may carry heredocs: RUN/COPY/ADD (also behind
/// ONBUILD) in shell form.
pub(crate) fn heredoc_capable(text: &str) -> bool {
    let (kw, rest) = split_keyword(text);
    let (kw, rest) = if kw.eq_ignore_ascii_case("onbuild") {
        split_keyword(rest)
    } else {
        (kw, rest)
    };
    let kw = kw.to_ascii_lowercase();
    if !matches!(kw.as_str(), "run" | "copy" | "add") {
        return false;
    }
    let (_, args) = extract_flags(rest);
    !matches!(maybe_json(args.trim(), 0), Ok(Some(_)))
}

/// Canonical form of a shell-form or exec-form command line.
fn render_command_line(cmd: &CommandLine, ctx: Ctx) -> String {
    match cmd {
        CommandLine::Exec(v) => json_array(v),
        CommandLine::Shell(s) if ctx.posix_shell => normalize_posix_command(s),
        CommandLine::Shell(s) => s.clone(),
    }
}

fn parse_command_line(args: &str, line: usize) -> Result<CommandLine, ParseError> {
    Ok(match maybe_json(args, line)? {
        Some(v) => CommandLine::Exec(v),
        None => CommandLine::Shell(args.to_string()),
    })
}

fn need_args(keyword: &str, args: &str, line: usize) -> Result<(), ParseError> {
    if args.is_empty() {
        return Err(ParseError::syntax(
            line,
            format!("{keyword} requires at least one argument"),
        ));
    }
    Ok(())
}

fn parse_key_values(
    keyword: &str,
    args: &str,
    ctx: Ctx,
    line: usize,
) -> Result<(Vec<KeyValue>, String), ParseError> {
    let words = split_words_keep_quotes(args, ctx.escape);
    if words.is_empty() {
        return Err(ParseError::syntax(
            line,
            format!("{keyword} requires at least one argument"),
        ));
    }
    if !words[0].contains('=') {
        // Old form: `KEY value with spaces`.
        let Some(i) = args.find(is_delim_space) else {
            return Err(ParseError::syntax(
                line,
                format!("{keyword} must have two arguments"),
            ));
        };
        let key = &args[..i];
        let value = args[i..].trim_start_matches(is_delim_space);
        let canonical = format!("{key} {value}");
        return Ok((
            vec![KeyValue {
                key: key.to_string(),
                value: value.to_string(),
            }],
            canonical,
        ));
    }
    let mut out = Vec::new();
    for w in &words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(ParseError::syntax(
                line,
                format!("Syntax error - can't find = in \"{w}\". Must be of the form: name=value"),
            ));
        };
        if k.is_empty() {
            return Err(ParseError::syntax(
                line,
                format!("{keyword} names can not be blank"),
            ));
        }
        out.push(KeyValue {
            key: k.to_string(),
            value: v.to_string(),
        });
    }
    Ok((out, words.join(" ")))
}

fn is_valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}

fn parse_copy_args(
    keyword: &str,
    args: &str,
    flags: &[Flag],
    line: usize,
) -> Result<(CopyArgs, String), ParseError> {
    let (words, json) = match maybe_json(args, line)? {
        Some(v) => (v, true),
        None => (split_whitespace_delimited(args), false),
    };
    if words.len() < 2 {
        return Err(ParseError::syntax(
            line,
            format!(
                "{keyword} requires at least two arguments, but only one was provided. Destination could not be determined."
            ),
        ));
    }
    let (srcs, dest) = words.split_at(words.len() - 1);
    let dest = dest[0].clone();
    if !json && parse_marker(&dest).is_some() {
        return Err(ParseError::syntax(
            line,
            format!("{keyword} cannot accept a heredoc as a destination"),
        ));
    }
    let mut sources = Vec::new();
    let mut heredoc_sources = Vec::new();
    for s in srcs {
        match parse_marker(s).filter(|_| !json) {
            Some(h) => heredoc_sources.push(h.name),
            None => sources.push(s.clone()),
        }
    }
    let canonical = if json {
        json_array(&words)
    } else {
        words.join(" ")
    };
    Ok((
        CopyArgs {
            sources,
            heredoc_sources,
            dest,
            from: flag_value(flags, "from"),
            chown: flag_value(flags, "chown"),
            chmod: flag_value(flags, "chmod"),
            link: flag_bool(flags, "link"),
            parents: flag_bool(flags, "parents"),
            excludes: flag_values(flags, "exclude"),
            checksum: flag_value(flags, "checksum"),
            keep_git_dir: flag_bool(flags, "keep-git-dir"),
        },
        canonical,
    ))
}

/// Parses one logical instruction line.
pub(crate) fn parse_instruction(
    text: &str,
    line: usize,
    end_line: usize,
    heredocs: Vec<Heredoc>,
    ctx: Ctx,
) -> Result<Instruction, ParseError> {
    let (kw_raw, rest) = split_keyword(text);
    let kw = kw_raw.to_ascii_lowercase();
    if !KEYWORDS.contains(&kw.as_str()) {
        // Docker quotes the unknown word; a line that is no instruction word
        // at all (a file that is not a Dockerfile, such as an environment
        // dump) is not echoed: it may hold anything.
        let word = kw_raw.len() <= 24 && kw_raw.bytes().all(|b| b.is_ascii_alphabetic());
        return Err(ParseError::UnknownInstruction {
            line,
            instruction: if word {
                kw_raw.to_uppercase()
            } else {
                "(not an instruction word; is this file a Dockerfile?)".to_string()
            },
        });
    }
    let keyword = kw.to_ascii_uppercase();
    if kw == "onbuild" {
        return parse_onbuild(rest, line, end_line, heredocs, ctx);
    }
    let (raw_flags, args) = extract_flags(rest);
    let args = args.trim();
    let allowed: &[(&str, FlagKind)] = match kw.as_str() {
        "from" => FROM_FLAGS,
        "copy" => COPY_FLAGS,
        "add" => ADD_FLAGS,
        "run" => RUN_FLAGS,
        "healthcheck" => HEALTHCHECK_FLAGS,
        _ => &[],
    };
    let flags = parse_flags(&raw_flags, allowed, line)?;
    let (command, body) = match kw.as_str() {
        "from" => parse_from(args, &flags, line)?,
        "arg" => parse_arg(args, ctx, line)?,
        "env" | "label" => {
            let (kvs, body) = parse_key_values(&keyword, args, ctx, line)?;
            let cmd = if kw == "env" {
                Command::Env(kvs)
            } else {
                Command::Label(kvs)
            };
            (cmd, body)
        }
        "run" => {
            let mut mounts = Vec::new();
            for m in flag_values(&flags, "mount") {
                mounts.push(parse_mount(&m, line)?);
            }
            let command = parse_command_line(args, line)?;
            let body = render_command_line(&command, ctx);
            (
                Command::Run(Run {
                    mounts,
                    network: flag_value(&flags, "network"),
                    security: flag_value(&flags, "security"),
                    command,
                }),
                body,
            )
        }
        "copy" | "add" => {
            let (c, body) = parse_copy_args(&keyword, args, &flags, line)?;
            let cmd = if kw == "copy" {
                Command::Copy(c)
            } else {
                Command::Add(c)
            };
            (cmd, body)
        }
        "cmd" | "entrypoint" => {
            let command = parse_command_line(args, line)?;
            let body = render_command_line(&command, ctx);
            let cmd = if kw == "cmd" {
                Command::Cmd(command)
            } else {
                Command::Entrypoint(command)
            };
            (cmd, body)
        }
        "shell" => parse_shell(args, line)?,
        "workdir" | "user" | "stopsignal" | "maintainer" => {
            if args.is_empty() {
                return Err(ParseError::syntax(
                    line,
                    format!("{keyword} requires exactly one argument"),
                ));
            }
            let v = args.to_string();
            let cmd = match kw.as_str() {
                "workdir" => Command::Workdir(v.clone()),
                "user" => Command::User(v.clone()),
                "stopsignal" => Command::StopSignal(v.clone()),
                _ => Command::Maintainer(v.clone()),
            };
            (cmd, v)
        }
        "expose" => {
            need_args(&keyword, args, line)?;
            let ports = split_whitespace_delimited(args);
            let body = ports.join(" ");
            (Command::Expose(ports), body)
        }
        "volume" => parse_volume(&keyword, args, line)?,
        _ => parse_healthcheck(&keyword, args, ctx, line)?,
    };
    let mut canonical = keyword.clone();
    canonical.push_str(&render_flags(&flags, allowed));
    if !body.is_empty() {
        canonical.push(' ');
        canonical.push_str(&body);
    }
    append_heredocs(&mut canonical, &heredocs);
    Ok(Instruction {
        line,
        end_line,
        keyword,
        flags,
        command,
        heredocs,
        canonical,
        source: Joined::default(),
    })
}

/// `FROM image [AS name]`.
fn parse_from(args: &str, flags: &[Flag], line: usize) -> Result<(Command, String), ParseError> {
    let words = split_whitespace_delimited(args);
    let name = match words.len() {
        1 => None,
        3 if words[1].eq_ignore_ascii_case("as") => {
            let name = words[2].to_ascii_lowercase();
            if !is_valid_stage_name(&name) {
                return Err(ParseError::syntax(
                    line,
                    format!(
                        "invalid name for build stage: \"{}\", name can't start with a number or contain symbols",
                        words[2]
                    ),
                ));
            }
            Some(name)
        }
        _ => {
            return Err(ParseError::syntax(
                line,
                "FROM requires either one or three arguments",
            ))
        }
    };
    let body = match &name {
        Some(n) => format!("{} AS {n}", words[0]),
        None => words[0].clone(),
    };
    let command = Command::From {
        image: words[0].clone(),
        name,
        platform: flag_value(flags, "platform"),
    };
    Ok((command, body))
}

/// `ARG name[=default] ...`.
fn parse_arg(args: &str, ctx: Ctx, line: usize) -> Result<(Command, String), ParseError> {
    let words = split_words_keep_quotes(args, ctx.escape);
    if words.is_empty() {
        return Err(ParseError::syntax(
            line,
            "ARG requires at least one argument",
        ));
    }
    let mut decls = Vec::new();
    for w in &words {
        let (name, default) = match w.split_once('=') {
            Some((n, d)) => (n, Some(d.to_string())),
            None => (w.as_str(), None),
        };
        if name.is_empty() {
            return Err(ParseError::syntax(line, "ARG names can not be blank"));
        }
        decls.push(ArgDecl {
            name: name.to_string(),
            default,
        });
    }
    Ok((Command::Arg(decls), words.join(" ")))
}

/// `SHELL ["executable", "parameters"]`.
fn parse_shell(args: &str, line: usize) -> Result<(Command, String), ParseError> {
    match maybe_json(args, line)? {
        Some(v) if !v.is_empty() => {
            let body = json_array(&v);
            Ok((Command::Shell(v), body))
        }
        Some(_) => Err(ParseError::syntax(
            line,
            "SHELL requires at least one argument",
        )),
        None => Err(ParseError::syntax(
            line,
            "SHELL requires the arguments to be in JSON form",
        )),
    }
}

/// `VOLUME ["/a", "/b"]` or `VOLUME /a /b`.
fn parse_volume(keyword: &str, args: &str, line: usize) -> Result<(Command, String), ParseError> {
    need_args(keyword, args, line)?;
    let (vols, body) = match maybe_json(args, line)? {
        Some(v) => {
            let b = json_array(&v);
            (v, b)
        }
        None => {
            let v = split_whitespace_delimited(args);
            let b = v.join(" ");
            (v, b)
        }
    };
    if vols.is_empty() || vols.iter().any(|v| v.trim().is_empty()) {
        return Err(ParseError::syntax(
            line,
            "VOLUME specified can not be an empty string",
        ));
    }
    Ok((Command::Volume(vols), body))
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD command`.
fn parse_healthcheck(
    keyword: &str,
    args: &str,
    ctx: Ctx,
    line: usize,
) -> Result<(Command, String), ParseError> {
    need_args(keyword, args, line)?;
    let (typ, rest) = split_keyword(args);
    let typ = typ.to_ascii_uppercase();
    match typ.as_str() {
        "NONE" => {
            if !rest.is_empty() {
                return Err(ParseError::syntax(
                    line,
                    "HEALTHCHECK NONE takes no arguments",
                ));
            }
            Ok((Command::Healthcheck(None), typ))
        }
        "CMD" => {
            if rest.is_empty() {
                return Err(ParseError::syntax(
                    line,
                    "Missing command after HEALTHCHECK CMD",
                ));
            }
            let command = parse_command_line(rest, line)?;
            let body = format!("CMD {}", render_command_line(&command, ctx));
            Ok((Command::Healthcheck(Some(command)), body))
        }
        _ => Err(ParseError::syntax(
            line,
            format!("Unknown type \"{typ}\" in HEALTHCHECK (try CMD)"),
        )),
    }
}

fn append_heredocs(canonical: &mut String, heredocs: &[Heredoc]) {
    for h in heredocs {
        canonical.push('\n');
        canonical.push_str(&h.content);
        canonical.push_str(&h.name);
    }
}

fn parse_onbuild(
    rest: &str,
    line: usize,
    end_line: usize,
    heredocs: Vec<Heredoc>,
    ctx: Ctx,
) -> Result<Instruction, ParseError> {
    if rest.trim().is_empty() {
        return Err(ParseError::syntax(
            line,
            "ONBUILD requires at least one argument",
        ));
    }
    let (sub_kw, _) = split_keyword(rest);
    match sub_kw.to_ascii_uppercase().as_str() {
        "ONBUILD" => {
            return Err(ParseError::syntax(
                line,
                "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
            ))
        }
        t @ ("FROM" | "MAINTAINER") => {
            return Err(ParseError::syntax(
                line,
                format!("{t} isn't allowed as an ONBUILD trigger"),
            ))
        }
        _ => {}
    }
    // The trigger runs in another build whose shell we cannot know.
    let sub_ctx = Ctx {
        posix_shell: false,
        ..ctx
    };
    let sub = parse_instruction(rest, line, end_line, heredocs.clone(), sub_ctx)?;
    let canonical = format!("ONBUILD {}", sub.canonical);
    Ok(Instruction {
        line,
        end_line,
        keyword: "ONBUILD".to_string(),
        flags: Vec::new(),
        command: Command::Onbuild(Box::new(sub)),
        heredocs,
        canonical,
        source: Joined::default(),
    })
}
