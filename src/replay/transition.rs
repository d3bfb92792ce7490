//! One transition, as borrowed host data.

use crate::error::{Error, Result, check_finite, check_unit_interval};

/// One (possibly n-step) transition `(s_t, a_t, R, s_{t+k})` as borrowed host data: what a
/// [`Replay`](crate::replay::Replay) memory copies in.
///
/// `reward` is the discounted sum `R = r_t + gamma r_{t+1} + ... + gamma^(k-1) r_{t+k-1}` and
/// `discount` the bootstrap factor `gamma^k`, so the TD target is
/// `R + discount * (1 - terminated) * V(s_{t+k})`. A one-step transition has `k = 1`: its
/// `reward` is `r_t` and its `discount` is `gamma` ([`Transition::one_step`]).
///
/// # Example
///
/// ```
/// use valuefn::replay::Transition;
///
/// let t = Transition::one_step(&[0.0, 1.0], 1, 0.5, &[1.0, 1.0], false, 0.99);
/// assert_eq!(t.discount, 0.99);
/// assert!(t.validate(2, 2).is_ok());
/// assert!(t.validate(3, 2).is_err()); // observation width 2, memory expects 3
/// assert!(t.validate(2, 1).is_err()); // action 1 outside 0..1
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition<'a> {
    /// The state `s_t` the action was taken in.
    pub observation: &'a [f32],
    /// The action `a_t`.
    pub action: usize,
    /// The discounted reward sum `R` over the `k` steps of the transition.
    pub reward: f64,
    /// The state `s_{t+k}` to bootstrap from: the true next state, also where the episode was
    /// cut by a time limit (not the observation after an automatic reset).
    pub next_observation: &'a [f32],
    /// Whether `s_{t+k}` is terminal: no bootstrap.
    pub terminated: bool,
    /// The bootstrap discount `gamma^k`, in `[0, 1]`.
    pub discount: f64,
}

impl<'a> Transition<'a> {
    /// A one-step transition `(s, a, r, s')` with `discount = gamma`.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::replay::Transition;
    ///
    /// let t = Transition::one_step(&[0.0], 0, 1.0, &[1.0], true, 0.9);
    /// assert_eq!((t.reward, t.discount, t.terminated), (1.0, 0.9, true));
    /// ```
    pub fn one_step(
        observation: &'a [f32],
        action: usize,
        reward: f64,
        next_observation: &'a [f32],
        terminated: bool,
        gamma: f64,
    ) -> Self {
        Self {
            observation,
            action,
            reward,
            next_observation,
            terminated,
            discount: gamma,
        }
    }

    /// Checks the transition against a memory's shape: both observations `observation_dim`
    /// wide with finite entries, `action < num_actions`, a reward that is finite as `f32` (the
    /// precision it is stored in), and `discount` in `[0, 1]`.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] for an observation of the wrong width; [`Error::InvalidAction`]
    /// for an action out of range; [`Error::NonFinite`] for a NaN or infinite reward or
    /// observation entry (or a reward beyond `f32`'s range); [`Error::InvalidConfig`] for a
    /// discount outside `[0, 1]`.
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::Error;
    /// use valuefn::replay::Transition;
    ///
    /// let bad = Transition::one_step(&[f32::NAN], 0, 0.0, &[0.0], false, 0.9);
    /// assert!(matches!(bad.validate(1, 1), Err(Error::NonFinite { what: "observation", .. })));
    /// ```
    pub fn validate(&self, observation_dim: usize, num_actions: usize) -> Result<()> {
        for (what, observation) in [
            ("observation", self.observation),
            ("next_observation", self.next_observation),
        ] {
            if observation.len() != observation_dim {
                return Err(Error::ShapeMismatch {
                    what,
                    expected: vec![observation_dim],
                    actual: vec![observation.len()],
                });
            }
        }
        if self.action >= num_actions {
            return Err(Error::action(self.action, format!("0..{num_actions}")));
        }
        check_finite("reward", self.reward)?;
        if !(self.reward as f32).is_finite() {
            return Err(Error::NonFinite {
                what: "reward (as f32)",
                value: self.reward,
            });
        }
        check_unit_interval("discount", self.discount)?;
        for (what, observation) in [
            ("observation", self.observation),
            ("next_observation", self.next_observation),
        ] {
            if let Some(&bad) = observation.iter().find(|x| !x.is_finite()) {
                return Err(Error::NonFinite {
                    what,
                    value: f64::from(bad),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bad_field_has_its_own_error() {
        let ok = Transition::one_step(&[0.0, 1.0], 2, 1.0, &[1.0, 2.0], false, 0.9);
        assert!(ok.validate(2, 3).is_ok());
        let wide = Transition {
            next_observation: &[1.0],
            ..ok
        };
        assert!(matches!(
            wide.validate(2, 3),
            Err(Error::ShapeMismatch {
                what: "next_observation",
                ..
            })
        ));
        assert!(matches!(
            ok.validate(2, 2),
            Err(Error::InvalidAction { .. })
        ));
        for reward in [f64::NAN, f64::INFINITY, 1e300] {
            let t = Transition { reward, ..ok };
            assert!(matches!(t.validate(2, 3), Err(Error::NonFinite { .. })));
        }
        for discount in [-0.1, 1.5, f64::NAN] {
            let t = Transition { discount, ..ok };
            assert!(matches!(
                t.validate(2, 3),
                Err(Error::InvalidConfig {
                    field: "discount",
                    ..
                })
            ));
        }
        let inf = Transition {
            next_observation: &[1.0, f32::INFINITY],
            ..ok
        };
        assert!(matches!(
            inf.validate(2, 3),
            Err(Error::NonFinite {
                what: "next_observation",
                ..
            })
        ));
    }
}
