//! The learner core on a language model: policy and value heads on one trunk, trained by
//! `ActorCritic` with one body pass forward (and one backward) per A2C update, and the update
//! equal to a gradient step computed by hand.

mod common;

use std::cell::Cell;

use burn::module::{Module, Param};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use common::text_tasks::reverse_abc;
use valuefn::algo::actor_critic::{ActorCritic, ActorCriticConfig, PpoConfig, RolloutBatch};
use valuefn::algo::{LearningRateSchedule, OptimizerConfig};
use valuefn::batch::TokenBatch;
use valuefn::lm::{
    GruBody, GruBodyConfig, LmBody, TokenCollector, TokenModel, TokenPositions, ValueDecoder,
};
use valuefn::policy::{ActorCriticModel, PolicyAndValue};
use valuefn::returns::Rollout;
use valuefn::tensor_ops::{index_tensor, to_vec_f32};

thread_local! {
    /// Body calls on this thread: full passes, prefills, cached steps.
    static CALLS: Cell<[usize; 3]> = const { Cell::new([0; 3]) };
}

fn count(which: usize) {
    CALLS.with(|calls| {
        let mut now = calls.get();
        now[which] += 1;
        calls.set(now);
    });
}

/// Body calls `[forward, prefill, step]` made by `f` on this thread.
fn calls_of<T>(f: impl FnOnce() -> T) -> ([usize; 3], T) {
    CALLS.with(|calls| calls.set([0; 3]));
    let out = f();
    (CALLS.with(Cell::get), out)
}

/// Any body, counting its calls.
#[derive(Module, Debug)]
struct Counting<B> {
    inner: B,
}

impl<B: LmBody> LmBody for Counting<B> {
    type Cache = B::Cache;

    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }

    fn hidden_size(&self) -> usize {
        self.inner.hidden_size()
    }

    fn max_len(&self) -> Option<usize> {
        self.inner.max_len()
    }

    fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2, Bool>) -> Tensor<3> {
        count(0);
        self.inner.forward(ids, mask)
    }

    fn prefill(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Bool>,
        lengths: &[usize],
    ) -> (Tensor<2>, Self::Cache) {
        count(1);
        self.inner.prefill(ids, mask, lengths)
    }

    fn step(&self, tokens: Tensor<1, Int>, cache: &mut Self::Cache) -> Tensor<2> {
        count(2);
        self.inner.step(tokens, cache)
    }
}

fn counted_gru(vocab: usize, seed: u64, device: &Device) -> TokenModel<Counting<GruBody>> {
    let body = GruBodyConfig::new(vocab)
        .with_hidden(16)
        .with_seed(seed)
        .init(device)
        .unwrap();
    TokenModel::new(Counting { inner: body }, seed, device)
}

fn adam() -> ActorCriticConfig {
    let rate = LearningRateSchedule::Constant { rate: 1e-3 };
    let adam = OptimizerConfig::Adam { epsilon: 1e-8 };
    ActorCriticConfig::new()
        .with_gamma(1.0)
        .with_actor_optimizer(adam)
        .with_critic_optimizer(adam)
        .with_actor_learning_rate(rate)
        .with_critic_learning_rate(rate)
}

