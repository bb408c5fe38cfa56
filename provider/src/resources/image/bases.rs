//! Base images: the digest each `FROM` tag builds from, and where it came
//! from.
//!
//! Check resolves and records (`__observed`); Create and Update build from
//! exactly what Check recorded, so a tag that moves in between does not
//! change what is built. A recorded resolution is kept without asking the
//! registry when the policy is `pinned`, when it is younger than
//! `baseImageRefresh.intervalSeconds` (unless `trigger` changed), or when
//! the registry cannot be reached (with a warning giving its age: a preview
//! never fails for being offline). `baseImagePull: never` never asks a
//! registry: the recorded digest or the tag in the builder's local store.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use imagedeploy_build as build;
use imagedeploy_registry::{Reference, RegistryClient, RegistryError};

use super::args::{
    BaseImagePolicy, BaseImagePull, BaseImageResolution, ImageArgs, ImageState, ObservedInputs,
    ResolutionSource,
};
use super::ImageError;
use crate::resource::Ctx;

/// What an earlier preview or up recorded: resolutions by `FROM` reference
/// as written, and the refresh trigger then.
#[derive(Debug, Default, Clone)]
pub(super) struct Earlier {
    resolutions: BTreeMap<String, BaseImageResolution>,
    trigger: Option<String>,
}

impl Earlier {
    /// From the old inputs Check receives (their `__observed`).
    pub fn from_inputs(olds: &ImageArgs) -> Option<Self> {
        let seen = olds.observed.as_ref()?;
        Some(Self {
            resolutions: merged(&seen.base_image_digests, &seen.base_image_resolutions),
            trigger: trigger(olds),
        })
    }

    /// From the old state (Diff or a build without a recorded Check).
    pub fn from_state(old: &ImageState) -> Self {
        Self {
            resolutions: merged(&old.base_image_digests, &old.base_image_resolutions),
            trigger: trigger(&old.args),
        }
    }
}

fn trigger(args: &ImageArgs) -> Option<String> {
    args.base_image_refresh
        .as_ref()
        .and_then(|r| r.trigger.clone())
}

/// Resolutions, with digests recorded before resolutions were (no time).
fn merged(
    digests: &BTreeMap<String, String>,
    resolutions: &BTreeMap<String, BaseImageResolution>,
) -> BTreeMap<String, BaseImageResolution> {
    let mut out = resolutions.clone();
    for (written, digest) in digests {
        if out.get(written).is_none_or(|r| &r.digest != digest) {
            out.insert(
                written.clone(),
                BaseImageResolution {
                    digest: digest.clone(),
                    resolved_at: String::new(),
                    source: ResolutionSource::State,
                },
            );
        }
    }
    out
}

/// The base images of one observation.
#[derive(Debug, Default, Clone)]
pub(super) struct Bases {
    /// `FROM` reference as written -> digest (also the ones pinned in the Dockerfile).
    pub digests: BTreeMap<String, String>,
    /// Tags only: when and where from.
    pub resolutions: BTreeMap<String, BaseImageResolution>,
}

/// Resolves every external base image of a build.
pub(super) struct Resolver<'a> {
    pub ctx: &'a Ctx,
    pub args: &'a ImageArgs,
    pub client: &'a RegistryClient,
    pub builder: build::Builder,
    /// What Check recorded in this run's inputs: used as is (Create, Update).
    pub recorded: Option<&'a ObservedInputs>,
    pub earlier: Option<Earlier>,
}

