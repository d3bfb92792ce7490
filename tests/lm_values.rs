//! Value methods for language models: soft Q-learning against exact soft value iteration,
//! KL-regularised PPO, ILQL, value-guided decoding and scored-completion datasets.

mod common;

use burn::module::Module;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use common::text_tasks::{reverse_abc, sequence_envs};
use valuefn::Error;
use valuefn::algo::LearningRateSchedule;
use valuefn::algo::actor_critic::{
    ActorCritic, ActorCriticConfig, AdvantageEstimator, KlPenalty, KlPenaltyConfig, PpoConfig,
};
use valuefn::algo::dqn::SoftQ;
use valuefn::algo::dqn::{Dqn, DqnConfig, TargetUpdate, TdLoss};
use valuefn::algo::ilql::{Ilql, IlqlConfig, IlqlNetworks};
use valuefn::encode::ObservationEncoder;
use valuefn::encode::PaddedTokens;
use valuefn::env::text::{TextGenerationEnv, TokenState};
use valuefn::lm::{
    CompletionReward, GenerationConfig, GruBody, GruBodyConfig, LastTokens, PretrainConfig,
    Sampling, ScoredCompletion, ScoredCompletions, TokenCollector, TokenDecoder, TokenModel,
    ValueGuided, evaluate_decoder, evaluate_tasks, generate, pretrain,
};
use valuefn::nn::{QNetworkConfig, VNetworkConfig};
use valuefn::policy::PolicyAndValue;
use valuefn::policy::{LogitsPolicy, kl_divergence};
use valuefn::prelude::*;
use valuefn::replay::{Replay, TransitionBatch};
use valuefn::tensor_ops::{index_tensor, to_vec_f32};
use valuefn::text::SequenceOp;

