//! Periodic evaluation of a deterministic policy, shared by the training loops.

use crate::env::Environment;
use crate::error::{Error, Result};

/// Mean-return evaluation: `episodes` episodes of `act` on `env`, episode `k` reset with seed
/// `seed + k`, each stopped at `max_steps` steps if the environment has not ended it.
///
/// # Errors
///
/// [`Error::InvalidConfig`] when `episodes` or `max_steps` is 0; the policy's and the
/// environment's errors.
pub(crate) fn run_episodes<E: Environment<Action = usize>>(
    env: &mut E,
    episodes: usize,
    max_steps: usize,
    seed: u64,
    mut act: impl FnMut(&E::Observation) -> Result<usize>,
) -> Result<Vec<f64>> {
    if episodes == 0 || max_steps == 0 {
        let field = if episodes == 0 {
            "episodes"
        } else {
            "max_steps"
        };
        return Err(Error::config(field, "at least 1", 0));
    }
    // Grown as episodes end: a huge count runs long, it does not allocate up front.
    let mut returns = Vec::with_capacity(episodes.min(1 << 12));
    for k in 0..episodes {
        let mut observation = env.reset(Some(seed.wrapping_add(k as u64)));
        let mut total = 0.0;
        for _ in 0..max_steps {
            let step = env.step(act(&observation)?)?;
            total += step.reward;
            if step.done() {
                break;
            }
            observation = step.observation;
        }
        returns.push(total);
    }
    Ok(returns)
}

/// When a training loop evaluates: every `every` steps (0: never on schedule) and at the end.
pub(crate) struct EvalSchedule {
    every: u64,
    /// The step of the next evaluation (saved in training checkpoints).
    pub(crate) next: u64,
}

impl EvalSchedule {
    pub(crate) fn new(every: u64) -> Self {
        Self {
            every,
            next: if every > 0 { every } else { u64::MAX },
        }
    }

    /// Whether to evaluate now, at `step` (`last`: the run ends here); advances the schedule
    /// past `step` when it says yes.
    pub(crate) fn due(&mut self, step: u64, last: bool) -> bool {
        if step < self.next && !last {
            return false;
        }
        while self.next <= step {
            self.next = self.next.saturating_add(self.every.max(1));
        }
        true
    }
}

/// The seed of the evaluation episodes of a run seeded `seed`: apart from the training
/// environments' seeds.
pub(crate) fn evaluation_seed(seed: u64) -> u64 {
    seed.wrapping_add(1 << 32)
}

#[cfg(test)]
mod tests {
    use super::EvalSchedule;

    #[test]
    fn schedule_fires_on_each_period_it_crosses_and_at_the_end() {
        let mut schedule = EvalSchedule::new(100);
        let fired: Vec<u64> = [40, 80, 120, 160, 250, 260, 300]
            .into_iter()
            .filter(|&step| schedule.due(step, step == 300))
            .collect();
        assert_eq!(fired, vec![120, 250, 300]);
        let mut never = EvalSchedule::new(0);
        assert!(!never.due(1_000_000, false) && never.due(1_000_001, true));
    }
}
