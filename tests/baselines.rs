//! Critic-free advantages (GRPO, Dr. GRPO, RLOO, ReMax, REINFORCE++), Monte-Carlo values,
//! loss aggregation and truncated importance sampling: each equal to its formula on hand-built
//! rollouts, and the estimators' expectations held to the exact `A^pi` of a tiny text MDP.

mod common;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use valuefn::Error;
use valuefn::algo::LearningRateSchedule;
use valuefn::algo::OptimizerConfig;
use valuefn::algo::actor_critic::{
    ActorCritic, ActorCriticConfig, AdvantageEstimator, LossAggregation, PpoConfig, RolloutBatch,
};
use valuefn::batch::RolloutScores;
use valuefn::env::text::{
    TextEnvConfig, TextGenerationEnv, TextMdp, TextMdpConfig, TokenMatch, TokenState,
};
use valuefn::lm::{
    AdvantageErrors, ExactAdvantages, GruBodyConfig, TokenCollector, TokenModel, monte_carlo_values,
};
use valuefn::nn::{SoftmaxTable, TrainableVTable};
use valuefn::policy::PolicyAndValue;
use valuefn::returns::{GroupBaseline, Groups, Rollout, group_advantages, normalized_returns};
use valuefn::tensor_ops::{index_tensor, to_vec_f32};
use valuefn::text::{CharTokenizer, TextPair, TokenTask, Tokenizer};

fn device() -> Device {
    valuefn::device::default_device()
}

/// Two groups of two one-episode columns over `T = 3` steps (time-major, `B = 4`):
/// column 0: rewards 1, 0, 1 (ends at step 2); column 1: 0 (ends at step 0, then padding);
/// column 2: 2, 2 (ends at step 1); column 3: 0, 1, 0 (cut at step 2).
fn grouped_rollout() -> Rollout {
    #[rustfmt::skip]
    let rewards = vec![
        1.0, 0.0, 2.0, 0.0,
        0.0, 0.0, 2.0, 1.0,
        1.0, 0.0, 0.0, 0.0,
    ];
    #[rustfmt::skip]
    let terminated = vec![
        false, true, false, false,
        false, true, true, false,
        true, true, true, false,
    ];
    let mut truncated = vec![false; 12];
    truncated[11] = true;
    Rollout::new(3, 4, rewards, terminated, truncated, &device())
        .unwrap()
        .with_groups(Groups::new(vec![0, 0, 1, 1]).unwrap())
        .unwrap()
}

fn close(a: &[f32], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((f64::from(*x) - y).abs() < 1e-6, "{a:?} vs {b:?}");
    }
}

#[test]
fn group_baselines_equal_their_formulas_per_token() {
    let rollout = grouped_rollout();
    // Returns R = 2, 0 (group 0) and 4, 1 (group 1) with gamma 1.
    let broadcast = |a: [f64; 4]| {
        let counted = [
            [true, true, true, true],
            [true, false, true, true],
            [true, false, false, true],
        ];
        let mut out = Vec::new();
        for row in counted {
            for (b, &c) in row.iter().enumerate() {
                out.push(if c { a[b] } else { 0.0 });
            }
        }
        out
    };
    let rloo = group_advantages(&rollout, GroupBaseline::Rloo, 1.0).unwrap();
    close(
        &to_vec_f32(rloo.advantages),
        &broadcast([2.0, -2.0, 3.0, -3.0]),
    );
    // Returns-to-go, 0 on padding.
    close(
        &to_vec_f32(rloo.returns),
        &[2.0, 0.0, 4.0, 1.0, 1.0, 0.0, 2.0, 1.0, 1.0, 0.0, 0.0, 0.0],
    );
    let dr = group_advantages(&rollout, GroupBaseline::DrGrpo, 1.0).unwrap();
    close(
        &to_vec_f32(dr.advantages),
        &broadcast([1.0, -1.0, 1.5, -1.5]),
    );
    // Sample standard deviations: sqrt(2) and sqrt(4.5).
    let grpo = group_advantages(&rollout, GroupBaseline::Grpo { epsilon: 0.0 }, 1.0).unwrap();
    let (s0, s1) = (2f64.sqrt(), 4.5f64.sqrt());
    close(
        &to_vec_f32(grpo.advantages),
        &broadcast([1.0 / s0, -1.0 / s0, 1.5 / s1, -1.5 / s1]),
    );
    // Discounting: gamma 0.5 gives R = 1.25, 0, 3, 0.5.
    let half = group_advantages(&rollout, GroupBaseline::DrGrpo, 0.5).unwrap();
    close(
        &to_vec_f32(half.advantages),
        &broadcast([0.625, -0.625, 1.25, -1.25]),
    );
    // ReMax: the groups' reference returns.
    let groups = Groups::new(vec![0, 0, 1, 1])
        .unwrap()
        .with_reference(vec![1.0, 5.0])
        .unwrap();
    let remax_rollout = rollout.clone().with_groups(groups).unwrap();
    let remax = group_advantages(&remax_rollout, GroupBaseline::ReMax, 1.0).unwrap();
    close(
        &to_vec_f32(remax.advantages),
        &broadcast([1.0, -1.0, -1.0, -4.0]),
    );
    // REINFORCE++: returns-to-go of the 9 counted steps, standardised (population std).
    let kept = [2.0, 0.0, 4.0, 1.0, 1.0, 2.0, 1.0, 1.0, 0.0];
    let mean = kept.iter().sum::<f64>() / 9.0;
    let std = (kept.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / 9.0).sqrt();
    let z = |g: f64| (g - mean) / (std + 1e-8);
    let expected = [
        z(2.0),
        z(0.0),
        z(4.0),
        z(1.0),
        z(1.0),
        0.0,
        z(2.0),
        z(1.0),
        z(1.0),
        0.0,
        0.0,
        z(0.0),
    ];
    close(
        &to_vec_f32(normalized_returns(&rollout, 1.0).unwrap().advantages),
        &expected,
    );
}

