//! Seeded initialisation of linear layers.

use burn::config::Config;
use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, TensorData};
use rand::{Rng, RngExt};

use crate::error::{Result, check_f32_scale};

/// How the weights of a network's linear layers are drawn (from the config's seed).
///
/// # Example
///
/// ```
/// use valuefn::nn::{MlpConfig, WeightInit};
///
/// // Stable-Baselines3's A2C/PPO networks: orthogonal, gain sqrt(2), a 0.01 policy output.
/// let config = MlpConfig::new(4, 2)
///     .with_init(WeightInit::Orthogonal { hidden_gain: 2f64.sqrt() })
///     .with_output_gain(0.01);
/// assert!(config.init(&valuefn::device::default_device()).is_ok());
/// ```
#[derive(Config, Debug, Copy, PartialEq)]
pub enum WeightInit {
    /// PyTorch's `nn.Linear` default: weights and biases uniform in
    /// `[-1/sqrt(d_in), 1/sqrt(d_in)]`; the output layer's are scaled by the output gain.
    Uniform,
    /// Orthogonal weights (Saxe et al. 2014, PyTorch's `orthogonal_`) scaled by `hidden_gain`
    /// on hidden layers and by the output gain on the output layer, biases zero:
    /// Stable-Baselines3's `ortho_init` for A2C and PPO (`hidden_gain` sqrt(2), output 0.01
    /// for a policy, 1 for a value).
    ///
    /// Cost: modified Gram-Schmidt on the host, `O(d_in * d_out * min(d_in, d_out))` per
    /// layer, cubic in the width of a square layer. Widths of a few hundred take milliseconds;
    /// 4096 x 4096 took about 45 s in a debug build (this crate unoptimised), a small fraction
    /// of that in release. Build wide networks in release mode, or use `Uniform` for them.
    Orthogonal {
        /// Gain of the hidden layers (> 0).
        hidden_gain: f64,
    },
}

impl WeightInit {
    pub(crate) fn validate(&self) -> Result<()> {
        match *self {
            WeightInit::Uniform => Ok(()),
            WeightInit::Orthogonal { hidden_gain } => {
                check_f32_scale("init.hidden_gain", hidden_gain)
            }
        }
    }

    /// A `d_input -> d_output` layer; `output` says whether it is the network's last.
    pub(crate) fn linear<R: Rng + ?Sized>(
        &self,
        d_input: usize,
        d_output: usize,
        output_gain: f64,
        output: bool,
        rng: &mut R,
        device: &Device,
    ) -> Linear {
        let (weight, bias) = match *self {
            WeightInit::Uniform => {
                let gain = if output { output_gain } else { 1.0 };
                uniform(d_input, d_output, gain, rng)
            }
            WeightInit::Orthogonal { hidden_gain } => {
                let gain = if output { output_gain } else { hidden_gain };
                (
                    orthogonal(d_input, d_output, gain, rng),
                    vec![0.0; d_output],
                )
            }
        };
        Linear {
            weight: Param::from_data(TensorData::new(weight, [d_input, d_output]), device),
            bias: Some(Param::from_data(TensorData::new(bias, [d_output]), device)),
        }
    }
}

/// Weights `[d_input, d_output]` (row-major) and bias, uniform in `+-gain / sqrt(d_input)`.
fn uniform<R: Rng + ?Sized>(
    d_input: usize,
    d_output: usize,
    gain: f64,
    rng: &mut R,
) -> (Vec<f32>, Vec<f32>) {
    let bound = gain / (d_input as f64).sqrt();
    let mut draw = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32)
            .collect()
    };
    (draw(d_input * d_output), draw(d_output))
}

/// A `[d_input, d_output]` matrix (row-major) whose rows or columns, whichever are fewer, are
/// orthonormal, times `gain`: the Q factor (with a positive diagonal of R, so the
/// distribution is uniform) of a Gaussian matrix, by modified Gram-Schmidt.
fn orthogonal<R: Rng + ?Sized>(
    d_input: usize,
    d_output: usize,
    gain: f64,
    rng: &mut R,
) -> Vec<f32> {
    let (rows, cols) = (d_input.max(d_output), d_input.min(d_output));
    // Column-major tall matrix: column j is `q[j * rows..(j + 1) * rows]`.
    let mut q: Vec<f64> = (0..rows * cols).map(|_| standard_normal(rng)).collect();
    for j in 0..cols {
        for k in 0..j {
            let (done, rest) = q.split_at_mut(j * rows);
            let basis = &done[k * rows..(k + 1) * rows];
            let column = &mut rest[..rows];
            let dot: f64 = basis.iter().zip(column.iter()).map(|(a, b)| a * b).sum();
            column
                .iter_mut()
                .zip(basis)
                .for_each(|(c, b)| *c -= dot * b);
        }
        let column = &mut q[j * rows..(j + 1) * rows];
        let norm = column
            .iter()
            .map(|x| x * x)
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        column.iter_mut().for_each(|x| *x /= norm);
    }
    let mut weight = vec![0.0f32; d_input * d_output];
    for j in 0..cols {
        for i in 0..rows {
            let value = (gain * q[j * rows + i]) as f32;
            // Tall along the input: columns are outputs. Otherwise columns are inputs.
            let (input, output) = if d_input >= d_output { (i, j) } else { (j, i) };
            weight[input * d_output + output] = value;
        }
    }
    weight
}

/// One draw of N(0, 1) by Box-Muller.
pub(crate) fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // in (0, 1]: the log is finite
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn gram(w: &[f32], d_input: usize, d_output: usize, by_output: bool) -> Vec<f64> {
        // Inner products of the columns (outputs) or of the rows (inputs).
        let n = if by_output { d_output } else { d_input };
        let m = if by_output { d_input } else { d_output };
        let at = |a: usize, k: usize| {
            f64::from(if by_output {
                w[k * d_output + a]
            } else {
                w[a * d_output + k]
            })
        };
        let mut g = vec![0.0; n * n];
        for a in 0..n {
            for b in 0..n {
                g[a * n + b] = (0..m).map(|k| at(a, k) * at(b, k)).sum();
            }
        }
        g
    }

    #[test]
    fn orthogonal_weights_have_orthonormal_short_side_times_gain() {
        let mut rng = StdRng::seed_from_u64(3);
        for (d_input, d_output) in [(6, 3), (3, 6), (5, 5)] {
            let w = orthogonal(d_input, d_output, 2.0, &mut rng);
            let by_output = d_input >= d_output;
            let n = d_input.min(d_output);
            let g = gram(&w, d_input, d_output, by_output);
            for a in 0..n {
                for b in 0..n {
                    let expected = if a == b { 4.0 } else { 0.0 };
                    assert!(
                        (g[a * n + b] - expected).abs() < 1e-5,
                        "{d_input}x{d_output}"
                    );
                }
            }
        }
    }

    #[test]
    fn standard_normal_has_unit_variance() {
        let mut rng = StdRng::seed_from_u64(1);
        let draws: Vec<f64> = (0..20_000).map(|_| standard_normal(&mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
    }
}
