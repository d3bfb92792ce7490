//! The text-generation MDP (`valuefn::env::text`): stepping, rewards, batching, the exact
//! enumeration and its closed forms, and tabular learning through the index map.

mod common;

use common::{max_abs_diff, proptest_config};
use proptest::prelude::*;
use valuefn::algo::{
    StepSize, TabularControl, TabularControlConfig, TabularTdConfig, train_tabular,
};
use valuefn::encode::ObservationEncoder;
use valuefn::encode::PaddedTokens;
use valuefn::env::text::{
    BatchedTextEnv, ExactMatch, Stop, TextEnvConfig, TextGenerationEnv, TextMdp, TextMdpConfig,
    TextReward, TokenF1, TokenMatch, TokenState, TokenStep,
};
use valuefn::policy::EpsilonSchedule;
use valuefn::prelude::*;
use valuefn::tensor_ops::to_indices;
use valuefn::text::{TokenId, TokenTask, Vocabulary};

const BOS: TokenId = Vocabulary::BOS;
const EOS: TokenId = Vocabulary::EOS;

/// A vocabulary of the specials and `n` letters (ids 4..4+n).
fn letters(n: usize) -> Vocabulary {
    Vocabulary::from_tokens(["a", "b", "c", "d", "e"].into_iter().take(n))
}

fn task(prompt: &[TokenId], target: &[TokenId]) -> TokenTask {
    let mut p = vec![BOS];
    p.extend_from_slice(prompt);
    TokenTask::new(p, target.to_vec()).unwrap()
}

fn env_with<R: TextReward>(
    tasks: Vec<TokenTask>,
    vocab: &Vocabulary,
    reward: R,
    stop: Stop,
    max_new_tokens: usize,
) -> TextGenerationEnv<R> {
    let config = TextEnvConfig::new()
        .with_stop(stop)
        .with_max_new_tokens(max_new_tokens);
    TextGenerationEnv::new(tasks, vocab, reward, &config).unwrap()
}

#[test]
fn per_token_match_rewards_and_target_length_termination() {
    let vocab = letters(3);
    let mut env = env_with(
        vec![task(&[4], &[5, 6, 4])],
        &vocab,
        TokenMatch,
        Stop::TargetLength,
        8,
    );
    env.reset(Some(0));
    let rewards: Vec<(f64, bool, bool)> = [5, 4, 4]
        .into_iter()
        .map(|t| {
            let s = env.step(t).unwrap();
            (s.reward, s.terminated, s.truncated)
        })
        .collect();
    assert_eq!(
        rewards,
        vec![(1.0, false, false), (0.0, false, false), (1.0, true, false)]
    );
    assert!(matches!(env.step(4), Err(Error::EpisodeFinished)));
    // <eos> ends the episode early (a wrong token, reward 0).
    env.reset(None);
    let s = env.step(EOS).unwrap();
    assert_eq!((s.reward, s.terminated, s.truncated), (0.0, true, false));
    assert_eq!(s.observation.generated, vec![EOS]);
}

#[test]
fn eos_termination_and_truncation_at_max_new_tokens() {
    let vocab = letters(2);
    let mut env = env_with(vec![task(&[], &[4, 5])], &vocab, TokenMatch, Stop::Eos, 4);
    env.reset(Some(0));
    let mut out = vec![];
    for t in [4, 5, EOS] {
        let s = env.step(t).unwrap();
        out.push((s.reward, s.terminated, s.truncated));
    }
    // Emitting <eos> right after the target earns the last point.
    assert_eq!(
        out,
        vec![(1.0, false, false), (1.0, false, false), (1.0, true, false)]
    );
    // Without <eos>, the episode ends after 4 tokens: `max_new_tokens` is part of the state,
    // so reaching it terminates (no learner bootstraps past it; nothing truncates).
    env.reset(None);
    let mut last = None;
    for t in [4, 5, 4, 4] {
        last = Some(env.step(t).unwrap());
    }
    let last = last.unwrap();
    assert_eq!(
        (last.reward, last.terminated, last.truncated),
        (0.0, true, false)
    );
    assert_eq!(last.observation.generated, vec![4, 5, 4, 4]);
    assert!(env.step(4).is_err());
    // A late <eos> terminates but earns nothing.
    env.reset(None);
    for t in [4, 5, 5] {
        env.step(t).unwrap();
    }
    let s = env.step(EOS).unwrap();
    assert_eq!((s.reward, s.terminated), (0.0, true));
}