impl Resolver<'_> {
    pub async fn resolve(&self, bases: &[(String, Reference)]) -> Result<Bases, ImageError> {
        let mut out = Bases::default();
        let now = now();
        let recorded = self
            .recorded
            .map(|o| merged(&o.base_image_digests, &o.base_image_resolutions));
        for (written, reference) in bases {
            if let Some(digest) = reference.digest() {
                out.digests.insert(written.clone(), digest.to_string());
                continue;
            }
            let resolution = match recorded.as_ref().and_then(|r| r.get(written)) {
                Some(r) => r.clone(),
                None => self.resolve_one(written, reference, now).await?,
            };
            out.digests
                .insert(written.clone(), resolution.digest.clone());
            out.resolutions.insert(written.clone(), resolution);
        }
        Ok(out)
    }

    async fn resolve_one(
        &self,
        written: &str,
        reference: &Reference,
        now: u64,
    ) -> Result<BaseImageResolution, ImageError> {
        let earlier = self
            .earlier
            .as_ref()
            .and_then(|e| e.resolutions.get(written));
        let kept = |r: &BaseImageResolution| BaseImageResolution {
            source: ResolutionSource::State,
            ..r.clone()
        };
        let policy = self.args.base_images.unwrap_or(BaseImagePolicy::Follow);
        if let (BaseImagePolicy::Pinned, Some(r)) = (policy, earlier) {
            return Ok(kept(r));
        }
        let pull = self.args.base_image_pull.unwrap_or(BaseImagePull::Missing);
        if pull == BaseImagePull::Never {
            return self.never_pull(written, reference, earlier, now).await;
        }
        if let Some(r) = earlier.filter(|r| self.fresh(r, now)) {
            return Ok(kept(r));
        }
        match self.client.resolve(reference).await {
            Ok(Some(digest)) => Ok(BaseImageResolution {
                digest: digest.to_string(),
                resolved_at: format_rfc3339(now),
                source: ResolutionSource::Registry,
            }),
            Ok(None) => Err(ImageError::BaseImageMissing {
                reference: written.to_string(),
            }),
            Err(error) if unreachable(&error) => {
                if let Some(r) = earlier {
                    self.ctx.warn(&format!(
                        "base image {written}: its registry cannot be reached ({error}); using {} as resolved {}",
                        r.digest,
                        age(&r.resolved_at, now)
                    ));
                    return Ok(kept(r));
                }
                let stored = build::local_image(&self.builder, &reference.to_string(), None).await;
                match stored {
                    Some(local) => {
                        self.ctx.warn(&format!(
                            "base image {written}: its registry cannot be reached ({error}); using {} from the local image store",
                            local.digest
                        ));
                        Ok(BaseImageResolution {
                            digest: local.digest,
                            resolved_at: format_rfc3339(now),
                            source: ResolutionSource::Local,
                        })
                    }
                    None => Err(error.into()),
                }
            }
            Err(error) => Err(error.into()),
        }
    }

    /// `never`: the recorded digest when the store has it, else the tag as
    /// the store knows it.
    async fn never_pull(
        &self,
        written: &str,
        reference: &Reference,
        earlier: Option<&BaseImageResolution>,
        now: u64,
    ) -> Result<BaseImageResolution, ImageError> {
        if let Some(r) = earlier {
            let pinned = format!(
                "{}/{}@{}",
                reference.registry(),
                reference.repository(),
                r.digest
            );
            if build::local_image(&self.builder, &pinned, None)
                .await
                .is_some()
            {
                return Ok(BaseImageResolution {
                    source: ResolutionSource::State,
                    ..r.clone()
                });
            }
        }
        match build::local_image(&self.builder, &reference.to_string(), None).await {
            Some(local) => Ok(BaseImageResolution {
                digest: local.digest,
                resolved_at: format_rfc3339(now),
                source: ResolutionSource::Local,
            }),
            None => Err(ImageError::BaseImageNotLocal {
                reference: written.to_string(),
            }),
        }
    }

    /// Within `intervalSeconds` of its resolution, and the trigger unchanged.
    fn fresh(&self, r: &BaseImageResolution, now: u64) -> bool {
        let Some(refresh) = &self.args.base_image_refresh else {
            return false;
        };
        let earlier_trigger = self.earlier.as_ref().and_then(|e| e.trigger.as_ref());
        if refresh.trigger.as_ref() != earlier_trigger {
            return false;
        }
        let (Some(interval), Some(at)) = (refresh.interval_seconds, parse_rfc3339(&r.resolved_at))
        else {
            return false;
        };
        let interval = u64::try_from(interval).unwrap_or(0);
        now.saturating_sub(at) < interval
    }
}

/// The registry did not answer (connection refused, DNS, timeouts, 5xx).
fn unreachable(error: &RegistryError) -> bool {
    match error {
        RegistryError::RetriesExhausted { .. } => true,
        other => other.is_transient(),
    }
}

/// "3h 5m ago (2026-01-31T12:00:00Z)", or "at an unknown time".
fn age(resolved_at: &str, now: u64) -> String {
    let Some(at) = parse_rfc3339(resolved_at) else {
        return "at an unknown time (recorded before resolution times were kept)".into();
    };
    let s = now.saturating_sub(at);
    let ago = match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    };
    format!("{ago} ago ({resolved_at})")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Unix seconds as RFC 3339 UTC, `2026-01-31T12:00:00Z`.
pub(super) fn format_rfc3339(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(0);
    let (y, m, d) = civil_from_days(secs.div_euclid(86400));
    let t = secs.rem_euclid(86400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

/// The inverse of [`format_rfc3339`] (UTC `Z` form only).
pub(super) fn parse_rfc3339(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    u64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
        for secs in [0, 59, 86_399, 951_782_400, 1_798_761_599, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&format_rfc3339(secs)), Some(secs));
        }
        assert_eq!(parse_rfc3339(""), None);
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-01-01 00:00:00Z"), None);
    }

    #[test]
    fn ages_read_like_durations() {
        let at = format_rfc3339(1_000_000);
        assert_eq!(age(&at, 1_000_030), format!("30s ago ({at})"));
        assert_eq!(
            age(&at, 1_000_000 + 3 * 3600 + 300),
            format!("3h 5m ago ({at})")
        );
        assert!(age("", 5).contains("unknown time"));
    }
}
