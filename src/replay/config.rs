//! Settings of the replay memories.

use burn::config::Config;

use crate::error::{Error, Result, check_f32_scale, check_unit_interval};

/// The shape of a replay memory: how many transitions it keeps, how wide an observation is,
/// and how many actions there are. Shared by [`ReplayBuffer`](crate::replay::ReplayBuffer) and
/// [`PrioritizedReplay`](crate::replay::PrioritizedReplay).
///
/// Storage is allocated once, at construction, as flat columns: `capacity` rows of two
/// observations (`observation_dim` floats each) plus an action, a reward, a terminated flag
/// and a discount. [`ReplayConfig::values`] counts what that is,
/// `capacity * (2 * observation_dim + 4)`, and construction refuses more than `max_values`
/// (default `2^28`, about 1 GiB of `f32`), so a typo in a capacity is an error rather than an
/// attempt to allocate many gigabytes. Raise `max_values` to build a larger memory on purpose.
///
/// # Example
///
/// ```
/// use valuefn::replay::ReplayConfig;
///
/// let config = ReplayConfig::new(10_000, 4, 2);
/// assert!(config.validate().is_ok());
/// assert_eq!(config.values()?, 10_000 * 12);
/// assert!(ReplayConfig::new(0, 4, 2).validate().is_err());
/// assert!(ReplayConfig::new(1 << 30, 4, 2).validate().is_err()); // beyond max_values
/// assert!(ReplayConfig::new(1 << 30, 4, 2).with_max_values(1 << 34).validate().is_ok());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Config, Debug, PartialEq, Eq)]
pub struct ReplayConfig {
    /// Number of transitions kept (at least 1); when full, the oldest is overwritten.
    pub capacity: usize,
    /// Width of an observation (at least 1).
    pub observation_dim: usize,
    /// Number of discrete actions (at least 1); a pushed action must be below it.
    pub num_actions: usize,
    /// Upper bound on [`ReplayConfig::values`], the number of values stored (default `2^28`).
    #[config(default = "1 << 28")]
    pub max_values: usize,
}

impl ReplayConfig {
    /// Number of values the storage holds: `capacity * (2 * observation_dim + 4)`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] (field `capacity`) when the product overflows `usize`.
    pub fn values(&self) -> Result<usize> {
        self.observation_dim
            .checked_mul(2)
            .and_then(|row| row.checked_add(4))
            .and_then(|row| row.checked_mul(self.capacity))
            .ok_or_else(|| {
                Error::config(
                    "capacity",
                    "such that capacity * (2 * observation_dim + 4) fits in usize",
                    format!(
                        "{} with observation_dim {}",
                        self.capacity, self.observation_dim
                    ),
                )
            })
    }

    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a zero `capacity`, `observation_dim` or `num_actions`, or
    /// a storage size ([`ReplayConfig::values`]) that overflows or exceeds `max_values`.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [
            ("capacity", self.capacity),
            ("observation_dim", self.observation_dim),
            ("num_actions", self.num_actions),
        ] {
            if value == 0 {
                return Err(Error::config(field, "at least 1", 0));
            }
        }
        let values = self.values()?;
        if values > self.max_values {
            return Err(Error::config(
                "capacity",
                "such that capacity * (2 * observation_dim + 4) <= max_values (raise max_values to allow more)",
                format!(
                    "{} with observation_dim {} ({values} values > max_values {})",
                    self.capacity, self.observation_dim, self.max_values
                ),
            ));
        }
        Ok(())
    }
}

/// Settings of proportional prioritized replay (Schaul et al. 2016, "Prioritized Experience
/// Replay"), used with a [`ReplayConfig`] by
/// [`PrioritizedReplay`](crate::replay::PrioritizedReplay).
///
/// A transition with TD error `delta` gets priority `p = (|delta| + epsilon)^alpha` and is
/// sampled with probability `P(i) = p_i / sum_j p_j`; its loss is weighted by
/// `w_i = (N P(i))^-beta`, normalised by the largest weight in the batch. `beta` moves linearly
/// from `beta_start` to `beta_end` as training progress goes from 0 to 1.
///
/// # Example
///
/// ```
/// use valuefn::replay::PrioritizedConfig;
///
/// let config = PrioritizedConfig::new();
/// assert_eq!((config.alpha, config.beta_start, config.beta_end), (0.6, 0.4, 1.0));
/// assert!(config.validate().is_ok());
/// assert!(PrioritizedConfig::new().with_epsilon(0.0).validate().is_err());
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct PrioritizedConfig {
    /// How strongly priorities skew sampling, in `[0, 1]`: 0 is uniform sampling, 1 samples in
    /// proportion to `|delta| + epsilon`.
    #[config(default = 0.6)]
    pub alpha: f64,
    /// Importance-sampling exponent at the start of training, in `[0, 1]`.
    #[config(default = 0.4)]
    pub beta_start: f64,
    /// Importance-sampling exponent at the end of training, in `[0, 1]` (1 fully corrects the
    /// bias of non-uniform sampling).
    #[config(default = 1.0)]
    pub beta_end: f64,
    /// Added to `|delta|` so that no transition has zero priority: finite, `> 0`.
    #[config(default = 1e-6)]
    pub epsilon: f64,
}

impl PrioritizedConfig {
    /// Checks every field.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the first field out of range.
    pub fn validate(&self) -> Result<()> {
        check_unit_interval("alpha", self.alpha)?;
        check_unit_interval("beta_start", self.beta_start)?;
        check_unit_interval("beta_end", self.beta_end)?;
        // Added to f32 TD errors: a value that is 0 or infinite in f32 is no offset at all.
        check_f32_scale("epsilon", self.epsilon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_error_per_bad_field() {
        let field = |config: &ReplayConfig| match config.validate() {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(&ReplayConfig::new(0, 1, 1)), "capacity");
        assert_eq!(field(&ReplayConfig::new(1, 0, 1)), "observation_dim");
        assert_eq!(field(&ReplayConfig::new(1, 1, 0)), "num_actions");
        assert_eq!(field(&ReplayConfig::new(usize::MAX, 2, 1)), "capacity");
        assert_eq!(
            field(&ReplayConfig::new(10, 4, 2).with_max_values(119)),
            "capacity"
        );
        assert!(
            ReplayConfig::new(10, 4, 2)
                .with_max_values(120)
                .validate()
                .is_ok()
        );

        let field = |config: PrioritizedConfig| match config.validate() {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(PrioritizedConfig::new().with_alpha(-0.1)), "alpha");
        assert_eq!(field(PrioritizedConfig::new().with_alpha(1.5)), "alpha");
        assert_eq!(
            field(PrioritizedConfig::new().with_alpha(f64::NAN)),
            "alpha"
        );
        assert_eq!(
            field(PrioritizedConfig::new().with_beta_start(1.1)),
            "beta_start"
        );
        assert_eq!(
            field(PrioritizedConfig::new().with_beta_end(-0.1)),
            "beta_end"
        );
        assert_eq!(field(PrioritizedConfig::new().with_epsilon(0.0)), "epsilon");
        // 1e-300 is 0 beside an f32 TD error; 1e300 is infinite there.
        assert_eq!(
            field(PrioritizedConfig::new().with_epsilon(1e-300)),
            "epsilon"
        );
        assert_eq!(
            field(PrioritizedConfig::new().with_epsilon(1e300)),
            "epsilon"
        );
    }
}
