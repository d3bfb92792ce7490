//! Action and observation spaces: what values are legal, and how to draw one at random.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A set of values an environment accepts or produces.
pub trait Space {
    /// The type of one element of the space.
    type Element;

    /// Draws an element at random (uniformly where the space is bounded).
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Self::Element;

    /// Whether `element` belongs to the space.
    fn contains(&self, element: &Self::Element) -> bool;
}

/// The integers `0..n`: the action space of every tabular environment and of a token vocabulary.
///
/// # Example
///
/// ```
/// use rand::SeedableRng;
/// use valuefn::space::{Discrete, Space};
///
/// let space = Discrete::new(4).unwrap();
/// assert!(space.contains(&3));
/// assert!(!space.contains(&4));
/// let a = space.sample(&mut rand::rngs::StdRng::seed_from_u64(0));
/// assert!(a < 4);
/// assert!(Discrete::new(0).is_err());
/// assert!(serde_json::from_str::<Discrete>(r#"{"n": 0}"#).is_err()); // serde checks too
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "DiscreteFields")]
pub struct Discrete {
    n: usize,
}

/// The serialized form of [`Discrete`], checked by [`Discrete::new`] on the way in.
#[derive(Deserialize)]
struct DiscreteFields {
    n: usize,
}

impl TryFrom<DiscreteFields> for Discrete {
    type Error = Error;

    fn try_from(f: DiscreteFields) -> Result<Self> {
        Self::new(f.n)
    }
}

/// The serialized form of [`BoxSpace`], checked by [`BoxSpace::new`] on the way in.
#[derive(Deserialize)]
struct BoxSpaceFields {
    low: Vec<f32>,
    high: Vec<f32>,
}

impl TryFrom<BoxSpaceFields> for BoxSpace {
    type Error = Error;

    fn try_from(f: BoxSpaceFields) -> Result<Self> {
        Self::new(f.low, f.high)
    }
}

impl Discrete {
    /// The space `0..n`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] when `n` is zero.
    pub fn new(n: usize) -> Result<Self> {
        if n == 0 {
            return Err(Error::config("n", "at least 1", n));
        }
        Ok(Self { n })
    }

    /// Number of elements.
    pub fn n(&self) -> usize {
        self.n
    }

    /// `Ok(x)` when `x` is in the space, else [`Error::InvalidAction`] naming both.
    pub fn check_action(&self, x: usize) -> Result<usize> {
        if x < self.n {
            Ok(x)
        } else {
            Err(Error::action(x, self))
        }
    }
}

impl Space for Discrete {
    type Element = usize;

    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        rng.random_range(0..self.n)
    }

    fn contains(&self, element: &usize) -> bool {
        *element < self.n
    }
}

/// A box in `R^d`: each coordinate within `[low[i], high[i]]`; bounds may be infinite.
///
/// Sampling follows Gymnasium's `Box`: uniform on bounded coordinates, standard normal on
/// coordinates unbounded on both sides, and `bound ± Exp(1)` on half-bounded ones.
///
/// # Example
///
/// ```
/// use rand::SeedableRng;
/// use valuefn::space::{BoxSpace, Space};
///
/// let space = BoxSpace::new(vec![-1.0, 0.0], vec![1.0, f32::INFINITY]).unwrap();
/// let x = space.sample(&mut rand::rngs::StdRng::seed_from_u64(7));
/// assert!(space.contains(&x));
/// assert!(!space.contains(&vec![2.0, 0.0]));
/// assert!(!space.contains(&vec![0.0]));
/// assert!(BoxSpace::new(vec![1.0], vec![0.0]).is_err());
/// ```
///
/// Deserializing runs the checks of [`BoxSpace::new`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BoxSpaceFields")]
pub struct BoxSpace {
    low: Vec<f32>,
    high: Vec<f32>,
}