/// Collection is one prefill and one cached step per token; an A2C update of the joint model
/// on the rollout it collected is **one** body pass (forward, and the backward through it).
/// Without the rollout's scores it is two (the values are recomputed); two separate models
/// take three (critic on s and s', actor, critic), the count before the learner core.
#[test]
fn an_a2c_update_of_a_token_model_runs_its_trunk_once() {
    let (env, _, _) = reverse_abc();
    for (_, device) in valuefn::device::cpu_devices() {
        let train = device.clone().autodiff();
        let mut rollouts = TokenCollector::new(&env, 8, 0).unwrap();
        let mut a2c = ActorCritic::new(adam(), counted_gru(env.vocab_size(), 0, &train)).unwrap();
        let ([forward, prefill, steps], rollout) =
            calls_of(|| rollouts.collect(a2c.model(), &device).unwrap());
        assert_eq!((forward, prefill), (0, 1), "collection runs no full pass");
        let longest = rollout
            .episodes
            .iter()
            .map(|e| e.rewards.len())
            .max()
            .unwrap();
        // One cached step per token after the first (no episode bootstraps past its end, so
        // no final state is scored).
        assert_eq!(steps, longest - 1, "{steps} steps for {longest}");
        let scores = rollout
            .batch
            .scores
            .clone()
            .expect("the joint model keeps its scores");
        let [steps, rows] = rollout.batch.rollout.shape();
        assert_eq!(scores.values.len(), steps * rows);

        let (calls, stats) = calls_of(|| a2c.update(&rollout.batch).unwrap());
        assert_eq!(calls, [1, 0, 0], "one trunk pass per A2C update");
        assert_eq!(stats.gradient_steps, 1);

        let mut unscored = rollouts.collect(a2c.model(), &device).unwrap().batch;
        unscored.scores = None;
        let (calls, _) = calls_of(|| a2c.update(&unscored).unwrap());
        assert_eq!(calls, [2, 0, 0], "values recomputed without scores");

        // Two separate models: the critic scores s and s' (one pass), then the actor and the
        // critic each run their own body in the gradient step.
        let pair = PolicyAndValue::new(
            counted_gru(env.vocab_size(), 1, &train),
            counted_gru(env.vocab_size(), 2, &train),
        );
        let mut separate = ActorCritic::new(adam(), pair).unwrap();
        let mut batch = rollouts.collect(separate.model(), &device).unwrap().batch;
        assert!(
            batch.scores.is_some(),
            "the pair decodes its critic beside its policy"
        );
        batch.scores = None;
        let (calls, _) = calls_of(|| separate.update(&batch).unwrap());
        assert_eq!(calls, [3, 0, 0]);

        // PPO: one pass per minibatch, and none to score the rollout.
        let ppo = adam().with_ppo(Some(
            PpoConfig::new().with_epochs(2).with_minibatch_size(1 << 20),
        ));
        let mut ppo = ActorCritic::new(ppo, counted_gru(env.vocab_size(), 3, &train)).unwrap();
        let batch = rollouts.collect(ppo.model(), &device).unwrap().batch;
        let (calls, stats) = calls_of(|| ppo.update(&batch).unwrap());
        assert_eq!(stats.gradient_steps, 2);
        assert_eq!(calls, [2, 0, 0]);
    }
}

/// A body whose hidden state at each position is the embedding of the token there: small
/// enough to differentiate by hand.
#[derive(Module, Debug)]
struct TokenEmbedding {
    table: Param<Tensor<2>>,
}

impl LmBody for TokenEmbedding {
    type Cache = ();

    fn vocab_size(&self) -> usize {
        self.table.dims()[0]
    }

    fn hidden_size(&self) -> usize {
        self.table.dims()[1]
    }

    fn max_len(&self) -> Option<usize> {
        None
    }

    fn forward(&self, ids: Tensor<2, Int>, _mask: Tensor<2, Bool>) -> Tensor<3> {
        let [b, t] = ids.dims();
        let h = self.hidden_size();
        self.table
            .val()
            .select(0, ids.reshape([b * t]))
            .reshape([b, t, h])
    }

    fn prefill(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Bool>,
        lengths: &[usize],
    ) -> (Tensor<2>, ()) {
        let hidden = self.forward(ids, mask);
        let [b, t, h] = hidden.dims();
        let last: Vec<usize> = lengths
            .iter()
            .enumerate()
            .map(|(r, &n)| r * t + n - 1)
            .collect();
        let device = hidden.device();
        (
            hidden
                .reshape([b * t, h])
                .select(0, index_tensor(&last, &device)),
            (),
        )
    }

    fn step(&self, tokens: Tensor<1, Int>, _cache: &mut ()) -> Tensor<2> {
        self.table.val().select(0, tokens)
    }
}

