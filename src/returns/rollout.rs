//! A batch of trajectories, time-major, as the return estimators read it.

use burn::tensor::{Bool, Device, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::returns::Groups;
use crate::tensor_ops::to_vec_f32;

/// Rewards and episode ends of `B` parallel trajectories over `T` steps, **time-major**:
/// entry `(t, b)` is step `t` of trajectory `b`, stored at `t * B + b`.
///
/// Row `t` holds the transition `s_t -> s_{t+1}`: its reward, whether it `terminated` (the
/// MDP ended: no bootstrap), and whether it was `truncated` (cut short, e.g. by a time limit:
/// bootstrap from the true next state). A trajectory may hold several episodes back to back
/// (as a vector environment with automatic reset produces); estimators never carry a return
/// across a step that is terminated or truncated. When both flags are set, termination wins.
///
/// The estimators run their backward recursions on the host (one pass over `T * B` numbers)
/// and return tensors on [`Rollout::device`]: a recursion over `T` is sequential, and `T`
/// tiny kernels cost far more than one transfer on every backend.
///
/// # Example
///
/// ```
/// use valuefn::returns::Rollout;
///
/// let device = valuefn::device::default_device();
/// // T = 2 steps, B = 1 trajectory that terminates on its second step.
/// let rollout = Rollout::new(2, 1, vec![1.0, 2.0], vec![false, true], vec![false, false], &device).unwrap();
/// assert_eq!(rollout.shape(), [2, 1]);
/// assert!(Rollout::new(2, 1, vec![1.0, f32::NAN], vec![false; 2], vec![false; 2], &device).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Rollout {
    steps: usize,
    envs: usize,
    pub(crate) rewards: Vec<f32>,
    pub(crate) terminated: Vec<bool>,
    pub(crate) truncated: Vec<bool>,
    groups: Option<Groups>,
    device: Device,
}

impl Rollout {
    /// A rollout of `steps` x `envs` transitions from host data in time-major order.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when a vector's length is not `steps * envs` (or either is 0);
    /// [`Error::NonFinite`] for a NaN or infinite reward.
    pub fn new(
        steps: usize,
        envs: usize,
        rewards: Vec<f32>,
        terminated: Vec<bool>,
        truncated: Vec<bool>,
        device: &Device,
    ) -> Result<Self> {
        let expected = vec![steps, envs];
        for (what, len) in [
            ("rollout rewards", rewards.len()),
            ("rollout terminated", terminated.len()),
            ("rollout truncated", truncated.len()),
        ] {
            // `checked_mul`: a product that overflows matches no length.
            if steps.checked_mul(envs) != Some(len) || len == 0 {
                return Err(Error::ShapeMismatch {
                    what,
                    expected: expected.clone(),
                    actual: vec![len],
                });
            }
        }
        if let Some(&bad) = rewards.iter().find(|r| !r.is_finite()) {
            return Err(Error::NonFinite {
                what: "reward",
                value: f64::from(bad),
            });
        }
        Ok(Self {
            steps,
            envs,
            rewards,
            terminated,
            truncated,
            groups: None,
            device: device.clone(),
        })
    }

    /// A rollout from `[T, B]` tensors (read back once).
    ///
    /// # Errors
    ///
    /// As [`Rollout::new`], and [`Error::ShapeMismatch`] when the three shapes differ.
    pub fn from_tensors(
        rewards: Tensor<2>,
        terminated: Tensor<2, Bool>,
        truncated: Tensor<2, Bool>,
    ) -> Result<Self> {
        let [steps, envs] = rewards.dims();
        for (what, dims) in [
            ("rollout terminated", terminated.dims()),
            ("rollout truncated", truncated.dims()),
        ] {
            if dims != [steps, envs] {
                return Err(Error::ShapeMismatch {
                    what,
                    expected: vec![steps, envs],
                    actual: dims.to_vec(),
                });
            }
        }
        let device = rewards.device();
        let rewards = to_vec_f32(rewards);
        let flags = |t: Tensor<2, Bool>| t.into_data().iter::<bool>().collect();
        Self::new(
            steps,
            envs,
            rewards,
            flags(terminated),
            flags(truncated),
            &device,
        )
    }

    /// The same rollout with `groups` over its `B` trajectories (which were sampled for the
    /// same prompt), as the group baselines read them ([`crate::returns::group_advantages`]).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when `groups` does not cover exactly `B` trajectories.
    pub fn with_groups(mut self, groups: Groups) -> Result<Self> {
        if groups.len() != self.envs {
            return Err(Error::ShapeMismatch {
                what: "rollout groups (one group index per trajectory)",
                expected: vec![self.envs],
                actual: vec![groups.len()],
            });
        }
        self.groups = Some(groups);
        Ok(self)
    }

    /// The groups of trajectories per prompt, when the collector kept them.
    pub fn groups(&self) -> Option<&Groups> {
        self.groups.as_ref()
    }