#[test]
fn invalid_tokens_and_bad_rewards_leave_the_episode_unchanged() {
    let vocab = letters(2);
    let mut env = env_with(
        vec![task(&[4], &[5, 5])],
        &vocab,
        TokenMatch,
        Stop::TargetLength,
        8,
    );
    assert!(matches!(env.step(4), Err(Error::EpisodeFinished)));
    env.reset(Some(0));
    let err = env.step(6).unwrap_err();
    assert_eq!(
        err.to_string(),
        "action 6 is outside the action space Discrete { n: 6 }"
    );
    // Still at the start: the next valid token is scored at position 0.
    assert_eq!(env.step(5).unwrap().reward, 1.0);

    let nan_on_a = |s: &TokenStep| if s.token == 4 { f64::NAN } else { 1.0 };
    let mut env = env_with(
        vec![task(&[], &[5, 5])],
        &vocab,
        nan_on_a,
        Stop::TargetLength,
        8,
    );
    env.reset(Some(0));
    assert!(matches!(
        env.step(4),
        Err(Error::NonFinite { what: "reward", .. })
    ));
    let s = env.step(5).unwrap();
    assert_eq!(s.observation.generated, vec![5]);

    // Construction errors.
    let config = TextEnvConfig::new();
    assert!(matches!(
        TextGenerationEnv::new(vec![], &vocab, TokenMatch, &config),
        Err(Error::Empty { .. })
    ));
    assert!(matches!(
        TextGenerationEnv::new(vec![task(&[9], &[4])], &vocab, TokenMatch, &config),
        Err(Error::InvalidAction { .. })
    ));
    assert!(matches!(
        TextGenerationEnv::new(
            vec![task(&[], &[4])],
            &vocab,
            TokenMatch,
            &config.with_max_new_tokens(0)
        ),
        Err(Error::InvalidConfig {
            field: "max_new_tokens",
            ..
        })
    ));
}

#[test]
fn end_of_episode_rewards_score_the_whole_output() {
    let vocab = letters(3);
    let tasks = vec![task(&[], &[4, 5, 6])];
    let play = |reward: &dyn Fn(&TokenStep) -> f64, tokens: &[TokenId]| -> Vec<f64> {
        let mut env = env_with(tasks.clone(), &vocab, reward, Stop::Eos, 6);
        env.reset(Some(0));
        tokens
            .iter()
            .map(|&t| env.step(t).unwrap().reward)
            .collect()
    };
    let exact = |s: &TokenStep| ExactMatch.reward(s);
    let f1 = |s: &TokenStep| TokenF1.reward(s);
    assert_eq!(play(&exact, &[4, 5, 6, EOS]), vec![0.0, 0.0, 0.0, 1.0]);
    assert_eq!(play(&exact, &[4, 5, EOS]), vec![0.0, 0.0, 0.0]);
    // F1 of [6, 5, 5] against [4, 5, 6]: overlap 2, precision 2/3, recall 2/3.
    let r = play(&f1, &[6, 5, 5, EOS]);
    assert_eq!(&r[..3], &[0.0, 0.0, 0.0]);
    assert!((r[3] - 2.0 / 3.0).abs() < 1e-12);
    // Truncation scores too: six tokens, no <eos>, all of the target inside.
    let r = play(&f1, &[4, 5, 6, 4, 4, 4]);
    assert!((r[5] - 2.0 * 0.5 * 1.0 / 1.5).abs() < 1e-12);
}

