//! Value-based action selection: greedy, epsilon-greedy and Boltzmann over Q values.

use burn::config::Config;
use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use rand::{Rng, RngExt};

use crate::error::{Error, Result, check_f32_scale, check_unit_interval};
use crate::policy::HostSelector;
use crate::policy::sample_row;
use crate::tensor_ops::to_vec_f32;

/// Turns a batch of Q values into an action distribution and samples from it.
///
/// Selectors read Q values, not states, so the same selector serves a table, a network or a
/// language model's Q head, and an updater can ask for `pi(.|s')` of the table it is updating.
///
/// NaN Q values (a diverged table) never panic: the value-based selectors never prefer a NaN
/// entry while its row has a number, and treat a row of NaN as all tied.
pub trait ActionSelector {
    /// `pi(a|s)` for each row of `q_values` (`[B, A]` in, `[B, A]` out; `[B, 0]` gives
    /// `[B, 0]`).
    fn probabilities(&self, q_values: Tensor<2>) -> Tensor<2>;

    /// `pi(a|s)` of one row of Q values in host memory, written to `out`, when the selector
    /// can compute it there with the distribution of [`ActionSelector::probabilities`]
    /// (returns `true`; the built-in selectors can, through
    /// [`HostSelector`](crate::policy::HostSelector)). The provided method returns `false` and
    /// leaves `out` alone: learners then use the tensor path.
    fn host_row_probabilities(&self, q_row: &[f32], out: &mut [f32]) -> bool {
        let _ = (q_row, out);
        false
    }

    /// One action per row, drawn with `rng`. The provided method samples
    /// [`ActionSelector::probabilities`] by inverse CDF.
    ///
    /// # Panics
    ///
    /// When `q_values` has no columns (and at least one row): there is no action to return.
    fn select<R: Rng + ?Sized>(&self, q_values: Tensor<2>, rng: &mut R) -> Vec<usize> {
        let [_, actions] = q_values.dims();
        assert_has_actions(q_values.dims());
        to_vec_f32(self.probabilities(q_values))
            .chunks(actions.max(1))
            .map(|row| sample_row(row, rng.random()))
            .collect()
    }
}

/// The documented panic of [`ActionSelector::select`] on a `[B, 0]` tensor with `B > 0`.
fn assert_has_actions([batch, actions]: [usize; 2]) {
    assert!(
        batch == 0 || actions > 0,
        "cannot select an action from Q values of shape [{batch}, 0]: there are no actions"
    );
}

/// Indices of the maximal entries of a row (exact ties), ignoring NaN; every index when the
/// row is all NaN.
fn maximisers(row: &[f32]) -> Vec<usize> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let best: Vec<usize> = (0..row.len()).filter(|&a| row[a] == max).collect();
    if best.is_empty() {
        (0..row.len()).collect()
    } else {
        best
    }
}

/// `[B, A]` probabilities that spread `1 - epsilon` uniformly over each row's maximisers and
/// `epsilon` uniformly over all actions.
fn epsilon_greedy_probabilities(q_values: Tensor<2>, epsilon: f64) -> Tensor<2> {
    let device = q_values.device();
    let [batch, actions] = q_values.dims();
    if actions == 0 {
        return q_values;
    }
    let rows = to_vec_f32(q_values);
    let mut probabilities = vec![(epsilon / actions as f64) as f32; batch * actions];
    for (row, out) in rows.chunks(actions).zip(probabilities.chunks_mut(actions)) {
        let best = maximisers(row);
        for &a in &best {
            out[a] += ((1.0 - epsilon) / best.len() as f64) as f32;
        }
    }
    Tensor::from_data(
        burn::tensor::TensorData::new(probabilities, [batch, actions]),
        &device,
    )
}

