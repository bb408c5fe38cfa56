//! How deep a `google.protobuf.Struct` nests, read from its encoded bytes.
//!
//! protobuf decoding refuses messages nested past its recursion limit (100
//! message levels, which a `Struct` of JSON-like values reaches after about
//! 48 levels of lists and objects) before any property is known, and the
//! engine would then see only an INTERNAL decode error. This walker reads
//! the same bytes without recursion (its stack is on the heap and bounded by
//! the message size) to find the property path of the first value nested
//! past a bound, so that Check can fail on that property instead.
//!
//! The levels are counted as [`Value::nested_deeper_than`] counts them on a
//! decoded value: the map's own values are level 0, and secret or output
//! wrappers are no level.
//!
//! [`Value::nested_deeper_than`]: crate::wire::value::Value::nested_deeper_than

use crate::wire::path::Path;
use crate::wire::value::SIG_KEY;

/// Wire types of the protobuf encoding.
const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

/// One field of an encoded message: its number and, for length-delimited
/// fields, its bytes (other wire types carry none that matter here).
struct Field<'a> {
    number: u64,
    bytes: Option<&'a [u8]>,
}

/// The fields of an encoded message, in wire order; `None` once the bytes
/// are malformed (the caller then gives up: protobuf's own error stands).
struct Fields<'a> {
    rest: &'a [u8],
    broken: bool,
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Fields {
            rest: bytes,
            broken: false,
        }
    }

    fn varint(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.rest.split_first()?;
            self.rest = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Some(head)
    }

    fn field(&mut self) -> Option<Field<'a>> {
        let key = self.varint()?;
        let number = key >> 3;
        let bytes = match key & 7 {
            VARINT => {
                self.varint()?;
                None
            }
            FIXED64 => {
                self.take(8)?;
                None
            }
            FIXED32 => {
                self.take(4)?;
                None
            }
            LEN => {
                let n = usize::try_from(self.varint()?).ok()?;
                Some(self.take(n)?)
            }
            _ => return None,
        };
        Some(Field { number, bytes })
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        if self.broken || self.rest.is_empty() {
            return None;
        }
        let field = self.field();
        self.broken = field.is_none();
        field
    }
}

/// The bytes of the length-delimited field `number` (the last one, as
/// protobuf merges a repeated singular field).
fn bytes_of(message: &[u8], number: u64) -> Option<&[u8]> {
    Fields::new(message)
        .filter(|f| f.number == number)
        .filter_map(|f| f.bytes)
        .last()
}

/// A `Struct` map entry's key (field 1) and value bytes (field 2).
fn entry(bytes: &[u8]) -> (String, Option<&[u8]>) {
    let key = bytes_of(bytes, 1)
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .unwrap_or_default();
    (key, bytes_of(bytes, 2))
}

/// What a `Value` holds that can nest.
enum Nest<'a> {
    Object(&'a [u8]),
    List(&'a [u8]),
}

/// A `Value`'s struct (field 5) or list (field 6), if it is one.
fn nest(value: &[u8]) -> Option<Nest<'_>> {
    let field = Fields::new(value)
        .filter(|f| f.number == 5 || f.number == 6)
        .last()?;
    let bytes = field.bytes?;
    Some(if field.number == 5 {
        Nest::Object(bytes)
    } else {
        Nest::List(bytes)
    })
}

/// For a wrapper object (it has the signature key): the `value` entry's
/// bytes, `Some(None)` when it has none; `None` for an ordinary object.
fn unwrap(object: &[u8]) -> Option<Option<&[u8]>> {
    let mut wrapper = false;
    let mut inner = None;
    for field in Fields::new(object).filter(|f| f.number == 1) {
        let (key, value) = entry(field.bytes.unwrap_or_default());
        if key == SIG_KEY {
            wrapper = true;
        } else if key == "value" {
            inner = value;
        }
    }
    wrapper.then_some(inner)
}

