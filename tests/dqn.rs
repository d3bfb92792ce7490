//! Deep Q-learning: targets and losses on hand-built batches, clipping, target updates,
//! checkpoints, bad input, determinism, and convergence to `Q*` on a small MDP.

use burn::module::{Module, Param};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use valuefn::Error;
use valuefn::algo::dqn::{
    Bootstrap, Dqn, DqnConfig, DqnTrainConfig, LearningRateSchedule, TargetUpdate, TdLoss,
    train_dqn,
};
use valuefn::encode::OneHot;
use valuefn::env::tabular::FrozenLake;
use valuefn::env::{SyncVecEnv, TabularEnv, TimeLimit};
use valuefn::nn::{QHead, QNetwork, QNetworkConfig};
use valuefn::policy::EpsilonSchedule;
use valuefn::prelude::*;
use valuefn::replay::TransitionBatch;
use valuefn::tensor_ops::{index_tensor, to_vec_f32};

/// A Q-function that is a learnable table, read by state index: any burn module that is a
/// `QFunction` trains with `Dqn`, and a table makes every number computable by hand.
#[derive(Module, Debug)]
struct TableQ {
    table: Param<Tensor<2>>,
}

impl TableQ {
    fn new(rows: [[f32; 3]; 2], device: &Device) -> Self {
        Self {
            table: Param::from_data(TensorData::from(rows), device),
        }
    }
}

impl QFunction for TableQ {
    type Input = Tensor<1, Int>;

    fn num_actions(&self) -> usize {
        self.table.val().dims()[1]
    }

    fn q_values(&self, states: Tensor<1, Int>) -> valuefn::Result<Tensor<2>> {
        Ok(self.table.val().select(0, states))
    }
}

const ONLINE: [[f32; 3]; 2] = [[1.0, 5.0, 2.0], [0.0, 3.0, 4.0]];
const TARGET: [[f32; 3]; 2] = [[10.0, 1.0, 3.0], [2.0, 6.0, 0.0]];

/// Three transitions: (s 0, a 1, r 1, s' 1, discount 0.5), a terminated one (s 1, a 2, r 0,
/// s' 0), and a truncated one (s 1, a 0, r 2, s' 0, discount 0.9) that must still bootstrap.
fn hand_batch(device: &Device, weights: [f32; 3]) -> TransitionBatch<Tensor<1, Int>> {
    TransitionBatch {
        observations: index_tensor(&[0, 1, 1], device),
        actions: Tensor::from_ints([1, 2, 0], device),
        rewards: Tensor::from_floats([1.0, 0.0, 2.0], device),
        next_observations: index_tensor(&[1, 0, 0], device),
        terminated: Tensor::<1, Bool>::from_bool(TensorData::from([false, true, false]), device),
        discounts: Tensor::from_floats([0.5, 0.9, 0.9], device),
        weights: Tensor::from_floats(weights, device),
    }
}

fn hand_dqn(config: DqnConfig, device: &Device) -> Dqn<TableQ> {
    let ad = device.clone().autodiff();
    Dqn::with_target(config, TableQ::new(ONLINE, &ad), TableQ::new(TARGET, &ad)).unwrap()
}

fn assert_close(actual: &[f32], expected: &[f32], tolerance: f32) {
    assert_eq!(actual.len(), expected.len());
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() <= tolerance, "{actual:?} vs {expected:?}");
    }
}

