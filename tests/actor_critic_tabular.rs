//! Tabular actor-critic held to the exact solvers: on random finite MDPs, a softmax-table actor
//! and a value-table critic trained by the same `ActorCritic` updater as the networks (one-step
//! TD errors, plain SGD) end with a greedy policy whose exact value is within a stated tolerance
//! of `V*`, and a critic within a stated tolerance of the exact value of its own softmax policy.

mod common;

use common::proptest_config;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use valuefn::algo::actor_critic::{
    ActorCritic, ActorCriticConfig, ActorCriticTrainConfig, AdvantageEstimator, train_actor_critic,
};
use valuefn::algo::{LearningRateSchedule, OptimizerConfig};
use valuefn::encode::StateIndex;
use valuefn::env::{SyncVecEnv, TabularEnv, TimeLimit};
use valuefn::nn::{SoftmaxTable, TrainableVTable};
use valuefn::policy::PolicyAndValue;
use valuefn::prelude::*;
use valuefn::tabular::RandomMdpConfig;

const STATES: usize = 4;
const GAMMA: f64 = 0.8;

/// Trains on one random MDP; returns (regret of the greedy policy, critic error against the
/// exact value of the softmax policy), both relative to `1 + max |V*|`.
fn run(seed: u64) -> (f64, f64) {
    let mdp = RandomMdpConfig::new(STATES, 2)
        .with_terminal_probability(0.2)
        .generate(&mut StdRng::seed_from_u64(seed))
        .unwrap();
    let truth = value_iteration(&mdp, &SolverConfig::new().with_gamma(GAMMA)).unwrap();
    let scale = 1.0 + truth.values.iter().fold(0.0f64, |m, x| m.max(x.abs()));

    let device = valuefn::device::default_device();
    let train = device.clone().autodiff();
    let updates = 1500;
    // One-step TD errors (GAE with lambda 0) and plain SGD: with tables, the textbook one-step
    // actor-critic (Sutton and Barto, section 13.5) applied to a batch of 64 transitions. The
    // actor's rate falls to 0 so the critic ends on a fixed policy.
    let config = ActorCriticConfig::new()
        .with_gamma(GAMMA)
        .with_advantage(AdvantageEstimator::Gae { lambda: 0.0 })
        .with_max_grad_norm(None)
        .with_actor_optimizer(OptimizerConfig::Sgd)
        .with_critic_optimizer(OptimizerConfig::Sgd)
        .with_actor_learning_rate(LearningRateSchedule::Linear {
            start: 4.0,
            end: 0.0,
            steps: updates * 4 / 5,
        })
        .with_critic_learning_rate(LearningRateSchedule::Linear {
            start: 2.0,
            end: 0.2,
            steps: updates,
        });
    let mut updater = ActorCritic::new(
        config,
        PolicyAndValue::new(
            SoftmaxTable::zeros(STATES, 2, &train).unwrap(),
            TrainableVTable::zeros(STATES, &train).unwrap(),
        ),
    )
    .unwrap();
    let copies = (0..16)
        .map(|_| TimeLimit::new(TabularEnv::new(mdp.clone()), 20).unwrap())
        .collect();
    let mut envs = SyncVecEnv::new(copies).unwrap();
    let n_steps = 4;
    let train_config = ActorCriticTrainConfig::new()
        .with_n_steps(n_steps)
        .with_total_steps(updates * (n_steps * 16) as u64)
        .with_seed(seed)
        .with_progress_bar(false);
    train_actor_critic(
        &train_config,
        &mut updater,
        &mut envs,
        None,
        &StateIndex::new(STATES),
        &device,
    )
    .unwrap();

    let softmax = updater.actor().to_policy_table();
    let greedy = PolicyTable::greedy(
        &QValues::new(
            STATES,
            2,
            softmax.as_slice().to_vec(), // argmax of the probabilities = argmax of the logits
        )
        .unwrap(),
    );
    let greedy_value = evaluate_policy_exact(&mdp, &greedy, GAMMA).unwrap();
    let regret = truth
        .values
        .iter()
        .zip(&greedy_value.values)
        .map(|(best, got)| best - got)
        .fold(0.0f64, f64::max);
    let own = evaluate_policy_exact(&mdp, &softmax, GAMMA).unwrap();
    let critic = updater.critic().to_vtable().to_vec();
    let critic_error = common::max_abs_diff(&critic, &own.values);
    (regret / scale, critic_error / scale)
}

proptest! {
    #![proptest_config(proptest_config(6))]

    #[test]
    fn tabular_actor_critic_is_near_optimal_and_its_critic_exact(seed in any::<u64>()) {
        let (regret, critic_error) = run(seed);
        eprintln!("seed {seed}: regret {regret:.4}, critic error {critic_error:.4}");
        prop_assert!(regret < 0.02, "regret {regret} (relative to 1 + max |V*|)");
        prop_assert!(critic_error < 0.05, "critic error {critic_error} (relative)");
    }
}
