//! Actor-critic: losses against hand-computed values, one update of a tabular actor and critic
//! against the textbook gradient step, advantages equal to `returns::gae`, PPO's clipping and
//! early stop, checkpoints, bad input, determinism, and the identity environment solved by A2C
//! and by PPO.

mod common;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use valuefn::Error;
use valuefn::algo::actor_critic::*;
use valuefn::algo::{LearningRateSchedule, OptimizerConfig};
use valuefn::encode::{OneHot, StateIndex};
use valuefn::env::{IdentityEnv, SyncVecEnv};
use valuefn::nn::{CategoricalPolicyConfig, SoftmaxTable, TrainableVTable, VNetworkConfig};
use valuefn::policy::PolicyAndValue;
use valuefn::policy::{LogitsPolicy, entropy, log_prob};
use valuefn::returns::{Rollout, gae};
use valuefn::tensor_ops::{index_tensor, to_vec_f32};
use valuefn::value::VFunction;

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * (1.0 + b.abs())
}

fn t1(values: &[f32], device: &Device) -> Tensor<1> {
    Tensor::from_floats(values, device)
}

// ---------------------------------------------------------------------------------------------
// Losses on a fixed tiny batch, against numbers computed by hand.

#[test]
fn policy_gradient_value_and_entropy_losses_match_hand_values() {
    for (name, device) in valuefn::device::cpu_devices() {
        // log pi = ln 0.5, ln 0.25; A = 2, -4: loss -(2 ln 0.5 - 4 ln 0.25) / 2
        // = -(-2 ln 2 + 8 ln 2) / 2 = -3 ln 2.
        let loss = to_vec_f32(
            policy_gradient_loss(
                t1(&[0.5f32.ln(), 0.25f32.ln()], &device),
                t1(&[2.0, -4.0], &device),
            )
            .unwrap(),
        )[0];
        assert!(
            close(f64::from(loss), -3.0 * 2f64.ln(), 1e-6),
            "{name}: {loss}"
        );
        // (1 - 3)^2 and (0.5 - 0)^2: mean 2.125.
        let loss =
            to_vec_f32(value_loss(t1(&[1.0, 0.5], &device), t1(&[3.0, 0.0], &device)).unwrap())[0];
        assert!(close(f64::from(loss), 2.125, 1e-6), "{name}: {loss}");
        // Entropy of (0.5, 0.25, 0.25) = 1.5 ln 2, and of a near-deterministic row ~ 0.
        let logits = Tensor::<2>::from_floats([[2f32.ln(), 0.0, 0.0], [0.0, 40.0, 0.0]], &device);
        let h = to_vec_f32(entropy(logits.clone()));
        assert!(
            close(f64::from(h[0]), 1.5 * 2f64.ln(), 1e-6),
            "{name}: {h:?}"
        );
        assert!(h[1].abs() < 1e-6, "{name}: {h:?}");
        let lp = to_vec_f32(log_prob(
            logits,
            Tensor::<1, Int>::from_ints([0, 1], &device),
        ));
        assert!(close(f64::from(lp[0]), 0.5f64.ln(), 1e-6) && lp[1].abs() < 1e-6);
    }
}

#[test]
fn clipped_surrogate_at_ratios_inside_and_outside_the_clip_range() {
    let device = valuefn::device::default_device();
    let old = t1(&[0.0; 4], &device);
    // Ratios 1.1 (inside), 1.5 (above), 0.5 (below), 0.7 (below); clip 0.2.
    let ratios = [1.1f32, 1.5, 0.5, 0.7];
    let new = t1(&ratios.map(f32::ln), &device);
    // A > 0 at 1.1: 1.1; A > 0 at 1.5: min(1.5, 1.2) = 1.2; A < 0 at 0.5: min(-0.5, -0.8) =
    // -0.8 (clipped: no gain from lowering further); A > 0 at 0.7: min(0.7, 0.8) = 0.7.
    let advantages = t1(&[1.0, 1.0, -1.0, 1.0], &device);
    let expected = -(1.1 + 1.2 - 0.8 + 0.7) / 4.0;
    let loss = to_vec_f32(
        clipped_surrogate_loss(new.clone(), old.clone(), advantages.clone(), 0.2).unwrap(),
    )[0];
    assert!(
        close(f64::from(loss), expected, 1e-6),
        "{loss} vs {expected}"
    );
    // Three of the four ratios lie outside [0.8, 1.2].
    let fraction = to_vec_f32(clip_fraction(new.clone(), old.clone(), 0.2).unwrap())[0];
    assert!(close(f64::from(fraction), 0.75, 1e-6), "{fraction}");
    // A huge clip range gives back the plain importance-weighted objective.
    let loss =
        to_vec_f32(clipped_surrogate_loss(new.clone(), old.clone(), advantages, 10.0).unwrap())[0];
    assert!(close(f64::from(loss), -(1.1 + 1.5 - 0.5 + 0.7) / 4.0, 1e-6));
    // approx KL (k3): mean(r - 1 - ln r).
    let kl: f64 = ratios
        .iter()
        .map(|&r| f64::from(r) - 1.0 - f64::from(r).ln())
        .sum::<f64>()
        / 4.0;
    let got = to_vec_f32(approx_kl(new, old).unwrap())[0];
    assert!(close(f64::from(got), kl, 1e-5), "{got} vs {kl}");
}