// Hand computation. Q(s, a) of the batch under ONLINE: 5, 4, 0.
// DQN targets: 1 + 0.5 * max(2, 6, 0) = 4; 0 (terminated); 2 + 0.9 * max(10, 1, 3) = 11.
// Double DQN: the online network picks argmax(0, 3, 4) = 2 in s' = 1, the target values it at 0:
// 1 + 0.5 * 0 = 1; 0; online picks argmax(1, 5, 2) = 1 in s' = 0, valued 1: 2 + 0.9 * 1 = 2.9.
#[test]
fn vanilla_and_double_targets_and_losses_match_the_hand_computation() {
    for (_, device) in valuefn::device::cpu_devices() {
        let cases = [
            // (bootstrap, loss, targets, td errors, loss)
            (
                Bootstrap::Max,
                TdLoss::Mse,
                [4.0, 0.0, 11.0],
                [1.0, 4.0, -11.0],
                (1.0 + 16.0 + 121.0) / 3.0,
            ),
            (
                Bootstrap::Max,
                TdLoss::Huber { kappa: 1.0 },
                [4.0, 0.0, 11.0],
                [1.0, 4.0, -11.0],
                (0.5 + 3.5 + 10.5) / 3.0,
            ),
            (
                Bootstrap::Double,
                TdLoss::Mse,
                [1.0, 0.0, 2.9],
                [4.0, 4.0, -2.9],
                (16.0 + 16.0 + 8.41) / 3.0,
            ),
            (
                Bootstrap::Double,
                TdLoss::Huber { kappa: 1.0 },
                [1.0, 0.0, 2.9],
                [4.0, 4.0, -2.9],
                (3.5 + 3.5 + 2.4) / 3.0,
            ),
            // Huber with kappa 2: 2 (|d| - 1) beyond 2, d^2 / 2 within.
            (
                Bootstrap::Max,
                TdLoss::Huber { kappa: 2.0 },
                [4.0, 0.0, 11.0],
                [1.0, 4.0, -11.0],
                (0.5 + 6.0 + 20.0) / 3.0,
            ),
        ];
        for (bootstrap, loss, targets, td, expected_loss) in cases {
            let config = DqnConfig::new().with_bootstrap(bootstrap).with_loss(loss);
            let mut dqn = hand_dqn(config, &device);
            let batch = hand_batch(&device, [1.0; 3]);
            assert_close(&to_vec_f32(dqn.targets(&batch).unwrap()), &targets, 1e-5);
            let stats = dqn.update(&batch).unwrap();
            assert_close(&stats.td_errors, &td, 1e-5);
            assert!(
                (stats.loss - expected_loss).abs() < 1e-5,
                "{bootstrap:?} {loss:?}: {}",
                stats.loss
            );
            assert!((stats.mean_q - 3.0).abs() < 1e-6);
        }
    }
}

#[test]
fn importance_weights_scale_each_term() {
    let device = valuefn::device::default_device();
    let config = DqnConfig::new().with_loss(TdLoss::Huber { kappa: 1.0 });
    let mut dqn = hand_dqn(config, &device);
    let stats = dqn.update(&hand_batch(&device, [1.0, 0.0, 2.0])).unwrap();
    // (0.5 * 1 + 3.5 * 0 + 10.5 * 2) / 3
    assert!((stats.loss - 21.5 / 3.0).abs() < 1e-5, "{}", stats.loss);
}

#[test]
fn gradient_norm_is_the_global_norm_before_clipping() {
    // MSE: d loss / d Q(s, a) = 2 delta / 3 for each of the three (distinct) table entries.
    let device = valuefn::device::default_device();
    let config = DqnConfig::new()
        .with_loss(TdLoss::Mse)
        .with_max_grad_norm(Some(1.0));
    let mut dqn = hand_dqn(config, &device);
    let stats = dqn.update(&hand_batch(&device, [1.0; 3])).unwrap();
    let expected = (2.0f64 / 3.0) * (1.0f64 + 16.0 + 121.0).sqrt();
    assert!(
        (stats.grad_norm.unwrap() - expected).abs() < 1e-4,
        "{:?}",
        stats.grad_norm
    );
    let unclipped = DqnConfig::new().with_max_grad_norm(None);
    assert_eq!(
        hand_dqn(unclipped, &device)
            .update(&hand_batch(&device, [1.0; 3]))
            .unwrap()
            .grad_norm,
        None
    );
}

