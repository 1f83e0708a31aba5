//! Micro-benches of the engine's parts: the event queue, and one policy pass structure.

use clustersim::engine::queue::{EventKind, EventQueue};
use clustersim::engine::time::{SimDuration, SimTime};
use clustersim::policy::profile::Profile;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Ev(u32);
impl EventKind for Ev {
    fn rank(&self) -> u8 {
        (self.0 % 2) as u8
    }
}

fn queue(c: &mut Criterion) {
    // A queue holding ~1,000 pending events, as with 1,000 running jobs: push one, pop one.
    c.bench_function("event_queue/push_pop_1000_pending", |b| {
        b.iter_batched_ref(
            || {
                let mut q = EventQueue::new();
                for i in 0..1000u32 {
                    q.push(SimTime::from_ms(u64::from(i) * 7919 % 100_000), Ev(i));
                }
                (q, 1000u32)
            },
            |(q, next)| {
                for _ in 0..1000 {
                    let (t, _) = q.pop().unwrap();
                    q.push(t + SimDuration::from_ms(u64::from(*next) % 5000), Ev(*next));
                    *next += 1;
                }
            },
            BatchSize::SmallInput,
        )
    });
}

fn profile(c: &mut Criterion) {
    // An availability profile with ~2,000 steps (1,000 reservations): earliest-fit queries.
    let mut p = Profile::new(1024);
    for k in 0..1000u64 {
        let start = SimTime::from_secs(k * 37 % 20_000);
        p.reserve(
            start,
            start + SimDuration::from_secs(600 + k % 3000),
            ((k * 13) % 64 + 1) as u32,
        );
    }
    c.bench_function("profile/earliest_fit_2000_steps", |b| {
        let mut k = 0u32;
        b.iter(|| {
            k = k.wrapping_add(1);
            p.earliest_fit(
                SimTime::ZERO,
                SimDuration::from_secs(u64::from(k % 7200)),
                k % 900 + 1,
            )
        })
    });
}

criterion_group!(engine_benches, queue, profile);
criterion_main!(engine_benches);
