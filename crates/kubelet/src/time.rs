//! Conversions between chrono times and the k8s-openapi (jiff) time types.

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::Timestamp;

fn ts(dt: DateTime<Utc>) -> Timestamp {
    let nanos =
        i128::from(dt.timestamp()) * 1_000_000_000 + i128::from(dt.timestamp_subsec_nanos());
    Timestamp::from_nanosecond(nanos).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A metav1.Time.
pub fn time(dt: DateTime<Utc>) -> Time {
    Time(ts(dt))
}

/// A metav1.MicroTime.
pub fn micro_time(dt: DateTime<Utc>) -> MicroTime {
    MicroTime(ts(dt))
}