#[test]
fn hard_target_copies_every_k_steps_and_polyak_blends() {
    let device = valuefn::device::default_device();
    let states = || index_tensor(&[0, 1], &device);
    let read = |q: &TableQ| to_vec_f32(q.q_values(states()).unwrap());
    let config = DqnConfig::new()
        .with_target_update(TargetUpdate::Hard { every: 2 })
        .with_learning_rate(LearningRateSchedule::Constant { rate: 0.1 });
    let mut dqn = hand_dqn(config, &device);
    dqn.update(&hand_batch(&device, [1.0; 3])).unwrap();
    assert_eq!(
        read(dqn.target()),
        TARGET.concat(),
        "no copy after one step"
    );
    dqn.update(&hand_batch(&device, [1.0; 3])).unwrap();
    assert_eq!(
        read(dqn.target()),
        read(dqn.online()),
        "copied after two steps"
    );

    let config = DqnConfig::new()
        .with_target_update(TargetUpdate::Polyak { tau: 0.25 })
        .with_learning_rate(LearningRateSchedule::Constant { rate: 0.1 });
    let mut dqn = hand_dqn(config, &device);
    dqn.update(&hand_batch(&device, [1.0; 3])).unwrap();
    let online = read(dqn.online());
    let expected: Vec<f32> = TARGET
        .concat()
        .iter()
        .zip(&online)
        .map(|(t, o)| 0.75 * t + 0.25 * o)
        .collect();
    assert_close(&read(dqn.target()), &expected, 1e-5);
    // Adam's first step moves each trained entry by the learning rate: the three entries of
    // the batch moved by 0.1 against the sign of their TD error, the others stayed.
    assert_close(&online, &[1.0, 4.9, 2.0, 0.1, 3.0, 3.9], 1e-4);
}

#[test]
fn learning_rate_decays_linearly_over_gradient_steps() {
    let device = valuefn::device::default_device();
    let schedule = LearningRateSchedule::Linear {
        start: 1e-2,
        end: 1e-3,
        steps: 2,
    };
    let mut dqn = hand_dqn(DqnConfig::new().with_learning_rate(schedule), &device);
    let rates: Vec<f64> = (0..3)
        .map(|_| {
            dqn.update(&hand_batch(&device, [1.0; 3]))
                .unwrap()
                .learning_rate
        })
        .collect();
    assert_close(
        &rates.iter().map(|&r| r as f32).collect::<Vec<_>>(),
        &[1e-2, 5.5e-3, 1e-3],
        1e-9,
    );
}