impl BoxSpace {
    /// The box with the given bounds.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the bound vectors differ in length or are empty;
    /// [`Error::InvalidConfig`] when a bound is NaN, `low[i] > high[i]`, or a coordinate's
    /// interval is empty of real numbers (`low[i] = +inf` or `high[i] = -inf`).
    pub fn new(low: Vec<f32>, high: Vec<f32>) -> Result<Self> {
        if low.len() != high.len() || low.is_empty() {
            return Err(Error::ShapeMismatch {
                what: "BoxSpace bounds (low, high)",
                expected: vec![low.len().max(1)],
                actual: vec![high.len()],
            });
        }
        for (l, h) in low.iter().zip(&high) {
            if l.is_nan() || h.is_nan() || l > h {
                return Err(Error::config(
                    "low/high",
                    "non-NaN with low <= high",
                    format!("[{l}, {h}]"),
                ));
            }
            // [inf, inf] holds no real number: sampling would return a point outside it.
            if *l == f32::INFINITY || *h == f32::NEG_INFINITY {
                return Err(Error::config(
                    "low/high",
                    "low < +inf and high > -inf (a box with a coordinate only at infinity is empty)",
                    format!("[{l}, {h}]"),
                ));
            }
        }
        Ok(Self { low, high })
    }

    /// Lower bounds.
    pub fn low(&self) -> &[f32] {
        &self.low
    }

    /// Upper bounds.
    pub fn high(&self) -> &[f32] {
        &self.high
    }

    /// Number of coordinates.
    pub fn dim(&self) -> usize {
        self.low.len()
    }
}

impl Space for BoxSpace {
    type Element = Vec<f32>;

    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f32> {
        self.low
            .iter()
            .zip(&self.high)
            .map(|(&l, &h)| match (l.is_finite(), h.is_finite()) {
                (true, true) if l == h => l,
                // A box as wide as f32's range has a width that overflows to infinity.
                (true, true) if !(h - l).is_finite() => {
                    let u: f32 = rng.random();
                    (l * (1.0 - u) + h * u).clamp(l, h)
                }
                (true, true) => rng.random_range(l..=h),
                (true, false) => l + exponential(rng),
                (false, true) => h - exponential(rng),
                (false, false) => standard_normal(rng),
            })
            .collect()
    }

    fn contains(&self, element: &Vec<f32>) -> bool {
        element.len() == self.low.len()
            && element
                .iter()
                .zip(self.low.iter().zip(&self.high))
                .all(|(x, (l, h))| l <= x && x <= h)
    }
}

/// Exp(1) by inversion.
fn exponential<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    let u: f32 = rng.random();
    -(1.0 - u).ln()
}

/// N(0, 1) by Box-Muller.
fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    let u1: f32 = 1.0 - rng.random::<f32>();
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn discrete_samples_cover_the_space_uniformly() {
        let space = Discrete::new(5).unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let mut counts = [0usize; 5];
        for _ in 0..5000 {
            counts[space.sample(&mut rng)] += 1;
        }
        for c in counts {
            assert!((900..1100).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn check_action_names_the_action_and_space() {
        let err = Discrete::new(3).unwrap().check_action(7).unwrap_err();
        assert_eq!(
            err.to_string(),
            "action 7 is outside the action space Discrete { n: 3 }"
        );
    }

    #[test]
    fn box_samples_stay_inside_and_unbounded_coordinates_spread() {
        let space = BoxSpace::new(vec![-2.0, f32::NEG_INFINITY], vec![3.0, f32::INFINITY]).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        let xs: Vec<_> = (0..2000).map(|_| space.sample(&mut rng)).collect();
        assert!(xs.iter().all(|x| space.contains(x)));
        let mean: f32 = xs.iter().map(|x| x[1]).sum::<f32>() / 2000.0;
        let var: f32 = xs.iter().map(|x| (x[1] - mean).powi(2)).sum::<f32>() / 2000.0;
        assert!(
            mean.abs() < 0.1 && (var - 1.0).abs() < 0.15,
            "mean {mean} var {var}"
        );
    }

    #[test]
    fn box_rejects_mismatched_or_inverted_bounds() {
        assert!(matches!(
            BoxSpace::new(vec![0.0], vec![1.0, 2.0]),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            BoxSpace::new(vec![f32::NAN], vec![1.0]),
            Err(Error::InvalidConfig { .. })
        ));
    }
}
