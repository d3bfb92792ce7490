//! The token language model: shapes and masking, causality, cached incremental decoding equal
//! to the full forward pass, generation, bad input, and the crate's updaters on its heads.

mod common;

use std::sync::Arc;

use burn::module::Module;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use common::text_tasks::{reverse_abc, sequence_envs};
use valuefn::Error;
use valuefn::algo::actor_critic::{ActorCritic, ActorCriticConfig, BatchRows, RolloutBatch};
use valuefn::algo::dqn::{Dqn, DqnConfig};
use valuefn::batch::TokenBatch;
use valuefn::encode::ObservationEncoder;
use valuefn::encode::PaddedTokens;
use valuefn::env::text::TokenState;
use valuefn::lm::{
    GenerationConfig, GruBodyConfig, LastTokens, LmBody, PretrainConfig, Sampling, TokenModel,
    TokenModelCheckpoint, TokenPositions, TransformerBodyConfig, cross_entropy, generate, pretrain,
};
use valuefn::policy::LogitsPolicy;
use valuefn::policy::PolicyAndValue;
use valuefn::prelude::*;
use valuefn::replay::Replay;
use valuefn::replay::TransitionBatch;
use valuefn::returns::Rollout;
use valuefn::tensor_ops::{index_tensor, to_vec_f32};
use valuefn::text::{
    CharTokenizer, SequenceOp, SequenceTask, TaskGenerator, TextPair, TokenTask, Tokenizer,
};

const VOCAB: usize = 12;

fn batch(rows: &[Vec<usize>], device: &Device) -> TokenBatch {
    let states: Vec<TokenState> = rows
        .iter()
        .map(|r| TokenState::new(Arc::from(r.clone())))
        .collect();
    PaddedTokens.encode(&states, device).unwrap()
}

fn gru(device: &Device) -> TokenModel<valuefn::lm::GruBody> {
    let body = GruBodyConfig::new(VOCAB)
        .with_hidden(16)
        .with_seed(3)
        .init(device)
        .unwrap();
    TokenModel::new(body, 4, device)
}

fn transformer(device: &Device) -> TokenModel<valuefn::lm::TransformerBody> {
    let body = TransformerBodyConfig::new(VOCAB)
        .with_hidden(16)
        .with_heads(2)
        .with_layers(2)
        .with_max_len(12)
        .with_seed(5)
        .init(device)
        .unwrap();
    TokenModel::new(body, 6, device)
}