#[test]
fn seeds_reproduce_the_task_sequence() {
    let vocab = letters(3);
    let tasks: Vec<_> = (4..7).map(|t| task(&[t], &[t])).collect();
    let prompts = |seed| {
        let mut env = env_with(tasks.clone(), &vocab, TokenMatch, Stop::TargetLength, 4);
        let mut seen = vec![env.reset(Some(seed)).prompt[1]];
        for _ in 0..20 {
            seen.push(env.reset(None).prompt[1]);
        }
        seen
    };
    assert_eq!(prompts(3), prompts(3));
    assert_ne!(prompts(3), prompts(4));
    let seen = prompts(3);
    assert!((4..7).all(|t| seen.contains(&t)), "{seen:?}");
}

#[test]
fn the_batched_env_equals_single_envs_stepped_alike() {
    let vocab = letters(3);
    let tasks = vec![
        task(&[4], &[5, 6]),
        task(&[5], &[4]),
        task(&[6, 6], &[4, 4, 4]),
    ];
    let proto = env_with(tasks, &vocab, TokenMatch, Stop::Eos, 3);
    let n = 5;
    let mut batch = BatchedTextEnv::new(&proto, n).unwrap();
    let mut singles: Vec<_> = (0..n).map(|_| proto.replica()).collect();
    let start = batch.reset(Some(40)).to_vec();
    let single_start: Vec<TokenState> = singles
        .iter_mut()
        .enumerate()
        .map(|(i, e)| e.reset(Some(40 + i as u64)))
        .collect();
    assert_eq!(start, single_start);
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let device = valuefn::device::default_device();
    for _ in 0..30 {
        let tokens: Vec<TokenId> = (0..n)
            .map(|_| rand::RngExt::random_range(&mut rng, 2..7))
            .collect();
        let step = batch.step(&tokens).unwrap();
        for (i, env) in singles.iter_mut().enumerate() {
            let s = env.step(tokens[i]).unwrap();
            assert_eq!(step.rewards[i], s.reward);
            assert_eq!(step.terminated[i], s.terminated);
            assert_eq!(step.truncated[i], s.truncated);
            let next = if s.done() {
                assert_eq!(step.final_observations[i].as_ref(), Some(&s.observation));
                env.reset(None)
            } else {
                s.observation
            };
            assert_eq!(step.observations[i], next);
        }
        // The tensors hold exactly the states, right-padded.
        let tensors = PaddedTokens.encode(&batch.observations(), &device).unwrap();
        let [rows, width] = tensors.ids.dims();
        assert_eq!(rows, n);
        let ids = tensors
            .ids
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        let mask = tensors.mask.into_data().try_to_vec::<bool>().unwrap();
        for (i, state) in batch.observations().iter().enumerate() {
            let row: Vec<TokenId> = state.tokens().collect();
            for col in 0..width {
                let expected = row.get(col).copied().unwrap_or(Vocabulary::PAD);
                assert_eq!(ids[i * width + col], expected as i64);
                assert_eq!(mask[i * width + col], col < row.len());
            }
        }
        assert_eq!(
            to_indices(tensors.lengths),
            batch
                .observations()
                .iter()
                .map(TokenState::len)
                .collect::<Vec<_>>()
        );
    }
    assert!(matches!(
        batch.step(&[4, 4]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        batch.step(&[4, 4, 4, 4, 99]),
        Err(Error::InvalidAction { .. })
    ));
    assert!(matches!(
        PaddedTokens.encode(&[], &device),
        Err(Error::Empty { .. })
    ));
}

use rand::SeedableRng;

/// `V*` of a prefix `remaining` target positions from the end under the per-token reward:
/// `sum_{j < remaining} gamma^j`.
fn closed_form_v(remaining: usize, gamma: f64) -> f64 {
    (0..remaining).map(|j| gamma.powi(j as i32)).sum()
}

/// A random small instance: 1-3 letters, a target of 1-4 letters, a prompt of 0-2.
fn instance() -> impl Strategy<Value = (usize, Vec<TokenId>, Vec<TokenId>)> {
    (1usize..=3).prop_flat_map(|n| {
        (
            Just(n),
            prop::collection::vec(4..4 + n, 0..=2),
            prop::collection::vec(4..4 + n, 1..=4),
        )
    })
}

proptest! {
    #![proptest_config(proptest_config(24))]

    /// With the per-token reward and termination at the target length, `V*(prefix)` counts the
    /// (discounted) target positions ahead within the horizon `H = min(len, max_new_tokens)`,
    /// `Q*` of the right token is `V*`, of a wrong token other than `<eos>` it is `V* - 1`,
    /// and `<eos>` (which ends the episode) is worth 0.
    #[test]
    fn exact_values_match_the_closed_form(
        (n, prompt, target) in instance(),
        gamma in prop::sample::select(vec![1.0, 0.9, 0.5]),
        extra in -1isize..2,
    ) {
        let vocab = letters(n);
        let max_new = (target.len() as isize + extra).max(1) as usize;
        let env = env_with(vec![task(&prompt, &target)], &vocab, TokenMatch, Stop::TargetLength, max_new);
        let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new()).unwrap();
        let best = value_iteration(&text_mdp, &SolverConfig::new().with_gamma(gamma).with_tolerance(1e-12)).unwrap();
        let horizon = target.len().min(max_new);
        for (s, prefix) in text_mdp.prefixes().iter().enumerate() {
            let k = prefix.generated.len();
            if k == horizon || prefix.generated.contains(&EOS) {
                prop_assert!(best.values[s].abs() < 1e-12);
                continue;
            }
            let v = closed_form_v(horizon - k, gamma);
            prop_assert!((best.values[s] - v).abs() < 1e-9, "V*({prefix:?}) = {} != {v}", best.values[s]);
            for a in 0..vocab.len() {
                let q = best.q_values.get(s, a);
                let expected = if a == target[k] { v } else if a == EOS { 0.0 } else { v - 1.0 };
                prop_assert!((q - expected).abs() < 1e-9, "Q*({prefix:?}, {a}) = {q} != {expected}");
            }
        }
    }

    /// Stopping at `<eos>`, the reference is the target then `<eos>`: one more scored position,
    /// and `<eos>` is worth 1 exactly where it is the reference token.
    #[test]
    fn exact_values_with_eos_stop_count_the_end_position(
        (n, prompt, target) in instance(),
        gamma in prop::sample::select(vec![1.0, 0.8]),
    ) {
        let vocab = letters(n);
        let len = target.len();
        let env = env_with(vec![task(&prompt, &target)], &vocab, TokenMatch, Stop::Eos, len + 1);
        let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new()).unwrap();
        let best = value_iteration(&text_mdp, &SolverConfig::new().with_gamma(gamma).with_tolerance(1e-12)).unwrap();
        let mut reference = target.clone();
        reference.push(EOS);
        for (s, prefix) in text_mdp.prefixes().iter().enumerate() {
            let k = prefix.generated.len();
            if k == len + 1 || prefix.generated.contains(&EOS) {
                prop_assert!(best.values[s].abs() < 1e-12);
                continue;
            }
            let v = closed_form_v(len + 1 - k, gamma);
            prop_assert!((best.values[s] - v).abs() < 1e-9, "V*({prefix:?}) = {} != {v}", best.values[s]);
            for a in 0..vocab.len() {
                let q = best.q_values.get(s, a);
                let expected = if a == reference[k] { v } else if a == EOS { 0.0 } else { v - 1.0 };
                prop_assert!((q - expected).abs() < 1e-9, "Q*({prefix:?}, {a}) = {q} != {expected}");
            }
        }
        // The greedy completion is the target followed by <eos>.
        let mut env = env.replica();
        let mut state = env.reset(Some(0));
        let mut out = vec![];
        loop {
            let a = best.policy[text_mdp.index_of(&state).unwrap()];
            out.push(a);
            let step = env.step(a).unwrap();
            if step.done() { break; }
            state = step.observation;
        }
        let mut expected = target.clone();
        expected.push(EOS);
        prop_assert_eq!(out, expected);
    }
}