#[test]
fn bad_batches_are_refused_and_change_nothing() {
    let device = valuefn::device::default_device();
    let mut dqn = hand_dqn(DqnConfig::new(), &device);
    let before = to_vec_f32(
        dqn.online()
            .q_values(index_tensor(&[0, 1], &device))
            .unwrap(),
    );
    let mut bad_action = hand_batch(&device, [1.0; 3]);
    bad_action.actions = Tensor::from_ints([1, 3, 0], &device);
    assert!(matches!(
        dqn.update(&bad_action),
        Err(Error::InvalidAction { .. })
    ));
    let mut nan_reward = hand_batch(&device, [1.0; 3]);
    nan_reward.rewards = Tensor::from_floats([1.0, f32::NAN, 0.0], &device);
    assert!(matches!(
        dqn.update(&nan_reward),
        Err(Error::NonFinite { .. })
    ));
    let mut bad_discount = hand_batch(&device, [1.0; 3]);
    bad_discount.discounts = Tensor::from_floats([0.5, 1.5, 0.9], &device);
    assert!(matches!(
        dqn.update(&bad_discount),
        Err(Error::InvalidConfig {
            field: "discounts",
            ..
        })
    ));
    let mut short = hand_batch(&device, [1.0; 3]);
    short.rewards = Tensor::from_floats([1.0, 0.0], &device);
    assert!(matches!(
        dqn.update(&short),
        Err(Error::ShapeMismatch { .. })
    ));
    // One next state for three transitions: burn would broadcast it and the update return Ok.
    let mut broadcast = hand_batch(&device, [1.0; 3]);
    broadcast.next_observations = index_tensor(&[1], &device);
    assert!(matches!(
        dqn.update(&broadcast),
        Err(Error::ShapeMismatch {
            what: "next observations (one per transition)",
            ..
        })
    ));
    let mut terminated = hand_batch(&device, [1.0; 3]);
    terminated.terminated = terminated.terminated.slice(0..2);
    assert!(matches!(
        dqn.update(&terminated),
        Err(Error::ShapeMismatch {
            what: "terminated",
            ..
        })
    ));
    let negative = hand_batch(&device, [1.0, -1.0, 1.0]);
    assert!(matches!(
        dqn.update(&negative),
        Err(Error::InvalidConfig {
            field: "weights",
            ..
        })
    ));
    assert_eq!(dqn.gradient_steps(), 0);
    assert_eq!(
        to_vec_f32(
            dqn.online()
                .q_values(index_tensor(&[0, 1], &device))
                .unwrap()
        ),
        before
    );

    // A network on features: wrong width and NaN observations.
    let net = QNetworkConfig::new(2, 2)
        .with_hidden(vec![4])
        .init(&device.clone().autodiff())
        .unwrap();
    let mut dqn = Dqn::new(DqnConfig::new(), net).unwrap();
    let features = |rows: [[f32; 2]; 1]| Tensor::<2>::from_floats(rows, &device);
    let mut batch = TransitionBatch {
        observations: features([[0.0, f32::NAN]]),
        actions: Tensor::from_ints([0], &device),
        rewards: Tensor::from_floats([1.0], &device),
        next_observations: features([[0.0, 1.0]]),
        terminated: Tensor::<1, Bool>::from_bool(TensorData::from([false]), &device),
        discounts: Tensor::from_floats([0.9], &device),
        weights: Tensor::ones([1], &device),
    };
    assert!(matches!(
        dqn.update(&batch),
        Err(Error::NonFinite { what: "loss", .. })
    ));
    batch.observations = Tensor::<2>::zeros([1, 3], &device);
    assert!(matches!(
        dqn.update(&batch),
        Err(Error::ShapeMismatch { .. })
    ));
    assert_eq!(dqn.gradient_steps(), 0);
}

#[test]
fn configs_refuse_bad_values() {
    let bad = [
        DqnConfig::new().with_gamma(1.5),
        DqnConfig::new().with_n_step(0),
        DqnConfig::new().with_learning_rate(LearningRateSchedule::Constant { rate: 0.0 }),
        DqnConfig::new().with_loss(TdLoss::Huber { kappa: -1.0 }),
        DqnConfig::new().with_max_grad_norm(Some(f64::NAN)),
        DqnConfig::new().with_target_update(TargetUpdate::Hard { every: 0 }),
        DqnConfig::new().with_target_update(TargetUpdate::Polyak { tau: 1.5 }),
    ];
    for config in bad {
        assert!(
            matches!(config.validate(), Err(Error::InvalidConfig { .. })),
            "{config:?}"
        );
    }
    for config in [
        DqnTrainConfig::new().with_batch_size(0),
        DqnTrainConfig::new().with_total_steps(0),
        DqnTrainConfig::new()
            .with_buffer_size(10)
            .with_batch_size(64),
        DqnTrainConfig::new().with_train_frequency(0),
    ] {
        assert!(
            matches!(config.validate(), Err(Error::InvalidConfig { .. })),
            "{config:?}"
        );
    }
    let device = valuefn::device::default_device();
    for config in [
        QNetworkConfig::new(0, 2),
        QNetworkConfig::new(2, 0),
        QNetworkConfig::new(2, 2).with_hidden(vec![0]),
        QNetworkConfig::new(1 << 20, 2).with_hidden(vec![1 << 20]),
    ] {
        assert!(
            matches!(config.init(&device), Err(Error::InvalidConfig { .. })),
            "{config:?}"
        );
    }
}

