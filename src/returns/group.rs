//! Critic-free advantages: group baselines (GRPO, Dr. GRPO, RLOO, ReMax) on each trajectory's
//! return, and REINFORCE++'s batch-normalised returns.

use burn::config::Config;

use crate::error::{Error, Result, check_finite, check_gamma};
use crate::returns::{Advantages, Rollout};

/// Which trajectories of a rollout (its `B` columns) were sampled for the same prompt: a group
/// index per column, and optionally a reference return per group (ReMax's baseline: the return
/// of the greedy completion).
///
/// # Example
///
/// ```
/// use valuefn::returns::Groups;
///
/// let groups = Groups::contiguous(2, 3)?; // columns 0..3 are group 0, 3..6 group 1
/// assert_eq!(groups.sizes(), vec![3, 3]);
/// assert_eq!(groups.group_of(4), 1);
/// assert!(Groups::new(vec![0, 2]).is_err()); // group 1 has no member
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Groups {
    of: Vec<usize>,
    sizes: Vec<usize>,
    reference: Option<Vec<f64>>,
}

impl Groups {
    /// Groups from the group index of each column; the indices must cover `0..G` with every
    /// group non-empty.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for no column; [`Error::InvalidConfig`] for an index above the number
    /// of columns or a group index in `0..G` that no column has.
    pub fn new(of: Vec<usize>) -> Result<Self> {
        if of.is_empty() {
            return Err(Error::Empty { what: "groups" });
        }
        let count = of.iter().max().map_or(0, |&g| g + 1);
        if count > of.len() {
            return Err(Error::config(
                "group index",
                "below the number of trajectories (indices 0..G, every group non-empty)",
                count - 1,
            ));
        }
        let mut sizes = vec![0; count];
        for &g in &of {
            sizes[g] += 1;
        }
        if let Some(empty) = sizes.iter().position(|&n| n == 0) {
            return Err(Error::config(
                "group index",
                "used by some trajectory (indices 0..G, every group non-empty)",
                format!("group {empty} has no member"),
            ));
        }
        Ok(Self {
            of,
            sizes,
            reference: None,
        })
    }

    /// `groups` groups of `size` adjacent columns each (what
    /// [`crate::lm::TokenCollector::grouped`] collects).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when either is 0; [`Error::TooLarge`] when the product overflows.
    pub fn contiguous(groups: usize, size: usize) -> Result<Self> {
        if groups == 0 || size == 0 {
            return Err(Error::config(
                "groups",
                "at least one group of at least one trajectory",
                format!("{groups} groups of {size}"),
            ));
        }
        let total = crate::error::check_size("grouped trajectories", groups, size, usize::MAX)?;
        Self::new((0..total).map(|i| i / size).collect())
    }

    /// The same groups with a reference return per group (ReMax's baseline).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] for a length other than the number of groups;
    /// [`Error::NonFinite`] for a return that is not finite. `self` is consumed either way.
    pub fn with_reference(mut self, returns: Vec<f64>) -> Result<Self> {
        if returns.len() != self.sizes.len() {
            return Err(Error::ShapeMismatch {
                what: "reference returns (one per group)",
                expected: vec![self.sizes.len()],
                actual: vec![returns.len()],
            });
        }
        for &r in &returns {
            check_finite("reference return", r)?;
        }
        self.reference = Some(returns);
        Ok(self)
    }

    /// Number of trajectories (columns).
    pub fn len(&self) -> usize {
        self.of.len()
    }

    /// Whether there is no trajectory (never: [`Groups::new`] refuses it).
    pub fn is_empty(&self) -> bool {
        self.of.is_empty()
    }

    /// Number of groups.
    pub fn num_groups(&self) -> usize {
        self.sizes.len()
    }

    /// The group of column `column`.
    ///
    /// # Panics
    ///
    /// When `column >= self.len()`.
    pub fn group_of(&self, column: usize) -> usize {
        self.of[column]
    }

    /// Members of each group.
    pub fn sizes(&self) -> Vec<usize> {
        self.sizes.clone()
    }

    /// The reference return of each group, when given.
    pub fn reference(&self) -> Option<&[f64]> {
        self.reference.as_deref()
    }
}