proptest! {
    #![proptest_config(proptest_config(5))]

    /// Tabular Q-learning through the index map reaches `Q*` on random small instances.
    #[test]
    fn q_learning_on_the_text_env_reaches_q_star(
        n in 1usize..=2,
        target in prop::collection::vec(4usize..6, 1..=3),
        gamma in prop::sample::select(vec![1.0, 0.9]),
        seed in any::<u64>(),
    ) {
        let target: Vec<TokenId> = target.into_iter().map(|t| t.min(3 + n)).collect();
        let vocab = letters(n);
        let env = env_with(vec![task(&[4], &target)], &vocab, TokenMatch, Stop::TargetLength, 4);
        let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new()).unwrap();
        let truth = value_iteration(&text_mdp, &SolverConfig::new().with_gamma(gamma)).unwrap();
        let mut indexed = text_mdp.indexed(env).unwrap();
        let mut q = QTable::zeros(text_mdp.num_states(), vocab.len(), &valuefn::device::default_device());
        let td = TabularTdConfig::new().with_gamma(gamma).with_step_size(StepSize::Constant { alpha: 0.5 });
        let config = TabularControlConfig::new(TabularControl::QLearning, td)
            // Off-policy: a uniformly random behaviour visits every prefix often enough.
            .with_exploration(EpsilonSchedule::Constant { epsilon: 1.0 })
            .with_episodes(3000)
            .with_seed(seed);
        train_tabular(&mut indexed, &mut q, &config).unwrap();
        let learned = q.to_q_values();
        // Every pair of every prefix that can still continue (ended prefixes are never updated
        // and stay at their exact value, 0).
        let error = max_abs_diff(learned.as_slice(), truth.q_values.as_slice());
        prop_assert!(error < 0.05, "max |Q - Q*| = {error}");
    }
}