#[test]
fn equal_returns_give_zero_advantage_and_no_nan() {
    let groups = Groups::contiguous(2, 3).unwrap();
    let returns = [0.1, 0.1, 0.1, 0.7, 0.7, 0.7];
    for baseline in [
        GroupBaseline::Grpo { epsilon: 0.0 },
        GroupBaseline::Grpo { epsilon: 1e-4 },
        GroupBaseline::DrGrpo,
        GroupBaseline::Rloo,
    ] {
        assert_eq!(
            baseline.advantages(&returns, &groups).unwrap(),
            vec![0.0; 6]
        );
    }
    let rollout =
        Rollout::new(1, 3, vec![1.0; 3], vec![true; 3], vec![false; 3], &device()).unwrap();
    assert_eq!(
        to_vec_f32(normalized_returns(&rollout, 1.0).unwrap().advantages),
        vec![0.0; 3]
    );
}

#[test]
fn bad_groups_and_settings_are_typed_errors() {
    let one_each = Groups::contiguous(3, 1).unwrap();
    for baseline in [
        GroupBaseline::Grpo { epsilon: 1e-4 },
        GroupBaseline::DrGrpo,
        GroupBaseline::Rloo,
    ] {
        let err = baseline
            .advantages(&[1.0, 0.0, 1.0], &one_each)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidConfig {
                    field: "group size",
                    ..
                }
            ),
            "{err}"
        );
    }
    let groups = Groups::contiguous(1, 2).unwrap();
    assert!(matches!(
        GroupBaseline::Rloo.advantages(&[1.0, f64::NAN], &groups),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(
        GroupBaseline::Rloo.advantages(&[1.0], &groups),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        GroupBaseline::Grpo { epsilon: -1.0 }.advantages(&[1.0, 0.0], &groups),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(
        GroupBaseline::ReMax.advantages(&[1.0, 0.0], &groups),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(Groups::new(vec![]).is_err());
    assert!(Groups::new(vec![1, 1]).is_err()); // group 0 empty
    assert!(Groups::contiguous(0, 4).is_err());
    assert!(groups.clone().with_reference(vec![1.0, 2.0]).is_err()); // one group
    assert!(groups.clone().with_reference(vec![f64::INFINITY]).is_err());
    // Groups that do not cover the rollout's columns.
    let rollout =
        Rollout::new(1, 3, vec![0.0; 3], vec![true; 3], vec![false; 3], &device()).unwrap();
    assert!(matches!(
        rollout
            .clone()
            .with_groups(Groups::contiguous(1, 2).unwrap()),
        Err(Error::ShapeMismatch { .. })
    ));
    // No groups at all.
    assert!(matches!(
        group_advantages(&rollout, GroupBaseline::Rloo, 1.0),
        Err(Error::InvalidConfig {
            field: "rollout",
            ..
        })
    ));
    // A column holding two episodes.
    let two = Rollout::new(
        2,
        1,
        vec![1.0, 1.0],
        vec![true, true],
        vec![false; 2],
        &device(),
    )
    .unwrap();
    assert!(matches!(
        normalized_returns(&two, 1.0),
        Err(Error::InvalidConfig {
            field: "rollout",
            ..
        })
    ));
    // A second episode without rewards is not padding either: padding is marked terminated.
    let unmarked = Rollout::new(
        3,
        1,
        vec![1.0, 0.0, 0.0],
        vec![true, false, false],
        vec![false; 3],
        &device(),
    )
    .unwrap();
    assert!(normalized_returns(&unmarked, 1.0).is_err());
    // Config fields.
    let config = ActorCriticConfig::new();
    assert!(
        config
            .clone()
            .with_importance_cap(Some(0.0))
            .validate()
            .is_err()
    );
    assert!(
        config
            .clone()
            .with_importance_cap(Some(f64::NAN))
            .validate()
            .is_err()
    );
    assert!(
        config
            .clone()
            .with_advantage(AdvantageEstimator::Group {
                baseline: GroupBaseline::Grpo {
                    epsilon: f64::INFINITY
                }
            })
            .validate()
            .is_err()
    );
    // The learner refuses an ungrouped rollout or a single-sample group, changing nothing.
    let (mut learner, batch) = table_learner(ActorCriticConfig::new().with_advantage(
        AdvantageEstimator::Group {
            baseline: GroupBaseline::Rloo,
        },
    ));
    let before = learner.actor().to_logits();
    assert!(learner.update(&batch).is_err());
    let mut single = batch.clone();
    single.rollout = single
        .rollout
        .with_groups(Groups::contiguous(2, 1).unwrap())
        .unwrap();
    assert!(matches!(
        learner.update(&single),
        Err(Error::InvalidConfig {
            field: "group size",
            ..
        })
    ));
    // Importance sampling without the sampler's log-probabilities.
    let (mut corrected, batch) =
        table_learner(ActorCriticConfig::new().with_importance_cap(Some(2.0)));
    assert!(matches!(
        corrected.update(&batch),
        Err(Error::InvalidConfig {
            field: "importance_cap",
            ..
        })
    ));
    assert_eq!(learner.actor().to_logits(), before);
    assert_eq!(
        (learner.gradient_steps(), corrected.gradient_steps()),
        (0, 0)
    );
}

const ACTIONS: usize = 3;
const RATE: f64 = 0.5;

/// A softmax table over 4 states and 3 actions with a value table, trained by plain SGD at
/// `RATE` (no clipping, no entropy): the update's change of the logits is the policy
/// gradient itself. The batch: `T = 3` steps of `B = 2` columns; column 0 visits states
/// 0, 1, 2 (rewards 1, 0, 1, ends at step 2); column 1 visits state 3 (reward 0, ends), then
/// padding.
fn table_learner(
    config: ActorCriticConfig,
) -> (
    ActorCritic<PolicyAndValue<SoftmaxTable, TrainableVTable>>,
    RolloutBatch<Tensor<1, Int>>,
) {
    let device = device();
    let train = device.clone().autodiff();
    let sgd = LearningRateSchedule::Constant { rate: RATE };
    let config = config
        .with_gamma(1.0)
        .with_max_grad_norm(None)
        .with_actor_optimizer(OptimizerConfig::Sgd)
        .with_critic_optimizer(OptimizerConfig::Sgd)
        .with_actor_learning_rate(sgd)
        .with_critic_learning_rate(sgd);
    let model = PolicyAndValue::new(
        SoftmaxTable::zeros(4, ACTIONS, &train).unwrap(),
        TrainableVTable::zeros(4, &train).unwrap(),
    );
    // Time-major: (t, b) at t * 2 + b; padding repeats state 3.
    let states = [0, 3, 1, 3, 2, 3];
    let batch = RolloutBatch {
        observations: index_tensor(&states, &device),
        actions: index_tensor(&[0usize, 2, 1, 0, 2, 0], &device),
        next_observations: index_tensor(&[1usize, 3, 2, 3, 3, 3], &device),
        rollout: Rollout::new(
            3,
            2,
            vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            vec![false, true, false, true, true, true],
            vec![false; 6],
            &device,
        )
        .unwrap(),
        mask: Some(vec![true, true, true, false, true, false]),
        scores: None,
    };
    (ActorCritic::new(config, model).unwrap(), batch)
}

/// The logits after one SGD step from zeros (uniform policy): for transition `i` in state
/// `s_i` with action `a_i`, weight `w_i` and advantage `A_i`,
/// `theta[s_i, a] += RATE / N * w_i * A_i * (1[a = a_i] - 1/3)`.
fn expected_logits(transitions: &[(usize, usize, f64)]) -> Vec<f64> {
    let n = transitions.len() as f64;
    let mut logits = vec![0.0; 4 * ACTIONS];
    for &(s, a, weighted) in transitions {
        for b in 0..ACTIONS {
            let indicator = if a == b { 1.0 } else { 0.0 };
            logits[s * ACTIONS + b] += RATE / n * weighted * (indicator - 1.0 / ACTIONS as f64);
        }
    }
    logits
}

fn logits_of(learner: &ActorCritic<PolicyAndValue<SoftmaxTable, TrainableVTable>>) -> Vec<f64> {
    learner
        .actor()
        .to_logits()
        .iter()
        .map(|&x| f64::from(x))
        .collect()
}

#[test]
fn a_critic_free_update_with_sequence_aggregation_equals_the_hand_computed_step() {
    // RLOO over the two columns as one group: R = 2 and 0, so A = +2 on column 0's three
    // tokens and -2 on column 1's one. SequenceMean: N = 4, S = 2, weights 4 / (2 * 3) and
    // 4 / (2 * 1).
    let (mut learner, mut batch) = table_learner(
        ActorCriticConfig::new()
            .with_advantage(AdvantageEstimator::Group {
                baseline: GroupBaseline::Rloo,
            })
            .with_loss_aggregation(LossAggregation::SequenceMean),
    );
    batch.rollout = batch
        .rollout
        .with_groups(Groups::contiguous(1, 2).unwrap())
        .unwrap();
    let stats = learner.update(&batch).unwrap();
    let w = 2.0 / 3.0;
    let expected = expected_logits(&[
        (0, 0, w * 2.0),
        (1, 1, w * 2.0),
        (2, 2, w * 2.0),
        (3, 2, 2.0 * -2.0),
    ]);
    assert!(
        common::max_abs_diff(&logits_of(&learner), &expected) < 1e-6,
        "{:?} vs {expected:?}",
        logits_of(&learner)
    );
    assert_eq!(stats.gradient_steps, 1);

    // TokenMean and SequenceSum on the same batch: weights 1, and N / S = 2.
    for (aggregation, weight) in [
        (LossAggregation::TokenMean, 1.0),
        (LossAggregation::SequenceSum, 2.0),
    ] {
        let (mut learner, mut batch) = table_learner(
            ActorCriticConfig::new()
                .with_advantage(AdvantageEstimator::Group {
                    baseline: GroupBaseline::Rloo,
                })
                .with_loss_aggregation(aggregation),
        );
        batch.rollout = batch
            .rollout
            .with_groups(Groups::contiguous(1, 2).unwrap())
            .unwrap();
        learner.update(&batch).unwrap();
        let a = 2.0 * weight;
        let expected = expected_logits(&[(0, 0, a), (1, 1, a), (2, 2, a), (3, 2, -a)]);
        assert!(
            common::max_abs_diff(&logits_of(&learner), &expected) < 1e-6,
            "{:?} vs {expected:?}",
            logits_of(&learner)
        );
    }
}

#[test]
fn truncated_importance_weights_scale_each_tokens_advantage() {
    // A2C, and PPO's first step, where the ratio is taken against the learner's pi_old (1 at
    // the start, so nothing is clipped) rather than against the sampler (e^2 would be).
    for ppo in [
        None,
        Some(PpoConfig::new().with_epochs(1).with_minibatch_size(64)),
    ] {
        importance_weighted_step(ppo);
    }
}

fn importance_weighted_step(ppo: Option<PpoConfig>) {
    // GAE(1) on a zero value table: A = the returns-to-go 2, 1, 1 (column 0) and 0.
    // The sampler gave each token log-probability log(1/3) - shift: the learner's uniform
    // policy over 3 actions makes the ratio e^shift, capped at 1.5.
    let config = ActorCriticConfig::new()
        .with_advantage(AdvantageEstimator::Gae { lambda: 1.0 })
        .with_value_coef(0.0)
        .with_importance_cap(Some(1.5))
        .with_ppo(ppo);
    let uniform = -(ACTIONS as f32).ln();
    let shifts = [0.0f32, 0.0, -1.0, 0.0, 2.0, 0.0]; // ratios 1, e^-1, e^2 -> capped 1.5
    let (mut learner, mut batch) = table_learner(config);
    batch.scores = Some(RolloutScores {
        values: vec![0.0; 6],
        next_values: vec![0.0; 6],
        log_probs: shifts.iter().map(|s| uniform - s).collect(),
    });
    learner.update(&batch).unwrap();
    let expected = expected_logits(&[
        (0, 0, 2.0),
        (1, 1, 1.0 * (-1.0f64).exp()),
        (2, 2, 1.0 * 1.5),
        (3, 2, 0.0),
    ]);
    assert!(
        common::max_abs_diff(&logits_of(&learner), &expected) < 1e-6,
        "{:?} vs {expected:?}",
        logits_of(&learner)
    );
}

/// A one-token task over 6 token ids (4 specials and "a", "b"): a bandit whose right arm is
/// "b", and a random policy from a small GRU.
fn bandit() -> (
    TextGenerationEnv,
    TextMdp,
    TokenModel<valuefn::lm::GruBody>,
    TokenTask,
) {
    let tok = CharTokenizer::fit(["ab"]).unwrap();
    let task = TokenTask::encode(&TextPair::new("ab", "b"), &tok).unwrap();
    let env = TextGenerationEnv::new(
        vec![task.clone()],
        tok.vocabulary(),
        TokenMatch,
        &TextEnvConfig::new().with_max_new_tokens(1),
    )
    .unwrap();
    let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new()).unwrap();
    let body = GruBodyConfig::new(env.vocab_size())
        .with_hidden(8)
        .with_seed(5);
    let model = TokenModel::new(body.init(&device()).unwrap(), 3, &device());
    (env, text_mdp, model, task)
}

/// `E[A | a_0 = a]` of a group baseline for a group of `k` samples of the bandit, by exact
/// enumeration of the other `k - 1` samples' actions (probabilities `pi`, rewards `r`).
fn expected_given_action(
    baseline: GroupBaseline,
    pi: &[f64],
    r: &[f64],
    k: usize,
    a: usize,
) -> f64 {
    let actions = pi.len();
    let others = k - 1;
    let mut total = 0.0;
    for code in 0..actions.pow(others as u32) {
        let mut rest = code;
        let mut p = 1.0;
        let mut returns = vec![r[a]];
        for _ in 0..others {
            let b = rest % actions;
            rest /= actions;
            p *= pi[b];
            returns.push(r[b]);
        }
        let groups = Groups::contiguous(1, k).unwrap();
        total += p * baseline.advantages(&returns, &groups).unwrap()[0];
    }
    total
}

#[test]
fn rloo_is_unbiased_and_grpo_biased_by_the_amount_exact_enumeration_predicts() {
    let (env, text_mdp, model, task) = bandit();
    let exact = ExactAdvantages::of_policy(&model, &text_mdp, 1.0, &device()).unwrap();
    let start = TokenState::new(task.prompt().clone());
    let s0 = text_mdp.index_of(&start).unwrap();
    let pi = exact.policy().row(s0).to_vec();
    let r: Vec<f64> = (0..6)
        .map(|a| if a == task.target()[0] { 1.0 } else { 0.0 })
        .collect();
    let k = 4;
    let grpo = GroupBaseline::Grpo { epsilon: 1e-4 };
    for a in 0..6 {
        let truth = exact.advantage(&start, a).unwrap();
        // RLOO: E[R_a - mean of the others] = r_a - V = A^pi exactly.
        let rloo = expected_given_action(GroupBaseline::Rloo, &pi, &r, k, a);
        assert!((rloo - truth).abs() < 1e-12, "RLOO {rloo} vs {truth}");
        // The group mean includes the sample itself: (k - 1) / k of the truth.
        let dr = expected_given_action(GroupBaseline::DrGrpo, &pi, &r, k, a);
        assert!((dr - truth * (k - 1) as f64 / k as f64).abs() < 1e-12);
    }
    // GRPO's division by the group's spread: a different expectation, by a computed amount.
    let b = task.target()[0];
    let grpo_b = expected_given_action(grpo, &pi, &r, k, b);
    let truth_b = exact.advantage(&start, b).unwrap();
    assert!(
        (grpo_b - truth_b).abs() > 0.1,
        "GRPO {grpo_b} vs A {truth_b}"
    );

    // The pipeline agrees with the enumeration: grouped rollouts sampled from the model, then
    // each estimator, averaged per action over 2,000 groups (within 4 standard errors).
    let mut rollouts = TokenCollector::grouped(&env, 2000, k, 11).unwrap();
    let rollout = rollouts.collect(&model, &device()).unwrap();
    let actions: Vec<usize> = rollout.episodes.iter().map(|e| e.completion()[0]).collect();
    for baseline in [GroupBaseline::Rloo, grpo] {
        let estimates = to_vec_f32(
            group_advantages(&rollout.batch.rollout, baseline, 1.0)
                .unwrap()
                .advantages,
        );
        for a in 0..6 {
            let picked: Vec<f64> = actions
                .iter()
                .zip(&estimates)
                .filter(|(x, _)| **x == a)
                .map(|(_, &e)| f64::from(e))
                .collect();
            if picked.len() < 200 {
                continue;
            }
            let n = picked.len() as f64;
            let mean = picked.iter().sum::<f64>() / n;
            let var = picked.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let expected = expected_given_action(baseline, &pi, &r, k, a);
            assert!(
                (mean - expected).abs() < 4.0 * (var / n).sqrt() + 1e-9,
                "{} action {a}: sampled {mean} vs exact {expected} ({n} samples)",
                baseline.name()
            );
        }
    }
}

/// Reverse "ab": two target tokens over 6 token ids.
fn reverse_ab() -> TextGenerationEnv {
    let tok = CharTokenizer::fit(["ab"]).unwrap();
    let task = TokenTask::encode(&TextPair::new("ab", "ba"), &tok).unwrap();
    TextGenerationEnv::new(
        vec![task],
        tok.vocabulary(),
        TokenMatch,
        &TextEnvConfig::new(),
    )
    .unwrap()
}

#[test]
fn monte_carlo_values_are_unbiased_for_the_exact_values() {
    // Reverse "ab" (two target tokens) under a random policy: V^pi of each visited state.
    let env = reverse_ab();
    let body = GruBodyConfig::new(env.vocab_size())
        .with_hidden(8)
        .with_seed(2);
    let model = TokenModel::new(body.init(&device()).unwrap(), 1, &device());
    monte_carlo_values_match_the_exact_ones(&model, &env);
    // Bad input.
    let mut rollouts = TokenCollector::new(&env, 3, 4).unwrap();
    let rollout = rollouts.collect(&model, &device()).unwrap();
    assert!(monte_carlo_values(&model, &rollouts, &rollout, 0, 1.0, 0, &device()).is_err());
    assert!(monte_carlo_values(&model, &rollouts, &rollout, 1, 1.5, 0, &device()).is_err());
    let other = TokenCollector::new(&env, 2, 0).unwrap();
    assert!(monte_carlo_values(&model, &other, &rollout, 1, 1.0, 0, &device()).is_err());
}

/// Found in review: continuations from every depth played in one lockstep batch grow past a
/// transformer's context (a row that started deep is fed padding while the others play on),
/// although the collector's rollout fit. With a context of exactly the prompt plus the
/// horizon (3 tokens), they are played depth by depth, and still unbiased.
#[test]
fn monte_carlo_values_fit_a_context_of_exactly_prompt_plus_horizon() {
    use valuefn::lm::{LmBody, TransformerBodyConfig};
    let tok = CharTokenizer::fit(["abc"]).unwrap();
    let task = TokenTask::encode(&TextPair::new("abc", "cba"), &tok).unwrap();
    let config = TextEnvConfig::new();
    let env = TextGenerationEnv::new(vec![task], tok.vocabulary(), TokenMatch, &config).unwrap();
    let needed = env.tasks()[0].prompt().len() + env.config().horizon(&env.tasks()[0]);
    let body = TransformerBodyConfig::new(env.vocab_size())
        .with_hidden(8)
        .with_heads(2)
        .with_layers(1)
        .with_max_len(needed)
        .with_seed(2)
        .init(&device())
        .unwrap();
    assert_eq!(body.max_len(), Some(needed));
    let model = TokenModel::new(body, 1, &device());
    monte_carlo_values_match_the_exact_ones(&model, &env);
}

/// Monte Carlo values of a random policy's rollout equal its exact `V^pi` within four
/// standard errors.
fn monte_carlo_values_match_the_exact_ones<B: valuefn::lm::LmBody>(
    model: &TokenModel<B>,
    env: &TextGenerationEnv,
) {
    let text_mdp = TextMdp::enumerate(env, &TextMdpConfig::new()).unwrap();
    let exact = ExactAdvantages::of_policy(model, &text_mdp, 1.0, &device()).unwrap();
    let mut rollouts = TokenCollector::new(env, 3, 4).unwrap();
    let rollout = rollouts.collect(model, &device()).unwrap();
    let samples = 1500;
    let mc = monte_carlo_values(model, &rollouts, &rollout, samples, 1.0, 9, &device()).unwrap();
    // Each continuation plays 1 to H tokens (`<eos>` ends an episode early).
    let horizon = env.config().horizon(&env.tasks()[0]);
    let states: usize = rollout.episodes.iter().map(|e| e.completion().len()).sum();
    assert!((states * samples..=horizon * states * samples).contains(&mc.tokens));
    let mut compared = 0;
    for (b, episode) in rollout.episodes.iter().enumerate() {
        let mut state = TokenState::new(episode.tokens[..episode.prompt_len].into());
        for (t, &token) in episode.completion().iter().enumerate() {
            let truth = exact.value(&state).unwrap();
            let estimate = f64::from(mc.values[t * 3 + b]);
            // Returns lie in [0, H]: a standard error of at most H / 2 / sqrt(samples).
            assert!(
                (estimate - truth).abs() < 2.0 * horizon as f64 / (samples as f64).sqrt(),
                "{estimate} vs {truth}"
            );
            state.generated.push(token);
            compared += 1;
        }
    }
    assert_eq!(compared, states);
}

/// Reverse of "ab" and of "ba": two prompts.
fn two_prompts() -> TextGenerationEnv {
    let tok = CharTokenizer::fit(["ab"]).unwrap();
    let tasks = ["ab", "ba"]
        .iter()
        .map(|p| {
            TokenTask::encode(
                &TextPair::new(*p, p.chars().rev().collect::<String>()),
                &tok,
            )
            .unwrap()
        })
        .collect();
    TextGenerationEnv::new(tasks, tok.vocabulary(), TokenMatch, &TextEnvConfig::new()).unwrap()
}

#[test]
fn monte_carlo_values_refuse_a_rollout_of_another_collection() {
    let env = two_prompts();
    let body = GruBodyConfig::new(env.vocab_size()).with_hidden(8);
    let model = TokenModel::new(body.init(&device()).unwrap(), 1, &device());
    let mut rollouts = TokenCollector::new(&env, 1, 0).unwrap();
    let stale = rollouts.collect(&model, &device()).unwrap();
    let task = rollouts.tasks_played()[0];
    assert!(monte_carlo_values(&model, &rollouts, &stale, 2, 1.0, 0, &device()).is_ok());
    // Collect until the copy plays the other prompt: the stale rollout no longer fits.
    for _ in 0..64 {
        rollouts.collect(&model, &device()).unwrap();
        if rollouts.tasks_played()[0] != task {
            break;
        }
    }
    assert_ne!(rollouts.tasks_played()[0], task);
    assert!(matches!(
        monte_carlo_values(&model, &rollouts, &stale, 2, 1.0, 0, &device()),
        Err(Error::InvalidConfig {
            field: "rollout",
            ..
        })
    ));
}

#[test]
fn grouped_rollouts_draw_the_same_prompts_whatever_the_group_size() {
    let env = two_prompts();
    let body = GruBodyConfig::new(env.vocab_size()).with_hidden(8);
    let model = TokenModel::new(body.init(&device()).unwrap(), 1, &device());
    let leaders = |size: usize| {
        let mut rollouts = TokenCollector::grouped(&env, 6, size, 3).unwrap();
        let rollout = rollouts.collect(&model, &device()).unwrap();
        assert_eq!(
            rollout.batch.rollout.groups().unwrap().sizes(),
            vec![size; 6]
        );
        let tasks = rollouts.tasks_played();
        assert!((0..tasks.len()).all(|i| tasks[i] == tasks[i / size * size]));
        (0..6).map(|g| tasks[g * size]).collect::<Vec<_>>()
    };
    let (one, four) = (leaders(1), leaders(4));
    assert_eq!(one, four);
    assert!(one.contains(&0) && one.contains(&1), "{one:?}");
}

#[test]
fn advantage_errors_follow_their_definitions() {
    let exact = [1.0, -1.0, 0.0, 2.0];
    let estimate = [2.0, 0.0, 1.0, 3.0]; // the truth plus 1
    let e = AdvantageErrors::between(&estimate, &exact).unwrap();
    assert_eq!((e.bias, e.error_std, e.rmse), (1.0, 0.0, 1.0));
    assert!((e.correlation - 1.0).abs() < 1e-12 && (e.scale - 1.0).abs() < 1e-12);
    assert!(AdvantageErrors::between(&[1.0], &exact).is_err());
    assert!(AdvantageErrors::between(&[], &[]).is_err());
    assert!(AdvantageErrors::between(&[f64::NAN], &[0.0]).is_err());
}

/// Host softmax of one row of logits.
fn softmax(row: &[f32]) -> Vec<f64> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = row.iter().map(|&l| f64::from(l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

#[test]
fn a_q_critic_weights_the_gradient_by_q_and_learns_q_by_expected_sarsa() {
    use valuefn::policy::LogitsPolicy;
    use valuefn::value::QFunction;
    let env = reverse_ab();
    let device = device();
    let train = device.clone().autodiff();
    let body = GruBodyConfig::new(env.vocab_size())
        .with_hidden(8)
        .with_seed(3);
    let model = TokenModel::new(body.init(&train).unwrap(), 4, &train);
    let gamma = 0.9;
    let config = |advantage| {
        ActorCriticConfig::new()
            .with_gamma(gamma)
            .with_advantage(advantage)
            .with_actor_optimizer(OptimizerConfig::ADAM)
            .with_critic_optimizer(OptimizerConfig::ADAM)
    };
    let mut rollouts = TokenCollector::new(&env, 6, 1).unwrap();
    let rollout = rollouts.collect(&model, &device).unwrap();
    let batch = &rollout.batch;

    // By hand from full passes of the model.
    let inference = model.valid();
    let actions = env.vocab_size();
    let logits = to_vec_f32(inference.logits(batch.observations.clone()).unwrap());
    let q = to_vec_f32(inference.q_values(batch.observations.clone()).unwrap());
    let next_logits = to_vec_f32(inference.logits(batch.next_observations.clone()).unwrap());
    let next_q = to_vec_f32(inference.q_values(batch.next_observations.clone()).unwrap());
    let taken = valuefn::tensor_ops::to_indices(batch.actions.clone());
    let expected_v = |logits: &[f32], q: &[f32], i: usize| -> f64 {
        let pi = softmax(&logits[i * actions..(i + 1) * actions]);
        pi.iter()
            .zip(&q[i * actions..(i + 1) * actions])
            .map(|(p, &q)| p * f64::from(q))
            .sum()
    };
    let mask = batch.mask.clone().unwrap();
    let rewards = batch.rollout.rewards();
    let plain = ActorCritic::new(config(AdvantageEstimator::QValue), model.clone()).unwrap();
    let baselined =
        ActorCritic::new(config(AdvantageEstimator::QAdvantage), model.clone()).unwrap();
    let plain_out = plain.advantages(batch).unwrap();
    let out = baselined.advantages(batch).unwrap();
    let (plain_a, a, returns) = (
        to_vec_f32(plain_out.advantages),
        to_vec_f32(out.advantages),
        to_vec_f32(out.returns),
    );
    let mut checked = 0;
    for i in (0..mask.len()).filter(|&i| mask[i]) {
        let q_taken = f64::from(q[i * actions + taken[i]]);
        assert!((f64::from(plain_a[i]) - q_taken).abs() < 1e-5);
        assert!((f64::from(a[i]) - (q_taken - expected_v(&logits, &q, i))).abs() < 1e-5);
        // Expected SARSA: no bootstrap after the episode's last token (it terminated).
        let last = mask.get(i + 6).is_none_or(|&m| !m);
        let bootstrap = if last {
            0.0
        } else {
            gamma * expected_v(&next_logits, &next_q, i)
        };
        let target = f64::from(rewards[i]) + bootstrap;
        assert!(
            (f64::from(returns[i]) - target).abs() < 1e-5,
            "{} vs {target}",
            returns[i]
        );
        checked += 1;
    }
    assert!(checked >= 6);

    // An update steps the Q head (the critic) and leaves the unused V head alone.
    let mut learner = baselined;
    let (q_before, v_before) = (
        to_vec_f32(learner.model().q_head().weight.val()),
        to_vec_f32(learner.model().value_head().weight.val()),
    );
    let stats = learner.update(batch).unwrap();
    assert!(stats.value_loss > 0.0);
    assert_ne!(to_vec_f32(learner.model().q_head().weight.val()), q_before);
    assert_eq!(
        to_vec_f32(learner.model().value_head().weight.val()),
        v_before
    );

    // A model without a Q critic refuses the estimator, changing nothing.
    let (mut tables, table_batch) =
        table_learner(ActorCriticConfig::new().with_advantage(AdvantageEstimator::QAdvantage));
    let before = tables.actor().to_logits();
    assert!(matches!(
        tables.update(&table_batch),
        Err(Error::InvalidConfig {
            field: "advantage",
            ..
        })
    ));
    assert_eq!(
        (tables.actor().to_logits(), tables.gradient_steps()),
        (before, 0)
    );
}
