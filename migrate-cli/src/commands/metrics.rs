//! The `[verify]` keys about the application's metrics, turned into the
//! metrics check (endpoint, metric names, limits).

use migrate_core::Result;
use migrate_core::verify::MetricsCheck;
use migrate_core::verify::metrics::{MetricsConfig, Thresholds};

use crate::Context;

/// The metrics check, when `verify.metrics_url` is set.
pub(crate) fn check(ctx: &Context) -> Result<Option<MetricsCheck>> {
    let v = &ctx.config.verify;
    let Some(url) = &v.metrics_url else {
        return Ok(None);
    };
    let mut endpoint = MetricsConfig::new(url.clone());
    if let Some(name) = &v.metrics_requests {
        endpoint.requests = name.clone();
    }
    if let Some(name) = &v.metrics_errors {
        endpoint.errors = Some(name.clone());
    }
    if let Some(name) = &v.metrics_latency {
        endpoint.latency = name.clone();
    }
    let thresholds = Thresholds {
        error_rate_max: v.error_rate_max,
        error_rate_regression: v.error_rate_regression,
        latency_regression: v.latency_regression,
        latency_min_increase: v.latency_floor,
        ..Thresholds::default()
    };
    Ok(Some(MetricsCheck {
        endpoint,
        thresholds,
    }))
}
