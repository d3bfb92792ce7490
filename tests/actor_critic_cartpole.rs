//! A2C and PPO solve CartPole-v1 with rl-baselines3-zoo's settings within 100k environment
//! steps (8 copies, `[64, 64]` tanh actor and critic, orthogonal initialisation).
//!
//! Slow in a debug build: `#[ignore]`d in the default `cargo test`; `.ci/run` runs them once
//! in release mode:
//!
//! ```text
//! cargo test --release --test actor_critic_cartpole -- --ignored
//! ```

use valuefn::algo::actor_critic::{
    ActorCritic, ActorCriticConfig, ActorCriticReport, ActorCriticTrainConfig, train_actor_critic,
};
use valuefn::encode::Features;
use valuefn::env::SyncVecEnv;
use valuefn::env::classic::CartPole;
use valuefn::nn::{CategoricalPolicyConfig, VNetworkConfig, WeightInit};
use valuefn::policy::PolicyAndValue;

/// The seed each test runs (docs/actor_critic.md reports five seeds of each).
const SEED: u64 = 1;
const COPIES: usize = 8;

type Model = PolicyAndValue<valuefn::nn::CategoricalPolicy, valuefn::nn::VNetwork>;

fn train(ppo: bool) -> ActorCriticReport<Model> {
    let device = valuefn::device::default_device();
    let train_device = device.clone().autodiff();
    let config = if ppo {
        ActorCriticTrainConfig::ppo_cartpole()
    } else {
        ActorCriticTrainConfig::a2c_cartpole()
    }
    .with_seed(SEED)
    .with_eval_every(5_000)
    .with_eval_episodes(10)
    .with_progress_bar(false);
    let updater_config = if ppo {
        ActorCriticConfig::ppo_cartpole(config.total_gradient_steps(COPIES, 20, 256))
    } else {
        ActorCriticConfig::new()
    }
    .with_seed(SEED);
    let actor = CategoricalPolicyConfig::new(4, 2)
        .with_seed(SEED)
        .init(&train_device)
        .unwrap();
    let critic = VNetworkConfig::new(4)
        .with_init(WeightInit::Orthogonal {
            hidden_gain: std::f64::consts::SQRT_2,
        })
        .with_seed(SEED + 1)
        .init(&train_device)
        .unwrap();
    let mut updater = ActorCritic::new(updater_config, PolicyAndValue::new(actor, critic)).unwrap();
    let mut envs = SyncVecEnv::new((0..COPIES).map(|_| CartPole::new()).collect()).unwrap();
    let mut eval_env = CartPole::new();
    train_actor_critic(
        &config,
        &mut updater,
        &mut envs,
        Some(&mut eval_env),
        &Features::new(4),
        &device,
    )
    .unwrap()
}

fn check(name: &str, report: &ActorCriticReport<Model>) {
    let best = report
        .evaluations
        .iter()
        .map(|&(_, r)| r)
        .fold(f64::MIN, f64::max);
    eprintln!(
        "{name}, seed {SEED}: evaluations {:?}; {:.0} env steps/s",
        report.evaluations,
        report.steps as f64 / report.seconds
    );
    assert!(report.steps >= 100_000);
    assert_eq!(
        report.best.map(|(_, r)| r),
        Some(best),
        "the report's best evaluation"
    );
    assert!(report.best_model.is_some());
    assert!(
        best >= 475.0,
        "{name} seed {SEED}: best greedy mean return {best} over 10 episodes"
    );
}

#[test]
#[ignore = "a 100k-step training run: run in release mode (.ci/run does)"]
fn a2c_solves_cartpole_with_the_zoo_settings() {
    check("A2C", &train(false));
}

#[test]
#[ignore = "a 100k-step training run: run in release mode (.ci/run does)"]
fn ppo_solves_cartpole_with_the_zoo_settings() {
    check("PPO", &train(true));
}
