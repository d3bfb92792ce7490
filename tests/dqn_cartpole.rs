//! DQN solves CartPole-v1 with rl-baselines3-zoo's settings within 50k environment steps.
//!
//! Slow in a debug build: `#[ignore]`d in the default `cargo test`; `.ci/run` runs it once in
//! release mode:
//!
//! ```text
//! cargo test --release --test dqn_cartpole -- --ignored
//! ```

use burn::module::Module;
use valuefn::algo::dqn::{Dqn, DqnConfig, DqnTrainConfig, evaluate_greedy, train_dqn};
use valuefn::encode::Features;
use valuefn::env::SyncVecEnv;
use valuefn::env::classic::CartPole;
use valuefn::nn::{QNetwork, QNetworkConfig};

/// The seed the test runs (docs/dqn.md reports how many of five seeds solve it).
const SEED: u64 = 1;

#[test]
#[ignore = "a 50k-step training run: run in release mode (.ci/run does)"]
fn dqn_solves_cartpole_with_the_zoo_settings() {
    let device = valuefn::device::default_device();
    let config = DqnTrainConfig::zoo_cartpole()
        .with_seed(SEED)
        .with_eval_every(2_500)
        .with_eval_episodes(10)
        .with_progress_bar(false);
    let network = QNetworkConfig::new(4, 2)
        .with_hidden(vec![256, 256])
        .with_seed(SEED)
        .init(&device.clone().autodiff())
        .unwrap();
    let mut dqn = Dqn::new(DqnConfig::zoo_cartpole(), network).unwrap();
    let mut envs = SyncVecEnv::new(vec![CartPole::new()]).unwrap();
    let mut eval_env = CartPole::new();
    let report = train_dqn(
        &config,
        &mut dqn,
        &mut envs,
        Some(&mut eval_env),
        &Features::new(4),
        &device,
    )
    .unwrap();
    assert_eq!(report.steps, 50_000);
    // Mean return on 10 new episodes (the same ones for every model).
    let on_new_episodes = |model: &QNetwork| {
        let returns = evaluate_greedy(
            model,
            &mut CartPole::new(),
            &Features::new(4),
            10,
            500,
            10_000,
            &device,
        )
        .unwrap();
        returns.iter().sum::<f64>() / 10.0
    };
    let last = on_new_episodes(&dqn.online().valid());
    let best = report
        .evaluations
        .iter()
        .map(|e| e.1)
        .fold(f64::MIN, f64::max);
    println!(
        "seed {SEED}: evaluations {:?}; final policy on 10 new episodes {last}; {:.1} s",
        report.evaluations, report.seconds
    );
    assert_eq!(
        report.best.map(|(_, r)| r),
        Some(best),
        "the report's best evaluation"
    );
    let best_model = report.best_model.as_ref().expect("the best model is kept");
    println!(
        "best model on the 10 new episodes: {}",
        on_new_episodes(best_model)
    );
    // Solved = a greedy evaluation (10 episodes, every 2,500 steps) reached a mean of 475
    // within the 50k steps, as the zoo's EvalCallback keeps the best model.
    assert!(best >= 475.0, "seed {SEED}: best greedy evaluation {best}");
}