/// Row-major `[rows, cols]` values of a 2-D tensor, in f64.
fn matrix(t: Tensor<2>) -> Vec<Vec<f64>> {
    let [_, cols] = t.dims();
    to_vec_f32(t)
        .chunks(cols)
        .map(|row| row.iter().map(|&x| f64::from(x)).collect())
        .collect()
}

fn vector(t: Tensor<1>) -> Vec<f64> {
    to_vec_f32(t).into_iter().map(f64::from).collect()
}

/// One A2C step of policy and value heads on one shared embedding trunk, with SGD at a rate
/// for the actor (trunk and policy head) and another for the critic (value head), equals the
/// gradient of
/// `L = -mean(A log pi(a|s)) + c_V mean((V(s) - R)^2) - c_H mean(H(pi(.|s)))` worked out by
/// hand, the trunk receiving the sum of both heads' gradients.
#[test]
fn the_shared_trunk_update_equals_a_hand_computed_gradient_step() {
    let (vocab, width) = (4, 3);
    let (actor_rate, critic_rate, value_coef, entropy_coef) = (0.1, 0.3, 0.5, 0.01);
    for (_, device) in valuefn::device::cpu_devices() {
        let train = device.clone().autodiff();
        let table: Vec<f32> = (0..vocab * width)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) / 7.0)
            .collect();
        let body = TokenEmbedding {
            table: Param::from_tensor(Tensor::from_data(
                TensorData::new(table.clone(), [vocab, width]),
                &train,
            )),
        };
        let model = TokenModel::new(body, 3, &train);
        // Initial parameters: embedding E [V, H], policy head W [H, V] + b, value head u [H] + c.
        let e0: Vec<Vec<f64>> = table
            .chunks(width)
            .map(|r| r.iter().map(|&x| f64::from(x)).collect())
            .collect();
        let w0 = matrix(model.policy_head().weight.val());
        let b0 = vector(model.policy_head().bias.as_ref().unwrap().val());
        let u0: Vec<f64> = matrix(model.value_head().weight.val())
            .into_iter()
            .map(|r| r[0])
            .collect();
        let c0 = vector(model.value_head().bias.as_ref().unwrap().val())[0];

        // Two one-step episodes (T = 1, B = 2): states at token 2 of sequence [1, 2] and token 3
        // of [1, 3]; actions 0 and 2; rewards 1 and -0.5; both terminate, so A = R - V(s).
        let ids =
            Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 2, 1, 3], [2, 2]), &device);
        let sequences = TokenBatch {
            mask: ids.clone().greater_equal_elem(0),
            ids,
            lengths: index_tensor(&[2, 2], &device),
        };
        let states = TokenPositions::new(sequences, vec![(0, 1), (1, 1)]).unwrap();
        let (tokens, actions, rewards) = ([2usize, 3], [0usize, 2], [1.0f64, -0.5]);
        let batch = RolloutBatch {
            observations: states.clone(),
            actions: index_tensor(&actions, &device),
            next_observations: states.clone(),
            rollout: Rollout::new(
                1,
                2,
                vec![1.0, -0.5],
                vec![true, true],
                vec![false; 2],
                &device,
            )
            .unwrap(),
            mask: None,
            scores: None,
        };
        let config = ActorCriticConfig::new()
            .with_gamma(1.0)
            .with_value_coef(value_coef)
            .with_entropy_coef(entropy_coef)
            .with_max_grad_norm(None)
            .with_actor_optimizer(OptimizerConfig::Sgd)
            .with_critic_optimizer(OptimizerConfig::Sgd)
            .with_actor_learning_rate(LearningRateSchedule::Constant { rate: actor_rate })
            .with_critic_learning_rate(LearningRateSchedule::Constant { rate: critic_rate });
        let mut a2c = ActorCritic::new(config, model).unwrap();
        a2c.update(&batch).unwrap();

        // By hand, in f64.
        let n = 2.0;
        let mut e = e0.clone();
        let mut w = w0.clone();
        let mut b = b0.clone();
        let mut u = u0.clone();
        let mut c = c0;
        for i in 0..2 {
            let h = &e0[tokens[i]];
            let z: Vec<f64> = (0..vocab)
                .map(|a| b0[a] + (0..width).map(|k| h[k] * w0[k][a]).sum::<f64>())
                .collect();
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let norm: f64 = z.iter().map(|x| (x - max).exp()).sum();
            let p: Vec<f64> = z.iter().map(|x| (x - max).exp() / norm).collect();
            let logp: Vec<f64> = p.iter().map(|x| x.ln()).collect();
            let entropy: f64 = -p.iter().zip(&logp).map(|(p, l)| p * l).sum::<f64>();
            let v = c0 + (0..width).map(|k| h[k] * u0[k]).sum::<f64>();
            let advantage = rewards[i] - v;
            // dL/dz = -(A / n)(onehot - p) - (c_H / n) dH/dz, dH/dz_a = -p_a (log p_a + H).
            let dz: Vec<f64> = (0..vocab)
                .map(|a| {
                    let onehot = f64::from(u8::from(a == actions[i]));
                    -advantage / n * (onehot - p[a]) + entropy_coef / n * p[a] * (logp[a] + entropy)
                })
                .collect();
            let dv = value_coef * 2.0 * (v - rewards[i]) / n;
            for k in 0..width {
                let dh = (0..vocab).map(|a| w0[k][a] * dz[a]).sum::<f64>() + u0[k] * dv;
                e[tokens[i]][k] -= actor_rate * dh;
                for a in 0..vocab {
                    w[k][a] -= actor_rate * h[k] * dz[a];
                }
                u[k] -= critic_rate * h[k] * dv;
            }
            for a in 0..vocab {
                b[a] -= actor_rate * dz[a];
            }
            c -= critic_rate * dv;
        }

        let trained = a2c.model();
        let close = |got: &[f64], want: &[f64], what: &str| {
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-5, "{what}: {got:?} vs {want:?}");
            }
        };
        let got_e = matrix(trained.body().table.val());
        for (row, want) in got_e.iter().zip(&e) {
            close(row, want, "embedding");
        }
        for (row, want) in matrix(trained.policy_head().weight.val()).iter().zip(&w) {
            close(row, want, "policy weight");
        }
        close(
            &vector(trained.policy_head().bias.as_ref().unwrap().val()),
            &b,
            "policy bias",
        );
        let got_u: Vec<f64> = matrix(trained.value_head().weight.val())
            .into_iter()
            .map(|r| r[0])
            .collect();
        close(&got_u, &u, "value weight");
        close(
            &vector(trained.value_head().bias.as_ref().unwrap().val()),
            &[c],
            "value bias",
        );
        // The untouched rows of the embedding (tokens 0 and 1 are never a state) stay put.
        close(&got_e[0], &e0[0], "unused embedding row");
        assert!((got_e[2][0] - e0[2][0]).abs() > 1e-6, "the trunk moved");
        // And the model still answers through the trait.
        let out = trained.logits_and_values(states).unwrap();
        assert_eq!(out.logits.dims(), [2, vocab]);
    }
}