    /// `[T, B]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.steps, self.envs]
    }

    /// The rewards, time-major (`[T * B]`, step `t` of trajectory `b` at `t * B + b`).
    pub fn rewards(&self) -> &[f32] {
        &self.rewards
    }

    /// The device the estimators put their results on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Whether step `i` (flat index) ends an episode either way.
    pub(crate) fn done(&self, i: usize) -> bool {
        self.terminated[i] || self.truncated[i]
    }

    /// Whether the recursion must stop at flat index `i`: the episode ended there, or it is the
    /// last row of the rollout (where the caller's next-state value stands in for the rest).
    pub(crate) fn boundary(&self, i: usize) -> bool {
        self.done(i) || i / self.envs == self.steps - 1
    }

    /// Reads values given as a tensor or on the host, checking shape and finiteness.
    pub(crate) fn read_values(&self, what: &'static str, values: Values<'_>) -> Result<Vec<f64>> {
        match values {
            Values::Tensor(tensor) => self.read(what, tensor),
            Values::Host(host) => {
                if host.len() != self.steps * self.envs {
                    return Err(Error::ShapeMismatch {
                        what,
                        expected: self.shape().to_vec(),
                        actual: vec![host.len()],
                    });
                }
                let values: Vec<f64> = host.iter().copied().map(f64::from).collect();
                if let Some(&bad) = values.iter().find(|v| !v.is_finite()) {
                    return Err(Error::NonFinite { what, value: bad });
                }
                Ok(values)
            }
        }
    }

    /// Reads a `[T, B]` tensor of values back, checking its shape and finiteness.
    pub(crate) fn read(&self, what: &'static str, tensor: Tensor<2>) -> Result<Vec<f64>> {
        let dims = tensor.dims();
        if dims != self.shape() {
            return Err(Error::ShapeMismatch {
                what,
                expected: self.shape().to_vec(),
                actual: dims.to_vec(),
            });
        }
        let values: Vec<f64> = to_vec_f32(tensor).into_iter().map(f64::from).collect();
        if let Some(&bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(Error::NonFinite { what, value: bad });
        }
        Ok(values)
    }

    /// Writes host results back as a `[T, B]` tensor on the rollout's device.
    pub(crate) fn tensor(&self, values: Vec<f64>) -> Tensor<2> {
        let data: Vec<f32> = values.into_iter().map(|x| x as f32).collect();
        Tensor::from_data(TensorData::new(data, self.shape()), &self.device)
    }

    /// Solves `y_t = a_t + c_t y_{t+1}` backwards in time for every trajectory, with
    /// `y_T = 0`; `coefficients(i)` gives `(a, c)` at flat index `i` and must return `c = 0`
    /// where the recursion stops.
    pub(crate) fn backward_scan(&self, coefficients: impl Fn(usize) -> (f64, f64)) -> Vec<f64> {
        let mut out = vec![0.0; self.steps * self.envs];
        let mut carry = vec![0.0; self.envs];
        for t in (0..self.steps).rev() {
            for (b, next) in carry.iter_mut().enumerate() {
                let i = t * self.envs + b;
                let (a, c) = coefficients(i);
                *next = a + c * *next;
                out[i] = *next;
            }
        }
        out
    }
}

/// Values an estimator reads: a `[T, B]` tensor (read back once), or the same numbers already
/// in host memory, time-major (entry `t * B + b`), which skips the read-back.
///
/// Every estimator that takes values takes `impl Into<Values>`, so a `Tensor<2>`, a `&[f32]`
/// and a `&Vec<f32>` all work where values are expected.
///
/// # Example
///
/// ```
/// use valuefn::returns::{lambda_returns, Rollout};
/// use valuefn::tensor_ops::{float_tensor, to_vec_f32};
///
/// let device = valuefn::device::default_device();
/// let rollout = Rollout::new(2, 1, vec![1.0, 1.0], vec![false; 2], vec![false; 2], &device)?;
/// let host = vec![0.0f32, 2.0];
/// let from_host = lambda_returns(&rollout, &host, 1.0, 1.0)?;
/// let from_tensor = lambda_returns(&rollout, float_tensor(&[0.0, 2.0], [2, 1], &device), 1.0, 1.0)?;
/// assert_eq!(to_vec_f32(from_host), to_vec_f32(from_tensor));
/// assert!(lambda_returns(&rollout, &[0.0f32][..], 1.0, 1.0).is_err()); // one value for two steps
/// # Ok::<(), valuefn::Error>(())
/// ```
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // an argument, consumed at once: never stored or moved around
pub enum Values<'a> {
    /// A `[T, B]` tensor.
    Tensor(Tensor<2>),
    /// `T * B` values in host memory, time-major.
    Host(&'a [f32]),
}

impl From<Tensor<2>> for Values<'_> {
    fn from(tensor: Tensor<2>) -> Self {
        Values::Tensor(tensor)
    }
}

impl<'a> From<&'a [f32]> for Values<'a> {
    fn from(values: &'a [f32]) -> Self {
        Values::Host(values)
    }
}

impl<'a> From<&'a Vec<f32>> for Values<'a> {
    fn from(values: &'a Vec<f32>) -> Self {
        Values::Host(values)
    }
}