/// The greedy policy: the action of highest value, ties broken uniformly at random with the
/// caller's generator (so an all-zero initial table explores instead of always taking action 0).
///
/// # Example
///
/// ```
/// use rand::SeedableRng;
/// use valuefn::policy::{ActionSelector, Greedy};
///
/// let device = valuefn::device::default_device();
/// let q = burn::Tensor::<2>::from_floats([[1.0, 5.0, 5.0]], &device);
/// let p = valuefn::tensor_ops::to_vec_f32(Greedy.probabilities(q.clone()));
/// assert_eq!(p, vec![0.0, 0.5, 0.5]);
/// let a = Greedy.select(q, &mut rand::rngs::StdRng::seed_from_u64(0));
/// assert!(a[0] == 1 || a[0] == 2);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Greedy;

impl ActionSelector for Greedy {
    fn host_row_probabilities(&self, q_row: &[f32], out: &mut [f32]) -> bool {
        HostSelector::row_probabilities(self, q_row, out);
        true
    }

    fn probabilities(&self, q_values: Tensor<2>) -> Tensor<2> {
        epsilon_greedy_probabilities(q_values, 0.0)
    }

    fn select<R: Rng + ?Sized>(&self, q_values: Tensor<2>, rng: &mut R) -> Vec<usize> {
        let [_, actions] = q_values.dims();
        assert_has_actions(q_values.dims());
        to_vec_f32(q_values)
            .chunks(actions)
            .map(|row| {
                let best = maximisers(row);
                best[rng.random_range(0..best.len())]
            })
            .collect()
    }
}

/// Epsilon-greedy: a uniformly random action with probability `epsilon`, else greedy (ties at
/// random).
///
/// # Example
///
/// ```
/// use valuefn::policy::{ActionSelector, EpsilonGreedy};
///
/// let device = valuefn::device::default_device();
/// let q = burn::Tensor::<2>::from_floats([[0.0, 1.0]], &device);
/// let p = valuefn::tensor_ops::to_vec_f32(EpsilonGreedy::new(0.2)?.probabilities(q));
/// assert!((p[0] - 0.1).abs() < 1e-6 && (p[1] - 0.9).abs() < 1e-6);
/// assert!(EpsilonGreedy::new(1.5).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpsilonGreedy {
    epsilon: f64,
}

impl EpsilonGreedy {
    /// Epsilon-greedy with exploration rate `epsilon`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for `epsilon` outside `[0, 1]`.
    pub fn new(epsilon: f64) -> Result<Self> {
        check_unit_interval("epsilon", epsilon)?;
        Ok(Self { epsilon })
    }

    /// The exploration rate.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }
}

impl ActionSelector for EpsilonGreedy {
    fn host_row_probabilities(&self, q_row: &[f32], out: &mut [f32]) -> bool {
        HostSelector::row_probabilities(self, q_row, out);
        true
    }

    fn probabilities(&self, q_values: Tensor<2>) -> Tensor<2> {
        epsilon_greedy_probabilities(q_values, self.epsilon)
    }

    fn select<R: Rng + ?Sized>(&self, q_values: Tensor<2>, rng: &mut R) -> Vec<usize> {
        let [batch, actions] = q_values.dims();
        let greedy = Greedy.select(q_values, rng);
        (0..batch)
            .map(|i| {
                if rng.random_bool(self.epsilon) {
                    rng.random_range(0..actions)
                } else {
                    greedy[i]
                }
            })
            .collect()
    }
}

/// Boltzmann (softmax) exploration: `pi(a|s) ∝ exp(Q(s, a) / temperature)`, computed as
/// `softmax((Q - max_a Q) / temperature)` so that no temperature in range overflows.
///
/// # Example
///
/// ```
/// use valuefn::policy::{ActionSelector, Boltzmann};
///
/// let device = valuefn::device::default_device();
/// let q = burn::Tensor::<2>::from_floats([[0.0, 2f32.ln()]], &device);
/// let p = valuefn::tensor_ops::to_vec_f32(Boltzmann::new(1.0)?.probabilities(q));
/// assert!((p[0] - 1.0 / 3.0).abs() < 1e-6 && (p[1] - 2.0 / 3.0).abs() < 1e-6);
/// assert!(Boltzmann::new(0.0).is_err());
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Boltzmann {
    temperature: f64,
}