/// What collection keeps equals what a full pass of the same model gives: `V(s)`, `V(s')`
/// (within episodes), and `log pi(a|s)` of the sampled tokens, on every
/// counted transition; for the joint model and for a pair of models.
#[test]
fn collected_scores_equal_a_full_pass_of_the_model() {
    let (env, _, _) = reverse_abc();
    for (_, device) in valuefn::device::cpu_devices() {
        let mut rollouts = TokenCollector::new(&env, 16, 1).unwrap();
        let joint = counted_gru(env.vocab_size(), 4, &device);
        assert!(scores_match_a_full_pass(&joint, &mut rollouts, &device) > 0);
        let pair = PolicyAndValue::new(
            counted_gru(env.vocab_size(), 5, &device),
            counted_gru(env.vocab_size(), 6, &device),
        );
        assert!(scores_match_a_full_pass(&pair, &mut rollouts, &device) > 0);
    }
}

/// Collects with `model` and compares the rollout's scores with a full pass on every counted
/// transition; returns how many `V(s')` were compared.
fn scores_match_a_full_pass<M, R>(
    model: &M,
    rollouts: &mut TokenCollector<R>,
    device: &Device,
) -> usize
where
    M: Module + ValueDecoder + ActorCriticModel<Input = TokenPositions>,
    R: valuefn::env::text::TextReward + Clone,
{
    let batch = rollouts.collect(model, device).unwrap().batch;
    let full = model.logits_and_values(batch.observations.clone()).unwrap();
    let values = to_vec_f32(full.values);
    let next = to_vec_f32(model.state_values(batch.next_observations.clone()).unwrap());
    let log_probs = to_vec_f32(valuefn::policy::log_prob(
        full.logits,
        batch.actions.clone(),
    ));
    let scores = batch.scores.expect("scores");
    let mask = batch.mask.expect("a token rollout is masked");
    let rows = batch.rollout.shape()[1];
    let mut compared = 0;
    for i in (0..mask.len()).filter(|&i| mask[i]) {
        assert!((scores.values[i] - values[i]).abs() < 1e-4, "V(s) at {i}");
        assert!(
            (scores.log_probs[i] - log_probs[i]).abs() < 1e-4,
            "log pi at {i}"
        );
        // V(s') of a step the row played on from (at its last step the episode ends: never
        // read).
        if mask.get(i + rows) == Some(&true) {
            assert!(
                (scores.next_values[i] - next[i]).abs() < 1e-4,
                "V(s') at {i}"
            );
            compared += 1;
        }
    }
    compared
}