#[test]
fn sarsa_learns_the_target_completion() {
    let vocab = letters(3);
    let env = env_with(
        vec![task(&[4, 5], &[6, 4, 5])],
        &vocab,
        TokenMatch,
        Stop::Eos,
        4,
    );
    let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new()).unwrap();
    let mut indexed = text_mdp.indexed(env.replica()).unwrap();
    let mut q = QTable::zeros(
        text_mdp.num_states(),
        vocab.len(),
        &valuefn::device::default_device(),
    );
    let td = TabularTdConfig::new()
        .with_gamma(1.0)
        .with_step_size(StepSize::Constant { alpha: 0.5 });
    let config = TabularControlConfig::new(TabularControl::Sarsa, td)
        .with_exploration(EpsilonSchedule::Linear {
            start: 1.0,
            end: 0.0,
            steps: 1500,
        })
        .with_episodes(2000)
        .with_seed(4);
    train_tabular(&mut indexed, &mut q, &config).unwrap();
    let learned = q.to_q_values();
    let mut env = env.replica();
    let mut state = env.reset(Some(0));
    let mut out = vec![];
    loop {
        let a = learned.greedy_actions()[text_mdp.index_of(&state).unwrap()];
        out.push(a);
        let step = env.step(a).unwrap();
        if step.done() {
            break;
        }
        state = step.observation;
    }
    assert_eq!(out, vec![6, 4, 5, EOS]);
    let root = text_mdp.index_of(&env.reset(Some(0))).unwrap();
    assert!((learned.max_values()[root] - 4.0).abs() < 0.1);
}