/// A baseline computed from the other samples of the same prompt, subtracted from each
/// trajectory's return `R_i` (the sum of its rewards, discounted by `gamma`); the advantage of
/// a trajectory is given to every one of its tokens.
///
/// | variant | advantage of trajectory `i` in group `g` of `K` | recipe |
/// |---|---|---|
/// | `Grpo` | `(R_i - mean_g) / (std_g + epsilon)`, `std_g` with Bessel's correction | GRPO (Shao et al. 2024; TRL) |
/// | `DrGrpo` | `R_i - mean_g` | Dr. GRPO (Liu et al. 2025) |
/// | `Rloo` | `R_i - mean_{j != i} R_j = K / (K - 1) (R_i - mean_g)` | RLOO (Ahmadian et al. 2024) |
/// | `ReMax` | `R_i - R_ref,g`, the group's reference (greedy) return | ReMax (Li et al. 2024) |
///
/// A group whose returns are all equal gets advantage 0 under the three group-mean variants (no
/// NaN from a zero standard deviation); ReMax subtracts its reference whatever the group. `Grpo`, `DrGrpo` and `Rloo` need at least 2 trajectories per
/// group; `ReMax` needs the groups' reference returns ([`Groups::with_reference`]).
///
/// Of these, RLOO's advantage at the first token is an unbiased estimate of the exact
/// `A^pi(s_0, a_0)` (its baseline, the other samples' mean, estimates `V^pi(s_0)` without
/// depending on the trajectory itself). ReMax's baseline does not depend on the trajectory
/// either, so its policy gradient is unbiased, but its advantage is `A^pi` shifted by
/// `V^pi(s_0) - R_ref` (the greedy return is not the policy's mean). The group mean of Dr.
/// GRPO includes the trajectory (a `(K - 1) / K` shrink), and GRPO's division by the group's
/// standard deviation rescales each prompt differently.
///
/// # Example
///
/// ```
/// use valuefn::returns::{GroupBaseline, Groups};
///
/// let groups = Groups::contiguous(1, 4)?;
/// let returns = [1.0, 0.0, 0.0, 1.0];
/// let rloo = GroupBaseline::Rloo.advantages(&returns, &groups)?;
/// assert_eq!(rloo, vec![2.0 / 3.0, -2.0 / 3.0, -2.0 / 3.0, 2.0 / 3.0]);
/// let dr = GroupBaseline::DrGrpo.advantages(&returns, &groups)?;
/// assert_eq!(dr, vec![0.5, -0.5, -0.5, 0.5]);
/// let same = GroupBaseline::Grpo { epsilon: 1e-4 }.advantages(&[0.1; 4], &groups)?;
/// assert_eq!(same, vec![0.0; 4]);
/// assert!(GroupBaseline::Rloo.advantages(&[1.0], &Groups::contiguous(1, 1)?).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Config, Debug, Copy, PartialEq)]
pub enum GroupBaseline {
    /// Group mean and standard deviation.
    Grpo {
        /// Added to the standard deviation (TRL: `1e-4`); finite and >= 0.
        epsilon: f64,
    },
    /// Group mean, no scaling.
    DrGrpo,
    /// Leave-one-out mean.
    Rloo,
    /// A reference completion's return.
    ReMax,
}

