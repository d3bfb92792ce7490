//! The return estimators against naive per-step loops (written from the closed-form sums, not
//! the recursions), hand-computed cases, and the time-limit bootstrapping check.

mod common;

use burn::tensor::{Bool, Device, Tensor, TensorData};
use common::{RolloutCase as Case, proptest_config};
use proptest::prelude::*;
use valuefn::device::cpu_devices;
use valuefn::returns::*;
use valuefn::tensor_ops::{float_tensor, to_vec_f32};

fn case() -> impl Strategy<Value = Case> {
    (1usize..16, 1usize..5).prop_flat_map(|(steps, envs)| {
        let n = steps * envs;
        (
            prop::collection::vec(-1.0f32..1.0, n),
            // Episode ends: ~15% terminated, ~10% truncated, never both.
            prop::collection::vec(0u8..20, n),
            prop::collection::vec(-2.0f64..2.0, n),
            prop::collection::vec(-2.0f64..2.0, n),
            prop::collection::vec(-1.5f64..1.5, n),
        )
            .prop_map(move |(rewards, ends, values, next_values, log_rhos)| Case {
                steps,
                envs,
                rewards,
                terminated: ends.iter().map(|&e| e < 3).collect(),
                truncated: ends.iter().map(|&e| (3..5).contains(&e)).collect(),
                values,
                next_values,
                log_rhos,
            })
    })
}

impl Case {
    fn at(&self, t: usize, b: usize) -> usize {
        t * self.envs + b
    }

    /// Steps from `t` up to and including the first that ends an episode or the rollout.
    fn horizon(&self, t: usize, b: usize) -> usize {
        (t..self.steps)
            .position(|u| {
                let i = self.at(u, b);
                self.terminated[i] || self.truncated[i] || u == self.steps - 1
            })
            .unwrap()
            + 1
    }

    /// The n-step return as the explicit sum of Sutton and Barto eq. 7.1, `n` capped by the
    /// horizon.
    fn naive_n_step(&self, t: usize, b: usize, n: usize, gamma: f64) -> f64 {
        let m = n.min(self.horizon(t, b));
        let mut g = 0.0;
        for k in 0..m {
            g += gamma.powi(k as i32) * f64::from(self.rewards[self.at(t + k, b)]);
        }
        let last = self.at(t + m - 1, b);
        if !self.terminated[last] {
            g += gamma.powi(m as i32) * self.next_values[last];
        }
        g
    }

    /// The lambda-return as the weighted average of n-step returns (eq. 12.3, truncated form).
    fn naive_lambda(&self, t: usize, b: usize, gamma: f64, lambda: f64) -> f64 {
        let h = self.horizon(t, b);
        let mut g = 0.0;
        for n in 1..h {
            g += (1.0 - lambda) * lambda.powi(n as i32 - 1) * self.naive_n_step(t, b, n, gamma);
        }
        g + lambda.powi(h as i32 - 1) * self.naive_n_step(t, b, h, gamma)
    }

    fn delta(&self, i: usize, gamma: f64) -> f64 {
        let bootstrap = if self.terminated[i] {
            0.0
        } else {
            gamma * self.next_values[i]
        };
        f64::from(self.rewards[i]) + bootstrap - self.values[i]
    }

    /// GAE as the explicit discounted sum of TD errors (eq. 16).
    fn naive_gae(&self, t: usize, b: usize, gamma: f64, lambda: f64) -> f64 {
        (0..self.horizon(t, b))
            .map(|l| (gamma * lambda).powi(l as i32) * self.delta(self.at(t + l, b), gamma))
            .sum()
    }

    /// V-trace target as the explicit product-of-traces sum (Espeholt et al. eq. 1).
    fn naive_vtrace(&self, s: usize, b: usize, config: &VTraceConfig) -> f64 {
        let ratio = |i: usize| self.log_rhos[i].exp();
        let mut v = self.values[self.at(s, b)];
        let mut trace = 1.0;
        for t in s..s + self.horizon(s, b) {
            let i = self.at(t, b);
            v += config.gamma.powi((t - s) as i32)
                * trace
                * ratio(i).min(config.clip_rho)
                * self.delta(i, config.gamma);
            trace *= config.lambda * ratio(i).min(config.clip_c);
        }
        v
    }

