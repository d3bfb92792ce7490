//! The random walk of Sutton and Barto, Example 6.2 (and the 19-state walk of Example 7.1).

use crate::error::{Error, Result, check_finite};
use crate::tabular::{TabularMdp, Transition};

/// A Markov reward process on a line of `n` non-terminal states. Each step moves left or right
/// with probability 1/2; leaving the left end terminates with `left_reward`, the right end with
/// `right_reward`, every other step gives 0. Episodes start in the centre state. There is a
/// single action (the walk has no choices), so it is for prediction (TD, Monte Carlo).
///
/// With `gamma = 1` the true value of state `i` (0-based) is
/// `left_reward + (right_reward - left_reward) (i + 1) / (n + 1)`.
///
/// # Example
///
/// ```
/// use valuefn::env::tabular::RandomWalk;
///
/// let walk = RandomWalk::example_6_2();
/// assert_eq!(walk.true_values()[0], 1.0 / 6.0); // state A
/// assert!(RandomWalk::new(0, 0.0, 1.0).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RandomWalk {
    mdp: TabularMdp,
    left_reward: f64,
    right_reward: f64,
}

impl RandomWalk {
    /// A walk of `num_states` non-terminal states with the given end rewards.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `num_states` is zero; [`Error::NonFinite`] for a NaN or
    /// infinite reward.
    pub fn new(num_states: usize, left_reward: f64, right_reward: f64) -> Result<Self> {
        if num_states == 0 {
            return Err(Error::config("num_states", "at least 1", 0));
        }
        check_finite("left_reward", left_reward)?;
        check_finite("right_reward", right_reward)?;
        let n = num_states;
        let mdp = TabularMdp::from_fn(n, 1, vec![(n / 2, 1.0)], |s, _| {
            let half = |t: Transition| Transition {
                probability: 0.5,
                ..t
            };
            let left = match s.checked_sub(1) {
                Some(next) => Transition::certain(next, 0.0, false),
                None => Transition::certain(s, left_reward, true),
            };
            let right = if s + 1 < n {
                Transition::certain(s + 1, 0.0, false)
            } else {
                Transition::certain(s, right_reward, true)
            };
            Ok(vec![half(left), half(right)])
        })?;
        Ok(Self {
            mdp,
            left_reward,
            right_reward,
        })
    }

    /// Example 6.2: five states A..E, reward 1 on the right, 0 on the left.
    pub fn example_6_2() -> Self {
        Self::new(5, 0.0, 1.0).expect("valid parameters")
    }

    /// Example 7.1: nineteen states, reward -1 on the left and +1 on the right.
    pub fn nineteen_states() -> Self {
        Self::new(19, -1.0, 1.0).expect("valid parameters")
    }

    /// The exact undiscounted values of the states.
    pub fn true_values(&self) -> Vec<f64> {
        let n = crate::tabular::FiniteMdp::num_states(&self.mdp);
        (0..n)
            .map(|i| {
                self.left_reward
                    + (self.right_reward - self.left_reward) * (i + 1) as f64 / (n + 1) as f64
            })
            .collect()
    }
}

impl AsRef<TabularMdp> for RandomWalk {
    fn as_ref(&self) -> &TabularMdp {
        &self.mdp
    }
}