#[test]
fn a_target_network_of_another_architecture_is_refused() {
    let device = valuefn::device::default_device().autodiff();
    let online = QNetworkConfig::new(4, 2)
        .with_hidden(vec![16])
        .init(&device)
        .unwrap();
    let same = QNetworkConfig::new(4, 2)
        .with_hidden(vec![16])
        .with_seed(5)
        .init(&device)
        .unwrap();
    assert!(Dqn::with_target(DqnConfig::new(), online.clone(), same).is_ok());
    // Same number of actions, other hidden width: a Polyak update would have panicked.
    let wider = QNetworkConfig::new(4, 2)
        .with_hidden(vec![32])
        .init(&device)
        .unwrap();
    let err = Dqn::with_target(DqnConfig::new(), online.clone(), wider).unwrap_err();
    assert_eq!(
        err.to_string(),
        "shape mismatch for target network parameter (the online network's architecture): \
         expected [4, 16], got [4, 32]"
    );
    let deeper = QNetworkConfig::new(4, 2)
        .with_hidden(vec![16, 16])
        .init(&device)
        .unwrap();
    let err = Dqn::with_target(DqnConfig::new(), online, deeper).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
}

/// Random feature batches for the checkpoint test, from a fixed generator.
fn feature_batch(step: u64, device: &Device) -> TransitionBatch {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(step);
    let mut floats = |n: usize| {
        (0..n)
            .map(|_| rng.random::<f32>() * 2.0 - 1.0)
            .collect::<Vec<_>>()
    };
    let obs = floats(16 * 4);
    let next = floats(16 * 4);
    let rewards = floats(16);
    let actions: Vec<i64> = rewards.iter().map(|r| i64::from(*r > 0.0)).collect();
    let terminated: Vec<bool> = rewards.iter().map(|r| *r > 0.8).collect();
    TransitionBatch {
        observations: Tensor::from_data(TensorData::new(obs, [16, 4]), device),
        actions: Tensor::from_data(TensorData::new(actions, [16]), device),
        rewards: Tensor::from_data(TensorData::new(rewards, [16]), device),
        next_observations: Tensor::from_data(TensorData::new(next, [16, 4]), device),
        terminated: Tensor::from_data(TensorData::new(terminated, [16]), device),
        discounts: Tensor::full([16], 0.99, device),
        weights: Tensor::ones([16], device),
    }
}

#[test]
fn checkpoint_round_trip_continues_with_identical_losses() {
    for (name, device) in valuefn::device::cpu_devices() {
        let ad = device.clone().autodiff();
        let net = QNetworkConfig::new(4, 2)
            .with_hidden(vec![16, 16])
            .with_head(QHead::Dueling);
        let config = DqnConfig::new()
            .with_bootstrap(Bootstrap::Double)
            .with_target_update(TargetUpdate::Hard { every: 3 })
            .with_learning_rate(LearningRateSchedule::Linear {
                start: 1e-2,
                end: 1e-3,
                steps: 10,
            });
        let mut original = Dqn::new(config, net.init(&ad).unwrap()).unwrap();
        for step in 0..4 {
            original.update(&feature_batch(step, &device)).unwrap();
        }
        let dir = std::env::temp_dir().join(format!(
            "valuefn-test-dqn-checkpoint-{name}-{}",
            std::process::id()
        ));
        original.save(&dir).unwrap();
        let mut loaded: Dqn<QNetwork> =
            Dqn::load(&dir, net.clone().with_seed(99).init(&ad).unwrap()).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(loaded.gradient_steps(), 4);
        assert_eq!(loaded.config(), original.config());
        for step in 4..10 {
            let batch = feature_batch(step, &device);
            let a = original.update(&batch).unwrap();
            let b = loaded.update(&batch).unwrap();
            assert_eq!(a, b, "{name}: step {step} differs after the round trip");
        }
        assert!(
            Dqn::<QNetwork>::load(
                std::env::temp_dir().join("valuefn-no-such-checkpoint"),
                net.init(&ad).unwrap()
            )
            .is_err()
        );
    }
}

fn frozen_lake_envs(copies: usize) -> SyncVecEnv<TimeLimit<TabularEnv<FrozenLake>>> {
    let envs = (0..copies)
        .map(|_| TimeLimit::new(TabularEnv::new(FrozenLake::four_by_four(false)), 30).unwrap())
        .collect();
    SyncVecEnv::new(envs).unwrap()
}