/// Runs `check` on both bodies on every CPU backend.
macro_rules! on_every_model {
    (|$name:ident, $model:ident, $device:ident| $body:block) => {
        for (backend, $device) in valuefn::device::cpu_devices() {
            {
                let $name = format!("GRU on {backend}");
                let $model = gru(&$device);
                $body
            }
            {
                let $name = format!("transformer on {backend}");
                let $model = transformer(&$device);
                $body
            }
        }
    };
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Rows of a `[B, T, V]` tensor at the given (row, position) pairs.
fn at(all: Tensor<3>, row: usize, position: usize) -> Vec<f32> {
    let [_, _, width] = all.dims();
    to_vec_f32(
        all.slice([row..row + 1, position..position + 1, 0..width])
            .reshape([width]),
    )
}

#[test]
fn shapes_and_padding_never_change_real_positions() {
    on_every_model!(|name, model, device| {
        let rows = vec![vec![1, 4, 5, 6], vec![1, 7]];
        let tight = batch(&rows, &device);
        let wide = tight.padded_to(7);
        let logits = model.logits_all(&tight).unwrap();
        assert_eq!(logits.dims(), [2, 4, VOCAB], "{name}");
        assert_eq!(model.values_all(&tight).unwrap().dims(), [2, 4], "{name}");
        let wide_logits = model.logits_all(&wide).unwrap();
        for (row, len) in [(0, 4), (1, 2)] {
            for t in 0..len {
                let d = max_diff(
                    &at(logits.clone(), row, t),
                    &at(wide_logits.clone(), row, t),
                );
                assert!(d < 1e-5, "{name}: row {row} position {t}: {d}");
            }
        }
        // The trait impls read the last real position.
        let heads = model.heads(&wide).unwrap();
        let q_last = to_vec_f32(model.q_values(tight.clone().into()).unwrap());
        assert!(
            max_diff(&to_vec_f32(heads.q_values), &q_last) < 1e-5,
            "{name}"
        );
        let q_all = model.q_values_all(&tight).unwrap();
        assert!(
            max_diff(&at(q_all, 1, 1), &q_last[VOCAB..]) < 1e-5,
            "{name}"
        );
        // A row alone gives what it gives in a batch.
        let alone = model.values(batch(&rows[1..], &device).into()).unwrap();
        let together = model.values(tight.into()).unwrap();
        assert!(
            (to_vec_f32(alone)[0] - to_vec_f32(together)[1]).abs() < 1e-5,
            "{name}"
        );
    });
}

#[test]
fn a_later_token_never_changes_earlier_outputs() {
    on_every_model!(|name, model, device| {
        let a = model
            .logits_all(&batch(&[vec![1, 4, 5, 6, 7]], &device))
            .unwrap();
        let b = model
            .logits_all(&batch(&[vec![1, 4, 5, 9, 3]], &device))
            .unwrap();
        for t in 0..3 {
            let d = max_diff(&at(a.clone(), 0, t), &at(b.clone(), 0, t));
            assert!(d < 1e-6, "{name}: position {t} changed by {d}");
        }
        let d = max_diff(&at(a, 0, 3), &at(b, 0, 3));
        assert!(d > 1e-4, "{name}: the changed token should matter");
    });
}

#[test]
fn cached_decoding_equals_the_full_forward_pass() {
    on_every_model!(|name, model, device| {
        let prompts = vec![vec![1, 4, 5], vec![1], vec![1, 8, 9, 10, 11]];
        let continuations = [[3usize, 6, 2, 7], [5, 5, 4, 1], [2, 0, 9, 3]];
        let (mut heads, mut decoding) = model.prefill(&batch(&prompts, &device)).unwrap();
        let mut sequences = prompts.clone();
        for step in 0..=continuations[0].len() {
            let full = model.heads(&batch(&sequences, &device)).unwrap();
            for (what, cached, whole) in [
                ("logits", heads.logits.clone(), full.logits),
                ("Q", heads.q_values.clone(), full.q_values),
            ] {
                let d = max_diff(&to_vec_f32(cached), &to_vec_f32(whole));
                assert!(d < 1e-5, "{name}: {what} after {step} steps differ by {d}");
            }
            let d = max_diff(&to_vec_f32(heads.values.clone()), &to_vec_f32(full.values));
            assert!(d < 1e-5, "{name}: V after {step} steps differs by {d}");
            if step == continuations[0].len() {
                break;
            }
            let next: Vec<usize> = continuations.iter().map(|c| c[step]).collect();
            heads = model.step(&next, &mut decoding).unwrap();
            for (sequence, token) in sequences.iter_mut().zip(&next) {
                sequence.push(*token);
            }
        }
        assert_eq!(decoding.lengths(), &[7, 5, 9]);
    });
}

#[test]
fn generation_is_seeded_stops_at_eos_and_respects_the_limit() {
    on_every_model!(|name, model, device| {
        let prompts = batch(&[vec![1, 4], vec![1, 6, 7]], &device);
        let greedy = generate(&model, &prompts, &GenerationConfig::new(5)).unwrap();
        assert_eq!(
            greedy,
            generate(&model, &prompts, &GenerationConfig::new(5)).unwrap()
        );
        for row in &greedy.tokens {
            assert!(!row.is_empty() && row.len() <= 5, "{name}: {row:?}");
            if let Some(eos) = row.iter().position(|&t| t == 2) {
                assert_eq!(eos + 1, row.len(), "{name}: tokens after <eos>: {row:?}");
            }
        }
        // Greedy tokens are the argmax of the full forward pass at each step.
        let mut sequence = vec![1, 4];
        for &token in &greedy.tokens[0] {
            let logits = to_vec_f32(
                model
                    .logits(batch(&[sequence.clone()], &device).into())
                    .unwrap(),
            );
            let best = (0..VOCAB).fold(0, |b, i| if logits[i] > logits[b] { i } else { b });
            assert_eq!(token, best, "{name}");
            sequence.push(token);
        }
        let sample = |seed| {
            let config = GenerationConfig::new(6)
                .with_sampling(Sampling::Sample {
                    temperature: 2.0,
                    top_k: None,
                    top_p: None,
                })
                .with_stop_at_eos(false)
                .with_seed(seed);
            generate(&model, &prompts, &config).unwrap()
        };
        let (a, b, c) = (sample(1), sample(1), sample(2));
        assert_eq!(a, b, "{name}");
        assert_ne!(a.tokens, c.tokens, "{name}");
        assert!(a.tokens.iter().all(|row| row.len() == 6), "{name}");
        for row in &a.log_probs {
            assert!(row.iter().all(|&lp| lp <= 0.0 && lp.is_finite()), "{name}");
        }
    });
}

#[test]
fn bad_token_batches_are_errors() {
    let device = valuefn::device::default_device();
    for (name, check) in [
        (
            "GRU",
            Box::new(|b: &TokenBatch| gru(&valuefn::device::default_device()).check(b).map(|_| ()))
                as Box<dyn Fn(&TokenBatch) -> valuefn::Result<()>>,
        ),
        (
            "transformer",
            Box::new(|b: &TokenBatch| {
                transformer(&valuefn::device::default_device())
                    .check(b)
                    .map(|_| ())
            }),
        ),
    ] {
        // A token id outside the vocabulary.
        let bad = batch(&[vec![1, VOCAB]], &device);
        assert!(
            matches!(check(&bad), Err(Error::InvalidAction { .. })),
            "{name}"
        );
        // An empty prompt.
        let empty = TokenBatch {
            ids: Tensor::<2, Int>::zeros([1, 2], &device),
            mask: Tensor::<2, Bool>::full([1, 2], false, &device),
            lengths: index_tensor(&[0], &device),
        };
        assert!(matches!(check(&empty), Err(Error::Empty { .. })), "{name}");
        // A mask that disagrees with the lengths.
        let mut mismatched = batch(&[vec![1, 4, 5]], &device);
        mismatched.mask =
            Tensor::from_data(TensorData::new(vec![true, false, true], [1, 3]), &device);
        assert!(
            matches!(check(&mismatched), Err(Error::ShapeMismatch { .. })),
            "{name}"
        );
        // Lengths of the wrong shape.
        let mut short = batch(&[vec![1, 4], vec![1]], &device);
        short.lengths = index_tensor(&[2], &device);
        assert!(
            matches!(check(&short), Err(Error::ShapeMismatch { .. })),
            "{name}"
        );
    }
    // Longer than the transformer's context (12).
    let model = transformer(&device);
    let long = batch(&[vec![1; 13]], &device);
    assert!(matches!(model.check(&long), Err(Error::TooLarge { .. })));
    assert!(model.logits_all(&long).is_err() && model.values(long.into()).is_err());
    // Decoding past the context, a wrong token count, an id outside the vocabulary.
    let (_, mut decoding) = model.prefill(&batch(&[vec![1; 12]], &device)).unwrap();
    assert!(matches!(
        model.step(&[3], &mut decoding),
        Err(Error::TooLarge { .. })
    ));
    let (_, mut decoding) = model.prefill(&batch(&[vec![1; 3]], &device)).unwrap();
    assert!(matches!(
        model.step(&[3, 4], &mut decoding),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        model.step(&[VOCAB], &mut decoding),
        Err(Error::InvalidAction { .. })
    ));
    assert_eq!(decoding.lengths(), &[3]);
    // Configs.
    assert!(
        GruBodyConfig::new(VOCAB)
            .with_hidden(0)
            .init(&device)
            .is_err()
    );
    assert!(
        TransformerBodyConfig::new(VOCAB)
            .with_hidden(10)
            .with_heads(4)
            .init(&device)
            .is_err()
    );
    assert!(
        TransformerBodyConfig::new(VOCAB)
            .with_max_len(0)
            .init(&device)
            .is_err()
    );
    assert!(matches!(
        TransformerBodyConfig::new(1 << 20)
            .with_hidden(1 << 10)
            .init(&device),
        Err(Error::InvalidConfig { .. })
    ));
    for bad in [
        GenerationConfig::new(0),
        GenerationConfig::new(3).with_sampling(Sampling::Sample {
            temperature: 0.0,
            top_k: None,
            top_p: None,
        }),
        GenerationConfig::new(3).with_sampling(Sampling::Sample {
            temperature: 1.0,
            top_k: Some(0),
            top_p: None,
        }),
        GenerationConfig::new(3).with_sampling(Sampling::Sample {
            temperature: 1.0,
            top_k: None,
            top_p: Some(1.5),
        }),
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
}

#[test]
fn token_batches_concatenate_across_widths_and_select_rows() {
    let device = valuefn::device::default_device();
    let a = batch(&[vec![1, 4, 5]], &device);
    let b = batch(&[vec![1], vec![1, 6]], &device);
    let both = TokenBatch::concat_rows(vec![a, b]);
    assert_eq!(both.ids.dims(), [3, 3]);
    let model = gru(&device);
    let direct = model
        .values(batch(&[vec![1, 4, 5], vec![1], vec![1, 6]], &device).into())
        .unwrap();
    assert!(
        max_diff(
            &to_vec_f32(model.values(both.clone().into()).unwrap()),
            &to_vec_f32(direct)
        ) < 1e-6
    );
    let picked = both.select_rows(index_tensor(&[2, 0], &device));
    assert_eq!(valuefn::tensor_ops::to_indices(picked.lengths), vec![2, 3]);
}

#[test]
fn dqn_trains_the_q_head_and_actor_critic_the_policy_and_value_heads() {
    // The crate's updaters, unchanged, on token states.
    let device = valuefn::device::default_device();
    let train = device.clone().autodiff();
    let states = TokenPositions::from(batch(&[vec![1, 4], vec![1, 4, 5]], &device));
    let next = TokenPositions::from(batch(&[vec![1, 4, 7], vec![1, 4, 5, 2]], &device));
    let q_model = gru(&train);
    let mut dqn = Dqn::new(DqnConfig::new(), q_model).unwrap();
    let transitions = TransitionBatch {
        observations: states.clone(),
        actions: Tensor::<1, Int>::from_ints([7, 2], &device),
        rewards: Tensor::from_floats([1.0, 1.0], &device),
        next_observations: next.clone(),
        terminated: Tensor::<1, Bool>::from_bool(TensorData::from([false, true]), &device),
        discounts: Tensor::from_floats([1.0, 1.0], &device),
        weights: Tensor::ones([2], &device),
    };
    let before = to_vec_f32(dqn.online().q_values(states.clone()).unwrap());
    let stats = dqn.update(&transitions).unwrap();
    assert_eq!(stats.td_errors.len(), 2);
    let after = to_vec_f32(dqn.online().q_values(states.clone()).unwrap());
    assert!(max_diff(&before, &after) > 0.0);

    let mut a2c = ActorCritic::new(
        ActorCriticConfig::new().with_gamma(1.0),
        PolicyAndValue::new(transformer(&train), gru(&train)),
    )
    .unwrap();
    let rollout = RolloutBatch {
        observations: states,
        actions: index_tensor(&[7, 2], &device),
        next_observations: next,
        rollout: Rollout::new(
            1,
            2,
            vec![1.0, 1.0],
            vec![false, true],
            vec![false; 2],
            &device,
        )
        .unwrap(),
        mask: None,
        scores: None,
    };
    let stats = a2c.update(&rollout).unwrap();
    assert!(stats.entropy > 0.0 && stats.value_loss >= 0.0, "{stats:?}");
    assert!(LmBody::max_len(a2c.actor().body()).is_some());
}

#[test]
fn token_positions_read_each_prefix_from_one_pass() {
    on_every_model!(|name, model, device| {
        let sequences = [vec![1, 4, 5, 6], vec![1, 7]];
        let rows = vec![(0, 1), (0, 3), (1, 0), (1, 1), (0, 2), (0, 1)];
        let positions = TokenPositions::new(batch(&sequences, &device), rows.clone()).unwrap();
        // Each state scored as its own sequence (its prefix, read at its last token).
        let prefixes: Vec<Vec<usize>> = rows
            .iter()
            .map(|&(s, p)| sequences[s][..=p].to_vec())
            .collect();
        let alone = TokenPositions::from(batch(&prefixes, &device));
        for (what, got, want) in [
            (
                "V",
                to_vec_f32(model.values(positions.clone()).unwrap()),
                to_vec_f32(model.values(alone.clone()).unwrap()),
            ),
            (
                "logits",
                to_vec_f32(model.logits(positions.clone()).unwrap()),
                to_vec_f32(model.logits(alone.clone()).unwrap()),
            ),
            (
                "Q",
                to_vec_f32(model.q_values(positions.clone()).unwrap()),
                to_vec_f32(model.q_values(alone).unwrap()),
            ),
        ] {
            assert!(max_diff(&got, &want) < 1e-5, "{name}: {what}");
        }
        // Selected rows keep the shared sequences (rows of sequence 1 only: a sub-batch).
        let picked = positions.select_rows(index_tensor(&[3, 2], &device));
        assert_eq!(picked.rows(), &[(1, 1), (1, 0)]);
        let all = to_vec_f32(model.values(positions.clone()).unwrap());
        let got = to_vec_f32(model.values(picked.clone()).unwrap());
        assert!(max_diff(&got, &[all[3], all[2]]) < 1e-5, "{name}");
        // Concatenation: shared sequences stay shared; others are renumbered.
        let shared = TokenPositions::concat_rows(vec![picked.clone(), positions.clone()]);
        assert_eq!(shared.sequences().len(), 2);
        assert_eq!(shared.len(), 8);
        let other = TokenPositions::from(batch(&[vec![1, 6, 6]], &device));
        let mixed = TokenPositions::concat_rows(vec![picked, other.clone()]);
        assert_eq!(mixed.rows(), &[(1, 1), (1, 0), (2, 2)]);
        let got = to_vec_f32(model.values(mixed).unwrap());
        let want_other = to_vec_f32(model.values(other).unwrap());
        assert!(
            max_diff(&got, &[all[3], all[2], want_other[0]]) < 1e-5,
            "{name}"
        );
    });
    let device = valuefn::device::default_device();
    let sequences = batch(&[vec![1, 4, 5], vec![1]], &device);
    for rows in [vec![], vec![(2, 0)], vec![(1, 1)], vec![(0, 3)]] {
        assert!(
            TokenPositions::new(sequences.clone(), rows.clone()).is_err(),
            "{rows:?}"
        );
    }
}

/// Found in review: an episode that reaches `max_new_tokens` ended the MDP in the exact model
/// but bootstrapped from `V` of a state no step is ever taken from. It terminates: the last
/// step's advantage is `r - V(s)` and its return `r` (GAE, `gamma` 1), and the rollout plays no
/// extra step to score the final state.
#[test]
fn an_episode_that_reaches_max_new_tokens_does_not_bootstrap() {
    use valuefn::env::text::{Stop, TextEnvConfig, TextGenerationEnv, TokenMatch};
    use valuefn::lm::TokenCollector;
    let device = valuefn::device::default_device();
    let tokenizer = CharTokenizer::fit(["abc"]).unwrap();
    let pair = |p: &str, t: &str| TokenTask::encode(&TextPair::new(p, t), &tokenizer).unwrap();
    // Targets longer than the horizon of 3: only <eos> or the horizon ends an episode.
    let env = TextGenerationEnv::new(
        vec![pair("a", "abcab"), pair("b", "cabca")],
        tokenizer.vocabulary(),
        TokenMatch,
        &TextEnvConfig::new()
            .with_stop(Stop::Eos)
            .with_max_new_tokens(3),
    )
    .unwrap();
    let train = device.clone().autodiff();
    let body = GruBodyConfig::new(env.vocab_size())
        .with_hidden(16)
        .with_seed(1);
    let model = TokenModel::new(body.init(&train).unwrap(), 2, &train);
    let a2c = ActorCritic::new(ActorCriticConfig::new().with_gamma(1.0), model).unwrap();
    let rollout = TokenCollector::new(&env, 16, 5)
        .unwrap()
        .collect(a2c.model(), &device)
        .unwrap();
    let batch = &rollout.batch;
    let [steps, rows] = batch.rollout.shape();
    let mask = batch.mask.clone().unwrap();
    let scores = batch.scores.clone().unwrap();
    let rewards = batch.rollout.rewards();
    let advantages = a2c.advantages(batch).unwrap();
    let (adv, ret) = (
        to_vec_f32(advantages.advantages.reshape([steps * rows])),
        to_vec_f32(advantages.returns.reshape([steps * rows])),
    );
    let mut cut = 0;
    for (row, episode) in rollout.episodes.iter().enumerate() {
        assert!(episode.terminated, "every played episode ends its MDP");
        let last = (0..steps).rev().find(|&t| mask[t * rows + row]).unwrap();
        let i = last * rows + row;
        assert!(
            (adv[i] - (rewards[i] - scores.values[i])).abs() < 1e-5,
            "row {row}"
        );
        assert!((ret[i] - rewards[i]).abs() < 1e-5, "row {row}");
        cut += usize::from(episode.rewards.len() == 3);
    }
    assert!(cut > 0, "some episodes reach the horizon");
    assert!(steps <= 3, "no step past the horizon");
}

#[test]
fn token_rollouts_lay_out_lockstep_episodes_for_actor_critic() {
    use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TokenMatch};
    use valuefn::lm::TokenCollector;
    let device = valuefn::device::default_device();
    let tokenizer = CharTokenizer::fit(["abc"]).unwrap();
    let pair = |p: &str, t: &str| TokenTask::encode(&TextPair::new(p, t), &tokenizer).unwrap();
    // Targets of 1, 2 and 3 tokens: episodes end at different steps.
    let tasks = vec![pair("a", "b"), pair("ab", "ba"), pair("c", "abc")];
    let env = TextGenerationEnv::new(
        tasks.clone(),
        tokenizer.vocabulary(),
        TokenMatch,
        &TextEnvConfig::new(),
    )
    .unwrap();
    let vocab = env.vocab_size();
    let model = TokenModel::new(
        GruBodyConfig::new(vocab)
            .with_hidden(16)
            .init(&device)
            .unwrap(),
        0,
        &device,
    );
    let mut rollouts = TokenCollector::new(&env, 6, 3).unwrap();
    let rollout = rollouts.collect(&model, &device).unwrap();
    let batch = &rollout.batch;
    let [steps, rows] = batch.rollout.shape();
    assert_eq!(rows, 6);
    let mask = batch.mask.clone().unwrap();
    assert_eq!(mask.len(), steps * rows);
    assert_eq!(mask.iter().filter(|&&m| m).count(), rollout.tokens);
    let actions = valuefn::tensor_ops::to_indices(batch.actions.clone());
    let sequences: Vec<Vec<usize>> = {
        let ids = batch.observations.sequences().ids.clone();
        let [n, width] = ids.dims();
        let flat = ids
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        (0..n)
            .map(|r| {
                flat[r * width..(r + 1) * width]
                    .iter()
                    .map(|&x| x as usize)
                    .collect()
            })
            .collect()
    };
    for row in 0..rows {
        let length = (0..steps).filter(|&t| mask[t * rows + row]).count();
        // The task is the one whose prompt the sequence starts with; it fixes the length.
        let prompt_end = batch.observations.rows()[row].1;
        let task = tasks
            .iter()
            .find(|t| *t.prompt().as_ref() == sequences[row][..=prompt_end])
            .unwrap();
        let target = task.target();
        let stopped_early = sequences[row][prompt_end + 1..prompt_end + 1 + length]
            .contains(&valuefn::text::Vocabulary::EOS);
        assert!(
            length == target.len() || stopped_early,
            "row {row}: {length} steps"
        );
        // Steps are a prefix of the rollout; the state of step t is one position further
        // than step t - 1's, its next state one further still, and the action is the token
        // the sequence holds there.
        let mut total = 0.0;
        for t in 0..steps {
            let i = t * rows + row;
            assert_eq!(mask[i], t < length, "row {row} step {t}");
            if !mask[i] {
                continue;
            }
            let (s, p) = batch.observations.rows()[i];
            assert_eq!(batch.next_observations.rows()[i], (s, p + 1));
            assert_eq!(s, row);
            assert_eq!(sequences[row][p + 1], actions[i]);
            if t > 0 {
                assert_eq!(batch.observations.rows()[i - rows].1 + 1, p);
            }
            total += f64::from(u8::from(target[t] == actions[i]));
        }
        // TokenMatch: one per token equal to the target's at its position.
        assert!(
            (total - rollout.episodes[row].total_reward()).abs() < 1e-9,
            "row {row}"
        );
        assert_eq!(rollout.episodes[row].completion().len(), length);
    }
    // Same seed, same episodes.
    let again = TokenCollector::new(&env, 6, 3)
        .unwrap()
        .collect(&model, &device)
        .unwrap();
    assert_eq!(
        valuefn::tensor_ops::to_indices(again.batch.actions),
        actions
    );
    assert!(TokenCollector::new(&env, 0, 3).is_err());
    // A transformer whose context holds exactly the longest prompt plus the longest episode:
    // rows that finish early keep being fed `<pad>` and must still fit.
    let uneven = TextGenerationEnv::new(
        vec![pair("abcc", "a"), pair("a", "abcc")],
        tokenizer.vocabulary(),
        TokenMatch,
        &TextEnvConfig::new(),
    )
    .unwrap();
    let fitted = |max_len| {
        let body = TransformerBodyConfig::new(vocab)
            .with_hidden(8)
            .with_heads(2)
            .with_max_len(max_len);
        TokenModel::new(body.init(&device).unwrap(), 0, &device)
    };
    // Longest prompt: <bos> a b c c (5); longest episode: 4 tokens.
    let mut lockstep = TokenCollector::new(&uneven, 8, 0).unwrap();
    let rollout = lockstep.collect(&fitted(9), &device).unwrap();
    assert!(
        fitted(9)
            .values(rollout.batch.next_observations.clone())
            .is_ok()
    );
    assert!(matches!(
        lockstep.collect(&fitted(8), &device),
        Err(valuefn::Error::TooLarge { .. })
    ));
    // The batch feeds an actor-critic update as it is.
    let train = device.clone().autodiff();
    let body = GruBodyConfig::new(vocab).with_hidden(16);
    let mut a2c = ActorCritic::new(
        ActorCriticConfig::new(),
        PolicyAndValue::new(
            TokenModel::new(body.clone().init(&train).unwrap(), 0, &train),
            TokenModel::new(body.with_seed(1).init(&train).unwrap(), 1, &train),
        ),
    )
    .unwrap();
    let rollout = rollouts.collect(a2c.model(), &device).unwrap();
    let stats = a2c.update(&rollout.batch).unwrap();
    assert_eq!(stats.gradient_steps, 1);
    assert!(stats.value_loss > 0.0 && stats.entropy > 1.5, "{stats:?}");
}

#[test]
fn token_replay_samples_steps_as_positions_of_stored_episodes() {
    use rand::SeedableRng;
    use valuefn::lm::{TokenEpisode, TokenReplay};
    let device = valuefn::device::default_device();
    let episode = |tokens: Vec<usize>, prompt_len, rewards: Vec<f64>, terminated| TokenEpisode {
        tokens,
        prompt_len,
        rewards,
        terminated,
    };
    let mut replay = TokenReplay::new(5, 0.9).unwrap();
    // Terminated: steps at positions 1 and 2; truncated: steps at positions 0, 1, 2.
    replay
        .push(&episode(vec![1, 4, 5, 6], 2, vec![1.0, 0.0], true))
        .unwrap();
    replay
        .push(&episode(vec![1, 7, 8, 9], 1, vec![0.5, 0.25, 2.0], false))
        .unwrap();
    assert_eq!(replay.len(), 5);
    let batch = replay
        .sample(64, &device, &mut rand::rngs::StdRng::seed_from_u64(0))
        .unwrap()
        .batch;
    let actions = valuefn::tensor_ops::to_indices(batch.actions.clone());
    let rewards = to_vec_f32(batch.rewards.clone());
    let terminated: Vec<bool> = batch
        .terminated
        .clone()
        .into_data()
        .convert::<bool>()
        .try_to_vec::<bool>()
        .unwrap();
    assert!(
        to_vec_f32(batch.discounts.clone())
            .iter()
            .all(|&d| (d - 0.9).abs() < 1e-7)
    );
    let sequences = batch.observations.sequences().clone();
    let lengths = valuefn::tensor_ops::to_indices(sequences.lengths.clone());
    let mut seen = std::collections::HashSet::new();
    for (i, &(s, p)) in batch.observations.rows().iter().enumerate() {
        assert_eq!(batch.next_observations.rows()[i], (s, p + 1));
        // Which stored step this is: the first episode has length 4 and starts with 4.
        let first = lengths[s] == 4 && {
            let ids = sequences.ids.clone().slice([s..s + 1, 1..2]);
            valuefn::tensor_ops::to_indices(ids.reshape([1]))[0] == 4
        };
        let (want_action, want_reward, want_terminated) = match (first, p) {
            (true, 1) => (5, 1.0, false),
            (true, 2) => (6, 0.0, true),
            (false, 0) => (7, 0.5, false),
            (false, 1) => (8, 0.25, false),
            (false, 2) => (9, 2.0, false),
            other => panic!("no stored step {other:?}"),
        };
        assert_eq!(
            (actions[i], rewards[i], terminated[i]),
            (want_action, want_reward, want_terminated)
        );
        seen.insert((first, p));
    }
    assert_eq!(seen.len(), 5, "64 draws reach all 5 steps");
    // Full: the oldest step goes first.
    replay
        .push(&episode(vec![1, 4, 6], 2, vec![1.0], true))
        .unwrap();
    assert_eq!(replay.len(), 5);
    // The sample trains a Q head through Dqn as it is.
    let train = device.clone().autodiff();
    let mut dqn = Dqn::new(DqnConfig::new(), gru(&train)).unwrap();
    dqn.update(&batch).unwrap();
    // Bad input.
    assert!(TokenReplay::new(0, 0.9).is_err() && TokenReplay::new(5, 1.5).is_err());
    let mut empty = TokenReplay::new(5, 0.9).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    assert!(empty.sample(4, &device, &mut rng).is_err());
    assert!(replay.sample(0, &device, &mut rng).is_err());
    for bad in [
        episode(vec![1, 4, 5], 2, vec![1.0, 1.0], true),
        episode(vec![1, 4, 5], 0, vec![1.0, 1.0, 1.0], true),
        episode(vec![1, 4, 5], 2, vec![f64::NAN], true),
    ] {
        assert!(replay.push(&bad).is_err(), "{bad:?}");
    }
    assert_eq!(replay.len(), 5);
}

/// The copy task over `abcd`, prompts of 2 to 4 characters: (vocabulary, train, held-out).
fn copy_tasks() -> (valuefn::text::Vocabulary, Vec<TokenTask>, Vec<TokenTask>) {
    use rand::SeedableRng;
    let generator = SequenceTask::new(SequenceOp::Copy, "abcd", 2, 4).unwrap();
    let corpus = generator
        .corpus(600, &mut rand::rngs::StdRng::seed_from_u64(0))
        .unwrap();
    let (train, held_out) = corpus.split(0.2, 0).unwrap();
    let tokenizer = CharTokenizer::fit(["abcd"]).unwrap();
    (
        tokenizer.vocabulary().clone(),
        TokenTask::encode_all(&train, &tokenizer).unwrap(),
        TokenTask::encode_all(&held_out, &tokenizer).unwrap(),
    )
}

#[test]
fn pretraining_lowers_held_out_cross_entropy_and_a_checkpoint_generates_the_same_tokens() {
    let device = valuefn::device::default_device();
    let train_device = device.clone().autodiff();
    let (vocabulary, train, held_out) = copy_tasks();
    let config = GruBodyConfig::new(vocabulary.len())
        .with_hidden(64)
        .with_seed(1);
    let model = TokenModel::new(config.init(&train_device).unwrap(), 2, &train_device);
    let before = cross_entropy(&model.valid(), &held_out, None).unwrap();
    let (model, report) = pretrain(
        model,
        &train,
        &held_out,
        &PretrainConfig::new().with_epochs(30).with_batch_size(16),
    )
    .unwrap();
    let after = *report.held_out_loss.last().unwrap();
    eprintln!(
        "copy task, GRU 64: held-out cross-entropy {before:.3} -> {after:.3} nats/token; \
         train {:.3}; {:.0} tokens/s",
        report.train_loss.last().unwrap(),
        report.tokens_per_second
    );
    // A uniform guess over the 8 ids costs ln 8 = 2.08 nats; copying 2-4 characters is learnt.
    assert!(before > 1.5, "{before}");
    assert!(after < 0.4, "held-out cross-entropy {after}");

    let prompts: Vec<Vec<usize>> = held_out.iter().map(|t| t.prompt().to_vec()).collect();
    let prompts = batch(&prompts, &device);
    let generation = GenerationConfig::new(4).with_stop_at_eos(false);
    let tokens = generate(&model.valid(), &prompts, &generation)
        .unwrap()
        .tokens;
    let dir = std::env::temp_dir().join("valuefn-lm-checkpoint-test");
    model.save(&dir, &vocabulary, &config).unwrap();
    let header: TokenModelCheckpoint<GruBodyConfig> = TokenModelCheckpoint::read(&dir).unwrap();
    assert_eq!((&header.vocabulary, &header.body), (&vocabulary, &config));
    let template = TokenModel::new(header.body.init(&device).unwrap(), 99, &device);
    let loaded = TokenModel::load_weights(&dir, template).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        generate(&loaded, &prompts, &generation).unwrap().tokens,
        tokens
    );
    // The pretrained policy copies most held-out prompts.
    let correct = held_out
        .iter()
        .zip(&tokens)
        .filter(|(task, out)| out.starts_with(task.target()))
        .count();
    assert!(
        correct * 10 >= held_out.len() * 8,
        "{correct} of {}",
        held_out.len()
    );
    // Bad input.
    assert!(pretrain(loaded.clone(), &[], &[], &PretrainConfig::new()).is_err());
    assert!(cross_entropy(&loaded, &[], None).is_err());
    let wide = TokenModel::new(
        GruBodyConfig::new(vocabulary.len())
            .with_hidden(8)
            .init(&device)
            .unwrap(),
        0,
        &device,
    );
    let err = TokenModel::load_weights(std::env::temp_dir().join("valuefn-no-such-dir"), wide)
        .unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
    assert!(err.to_string().contains("no manifest"), "{err}");
}

