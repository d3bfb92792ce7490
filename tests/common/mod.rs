//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

pub mod text_tasks;

use burn::tensor::{Device, Tensor};
use proptest::test_runner::{Config, RngSeed};
use valuefn::returns::Rollout;
use valuefn::tensor_ops::float_tensor;

/// Property-test settings: a capped case count and a fixed seed, so the suite is fast and a
/// failure reproduces on every machine.
pub fn proptest_config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x0076_616c_7565_666e),
        failure_persistence: None,
        ..Config::default()
    }
}

/// `f32` probabilities read back from a model, `actions` per row, each row renormalised in
/// `f64` so the exact solvers accept them as a policy table.
pub fn normalized_rows(probabilities: &[f32], actions: usize) -> Vec<f64> {
    probabilities
        .chunks(actions)
        .flat_map(|row| {
            let sum: f64 = row.iter().map(|&p| f64::from(p)).sum();
            row.iter()
                .map(move |&p| f64::from(p) / sum)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Largest absolute difference between two slices of equal length.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Asserts every cell of `computed` rounds to the published one-decimal `printed` value.
pub fn assert_matches_printed_table(name: &str, computed: &[f64], printed: &[f64]) {
    assert_eq!(computed.len(), printed.len());
    for (cell, (c, p)) in computed.iter().zip(printed).enumerate() {
        assert!(
            (c - p).abs() <= 0.05 + 1e-9,
            "{name}: cell {cell} is {c:.4}, the book prints {p:.1}"
        );
    }
}

/// A time-major rollout on the host (`steps x envs`, row `t` = time step), with the value
/// inputs the estimators take: how tests/returns.rs and tests/backend_parity.rs build inputs.
#[derive(Debug, Clone)]
pub struct RolloutCase {
    pub steps: usize,
    pub envs: usize,
    pub rewards: Vec<f32>,
    pub terminated: Vec<bool>,
    pub truncated: Vec<bool>,
    pub values: Vec<f64>,
    pub next_values: Vec<f64>,
    pub log_rhos: Vec<f64>,
}

impl RolloutCase {
    /// The rollout on `device`.
    pub fn rollout(&self, device: &Device) -> Rollout {
        Rollout::new(
            self.steps,
            self.envs,
            self.rewards.clone(),
            self.terminated.clone(),
            self.truncated.clone(),
            device,
        )
        .unwrap()
    }

    /// `values` as a `[steps, envs]` tensor on `device`.
    pub fn tensor(&self, values: &[f64], device: &Device) -> Tensor<2> {
        float_tensor(values, [self.steps, self.envs], device)
    }
}