/// The updater's settings of the small runs: gamma and n-step live here only.
fn small_dqn() -> DqnConfig {
    DqnConfig::new()
        .with_gamma(0.9)
        .with_n_step(2)
        .with_target_update(TargetUpdate::Hard { every: 20 })
}

fn small_run(seed: u64) -> DqnTrainConfig {
    DqnTrainConfig::new()
        .with_total_steps(600)
        .with_learning_starts(100)
        .with_batch_size(16)
        .with_buffer_size(1000)
        .with_eval_every(200)
        .with_eval_episodes(2)
        .with_exploration(EpsilonSchedule::Linear {
            start: 1.0,
            end: 0.1,
            steps: 300,
        })
        .with_seed(seed)
        .with_progress_bar(false)
}

#[test]
fn same_seed_same_metrics_log() {
    let device = valuefn::device::default_device();
    let run = |seed: u64| {
        let config = small_run(seed);
        let net = QNetworkConfig::new(16, 4)
            .with_hidden(vec![16])
            .with_seed(seed)
            .init(&device.clone().autodiff())
            .unwrap();
        let mut dqn = Dqn::new(small_dqn(), net).unwrap();
        let mut envs = frozen_lake_envs(2);
        let mut eval =
            TimeLimit::new(TabularEnv::new(FrozenLake::four_by_four(false)), 30).unwrap();
        let report = train_dqn(
            &config,
            &mut dqn,
            &mut envs,
            Some(&mut eval),
            &OneHot::new(16),
            &device,
        )
        .unwrap();
        let mut metrics = report.metrics;
        metrics.iter_mut().for_each(|m| m.steps_per_second = 0.0); // wall clock
        (metrics, report.gradient_steps)
    };
    let (a, steps) = run(3);
    assert!(
        steps > 0
            && a.iter().any(|m| m.update.is_some())
            && a.iter().any(|m| m.eval_return.is_some())
    );
    assert_eq!(a, run(3).0);
    assert_ne!(a, run(4).0);
}

#[test]
fn metrics_log_is_json_lines() {
    let device = valuefn::device::default_device();
    let path = std::env::temp_dir().join(format!(
        "valuefn-test-dqn-metrics-{}.jsonl",
        std::process::id()
    ));
    let config = small_run(0).with_metrics_path(Some(path.display().to_string()));
    let net = QNetworkConfig::new(16, 4)
        .with_hidden(vec![8])
        .init(&device.clone().autodiff())
        .unwrap();
    let mut dqn = Dqn::new(small_dqn(), net).unwrap();
    let report = train_dqn(
        &config,
        &mut dqn,
        &mut frozen_lake_envs(1),
        None,
        &OneHot::new(16),
        &device,
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let parsed: Vec<valuefn::algo::dqn::DqnMetrics> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed, report.metrics);
    assert!(
        text.lines()
            .all(|l| l.contains("\"step\"") && l.contains("\"epsilon\""))
    );

    // Gamma and n-step come from the updater alone: there is no second copy to disagree with.
    let mut other = Dqn::new(
        DqnConfig::new().with_gamma(0.5).with_n_step(3),
        QNetworkConfig::new(16, 4)
            .init(&device.clone().autodiff())
            .unwrap(),
    )
    .unwrap();
    let report = train_dqn(
        &small_run(0),
        &mut other,
        &mut frozen_lake_envs(1),
        None,
        &OneHot::new(16),
        &device,
    )
    .unwrap();
    assert_eq!(report.steps, 600);
    assert!(other.gradient_steps() > 0);
}