impl Boltzmann {
    /// Softmax exploration at `temperature`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] unless `temperature` lies in `[f32::MIN_POSITIVE, f32::MAX]`
    /// (about `[1.2e-38, 3.4e38]`): the tensors divide by it in `f32`, where a smaller one
    /// rounds to 0 and a larger one to infinity.
    pub fn new(temperature: f64) -> Result<Self> {
        check_f32_scale("temperature", temperature)?;
        Ok(Self { temperature })
    }

    /// The temperature.
    pub fn temperature(&self) -> f64 {
        self.temperature
    }
}

impl ActionSelector for Boltzmann {
    fn host_row_probabilities(&self, q_row: &[f32], out: &mut [f32]) -> bool {
        HostSelector::row_probabilities(self, q_row, out);
        true
    }

    fn probabilities(&self, q_values: Tensor<2>) -> Tensor<2> {
        let [_, actions] = q_values.dims();
        if actions == 0 {
            return q_values;
        }
        let max = q_values.clone().max_dim(1);
        softmax((q_values - max) / self.temperature, 1)
    }
}

/// How epsilon changes with the step count.
///
/// # Example
///
/// ```
/// use valuefn::policy::EpsilonSchedule;
///
/// let linear = EpsilonSchedule::Linear { start: 1.0, end: 0.1, steps: 10 };
/// assert!((linear.value(5) - 0.55).abs() < 1e-12);
/// assert!((linear.value(50) - 0.1).abs() < 1e-12);
/// let exp = EpsilonSchedule::Exponential { start: 1.0, end: 0.0, decay: 0.5 };
/// assert_eq!(exp.value(2), 0.25);
/// ```
#[derive(Config, Debug, PartialEq, Copy)]
pub enum EpsilonSchedule {
    /// Always `epsilon`.
    Constant {
        /// Exploration rate in `[0, 1]`.
        epsilon: f64,
    },
    /// From `start` to `end` linearly over `steps` steps, then `end`.
    Linear {
        /// Rate at step 0.
        start: f64,
        /// Rate from step `steps` on.
        end: f64,
        /// Length of the ramp.
        steps: usize,
    },
    /// `end + (start - end) * decay^step`.
    Exponential {
        /// Rate at step 0.
        start: f64,
        /// Limit.
        end: f64,
        /// Factor per step, in `[0, 1]`.
        decay: f64,
    },
}

impl EpsilonSchedule {
    /// Checks that every rate is in `[0, 1]` (and `decay` too).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        match *self {
            EpsilonSchedule::Constant { epsilon } => check_unit_interval("epsilon", epsilon),
            EpsilonSchedule::Linear { start, end, .. } => {
                check_unit_interval("start", start)?;
                check_unit_interval("end", end)
            }
            EpsilonSchedule::Exponential { start, end, decay } => {
                check_unit_interval("start", start)?;
                check_unit_interval("end", end)?;
                check_unit_interval("decay", decay)
            }
        }
    }

    /// Epsilon at `step`.
    pub fn value(&self, step: usize) -> f64 {
        match *self {
            EpsilonSchedule::Constant { epsilon } => epsilon,
            EpsilonSchedule::Linear { start, end, steps } => {
                let progress = if steps == 0 {
                    1.0
                } else {
                    (step as f64 / steps as f64).min(1.0)
                };
                start + (end - start) * progress
            }
            EpsilonSchedule::Exponential { start, end, decay } => {
                end + (start - end) * decay.powi(step.min(i32::MAX as usize) as i32)
            }
        }
    }

    /// The epsilon-greedy selector at `step`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when the schedule is invalid.
    pub fn at(&self, step: usize) -> Result<EpsilonGreedy> {
        self.validate()?;
        EpsilonGreedy::new(self.value(step))
            .map_err(|_| Error::config("epsilon", "in [0, 1]", self.value(step)))
    }
}
