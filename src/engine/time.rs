//! Integer simulated time.
//!
//! The clock counts **milliseconds** from the workload's time origin (for an SWF trace, its
//! `UnixStartTime`). Integer time means equal instants compare equal, with no epsilon, and
//! sums never drift. Durations read from traces in seconds are converted once, where the
//! workload is built; outputs print seconds again (see [`fmt_seconds`]).

use serde::Serialize;
use std::fmt;
use std::ops::{Add, Sub};

/// Milliseconds in one second.
pub const MS_PER_S: u64 = 1_000;

/// An instant of simulated time, in milliseconds since the workload's origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SimTime(u64);

/// A span of simulated time, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SimDuration(u64);

impl SimTime {
    /// The origin.
    pub const ZERO: SimTime = SimTime(0);
    /// A time after every event; used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// An instant `ms` milliseconds after the origin.
    pub const fn from_ms(ms: u64) -> Self {
        SimTime(ms)
    }
    /// An instant `s` whole seconds after the origin (saturating at [`SimTime::MAX`]).
    pub const fn from_secs(s: u64) -> Self {
        SimTime(s.saturating_mul(MS_PER_S))
    }
    /// Milliseconds since the origin.
    pub const fn as_ms(self) -> u64 {
        self.0
    }
    /// Seconds since the origin, as a float (for reports only, never for decisions).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MS_PER_S as f64
    }
    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

/// The latest instant a run may reach: half the clock's range, so that a reservation's end
/// (its start plus an estimate) never saturates either.
pub const CLOCK_LIMIT: SimTime = SimTime::from_ms(u64::MAX / 2);

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A span of `ms` milliseconds.
    pub const fn from_ms(ms: u64) -> Self {
        SimDuration(ms)
    }
    /// A span of `s` whole seconds (saturating).
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s.saturating_mul(MS_PER_S))
    }
    /// The span in milliseconds.
    pub const fn as_ms(self) -> u64 {
        self.0
    }
    /// The span in seconds, as a float (for reports only).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MS_PER_S as f64
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// Saturates at [`SimTime::MAX`]: a job that would end after the end of time never ends.
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    /// Panics in debug builds if `rhs` is later; callers only subtract an earlier instant.
    fn sub(self, rhs: SimTime) -> SimDuration {
        debug_assert!(
            rhs.0 <= self.0,
            "time went backwards: {} - {}",
            self.0,
            rhs.0
        );
        SimDuration(self.0.saturating_sub(rhs.0))
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fmt_seconds(self.0))
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fmt_seconds(self.0))
    }
}

/// Formats milliseconds as seconds: `"552"` for whole seconds, `"552.21"` otherwise
/// (trailing zeros dropped), so integer-second traces round-trip unchanged.
pub fn fmt_seconds(ms: u64) -> String {
    let mut s = String::new();
    push_seconds(&mut s, ms);
    s
}

/// Appends `ms` formatted as by [`fmt_seconds`] to `out`, without allocating.
pub fn push_seconds(out: &mut String, ms: u64) {
    let mut buf = itoa::Buffer::new();
    out.push_str(buf.format(ms / MS_PER_S));
    let frac = ms % MS_PER_S;
    if frac != 0 {
        let digits = [
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ];
        let len = if digits[2] != b'0' {
            3
        } else if digits[1] != b'0' {
            2
        } else {
            1
        };
        out.push('.');
        for &d in &digits[..len] {
            out.push(d as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_format_round_trips_whole_and_fractional_values() {
        assert_eq!(fmt_seconds(0), "0");
        assert_eq!(fmt_seconds(552_000), "552");
        assert_eq!(fmt_seconds(552_210), "552.21");
        assert_eq!(fmt_seconds(552_001), "552.001");
        assert_eq!(fmt_seconds(500), "0.5");
    }

    #[test]
    fn arithmetic_is_exact_and_saturating() {
        let t = SimTime::from_secs(10);
        assert_eq!(t + SimDuration::from_ms(1), SimTime::from_ms(10_001));
        assert_eq!(SimTime::MAX + SimDuration::from_secs(1), SimTime::MAX);
        // Seconds too many for the clock saturate rather than wrap round to a short time.
        assert_eq!(SimTime::from_secs(u64::MAX), SimTime::MAX);
        assert_eq!(SimDuration::from_secs(u64::MAX / 999).as_ms(), u64::MAX);
        assert_eq!(SimTime::from_secs(12) - t, SimDuration::from_secs(2));
        assert_eq!(
            t.saturating_since(SimTime::from_secs(20)),
            SimDuration::ZERO
        );
    }
}