#[test]
fn several_targets_per_prompt_make_rewards_stochastic_and_the_enumeration_weighs_them() {
    let vocab = letters(3);
    // Prompt "a": targets "ab" once and "ac" twice; prompt "b": target "cc" (a quarter of resets).
    let tasks = vec![
        task(&[4], &[4, 5]),
        task(&[4], &[4, 6]),
        task(&[4], &[4, 6]),
        task(&[5], &[6, 6]),
    ];
    let env = env_with(tasks, &vocab, TokenMatch, Stop::TargetLength, 4);
    let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new()).unwrap();
    let best = value_iteration(&text_mdp, &SolverConfig::new().with_gamma(1.0)).unwrap();
    let mut probe = env.replica();
    let root_a = text_mdp.index_of(&probe.reset_to_task(0).unwrap()).unwrap();
    let root_b = text_mdp.index_of(&probe.reset_to_task(3).unwrap()).unwrap();
    assert_eq!(
        text_mdp.mdp().initial_distribution(),
        [(root_a, 0.75), (root_b, 0.25)]
    );
    assert!((best.values[root_a] - (1.0 + 2.0 / 3.0)).abs() < 1e-12);
    assert!((best.values[root_b] - 2.0).abs() < 1e-12);
    // After "a", "b" pays 1 a third of the time and "c" two thirds.
    let after_a = text_mdp
        .index_of(&TokenState {
            prompt: probe.tasks()[0].prompt().clone(),
            generated: vec![4],
        })
        .unwrap();
    assert!((best.q_values.get(after_a, 5) - 1.0 / 3.0).abs() < 1e-12);
    assert!((best.q_values.get(after_a, 6) - 2.0 / 3.0).abs() < 1e-12);
    // The environment samples the same distribution: the mean reward of "b" after "a".
    let mut env = env.replica();
    let (mut total, mut count) = (0.0, 0);
    env.reset(Some(1));
    for _ in 0..3000 {
        let state = env.reset(None);
        if state.prompt[1] != 4 {
            continue;
        }
        env.step(4).unwrap();
        total += env.step(5).unwrap().reward;
        count += 1;
    }
    let mean = total / count as f64;
    assert!((mean - 1.0 / 3.0).abs() < 0.03, "mean {mean} over {count}");
    // Targets of different lengths for one prompt would make the episode length reveal the
    // target under Stop::TargetLength: refused. Under Stop::Eos it is fine.
    let mixed = vec![task(&[4], &[4]), task(&[4], &[4, 5])];
    let env = env_with(mixed.clone(), &vocab, TokenMatch, Stop::TargetLength, 3);
    assert!(matches!(
        TextMdp::enumerate(&env, &TextMdpConfig::new()),
        Err(Error::InvalidMdp(_))
    ));
    let env = env_with(mixed, &vocab, TokenMatch, Stop::Eos, 3);
    let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new()).unwrap();
    let best = value_iteration(&text_mdp, &SolverConfig::new().with_gamma(1.0)).unwrap();
    // "a" then either <eos> (pays 1/2) or "b" then <eos> (pays 1/2 + 1/2): 1 + 1/2 + 1/2.
    assert!((best.values[0] - 2.0).abs() < 1e-12);
}

#[test]
fn the_state_count_is_guarded_before_anything_is_built() {
    // 3 letters + 4 specials = 7 actions, horizon 4: 1 + 7 + 7*6 + 7*36 + 7*216 = 1814 states.
    let vocab = letters(3);
    let env = env_with(
        vec![task(&[], &[4, 4, 4, 4])],
        &vocab,
        TokenMatch,
        Stop::TargetLength,
        10,
    );
    assert_eq!(
        TextMdp::enumerate(&env, &TextMdpConfig::new())
            .unwrap()
            .num_states(),
        1814
    );
    assert!(TextMdp::enumerate(&env, &TextMdpConfig::new().with_max_states(1814)).is_ok());
    match TextMdp::enumerate(&env, &TextMdpConfig::new().with_max_states(1813)) {
        Err(Error::TooManyStates {
            states: 1814,
            limit: 1813,
            ..
        }) => {}
        other => panic!("expected TooManyStates, got {other:?}"),
    }
    // A horizon of 60 over 7 tokens is astronomically large: refused without overflow.
    let env = env_with(vec![task(&[], &[4])], &vocab, TokenMatch, Stop::Eos, 60);
    let err = TextMdp::enumerate(&env, &TextMdpConfig::new()).unwrap_err();
    assert!(
        err.to_string()
            .contains("beyond the limit of 200000 states"),
        "{err}"
    );
}