/// Scores that do not fit the rollout, or a NaN in a counted one, are typed errors and the
/// model is unchanged; optimiser settings that vanish in `f32` are refused by every learner's
/// config.
#[test]
fn bad_scores_and_optimiser_settings_are_refused() {
    use valuefn::Error;
    use valuefn::algo::dqn::DqnConfig;
    use valuefn::algo::ilql::IlqlConfig;
    use valuefn::lm::PretrainConfig;

    let (env, _, _) = reverse_abc();
    let device = valuefn::device::default_device();
    let train = device.clone().autodiff();
    let mut a2c = ActorCritic::new(adam(), counted_gru(env.vocab_size(), 7, &train)).unwrap();
    let mut rollouts = TokenCollector::new(&env, 4, 0).unwrap();
    let batch = rollouts.collect(a2c.model(), &device).unwrap().batch;
    let probe = batch.observations.clone();
    let before = to_vec_f32(
        a2c.model()
            .valid()
            .logits_and_values(probe.clone())
            .unwrap()
            .logits,
    );

    let mut short = batch.clone();
    short.scores.as_mut().unwrap().values.pop();
    assert!(matches!(
        a2c.update(&short),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut nan = batch.clone();
    let first_counted = nan.mask.as_ref().unwrap().iter().position(|&m| m).unwrap();
    nan.scores.as_mut().unwrap().log_probs[first_counted] = f32::NAN;
    assert!(matches!(a2c.update(&nan), Err(Error::NonFinite { .. })));
    assert_eq!(a2c.gradient_steps(), 0);
    let after = to_vec_f32(a2c.model().valid().logits_and_values(probe).unwrap().logits);
    assert_eq!(before, after, "nothing changed");
    a2c.update(&batch).unwrap();
    assert_eq!(a2c.gradient_steps(), 1);

    let tiny = OptimizerConfig::Adam { epsilon: 1e-300 };
    assert!(tiny.validate().is_err(), "1e-300 is 0 in f32");
    let decay = OptimizerConfig::AdamW {
        epsilon: 1e-8,
        weight_decay: -0.1,
    };
    assert!(decay.validate().is_err());
    assert!(DqnConfig::new().with_optimizer(tiny).validate().is_err());
    assert!(IlqlConfig::new().with_optimizer(decay).validate().is_err());
    assert!(
        PretrainConfig::new()
            .with_optimizer(tiny)
            .validate()
            .is_err()
    );
    assert!(adam().with_critic_optimizer(tiny).validate().is_err());
    let adamw = OptimizerConfig::AdamW {
        epsilon: 1e-8,
        weight_decay: 0.01,
    };
    assert!(DqnConfig::new().with_optimizer(adamw).validate().is_ok());
}

/// ILQL on one trunk reads the states and the next states of a replayed batch from one body
/// pass (they are positions of the same sequences), as the A2C update does; three separate
/// models run five (the V model on the next states, the two Q models, the V model again, and
/// the two target models: six calls with the targets' own pass).
#[test]
fn an_ilql_step_on_one_trunk_runs_it_once() {
    use rand::SeedableRng;
    use valuefn::algo::ilql::{Ilql, IlqlConfig, IlqlNetworks};
    use valuefn::replay::Replay;

    let (env, _, _) = reverse_abc();
    let device = valuefn::device::default_device();
    let train = device.clone().autodiff();
    let vocab = env.vocab_size();
    let played = TokenCollector::new(&env, 8, 0)
        .unwrap()
        .collect(&counted_gru(vocab, 0, &device), &device)
        .unwrap();
    let mut replay = valuefn::lm::TokenReplay::new(1000, 1.0).unwrap();
    for episode in &played.episodes {
        replay.push(episode).unwrap();
    }
    let batch = replay
        .sample(32, &device, &mut rand::rngs::StdRng::seed_from_u64(0))
        .unwrap()
        .batch;

    let mut one = Ilql::new(IlqlConfig::new(), counted_gru(vocab, 1, &train)).unwrap();
    let (calls, stats) = calls_of(|| one.update(&batch).unwrap());
    assert_eq!(calls, [1, 0, 0], "one trunk pass per ILQL step");
    assert!(stats.q_loss.is_finite() && stats.value_loss.is_finite());

    let networks = IlqlNetworks::new(
        counted_gru(vocab, 2, &train),
        counted_gru(vocab, 3, &train),
        counted_gru(vocab, 4, &train),
    )
    .unwrap();
    let mut separate = Ilql::new(IlqlConfig::new(), networks).unwrap();
    let (calls, _) = calls_of(|| separate.update(&batch).unwrap());
    assert_eq!(calls, [6, 0, 0]);

    // The targets follow slowly: one step moves the shared trunk by one Adam step and the
    // target heads by a Polyak step of 0.005 toward the online heads.
    let probe = batch.observations.clone();
    let fresh = Ilql::new(IlqlConfig::new(), counted_gru(vocab, 1, &train)).unwrap();
    let before = to_vec_f32(fresh.target_q_values(probe.clone()).unwrap());
    let after = to_vec_f32(one.target_q_values(probe).unwrap());
    let moved = before
        .iter()
        .zip(&after)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(moved > 0.0 && moved < 0.05, "targets moved by {moved}");
}

/// The library's on-policy loop over tokens is the loop one would write out (collect, KL
/// penalty, update, replay and Q steps, evaluation when due): the same parameters and Q head
/// bit for bit, a step per episode, every episode's return logged, and still one trunk pass per
/// A2C update.
#[test]
fn the_token_training_loop_equals_the_loop_written_out() {
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use valuefn::algo::RunConfig;
    use valuefn::algo::actor_critic::{KlPenalty, KlPenaltyConfig, train_on_policy};
    use valuefn::algo::dqn::{Dqn, DqnConfig};
    use valuefn::lm::{QFromReplay, TokenReplay};
    use valuefn::replay::Replay;

    let (env, _, _) = reverse_abc();
    let (episodes, updates) = (6, 4);
    for (_, device) in valuefn::device::cpu_devices() {
        let train = device.clone().autodiff();
        let vocab = env.vocab_size();
        let reference = counted_gru(vocab, 9, &device);
        let kl = || {
            KlPenalty::new(
                KlPenaltyConfig::new()
                    .with_beta(0.3)
                    .with_target(Some(0.01)),
            )
        };
        let q_config = || DqnConfig::new().with_gamma(1.0);

        // Written out.
        let mut a2c = ActorCritic::new(adam(), counted_gru(vocab, 0, &train)).unwrap();
        let mut dqn = Dqn::new(q_config(), counted_gru(vocab, 1, &train)).unwrap();
        let mut replay = TokenReplay::new(1000, 1.0).unwrap();
        let mut penalty = kl().unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        let mut rollouts = TokenCollector::new(&env, episodes, 3).unwrap();
        let (mut returns, mut evaluations) = (Vec::new(), Vec::new());
        let mut total = [0; 3];
        for update in 1..=updates {
            let (calls, mut rollout) = calls_of(|| rollouts.collect(a2c.model(), &device).unwrap());
            assert_eq!(
                (calls[0], calls[1]),
                (0, 1),
                "collection: one prefill, cached steps"
            );
            let (kl_calls, _) = calls_of(|| {
                penalty
                    .apply(&mut rollout.batch, a2c.model(), &reference)
                    .unwrap()
            });
            assert_eq!(kl_calls, [1, 0, 0], "one pass of the reference");
            let (update_calls, _) = calls_of(|| a2c.update(&rollout.batch).unwrap());
            assert_eq!(update_calls, [1, 0, 0], "one trunk pass per A2C update");
            returns.extend(rollout.episodes.iter().map(|e| e.total_reward()));
            if update % 2 == 0 {
                // The evaluation below returns how many evaluations have run.
                evaluations.push(((update * episodes) as u64, (update / 2) as f64));
            }
            for episode in &rollout.episodes {
                replay.push(episode).unwrap();
            }
            let (q_calls, _) = calls_of(|| {
                for _ in 0..2 {
                    dqn.update(&replay.sample(8, &device, &mut rng).unwrap().batch)
                        .unwrap();
                }
            });
            for (k, sum) in total.iter_mut().enumerate() {
                *sum += calls[k] + kl_calls[k] + update_calls[k] + q_calls[k];
            }
        }

        // Through the loop.
        let mut looped = ActorCritic::new(adam(), counted_gru(vocab, 0, &train)).unwrap();
        let dqn_looped = Dqn::new(q_config(), counted_gru(vocab, 1, &train)).unwrap();
        let q = QFromReplay::new(dqn_looped, TokenReplay::new(1000, 1.0).unwrap(), 8, 2, 5);
        let mut hooks = (kl().unwrap().against(&reference), q.unwrap());
        let mut rollouts = TokenCollector::new(&env, episodes, 3).unwrap();
        let config = RunConfig::new((updates * episodes) as u64)
            .with_eval_every(2 * episodes as u64)
            .with_progress_bar(false);
        let mut evaluated = 0.0;
        let mut evaluate = |_: &TokenModel<Counting<GruBody>>| {
            evaluated += 1.0;
            Ok(evaluated)
        };
        let (calls, report) = calls_of(|| {
            train_on_policy(
                &config,
                &mut looped,
                &mut rollouts,
                Some(&mut evaluate),
                &mut hooks,
                &device,
            )
            .unwrap()
        });

        assert_eq!(
            (report.steps, report.updates),
            ((updates * episodes) as u64, updates as u64)
        );
        assert_eq!(report.episode_returns, returns);
        assert_eq!(report.evaluations, evaluations);
        // No pass more or less than written out (evaluation here runs no model).
        assert_eq!(calls, total);

        let probe = rollouts
            .collect(a2c.model(), &device)
            .unwrap()
            .batch
            .observations;
        let written = a2c.model().logits_and_values(probe.clone()).unwrap();
        let through = looped.model().logits_and_values(probe.clone()).unwrap();
        assert_eq!(to_vec_f32(written.logits), to_vec_f32(through.logits));
        assert_eq!(to_vec_f32(written.values), to_vec_f32(through.values));
        let (_, q_learning) = hooks;
        assert_eq!(q_learning.replay().len(), replay.len());
        assert_eq!(q_learning.dqn().gradient_steps(), 2 * updates as u64);
        use valuefn::value::QFunction;
        assert_eq!(
            to_vec_f32(dqn.online().q_values(probe.clone()).unwrap()),
            to_vec_f32(q_learning.dqn().online().q_values(probe).unwrap()),
        );
    }
}

/// A source that counts no steps is an error, not a loop without end; a hook that asks to stop
/// ends the run after that update (without the closing evaluation).
#[test]
fn the_loop_refuses_a_source_that_counts_nothing_and_stops_when_a_hook_asks() {
    use burn::tensor::Device;
    use valuefn::algo::actor_critic::{AfterUpdate, RolloutSource, train_on_policy};
    use valuefn::algo::{RunConfig, TrainRun};
    use valuefn::env::text::TokenMatch;
    use valuefn::lm::TokenRollout;

    type Model = TokenModel<Counting<GruBody>>;

    /// A collector whose rollouts tell the run nothing.
    struct Silent(TokenCollector<TokenMatch>);

    impl RolloutSource<Model> for Silent {
        type Rollout = TokenRollout;

        fn rollout<S: serde::Serialize + Clone>(
            &mut self,
            model: &Model,
            _: &mut TrainRun<Model, S>,
            device: &Device,
        ) -> valuefn::Result<TokenRollout> {
            self.0.collect(model, device)
        }
    }

    let (env, _, _) = reverse_abc();
    let (_, device) = valuefn::device::cpu_devices().remove(0);
    let train = device.clone().autodiff();
    let config = RunConfig::new(100)
        .with_eval_every(8)
        .with_progress_bar(false);
    let mut a2c = ActorCritic::new(adam(), counted_gru(env.vocab_size(), 0, &train)).unwrap();
    let mut silent = Silent(TokenCollector::new(&env, 4, 0).unwrap());
    let err = train_on_policy(&config, &mut a2c, &mut silent, None, &mut (), &device).unwrap_err();
    assert!(matches!(err, valuefn::Error::Empty { .. }), "{err}");

    // Bad settings are refused before anything runs.
    let mut rollouts = TokenCollector::new(&env, 4, 0).unwrap();
    let none = RunConfig::new(0).with_progress_bar(false);
    let err = train_on_policy(&none, &mut a2c, &mut rollouts, None, &mut (), &device).unwrap_err();
    assert!(matches!(err, valuefn::Error::InvalidConfig { .. }), "{err}");
    let dqn = valuefn::algo::dqn::Dqn::new(
        valuefn::algo::dqn::DqnConfig::new(),
        counted_gru(env.vocab_size(), 1, &train),
    )
    .unwrap();
    let replay = valuefn::lm::TokenReplay::new(10, 1.0).unwrap();
    let err = valuefn::lm::QFromReplay::new(dqn, replay, 0, 1, 0).unwrap_err();
    assert!(matches!(err, valuefn::Error::InvalidConfig { .. }), "{err}");
    assert_eq!(a2c.updates(), 0);

    let mut stop_after_three = AfterUpdate(
        |_: &TokenRollout,
         _: &valuefn::algo::actor_critic::ActorCriticStats,
         run: &TrainRun<Model, _>| { Ok(run.updates() == 3) },
    );
    let mut score = |_: &Model| Ok(1.0);
    let report = train_on_policy(
        &config,
        &mut a2c,
        &mut rollouts,
        Some(&mut score),
        &mut stop_after_three,
        &device,
    )
    .unwrap();
    assert_eq!((report.updates, report.steps), (3, 12));
    // Evaluated at step 8 only: the stop comes before the run's end.
    assert_eq!(report.evaluations, vec![(8, 1.0)]);
}
