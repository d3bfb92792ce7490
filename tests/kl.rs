//! KL estimators against the exact divergence of small distributions.

use burn::tensor::Tensor;
use proptest::prelude::*;
use valuefn::policy::{KlEstimator, kl_estimates};
use valuefn::tensor_ops::to_vec_f32;

/// Normalised positive weights.
fn distribution(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| w / total).collect()
}

/// The expectation under `p` of each estimator's per-sample value: every outcome is a sample,
/// weighted by its probability, so "unbiased" is checked exactly rather than by sampling.
fn expectation(p: &[f64], q: &[f64], estimator: KlEstimator) -> (f64, Vec<f32>) {
    let device = valuefn::device::default_device();
    let log = |d: &[f64]| {
        let v: Vec<f32> = d.iter().map(|x| x.ln() as f32).collect();
        Tensor::<1>::from_floats(v.as_slice(), &device)
    };
    let samples = to_vec_f32(kl_estimates(log(p), log(q), estimator));
    let mean = samples.iter().zip(p).map(|(&k, &w)| f64::from(k) * w).sum();
    (mean, samples)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn k1_and_k3_are_unbiased_and_k3_k2_never_negative(
        pw in proptest::collection::vec(0.05f64..1.0, 2..6),
        qw in proptest::collection::vec(0.05f64..1.0, 6),
    ) {
        let p = distribution(&pw);
        let q = distribution(&qw[..p.len()]);
        let exact: f64 = p.iter().zip(&q).map(|(a, b)| a * (a / b).ln()).sum();
        for estimator in [KlEstimator::K1, KlEstimator::K3] {
            let (mean, _) = expectation(&p, &q, estimator);
            prop_assert!((mean - exact).abs() < 1e-5, "{estimator:?}: {mean} vs {exact}");
        }
        for estimator in [KlEstimator::K2, KlEstimator::K3] {
            let (_, samples) = expectation(&p, &q, estimator);
            prop_assert!(samples.iter().all(|&k| k >= 0.0), "{estimator:?}: {samples:?}");
        }
        // k1 goes negative wherever q(x) > p(x).
        let (_, k1) = expectation(&p, &q, KlEstimator::K1);
        for ((&k, a), b) in k1.iter().zip(&p).zip(&q) {
            let log_ratio = (b / a).ln();
            if log_ratio.abs() > 1e-4 {
                prop_assert_eq!(k < 0.0, log_ratio > 0.0);
            }
        }
    }
}

#[test]
fn hand_values_and_the_k2_bias() {
    // p = (0.9, 0.1), q = (0.5, 0.5): KL = 0.9 ln 1.8 + 0.1 ln 0.2 = 0.368064.
    let p = [0.9, 0.1];
    let q = [0.5, 0.5];
    let exact = 0.9 * 1.8f64.ln() + 0.1 * 0.2f64.ln();
    assert!((exact - 0.368_064).abs() < 1e-6);
    let (k1, samples) = expectation(&p, &q, KlEstimator::K1);
    assert!((k1 - exact).abs() < 1e-6);
    // Per sample: -ln(0.5 / 0.9) = 0.587787 and -ln(0.5 / 0.1) = -1.609438.
    assert!((f64::from(samples[0]) - 0.587_787).abs() < 1e-5);
    assert!((f64::from(samples[1]) + 1.609_438).abs() < 1e-5);
    // k2's mean: 0.9 * 0.587787^2 / 2 + 0.1 * 1.609438^2 / 2 = 0.284983: biased low here.
    let (k2, _) = expectation(&p, &q, KlEstimator::K2);
    assert!((k2 - 0.284_983).abs() < 1e-5, "{k2}");
    // Identical distributions: every estimate is 0.
    for estimator in [KlEstimator::K1, KlEstimator::K2, KlEstimator::K3] {
        let (mean, samples) = expectation(&p, &p, estimator);
        assert!(mean.abs() < 1e-7 && samples.iter().all(|k| k.abs() < 1e-6));
    }
}