/// DQN with one-hot observations on deterministic FrozenLake 4x4 (gamma 0.9) learns `Q*` of
/// every non-terminal state and action. Behaviour is uniformly random throughout (epsilon 1),
/// so every pair keeps being visited; learning is off-policy. Tolerance 0.05 on values in
/// [0, 1] (the reward scale is 1): an f32 network fitting 44 targets with a small step size
/// settles within about 1e-2 of them; 0.05 leaves room for the replay's sampling noise.
#[test]
fn dqn_on_one_hot_frozen_lake_reaches_q_star() {
    let device = valuefn::device::default_device();
    let lake = FrozenLake::four_by_four(false);
    let exact = value_iteration(&lake, &SolverConfig::new().with_gamma(0.9)).unwrap();
    let dqn_config = DqnConfig::new()
        .with_gamma(0.9)
        .with_loss(TdLoss::Mse)
        .with_learning_rate(LearningRateSchedule::Linear {
            start: 3e-3,
            end: 3e-4,
            steps: 6000,
        })
        .with_target_update(TargetUpdate::Hard { every: 100 });
    let config = DqnTrainConfig::new()
        .with_total_steps(24_000)
        .with_learning_starts(500)
        .with_train_frequency(1)
        .with_gradient_steps(1)
        .with_batch_size(64)
        .with_buffer_size(10_000)
        .with_exploration(EpsilonSchedule::Constant { epsilon: 1.0 })
        .with_eval_episodes(0)
        .with_progress_bar(false)
        .with_seed(1);
    let net = QNetworkConfig::new(16, 4)
        .with_hidden(vec![64])
        .init(&device.clone().autodiff())
        .unwrap();
    let mut dqn = Dqn::new(dqn_config, net).unwrap();
    let mut envs = frozen_lake_envs(4);
    train_dqn(
        &config,
        &mut dqn,
        &mut envs,
        None,
        &OneHot::new(16),
        &device,
    )
    .unwrap();

    let learned = to_vec_f32(
        dqn.online()
            .valid()
            .q_values(
                OneHot::new(16)
                    .encode(&(0..16).collect::<Vec<_>>(), &device)
                    .unwrap(),
            )
            .unwrap(),
    );
    let terminal = [5, 7, 11, 12, 15]; // holes and the goal: never acted in
    let mut worst = (0.0f64, 0, 0);
    for s in (0..16).filter(|s| !terminal.contains(s)) {
        for a in 0..4 {
            let error = (f64::from(learned[s * 4 + a]) - exact.q_values.get(s, a)).abs();
            if error > worst.0 {
                worst = (error, s, a);
            }
        }
    }
    assert!(
        worst.0 < 0.05,
        "largest |Q - Q*| = {:.4} at state {}, action {}",
        worst.0,
        worst.1,
        worst.2
    );
}

#[test]
fn networks_run_on_every_backend_with_and_without_autodiff() {
    let x = [[0.5f32, -1.0, 2.0], [0.0, 0.25, -0.75]];
    let mut reference: Option<(Vec<f32>, Vec<f32>)> = None;
    for (name, device) in valuefn::device::cpu_devices() {
        for device in [device.clone(), device.autodiff()] {
            let q = QNetworkConfig::new(3, 4)
                .with_hidden(vec![8, 8])
                .with_head(QHead::Dueling)
                .init(&device)
                .unwrap();
            let v = valuefn::nn::VNetworkConfig::new(3)
                .with_hidden(vec![8])
                .init(&device)
                .unwrap();
            let input = Tensor::<2>::from_floats(x, &device);
            let q_out = to_vec_f32(q.q_values(input.clone()).unwrap());
            let v_out = to_vec_f32(v.values(input).unwrap());
            assert_eq!((q_out.len(), v_out.len()), (8, 2));
            match &reference {
                None => reference = Some((q_out, v_out)),
                Some((q_ref, v_ref)) => {
                    assert_close(&q_out, q_ref, 1e-5);
                    assert_close(&v_out, v_ref, 1e-5);
                }
            }
            let wrong = Tensor::<2>::zeros([2, 4], &device);
            assert!(
                matches!(q.q_values(wrong.clone()), Err(Error::ShapeMismatch { .. })),
                "{name}"
            );
            assert!(
                matches!(v.values(wrong), Err(Error::ShapeMismatch { .. })),
                "{name}"
            );
        }
    }
}
