//! Name conversions between schema names and each language's conventions.

/// `buildArgs` -> `build_args`, `sizeBytes` -> `size_bytes`, `ECRRepo` -> `ecr_repo`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out
}

const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// The Python name of a schema property: snake case, keywords get a trailing `_`.
pub fn python_name(name: &str) -> String {
    let snake = snake_case(name);
    if PYTHON_KEYWORDS.contains(&snake.as_str()) {
        format!("{snake}_")
    } else {
        snake
    }
}

/// `Image` -> `image`, `RegistryAuth` -> `registryAuth` (Node.js file names).
pub fn lower_camel(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// Words of an enum value name: `linux/amd64` -> [`linux`, `amd64`].
fn words(name: &str) -> Vec<String> {
    snake_case(name)
        .split('_')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Node.js enum member: `follow` -> `Follow`, `linux/amd64` -> `LinuxAmd64`.
pub fn pascal_case(name: &str) -> String {
    let joined: String = words(name)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect();
    safe_identifier(joined)
}

/// Python enum member: `follow` -> `FOLLOW`.
pub fn upper_snake(name: &str) -> String {
    safe_identifier(words(name).join("_").to_ascii_uppercase())
}

fn safe_identifier(name: String) -> String {
    match name.chars().next() {
        None => "_".into(),
        Some(c) if c.is_ascii_digit() => format!("_{name}"),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_names() {
        assert_eq!(snake_case("buildArgs"), "build_args");
        assert_eq!(snake_case("baseImageDigests"), "base_image_digests");
        assert_eq!(snake_case("ECRRepo"), "ecr_repo");
        assert_eq!(snake_case("cpu"), "cpu");
        assert_eq!(snake_case("port80Mapping"), "port80_mapping");
        assert_eq!(python_name("from"), "from_");
        assert_eq!(lower_camel("RegistryAuth"), "registryAuth");
        assert_eq!(pascal_case("follow"), "Follow");
        assert_eq!(pascal_case("linux/amd64"), "LinuxAmd64");
        assert_eq!(upper_snake("FARGATE_SPOT"), "FARGATE_SPOT");
        assert_eq!(upper_snake("awsvpc"), "AWSVPC");
        assert_eq!(upper_snake("2xlarge"), "_2XLARGE");
    }
}