#[test]
fn the_index_map_goes_both_ways() {
    let vocab = letters(2);
    let tasks = vec![task(&[4], &[5, 4]), task(&[5], &[4, 4])];
    let env = env_with(tasks, &vocab, TokenMatch, Stop::Eos, 3);
    let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new()).unwrap();
    for (i, prefix) in text_mdp.prefixes().iter().enumerate() {
        assert_eq!(text_mdp.index_of(prefix).unwrap(), i);
        assert_eq!(text_mdp.prefix(i), Some(prefix));
    }
    assert_eq!(text_mdp.prefix(text_mdp.num_states()), None);
    // Unknown prompt, a prefix past the horizon, a prefix continuing after <eos>.
    let p = env.tasks()[0].prompt().clone();
    for generated in [vec![4, 4, 4, 4], vec![EOS, 4]] {
        let state = TokenState {
            prompt: p.clone(),
            generated,
        };
        assert!(matches!(
            text_mdp.index_of(&state),
            Err(Error::UnknownObservation(_))
        ));
    }
    let stranger = TokenState::new(vec![BOS, 4, 4].into());
    assert!(matches!(
        text_mdp.index_of(&stranger),
        Err(Error::UnknownObservation(_))
    ));
    // Random play through the indexed env lands on the indices of the states reached.
    let mut plain = env.replica();
    let mut indexed = text_mdp.indexed(env.replica()).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let mut seen_cut = false;
    for episode in 0..50u64 {
        let s = plain.reset(Some(episode));
        assert_eq!(indexed.reset(Some(episode)), text_mdp.index_of(&s).unwrap());
        loop {
            let a = rand::RngExt::random_range(&mut rng, 0..vocab.len());
            let (x, y) = (plain.step(a).unwrap(), indexed.step(a).unwrap());
            assert_eq!(y.observation, text_mdp.index_of(&x.observation).unwrap());
            // The indexed env steps like the environment and the enumerated MDP: reaching
            // max_new_tokens is a terminal transition in all three.
            assert_eq!(
                (x.reward, x.terminated, x.truncated),
                (y.reward, y.terminated, y.truncated)
            );
            assert!(!x.truncated);
            seen_cut |= x.terminated && x.observation.generated.len() == 3 && a != EOS;
            if x.done() {
                break;
            }
        }
    }
    assert!(seen_cut, "some episode ran into max_new_tokens");
    // An environment the MDP was not built from is refused.
    let other = env_with(vec![task(&[4, 4], &[5])], &vocab, TokenMatch, Stop::Eos, 3);
    assert!(matches!(
        text_mdp.indexed(other),
        Err(Error::InvalidConfig { .. })
    ));
    let longer = env_with(vec![task(&[4], &[5, 4])], &vocab, TokenMatch, Stop::Eos, 4);
    assert!(matches!(
        text_mdp.indexed(longer),
        Err(Error::InvalidConfig { .. })
    ));
}

#[test]
fn bad_rewards_are_errors_in_the_enumeration_and_the_batch_moves_nothing() {
    let vocab = letters(2);
    let nan_after_two = |s: &TokenStep| {
        if s.generated.len() == 1 {
            f64::NAN
        } else {
            0.0
        }
    };
    let env = env_with(
        vec![task(&[], &[4, 4])],
        &vocab,
        nan_after_two,
        Stop::TargetLength,
        4,
    );
    assert!(matches!(
        TextMdp::enumerate(&env, &TextMdpConfig::new()),
        Err(Error::NonFinite { what: "reward", .. })
    ));
    // Copy 2 of the batch would get a NaN reward at its second step: no copy moves.
    let nan_on_b = |s: &TokenStep| if s.token == 5 { f64::NAN } else { 1.0 };
    let env = env_with(
        vec![task(&[], &[4, 4])],
        &vocab,
        nan_on_b,
        Stop::TargetLength,
        4,
    );
    let mut batch = BatchedTextEnv::new(&env, 3).unwrap();
    batch.reset(Some(0));
    batch.step(&[4, 4, 4]).unwrap();
    let before = batch.observations().to_vec();
    assert!(matches!(
        batch.step(&[4, 4, 5]),
        Err(Error::NonFinite { .. })
    ));
    assert_eq!(batch.observations(), &before[..]);
    let step = batch.step(&[4, 4, 4]).unwrap();
    assert_eq!(step.rewards, vec![1.0; 3]);
    assert!(step.terminated.iter().all(|&t| t));
}

