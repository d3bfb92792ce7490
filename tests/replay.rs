//! Replay memories: the sum tree and prioritized sampling against their probabilities
//! (Pearson chi-square tests), importance weights computed by hand, n-step transitions against
//! `returns::n_step_targets` on random trajectories, and the uniform buffer's storage, sampling
//! and validation.

mod common;

use burn::tensor::{Bool, Tensor};
use common::proptest_config;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use valuefn::Error;
use valuefn::device::{cpu_devices, default_device};
use valuefn::replay::{
    EnvStep, NStepCollector, PrioritizedConfig, PrioritizedReplay, Replay, ReplayBuffer,
    ReplayConfig, RowReplay, SampledBatch, SumTree, Transition,
};
use valuefn::returns::{Rollout, n_step_targets};
use valuefn::tensor_ops::{float_tensor, to_indices, to_vec_f32};

// Upper 0.1% points of the chi-square distribution (significance level 0.001): a correct
// sampler fails a test with probability 0.1% per seed, and the seeds are fixed. Values from the
// NIST/SEMATECH e-Handbook table 1.3.6.7.4, checked by bisection on the closed-form survival
// function (df 5: Q(x) = erfc(sqrt(x/2)) + sqrt(2x/pi) e^(-x/2) (1 + x/3); df 9: the same
// series to x^4; Q(20.515) = Q_9(27.877) = 0.001 to 4 digits).
const CHI2_0_001_DF5: f64 = 20.515;
const CHI2_0_001_DF9: f64 = 27.877;

/// Pearson's statistic `sum (O - E)^2 / E` of `counts` against `probabilities * draws`.
fn chi_square(counts: &[usize], probabilities: &[f64]) -> f64 {
    let draws: usize = counts.iter().sum();
    counts
        .iter()
        .zip(probabilities)
        .map(|(&o, &p)| {
            let e = p * draws as f64;
            (o as f64 - e).powi(2) / e
        })
        .sum()
}

fn bools(tensor: Tensor<1, Bool>) -> Vec<bool> {
    tensor.into_data().iter::<bool>().collect()
}