    fn every(&self, f: impl Fn(usize, usize) -> f64) -> Vec<f64> {
        (0..self.steps)
            .flat_map(|t| (0..self.envs).map(move |b| (t, b)))
            .map(|(t, b)| f(t, b))
            .collect()
    }
}

/// One row of a one-step batch: reward, terminated, Q(s', .), Q_target(s', .), policy weights.
type Row = (f32, bool, Vec<f64>, Vec<f64>, Vec<f64>);

fn assert_close(name: &str, got: Tensor<2>, want: &[f64]) -> Result<(), TestCaseError> {
    let got = to_vec_f32(got);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        prop_assert!(
            (f64::from(*g) - w).abs() <= 1e-5 * (1.0 + w.abs()),
            "{name}[{i}]: {g} vs {w}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config(96))]

    #[test]
    fn estimators_equal_the_naive_sums(
        case in case(),
        gamma in 0.0..=1.0f64,
        lambda in 0.0..=1.0f64,
        n in 1usize..6,
    ) {
        for (name, device) in cpu_devices() {
            let rollout = case.rollout(&device);
            let next = || case.tensor(&case.next_values, &device);
            let values = || case.tensor(&case.values, &device);

            let g = discounted_returns(&rollout, next(), gamma).unwrap();
            assert_close(&format!("{name} discounted"), g, &case.every(|t, b| case.naive_n_step(t, b, usize::MAX, gamma)))?;

            let g = n_step_targets(&rollout, next(), gamma, n).unwrap();
            assert_close(&format!("{name} {n}-step"), g, &case.every(|t, b| case.naive_n_step(t, b, n, gamma)))?;

            let g = lambda_returns(&rollout, next(), gamma, lambda).unwrap();
            assert_close(&format!("{name} lambda"), g, &case.every(|t, b| case.naive_lambda(t, b, gamma, lambda)))?;

            let out = gae(&rollout, values(), next(), gamma, lambda).unwrap();
            let want = case.every(|t, b| case.naive_gae(t, b, gamma, lambda));
            assert_close(&format!("{name} gae"), out.advantages, &want)?;
            let want_returns: Vec<f64> = want.iter().zip(&case.values).map(|(a, v)| a + v).collect();
            assert_close(&format!("{name} gae returns"), out.returns, &want_returns)?;

            let config = VTraceConfig::new().with_gamma(gamma).with_lambda(lambda).with_clip_rho(1.0).with_clip_c(0.9);
            let out = vtrace(&rollout, values(), next(), case.tensor(&case.log_rhos, &device), &config).unwrap();
            assert_close(&format!("{name} vtrace"), out.targets, &case.every(|s, b| case.naive_vtrace(s, b, &config)))?;
        }
    }

    #[test]
    fn one_step_and_soft_targets_equal_per_row_loops(
        rows in prop::collection::vec((-1.0f32..1.0, any::<bool>(), prop::collection::vec(-3.0f64..3.0, 3), prop::collection::vec(-3.0f64..3.0, 3), prop::collection::vec(0.05f64..1.0, 3)), 1..8),
        gamma in 0.0..=1.0f64,
        tau in 0.05..5.0f64,
    ) {
        let b = rows.len();
        let flat = |pick: &dyn Fn(&Row) -> Vec<f64>| rows.iter().flat_map(pick).collect::<Vec<f64>>();
        let q = flat(&|r| r.2.clone());
        let q_target = flat(&|r| r.3.clone());
        let weights = flat(&|r| { let s: f64 = r.4.iter().sum(); r.4.iter().map(|w| w / s).collect() });
        for (name, device) in cpu_devices() {
            let rewards = || Tensor::<1>::from_data(TensorData::new(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [b]), &device);
            let terminated = || Tensor::<1, Bool>::from_data(TensorData::new(rows.iter().map(|r| r.1).collect::<Vec<_>>(), [b]), &device);
            let m = |v: &[f64]| float_tensor(v, [b, 3], &device);
            let tail = |i: usize, next: f64| f64::from(rows[i].0) + if rows[i].1 { 0.0 } else { gamma * next };
            let row = |v: &[f64], i: usize| v[3 * i..3 * i + 3].to_vec();
            let check = |label: &str, got: Tensor<1>, want: Vec<f64>| -> Result<(), TestCaseError> {
                let got = to_vec_f32(got);
                for (g, w) in got.iter().zip(&want) {
                    prop_assert!((f64::from(*g) - w).abs() < 1e-4 * (1.0 + w.abs()), "{name} {label}: {got:?} vs {want:?}");
                }
                Ok(())
            };
            let max = |v: Vec<f64>| v.into_iter().fold(f64::NEG_INFINITY, f64::max);
            let argmax = |v: Vec<f64>| (0..3).fold(0, |best, a| if v[a] > v[best] { a } else { best });

            check("q-learning", q_learning_targets(rewards(), m(&q), terminated(), gamma).unwrap(),
                (0..b).map(|i| tail(i, max(row(&q, i)))).collect())?;
            check("double-q", double_q_targets(rewards(), m(&q), m(&q_target), terminated(), gamma).unwrap(),
                (0..b).map(|i| tail(i, q_target[3 * i + argmax(row(&q, i))])).collect())?;
            check("expected sarsa", expected_sarsa_targets(rewards(), m(&q), m(&weights), terminated(), gamma).unwrap(),
                (0..b).map(|i| tail(i, (0..3).map(|a| weights[3 * i + a] * q[3 * i + a]).sum())).collect())?;
            let log_w: Vec<f64> = weights.iter().map(|w| w.ln()).collect();
            let soft = |i: usize| tau * (0..3).map(|a| weights[3 * i + a] * (q[3 * i + a] / tau).exp()).sum::<f64>().ln();
            check("soft value", soft_values(m(&q), tau, Some(m(&log_w))).unwrap(), (0..b).map(soft).collect())?;
            check("soft target", soft_q_targets(rewards(), m(&q), terminated(), gamma, tau, Some(m(&log_w))).unwrap(),
                (0..b).map(|i| tail(i, soft(i))).collect())?;
        }
    }
}

fn device() -> Device {
    valuefn::device::default_device()
}

fn one_trajectory(rewards: &[f32], terminated: &[bool], truncated: &[bool]) -> Rollout {
    Rollout::new(
        rewards.len(),
        1,
        rewards.to_vec(),
        terminated.to_vec(),
        truncated.to_vec(),
        &device(),
    )
    .unwrap()
}

fn column(values: &[f64]) -> Tensor<2> {
    float_tensor(values, [values.len(), 1], &device())
}

fn approx(got: Tensor<2>, want: &[f64]) {
    let got = to_vec_f32(got);
    assert!(
        got.iter()
            .zip(want)
            .all(|(g, w)| (f64::from(*g) - w).abs() < 1e-5),
        "{got:?} vs {want:?}"
    );
}

#[test]
fn gae_with_lambda_zero_is_the_td_error() {
    let rollout = one_trajectory(&[1.0, -1.0, 2.0], &[false, false, true], &[false; 3]);
    let (v, next) = ([0.5, 1.0, -0.5], [1.0, -0.5, 7.0]);
    let out = gae(&rollout, column(&v), column(&next), 0.9, 0.0).unwrap();
    // delta_t = r + 0.9 V' - V, no bootstrap at the terminal step
    approx(
        out.advantages,
        &[1.0 + 0.9 * 1.0 - 0.5, -1.0 + 0.9 * -0.5 - 1.0, 2.0 + 0.5],
    );
}

#[test]
fn gae_with_lambda_one_is_the_return_minus_the_value() {
    let rollout = one_trajectory(
        &[1.0, -1.0, 2.0, 3.0],
        &[false, true, false, false],
        &[false, false, false, true],
    );
    let (v, next) = ([0.5, 1.0, -0.5, 0.25], [1.0, 9.0, 0.25, 4.0]);
    let out = gae(&rollout, column(&v), column(&next), 0.5, 1.0).unwrap();
    // Episode 1: returns 1 + 0.5 * -1 = 0.5 and -1. Episode 2 is truncated after step 3:
    // returns 2 + 0.5 * (3 + 0.5 * 4) = 4.5 and 3 + 0.5 * 4 = 5.
    approx(
        out.advantages,
        &[0.5 - 0.5, -1.0 - 1.0, 4.5 + 0.5, 5.0 - 0.25],
    );
    let mc = discounted_returns(&rollout, column(&next), 0.5).unwrap();
    approx(mc, &[0.5, -1.0, 4.5, 5.0]);
}

#[test]
fn n_step_stops_at_episode_ends_before_n() {
    // n = 3, but the first episode terminates after two steps and the second is truncated
    // after one.
    let rollout = one_trajectory(
        &[1.0, 1.0, 1.0, 1.0, 1.0],
        &[false, true, false, false, false],
        &[false, false, true, false, false],
    );
    let next = [10.0, 10.0, 20.0, 30.0, 40.0];
    let g = n_step_targets(&rollout, column(&next), 0.5, 3).unwrap();
    approx(
        g,
        &[
            1.5,
            1.0,
            1.0 + 0.5 * 20.0,
            1.0 + 0.5 + 0.25 * 40.0,
            1.0 + 0.5 * 40.0,
        ],
    );
}

#[test]
fn on_policy_vtrace_is_the_td_lambda_one_return() {
    let rollout = one_trajectory(
        &[1.0, 0.5, -1.0, 2.0],
        &[false, true, false, false],
        &[false; 4],
    );
    let (v, next) = ([0.3, 0.2, 0.1, 0.4], [0.2, 0.0, 0.4, 1.5]);
    let config = VTraceConfig::new().with_gamma(0.9);
    let out = vtrace(
        &rollout,
        column(&v),
        column(&next),
        column(&[0.0; 4]),
        &config,
    )
    .unwrap();
    let td1 = lambda_returns(&rollout, column(&next), 0.9, 1.0).unwrap();
    approx(
        out.targets.clone(),
        &to_vec_f32(td1)
            .iter()
            .map(|&x| f64::from(x))
            .collect::<Vec<_>>(),
    );
    let nstep = n_step_targets(&rollout, column(&next), 0.9, 100).unwrap();
    approx(
        out.targets,
        &to_vec_f32(nstep)
            .iter()
            .map(|&x| f64::from(x))
            .collect::<Vec<_>>(),
    );
}

#[test]
fn soft_value_limits_and_large_q() {
    let d = device();
    let q = || Tensor::<2>::from_floats([[1.0, 2.0, 6.0]], &d);
    let v = |tau: f64, reference: Option<Tensor<2>>| {
        f64::from(to_vec_f32(soft_values(q(), tau, reference).unwrap())[0])
    };
    assert!((v(1e-3, None) - 6.0).abs() < 1e-2, "tau -> 0 gives the max");
    assert!(
        (v(1e3, None) - 3.0).abs() < 1e-2,
        "tau -> infinity gives the mean"
    );
    for tau in [0.1, 1.0, 10.0] {
        let uniform = v(tau, None);
        assert!((3.0..=6.0).contains(&uniform), "between mean and max");
        let unweighted = v(tau, Some(Tensor::zeros([1, 3], &d)));
        assert!((unweighted - uniform - tau * 3f64.ln()).abs() < 1e-4 * (1.0 + unweighted.abs()));
    }
    let big = Tensor::<2>::from_floats([[1e4, 1e4 - 1.0, -1e4]], &d);
    let out = to_vec_f32(soft_values(big, 1.0, None).unwrap())[0];
    let want = 1e4 + (1.0 + (-1.0f64).exp()).ln() - 3f64.ln();
    assert!(
        out.is_finite() && (f64::from(out) - want).abs() < 1e-2,
        "{out} vs {want}"
    );
}

/// Stable-Baselines3's timeout test, in tensor form: reward 1 forever, gamma 0.98, episodes
/// cut by an 8-step time limit. Bootstrapping at the cut recovers the infinite-horizon value
/// 1 / (1 - gamma) = 50; treating the cut as termination learns the value of 8-step episodes.
#[test]
fn truncation_bootstraps_to_the_infinite_horizon_value() {
    let train = |cut_terminates: bool| {
        let (gamma, steps) = (0.98, 8);
        let mut terminated = vec![false; steps];
        let mut truncated = vec![false; steps];
        terminated[steps - 1] = cut_terminates;
        truncated[steps - 1] = !cut_terminates;
        let rollout =
            Rollout::new(steps, 1, vec![1.0; steps], terminated, truncated, &device()).unwrap();
        // A TD(0) critic of the single state, trained on one-step targets of each episode.
        let mut v = 0.0f64;
        for _ in 0..3000 {
            let targets = n_step_targets(&rollout, column(&vec![v; steps]), gamma, 1).unwrap();
            let mean_error: f64 = to_vec_f32(targets)
                .iter()
                .map(|&y| f64::from(y) - v)
                .sum::<f64>()
                / steps as f64;
            v += 0.5 * mean_error;
        }
        v
    };
    let bootstrapped = train(false);
    assert!((bootstrapped - 50.0).abs() < 1.0, "{bootstrapped}");
    let terminated = train(true);
    assert!((terminated - 50.0).abs() > 10.0, "{terminated}");
}

#[test]
fn bad_inputs_are_errors() {
    use valuefn::Error;
    let d = device();
    let rollout = one_trajectory(&[1.0, 1.0], &[false, false], &[false, false]);
    let next = || column(&[0.0, 0.0]);
    assert!(matches!(
        lambda_returns(&rollout, next(), 1.5, 0.5),
        Err(Error::InvalidConfig { field: "gamma", .. })
    ));
    assert!(matches!(
        gae(&rollout, next(), next(), 0.9, -0.1),
        Err(Error::InvalidConfig {
            field: "lambda",
            ..
        })
    ));
    assert!(matches!(
        n_step_targets(&rollout, next(), 0.9, 0),
        Err(Error::InvalidConfig { field: "n", .. })
    ));
    assert!(matches!(
        soft_values(Tensor::zeros([1, 2], &d), 0.0, None),
        Err(Error::InvalidConfig { field: "tau", .. })
    ));
    assert!(matches!(
        vtrace(
            &rollout,
            next(),
            next(),
            next(),
            &VTraceConfig::new().with_clip_c(0.0)
        ),
        Err(Error::InvalidConfig {
            field: "clip_c",
            ..
        })
    ));
    assert_eq!(
        discounted_returns(&rollout, column(&[0.0, 0.0, 0.0]), 0.9).unwrap_err(),
        Error::ShapeMismatch {
            what: "next_values",
            expected: vec![2, 1],
            actual: vec![3, 1]
        }
    );
    assert!(matches!(
        gae(&rollout, column(&[f64::NAN, 0.0]), next(), 0.9, 0.9),
        Err(Error::NonFinite { what: "values", .. })
    ));
    assert!(matches!(
        Rollout::new(
            2,
            1,
            vec![1.0, f32::NAN],
            vec![false; 2],
            vec![false; 2],
            &d
        ),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        Rollout::new(2, 2, vec![1.0; 4], vec![false; 3], vec![false; 4], &d),
        Err(Error::ShapeMismatch { .. })
    ));
    let rewards = Tensor::<1>::from_floats([f32::NAN], &d);
    let terminated = Tensor::<1, Bool>::from_bool(TensorData::from([false]), &d);
    assert!(matches!(
        q_learning_targets(rewards, Tensor::zeros([1, 2], &d), terminated.clone(), 0.9),
        Err(Error::NonFinite { .. })
    ));
    let rewards = Tensor::<1>::from_floats([1.0, 2.0], &d);
    assert!(matches!(
        q_learning_targets(rewards, Tensor::zeros([1, 2], &d), terminated, 0.9),
        Err(Error::ShapeMismatch {
            what: "rewards",
            ..
        })
    ));
}