#[test]
fn indexed_refuses_environments_it_cannot_index() {
    let vocab = letters(2);
    let env = env_with(
        vec![task(&[4], &[5, 4])],
        &vocab,
        TokenMatch,
        Stop::TargetLength,
        3,
    );
    let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new()).unwrap();
    assert!(text_mdp.indexed(env.replica()).is_ok());
    // Another vocabulary size.
    let bigger = env_with(
        vec![task(&[4], &[5, 4])],
        &letters(3),
        TokenMatch,
        Stop::TargetLength,
        3,
    );
    assert!(matches!(
        text_mdp.indexed(bigger),
        Err(Error::InvalidConfig { .. })
    ));
    // The same prompt and config but a longer target: another horizon.
    let longer = env_with(
        vec![task(&[4], &[5, 4, 4])],
        &vocab,
        TokenMatch,
        Stop::TargetLength,
        3,
    );
    assert!(matches!(
        text_mdp.indexed(longer),
        Err(Error::InvalidConfig { .. })
    ));
    // A different config.
    let eos = env_with(vec![task(&[4], &[5, 4])], &vocab, TokenMatch, Stop::Eos, 3);
    assert!(matches!(
        text_mdp.indexed(eos),
        Err(Error::InvalidConfig { .. })
    ));
    // reset_to_task checks its index.
    assert!(matches!(
        env.replica().reset_to_task(1),
        Err(Error::InvalidConfig { .. })
    ));
}

/// A vocabulary of `size` ids with the given `<eos>`.
struct Ids {
    size: usize,
    eos: Option<TokenId>,
}

impl valuefn::text::TokenVocabulary for Ids {
    fn vocab_size(&self) -> usize {
        self.size
    }

    fn eos_id(&self) -> Option<TokenId> {
        self.eos
    }
}

/// Found in review: a vocabulary without `<eos>` grows every branch to the horizon (the size
/// guard counted as if `<eos>` ended one branch per level: 61 states for 2^31 and a panic in
/// debug builds); an `<eos>` outside the vocabulary and an empty prompt are refused.
#[test]
fn text_mdps_without_eos_are_sized_right_and_bad_vocabularies_are_refused() {
    let config = TextEnvConfig::new().with_stop(Stop::TargetLength);
    let env = |size: usize, eos: Option<TokenId>, target: usize| {
        let task = TokenTask::new(vec![0], vec![1; target]).unwrap();
        TextGenerationEnv::new(
            vec![task],
            &Ids { size, eos },
            TokenMatch,
            &config.clone().with_max_new_tokens(target),
        )
    };
    // Without <eos>: 1 + 2 + 4 + 8 prefixes for a horizon of 3 over 2 ids.
    let small = TextMdp::enumerate(&env(2, None, 3).unwrap(), &TextMdpConfig::new()).unwrap();
    assert_eq!(small.num_states(), 15);
    // With <eos> (id 0) ending a branch: 1 + 2 + 2 + 2.
    let ended = TextMdp::enumerate(&env(2, Some(0), 3).unwrap(), &TextMdpConfig::new());
    assert_eq!(ended.unwrap().num_states(), 7);
    let huge = TextMdp::enumerate(&env(2, None, 30).unwrap(), &TextMdpConfig::new());
    assert!(
        matches!(huge, Err(Error::TooManyStates { states, .. }) if states == (1u128 << 31) - 1),
        "{huge:?}"
    );
    assert!(matches!(
        env(2, Some(2), 3),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        TokenTask::new(vec![], vec![1]),
        Err(Error::Empty { .. })
    ));
}