#[test]
fn value_clipping_takes_the_larger_error() {
    let device = valuefn::device::default_device();
    // Old values 0; new values 1 (beyond clip 0.2), 0.1 (inside), -1 (beyond); returns 2, 2, -3.
    // Row 1: clipped 0.2 -> (0.2-2)^2 = 3.24 > (1-2)^2 = 1 -> 3.24.
    // Row 2: inside, both (0.1-2)^2 = 3.61.
    // Row 3: clipped -0.2 -> (-0.2+3)^2 = 7.84 > (-1+3)^2 = 4 -> 7.84.
    let loss = to_vec_f32(
        clipped_value_loss(
            t1(&[1.0, 0.1, -1.0], &device),
            t1(&[0.0, 0.0, 0.0], &device),
            t1(&[2.0, 2.0, -3.0], &device),
            0.2,
        )
        .unwrap(),
    )[0];
    assert!(
        close(f64::from(loss), (3.24 + 3.61 + 7.84) / 3.0, 1e-5),
        "{loss}"
    );
    // Moving toward the target within the clip: the unclipped error wins when it is larger.
    // Old 0, new 0.5, return -1: clipped 0.2 -> 1.44; unclipped 2.25.
    let loss = to_vec_f32(
        clipped_value_loss(
            t1(&[0.5], &device),
            t1(&[0.0], &device),
            t1(&[-1.0], &device),
            0.2,
        )
        .unwrap(),
    )[0];
    assert!(close(f64::from(loss), 2.25, 1e-6), "{loss}");
}

