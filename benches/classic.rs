//! Classic control environment steps per second: CartPole, Acrobot and MountainCar with random
//! actions, resetting when an episode ends (Gymnasium's `env_step.py` loop, in Rust).
//!
//! ```text
//! cargo bench --bench classic -- --warm-up-time 1 --measurement-time 3
//! python /work/shared/peer-benchmarks/env_step.py     # Gymnasium, for comparison
//! ```
//!
//! Each iteration is one `step` (plus a `reset` where the episode ended), so criterion's
//! elements/s is env-steps/s. Actions are drawn from a seeded `StdRng` inside the loop, like
//! Gymnasium's `action_space.sample()`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use valuefn::env::classic::{Acrobot, CartPole, MountainCar};
use valuefn::prelude::*;

/// Benchmarks random play in `env` under `name`.
fn random_play<E>(c: &mut Criterion, name: &str, mut env: E)
where
    E: Environment<Action = usize, ActionSpace = Discrete>,
{
    let mut rng = StdRng::seed_from_u64(0);
    env.reset(Some(0));
    let mut group = c.benchmark_group("classic_env_steps");
    group.throughput(Throughput::Elements(1));
    group.bench_function(name, |bench| {
        bench.iter(|| {
            let action = env.action_space().sample(&mut rng);
            let step = env.step(action).expect("a sampled action is valid");
            if step.done() {
                env.reset(None);
            }
            black_box(step)
        })
    });
    group.finish();
}

fn steps(c: &mut Criterion) {
    random_play(c, "cartpole", CartPole::new());
    random_play(c, "acrobot", Acrobot::new());
    random_play(c, "mountain_car", MountainCar::new());
}

criterion_group!(benches, steps);
criterion_main!(benches);