impl GroupBaseline {
    /// The recipe's name.
    pub fn name(&self) -> &'static str {
        match self {
            GroupBaseline::Grpo { .. } => "GRPO",
            GroupBaseline::DrGrpo => "Dr. GRPO",
            GroupBaseline::Rloo => "RLOO",
            GroupBaseline::ReMax => "ReMax",
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a GRPO epsilon that is negative or not finite.
    pub fn validate(&self) -> Result<()> {
        if let GroupBaseline::Grpo { epsilon } = *self
            && !(epsilon.is_finite() && epsilon >= 0.0)
        {
            return Err(Error::config(
                "group baseline epsilon",
                "finite and >= 0",
                epsilon,
            ));
        }
        Ok(())
    }

    /// The smallest group this baseline can use.
    pub fn min_group_size(&self) -> usize {
        match self {
            GroupBaseline::ReMax => 1,
            _ => 2,
        }
    }

    /// Each trajectory's advantage from the returns `R_i` (one per column of `groups`).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when `returns` and `groups` differ in length;
    /// [`Error::NonFinite`] for a return that is not finite; [`Error::InvalidConfig`] for a
    /// bad epsilon, a group smaller than [`GroupBaseline::min_group_size`], or `ReMax` without
    /// reference returns.
    pub fn advantages(&self, returns: &[f64], groups: &Groups) -> Result<Vec<f64>> {
        self.validate()?;
        if returns.len() != groups.len() {
            return Err(Error::ShapeMismatch {
                what: "trajectory returns (one per grouped trajectory)",
                expected: vec![groups.len()],
                actual: vec![returns.len()],
            });
        }
        for &r in returns {
            check_finite("trajectory return", r)?;
        }
        if let Some(&small) = groups.sizes.iter().find(|&&n| n < self.min_group_size()) {
            return Err(Error::config(
                "group size",
                match self {
                    GroupBaseline::ReMax => "at least 1",
                    _ => "at least 2 (a group baseline needs another sample of the prompt)",
                },
                small,
            ));
        }
        let count = groups.num_groups();
        let mut sum = vec![0.0; count];
        for (&r, &g) in returns.iter().zip(&groups.of) {
            sum[g] += r;
        }
        let mean: Vec<f64> = sum
            .iter()
            .zip(&groups.sizes)
            .map(|(s, &n)| s / n as f64)
            .collect();
        let mut squares = vec![0.0; count];
        // Whether a group's returns differ at all (from its first member's).
        let mut first: Vec<Option<f64>> = vec![None; count];
        let mut spread = vec![false; count];
        for (&r, &g) in returns.iter().zip(&groups.of) {
            squares[g] += (r - mean[g]).powi(2);
            spread[g] |= *first[g].get_or_insert(r) != r;
        }
        let reference = match (self, groups.reference()) {
            (GroupBaseline::ReMax, None) => {
                return Err(Error::config(
                    "groups",
                    "reference returns for ReMax (Groups::with_reference)",
                    "none",
                ));
            }
            (_, reference) => reference,
        };
        Ok(returns
            .iter()
            .zip(&groups.of)
            .map(|(&r, &g)| {
                let k = groups.sizes[g] as f64;
                match *self {
                    GroupBaseline::ReMax => r - reference.map_or(0.0, |b| b[g]),
                    // Equal returns: exactly 0, whatever rounding left in `r - mean`.
                    _ if !spread[g] => 0.0,
                    GroupBaseline::Grpo { epsilon } => {
                        let std = (squares[g] / (k - 1.0)).sqrt();
                        // Returns so close their squares underflow: no spread either.
                        if std + epsilon == 0.0 {
                            0.0
                        } else {
                            (r - mean[g]) / (std + epsilon)
                        }
                    }
                    GroupBaseline::DrGrpo => r - mean[g],
                    GroupBaseline::Rloo => (r - mean[g]) * k / (k - 1.0),
                }
            })
            .collect())
    }
}

/// Per step of a rollout whose every column is one episode (a token rollout: steps after the
/// episode's end are padding, marked terminated with reward 0): whether the step is part of the episode, and the
/// discounted return from it to the episode's end, `G_t = sum_{k >= t} gamma^(k - t) r_k`
/// (bootstrapping from nothing: a truncated episode's return stops at the cut).
///
/// # Errors
///
/// [`Error::InvalidConfig`] for `gamma` outside `[0, 1]`, or a column with a step after its
/// episode ended that is not padding (a reward, or no terminated flag: a second episode).
pub fn episode_returns(rollout: &Rollout, gamma: f64) -> Result<(Vec<f64>, Vec<bool>)> {
    check_gamma(gamma)?;
    let [steps, envs] = rollout.shape();
    let mut counted = vec![false; steps * envs];
    for b in 0..envs {
        let mut open = true;
        for t in 0..steps {
            let i = t * envs + b;
            if open {
                counted[i] = true;
                open = !rollout.done(i);
            } else if rollout.rewards[i] != 0.0 || !rollout.terminated[i] {
                return Err(Error::config(
                    "rollout",
                    "one episode per column (steps after its end are padding: reward 0, \
                     terminated)",
                    format!(
                        "column {b} has reward {}, terminated {} at step {t}",
                        rollout.rewards[i], rollout.terminated[i]
                    ),
                ));
            }
        }
    }
    let returns = rollout.backward_scan(|i| {
        if !counted[i] {
            return (0.0, 0.0);
        }
        let carry = if rollout.done(i) { 0.0 } else { gamma };
        (f64::from(rollout.rewards[i]), carry)
    });
    Ok((returns, counted))
}

/// Group-baseline advantages of a rollout with one episode per column and [`Groups`] over its
/// columns ([`Rollout::with_groups`]): each column's return `R_b = G_0` gets `baseline`'s
/// advantage, given to every step of the episode (0 on padding). The value targets are the
/// returns-to-go `G_t`, so a critic can still be fitted alongside.
///
/// # Errors
///
/// [`Error::InvalidConfig`] when the rollout has no groups, for `gamma` outside `[0, 1]`, and as
/// [`episode_returns`] and [`GroupBaseline::advantages`].
///
/// # Example
///
/// ```
/// use valuefn::returns::{group_advantages, GroupBaseline, Groups, Rollout};
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// // Two one-step episodes of one prompt: returns 1 and 0.
/// let rollout = Rollout::new(1, 2, vec![1.0, 0.0], vec![true; 2], vec![false; 2], &device)?
///     .with_groups(Groups::contiguous(1, 2)?)?;
/// let out = group_advantages(&rollout, GroupBaseline::Rloo, 1.0)?;
/// assert_eq!(to_vec_f32(out.advantages), vec![1.0, -1.0]);
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn group_advantages(
    rollout: &Rollout,
    baseline: GroupBaseline,
    gamma: f64,
) -> Result<Advantages> {
    let groups = rollout.groups().ok_or_else(|| {
        Error::config(
            "rollout",
            "groups of trajectories per prompt (Rollout::with_groups)",
            "none",
        )
    })?;
    let (returns, counted) = episode_returns(rollout, gamma)?;
    let envs = rollout.shape()[1];
    let per_column = baseline.advantages(&returns[..envs], groups)?;
    let advantages = counted
        .iter()
        .enumerate()
        .map(|(i, &c)| if c { per_column[i % envs] } else { 0.0 })
        .collect();
    Ok(Advantages {
        advantages: rollout.tensor(advantages),
        returns: rollout.tensor(returns),
    })
}

/// REINFORCE++'s advantages (Hu 2025): each step's return-to-go `G_t`, standardised over every
/// step of the batch that is part of an episode: `(G_t - mean) / (std + 1e-8)` (0 on padding,
/// and everywhere when all returns are equal). Put a KL penalty into the rewards first
/// ([`crate::algo::actor_critic::KlPenalty`]), as the recipe does. Needs no groups and no
/// critic; the value targets are the returns-to-go.
///
/// # Errors
///
/// As [`episode_returns`].
///
/// # Example
///
/// ```
/// use valuefn::returns::{normalized_returns, Rollout};
/// use valuefn::tensor_ops::to_vec_f32;
///
/// let device = valuefn::device::default_device();
/// let rollout = Rollout::new(1, 2, vec![1.0, 0.0], vec![true; 2], vec![false; 2], &device)?;
/// let out = to_vec_f32(normalized_returns(&rollout, 1.0)?.advantages);
/// assert!((out[0] - 1.0).abs() < 1e-6 && (out[1] + 1.0).abs() < 1e-6); // population std 0.5
/// # Ok::<(), valuefn::Error>(())
/// ```
pub fn normalized_returns(rollout: &Rollout, gamma: f64) -> Result<Advantages> {
    let (returns, counted) = episode_returns(rollout, gamma)?;
    let kept: Vec<f64> = returns
        .iter()
        .zip(&counted)
        .filter_map(|(&g, &c)| c.then_some(g))
        .collect();
    let n = kept.len().max(1) as f64;
    let mean = kept.iter().sum::<f64>() / n;
    let std = (kept.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n).sqrt();
    let all_equal = kept.windows(2).all(|w| w[0] == w[1]);
    let advantages = returns
        .iter()
        .zip(&counted)
        .map(|(&g, &c)| {
            if c && !all_equal {
                (g - mean) / (std + 1e-8)
            } else {
                0.0
            }
        })
        .collect();
    Ok(Advantages {
        advantages: rollout.tensor(advantages),
        returns: rollout.tensor(returns),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpo_uses_the_sample_standard_deviation() {
        let groups = Groups::new(vec![0, 1, 0, 1]).unwrap();
        let a = GroupBaseline::Grpo { epsilon: 0.0 }
            .advantages(&[1.0, 5.0, 3.0, 5.0], &groups)
            .unwrap();
        // Group 0: mean 2, sample std sqrt(2); group 1: all equal.
        let s = 2f64.sqrt();
        assert_eq!(a, vec![-1.0 / s, 0.0, 1.0 / s, 0.0]);
        // Returns that differ by less than the square root of the smallest f64: no spread.
        let tiny = GroupBaseline::Grpo { epsilon: 0.0 }
            .advantages(&[0.0, 1e-170], &Groups::contiguous(1, 2).unwrap())
            .unwrap();
        assert_eq!(tiny, vec![0.0, 0.0]);
    }

    #[test]
    fn remax_subtracts_the_reference() {
        let groups = Groups::contiguous(2, 1)
            .unwrap()
            .with_reference(vec![0.5, 2.0])
            .unwrap();
        let a = GroupBaseline::ReMax
            .advantages(&[1.0, 1.0], &groups)
            .unwrap();
        assert_eq!(a, vec![0.5, -1.0]);
        let bare = Groups::contiguous(2, 1).unwrap();
        assert!(GroupBaseline::ReMax.advantages(&[1.0, 1.0], &bare).is_err());
    }
}