fn gru(vocab: usize, hidden: usize, seed: u64, device: &Device) -> TokenModel<GruBody> {
    TokenModel::new(
        GruBodyConfig::new(vocab)
            .with_hidden(hidden)
            .with_seed(seed)
            .init(device)
            .unwrap(),
        seed,
        device,
    )
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `TransitionBatch` of one-step transitions `(s, a, r, s', terminated)` of token states.
fn token_transitions(
    picked: &[(TokenState, usize, f64, TokenState, bool)],
    device: &Device,
) -> TransitionBatch<valuefn::lm::TokenPositions> {
    let n = picked.len();
    let states: Vec<TokenState> = picked.iter().map(|p| p.0.clone()).collect();
    let next: Vec<TokenState> = picked.iter().map(|p| p.3.clone()).collect();
    let rewards: Vec<f32> = picked.iter().map(|p| p.2 as f32).collect();
    TransitionBatch {
        observations: LastTokens.encode(&states, device).unwrap(),
        actions: index_tensor(&picked.iter().map(|p| p.1).collect::<Vec<_>>(), device),
        rewards: Tensor::from_floats(rewards.as_slice(), device),
        next_observations: LastTokens.encode(&next, device).unwrap(),
        terminated: Tensor::<1, Bool>::from_data(
            TensorData::new(picked.iter().map(|p| p.4).collect::<Vec<_>>(), [n]),
            device,
        ),
        discounts: Tensor::ones([n], device),
        weights: Tensor::ones([n], device),
    }
}

/// Soft Q-learning (`SoftQ`, i.e. `Dqn::update_toward` with `returns::soft_q_targets_discounted`)
/// trains a GRU token model's Q head on every transition of the enumerated reversal MDP against
/// a frozen reference model (another GRU, its probabilities at every prefix as `pi_ref`), beta
/// 0.5, until the head's soft fixed point matches `tabular::soft_value_iteration`: every
/// `Q(s, a)` of the 43 decision prefixes within 0.05, and every probability of the induced
/// policy `pi_ref exp((Q - V) / beta)` within 0.05 of the exact soft-optimal policy. Release
/// mode in CI.
#[test]
#[ignore = "2,000 soft Q steps on a GRU: run in release mode (.ci/run does)"]
fn soft_q_head_reaches_exact_soft_value_iteration_of_an_enumerated_text_mdp() {
    use rand::{RngExt, SeedableRng};
    let device = valuefn::device::default_device();
    let train = device.clone().autodiff();
    let (_, text_mdp, decisions) = reverse_abc();
    let actions = 7;
    let beta = 0.5;
    // The reference: an untrained GRU whose preferences differ from state to state.
    let reference = gru(actions, 16, 11, &device);
    let all: Vec<TokenState> = text_mdp.prefixes().to_vec();
    let probabilities = common::normalized_rows(
        &to_vec_f32(
            reference
                .action_probabilities(LastTokens.encode(&all, &device).unwrap())
                .unwrap(),
        ),
        actions,
    );
    let reference_table =
        PolicyTable::new(text_mdp.num_states(), actions, probabilities.clone()).unwrap();
    let exact = valuefn::tabular::soft_value_iteration(
        &text_mdp,
        &reference_table,
        beta,
        &SolverConfig::new().with_gamma(1.0),
    )
    .unwrap();

    let mut pairs = Vec::new();
    for &s in &decisions {
        for a in 0..actions {
            let t = &text_mdp.mdp().transitions(s, a)[0];
            pairs.push((
                all[s].clone(),
                a,
                t.reward,
                all[t.next_state].clone(),
                t.terminal,
            ));
        }
    }
    let config = DqnConfig::new()
        .with_gamma(1.0)
        .with_learning_rate(LearningRateSchedule::Constant { rate: 3e-3 })
        .with_loss(TdLoss::Mse)
        .with_target_update(TargetUpdate::Hard { every: 100 });
    let mut soft = SoftQ::new(config, beta, gru(actions, 64, 1, &train), reference).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let updates: usize = env_or("VALUEFN_SOFT_Q_UPDATES", 2000);
    for _ in 0..updates {
        let picked: Vec<_> = (0..64)
            .map(|_| pairs[rng.random_range(0..pairs.len())].clone())
            .collect();
        soft.update(&token_transitions(&picked, &device)).unwrap();
    }
    let states: Vec<TokenState> = decisions.iter().map(|&s| all[s].clone()).collect();
    let inputs = LastTokens.encode(&states, &device).unwrap();
    let learned = to_vec_f32(soft.online().valid().q_values(inputs.clone()).unwrap());
    let policy: Vec<f32> = to_vec_f32(soft.policy_log_probs(inputs).unwrap())
        .into_iter()
        .map(f32::exp)
        .collect();
    let (mut q_error, mut pi_error): (f64, f64) = (0.0, 0.0);
    for (row, &s) in decisions.iter().enumerate() {
        for a in 0..actions {
            let i = row * actions + a;
            q_error = q_error.max((f64::from(learned[i]) - exact.q_values.get(s, a)).abs());
            pi_error = pi_error.max((f64::from(policy[i]) - exact.policy.probability(s, a)).abs());
        }
    }
    let start = decisions[0];
    eprintln!(
        "{} decision states, beta {beta}: V_soft(start) {:.3} (V* {:.3}); max |Q - Q_soft| \
         {q_error:.4}, max |pi - pi_soft| {pi_error:.4}",
        decisions.len(),
        exact.values[start],
        value_iteration(&text_mdp, &SolverConfig::new().with_gamma(1.0))
            .unwrap()
            .values[start],
    );
    assert!(q_error < 0.05, "Q error {q_error}");
    assert!(pi_error < 0.05, "policy error {pi_error}");
}

/// `SoftQ`'s targets are the soft backup of the target network under the reference, and its
/// induced policy is normalised and tilted toward higher Q; `Dqn::update_toward` with the targets
/// `Dqn::targets` computes equals `Dqn::update`.
#[test]
fn soft_q_targets_and_dqn_update_toward_agree_with_hand_values() {
    let device = valuefn::device::default_device();
    let train = device.clone().autodiff();
    let q = QNetworkConfig::new(2, 3)
        .with_hidden(vec![8])
        .with_seed(1)
        .init(&train)
        .unwrap();
    let reference = valuefn::nn::CategoricalPolicyConfig::new(2, 3)
        .with_output_gain(1.0)
        .init(&device)
        .unwrap();
    let batch = TransitionBatch {
        observations: Tensor::<2>::from_floats([[0.0, 1.0], [1.0, 0.5]], &device),
        actions: Tensor::<1, Int>::from_ints([2, 0], &device),
        rewards: Tensor::from_floats([1.0, -0.5], &device),
        next_observations: Tensor::<2>::from_floats([[1.0, 0.0], [0.3, -1.0]], &device),
        terminated: Tensor::<1, Bool>::from_bool(TensorData::from([false, true]), &device),
        discounts: Tensor::from_floats([0.9, 0.9], &device),
        weights: Tensor::ones([2], &device),
    };
    let beta = 0.7;
    let soft = SoftQ::new(DqnConfig::new(), beta, q.clone(), reference.clone()).unwrap();
    let targets = to_vec_f32(soft.targets(&batch).unwrap());
    // By hand: V(s') = beta ln sum_a pi_ref(a|s') exp(Q(s', a) / beta).
    let next_q = to_vec_f32(q.valid().q_values(batch.next_observations.clone()).unwrap());
    let pi = to_vec_f32(
        reference
            .action_probabilities(batch.next_observations.clone())
            .unwrap(),
    );
    let v0: f64 = beta
        * (0..3)
            .map(|a| f64::from(pi[a]) * (f64::from(next_q[a]) / beta).exp())
            .sum::<f64>()
            .ln();
    assert!((f64::from(targets[0]) - (1.0 + 0.9 * v0)).abs() < 1e-5);
    assert!(
        (targets[1] + 0.5).abs() < 1e-6,
        "terminated: the reward alone"
    );
    // The induced policy: rows sum to 1, and pi / pi_ref grows with Q.
    let states = batch.observations.clone();
    let policy: Vec<f32> = to_vec_f32(soft.policy_log_probs(states.clone()).unwrap())
        .into_iter()
        .map(f32::exp)
        .collect();
    let here_q = to_vec_f32(q.valid().q_values(states.clone()).unwrap());
    let here_pi = to_vec_f32(reference.action_probabilities(states).unwrap());
    for row in 0..2 {
        let p = &policy[row * 3..row * 3 + 3];
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let tilt: Vec<f32> = (0..3).map(|a| p[a] / here_pi[row * 3 + a]).collect();
        let mut order: Vec<usize> = (0..3).collect();
        order.sort_by(|&a, &b| here_q[row * 3 + a].total_cmp(&here_q[row * 3 + b]));
        assert!(tilt[order[0]] <= tilt[order[1]] && tilt[order[1]] <= tilt[order[2]]);
    }
    // update_toward(targets()) is update().
    let mut one = Dqn::new(DqnConfig::new(), q.clone()).unwrap();
    let mut two = Dqn::new(DqnConfig::new(), q.clone().fork(&train)).unwrap();
    let y = one.targets(&batch).unwrap();
    let a = one.update_toward(&batch, y).unwrap();
    let b = two.update(&batch).unwrap();
    assert!((a.loss - b.loss).abs() < 1e-6 && a.td_errors == b.td_errors);
    let probe = batch.observations.clone();
    let after_one = to_vec_f32(one.online().valid().q_values(probe.clone()).unwrap());
    let after_two = to_vec_f32(two.online().valid().q_values(probe).unwrap());
    assert!(max_diff(&after_one, &after_two) < 1e-6);
    // Bad input.
    assert!(matches!(
        SoftQ::new(DqnConfig::new(), 0.0, q.clone(), reference.clone()),
        Err(Error::InvalidConfig { .. })
    ));
    let wide = valuefn::nn::CategoricalPolicyConfig::new(2, 4)
        .init(&device)
        .unwrap();
    assert!(matches!(
        SoftQ::new(DqnConfig::new(), 1.0, q.clone(), wide),
        Err(Error::ShapeMismatch { .. })
    ));
    let before = to_vec_f32(
        one.online()
            .valid()
            .q_values(batch.observations.clone())
            .unwrap(),
    );
    let short = Tensor::<1>::from_floats([1.0], &device);
    assert!(matches!(
        one.update_toward(&batch, short),
        Err(Error::ShapeMismatch { .. })
    ));
    let nan = Tensor::<1>::from_floats([f32::NAN, 0.0], &device);
    assert!(matches!(
        one.update_toward(&batch, nan),
        Err(Error::NonFinite { .. })
    ));
    let after = to_vec_f32(
        one.online()
            .valid()
            .q_values(batch.observations.clone())
            .unwrap(),
    );
    assert_eq!(before, after, "nothing changes on error");
    assert_eq!(one.gradient_steps(), 1);
}

/// ILQL on a one-state bandit logged with two of three actions (rewards 1 and 0, half each):
/// without the CQL term the Q heads reach the logged rewards and the V head the tau-expectile
/// of the data's Q values, exactly `tau` here (`tau (1 - v) = (1 - tau) v`); with it, the
/// action the data never tried ends below both logged ones.
#[test]
fn ilql_reaches_the_expectile_of_the_logged_actions_and_cql_holds_down_unseen_ones() {
    let device = valuefn::device::default_device();
    let train = device.clone().autodiff();
    let batch = |n: usize| {
        let actions: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let rewards: Vec<f32> = actions
            .iter()
            .map(|&a| if a == 0 { 1.0 } else { 0.0 })
            .collect();
        TransitionBatch {
            observations: Tensor::<2>::ones([n, 1], &device),
            actions: index_tensor(&actions, &device),
            rewards: Tensor::from_floats(rewards.as_slice(), &device),
            next_observations: Tensor::<2>::ones([n, 1], &device),
            terminated: Tensor::<1, Bool>::from_data(TensorData::new(vec![true; n], [n]), &device),
            discounts: Tensor::ones([n], &device),
            weights: Tensor::ones([n], &device),
        }
    };
    let data = batch(64);
    for (tau, cql) in [(0.9, 0.0), (0.7, 0.0), (0.7, 1.0)] {
        let q = |seed| {
            QNetworkConfig::new(1, 3)
                .with_hidden(vec![16])
                .with_seed(seed)
                .init(&train)
                .unwrap()
        };
        let v = VNetworkConfig::new(1)
            .with_hidden(vec![16])
            .init(&train)
            .unwrap();
        let config = IlqlConfig::new()
            .with_expectile(tau)
            .with_cql_weight(cql)
            .with_target_rate(0.05)
            .with_learning_rate(LearningRateSchedule::Constant { rate: 1e-2 });
        let mut ilql = Ilql::new(config, IlqlNetworks::new(q(1), q(2), v).unwrap()).unwrap();
        for _ in 0..1500 {
            ilql.update(&data).unwrap();
        }
        let one = Tensor::<2>::ones([1, 1], &device);
        let heads: Vec<Vec<f32>> = ilql
            .q_heads()
            .iter()
            .map(|q| to_vec_f32(q.valid().q_values(one.clone()).unwrap()))
            .collect();
        let value = to_vec_f32(ilql.value().valid().values(one.clone()).unwrap())[0];
        let pessimistic = to_vec_f32(ilql.target_q_values(one).unwrap());
        eprintln!("tau {tau}, cql {cql}: Q {heads:?}, V {value:.4}, min Q' {pessimistic:?}");
        if cql == 0.0 {
            for q in &heads {
                assert!((q[0] - 1.0).abs() < 0.02 && q[1].abs() < 0.02, "{q:?}");
            }
            assert!((f64::from(value) - tau).abs() < 0.03, "V {value} vs {tau}");
            if tau == 0.9 {
                awac_extracts_the_best_logged_action(&data, &ilql, &train);
            }
        } else {
            for q in &heads {
                assert!(q[2] < q[1] - 0.1 && q[1] < q[0], "{q:?}");
            }
        }
    }
    // Bad input changes nothing.
    let q = |seed| {
        QNetworkConfig::new(1, 3)
            .with_seed(seed)
            .init(&train)
            .unwrap()
    };
    let v = VNetworkConfig::new(1).init(&train).unwrap();
    let mut ilql = Ilql::new(IlqlConfig::new(), IlqlNetworks::new(q(1), q(2), v).unwrap()).unwrap();
    let mut bad = batch(4);
    bad.actions = Tensor::<1, Int>::from_ints([0, 1, 3, 0], &device);
    assert!(matches!(
        ilql.update(&bad),
        Err(Error::InvalidAction { .. })
    ));
    let mut bad = batch(4);
    bad.rewards = Tensor::from_floats([0.0, f32::NAN, 0.0, 0.0], &device);
    assert!(matches!(ilql.update(&bad), Err(Error::NonFinite { .. })));
    let mut bad = batch(4);
    bad.observations = Tensor::<2>::ones([4, 2], &device);
    assert!(ilql.update(&bad).is_err());
    assert_eq!(ilql.gradient_steps(), 0);
    let probe = Tensor::<2>::ones([1, 1], &device);
    let fresh = q(1).valid().q_values(probe.clone()).unwrap();
    let kept = ilql.q_heads()[0].valid().q_values(probe).unwrap();
    assert_eq!(to_vec_f32(fresh), to_vec_f32(kept), "nothing changed");
    // A clone shares its parameters' autodiff leaves: the second head would never learn.
    let twin = q(1);
    let networks = IlqlNetworks::new(
        twin.clone(),
        twin,
        VNetworkConfig::new(1).init(&train).unwrap(),
    )
    .unwrap();
    let mut shared = Ilql::new(IlqlConfig::new(), networks).unwrap();
    assert!(matches!(
        shared.update(&batch(4)),
        Err(Error::InvalidConfig {
            field: "second Q head",
            ..
        })
    ));
    // Networks without autodiff have no gradient at all.
    let networks = IlqlNetworks::new(
        q(1).valid(),
        q(2).valid(),
        VNetworkConfig::new(1).init(&device).unwrap(),
    )
    .unwrap();
    let mut frozen = Ilql::new(IlqlConfig::new(), networks).unwrap();
    assert!(matches!(
        frozen.update(&batch(4)),
        Err(Error::InvalidConfig { .. })
    ));
    let mut dqn = Dqn::new(DqnConfig::new(), q(1).valid()).unwrap();
    assert!(matches!(
        dqn.update(&batch(4)),
        Err(Error::InvalidConfig { .. })
    ));
    assert_eq!(dqn.gradient_steps(), 0);
    for bad in [
        IlqlConfig::new().with_expectile(0.0),
        IlqlConfig::new().with_cql_weight(-1.0),
        IlqlConfig::new().with_target_rate(0.0),
        IlqlConfig::new().with_max_grad_norm(Some(0.0)),
    ] {
        assert!(matches!(
            Ilql::new(
                bad,
                IlqlNetworks::new(q(1), q(2), VNetworkConfig::new(1).init(&train).unwrap())
                    .unwrap()
            ),
            Err(Error::InvalidConfig { .. })
        ));
    }
    assert!(matches!(
        IlqlNetworks::new(
            q(1),
            QNetworkConfig::new(1, 4).init(&train).unwrap(),
            VNetworkConfig::new(1).init(&train).unwrap()
        ),
        Err(Error::ShapeMismatch { .. })
    ));
}

/// AWAC on ILQL's advantages `min Q'(s, a) - V(s)` of the logged actions: a policy trained
/// with `awac_loss` (temperature 0.1) puts almost all its mass on the better logged action
/// (advantage +0.1, weight e; the other's is -0.9, weight e^-9) and little on the action the
/// data never tried.
fn awac_extracts_the_best_logged_action(
    data: &TransitionBatch,
    ilql: &Ilql<IlqlNetworks<valuefn::nn::QNetwork, valuefn::nn::VNetwork>>,
    train: &Device,
) {
    use burn::optim::{AdamConfig, GradientsParams};
    use valuefn::algo::ilql::awac_loss;
    use valuefn::policy::log_prob;
    let q = ilql.target_q_values(data.observations.clone()).unwrap();
    let taken = q
        .gather(1, data.actions.clone().unsqueeze_dim(1))
        .squeeze_dim::<1>(1);
    let advantages = taken
        - ilql
            .value()
            .valid()
            .values(data.observations.clone())
            .unwrap();
    let mut policy = valuefn::nn::CategoricalPolicyConfig::new(1, 3)
        .with_hidden(vec![])
        .with_output_gain(1.0)
        .init(train)
        .unwrap();
    let mut adam = AdamConfig::new().init();
    for _ in 0..300 {
        let logits = policy.logits(data.observations.clone()).unwrap();
        let loss = awac_loss(
            log_prob(logits, data.actions.clone()),
            advantages.clone(),
            0.1,
            100.0,
        )
        .unwrap();
        let grads = GradientsParams::from_grads(loss.backward(), &policy);
        policy = adam.step(1e-1, policy, grads);
    }
    let one = Tensor::<2>::ones([1, 1], &data.rewards.device());
    let pi = to_vec_f32(policy.valid().action_probabilities(one).unwrap());
    eprintln!("AWAC policy {pi:?}");
    assert!(pi[0] > 0.95 && pi[2] < 0.05, "{pi:?}");
}

/// An ILQL checkpoint (five networks, three optimiser states, config, step count) restores an
/// updater whose next step equals the original's, on every CPU backend; a missing file or a
/// template of another architecture is an error.
#[test]
fn an_ilql_checkpoint_continues_identically() {
    for (backend, device) in valuefn::device::cpu_devices() {
        let train = device.clone().autodiff();
        let q = QNetworkConfig::new(2, 3).with_hidden(vec![8]);
        let v = VNetworkConfig::new(2).with_hidden(vec![8]);
        let batch = TransitionBatch {
            observations: Tensor::<2>::from_floats([[0.0, 1.0], [1.0, 0.5], [0.2, 0.2]], &device),
            actions: Tensor::<1, Int>::from_ints([2, 0, 1], &device),
            rewards: Tensor::from_floats([1.0, -0.5, 0.3], &device),
            next_observations: Tensor::<2>::from_floats(
                [[1.0, 0.0], [0.3, -1.0], [0.0, 0.0]],
                &device,
            ),
            terminated: Tensor::<1, Bool>::from_bool(
                TensorData::from([false, true, false]),
                &device,
            ),
            discounts: Tensor::from_floats([0.9, 0.9, 0.81], &device),
            weights: Tensor::ones([3], &device),
        };
        let networks = |seeds: [u64; 3]| {
            IlqlNetworks::new(
                q.clone().with_seed(seeds[0]).init(&train).unwrap(),
                q.clone().with_seed(seeds[1]).init(&train).unwrap(),
                v.clone().with_seed(seeds[2]).init(&train).unwrap(),
            )
            .unwrap()
        };
        let config = IlqlConfig::new().with_target_rate(0.1);
        let mut ilql = Ilql::new(config, networks([1, 2, 3])).unwrap();
        for _ in 0..3 {
            ilql.update(&batch).unwrap();
        }
        let dir = std::env::temp_dir().join(format!(
            "valuefn-ilql-checkpoint-{backend}-{}",
            std::process::id()
        ));
        ilql.save(&dir).unwrap();
        let mut loaded = Ilql::load(&dir, networks([9, 9, 9])).unwrap();
        assert_eq!(loaded.gradient_steps(), 3);
        assert_eq!(loaded.config(), ilql.config());
        let a = ilql.update(&batch).unwrap();
        let b = loaded.update(&batch).unwrap();
        assert!(
            (a.q_loss - b.q_loss).abs() < 1e-6,
            "{backend}: {a:?} vs {b:?}"
        );
        assert!((a.value_loss - b.value_loss).abs() < 1e-6, "{backend}");
        let probe = batch.observations.clone();
        for (x, y) in ilql.q_heads().iter().zip(loaded.q_heads()) {
            let (x, y) = (
                to_vec_f32(x.valid().q_values(probe.clone()).unwrap()),
                to_vec_f32(y.valid().q_values(probe.clone()).unwrap()),
            );
            assert!(max_diff(&x, &y) < 1e-6, "{backend}: {x:?} vs {y:?}");
        }
        let (x, y) = (
            to_vec_f32(ilql.target_q_values(probe.clone()).unwrap()),
            to_vec_f32(loaded.target_q_values(probe.clone()).unwrap()),
        );
        assert!(max_diff(&x, &y) < 1e-6, "{backend}: targets");
        let (x, y) = (
            to_vec_f32(ilql.value().valid().values(probe.clone()).unwrap()),
            to_vec_f32(loaded.value().valid().values(probe.clone()).unwrap()),
        );
        assert!(max_diff(&x, &y) < 1e-6, "{backend}: V head");
        // Bad input.
        let wider = QNetworkConfig::new(2, 3)
            .with_hidden(vec![16])
            .init(&train)
            .unwrap();
        let template = IlqlNetworks::new(wider.clone(), wider, v.clone().init(&train).unwrap());
        assert!(matches!(
            Ilql::load(&dir, template.unwrap()),
            Err(Error::Decode { .. })
        ));
        // The V head's optimiser state (group 2) goes missing: refused by name.
        let manifest = valuefn::checkpoint::verify(&dir).unwrap();
        let file = &manifest.files["optimizer_2.bpk"].file;
        std::fs::remove_file(dir.join(file)).unwrap();
        match Ilql::load(&dir, networks([4, 5, 6])) {
            Err(err @ Error::Checkpoint { .. }) => {
                assert!(
                    err.to_string().contains(&format!("{file}: missing")),
                    "{err}"
                )
            }
            other => panic!("{:?}", other.err()),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Value-guided decoding: beta 0 decodes exactly as the reference; the incremental logits equal
/// `log pi_ref + beta (min Q - V)` computed from the three models on whole sequences (the
/// `LogitsPolicy` view); bad settings are errors.
#[test]
fn value_guided_logits_are_the_reference_tilted_by_min_q_minus_v() {
    let device = valuefn::device::default_device();
    let vocab = 9;
    let (reference, q1, q2, v) = (
        gru(vocab, 16, 0, &device),
        gru(vocab, 16, 1, &device),
        gru(vocab, 16, 2, &device),
        gru(vocab, 16, 3, &device),
    );
    let states = [
        TokenState::new(vec![1, 4, 5].into()),
        TokenState::new(vec![1, 6].into()),
    ];
    let prompts = PaddedTokens.encode(&states, &device).unwrap();
    let config = GenerationConfig::new(5).with_stop_at_eos(false);
    let plain = generate(&reference, &prompts, &config).unwrap();
    let zero = ValueGuided::new(&reference, &[q1.clone(), q2.clone()], &v, 0.0).unwrap();
    let same = generate(&zero, &prompts, &config).unwrap();
    assert_eq!(same.tokens, plain.tokens);
    for (a, b) in same.log_probs.iter().zip(&plain.log_probs) {
        assert!(max_diff(a, b) < 1e-5);
    }

    let guided = zero.with_beta(3.0).unwrap();
    let out = generate(&guided, &prompts, &config).unwrap();
    // Replay the generated sequences through the whole-sequence view and by hand.
    let full: Vec<TokenState> = states
        .iter()
        .zip(&out.tokens)
        .map(|(s, generated)| {
            let mut s = s.clone();
            s.generated = generated.clone();
            s
        })
        .collect();
    let (mut prefixes, mut incremental) = (Vec::new(), Vec::new());
    let (mut logits, mut decoding) = guided.start(&prompts).unwrap();
    for step in 0..5 {
        incremental.extend(to_vec_f32(logits.clone()));
        for s in &full {
            let mut p = s.clone();
            p.generated.truncate(step);
            prefixes.push(p);
        }
        let next: Vec<usize> = out.tokens.iter().map(|t| t[step]).collect();
        logits = guided.advance(&next, &mut decoding).unwrap();
    }
    let inputs = LastTokens.encode(&prefixes, &device).unwrap();
    let whole = to_vec_f32(guided.logits(inputs.clone()).unwrap());
    assert!(max_diff(&incremental, &whole) < 1e-4);
    let log_ref = to_vec_f32(burn::tensor::activation::log_softmax(
        reference.logits(inputs.clone()).unwrap(),
        1,
    ));
    let (a, b) = (
        to_vec_f32(q1.q_values(inputs.clone()).unwrap()),
        to_vec_f32(q2.q_values(inputs.clone()).unwrap()),
    );
    let values = to_vec_f32(v.values(inputs).unwrap());
    let by_hand: Vec<f32> = (0..whole.len())
        .map(|i| log_ref[i] + 3.0 * (a[i].min(b[i]) - values[i / vocab]))
        .collect();
    assert!(max_diff(&whole, &by_hand) < 1e-4);
    // Greedy guided decoding takes the argmax of the guided logits.
    for (row, tokens) in out.tokens.iter().enumerate() {
        let first = &incremental[row * vocab..(row + 1) * vocab];
        let best = (0..vocab).max_by(|&x, &y| first[x].total_cmp(&first[y]).then(y.cmp(&x)));
        assert_eq!(Some(tokens[0]), best);
    }
    // Bad settings.
    assert!(matches!(
        ValueGuided::new(&reference, std::slice::from_ref(&q1), &v, -1.0),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        ValueGuided::new(&reference, std::slice::from_ref(&q1), &v, f64::NAN),
        Err(Error::NonFinite { .. } | Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        ValueGuided::new(&reference, &[], &v, 1.0),
        Err(Error::Empty { .. })
    ));
    let other = gru(vocab + 1, 16, 4, &device);
    assert!(matches!(
        ValueGuided::new(&reference, &[other], &v, 1.0),
        Err(Error::ShapeMismatch { .. })
    ));
    let bad = PaddedTokens
        .encode(&[TokenState::new(vec![1, vocab + 3].into())], &device)
        .unwrap();
    assert!(matches!(
        generate(&guided, &bad, &config),
        Err(Error::InvalidAction { .. })
    ));
}

/// Scored completions: sampled from a model and scored per token by the environment's reward
/// (recomputed here from each task's target), saved and loaded as JSON lines, laid out as
/// replay; malformed lines are errors naming the line.
#[test]
fn scored_completions_are_sampled_scored_saved_and_loaded() {
    let device = valuefn::device::default_device();
    let (env, _, _) = sequence_envs(SequenceOp::Copy);
    let model = gru(env.vocab_size(), 16, 0, &device);
    let data = ScoredCompletions::sample(&model, &env, 100, 3, &device).unwrap();
    assert_eq!(data.len(), 100);
    let targets: std::collections::HashMap<Vec<usize>, Vec<usize>> = env
        .tasks()
        .iter()
        .map(|t| (t.prompt().to_vec(), t.target().to_vec()))
        .collect();
    let mut tokens = 0;
    for item in data.items() {
        let target = &targets[item.prompt()];
        let expected: Vec<f64> = item
            .completion()
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let wanted = target
                    .get(i)
                    .copied()
                    .unwrap_or(valuefn::text::Vocabulary::EOS);
                f64::from(u8::from(t == wanted))
            })
            .collect();
        assert_eq!(item.token_rewards(), expected, "{item:?}");
        tokens += item.completion().len();
    }
    assert_eq!(
        ScoredCompletions::sample(&model, &env, 100, 3, &device).unwrap(),
        data,
        "same seed, same samples"
    );
    let replay = data.replay(1.0).unwrap();
    assert_eq!(replay.len(), tokens);

    let dir = std::env::temp_dir().join(format!("valuefn-scored-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("data.jsonl");
    data.save(&path).unwrap();
    assert_eq!(ScoredCompletions::load(&path).unwrap(), data);
    // A total reward is paid on the last token.
    let total = ScoredCompletion::new(
        vec![1, 4],
        vec![5, 6, 2],
        CompletionReward::Total(2.5),
        true,
    )
    .unwrap();
    assert_eq!(total.token_rewards(), vec![0.0, 0.0, 2.5]);
    assert_eq!(total.to_episode().tokens, vec![1, 4, 5, 6, 2]);
    // Bad input.
    for (line, what) in [
        (r#"{"prompt":[1],"completion":[4]}"#, "no reward"),
        (
            r#"{"prompt":[1],"completion":[4],"reward":1,"rewards":[1]}"#,
            "both",
        ),
        (
            r#"{"prompt":[],"completion":[4],"reward":1}"#,
            "empty prompt",
        ),
        (
            r#"{"prompt":[1],"completion":[4,5],"rewards":[1]}"#,
            "short rewards",
        ),
        (
            r#"{"prompt":[1],"completion":[4],"reward":"x"}"#,
            "not a number",
        ),
        ("not json", "not json"),
    ] {
        let text = format!(
            "{}\n\n{line}\n",
            r#"{"prompt":[1],"completion":[4],"reward":0}"#
        );
        match ScoredCompletions::from_json_lines(&text, "t.jsonl") {
            Err(Error::Parse { line: 3, .. }) => {}
            other => panic!("{what}: {other:?}"),
        }
    }
    assert!(matches!(
        ScoredCompletions::from_json_lines("\n", "t"),
        Err(Error::Empty { .. })
    ));
    assert!(matches!(
        ScoredCompletion::new(vec![1], vec![4], CompletionReward::Total(f64::NAN), true),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        ScoredCompletions::load(dir.join("missing.jsonl")),
        Err(Error::Io { .. })
    ));
    assert!(matches!(
        ScoredCompletions::sample(&model, &env, 0, 0, &device),
        Err(Error::InvalidConfig { .. })
    ));
    // A count that would run for ever and size a vector of that many: refused at once.
    assert!(matches!(
        ScoredCompletions::sample(&model, &env, 1 << 40, 0, &device),
        Err(Error::TooLarge { .. })
    ));
    std::fs::remove_dir_all(dir).unwrap();
}

/// The KL penalty subtracts `beta (log pi - log pi_ref)` (k1) from exactly the counted
/// transitions' rewards, adapts beta by the controller's rule, and refuses bad input without
/// touching the batch.
#[test]
fn kl_penalty_subtracts_beta_times_the_log_ratio_from_counted_tokens() {
    let device = valuefn::device::default_device();
    let (env, _, _) = sequence_envs(SequenceOp::Copy);
    let vocab = env.vocab_size();
    let (actor, reference) = (gru(vocab, 16, 0, &device), gru(vocab, 16, 1, &device));
    let rollout = TokenCollector::new(&env, 6, 0)
        .unwrap()
        .collect(&actor, &device)
        .unwrap();
    let mut batch = rollout.batch.clone();
    let config = KlPenaltyConfig::new()
        .with_beta(0.3)
        .with_target(Some(0.01))
        .with_horizon(100);
    let mut penalty = KlPenalty::new(config).unwrap();
    let stats = penalty.apply(&mut batch, &actor, &reference).unwrap();
    let log_pi = to_vec_f32(valuefn::policy::log_prob(
        actor.logits(batch.observations.clone()).unwrap(),
        batch.actions.clone(),
    ));
    let log_ref = to_vec_f32(valuefn::policy::log_prob(
        reference.logits(batch.observations.clone()).unwrap(),
        batch.actions.clone(),
    ));
    let mask = batch.mask.clone().unwrap();
    let [steps, rows] = batch.rollout.shape();
    let after = batch.rollout.rewards();
    let (mut total, mut counted) = (0.0, 0);
    for t in 0..steps {
        for (row, episode) in rollout.episodes.iter().enumerate() {
            let i = t * rows + row;
            if mask[i] {
                let k = f64::from(log_pi[i] - log_ref[i]);
                let expected = episode.rewards[t] - 0.3 * k;
                assert!((f64::from(after[i]) - expected).abs() < 1e-4, "{i}");
                total += k;
                counted += 1;
            } else {
                assert_eq!(after[i], 0.0, "padding untouched");
            }
        }
    }
    assert_eq!(stats.tokens, counted);
    assert!((stats.mean_kl - total / counted as f64).abs() < 1e-5);
    let error = (stats.mean_kl / 0.01 - 1.0).clamp(-0.2, 0.2);
    let next = 0.3 * (1.0 + error * counted as f64 / 100.0);
    assert!((stats.next_beta - next).abs() < 1e-9 && (penalty.beta() - next).abs() < 1e-9);
    // Bad input leaves the batch and beta alone.
    let mut bad = rollout.batch.clone();
    bad.mask = Some(vec![true; 2]);
    let beta = penalty.beta();
    assert!(matches!(
        penalty.apply(&mut bad, &actor, &reference),
        Err(Error::ShapeMismatch { .. })
    ));
    let wide = gru(vocab + 1, 16, 2, &device);
    let mut untouched = rollout.batch.clone();
    assert!(penalty.apply(&mut untouched, &actor, &wide).is_err());
    let mut out_of_range = rollout.batch.clone();
    out_of_range.actions = out_of_range.actions.clone().add_scalar(vocab as i64);
    assert!(matches!(
        penalty.apply(&mut out_of_range, &actor, &reference),
        Err(Error::InvalidAction { .. })
    ));
    assert_eq!(untouched.rollout.rewards(), rollout.batch.rollout.rewards());
    assert_eq!(
        out_of_range.rollout.rewards(),
        rollout.batch.rollout.rewards()
    );
    assert_eq!(penalty.beta(), beta);
    // However many tokens a rollout holds, beta moves by at most 20%.
    let mut fast = KlPenalty::new(
        KlPenaltyConfig::new()
            .with_beta(1.0)
            .with_target(Some(1e3))
            .with_horizon(1),
    )
    .unwrap();
    let mut again = rollout.batch.clone();
    let stats = fast.apply(&mut again, &actor, &reference).unwrap();
    assert!((stats.next_beta - 0.8).abs() < 1e-12, "{stats:?}");
    for bad in [
        KlPenaltyConfig::new().with_beta(-0.1),
        KlPenaltyConfig::new().with_target(Some(0.0)),
        KlPenaltyConfig::new().with_horizon(0),
    ] {
        assert!(matches!(
            KlPenalty::new(bad),
            Err(Error::InvalidConfig { .. })
        ));
    }
}

/// The exact KL of a policy from the reference over the states of fresh rollouts of the policy:
/// mean over generated tokens of `KL(pi(.|s) || pi_ref(.|s))`.
fn exact_kl_on_policy(
    actor: &TokenModel<GruBody>,
    reference: &TokenModel<GruBody>,
    env: &TextGenerationEnv,
    device: &Device,
) -> f64 {
    let rollout = TokenCollector::new(env, 64, 99)
        .unwrap()
        .collect(actor, device)
        .unwrap();
    let states = rollout.batch.observations.clone();
    let kl = to_vec_f32(
        kl_divergence(
            actor.valid().logits(states.clone()).unwrap(),
            reference.valid().logits(states).unwrap(),
        )
        .unwrap(),
    );
    let mask = rollout.batch.mask.unwrap();
    let kept: Vec<f64> = kl
        .iter()
        .zip(&mask)
        .filter_map(|(&k, &m)| m.then_some(f64::from(k)))
        .collect();
    kept.iter().sum::<f64>() / kept.len() as f64
}

/// KL-regularised PPO from a reference: with beta 0 the policy drifts from `pi_ref` as it
/// chases the reward (PPO at a high learning rate, 15 updates of 32 episodes); with a very large
/// beta (10, against rewards of at most 1 per token) it stays within a small exact KL of
/// `pi_ref` (measured on its own rollouts: under 0.05 nats per token and a twentieth of the
/// unregularised drift, both as means over three rollout seeds).
#[test]
fn kl_regularised_ppo_with_a_large_beta_stays_near_the_reference() {
    let device = valuefn::device::default_device();
    let train = device.clone().autodiff();
    let (env, _, _) = sequence_envs(SequenceOp::Copy);
    let vocab = env.vocab_size();
    let reference = gru(vocab, 32, 0, &train);
    let run = |beta: f64, seed: u64| -> f64 {
        let actor = reference.clone().fork(&train);
        let critic = gru(vocab, 32, 5, &train);
        let config = ActorCriticConfig::new()
            .with_gamma(1.0)
            .with_advantage(AdvantageEstimator::Gae { lambda: 0.95 })
            .with_entropy_coef(0.0)
            .with_actor_learning_rate(LearningRateSchedule::Constant { rate: 1e-2 })
            .with_critic_learning_rate(LearningRateSchedule::Constant { rate: 1e-2 })
            .with_ppo(Some(
                PpoConfig::new().with_epochs(4).with_minibatch_size(64),
            ));
        let mut ppo = ActorCritic::new(config, PolicyAndValue::new(actor, critic)).unwrap();
        let mut penalty = KlPenalty::new(KlPenaltyConfig::new().with_beta(beta)).unwrap();
        let mut rollouts = TokenCollector::new(&env, 32, seed).unwrap();
        for _ in 0..15 {
            let mut batch = rollouts.collect(ppo.model(), &device).unwrap().batch;
            penalty.apply(&mut batch, ppo.actor(), &reference).unwrap();
            ppo.update(&batch).unwrap();
        }
        exact_kl_on_policy(ppo.actor(), &reference, &env, &device)
    };
    // One run's figure moves with its rollout seed (beta 10: 0.023 to 0.052 over seeds 0 to
    // 3), so the claim is on the mean of three.
    let mean = |beta: f64| (0..3).map(|seed| run(beta, seed)).sum::<f64>() / 3.0;
    let free = mean(0.0);
    let held = mean(10.0);
    eprintln!(
        "exact KL(pi || pi_ref) per token after 15 PPO updates, mean of 3 seeds: beta 0 \
         {free:.4}, beta 10 {held:.4}"
    );
    assert!(free > 0.1, "beta 0 should drift: {free}");
    // Measured: 1.63 and 0.035 nats per token.
    assert!(
        held < 0.05 && held < free / 20.0,
        "beta 10: {held} (beta 0: {free})"
    );
}

/// The offline pipeline of `examples/text_value_guided.rs`: pretrain `pi_ref` briefly on the
/// copy task (imperfect), sample and score completions from it, learn twin Q heads and a V head
/// with ILQL, then decode held-out prompts greedily with `pi_ref` alone and with value guidance.
/// Guidance raises the reward per target token by at least 0.1. Release mode in CI.
#[test]
#[ignore = "pretraining and ILQL on a GRU: run in release mode (.ci/run does)"]
fn value_guided_decoding_beats_the_reference_on_held_out_prompts() {
    guided_decoding_beats_the_reference(Layout::OneTrunk);
}

/// The same with three separate models (whole target copies: the separate target trunk).
#[test]
#[ignore = "pretraining and ILQL on three GRUs: run in release mode (.ci/run does)"]
fn value_guided_decoding_with_separate_models_beats_the_reference() {
    guided_decoding_beats_the_reference(Layout::Separate);
}

#[derive(Debug, Clone, Copy)]
enum Layout {
    OneTrunk,
    Separate,
}

fn guided_decoding_beats_the_reference(layout: Layout) {
    use rand::SeedableRng;
    let device = valuefn::device::default_device();
    let train = device.clone().autodiff();
    let (env, held_out, train_tasks) = sequence_envs(SequenceOp::Copy);
    let vocab = env.vocab_size();
    let seed: u64 = env_or("LM_SEED", 0);
    let (reference, _) = pretrain(
        gru(vocab, 64, seed, &train),
        &train_tasks,
        &[],
        &PretrainConfig::new().with_epochs(1).with_seed(seed),
    )
    .unwrap();
    let reference = reference.valid();
    let base = evaluate_tasks(&reference, &held_out, Sampling::Greedy, 0, &device)
        .unwrap()
        .reward_per_target_token;
    let data = ScoredCompletions::sample(&reference, &env, 4096, seed, &device).unwrap();
    let mut replay = data.replay(1.0).unwrap();
    let config = IlqlConfig::new()
        .with_expectile(0.8)
        .with_cql_weight(0.1)
        .with_target_rate(0.01)
        .with_learning_rate(LearningRateSchedule::Constant { rate: 1e-3 });
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let steps: usize = env_or("LM_ILQL_STEPS", 1500);
    let start = std::time::Instant::now();
    let guided = match layout {
        Layout::OneTrunk => {
            let mut ilql = Ilql::new(config, gru(vocab, 64, seed + 1, &train)).unwrap();
            for _ in 0..steps {
                ilql.update(&replay.sample(128, &device, &mut rng).unwrap().batch)
                    .unwrap();
            }
            ValueGuided::new(
                &reference,
                &ilql.target_models(),
                &ilql.model().valid(),
                1.0,
            )
            .unwrap()
        }
        Layout::Separate => {
            let networks = IlqlNetworks::new(
                gru(vocab, 64, seed + 1, &train),
                gru(vocab, 64, seed + 2, &train),
                gru(vocab, 64, seed + 3, &train),
            )
            .unwrap();
            let mut ilql = Ilql::new(config, networks).unwrap();
            for _ in 0..steps {
                ilql.update(&replay.sample(128, &device, &mut rng).unwrap().batch)
                    .unwrap();
            }
            let [q1, q2] = ilql.target_q_heads().map(Clone::clone);
            ValueGuided::new(&reference, &[q1, q2], &ilql.value().valid(), 1.0).unwrap()
        }
    };
    let mut scores = Vec::new();
    for beta in [1.0, 4.0, 16.0] {
        let decoder = guided.with_beta(beta).unwrap();
        let score = evaluate_decoder(&decoder, &held_out, Sampling::Greedy, 0, &device)
            .unwrap()
            .reward_per_target_token;
        scores.push((beta, score));
    }
    eprintln!(
        "{layout:?}: data mean reward {:.3}; {steps} ILQL steps in {:.0} s; held-out greedy \
         reward per target token: pi_ref {base:.3}, guided {scores:?}",
        data.mean_reward(),
        start.elapsed().as_secs_f64()
    );
    let best = scores.iter().map(|s| s.1).fold(0.0, f64::max);
    assert!(base < 0.8, "pi_ref should be imperfect: {base}");
    assert!(
        best >= base + 0.1,
        "{layout:?}: guided {best} vs pi_ref {base}"
    );
}