/// `Dqn`, unchanged, trains a GRU token model's Q head on every transition of the enumerated
/// MDP (uniform minibatches of 64 of the 43 x 7 decision pairs, double DQN, a target copied
/// every 100 steps, 2,000 steps, seed 0) until it matches value iteration's `Q*` on every
/// prefix: all 301 values within 0.05 (measured: max 0.022, mean 0.008). About a minute in a
/// debug build: `.ci/run` runs it in release mode.
#[test]
#[ignore = "2,000 DQN steps on a GRU: run in release mode (.ci/run does)"]
fn dqn_on_the_q_head_reaches_q_star_of_an_enumerated_text_mdp() {
    use rand::{RngExt, SeedableRng};
    use valuefn::algo::LearningRateSchedule;
    use valuefn::algo::dqn::{Bootstrap, TargetUpdate};
    let device = valuefn::device::default_device();
    let train_device = device.clone().autodiff();
    let (_, text_mdp, decisions) = reverse_abc();
    let actions = 7;
    let truth = value_iteration(&text_mdp, &SolverConfig::new().with_gamma(1.0)).unwrap();
    // Every (decision state, token) pair: the transitions of the exact model.
    let mut pairs = Vec::new();
    for &s in &decisions {
        for a in 0..actions {
            let t = &text_mdp.mdp().transitions(s, a)[0];
            pairs.push((s, a, t.reward, t.next_state, t.terminal));
        }
    }
    let model = TokenModel::new(
        GruBodyConfig::new(actions)
            .with_hidden(64)
            .with_seed(1)
            .init(&train_device)
            .unwrap(),
        2,
        &train_device,
    );
    let config = DqnConfig::new()
        .with_gamma(1.0)
        .with_learning_rate(LearningRateSchedule::Constant { rate: 3e-3 })
        .with_loss(valuefn::algo::dqn::TdLoss::Mse)
        .with_target_update(TargetUpdate::Hard { every: 100 })
        .with_bootstrap(Bootstrap::Double);
    let mut dqn = Dqn::new(config, model).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let prefix = |s: usize| text_mdp.prefix(s).unwrap().clone();
    let updates: usize = std::env::var("VALUEFN_LM_DQN_UPDATES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    for _ in 0..updates {
        let picked: Vec<_> = (0..64)
            .map(|_| pairs[rng.random_range(0..pairs.len())])
            .collect();
        let states: Vec<TokenState> = picked.iter().map(|p| prefix(p.0)).collect();
        let next: Vec<TokenState> = picked.iter().map(|p| prefix(p.3)).collect();
        let transitions = TransitionBatch {
            observations: LastTokens.encode(&states, &device).unwrap(),
            actions: index_tensor(&picked.iter().map(|p| p.1).collect::<Vec<_>>(), &device),
            rewards: Tensor::from_floats(
                picked
                    .iter()
                    .map(|p| p.2 as f32)
                    .collect::<Vec<_>>()
                    .as_slice(),
                &device,
            ),
            next_observations: LastTokens.encode(&next, &device).unwrap(),
            terminated: Tensor::<1, Bool>::from_data(
                TensorData::new(picked.iter().map(|p| p.4).collect::<Vec<_>>(), [64]),
                &device,
            ),
            discounts: Tensor::ones([64], &device),
            weights: Tensor::ones([64], &device),
        };
        dqn.update(&transitions).unwrap();
    }
    let states: Vec<TokenState> = decisions.iter().map(|&s| prefix(s)).collect();
    let learned = to_vec_f32(
        dqn.online()
            .valid()
            .q_values(LastTokens.encode(&states, &device).unwrap())
            .unwrap(),
    );
    let mut errors = Vec::new();
    for (row, &s) in decisions.iter().enumerate() {
        for a in 0..actions {
            errors.push((f64::from(learned[row * actions + a]) - truth.q_values.get(s, a)).abs());
        }
    }
    let max = errors.iter().copied().fold(0.0, f64::max);
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    eprintln!(
        "{} decision states: max |Q - Q*| {max:.4}, mean {mean:.4}",
        decisions.len()
    );
    assert!(max < 0.05 && mean < 0.05, "max {max}, mean {mean}");
}