#[test]
fn advantage_normalisation_and_explained_variance() {
    let device = valuefn::device::default_device();
    let out = to_vec_f32(normalize_advantages(t1(&[1.0, 2.0, 3.0], &device)));
    // Mean 2, unbiased std 1.
    for (got, want) in out.iter().zip([-1.0, 0.0, 1.0]) {
        assert!((got - want).abs() < 1e-6, "{out:?}");
    }
    assert_eq!(
        to_vec_f32(normalize_advantages(t1(&[5.0], &device))),
        vec![5.0]
    );
    // Residuals 1, -1 around returns 0, 4 (variance 4): 1 - 1/4.
    assert!(close(
        explained_variance(&[-1.0, 5.0], &[0.0, 4.0]).unwrap(),
        0.75,
        1e-12
    ));
    assert!(
        explained_variance(&[1.0, 2.0], &[3.0, 3.0])
            .unwrap()
            .is_nan()
    );
    // Mismatched lengths used to compare only the common prefix (and could print 1.0).
    let err = explained_variance(&[1.0, 2.0], &[1.0, 2.0, 9.0]).unwrap_err();
    assert!(
        err.to_string()
            .contains("predictions (one per return): expected [3], got [2]"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// One update of a tabular actor and critic, against the gradient step computed by hand.

/// Three states, two actions; logits and values chosen so that nothing is symmetric.
const LOGITS: [f32; 6] = [0.0, 1.0, 2.0, 0.0, 0.0, 0.0];
const VALUES: [f32; 3] = [0.5, -1.0, 2.0];

/// T = 2 steps of B = 2 copies, time-major:
/// row 0 (t0, b0): s 0, a 0, r 1, s' 1
/// row 1 (t0, b1): s 1, a 1, r 0, s' 2
/// row 2 (t1, b0): s 1, a 1, r 2, s' 2   (the rollout ends: bootstrap from V(2))
/// row 3 (t1, b1): s 2, a 0, r -1, s' 0  (terminated)
fn tabular_batch(device: &Device) -> RolloutBatch<Tensor<1, Int>> {
    RolloutBatch {
        observations: index_tensor(&[0, 1, 1, 2], device),
        actions: index_tensor(&[0, 1, 1, 0], device),
        next_observations: index_tensor(&[1, 2, 2, 0], device),
        rollout: Rollout::new(
            2,
            2,
            vec![1.0, 0.0, 2.0, -1.0],
            vec![false, false, false, true],
            vec![false; 4],
            device,
        )
        .unwrap(),
        mask: None,
        scores: None,
    }
}

const STATES: [usize; 4] = [0, 1, 1, 2];
const ACTIONS: [usize; 4] = [0, 1, 1, 0];

/// Returns with gamma 0.9 and lambda 1, by hand: copy 0 gets 2 + 0.9 V(2) = 3.8 at t1 and
/// 1 + 0.9 * 3.8 = 4.42 at t0; copy 1 gets -1 at t1 (terminated) and 0.9 * -1 = -0.9 at t0.
const RETURNS: [f64; 4] = [4.42, -0.9, 3.8, -1.0];

fn softmax(row: &[f32]) -> Vec<f64> {
    let max = row.iter().copied().fold(f32::MIN, f32::max);
    let e: Vec<f64> = row.iter().map(|&x| f64::from(x - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

fn tabular_updater(
    config: ActorCriticConfig,
    device: &Device,
) -> ActorCritic<PolicyAndValue<SoftmaxTable, TrainableVTable>> {
    let train = device.clone().autodiff();
    ActorCritic::new(
        config,
        PolicyAndValue::new(
            SoftmaxTable::from_logits(3, 2, &LOGITS, &train).unwrap(),
            TrainableVTable::from_values(&VALUES, &train).unwrap(),
        ),
    )
    .unwrap()
}

#[test]
fn a2c_step_on_tables_is_the_textbook_gradient_step() {
    let (actor_lr, critic_lr, value_coef, entropy_coef) = (0.3, 0.7, 0.5, 0.1);
    let config = ActorCriticConfig::new()
        .with_gamma(0.9)
        .with_max_grad_norm(None)
        .with_value_coef(value_coef)
        .with_entropy_coef(entropy_coef)
        .with_actor_optimizer(OptimizerConfig::Sgd)
        .with_critic_optimizer(OptimizerConfig::Sgd)
        .with_actor_learning_rate(LearningRateSchedule::Constant { rate: actor_lr })
        .with_critic_learning_rate(LearningRateSchedule::Constant { rate: critic_lr });
    for (name, device) in valuefn::device::cpu_devices() {
        let mut updater = tabular_updater(config.clone(), &device);
        let stats = updater.update(&tabular_batch(&device)).unwrap();

        let n = 4.0;
        let pi: Vec<Vec<f64>> = LOGITS.chunks(2).map(softmax).collect();
        let advantages: Vec<f64> = (0..4)
            .map(|i| RETURNS[i] - f64::from(VALUES[STATES[i]]))
            .collect();
        let entropy_of = |s: usize| -pi[s].iter().map(|p| p * p.ln()).sum::<f64>();
        let policy_loss = -(0..4)
            .map(|i| advantages[i] * pi[STATES[i]][ACTIONS[i]].ln())
            .sum::<f64>()
            / n;
        let value_loss = (0..4)
            .map(|i| (f64::from(VALUES[STATES[i]]) - RETURNS[i]).powi(2))
            .sum::<f64>()
            / n;
        let mean_entropy = (0..4).map(|i| entropy_of(STATES[i])).sum::<f64>() / n;
        assert!(
            close(stats.policy_loss, policy_loss, 1e-5),
            "{name}: {stats:?}"
        );
        assert!(
            close(stats.value_loss, value_loss, 1e-5),
            "{name}: {stats:?}"
        );
        assert!(
            close(stats.entropy, mean_entropy, 1e-5),
            "{name}: {stats:?}"
        );
        assert_eq!((stats.approx_kl, stats.clip_fraction), (0.0, 0.0));
        assert_eq!(stats.gradient_steps, 1);

        // d loss / d theta[s, b] = (1/N) sum_{i: s_i = s} [ -A_i (1[b = a_i] - pi_b)
        //                            + c_H pi_b (ln pi_b + H(s)) ]
        let mut logits = LOGITS.map(f64::from);
        for i in 0..4 {
            let s = STATES[i];
            for b in 0..2 {
                let p = pi[s][b];
                let indicator = if b == ACTIONS[i] { 1.0 } else { 0.0 };
                let grad =
                    -advantages[i] * (indicator - p) + entropy_coef * p * (p.ln() + entropy_of(s));
                logits[s * 2 + b] -= actor_lr * grad / n;
            }
        }
        // d loss / d V[s] = c_V (2/N) sum_{i: s_i = s} (V[s] - R_i)
        let mut values = VALUES.map(f64::from);
        for i in 0..4 {
            let s = STATES[i];
            values[s] -= critic_lr * value_coef * 2.0 * (f64::from(VALUES[s]) - RETURNS[i]) / n;
        }
        let got_logits = updater.actor().to_logits();
        let got_values = updater.critic().to_vtable().to_vec();
        for (k, (got, want)) in got_logits.iter().zip(logits).enumerate() {
            assert!(
                close(f64::from(*got), want, 1e-5),
                "{name}: logit {k}: {got} vs {want}"
            );
        }
        for (s, (got, want)) in got_values.iter().zip(values).enumerate() {
            assert!(close(*got, want, 1e-5), "{name}: V[{s}]: {got} vs {want}");
        }
    }
}

/// [`tabular_batch`] with a third copy whose two steps are padding (masked out), holding
/// `junk` state, action and reward.
fn tabular_batch_with_padding(
    junk: (usize, usize, f32),
    device: &Device,
) -> RolloutBatch<Tensor<1, Int>> {
    let (s, a, r) = junk;
    RolloutBatch {
        observations: index_tensor(&[0, 1, s, 1, 2, s], device),
        actions: index_tensor(&[0, 1, a, 1, 0, a], device),
        next_observations: index_tensor(&[1, 2, s, 2, 0, s], device),
        rollout: Rollout::new(
            2,
            3,
            vec![1.0, 0.0, r, 2.0, -1.0, r],
            vec![false, false, true, false, true, true],
            vec![false; 6],
            device,
        )
        .unwrap(),
        mask: Some(vec![true, true, false, true, true, false]),
        scores: None,
    }
}

#[test]
fn masked_transitions_change_nothing() {
    // Padding left out of the losses, statistics and normalisation: the update equals the one
    // on the real transitions alone, whatever the padding holds.
    let device = valuefn::device::default_device();
    let config = ActorCriticConfig::new()
        .with_gamma(0.9)
        .with_actor_optimizer(OptimizerConfig::Sgd)
        .with_critic_optimizer(OptimizerConfig::Sgd);
    let state = |updater: &ActorCritic<PolicyAndValue<SoftmaxTable, TrainableVTable>>| {
        let mut out = updater.actor().to_logits();
        out.extend(
            updater
                .critic()
                .to_vtable()
                .to_vec()
                .iter()
                .map(|&v| v as f32),
        );
        out
    };
    let mut plain = tabular_updater(config.clone(), &device);
    let expected = plain.update(&tabular_batch(&device)).unwrap();
    for junk in [(0, 0, 100.0), (2, 1, -50.0)] {
        let mut padded = tabular_updater(config.clone(), &device);
        let stats = padded
            .update(&tabular_batch_with_padding(junk, &device))
            .unwrap();
        for (got, want) in [
            (stats.policy_loss, expected.policy_loss),
            (stats.value_loss, expected.value_loss),
            (stats.entropy, expected.entropy),
            (stats.explained_variance, expected.explained_variance),
        ] {
            assert!(close(got, want, 1e-6), "{stats:?} vs {expected:?}");
        }
        for (got, want) in state(&padded).iter().zip(state(&plain)) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }
    // A mask of the wrong length or with nothing left is an error.
    let mut updater = tabular_updater(config, &device);
    let mut bad = tabular_batch_with_padding((0, 0, 0.0), &device);
    bad.mask = Some(vec![true; 5]);
    assert!(matches!(
        updater.update(&bad),
        Err(Error::ShapeMismatch { .. })
    ));
    bad.mask = Some(vec![false; 6]);
    assert!(matches!(updater.update(&bad), Err(Error::Empty { .. })));
}

#[test]
fn advantages_are_returns_gae_of_the_critic_values() {
    let device = valuefn::device::default_device();
    for lambda in [0.0, 0.5, 1.0] {
        let config = ActorCriticConfig::new()
            .with_gamma(0.9)
            .with_advantage(AdvantageEstimator::Gae { lambda });
        let updater = tabular_updater(config, &device);
        let batch = tabular_batch(&device);
        let got = updater.advantages(&batch).unwrap();
        let v: Vec<f32> = STATES.iter().map(|&s| VALUES[s]).collect();
        let next: Vec<f32> = [1, 2, 2, 0].iter().map(|&s| VALUES[s]).collect();
        let want = gae(&batch.rollout, &v, &next, 0.9, lambda).unwrap();
        assert_eq!(to_vec_f32(got.advantages), to_vec_f32(want.advantages));
        assert_eq!(to_vec_f32(got.returns), to_vec_f32(want.returns.clone()));
        if lambda == 1.0 {
            for (got, want) in to_vec_f32(want.returns).iter().zip(RETURNS) {
                assert!(close(f64::from(*got), want, 1e-6));
            }
        }
    }
    // n-step: with n = 1, targets r + gamma V(s'), advantages target - V(s).
    let config = ActorCriticConfig::new()
        .with_gamma(0.9)
        .with_advantage(AdvantageEstimator::NStep { n: 1 });
    let got = tabular_updater(config, &device)
        .advantages(&tabular_batch(&device))
        .unwrap();
    // V = 0.5, -1, 2: r + 0.9 V(s') with s' = 1, 2, 2 and a terminated last row.
    let want = [1.0 - 0.9, 0.9 * 2.0, 2.0 + 0.9 * 2.0, -1.0];
    for (i, (r, w)) in to_vec_f32(got.returns).iter().zip(want).enumerate() {
        assert!(close(f64::from(*r), w, 1e-6), "row {i}: {r} vs {w}");
    }
}

#[test]
fn separate_optimisers_step_each_network_with_its_own_rate() {
    // Same batch and config, critic rate doubled: the actor ends identical, the critic's step
    // doubles (SGD: the step is linear in the rate).
    let device = valuefn::device::default_device();
    let base = ActorCriticConfig::new()
        .with_gamma(0.9)
        .with_max_grad_norm(None)
        .with_actor_optimizer(OptimizerConfig::Sgd)
        .with_critic_optimizer(OptimizerConfig::Sgd);
    let run = |critic_rate: f64| {
        let config = base
            .clone()
            .with_critic_learning_rate(LearningRateSchedule::Constant { rate: critic_rate });
        let mut updater = tabular_updater(config, &device);
        updater.update(&tabular_batch(&device)).unwrap();
        (
            updater.actor().to_logits(),
            updater.critic().to_vtable().to_vec(),
        )
    };
    let (actor_a, critic_a) = run(0.1);
    let (actor_b, critic_b) = run(0.2);
    assert_eq!(actor_a, actor_b);
    for s in 0..3 {
        let step_a = critic_a[s] - f64::from(VALUES[s]);
        let step_b = critic_b[s] - f64::from(VALUES[s]);
        assert!(
            close(step_b, 2.0 * step_a, 1e-5),
            "state {s}: {step_a} {step_b}"
        );
    }
}

#[test]
fn gradient_clipping_caps_the_joint_norm() {
    // Plain SGD with rate 1 moves the parameters by exactly the (clipped) gradient: its
    // global norm over both tables must be the cap.
    let device = valuefn::device::default_device();
    let config = ActorCriticConfig::new()
        .with_gamma(0.9)
        .with_max_grad_norm(Some(0.01))
        .with_actor_optimizer(OptimizerConfig::Sgd)
        .with_critic_optimizer(OptimizerConfig::Sgd)
        .with_actor_learning_rate(LearningRateSchedule::Constant { rate: 1.0 })
        .with_critic_learning_rate(LearningRateSchedule::Constant { rate: 1.0 });
    let mut updater = tabular_updater(config, &device);
    let stats = updater.update(&tabular_batch(&device)).unwrap();
    assert!(stats.grad_norm.unwrap() > 0.01);
    let moved: f64 = updater
        .actor()
        .to_logits()
        .iter()
        .zip(LOGITS)
        .map(|(a, b)| f64::from(a - b).powi(2))
        .chain(
            updater
                .critic()
                .to_vtable()
                .to_vec()
                .iter()
                .zip(VALUES)
                .map(|(a, b)| (a - f64::from(b)).powi(2)),
        )
        .sum::<f64>()
        .sqrt();
    assert!(close(moved, 0.01, 1e-3), "{moved}");
}

// ---------------------------------------------------------------------------------------------
// PPO

fn identity_networks(
    seed: u64,
    device: &Device,
) -> (valuefn::nn::CategoricalPolicy, valuefn::nn::VNetwork) {
    let train = device.clone().autodiff();
    (
        CategoricalPolicyConfig::new(4, 4)
            .with_hidden(vec![32])
            .with_seed(seed)
            .init(&train)
            .unwrap(),
        VNetworkConfig::new(4)
            .with_hidden(vec![32])
            .with_seed(seed + 1)
            .init(&train)
            .unwrap(),
    )
}

/// A rollout of the identity environment with uniformly random actions, on one-hot inputs.
fn identity_batch(
    steps: usize,
    envs: usize,
    seed: u64,
    device: &Device,
) -> RolloutBatch<Tensor<2>> {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let len = steps * envs;
    let states: Vec<usize> = (0..len + envs).map(|_| rng.random_range(0..4)).collect();
    let actions: Vec<usize> = (0..len).map(|_| rng.random_range(0..4)).collect();
    let rewards = (0..len)
        .map(|i| if actions[i] == states[i] { 1.0 } else { 0.0 })
        .collect();
    let encoder = OneHot::new(4);
    use valuefn::encode::ObservationEncoder;
    RolloutBatch {
        observations: encoder.encode(&states[..len], device).unwrap(),
        actions: index_tensor(&actions, device),
        next_observations: encoder.encode(&states[envs..], device).unwrap(),
        rollout: Rollout::new(
            steps,
            envs,
            rewards,
            vec![false; len],
            vec![false; len],
            device,
        )
        .unwrap(),
        mask: None,
        scores: None,
    }
}

#[test]
fn ppo_runs_epochs_of_minibatches_and_target_kl_stops_it() {
    let device = valuefn::device::default_device();
    let batch = identity_batch(16, 4, 3, &device);
    let ppo = PpoConfig::new().with_epochs(3).with_minibatch_size(24);
    let config = ActorCriticConfig::new()
        .with_actor_optimizer(OptimizerConfig::ADAM)
        .with_critic_optimizer(OptimizerConfig::ADAM)
        .with_actor_learning_rate(LearningRateSchedule::Constant { rate: 0.05 })
        .with_ppo(Some(ppo.clone()));
    let (actor, critic) = identity_networks(0, &device);
    let mut updater = ActorCritic::new(config.clone(), PolicyAndValue::new(actor, critic)).unwrap();
    let stats = updater.update(&batch).unwrap();
    // 64 rows in minibatches of 24: 24, 24, 16 per epoch.
    assert_eq!(stats.gradient_steps, 9);
    assert!(!stats.stopped_early);
    assert!(
        stats.approx_kl > 0.0 && stats.clip_fraction > 0.0,
        "{stats:?}"
    );

    let (actor, critic) = identity_networks(0, &device);
    let tight = config.with_ppo(Some(ppo.with_target_kl(Some(1e-6))));
    let mut updater = ActorCritic::new(tight, PolicyAndValue::new(actor, critic)).unwrap();
    let stats = updater.update(&batch).unwrap();
    // The first minibatch has KL 0 and steps; the second sees the change and stops.
    assert!(stats.stopped_early, "{stats:?}");
    assert_eq!(stats.gradient_steps, 1);
    assert_eq!(updater.gradient_steps(), 1);
}

#[test]
fn first_ppo_minibatch_has_ratio_one() {
    // Before any step the policy is the rollout's: KL and clip fraction are exactly 0 and the
    // surrogate equals the policy-gradient loss in value.
    let device = valuefn::device::default_device();
    let batch = identity_batch(4, 2, 5, &device);
    let config = ActorCriticConfig::new()
        .with_normalize_advantage(true)
        .with_ppo(Some(PpoConfig::new().with_epochs(1).with_minibatch_size(8)));
    let (actor, critic) = identity_networks(1, &device);
    let scored =
        ActorCritic::new(config, PolicyAndValue::new(actor.clone(), critic.clone())).unwrap();
    let advantages = scored.advantages(&batch).unwrap().advantages.reshape([8]);
    let log_probs = log_prob(
        actor.valid().logits(batch.observations.clone()).unwrap(),
        batch.actions.clone(),
    );
    let normalized = normalize_advantages(advantages);
    let surrogate = to_vec_f32(
        clipped_surrogate_loss(
            log_probs.clone(),
            log_probs.clone(),
            normalized.clone(),
            0.2,
        )
        .unwrap(),
    )[0];
    let mean_advantage = to_vec_f32(normalized.mean())[0];
    // Ratio 1: the surrogate is -mean(A).
    assert!((surrogate + mean_advantage).abs() < 1e-6);
    let mut updater = scored;
    let stats = updater.update(&batch).unwrap();
    assert_eq!((stats.approx_kl, stats.clip_fraction), (0.0, 0.0));
    assert!(
        close(stats.policy_loss, -f64::from(mean_advantage), 1e-5),
        "{stats:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Checkpoints, bad input, determinism

fn parameters<P, V>(updater: &ActorCritic<PolicyAndValue<P, V>>, device: &Device) -> Vec<f32>
where
    P: Module + LogitsPolicy<Input = Tensor<2>>,
    V: Module + VFunction<Input = Tensor<2>>,
{
    let probe = OneHot::new(4);
    use valuefn::encode::ObservationEncoder;
    let x = probe.encode(&[0, 1, 2, 3], device).unwrap();
    let mut out = to_vec_f32(updater.actor().logits(x.clone()).unwrap());
    out.extend(to_vec_f32(updater.critic().values(x).unwrap()));
    out
}

#[test]
fn checkpoint_round_trip_continues_exactly() {
    for (name, device) in valuefn::device::cpu_devices() {
        let config = ActorCriticConfig::new()
            .with_actor_optimizer(OptimizerConfig::ADAM)
            .with_ppo(Some(
                PpoConfig::new().with_epochs(2).with_minibatch_size(16),
            ));
        let (actor, critic) = identity_networks(2, &device);
        let mut original = ActorCritic::new(config, PolicyAndValue::new(actor, critic)).unwrap();
        original.update(&identity_batch(8, 4, 1, &device)).unwrap();
        let dir = std::env::temp_dir().join(format!("valuefn-ac-checkpoint-{name}"));
        original.save(&dir).unwrap();
        let (actor, critic) = identity_networks(99, &device);
        let mut loaded = ActorCritic::load(&dir, PolicyAndValue::new(actor, critic)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(loaded.updates(), 1);
        assert_eq!(loaded.gradient_steps(), original.gradient_steps());
        assert_eq!(loaded.config(), original.config());
        assert_eq!(parameters(&loaded, &device), parameters(&original, &device));
        // The next update (optimiser moments, minibatch order) is the same on both.
        let batch = identity_batch(8, 4, 2, &device);
        let a = original.update(&batch).unwrap();
        let b = loaded.update(&batch).unwrap();
        assert_eq!(a, b, "{name}");
        assert_eq!(
            parameters(&loaded, &device),
            parameters(&original, &device),
            "{name}"
        );
    }
}

#[test]
fn loading_a_checkpoint_into_the_wrong_architecture_is_an_error() {
    let device = valuefn::device::default_device();
    let (actor, critic) = identity_networks(0, &device);
    let updater =
        ActorCritic::new(ActorCriticConfig::new(), PolicyAndValue::new(actor, critic)).unwrap();
    let dir = std::env::temp_dir().join("valuefn-ac-checkpoint-wrong");
    updater.save(&dir).unwrap();
    let train = device.clone().autodiff();
    let wide = CategoricalPolicyConfig::new(4, 4)
        .with_hidden(vec![64])
        .init(&train)
        .unwrap();
    let (_, critic) = identity_networks(0, &device);
    let err = ActorCritic::load(&dir, PolicyAndValue::new(wide, critic)).unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
    let (actor, critic) = identity_networks(0, &device);
    assert!(matches!(
        ActorCritic::load(&dir, PolicyAndValue::new(actor, critic)).unwrap_err(),
        Error::Checkpoint { .. }
    ));
}

#[test]
fn bad_input_is_an_error_and_changes_nothing() {
    let device = valuefn::device::default_device();
    let (actor, critic) = identity_networks(0, &device);
    let config = ActorCriticConfig::new().with_actor_optimizer(OptimizerConfig::ADAM);
    let mut updater = ActorCritic::new(config, PolicyAndValue::new(actor, critic)).unwrap();
    let before = parameters(&updater, &device);
    let good = identity_batch(4, 2, 0, &device);

    // An action outside the space.
    let mut bad = good.clone();
    bad.actions = index_tensor(&[0, 1, 2, 3, 4, 0, 1, 2], &device);
    assert!(matches!(
        updater.update(&bad).unwrap_err(),
        Error::InvalidAction { .. }
    ));
    // Fewer actions than transitions.
    let mut bad = good.clone();
    bad.actions = index_tensor(&[0, 1], &device);
    assert!(matches!(
        updater.update(&bad).unwrap_err(),
        Error::ShapeMismatch { .. }
    ));
    // Observations of the wrong width.
    let mut bad = good.clone();
    bad.observations = Tensor::zeros([8, 3], &device);
    bad.next_observations = Tensor::zeros([8, 3], &device);
    assert!(matches!(
        updater.update(&bad).unwrap_err(),
        Error::ShapeMismatch { .. }
    ));
    // NaN observations: the critic's values are not finite.
    let mut bad = good.clone();
    bad.observations = Tensor::full([8, 4], f32::NAN, &device);
    assert!(matches!(
        updater.update(&bad).unwrap_err(),
        Error::NonFinite { .. }
    ));
    // A NaN reward never makes it into a rollout.
    assert!(matches!(
        Rollout::new(1, 1, vec![f32::NAN], vec![false], vec![false], &device).unwrap_err(),
        Error::NonFinite { .. }
    ));
    assert_eq!(parameters(&updater, &device), before);
    assert_eq!((updater.updates(), updater.gradient_steps()), (0, 0));
    // And the same updater still works.
    updater.update(&good).unwrap();
    assert_ne!(parameters(&updater, &device), before);
}

#[test]
fn an_error_in_a_later_epoch_rolls_everything_back() {
    // PPO over several minibatches where the first is fine and a later one is not: a huge
    // critic rate sends the critic's parameters to infinity after the first step, and the next
    // minibatch's value loss is not finite. Networks, optimisers and counters roll back.
    let device = valuefn::device::default_device();
    let (actor, critic) = identity_networks(0, &device);
    let config = ActorCriticConfig::new()
        .with_max_grad_norm(None)
        .with_actor_optimizer(OptimizerConfig::Sgd)
        .with_critic_optimizer(OptimizerConfig::Sgd)
        .with_critic_learning_rate(LearningRateSchedule::Constant { rate: 1e38 })
        .with_ppo(Some(PpoConfig::new().with_epochs(4).with_minibatch_size(4)));
    let mut updater = ActorCritic::new(config, PolicyAndValue::new(actor, critic)).unwrap();
    let before = parameters(&updater, &device);
    let batch = identity_batch(4, 2, 0, &device);
    let err = updater.update(&batch).unwrap_err();
    assert!(matches!(err, Error::NonFinite { .. }), "{err}");
    assert_eq!(parameters(&updater, &device), before);
    assert_eq!((updater.updates(), updater.gradient_steps()), (0, 0));
}

#[test]
fn configs_refuse_bad_values() {
    let bad = [
        ActorCriticConfig::new().with_gamma(1.5),
        ActorCriticConfig::new().with_advantage(AdvantageEstimator::Gae { lambda: -0.1 }),
        ActorCriticConfig::new().with_advantage(AdvantageEstimator::NStep { n: 0 }),
        ActorCriticConfig::new().with_value_coef(f64::NAN),
        ActorCriticConfig::new().with_entropy_coef(-1.0),
        ActorCriticConfig::new().with_max_grad_norm(Some(0.0)),
        ActorCriticConfig::new().with_actor_optimizer(OptimizerConfig::RmsProp {
            alpha: 1.0,
            epsilon: 1e-5,
        }),
        ActorCriticConfig::new().with_critic_optimizer(OptimizerConfig::Adam { epsilon: 0.0 }),
        ActorCriticConfig::new()
            .with_actor_learning_rate(LearningRateSchedule::Constant { rate: 0.0 }),
        ActorCriticConfig::new().with_critic_learning_rate(LearningRateSchedule::Linear {
            start: 1e-3,
            end: -1.0,
            steps: 10,
        }),
        ActorCriticConfig::new().with_ppo(Some(PpoConfig::new().with_clip_range(0.0))),
        ActorCriticConfig::new().with_ppo(Some(PpoConfig::new().with_clip_range(-0.2))),
        ActorCriticConfig::new().with_ppo(Some(PpoConfig::new().with_epochs(0))),
        ActorCriticConfig::new().with_ppo(Some(PpoConfig::new().with_minibatch_size(0))),
        ActorCriticConfig::new().with_ppo(Some(PpoConfig::new().with_clip_range_value(Some(0.0)))),
        ActorCriticConfig::new().with_ppo(Some(PpoConfig::new().with_target_kl(Some(-1.0)))),
    ];
    let device = valuefn::device::default_device();
    for config in bad {
        let (actor, critic) = identity_networks(0, &device);
        let err = ActorCritic::new(config.clone(), PolicyAndValue::new(actor, critic)).unwrap_err();
        assert!(
            matches!(err, Error::InvalidConfig { .. }),
            "{config:?}: {err}"
        );
    }
    // A saved config that its constructor refuses does not load.
    let json = serde_json::to_string(&ActorCriticConfig::new().with_gamma(2.0)).unwrap();
    let parsed: ActorCriticConfig = serde_json::from_str(&json).unwrap();
    assert!(parsed.validate().is_err());

    for config in [
        ActorCriticTrainConfig::new().with_n_steps(0),
        ActorCriticTrainConfig::new().with_total_steps(0),
        ActorCriticTrainConfig::new().with_eval_max_steps(0),
    ] {
        assert!(matches!(
            config.validate().unwrap_err(),
            Error::InvalidConfig { .. }
        ));
    }
    // Zero environment copies.
    assert!(SyncVecEnv::<IdentityEnv>::new(vec![]).is_err());
    assert!(IdentityEnv::new(0, 10).is_err() && IdentityEnv::new(3, 0).is_err());
    // Tables of zero size, or of more entries than the limit.
    assert!(SoftmaxTable::zeros(0, 2, &device).is_err());
    assert!(matches!(
        SoftmaxTable::zeros(1 << 20, 1 << 20, &device).unwrap_err(),
        Error::TooLarge { .. }
    ));
    assert!(SoftmaxTable::from_logits(2, 2, &[0.0; 3], &device).is_err());
    assert!(TrainableVTable::from_values(&[f32::NAN], &device).is_err());
}

// ---------------------------------------------------------------------------------------------
// Learning

type IdentityModel = PolicyAndValue<valuefn::nn::CategoricalPolicy, valuefn::nn::VNetwork>;

/// A2C (or PPO) on 8 copies of the identity environment with `train`'s loop settings.
fn run_identity(
    ppo: bool,
    seed: u64,
    train: &ActorCriticTrainConfig,
) -> (ActorCritic<IdentityModel>, ActorCriticReport<IdentityModel>) {
    let device = valuefn::device::default_device();
    let (actor, critic) = identity_networks(seed, &device);
    let config = if ppo {
        ActorCriticConfig::new()
            .with_actor_optimizer(OptimizerConfig::ADAM)
            .with_critic_optimizer(OptimizerConfig::ADAM)
            .with_actor_learning_rate(LearningRateSchedule::Constant { rate: 3e-3 })
            .with_critic_learning_rate(LearningRateSchedule::Constant { rate: 3e-3 })
            .with_normalize_advantage(true)
            .with_ppo(Some(
                PpoConfig::new().with_epochs(4).with_minibatch_size(64),
            ))
    } else {
        ActorCriticConfig::new()
            .with_actor_learning_rate(LearningRateSchedule::Constant { rate: 3e-3 })
            .with_critic_learning_rate(LearningRateSchedule::Constant { rate: 3e-3 })
    }
    .with_gamma(0.0)
    .with_seed(seed);
    let mut updater = ActorCritic::new(config, PolicyAndValue::new(actor, critic)).unwrap();
    let mut envs =
        SyncVecEnv::new((0..8).map(|_| IdentityEnv::new(4, 50).unwrap()).collect()).unwrap();
    let mut eval = IdentityEnv::new(4, 50).unwrap();
    let report = train_actor_critic(
        train,
        &mut updater,
        &mut envs,
        Some(&mut eval),
        &OneHot::new(4),
        &device,
    )
    .unwrap();
    (updater, report)
}

fn train_identity(ppo: bool, seed: u64) -> (f64, Vec<ActorCriticMetrics>) {
    let train = ActorCriticTrainConfig::new()
        .with_n_steps(if ppo { 16 } else { 5 })
        .with_total_steps(6_000)
        .with_seed(seed)
        .with_eval_episodes(4)
        .with_progress_bar(false);
    let (_, report) = run_identity(ppo, seed, &train);
    let per_step = report.evaluations.last().unwrap().1 / 50.0;
    (per_step, report.metrics)
}

#[test]
fn a2c_solves_the_identity_environment() {
    // Seed 0; 6k steps; greedy reward per step over 4 evaluation episodes of 50 steps.
    let (reward, _) = train_identity(false, 0);
    eprintln!("A2C identity reward {reward}");
    assert!(reward >= 0.9, "A2C: {reward}");
}

#[test]
fn ppo_solves_the_identity_environment() {
    let (reward, _) = train_identity(true, 0);
    eprintln!("PPO identity reward {reward}");
    assert!(reward >= 0.9, "PPO: {reward}");
}

#[test]
fn same_seed_same_metrics() {
    let strip = |metrics: Vec<ActorCriticMetrics>| -> Vec<ActorCriticMetrics> {
        metrics
            .into_iter()
            .map(|mut m| {
                m.steps_per_second = 0.0;
                m
            })
            .collect()
    };
    let (_, a) = train_identity(true, 3);
    let (_, b) = train_identity(true, 3);
    assert_eq!(strip(a.clone()), strip(b));
    let (_, c) = train_identity(true, 4);
    assert_ne!(strip(a), strip(c));
}

#[test]
fn training_on_tables_with_state_indices() {
    // The same loop runs a table actor and critic on index inputs: the identity environment
    // with a softmax table learns the identity map exactly.
    let device = valuefn::device::default_device();
    let train = device.clone().autodiff();
    let config = ActorCriticConfig::new()
        .with_gamma(0.0)
        .with_actor_optimizer(OptimizerConfig::Sgd)
        .with_critic_optimizer(OptimizerConfig::Sgd)
        .with_max_grad_norm(None)
        .with_actor_learning_rate(LearningRateSchedule::Constant { rate: 2.0 })
        .with_critic_learning_rate(LearningRateSchedule::Constant { rate: 2.0 });
    let mut updater = ActorCritic::new(
        config,
        PolicyAndValue::new(
            SoftmaxTable::zeros(4, 4, &train).unwrap(),
            TrainableVTable::zeros(4, &train).unwrap(),
        ),
    )
    .unwrap();
    let mut envs =
        SyncVecEnv::new((0..8).map(|_| IdentityEnv::new(4, 20).unwrap()).collect()).unwrap();
    let report = train_actor_critic(
        &ActorCriticTrainConfig::new()
            .with_total_steps(4_000)
            .with_progress_bar(false),
        &mut updater,
        &mut envs,
        None,
        &StateIndex::new(4),
        &device,
    )
    .unwrap();
    assert!(report.evaluations.is_empty());
    let policy = updater.actor().to_policy_table();
    for s in 0..4 {
        assert!(policy.probability(s, s) > 0.9, "state {s}: {policy:?}");
    }
    // With gamma 0 the value of a state is the probability of copying it.
    let v = updater.critic().to_vtable().to_vec();
    for s in 0..4 {
        assert!((v[s] - policy.probability(s, s)).abs() < 0.1, "{v:?}");
    }
}

/// The loop keeps the best evaluated model beside the last one: `best` is the first of the
/// highest evaluations, and `best_model` evaluated again on the same episodes scores exactly
/// that; the last model is the updater's own.
#[test]
fn the_training_loop_keeps_the_best_evaluated_model() {
    let device = valuefn::device::default_device();
    let train = ActorCriticTrainConfig::new()
        .with_n_steps(5)
        .with_total_steps(3_000)
        .with_eval_every(400)
        .with_seed(3)
        .with_eval_episodes(2)
        .with_progress_bar(false);
    let (updater, report) = run_identity(false, 3, &train);
    let mut eval = IdentityEnv::new(4, 50).unwrap();
    assert!(report.evaluations.len() >= 7, "{:?}", report.evaluations);
    let top = report
        .evaluations
        .iter()
        .map(|&(_, r)| r)
        .fold(f64::MIN, f64::max);
    let first_top = *report.evaluations.iter().find(|&&(_, r)| r == top).unwrap();
    assert_eq!(report.best, Some(first_top));
    // The evaluation episodes are seeded `seed + 2^32 + k`.
    let mut again = |model: &IdentityModel| {
        let returns = evaluate_actor(
            model,
            &mut eval,
            &OneHot::new(4),
            2,
            100_000,
            3 + (1 << 32),
            &device,
        )
        .unwrap();
        returns.iter().sum::<f64>() / returns.len() as f64
    };
    let best_model = report.best_model.as_ref().expect("a best model");
    assert_eq!(again(best_model), first_top.1);
    assert_eq!(
        again(&updater.model().valid()),
        report.evaluations.last().unwrap().1
    );
    assert_eq!(report.updates, 3_000 / 40);
    assert_eq!(report.gradient_steps, report.updates);
}

#[test]
fn a_rollout_too_large_to_allocate_is_refused_before_the_run_starts() {
    let device = valuefn::device::default_device();
    let (actor, critic) = identity_networks(0, &device);
    let mut updater =
        ActorCritic::new(ActorCriticConfig::new(), PolicyAndValue::new(actor, critic)).unwrap();
    let mut envs =
        SyncVecEnv::new((0..8).map(|_| IdentityEnv::new(4, 50).unwrap()).collect()).unwrap();
    let train = ActorCriticTrainConfig::new()
        .with_n_steps(1 << 30)
        .with_progress_bar(false);
    let err = train_actor_critic(
        &train,
        &mut updater,
        &mut envs,
        None,
        &OneHot::new(4),
        &device,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "rollout transitions (n_steps x copies): 8589934592 is beyond the limit of 268435456"
    );
    assert_eq!(updater.updates(), 0);
}

#[test]
fn losses_refuse_columns_of_other_lengths_an_empty_batch_and_a_bad_clip_range() {
    let device = valuefn::device::default_device();
    let (two, one) = (t1(&[0.1, 0.2], &device), t1(&[1.0], &device));
    // A single advantage used to broadcast over every log-probability.
    let err = policy_gradient_loss(two.clone(), one.clone()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "shape mismatch for advantages: expected [2], got [1]"
    );
    assert!(matches!(
        value_loss(two.clone(), one.clone()),
        Err(Error::ShapeMismatch {
            what: "returns",
            ..
        })
    ));
    assert!(matches!(
        clipped_surrogate_loss(two.clone(), two.clone(), one.clone(), 0.2),
        Err(Error::ShapeMismatch {
            what: "advantages",
            ..
        })
    ));
    assert!(matches!(
        clipped_value_loss(two.clone(), one.clone(), two.clone(), 0.2),
        Err(Error::ShapeMismatch {
            what: "old_values",
            ..
        })
    ));
    assert!(matches!(
        approx_kl(two.clone(), one.clone()),
        Err(Error::ShapeMismatch { .. })
    ));
    let empty = t1(&[], &device);
    assert!(matches!(
        clip_fraction(empty.clone(), empty, 0.2),
        Err(Error::Empty { .. })
    ));
    for bad in [-0.1, f64::NAN] {
        assert!(matches!(
            clipped_surrogate_loss(two.clone(), two.clone(), two.clone(), bad),
            Err(Error::InvalidConfig {
                field: "clip_range",
                ..
            })
        ));
    }
    // An infinite range means no clipping.
    let none = clip_fraction(two.clone(), two, f64::INFINITY).unwrap();
    assert_eq!(to_vec_f32(none), vec![0.0]);
}
