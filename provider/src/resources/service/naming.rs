//! The service name under the engine's autonaming modes.
//!
//! Pulumi's `autonaming` stack configuration reaches Check as a proposed name
//! and a mode (proto `CheckRequest.AutonamingOptions`): `propose` lets the
//! provider use or ignore the proposal, `enforce` requires exactly the
//! proposal, `disable` forbids automatic names. An explicit `name` always
//! wins; the remaining default (keep the old name, else a seed-derived one)
//! is the caller's.

use crate::resource::{AutonamingMode, Failure};

/// Applies `mode` to a Service without an explicit name: fills in the
/// enforced name, or returns the CheckFailure for `disable`.
pub(super) fn apply(
    name: &mut Option<String>,
    old_name: Option<&str>,
    mode: AutonamingMode,
    proposed: Option<&str>,
) -> Option<Failure> {
    if name.is_some() {
        return None;
    }
    match mode {
        AutonamingMode::Enforce => match proposed {
            Some(p) => {
                *name = Some(p.to_string());
                None
            }
            None => Some(Failure::new(
                "name",
                "autonaming mode `enforce` sent no proposed name: set `name`",
            )),
        },
        AutonamingMode::Disable => Some(Failure::new(
            "name",
            match old_name {
                Some(old) => format!(
                    "autonaming is disabled for this stack: set `name` (the service is called \"{old}\" now)"
                ),
                None => "autonaming is disabled for this stack: set `name`".to_string(),
            },
        )),
        AutonamingMode::Propose | AutonamingMode::Unset => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_follow_the_proto() {
        let mut explicit = Some("mine".to_string());
        assert!(apply(&mut explicit, None, AutonamingMode::Disable, None).is_none());
        assert_eq!(explicit.as_deref(), Some("mine"));

        let mut n = None;
        assert!(apply(&mut n, Some("old"), AutonamingMode::Enforce, Some("web-x1")).is_none());
        assert_eq!(n.as_deref(), Some("web-x1"));

        let mut n = None;
        let f = apply(&mut n, None, AutonamingMode::Disable, Some("web-x1")).unwrap();
        assert_eq!(f.property, "name");
        assert!(n.is_none());

        let mut n = None;
        assert!(apply(&mut n, None, AutonamingMode::Propose, Some("p")).is_none());
        assert!(n.is_none(), "propose leaves the choice to the caller");
    }
}