/// Actor-critic, unchanged, trains a token model's policy and V heads on the same MDP; with the
/// actor's rate annealed to 0, the V head ends within 0.05 of the exact value of the policy it
/// was trained with (`evaluate_policy_exact` of the final softmax policy) on every decision
/// state the policy visits with probability at least 0.05. Release mode in CI.
#[test]
#[ignore = "an actor-critic run on tokens: run in release mode (.ci/run does)"]
fn actor_critic_v_head_matches_the_exact_value_of_its_policy() {
    use valuefn::algo::actor_critic::{
        ActorCriticTrainConfig, AdvantageEstimator, train_actor_critic,
    };
    use valuefn::algo::{LearningRateSchedule, OptimizerConfig};
    use valuefn::env::SyncVecEnv;
    let device = valuefn::device::default_device();
    let train_device = device.clone().autodiff();
    let (env, text_mdp, decisions) = reverse_abc();
    let actions = 7;
    let body = |seed| {
        GruBodyConfig::new(actions)
            .with_hidden(32)
            .with_seed(seed)
            .init(&train_device)
            .unwrap()
    };
    let updates: u64 = std::env::var("VALUEFN_LM_AC_UPDATES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let config = ActorCriticConfig::new()
        .with_gamma(1.0)
        .with_advantage(AdvantageEstimator::Gae { lambda: 1.0 })
        .with_entropy_coef(0.02)
        .with_max_grad_norm(Some(1.0))
        .with_actor_optimizer(OptimizerConfig::ADAM)
        .with_critic_optimizer(OptimizerConfig::ADAM)
        .with_actor_learning_rate(LearningRateSchedule::Linear {
            start: 3e-3,
            end: 0.0,
            steps: updates / 2,
        })
        .with_critic_learning_rate(LearningRateSchedule::Linear {
            start: 3e-3,
            end: 3e-4,
            steps: updates,
        });
    let mut updater = ActorCritic::new(
        config,
        PolicyAndValue::new(
            TokenModel::new(body(1), 2, &train_device),
            TokenModel::new(body(3), 4, &train_device),
        ),
    )
    .unwrap();
    let mut envs = SyncVecEnv::new((0..16).map(|_| env.replica()).collect()).unwrap();
    let t = std::time::Instant::now();
    train_actor_critic(
        &ActorCriticTrainConfig::new()
            .with_n_steps(6)
            .with_total_steps(updates * 96)
            .with_progress_bar(false),
        &mut updater,
        &mut envs,
        None,
        &LastTokens,
        &device,
    )
    .unwrap();
    let seconds = t.elapsed().as_secs_f64();
    // The final policy at every state (terminal prefixes: any distribution).
    let all: Vec<TokenState> = (0..text_mdp.num_states())
        .map(|s| text_mdp.prefix(s).unwrap().clone())
        .collect();
    let inputs = LastTokens.encode(&all, &device).unwrap();
    let probabilities = common::normalized_rows(
        &to_vec_f32(
            updater
                .actor()
                .valid()
                .action_probabilities(inputs.clone())
                .unwrap(),
        ),
        actions,
    );
    let policy = PolicyTable::new(text_mdp.num_states(), actions, probabilities.clone()).unwrap();
    let exact = evaluate_policy_exact(&text_mdp, &policy, 1.0).unwrap();
    let values = to_vec_f32(updater.critic().valid().values(inputs).unwrap());
    // Visit probabilities of the decision states under the policy (the tree is acyclic).
    let start = text_mdp.index_of(&env.replica().reset(Some(0))).unwrap();
    let mut visit = vec![0.0; text_mdp.num_states()];
    visit[start] = 1.0;
    for &s in &decisions {
        for a in 0..actions {
            let t = &text_mdp.mdp().transitions(s, a)[0];
            if t.next_state != s {
                visit[t.next_state] += visit[s] * probabilities[s * actions + a];
            }
        }
    }
    let mut worst: f64 = 0.0;
    let mut checked = 0;
    for &s in &decisions {
        if visit[s] >= 0.05 {
            checked += 1;
            worst = worst.max((f64::from(values[s]) - exact.values[s]).abs());
        }
    }
    eprintln!(
        "{updates} updates in {seconds:.1} s: V*(start) {:.3}, V^pi(start) {:.3}, V head {:.3}; \
         {checked} states visited with p >= 0.05, max |V - V^pi| {worst:.4}",
        value_iteration(&text_mdp, &SolverConfig::new().with_gamma(1.0))
            .unwrap()
            .values[start],
        exact.values[start],
        values[start]
    );
    assert!(
        checked >= 3 && worst < 0.05,
        "{checked} states, worst {worst}"
    );
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// PPO on a GRU actor and critic from random weights, on rollouts of `TokenCollector`.
fn learn_from_scratch(op: SequenceOp, seed: u64) -> f64 {
    use valuefn::algo::actor_critic::{AdvantageEstimator, PpoConfig};
    use valuefn::algo::{LearningRateSchedule, OptimizerConfig};
    use valuefn::lm::{TokenCollector, evaluate_tasks};
    let device = valuefn::device::default_device();
    let train = device.clone().autodiff();
    let (env, held_out, _) = sequence_envs(op);
    let vocab = env.vocab_size();
    let body = GruBodyConfig::new(vocab).with_hidden(64);
    let actor = TokenModel::new(
        body.clone().with_seed(seed).init(&train).unwrap(),
        seed,
        &train,
    );
    let critic = TokenModel::new(
        body.with_seed(seed + 100).init(&train).unwrap(),
        seed + 100,
        &train,
    );
    let adam = OptimizerConfig::Adam { epsilon: 1e-5 };
    let updates: usize = env_or("LM_UPDATES", 500);
    let rate = LearningRateSchedule::Linear {
        start: 3e-3,
        end: 0.0,
        // About 2 minibatches of 256 from 128 episodes of 2-4 tokens, 4 epochs.
        steps: updates as u64 * 8,
    };
    let config = ActorCriticConfig::new()
        .with_gamma(1.0)
        .with_advantage(AdvantageEstimator::Gae { lambda: 0.95 })
        // No entropy bonus: with 0.01 the last few percent of held-out tokens stayed wrong.
        .with_entropy_coef(0.0)
        .with_actor_optimizer(adam)
        .with_critic_optimizer(adam)
        .with_actor_learning_rate(rate)
        .with_critic_learning_rate(rate)
        .with_seed(seed)
        .with_ppo(Some(
            PpoConfig::new().with_epochs(4).with_minibatch_size(256),
        ));
    let mut ppo = ActorCritic::new(config, PolicyAndValue::new(actor, critic)).unwrap();
    let mut rollouts = TokenCollector::new(&env, 128, seed).unwrap();
    let start = std::time::Instant::now();
    let mut tokens = 0;
    for update in 0..updates {
        let rollout = rollouts.collect(ppo.model(), &device).unwrap();
        tokens += rollout.tokens;
        ppo.update(&rollout.batch).unwrap();
        if (update + 1) % 50 == 0 {
            let score = evaluate_tasks(ppo.actor(), &held_out, Sampling::Greedy, 0, &device)
                .unwrap()
                .reward_per_target_token;
            eprintln!(
                "{op:?} seed {seed}: update {} ({tokens} tokens, {:.0} s): held-out {score:.3}",
                update + 1,
                start.elapsed().as_secs_f64()
            );
        }
    }
    evaluate_tasks(ppo.actor(), &held_out, Sampling::Greedy, 0, &device)
        .unwrap()
        .reward_per_target_token
}

/// PPO from random weights on the copy and the reverse tasks: greedy reward per target token
/// on held-out prompts (never trained on) at least 0.9. docs/lm.md has the settings and the
/// figures of seeds 0-2 (`LM_SEED`; `LM_OPS=Copy` runs one task).
#[test]
#[ignore = "PPO runs on tokens: run in release mode (.ci/run does)"]
fn actor_critic_learns_copy_and_reverse_from_scratch() {
    for op in [SequenceOp::Copy, SequenceOp::Reverse] {
        if std::env::var("LM_OPS").is_ok_and(|only| !only.contains(&format!("{op:?}"))) {
            continue;
        }
        let score = learn_from_scratch(op, env_or("LM_SEED", 0));
        eprintln!("{op:?}: held-out reward per target token {score:.3}");
        assert!(score >= 0.9, "{op:?}: {score:.3}");
    }
}

/// Found in review: a model whose vocabulary is larger than the environment's (an embedding
/// table rounded up past the tokenizer, as Qwen2's) drew ids the environment refused, at
/// random mid-rollout. Only the environment's ids are drawn now; a model that cannot emit some
/// of them is refused up front.
#[test]
fn rollouts_draw_only_the_environments_ids() {
    use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TokenMatch};
    use valuefn::lm::{TokenCollector, evaluate_tasks};
    let device = valuefn::device::default_device();
    let tokenizer = CharTokenizer::fit(["abc"]).unwrap();
    let pair = |p: &str, t: &str| TokenTask::encode(&TextPair::new(p, t), &tokenizer).unwrap();
    let env = TextGenerationEnv::new(
        vec![pair("ab", "ba"), pair("c", "abc")],
        tokenizer.vocabulary(),
        TokenMatch,
        &TextEnvConfig::new(),
    )
    .unwrap();
    let actions = env.vocab_size();
    let model = |vocab: usize| {
        let body = GruBodyConfig::new(vocab).with_hidden(8).with_seed(4);
        TokenModel::new(body.init(&device).unwrap(), 1, &device)
    };
    // 200 extra ids: most of a random model's probability is outside the environment's.
    let wide = model(actions + 200);
    let mut rollouts = TokenCollector::new(&env, 32, 0).unwrap();
    for _ in 0..3 {
        let rollout = rollouts.collect(&wide, &device).unwrap();
        assert!(
            rollout
                .episodes
                .iter()
                .flat_map(|e| e.completion().iter())
                .all(|&id| id < actions)
        );
    }
    let sampled = Sampling::Sample {
        temperature: 1.0,
        top_k: None,
        top_p: None,
    };
    assert!(evaluate_tasks(&wide, &env, sampled, 0, &device).is_ok());
    let narrow = model(actions - 1);
    assert!(matches!(
        rollouts.collect(&narrow, &device),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        evaluate_tasks(&narrow, &env, Sampling::Greedy, 0, &device),
        Err(Error::ShapeMismatch { .. })
    ));
}

/// `TokenReplay::push_all` stores all the episodes or none (the Q-from-replay hook pushes a
/// rollout's episodes with it).
#[test]
fn a_token_replay_stores_a_batch_of_episodes_all_or_none() {
    use valuefn::lm::{TokenEpisode, TokenReplay};
    let episode = |rewards: Vec<f64>| TokenEpisode {
        tokens: vec![1, 4, 5],
        prompt_len: 1,
        rewards,
        terminated: true,
    };
    let mut replay = TokenReplay::new(100, 1.0).unwrap();
    replay.push_all(&[episode(vec![1.0, 0.0])]).unwrap();
    for bad in [vec![1.0], vec![0.0, f64::NAN]] {
        let refused = replay.push_all(&[
            episode(vec![0.0, 1.0]),
            episode(bad),
            episode(vec![1.0, 1.0]),
        ]);
        assert!(refused.is_err());
        assert_eq!(replay.len(), 2, "nothing of the refused batch is stored");
    }
    replay
        .push_all(&[episode(vec![0.0, 1.0]), episode(vec![1.0, 1.0])])
        .unwrap();
    assert_eq!(replay.len(), 6);
}

/// `evaluate_tasks` plays more than 256 tasks in batches of 256: greedy episodes equal those
/// of evaluating the batches' tasks on their own.
#[test]
fn a_long_task_list_is_evaluated_in_batches_with_the_same_episodes() {
    use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TokenMatch};
    use valuefn::lm::evaluate_tasks;
    let device = valuefn::device::default_device();
    let (env, _, tasks) = sequence_envs(valuefn::text::SequenceOp::Copy);
    assert!(tasks.len() > 256, "{} tasks", tasks.len());
    let model = TokenModel::new(
        GruBodyConfig::new(env.vocab_size())
            .with_hidden(16)
            .with_seed(3)
            .init(&device)
            .unwrap(),
        4,
        &device,
    );
    let all = evaluate_tasks(&model, &env, Sampling::Greedy, 0, &device).unwrap();
    let tokenizer = CharTokenizer::fit(["abcd="]).unwrap();
    let config = TextEnvConfig::new().with_max_new_tokens(4);
    let part = |tasks: &[TokenTask]| {
        let env =
            TextGenerationEnv::new(tasks.to_vec(), tokenizer.vocabulary(), TokenMatch, &config)
                .unwrap();
        evaluate_tasks(&model, &env, Sampling::Greedy, 0, &device)
            .unwrap()
            .episodes
    };
    let mut parts = part(&tasks[..256]);
    parts.extend(part(&tasks[256..]));
    assert_eq!(all.episodes, parts);
}