fn flag(config: Result<impl std::fmt::Debug, Error>) -> &'static str {
    match config {
        Err(Error::InvalidConfig { field, .. }) => field,
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------- sum tree

#[test]
fn sum_tree_sampling_frequencies_match_priorities() {
    // 7 leaves (padded to 8), one of priority 0.
    let priorities = [1.0, 0.0, 3.0, 2.0, 4.0, 0.5, 7.0];
    let mut tree = SumTree::new(priorities.len()).unwrap();
    for (i, &p) in priorities.iter().enumerate() {
        tree.update(i, p).unwrap();
    }
    let total = tree.total();
    assert_eq!(total, 17.5);
    let mut rng = StdRng::seed_from_u64(7);
    let mut counts = [0usize; 7];
    for _ in 0..50_000 {
        counts[tree.find(rng.random::<f64>() * total).unwrap()] += 1;
    }
    assert_eq!(counts[1], 0, "a zero-priority leaf was found");
    let positive: Vec<usize> = (0..7).filter(|&i| i != 1).collect();
    let observed: Vec<usize> = positive.iter().map(|&i| counts[i]).collect();
    let expected: Vec<f64> = positive.iter().map(|&i| priorities[i] / total).collect();
    let statistic = chi_square(&observed, &expected);
    assert!(
        statistic < CHI2_0_001_DF5,
        "chi-square {statistic} (df 5), counts {counts:?}"
    );
}

#[test]
fn sum_tree_total_tracks_updates() {
    let mut tree = SumTree::new(13).unwrap();
    let mut naive = [0.0f64; 13];
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..2_000 {
        let (i, p) = (rng.random_range(0..13), rng.random::<f64>() * 10.0);
        tree.update(i, p).unwrap();
        naive[i] = p;
        assert!((tree.total() - naive.iter().sum::<f64>()).abs() < 1e-9);
        assert_eq!(tree.get(i), Some(p));
    }
    for i in 0..13 {
        tree.update(i, 0.0).unwrap();
    }
    assert_eq!(tree.total(), 0.0); // recomputed from children: no residue of old sums
}

#[test]
fn sum_tree_find_on_boundaries() {
    let mut tree = SumTree::new(4).unwrap();
    for (i, p) in [1.0, 2.0, 0.0, 3.0].into_iter().enumerate() {
        tree.update(i, p).unwrap();
    }
    // Leaf 0 covers [0, 1), leaf 1 [1, 3), leaf 2 nothing, leaf 3 [3, 6).
    for (prefix, leaf) in [
        (0.0, 0),
        (0.999, 0),
        (1.0, 1),
        (2.999, 1),
        (3.0, 3),
        (5.999, 3),
        (6.0, 3), // at the total: the last positive leaf
        (1e9, 3),
    ] {
        assert_eq!(tree.find(prefix).unwrap(), leaf, "prefix {prefix}");
    }
    assert!(matches!(tree.find(-0.1), Err(Error::InvalidConfig { .. })));
    assert!(matches!(tree.find(f64::NAN), Err(Error::NonFinite { .. })));
    let empty = SumTree::new(3).unwrap();
    assert!(matches!(empty.find(0.0), Err(Error::Empty { .. })));
}

#[test]
fn sum_tree_refuses_bad_priorities_and_stays_unchanged() {
    let mut tree = SumTree::new(3).unwrap();
    tree.update(1, 2.0).unwrap();
    let before = tree.clone();
    assert!(matches!(
        tree.update(1, -1.0),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        tree.update(1, f64::NAN),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        tree.update(1, f64::INFINITY),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        tree.update(3, 1.0),
        Err(Error::InvalidConfig { field: "index", .. })
    ));
    assert_eq!(tree, before);
    assert!(SumTree::new(0).is_err());
}

// ------------------------------------------------------------------------------- prioritized

fn push_scalars(memory: &mut impl RowReplay, xs: &[f32]) {
    for &x in xs {
        memory
            .push(Transition::one_step(
                &[x],
                0,
                f64::from(x),
                &[x],
                false,
                0.9,
            ))
            .unwrap();
    }
}

#[test]
fn prioritized_new_transitions_get_the_max_priority() {
    let config = PrioritizedConfig::new().with_alpha(0.6);
    let mut per = PrioritizedReplay::new(&ReplayConfig::new(4, 1, 1), &config).unwrap();
    push_scalars(&mut per, &[0.0, 1.0, 2.0]);
    assert!((0..3).all(|i| per.priority(i) == Some(1.0))); // the maximum before any update
    per.update_priorities(&[0, 1, 2], &[3.0, -0.5, 0.0])
        .unwrap();
    let top = (3.0f64 + 1e-6).powf(0.6);
    assert!((per.priority(0).unwrap() - top).abs() < 1e-12);
    assert!((per.priority(1).unwrap() - (0.5f64 + 1e-6).powf(0.6)).abs() < 1e-12);
    push_scalars(&mut per, &[3.0]);
    assert_eq!(per.priority(3), per.priority(0));
    // The maximum is the largest ever set: lowering slot 0 does not lower it, and a push that
    // overwrites slot 0 (the ring is full) gets it.
    per.update_priorities(&[0], &[0.0]).unwrap();
    push_scalars(&mut per, &[4.0]);
    assert_eq!(per.get(0).unwrap().observation, &[4.0]);
    assert!((per.priority(0).unwrap() - top).abs() < 1e-12);
}

#[test]
fn prioritized_sampling_follows_updated_priorities() {
    let (alpha, epsilon) = (0.6, 1e-6);
    let config = PrioritizedConfig::new()
        .with_alpha(alpha)
        .with_epsilon(epsilon);
    let mut per = PrioritizedReplay::new(&ReplayConfig::new(8, 1, 1), &config).unwrap();
    push_scalars(&mut per, &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    let td_errors = [0.05f32, 0.5, -1.0, 2.0, -3.0, 0.1];
    per.update_priorities(&[0, 1, 2, 3, 4, 5], &td_errors)
        .unwrap();
    let p: Vec<f64> = td_errors
        .iter()
        .map(|&d| (f64::from(d).abs() + epsilon).powf(alpha))
        .collect();
    let total: f64 = p.iter().sum();
    let probabilities: Vec<f64> = p.iter().map(|x| x / total).collect();

    let device = default_device();
    let mut rng = StdRng::seed_from_u64(11);
    let mut counts = [0usize; 6];
    for _ in 0..4_000 {
        for i in per.sample(6, &device, &mut rng).unwrap().indices {
            counts[i] += 1;
        }
    }
    // Stratified draws are less variable than independent ones, so the statistic is, if
    // anything, smaller than chi-square: the test stays valid (and conservative).
    let statistic = chi_square(&counts, &probabilities);
    assert!(
        statistic < CHI2_0_001_DF5,
        "chi-square {statistic} (df 5), counts {counts:?}, expected {probabilities:?}"
    );
}

#[test]
fn prioritized_weights_match_a_hand_computed_case() {
    // alpha = 1, epsilon = 0.5: td errors 0.5, 1.5, 4.5 give priorities exactly 1, 2, 5 (total
    // 8, N = 3), so P = 1/8, 2/8, 5/8 and w_i = (N P_i)^-beta =
    //   beta = 0.5: (3/8)^-0.5, (6/8)^-0.5, (15/8)^-0.5 = 1.632993, 1.154701, 0.730297;
    //   beta = 1:   8/3, 4/3, 8/15                     = 2.666667, 1.333333, 0.533333.
    // A batch of 3 splits [0, 8) into thirds: the first draws slot 0 or 1, the second slot 1
    // or 2, the third slot 2. Each row's weight is w_i over the largest w in its batch, so a
    // batch with slot 0 weighs 1, 0.707107, 0.447214 (beta 0.5), one without it 1, 0.632456.
    let raw = [
        (0.0, [1.632_993, 1.154_701, 0.730_297]),
        (1.0, [8.0 / 3.0, 4.0 / 3.0, 8.0 / 15.0]),
    ];
    let config = PrioritizedConfig::new()
        .with_alpha(1.0)
        .with_epsilon(0.5)
        .with_beta_start(0.5)
        .with_beta_end(1.0);
    for (name, device) in cpu_devices() {
        let mut per = PrioritizedReplay::new(&ReplayConfig::new(3, 1, 1), &config).unwrap();
        push_scalars(&mut per, &[0.0, 1.0, 2.0]);
        per.update_priorities(&[0, 1, 2], &[0.5, -1.5, 4.5])
            .unwrap();
        assert_eq!(
            (0..3).map(|i| per.priority(i).unwrap()).collect::<Vec<_>>(),
            [1.0, 2.0, 5.0]
        );
        let mut rng = StdRng::seed_from_u64(5);
        for (progress, w) in raw {
            per.set_progress(progress);
            let (mut with_slot_0, mut without) = (false, false);
            for _ in 0..40 {
                let SampledBatch { batch, indices } = per.sample(3, &device, &mut rng).unwrap();
                assert_eq!(indices[2], 2, "{name}");
                let max = indices.iter().map(|&i| w[i]).fold(0.0, f64::max);
                let weights = to_vec_f32(batch.weights);
                for (&got, &i) in weights.iter().zip(&indices) {
                    let expected = w[i] / max;
                    assert!(
                        (f64::from(got) - expected).abs() < 1e-5,
                        "{name}: {weights:?} for {indices:?}"
                    );
                }
                with_slot_0 |= indices.contains(&0);
                without |= !indices.contains(&0);
            }
            assert!(
                with_slot_0 && without,
                "{name}: both batch kinds should occur"
            );
        }
    }
}

#[test]
fn prioritized_beta_anneals_to_one() {
    let mut per =
        PrioritizedReplay::new(&ReplayConfig::new(2, 1, 1), &PrioritizedConfig::new()).unwrap();
    assert_eq!(per.beta(), 0.4);
    per.set_progress(0.25);
    assert!((per.beta() - 0.55).abs() < 1e-12);
    per.set_progress(1.0);
    assert_eq!(per.beta(), 1.0);
    per.set_progress(f64::NAN); // ignored
    assert_eq!(per.beta(), 1.0);
    per.set_progress(-2.0); // clamped
    assert_eq!(per.beta(), 0.4);
}

#[test]
fn prioritized_bad_updates_change_nothing() {
    let mut per =
        PrioritizedReplay::new(&ReplayConfig::new(4, 1, 1), &PrioritizedConfig::new()).unwrap();
    push_scalars(&mut per, &[0.0, 1.0, 2.0]);
    let before: Vec<_> = (0..3).map(|i| per.priority(i)).collect();
    assert!(matches!(
        per.update_priorities(&[0, 1], &[1.0]),
        Err(Error::ShapeMismatch { .. })
    ));
    // The first pair is valid, the second is not: neither is applied.
    assert_eq!(flag(per.update_priorities(&[0, 3], &[5.0, 1.0])), "indices");
    assert!(matches!(
        per.update_priorities(&[0, 1], &[5.0, f32::NAN]),
        Err(Error::NonFinite { .. })
    ));
    assert_eq!((0..3).map(|i| per.priority(i)).collect::<Vec<_>>(), before);
    assert_eq!(per.priority(3), None);
    assert_eq!(
        flag(PrioritizedReplay::new(
            &ReplayConfig::new(4, 1, 1),
            &PrioritizedConfig::new().with_alpha(2.0)
        )),
        "alpha"
    );
}

// ------------------------------------------------------------------------------------ n-step

/// A time-major trajectory of `envs` copies over `steps` steps, pushed in a random interleaving
/// (`order` lists the copy of each push; copy `b`'s k-th push is its step k).
#[derive(Debug, Clone)]
struct Trajectory {
    steps: usize,
    envs: usize,
    n: usize,
    gamma: f64,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    /// `V(s_{t+1})` of each step, carried in its next observation.
    next_values: Vec<f32>,
    order: Vec<usize>,
}

fn trajectory() -> impl Strategy<Value = Trajectory> {
    (1usize..10, 1usize..=3, 1usize..=5, 0.0f64..=1.0).prop_flat_map(|(steps, envs, n, gamma)| {
        let len = steps * envs;
        let order: Vec<usize> = (0..envs).flat_map(|b| vec![b; steps]).collect();
        (
            prop::collection::vec(-1.0f32..1.0, len),
            // ~15% terminated, ~15% truncated, ~5% both (termination wins).
            prop::collection::vec(0u8..20, len),
            prop::collection::vec(-2.0f32..2.0, len),
            Just(order).prop_shuffle(),
        )
            .prop_map(move |(rewards, ends, next_values, order)| Trajectory {
                steps,
                envs,
                n,
                gamma,
                rewards,
                terminated: ends.iter().map(|&e| e < 4).collect(),
                truncated: ends.iter().map(|&e| (3..7).contains(&e)).collect(),
                next_values,
                order,
            })
    })
}

impl Trajectory {
    /// Whether the window starting at flat index `i = t * envs + b` completed within the
    /// trajectory: an episode ends in it, or it holds `n` steps.
    fn completes(&self, t: usize, b: usize) -> bool {
        let last = (t + self.n - 1).min(self.steps - 1);
        t + self.n - 1 < self.steps
            || (t..=last).any(|u| {
                let i = u * self.envs + b;
                self.terminated[i] || self.truncated[i]
            })
    }
}

proptest! {
    #![proptest_config(proptest_config(96))]

    /// Every stored transition's target `R + discount (1 - terminated) V(s')` equals
    /// `n_step_targets` of the same trajectory at the step it starts from, and exactly the
    /// steps whose window completed are stored, once each.
    #[test]
    fn n_step_transitions_match_n_step_targets(traj in trajectory()) {
        let (steps, envs) = (traj.steps, traj.envs);
        let len = steps * envs;
        // Observation [i, 0], next observation [i, V(s_{i+1})], action i: every stored row
        // names the step it starts from.
        let mut buffer = ReplayBuffer::new(&ReplayConfig::new(len, 2, len)).unwrap();
        let mut collector = NStepCollector::new(traj.n, traj.gamma, envs).unwrap();
        let mut next_step = vec![0usize; envs];
        for &b in &traj.order {
            let i = next_step[b] * envs + b;
            next_step[b] += 1;
            let (observation, next_observation) = ([i as f32, 0.0], [i as f32, traj.next_values[i]]);
            let step = EnvStep {
                observation: &observation,
                action: i,
                reward: f64::from(traj.rewards[i]),
                next_observation: &next_observation,
                terminated: traj.terminated[i],
                truncated: traj.truncated[i],
            };
            collector.push(b, step, &mut buffer).unwrap();
        }

        let device = default_device();
        let rollout = Rollout::new(
            steps, envs, traj.rewards.clone(), traj.terminated.clone(), traj.truncated.clone(), &device,
        ).unwrap();
        let next_values: Vec<f64> = traj.next_values.iter().map(|&v| f64::from(v)).collect();
        let targets = to_vec_f32(
            n_step_targets(&rollout, float_tensor(&next_values, [steps, envs], &device), traj.gamma, traj.n)
                .unwrap(),
        );

        let mut stored = vec![false; len];
        for slot in 0..buffer.len() {
            let t = buffer.get(slot).unwrap();
            let i = t.action;
            prop_assert!(!stored[i], "step {} stored twice", i);
            stored[i] = true;
            prop_assert_eq!(t.observation[0], i as f32);
            let bootstrap = if t.terminated { 0.0 } else { t.discount * f64::from(t.next_observation[1]) };
            let target = t.reward + bootstrap;
            prop_assert!(
                (target - f64::from(targets[i])).abs() < 1e-4,
                "step {}: collector {} vs n_step_targets {}", i, target, targets[i]
            );
        }
        for (i, &was_stored) in stored.iter().enumerate() {
            prop_assert_eq!(was_stored, traj.completes(i / envs, i % envs), "step {}", i);
        }
        let pending: usize = (0..envs).map(|b| collector.pending(b)).sum();
        prop_assert_eq!(pending + buffer.len(), len);
    }
}

#[test]
fn n_step_episode_of_two_steps_with_n_three() {
    // Rewards 1 then 2, gamma 0.5, the episode ends on its second step, before the window of 3
    // fills: both steps are flushed with what is left of the episode.
    for (terminated, truncated) in [(true, false), (false, true), (true, true)] {
        let mut buffer = ReplayBuffer::new(&ReplayConfig::new(8, 1, 2)).unwrap();
        let mut collector = NStepCollector::new(3, 0.5, 1).unwrap();
        let first = EnvStep {
            observation: &[0.0],
            action: 0,
            reward: 1.0,
            next_observation: &[1.0],
            terminated: false,
            truncated: false,
        };
        collector.push(0, first, &mut buffer).unwrap();
        assert_eq!(buffer.len(), 0);
        let second = EnvStep {
            observation: &[1.0],
            action: 1,
            reward: 2.0,
            next_observation: &[2.0],
            terminated,
            truncated,
        };
        collector.push(0, second, &mut buffer).unwrap();
        let stored: Vec<Transition<'_>> =
            (0..buffer.len()).map(|i| buffer.get(i).unwrap()).collect();
        // (s0, a0, 1 + 0.5 * 2, s2, gamma^2) and (s1, a1, 2, s2, gamma); a truncated end
        // bootstraps from s2 with those discounts, a terminated one does not bootstrap.
        let expected = [
            Transition {
                observation: &[0.0],
                action: 0,
                reward: 2.0,
                next_observation: &[2.0],
                terminated,
                discount: 0.25,
            },
            Transition {
                observation: &[1.0],
                action: 1,
                reward: 2.0,
                next_observation: &[2.0],
                terminated,
                discount: 0.5,
            },
        ];
        assert_eq!(
            stored, expected,
            "terminated {terminated}, truncated {truncated}"
        );
        assert_eq!(collector.pending(0), 0);
        // The next episode starts with an empty window.
        collector.push(0, first, &mut buffer).unwrap();
        assert_eq!((buffer.len(), collector.pending(0)), (2, 1));
    }
}

#[test]
fn n_step_bad_steps_change_nothing() {
    let mut buffer = ReplayBuffer::new(&ReplayConfig::new(8, 2, 2)).unwrap();
    let mut collector = NStepCollector::new(2, 0.9, 2).unwrap();
    let ok = EnvStep {
        observation: &[0.0, 0.0],
        action: 1,
        reward: 1.0,
        next_observation: &[1.0, 0.0],
        terminated: false,
        truncated: false,
    };
    collector.push(0, ok, &mut buffer).unwrap();
    let bad = [
        EnvStep {
            observation: &[0.0],
            ..ok
        },
        EnvStep { action: 2, ..ok },
        EnvStep {
            reward: f64::NAN,
            ..ok
        },
        EnvStep {
            next_observation: &[f32::INFINITY, 0.0],
            terminated: true,
            ..ok
        },
    ];
    for step in bad {
        assert!(collector.push(0, step, &mut buffer).is_err(), "{step:?}");
        assert_eq!((buffer.len(), collector.pending(0)), (0, 1));
    }
    assert_eq!(flag(collector.push(2, ok, &mut buffer)), "env");
    assert!(NStepCollector::new(2, 0.9, 0).is_err());
    // A copy count that would allocate a window per copy: refused before any allocation.
    let err = NStepCollector::new(2, 0.9, 1 << 40).unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment copies (num_envs): 1099511627776 is beyond the limit of 1048576"
    );
}

// ----------------------------------------------------------------------------------- uniform

/// The `k`-th transition of the uniform tests: every field depends on `k`.
fn numbered(k: usize) -> ([f32; 3], usize, f64, [f32; 3], bool, f64) {
    let x = k as f32;
    (
        [x, -x, 0.5 * x],
        k % 3,
        0.25 * k as f64,
        [x + 1.0, -x - 1.0, 0.5 * x + 0.5],
        k.is_multiple_of(2),
        0.5f64.powi(1 + (k % 3) as i32),
    )
}

fn push_numbered(buffer: &mut impl RowReplay, ks: std::ops::Range<usize>) {
    for k in ks {
        let (o, a, r, n, t, d) = numbered(k);
        buffer
            .push(Transition {
                observation: &o,
                action: a,
                reward: r,
                next_observation: &n,
                terminated: t,
                discount: d,
            })
            .unwrap();
    }
}

#[test]
fn uniform_ring_overwrites_the_oldest() {
    let mut buffer = ReplayBuffer::new(&ReplayConfig::new(3, 3, 3)).unwrap();
    push_numbered(&mut buffer, 0..5);
    assert_eq!((buffer.len(), buffer.capacity()), (3, 3));
    // Slots 0 and 1 were overwritten by transitions 3 and 4; slot 2 still holds 2.
    for (slot, k) in [(0, 3), (1, 4), (2, 2)] {
        let t = buffer.get(slot).unwrap();
        let (o, a, r, n, term, d) = numbered(k);
        assert_eq!(
            (t.observation, t.action, t.next_observation),
            (&o[..], a, &n[..])
        );
        assert_eq!((t.reward, t.terminated, t.discount), (r, term, d));
    }
    assert!(buffer.get(3).is_none());
}

#[test]
fn uniform_sample_tensors_match_pushed_rows() {
    for (name, device) in cpu_devices() {
        let mut buffer = ReplayBuffer::new(&ReplayConfig::new(5, 3, 3)).unwrap();
        push_numbered(&mut buffer, 0..8); // slots 0..3 hold 5, 6, 7; slots 3, 4 hold 3, 4
        for seed in 0..4 {
            let sampled = buffer
                .sample(5, &device, &mut StdRng::seed_from_u64(seed))
                .unwrap();
            let batch = sampled.batch;
            assert_eq!(batch.observations.dims(), [5, 3], "{name}");
            assert_eq!(batch.next_observations.dims(), [5, 3], "{name}");
            assert_eq!(batch.len(), 5);
            let observations = to_vec_f32(batch.observations);
            let next_observations = to_vec_f32(batch.next_observations);
            let actions = to_indices(batch.actions);
            let rewards = to_vec_f32(batch.rewards);
            let terminated = bools(batch.terminated);
            let discounts = to_vec_f32(batch.discounts);
            assert_eq!(to_vec_f32(batch.weights), vec![1.0; 5], "{name}");
            for (row, &slot) in sampled.indices.iter().enumerate() {
                let k = if slot < 3 { slot + 5 } else { slot };
                let (o, a, r, n, t, d) = numbered(k);
                assert_eq!(
                    &observations[3 * row..3 * row + 3],
                    &o[..],
                    "{name} row {row}"
                );
                assert_eq!(&next_observations[3 * row..3 * row + 3], &n[..], "{name}");
                assert_eq!(actions[row], a, "{name}");
                assert_eq!(f64::from(rewards[row]), r, "{name}");
                assert_eq!(terminated[row], t, "{name}");
                assert_eq!(f64::from(discounts[row]), d, "{name}");
            }
        }
    }
}

#[test]
fn uniform_seeded_sampling_is_reproducible() {
    let device = default_device();
    let mut a = ReplayBuffer::new(&ReplayConfig::new(100, 3, 3)).unwrap();
    let mut b = a.clone();
    push_numbered(&mut a, 0..100);
    push_numbered(&mut b, 0..100);
    let draw = |buffer: &mut ReplayBuffer, seed| {
        let sampled = buffer
            .sample(32, &device, &mut StdRng::seed_from_u64(seed))
            .unwrap();
        (sampled.indices, to_vec_f32(sampled.batch.observations))
    };
    let first = draw(&mut a, 1);
    assert_eq!(first, draw(&mut b, 1));
    assert_eq!(first, draw(&mut a, 1));
    assert_ne!(first.0, draw(&mut a, 2).0);
}

#[test]
fn uniform_sampling_covers_every_slot_evenly() {
    let device = default_device();
    let mut buffer = ReplayBuffer::new(&ReplayConfig::new(10, 3, 3)).unwrap();
    push_numbered(&mut buffer, 0..13); // full and wrapped
    let mut rng = StdRng::seed_from_u64(2);
    let mut counts = [0usize; 10];
    for _ in 0..2_000 {
        for i in buffer.sample(10, &device, &mut rng).unwrap().indices {
            counts[i] += 1;
        }
    }
    let statistic = chi_square(&counts, &[0.1; 10]);
    assert!(
        statistic < CHI2_0_001_DF9,
        "chi-square {statistic} (df 9), counts {counts:?}"
    );
}

#[test]
fn uniform_sample_refuses_bad_batch_sizes() {
    let device = default_device();
    let mut rng = StdRng::seed_from_u64(0);
    let mut buffer = ReplayBuffer::new(&ReplayConfig::new(10, 3, 3)).unwrap();
    assert_eq!(flag(buffer.sample(1, &device, &mut rng)), "batch_size"); // empty
    push_numbered(&mut buffer, 0..4);
    assert_eq!(flag(buffer.sample(5, &device, &mut rng)), "batch_size");
    assert_eq!(flag(buffer.sample(0, &device, &mut rng)), "batch_size");
    assert_eq!(
        buffer.sample(4, &device, &mut rng).unwrap().indices.len(),
        4
    );
}

#[test]
fn uniform_bad_push_stores_nothing() {
    let mut buffer = ReplayBuffer::new(&ReplayConfig::new(2, 2, 3)).unwrap();
    let ok = Transition::one_step(&[0.0, 1.0], 2, 1.0, &[1.0, 1.0], false, 0.9);
    buffer.push(ok).unwrap();
    buffer.push(ok).unwrap(); // full: the next push would overwrite slot 0
    buffer.push(Transition { action: 0, ..ok }).unwrap();
    let snapshot = |buffer: &ReplayBuffer| format!("{} {:?}", buffer.len(), buffer.get(1));
    let before = snapshot(&buffer);
    let cases = [
        (
            Transition {
                observation: &[0.0],
                ..ok
            },
            "wrong observation width",
        ),
        (
            Transition {
                next_observation: &[0.0, 1.0, 2.0],
                ..ok
            },
            "wrong next width",
        ),
        (Transition { action: 3, ..ok }, "action out of range"),
        (
            Transition {
                reward: f64::NAN,
                ..ok
            },
            "NaN reward",
        ),
        (
            Transition {
                reward: f64::INFINITY,
                ..ok
            },
            "infinite reward",
        ),
        (
            Transition {
                observation: &[f32::NAN, 0.0],
                ..ok
            },
            "NaN observation",
        ),
        (
            Transition {
                next_observation: &[0.0, f32::NEG_INFINITY],
                ..ok
            },
            "infinite next",
        ),
        (
            Transition {
                discount: 1.5,
                ..ok
            },
            "discount above 1",
        ),
    ];
    for (transition, what) in cases {
        let err = buffer.push(transition).unwrap_err();
        let variant_ok = match what {
            "wrong observation width" | "wrong next width" => {
                matches!(err, Error::ShapeMismatch { .. })
            }
            "action out of range" => matches!(err, Error::InvalidAction { .. }),
            "discount above 1" => matches!(
                err,
                Error::InvalidConfig {
                    field: "discount",
                    ..
                }
            ),
            _ => matches!(err, Error::NonFinite { .. }),
        };
        assert!(variant_ok, "{what}: {err}");
        assert_eq!(snapshot(&buffer), before, "{what}");
    }
}

#[test]
fn uniform_config_refuses_zero_and_huge_sizes() {
    assert_eq!(
        flag(ReplayBuffer::new(&ReplayConfig::new(0, 4, 2))),
        "capacity"
    );
    assert_eq!(
        flag(ReplayBuffer::new(&ReplayConfig::new(8, 0, 2))),
        "observation_dim"
    );
    assert_eq!(
        flag(ReplayBuffer::new(&ReplayConfig::new(8, 4, 0))),
        "num_actions"
    );
    // Overflowing usize, and 2^40 rows of 6 values: both refused before any allocation (an
    // attempt to allocate either would abort the test process).
    assert_eq!(
        flag(ReplayBuffer::new(&ReplayConfig::new(usize::MAX / 2, 4, 2))),
        "capacity"
    );
    assert_eq!(
        flag(ReplayBuffer::new(&ReplayConfig::new(1 << 40, 1, 2))),
        "capacity"
    );
    let per = PrioritizedConfig::new();
    assert_eq!(
        flag(PrioritizedReplay::new(
            &ReplayConfig::new(1 << 40, 1, 2),
            &per
        )),
        "capacity"
    );
    // The cap is a setting: 10 rows of 12 values fit in 120, not in 119.
    assert!(ReplayBuffer::new(&ReplayConfig::new(10, 4, 2).with_max_values(120)).is_ok());
    assert!(ReplayBuffer::new(&ReplayConfig::new(10, 4, 2).with_max_values(119)).is_err());
}

#[test]
fn uniform_update_priorities_only_checks_its_input() {
    let mut buffer = ReplayBuffer::new(&ReplayConfig::new(4, 3, 3)).unwrap();
    push_numbered(&mut buffer, 0..2);
    buffer.set_progress(0.5);
    assert!(
        buffer
            .update_priorities(&[0, 1, 1], &[0.5, -2.0, 0.0])
            .is_ok()
    );
    assert!(matches!(
        buffer.update_priorities(&[0], &[0.5, 1.0]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(flag(buffer.update_priorities(&[2], &[0.5])), "indices");
    assert!(matches!(
        buffer.update_priorities(&[0], &[f32::INFINITY]),
        Err(Error::NonFinite { .. })
    ));
}