/// Queues the values of an encoded `Struct` at `level`, in wire order
/// (the last queued is walked first).
fn children<'a>(object: &'a [u8], at: &Path, level: usize, out: &mut Vec<(&'a [u8], Path, usize)>) {
    let mut found: Vec<(&'a [u8], Path, usize)> = Fields::new(object)
        .filter(|f| f.number == 1)
        .filter_map(|f| {
            let (key, value) = entry(f.bytes?);
            Some((value?, at.key(&key), level))
        })
        .collect();
    found.reverse();
    out.extend(found);
}

/// The path of the first list or object (in the wire order of the map)
/// nested more than `limit` levels below the top of the encoded `Struct`.
pub fn struct_nested_deeper_than(encoded: &[u8], limit: usize) -> Option<Path> {
    // Each pending value: its bytes, its path, its level.
    let mut pending: Vec<(&[u8], Path, usize)> = Vec::new();
    children(encoded, &Path::root(), 0, &mut pending);
    while let Some((value, at, level)) = pending.pop() {
        let mut value = value;
        // Wrappers are no level: look through them.
        let nested = loop {
            match nest(value) {
                Some(Nest::Object(object)) => match unwrap(object) {
                    Some(Some(inner)) => value = inner,
                    Some(None) => break None,
                    None => break Some(Nest::Object(object)),
                },
                other => break other,
            }
        };
        let Some(nested) = nested else { continue };
        if level >= limit {
            return Some(at);
        }
        match nested {
            Nest::Object(object) => children(object, &at, level + 1, &mut pending),
            Nest::List(list) => {
                let mut items: Vec<(&[u8], Path, usize)> = Fields::new(list)
                    .filter(|f| f.number == 1)
                    .filter_map(|f| f.bytes)
                    .enumerate()
                    .map(|(i, item)| (item, at.index(i), level + 1))
                    .collect();
                items.reverse();
                pending.extend(items);
            }
        }
    }
    None
}

/// The bytes of the length-delimited field `number` of an encoded message
/// (for a request's `Struct` fields).
pub fn message_field(message: &[u8], number: u64) -> Option<&[u8]> {
    bytes_of(message, number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::value::{to_struct, Value, MAX_DEPTH};
    use prost::Message;
    use std::collections::BTreeMap;

    fn object(pairs: Vec<(&str, Value)>) -> Value {
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    fn encoded(top: Value) -> Vec<u8> {
        let Value::Object(map) = top else {
            unreachable!()
        };
        to_struct(&map).encode_to_vec()
    }

    fn lists(levels: usize, leaf: Value) -> Value {
        (0..levels).fold(leaf, |v, _| Value::Array(vec![v]))
    }

    #[test]
    fn agrees_with_the_decoded_walk() {
        for levels in [0, 1, 31, 32, 33, 40] {
            let deep = lists(levels, Value::String("leaf".into()));
            let top = object(vec![
                ("a", Value::Number(1.0)),
                ("tags", object(vec![("k", deep)])),
            ]);
            let expected = match &top {
                Value::Object(map) => map.iter().find_map(|(k, v)| {
                    v.nested_deeper_than(MAX_DEPTH).map(|p| {
                        let mut at = Path::root().key(k);
                        at.0.extend(p.0);
                        at
                    })
                }),
                _ => unreachable!(),
            };
            let found = struct_nested_deeper_than(&encoded(top), MAX_DEPTH);
            assert_eq!(found, expected, "{levels} levels");
            assert_eq!(found.is_some(), levels >= MAX_DEPTH, "{levels} levels");
        }
    }

    #[test]
    fn names_the_path_past_protobufs_own_limit() {
        let deep = lists(200, Value::Null);
        let bytes = encoded(object(vec![("env", object(vec![("K", deep)]))]));
        // protobuf itself refuses this message.
        assert!(prost_types::Struct::decode(bytes.as_slice()).is_err());
        let at = struct_nested_deeper_than(&bytes, MAX_DEPTH).expect("too deep");
        let shown = at.to_string();
        assert!(shown.starts_with("env.K[0][0]"), "{shown}");
        assert_eq!(at.0.len(), 2 + MAX_DEPTH - 1, "{shown}");
    }

    #[test]
    fn secret_wrappers_are_no_level() {
        let inner = lists(MAX_DEPTH - 1, Value::Null);
        let wrapped = lists(1, Value::Secret(Box::new(inner.clone())));
        let bytes = encoded(object(vec![("v", wrapped)]));
        assert_eq!(struct_nested_deeper_than(&bytes, MAX_DEPTH), None);
        let deeper = lists(2, Value::Secret(Box::new(inner)));
        let bytes = encoded(object(vec![("v", deeper)]));
        assert!(struct_nested_deeper_than(&bytes, MAX_DEPTH).is_some());
    }

    #[test]
    fn malformed_bytes_give_no_path() {
        for bytes in [&[0x0a, 0xff][..], &[0x0b], &[0x0a, 0x02, 0x2a]] {
            assert_eq!(struct_nested_deeper_than(bytes, MAX_DEPTH), None);
        }
    }
}
