//! Bad input never panics, hangs, over-allocates or corrupts (issue 15).
//!
//! `every_public_function_rejects_bad_input` calls the public constructors and fallible
//! methods with bad input of each kind the issue lists (serde bypassing validation, zero
//! actions, NaN, overflow and `f32` narrowing, huge sizes, hangs, half-applied steps,
//! misleading messages), each under `catch_unwind` so one failure does not hide the others,
//! and asserts a typed `Err` with an informative message (and, where it applies, the object
//! unchanged). It prints how many functions and inputs it tried.
//!
//! The property tests check that deserializing a validated type accepts exactly what its
//! constructor accepts, and fuzz the text parsers with arbitrary strings and bytes:
//! `VALUEFN_FUZZ_CASES` sets the case count (64 by default, so CI stays fast; run
//! `VALUEFN_FUZZ_CASES=100000 cargo test --release --test robustness fuzz` for a big run).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use burn::tensor::{Bool, Tensor, TensorData};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use valuefn::algo::{QLearning, TabularBatch, TabularTdConfig};
use valuefn::encode::{FeatureEncoder, Features, OneHot};
use valuefn::env::SyncVecEnv;
use valuefn::env::tabular::RandomWalk;
use valuefn::env::text::{
    BatchedTextEnv, Stop, TextEnvConfig, TextGenerationEnv, TextMdp, TextMdpConfig, TokenMatch,
    TokenSequences,
};
use valuefn::policy::PolicyAndValue;
use valuefn::policy::{ActionSelector, Boltzmann, EpsilonGreedy, EpsilonSchedule, Greedy};
use valuefn::prelude::*;
use valuefn::replay::Replay;
use valuefn::returns::{
    Rollout, double_q_targets, expected_sarsa_targets, q_learning_targets, soft_q_targets,
    soft_values,
};
use valuefn::space::BoxSpace;
use valuefn::tabular::{
    RandomMdpConfig, TabularMdp, Transition, bellman_optimality_residual, policy_iteration_from,
};
use valuefn::tensor_ops::to_vec_f32;
use valuefn::text::{
    AdditionTask, CharTokenizer, Corpus, SequenceOp, SequenceTask, TextPair, TokenTask, Tokenizer,
    Vocabulary, WordTokenizer,
};

/// Runs probes, each under `catch_unwind`, and keeps score.
#[derive(Default)]
struct Sweep {
    functions: BTreeSet<&'static str>,
    inputs: usize,
    failures: Vec<String>,
}

impl Sweep {
    /// `call` must return an `Err` that `typed` accepts and whose message contains `needle`.
    fn err<T>(
        &mut self,
        function: &'static str,
        input: &str,
        typed: impl Fn(&Error) -> bool,
        needle: &str,
        call: impl FnOnce() -> Result<T>,
    ) {
        self.functions.insert(function);
        self.inputs += 1;
        let problem = match catch_unwind(AssertUnwindSafe(call)) {
            Ok(Err(e)) if typed(&e) && e.to_string().contains(needle) => return,
            Ok(Err(e)) => format!("wrong error {e:?} (message {e}; wanted {needle:?})"),
            Ok(Ok(_)) => "returned Ok".to_string(),
            Err(panic) => format!("panicked: {}", panic_message(&panic)),
        };
        self.failures
            .push(format!("{function}({input}): {problem}"));
    }

    /// `call` must not panic and must return true (a valid answer, an unchanged object).
    fn holds(&mut self, function: &'static str, input: &str, call: impl FnOnce() -> bool) {
        self.functions.insert(function);
        self.inputs += 1;
        match catch_unwind(AssertUnwindSafe(call)) {
            Ok(true) => {}
            Ok(false) => self
                .failures
                .push(format!("{function}({input}): wrong result")),
            Err(panic) => self.failures.push(format!(
                "{function}({input}): panicked: {}",
                panic_message(&panic)
            )),
        }
    }

    /// A documented `# Panics` case: it must panic (with a message, not inside a backend).
    fn documented_panic(&mut self, function: &'static str, input: &str, call: impl FnOnce()) {
        self.functions.insert(function);
        self.inputs += 1;
        if catch_unwind(AssertUnwindSafe(call)).is_ok() {
            self.failures.push(format!(
                "{function}({input}): documented panic did not happen"
            ));
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Runs `f` on a thread and gives up after `limit`: a hang is a failure, not a stuck test.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).ok()
}

macro_rules! is {
    ($pat:pat) => {
        |e: &Error| matches!(e, $pat)
    };
}

fn stay(s: usize) -> Vec<Transition> {
    vec![Transition::certain(s, 0.0, false)]
}

fn bools(values: &[bool], device: &burn::tensor::Device) -> Tensor<1, Bool> {
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("valuefn-robustness-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn tabular_probes(s: &mut Sweep) {
    // --- spaces, and serde through the same checks ---
    s.err(
        "Discrete::new",
        "0",
        is!(Error::InvalidConfig { field: "n", .. }),
        "at least 1",
        || Discrete::new(0),
    );
    s.err(
        "Discrete::check_action",
        "3 of 3",
        is!(Error::InvalidAction { .. }),
        "action 3",
        || Discrete::new(3)?.check_action(3),
    );
    s.err(
        "Discrete (serde)",
        r#"{"n": 0}"#,
        is!(Error::InvalidConfig { .. }),
        "",
        || via_serde::<Discrete>(r#"{"n": 0}"#, Discrete::new(0)),
    );
    s.err(
        "BoxSpace::new",
        "lengths 1 and 2",
        is!(Error::ShapeMismatch { .. }),
        "BoxSpace",
        || BoxSpace::new(vec![0.0], vec![1.0, 2.0]),
    );
    s.err(
        "BoxSpace::new",
        "empty",
        is!(Error::ShapeMismatch { .. }),
        "BoxSpace",
        || BoxSpace::new(vec![], vec![]),
    );
    s.err(
        "BoxSpace::new",
        "NaN",
        is!(Error::InvalidConfig { .. }),
        "NaN",
        || BoxSpace::new(vec![f32::NAN], vec![1.0]),
    );
    s.err(
        "BoxSpace::new",
        "low > high",
        is!(Error::InvalidConfig { .. }),
        "[1, 0]",
        || BoxSpace::new(vec![1.0], vec![0.0]),
    );
    for (low, high) in [
        (f32::INFINITY, f32::INFINITY),
        (f32::NEG_INFINITY, f32::NEG_INFINITY),
    ] {
        s.err(
            "BoxSpace::new",
            "a coordinate only at infinity",
            is!(Error::InvalidConfig { .. }),
            "is empty",
            move || BoxSpace::new(vec![0.0, low], vec![1.0, high]),
        );
    }
    s.err(
        "BoxSpace (serde)",
        "low > high",
        is!(Error::InvalidConfig { .. }),
        "",
        || {
            via_serde::<BoxSpace>(
                r#"{"low": [1.0], "high": [0.0]}"#,
                BoxSpace::new(vec![1.0], vec![0.0]),
            )
        },
    );
    s.holds("BoxSpace::sample", "[-f32::MAX, f32::MAX]", || {
        let space = BoxSpace::new(vec![-f32::MAX], vec![f32::MAX]).unwrap();
        let x = space.sample(&mut StdRng::seed_from_u64(0));
        space.contains(&x)
    });

    // --- TabularMdp ---
    let init = || vec![(0, 1.0)];
    s.err(
        "TabularMdp::new",
        "0 states",
        is!(Error::InvalidMdp(_)),
        "at least one state",
        || TabularMdp::new(0, 1, vec![], init()),
    );
    s.err(
        "TabularMdp::new",
        "0 actions",
        is!(Error::InvalidMdp(_)),
        "0 actions",
        || TabularMdp::new(1, 0, vec![], init()),
    );
    s.err(
        "TabularMdp::new",
        "usize::MAX x 2",
        is!(Error::TooLarge { .. }),
        "beyond the limit",
        || TabularMdp::new(usize::MAX, 2, vec![], init()),
    );
    s.err(
        "TabularMdp::from_fn",
        "usize::MAX x usize::MAX",
        is!(Error::TooLarge { .. }),
        "beyond the limit",
        || TabularMdp::from_fn(usize::MAX, usize::MAX, init(), |_, _| Ok(stay(0))),
    );
    s.err(
        "TabularMdp::new",
        "next state 5 of 1",
        is!(Error::InvalidMdp(_)),
        "state 5 is out of range",
        || TabularMdp::new(1, 1, vec![stay(5)], init()),
    );
    s.err(
        "TabularMdp::new",
        "probabilities sum to 0.2",
        is!(Error::InvalidMdp(_)),
        "sum to 0.2",
        || {
            TabularMdp::new(
                1,
                1,
                vec![vec![Transition {
                    probability: 0.2,
                    ..Transition::certain(0, 0.0, false)
                }]],
                init(),
            )
        },
    );
    s.err(
        "TabularMdp::new",
        "NaN probability",
        is!(Error::InvalidMdp(_)),
        "NaN",
        || {
            TabularMdp::new(
                1,
                1,
                vec![vec![Transition {
                    probability: f64::NAN,
                    ..Transition::certain(0, 0.0, false)
                }]],
                init(),
            )
        },
    );
    s.err(
        "TabularMdp::new",
        "infinite reward",
        is!(Error::NonFinite { .. }),
        "inf",
        || {
            TabularMdp::new(
                1,
                1,
                vec![vec![Transition::certain(0, f64::INFINITY, false)]],
                init(),
            )
        },
    );
    s.err(
        "TabularMdp::new",
        "start state 2 of 1",
        is!(Error::InvalidMdp(_)),
        "initial distribution",
        || TabularMdp::new(1, 1, vec![stay(0)], vec![(2, 1.0)]),
    );
    let mdp_json = |next: usize, p: f64| {
        format!(
            r#"{{"num_states":1,"num_actions":1,"transitions":[[{{"probability":{p},"next_state":{next},"reward":0.0,"terminal":false}}]],"initial":[[0,1.0]]}}"#
        )
    };
    s.err(
        "TabularMdp (serde)",
        "next state 7 of 1",
        is!(Error::InvalidMdp(_)),
        "",
        || {
            via_serde::<TabularMdp>(
                &mdp_json(7, 1.0),
                TabularMdp::new(1, 1, vec![stay(7)], init()),
            )
        },
    );
    s.err(
        "TabularMdp (serde)",
        "probabilities sum to 0.2",
        is!(Error::InvalidMdp(_)),
        "",
        || {
            via_serde::<TabularMdp>(
                &mdp_json(0, 0.2),
                TabularMdp::new(
                    1,
                    1,
                    vec![vec![Transition {
                        probability: 0.2,
                        ..Transition::certain(0, 0.0, false)
                    }]],
                    init(),
                ),
            )
        },
    );

    // --- QValues, PolicyTable ---
    s.err(
        "QValues::new",
        "0 actions",
        is!(Error::InvalidConfig {
            field: "num_actions",
            ..
        }),
        "at least 1",
        || QValues::new(5, 0, vec![]),
    );
    s.err(
        "QValues::new",
        "usize::MAX x 2",
        is!(Error::TooLarge { .. }),
        "beyond the limit",
        || QValues::new(usize::MAX, 2, vec![]),
    );
    s.err(
        "QValues::new",
        "wrong length",
        is!(Error::ShapeMismatch { .. }),
        "Q values",
        || QValues::new(2, 2, vec![0.0; 3]),
    );
    s.err(
        "QValues (serde)",
        "0 actions",
        is!(Error::InvalidConfig { .. }),
        "",
        || {
            via_serde::<QValues>(
                r#"{"num_states":5,"num_actions":0,"values":[]}"#,
                QValues::new(5, 0, vec![]),
            )
        },
    );
    s.err(
        "PolicyTable::new",
        "0 actions",
        is!(Error::InvalidConfig { .. }),
        "num_actions",
        || PolicyTable::new(3, 0, vec![]),
    );
    s.err(
        "PolicyTable::new",
        "row sums to 0.5",
        is!(Error::InvalidConfig { .. }),
        "policy row",
        || PolicyTable::new(1, 2, vec![0.25, 0.25]),
    );
    s.err(
        "PolicyTable::new",
        "NaN",
        is!(Error::InvalidConfig { .. }),
        "NaN",
        || PolicyTable::new(1, 2, vec![f64::NAN, 1.0]),
    );
    s.err(
        "PolicyTable::new",
        "usize::MAX x 3",
        is!(Error::TooLarge { .. }),
        "beyond the limit",
        || PolicyTable::new(usize::MAX, 3, vec![]),
    );
    s.err(
        "PolicyTable::deterministic",
        "action 4 of 4",
        is!(Error::InvalidAction { .. }),
        "action 4",
        || PolicyTable::deterministic(&[4], 4),
    );
    s.err(
        "PolicyTable::deterministic",
        "1 << 40 actions",
        is!(Error::TooLarge { .. }),
        "268435456",
        || PolicyTable::deterministic(&[0, 0], 1 << 40),
    );
    s.err(
        "PolicyTable (serde)",
        "row sums to 0.2",
        is!(Error::InvalidConfig { .. }),
        "",
        || {
            via_serde::<PolicyTable>(
                r#"{"num_states":1,"num_actions":2,"probabilities":[0.1,0.1]}"#,
                PolicyTable::new(1, 2, vec![0.1, 0.1]),
            )
        },
    );
    s.documented_panic("PolicyTable::uniform", "0 actions", || {
        PolicyTable::uniform(3, 0);
    });
    s.documented_panic("QValues::row", "state 9 of 2", || {
        QValues::new(2, 1, vec![0.0; 2]).unwrap().row(9);
    });
    s.documented_panic("PolicyTable::probability", "action 5 of 2", || {
        PolicyTable::uniform(1, 2).probability(0, 5);
    });

    // --- solvers ---
    let walk = RandomWalk::example_6_2();
    for (what, config) in [
        ("gamma 1.5", SolverConfig::new().with_gamma(1.5)),
        (
            "tolerance NaN",
            SolverConfig::new().with_tolerance(f64::NAN),
        ),
        (
            "max_iterations 0",
            SolverConfig::new().with_max_iterations(0),
        ),
        (
            "max_dense_states 0",
            SolverConfig::new().with_max_dense_states(0),
        ),
    ] {
        s.err(
            "SolverConfig::validate",
            what,
            is!(Error::InvalidConfig { .. }),
            "must be",
            || config.validate(),
        );
        s.err(
            "value_iteration",
            what,
            is!(Error::InvalidConfig { .. }),
            "must be",
            || value_iteration(&walk, &config),
        );
        s.err(
            "policy_iteration",
            what,
            is!(Error::InvalidConfig { .. }),
            "must be",
            || policy_iteration(&walk, &config),
        );
        s.err(
            "evaluate_policy",
            what,
            is!(Error::InvalidConfig { .. }),
            "must be",
            || evaluate_policy(&walk, &PolicyTable::uniform(5, 1), &config),
        );
    }
    s.err(
        "evaluate_policy",
        "policy of 2 states",
        is!(Error::ShapeMismatch { .. }),
        "policy",
        || evaluate_policy(&walk, &PolicyTable::uniform(2, 1), &SolverConfig::new()),
    );
    s.err(
        "evaluate_policy_exact",
        "gamma NaN",
        is!(Error::InvalidConfig { .. }),
        "gamma",
        || evaluate_policy_exact(&walk, &PolicyTable::uniform(5, 1), f64::NAN),
    );
    s.err(
        "evaluate_policy_exact",
        "policy of 2 states",
        is!(Error::ShapeMismatch { .. }),
        "policy",
        || evaluate_policy_exact(&walk, &PolicyTable::uniform(2, 1), 0.9),
    );
    let looping = TabularMdp::new(1, 1, vec![stay(0)], init()).unwrap();
    s.err(
        "evaluate_policy_exact",
        "gamma 1, never terminates",
        is!(Error::SingularSystem),
        "singular",
        || evaluate_policy_exact(&looping, &PolicyTable::uniform(1, 1), 1.0),
    );
    let big = TabularMdp::from_fn(10_001, 1, init(), |s, _| {
        Ok(vec![Transition::certain(s, 0.0, true)])
    })
    .unwrap();
    s.err(
        "evaluate_policy_exact",
        "10 001 states (65k asked for 34 GB)",
        is!(Error::TooLarge {
            size: 10_001,
            limit: 10_000,
            ..
        }),
        "10001 is beyond the limit of 10000",
        || evaluate_policy_exact(&big, &PolicyTable::uniform(10_001, 1), 0.9),
    );
    s.err(
        "policy_iteration",
        "10 001 states",
        is!(Error::TooLarge { .. }),
        "max_dense_states",
        || policy_iteration(&big, &SolverConfig::new()),
    );
    let diverging = TabularMdp::new(
        1,
        1,
        vec![vec![Transition::certain(0, 1e308, false)]],
        init(),
    )
    .unwrap();
    s.err(
        "value_iteration",
        "rewards 1e308 (overflow)",
        is!(Error::NonFinite { .. }),
        "must be finite",
        || value_iteration(&diverging, &SolverConfig::new().with_gamma(0.99)),
    );
    s.err(
        "evaluate_policy",
        "rewards 1e308 (overflow)",
        is!(Error::NonFinite { .. }),
        "must be finite",
        || {
            evaluate_policy(
                &diverging,
                &PolicyTable::uniform(1, 1),
                &SolverConfig::new().with_gamma(0.99),
            )
        },
    );
    s.err(
        "evaluate_policy_exact",
        "rewards 1e308 (overflow)",
        is!(Error::NonFinite { .. }),
        "must be finite",
        || evaluate_policy_exact(&diverging, &PolicyTable::uniform(1, 1), 0.99),
    );
    s.err(
        "q_from_v",
        "4 values for 5 states",
        is!(Error::ShapeMismatch { .. }),
        "state values",
        || q_from_v(&walk, &[0.0; 4], 0.9),
    );
    s.err(
        "q_from_v",
        "NaN value",
        is!(Error::NonFinite { .. }),
        "NaN",
        || q_from_v(&walk, &[f64::NAN; 5], 0.9),
    );
    s.err(
        "bellman_optimality_residual",
        "NaN values",
        is!(Error::NonFinite { .. }),
        "NaN",
        || bellman_optimality_residual(&walk, &[f64::NAN; 5], 0.9),
    );
    s.err(
        "bellman_optimality_residual",
        "gamma -1",
        is!(Error::InvalidConfig { .. }),
        "gamma",
        || bellman_optimality_residual(&walk, &[0.0; 5], -1.0),
    );
    s.err(
        "policy_iteration_from",
        "2 actions for 5 states",
        is!(Error::ShapeMismatch { .. }),
        "initial policy",
        || policy_iteration_from(&walk, &SolverConfig::new(), vec![0, 0]),
    );
    s.err(
        "policy_iteration_from",
        "action 3 of 1",
        is!(Error::InvalidAction { .. }),
        "action 3",
        || policy_iteration_from(&walk, &SolverConfig::new(), vec![3; 5]),
    );
    let random = |f: fn(&mut RandomMdpConfig)| {
        let mut c = RandomMdpConfig::new(3, 2);
        f(&mut c);
        c
    };
    for (what, config, needle) in [
        ("num_states 0", random(|c| c.num_states = 0), "num_states"),
        ("branching 0", random(|c| c.branching = 0), "branching"),
        (
            "terminal_probability NaN",
            random(|c| c.terminal_probability = f64::NAN),
            "terminal_probability",
        ),
        (
            "reward range -MAX..MAX",
            random(|c| {
                c.reward_low = -f64::MAX;
                c.reward_high = f64::MAX;
            }),
            "reward_high",
        ),
    ] {
        s.err(
            "RandomMdpConfig::generate",
            what,
            is!(Error::InvalidConfig { .. }),
            needle,
            || config.generate(&mut StdRng::seed_from_u64(0)),
        );
    }
    s.err(
        "RandomMdpConfig::generate",
        "usize::MAX states",
        is!(Error::TooLarge { .. }),
        "beyond the limit",
        || random(|c| c.num_states = usize::MAX).generate(&mut StdRng::seed_from_u64(0)),
    );
    s.err(
        "RandomWalk::new",
        "0 states",
        is!(Error::InvalidConfig { .. }),
        "num_states",
        || RandomWalk::new(0, 0.0, 1.0),
    );
    s.err(
        "RandomWalk::new",
        "usize::MAX states",
        is!(Error::TooLarge { .. }),
        "state-action pairs",
        || RandomWalk::new(usize::MAX, 0.0, 1.0),
    );
    s.err(
        "RandomWalk::new",
        "NaN reward",
        is!(Error::NonFinite { .. }),
        "NaN",
        || RandomWalk::new(3, f64::NAN, 1.0),
    );
    s.err(
        "FrozenLake::from_map",
        "ragged",
        is!(Error::InvalidConfig { .. }),
        "map",
        || valuefn::env::tabular::FrozenLake::from_map(&["SF", "H"], false),
    );
    s.err(
        "FrozenLake::from_map",
        "empty",
        is!(Error::InvalidConfig { .. }),
        "map",
        || valuefn::env::tabular::FrozenLake::from_map(&[], false),
    );
    s.documented_panic("Grid::position", "empty grid", || {
        valuefn::env::tabular::Grid::new(0, 0).position(0);
    });
}

fn tensor_probes(s: &mut Sweep) {
    let device = valuefn::device::default_device();
    let d = &device;
    let states = |v: &[usize]| valuefn::tensor_ops::index_tensor(v, d);

    // --- zero actions ---
    let empty = QTable::zeros(3, 0, d);
    s.err(
        "QFunctionExt::greedy_actions",
        "0 actions",
        is!(Error::ShapeMismatch { .. }),
        "at least one action",
        || empty.greedy_actions(states(&[0])),
    );
    s.err(
        "QFunctionExt::max_q",
        "0 actions",
        is!(Error::ShapeMismatch { .. }),
        "at least one action",
        || empty.max_q(states(&[0])),
    );
    s.err(
        "QFunctionExt::expected_q",
        "0 actions",
        is!(Error::ShapeMismatch { .. }),
        "at least one action",
        || empty.expected_q(states(&[0]), Tensor::zeros([1, 0], d)),
    );
    s.err(
        "QFunction::q_values",
        "state 3 of 3",
        is!(Error::InvalidState { state: 3, .. }),
        "state 3",
        || QTable::zeros(3, 2, d).q_values(states(&[3])),
    );
    s.err(
        "VFunction::values",
        "state 9 of 3",
        is!(Error::InvalidState { .. }),
        "state 9",
        || VTable::zeros(3, d).values(states(&[9])),
    );
    let r1 = || Tensor::<1>::from_floats([1.0], d);
    let no_actions = || Tensor::<2>::zeros([1, 0], d);
    s.err(
        "q_learning_targets",
        "0 actions",
        is!(Error::ShapeMismatch { .. }),
        "at least one action",
        || q_learning_targets(r1(), no_actions(), bools(&[false], d), 0.9),
    );
    s.err(
        "double_q_targets",
        "0 actions",
        is!(Error::ShapeMismatch { .. }),
        "at least one action",
        || double_q_targets(r1(), no_actions(), no_actions(), bools(&[false], d), 0.9),
    );
    s.err(
        "expected_sarsa_targets",
        "0 actions",
        is!(Error::ShapeMismatch { .. }),
        "at least one action",
        || expected_sarsa_targets(r1(), no_actions(), no_actions(), bools(&[false], d), 0.9),
    );
    s.err(
        "soft_values",
        "0 actions",
        is!(Error::ShapeMismatch { .. }),
        "at least one action",
        || soft_values(no_actions(), 1.0, None),
    );
    s.err(
        "soft_q_targets",
        "0 actions",
        is!(Error::ShapeMismatch { .. }),
        "at least one action",
        || soft_q_targets(r1(), no_actions(), bools(&[false], d), 0.9, 1.0, None),
    );
    // A NaN (or +inf) reference log-probability used to flow into the targets as NaN.
    for bad in [f32::NAN, f32::INFINITY] {
        let q2 = move || Tensor::<2>::from_floats([[1.0, 2.0]], d);
        let log_ref = move || Tensor::<2>::from_floats([[-0.1, bad]], d);
        s.err(
            "soft_values",
            "a reference log-probability of NaN or +inf",
            is!(Error::NonFinite { .. }),
            "log_reference (a log-probability)",
            move || soft_values(q2(), 1.0, Some(log_ref())),
        );
        s.err(
            "soft_q_targets",
            "a reference log-probability of NaN or +inf",
            is!(Error::NonFinite { .. }),
            "log_reference (a log-probability)",
            move || soft_q_targets(r1(), q2(), bools(&[false], d), 0.9, 1.0, Some(log_ref())),
        );
    }
    // A policy over no actions used to return no sample at all (rows silently dropped).
    s.err(
        "TabularPolicy::uniform",
        "0 actions",
        is!(Error::InvalidConfig {
            field: "num_actions",
            ..
        }),
        "at least 1",
        || valuefn::policy::TabularPolicy::uniform(3, 0, d),
    );
    s.err(
        "TabularPolicy::uniform",
        "2^40 entries",
        is!(Error::TooLarge { .. }),
        "policy table entries",
        || valuefn::policy::TabularPolicy::uniform(1 << 20, 1 << 20, d),
    );
    s.err(
        "Policy::sample_actions",
        "a table of 0 actions",
        is!(Error::ShapeMismatch { .. }),
        "at least one action",
        || {
            /// A user's policy that (wrongly) has no actions.
            struct NoActions;
            impl valuefn::policy::Policy for NoActions {
                type Input = Tensor<2>;
                fn action_probabilities(&self, states: Tensor<2>) -> Result<Tensor<2>> {
                    Ok(Tensor::zeros([states.dims()[0], 0], &states.device()))
                }
            }
            NoActions.sample_actions(Tensor::zeros([2, 3], d), &mut StdRng::seed_from_u64(0))
        },
    );
    s.documented_panic("Greedy::select", "[1, 0]", || {
        Greedy.select(no_actions(), &mut StdRng::seed_from_u64(0));
    });
    s.holds("Greedy::probabilities", "[1, 0]", || {
        Greedy.probabilities(no_actions()).dims() == [1, 0]
    });
    s.holds("Boltzmann::probabilities", "[1, 0]", || {
        Boltzmann::new(1.0)
            .unwrap()
            .probabilities(no_actions())
            .dims()
            == [1, 0]
    });

    // --- NaN and overflow in the targets ---
    let q = || Tensor::<2>::from_floats([[1.0, 2.0]], d);
    let nan_q = || Tensor::<2>::from_floats([[f32::NAN, 2.0]], d);
    s.err(
        "q_learning_targets",
        "NaN next_q",
        is!(Error::NonFinite { .. }),
        "next-state Q value",
        || q_learning_targets(r1(), nan_q(), bools(&[false], d), 0.9),
    );
    s.err(
        "q_learning_targets",
        "NaN reward",
        is!(Error::NonFinite { .. }),
        "reward must be finite, got NaN",
        || {
            q_learning_targets(
                Tensor::from_floats([f32::NAN], d),
                q(),
                bools(&[false], d),
                0.9,
            )
        },
    );
    s.holds(
        "q_learning_targets",
        "two rewards of 3e38 (sum overflows f32, entries do not)",
        || {
            q_learning_targets(
                Tensor::from_floats([3e38, 3e38], d),
                Tensor::zeros([2, 2], d),
                bools(&[true, true], d),
                0.9,
            )
            .is_ok()
        },
    );
    s.err(
        "q_learning_targets",
        "gamma 2",
        is!(Error::InvalidConfig { field: "gamma", .. }),
        "gamma",
        || q_learning_targets(r1(), q(), bools(&[false], d), 2.0),
    );
    s.err(
        "q_learning_targets",
        "2 rewards for batch 1",
        is!(Error::ShapeMismatch { .. }),
        "rewards",
        || {
            q_learning_targets(
                Tensor::from_floats([1.0, 2.0], d),
                q(),
                bools(&[false], d),
                0.9,
            )
        },
    );
    s.err(
        "double_q_targets",
        "NaN target Q",
        is!(Error::NonFinite { .. }),
        "next-state Q value",
        || double_q_targets(r1(), q(), nan_q(), bools(&[false], d), 0.9),
    );
    s.err(
        "double_q_targets",
        "online [1, 3]",
        is!(Error::ShapeMismatch { .. }),
        "next_q_online",
        || double_q_targets(r1(), Tensor::zeros([1, 3], d), q(), bools(&[false], d), 0.9),
    );
    s.err(
        "expected_sarsa_targets",
        "probabilities [1, 3]",
        is!(Error::ShapeMismatch { .. }),
        "next_probabilities",
        || expected_sarsa_targets(r1(), q(), Tensor::zeros([1, 3], d), bools(&[false], d), 0.9),
    );
    for tau in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-300, 1e300] {
        s.err(
            "soft_values",
            &format!("tau {tau}"),
            is!(Error::InvalidConfig { field: "tau", .. }),
            "tau",
            || soft_values(q(), tau, None),
        );
    }
    s.holds(
        "soft_values",
        "tau 1.2e-38 and 3e38 (the ends of the range)",
        || {
            let low = to_vec_f32(soft_values(q(), 1.2e-38, None).unwrap());
            let high = to_vec_f32(soft_values(q(), 3e38, None).unwrap());
            (low[0] - 2.0).abs() < 1e-6 && high[0].is_finite() && (1.0..=2.0).contains(&high[0])
        },
    );
    s.err(
        "soft_values",
        "log_reference [1, 3]",
        is!(Error::ShapeMismatch { .. }),
        "log_reference",
        || soft_values(q(), 1.0, Some(Tensor::zeros([1, 3], d))),
    );
    s.err(
        "soft_q_targets",
        "NaN reward",
        is!(Error::NonFinite { .. }),
        "reward",
        || {
            soft_q_targets(
                Tensor::from_floats([f32::NAN], d),
                q(),
                bools(&[false], d),
                0.9,
                1.0,
                None,
            )
        },
    );

    // --- selectors ---
    for t in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-300, 1e300] {
        s.err(
            "Boltzmann::new",
            &format!("{t}"),
            is!(Error::InvalidConfig {
                field: "temperature",
                ..
            }),
            "temperature",
            || Boltzmann::new(t),
        );
    }
    for e in [-0.1, 1.5, f64::NAN] {
        s.err(
            "EpsilonGreedy::new",
            &format!("{e}"),
            is!(Error::InvalidConfig {
                field: "epsilon",
                ..
            }),
            "epsilon",
            || EpsilonGreedy::new(e),
        );
    }
    s.err(
        "EpsilonSchedule::at",
        "start 2",
        is!(Error::InvalidConfig { field: "start", .. }),
        "start",
        || {
            EpsilonSchedule::Linear {
                start: 2.0,
                end: 0.1,
                steps: 10,
            }
            .at(3)
        },
    );
    s.err(
        "EpsilonSchedule::validate",
        "decay NaN",
        is!(Error::InvalidConfig { field: "decay", .. }),
        "decay",
        || {
            EpsilonSchedule::Exponential {
                start: 1.0,
                end: 0.0,
                decay: f64::NAN,
            }
            .validate()
        },
    );
    let all_nan = || Tensor::<2>::from_floats([[f32::NAN, f32::NAN, f32::NAN]], d);
    s.holds("Greedy::select", "all-NaN row", || {
        Greedy.select(all_nan(), &mut StdRng::seed_from_u64(0))[0] < 3
    });
    s.holds("Greedy::probabilities", "all-NaN row sums to 1", || {
        (to_vec_f32(Greedy.probabilities(all_nan()))
            .iter()
            .sum::<f32>()
            - 1.0)
            .abs()
            < 1e-6
    });
    s.holds("Greedy::select", "NaN beside a number", || {
        Greedy.select(nan_q(), &mut StdRng::seed_from_u64(0)) == vec![1]
    });
    s.holds("EpsilonGreedy::select", "all-NaN row", || {
        EpsilonGreedy::new(0.5)
            .unwrap()
            .select(all_nan(), &mut StdRng::seed_from_u64(0))[0]
            < 3
    });
    s.holds(
        "Boltzmann::probabilities",
        "temperature 1.2e-38, Q 1e30 apart",
        || {
            let p = to_vec_f32(
                Boltzmann::new(1.2e-38)
                    .unwrap()
                    .probabilities(Tensor::from_floats([[0.0, 1e30]], d)),
            );
            p == vec![0.0, 1.0]
        },
    );
    s.holds("Boltzmann::probabilities", "temperature 3e38", || {
        let p = to_vec_f32(Boltzmann::new(3e38).unwrap().probabilities(q()));
        p.iter().all(|x| (x - 0.5).abs() < 1e-6)
    });

    // --- rollouts ---
    s.err(
        "Rollout::new",
        "usize::MAX x 2 steps",
        is!(Error::ShapeMismatch { .. }),
        "rollout rewards",
        || Rollout::new(usize::MAX, 2, vec![1.0], vec![false], vec![false], d),
    );
    s.err(
        "Rollout::new",
        "0 x 0",
        is!(Error::ShapeMismatch { .. }),
        "rollout rewards",
        || Rollout::new(0, 0, vec![], vec![], vec![], d),
    );
    s.err(
        "Rollout::new",
        "infinite reward",
        is!(Error::NonFinite { .. }),
        "inf",
        || Rollout::new(1, 1, vec![f32::INFINITY], vec![false], vec![false], d),
    );
    s.err(
        "Rollout::from_tensors",
        "flags [2, 1] for rewards [1, 1]",
        is!(Error::ShapeMismatch { .. }),
        "rollout terminated",
        || {
            Rollout::from_tensors(
                Tensor::zeros([1, 1], d),
                Tensor::<2, Bool>::from_data(TensorData::new(vec![false, false], [2, 1]), d),
                Tensor::<2, Bool>::from_data(TensorData::new(vec![false], [1, 1]), d),
            )
        },
    );
    let rollout = Rollout::new(1, 1, vec![1.0], vec![false], vec![false], d).unwrap();
    s.err(
        "gae",
        "gamma 2",
        is!(Error::InvalidConfig { .. }),
        "gamma",
        || {
            valuefn::returns::gae(
                &rollout,
                Tensor::zeros([1, 1], d),
                Tensor::zeros([1, 1], d),
                2.0,
                0.9,
            )
        },
    );
    s.err(
        "lambda_returns",
        "lambda NaN",
        is!(Error::InvalidConfig { .. }),
        "lambda",
        || valuefn::returns::lambda_returns(&rollout, Tensor::zeros([1, 1], d), 0.9, f64::NAN),
    );
    s.err(
        "n_step_targets",
        "n 0",
        is!(Error::InvalidConfig { .. }),
        "n",
        || valuefn::returns::n_step_targets(&rollout, Tensor::zeros([1, 1], d), 0.9, 0),
    );

    // --- encoders: sizes checked before allocating ---
    s.err(
        "OneHot::encode",
        "1 << 36 states",
        is!(Error::TooLarge { .. }),
        "one-hot elements",
        || OneHot::new(1 << 36).encode(&[0], d),
    );
    s.err(
        "OneHot::encode",
        "state 3 of 3",
        is!(Error::InvalidState { .. }),
        "state 3",
        || OneHot::new(3).encode(&[3], d),
    );
    s.err(
        "OneHot::write_features",
        "row of 2 for 3",
        is!(Error::ShapeMismatch { .. }),
        "feature row",
        || OneHot::new(3).write_features(&0, &mut [0.0; 2]),
    );
    s.err(
        "Features::encode",
        "dim usize::MAX, a row of 1",
        is!(Error::ShapeMismatch { .. }),
        "observation features",
        || Features::new(usize::MAX).encode(&[[1.0f32]], d),
    );
    s.err(
        "Features::write_features",
        "features of 1 for 2",
        is!(Error::ShapeMismatch { .. }),
        "observation features",
        || Features::new(2).write_features(&[1.0f32], &mut [0.0; 2]),
    );
    s.err(
        "StateIndex::encode",
        "state 5 of 5",
        is!(Error::InvalidState { .. }),
        "state 5",
        || StateIndex::new(5).encode(&[5], d),
    );

    // --- tabular learners: bad batches leave the table as it was ---
    s.err(
        "TabularBatch::new",
        "columns 2 and 1",
        is!(Error::ShapeMismatch { .. }),
        "actions",
        || {
            TabularBatch::new(
                vec![0, 1],
                vec![0],
                vec![0.0; 2],
                vec![0; 2],
                vec![false; 2],
            )
        },
    );
    s.err(
        "TabularBatch::new",
        "NaN reward",
        is!(Error::NonFinite { .. }),
        "NaN",
        || TabularBatch::single(0, 0, f64::NAN, 0, false),
    );
    s.err(
        "TabularBatch::new",
        "reward 1e300 (infinite as f32)",
        is!(Error::NonFinite { .. }),
        "f32",
        || TabularBatch::single(0, 0, 1e300, 0, false),
    );
    let mut table = QTable::zeros(2, 2, d);
    let before = table.to_q_values();
    let mut learner = QLearning::new(&TabularTdConfig::new()).unwrap();
    let mut nan_batch = TabularBatch::single(0, 0, 1.0, 1, false).unwrap();
    nan_batch.rewards[0] = f64::NAN; // the fields are public
    s.err(
        "QLearning::update",
        "NaN reward set through a public field",
        is!(Error::NonFinite { .. }),
        "NaN",
        || learner.update(&mut table, &nan_batch),
    );
    let mut short = TabularBatch::single(0, 0, 1.0, 1, false).unwrap();
    short.actions.clear();
    s.err(
        "QLearning::update",
        "columns changed to different lengths",
        is!(Error::ShapeMismatch { .. }),
        "actions",
        || learner.update(&mut table, &short),
    );
    s.err(
        "QLearning::update",
        "action 2 of 2",
        is!(Error::InvalidAction { .. }),
        "action 2",
        || {
            learner.update(
                &mut table,
                &TabularBatch::single(0, 2, 1.0, 1, false).unwrap(),
            )
        },
    );
    s.err(
        "QLearning::update",
        "table with 0 actions",
        is!(Error::InvalidAction { .. }),
        "action 0",
        || {
            learner.update(
                &mut QTable::zeros(2, 0, d),
                &TabularBatch::single(0, 0, 1.0, 1, false).unwrap(),
            )
        },
    );
    s.holds(
        "QLearning::update",
        "the table is unchanged after the errors",
        || table.to_q_values() == before,
    );
    s.err(
        "TabularTdConfig::validate",
        "gamma NaN",
        is!(Error::InvalidConfig { .. }),
        "gamma",
        || TabularTdConfig::new().with_gamma(f64::NAN).validate(),
    );
    s.err(
        "QLearning::new",
        "gamma 2",
        is!(Error::InvalidConfig { .. }),
        "gamma",
        || QLearning::new(&TabularTdConfig::new().with_gamma(2.0)),
    );

    // --- environments: errors leave them as they were ---
    let mut env = TabularEnv::new(RandomWalk::example_6_2());
    s.err(
        "TabularEnv::step",
        "before reset",
        is!(Error::EpisodeFinished),
        "call reset first",
        || env.step(0),
    );
    env.reset(Some(0));
    let start = env.state();
    s.err(
        "TabularEnv::step",
        "action 1 of 1",
        is!(Error::InvalidAction { .. }),
        "action 1",
        || env.step(1),
    );
    s.holds(
        "TabularEnv::step",
        "state unchanged after the error",
        || env.state() == start,
    );
    s.err(
        "TabularEnv::reset_to",
        "state 9 of 5",
        is!(Error::InvalidState { .. }),
        "state 9",
        || env.reset_to(9),
    );
    s.err(
        "TimeLimit::new",
        "0 steps",
        is!(Error::InvalidConfig { .. }),
        "max_steps",
        || TimeLimit::new(TabularEnv::new(RandomWalk::example_6_2()), 0),
    );
    let copies = || {
        (0..2)
            .map(|_| TabularEnv::new(RandomWalk::example_6_2()))
            .collect::<Vec<_>>()
    };
    s.err(
        "SyncVecEnv::new",
        "no copies",
        is!(Error::InvalidConfig { .. }),
        "envs",
        || SyncVecEnv::<TabularEnv<RandomWalk>>::new(vec![]),
    );
    let mut vec_env = SyncVecEnv::new(copies()).unwrap();
    s.err(
        "SyncVecEnv::step",
        "before reset",
        is!(Error::EpisodeFinished),
        "reset",
        || vec_env.step(&[0, 0]),
    );
    s.holds("SyncVecEnv::step", "no copy moved before reset", || {
        vec_env.envs().iter().all(|e| e.state().is_none())
    });
    vec_env.reset(Some(0));
    let states: Vec<_> = vec_env.envs().iter().map(|e| e.state()).collect();
    s.err(
        "SyncVecEnv::step",
        "action 3 for copy 1",
        is!(Error::InvalidAction { .. }),
        "action 3",
        || vec_env.step(&[0, 3]),
    );
    s.err(
        "SyncVecEnv::step",
        "1 action for 2 copies",
        is!(Error::ShapeMismatch { .. }),
        "one per environment",
        || vec_env.step(&[0]),
    );
    s.holds(
        "SyncVecEnv::step",
        "copies unchanged after the errors",
        || vec_env.envs().iter().map(|e| e.state()).collect::<Vec<_>>() == states,
    );
    s.err(
        "parse_device",
        "\"quantum\"",
        is!(Error::UnknownDevice { .. }),
        "quantum",
        || valuefn::device::parse_device("quantum"),
    );
}

fn text_probes(s: &mut Sweep) {
    // --- vocabularies, files, tokenizers ---
    for (json, needle) in [
        ("not json", "expected"),
        (r#"{"tokens": ["a"]}"#, "specials"),
        (
            r#"{"tokens": ["<pad>","<bos>","<eos>","<unk>","x","x"]}"#,
            "twice",
        ),
        (r#"{"tokens": 7}"#, "invalid type"),
    ] {
        s.err(
            "Vocabulary::from_json",
            json,
            is!(Error::Decode {
                what: "vocabulary",
                ..
            }),
            needle,
            || Vocabulary::from_json(json),
        );
    }
    s.err(
        "Vocabulary::load",
        "missing file",
        is!(Error::Io { action: "read", .. }),
        "cannot read",
        || Vocabulary::load("/nonexistent/valuefn/vocab.json"),
    );
    let latin1 = temp_file("latin1.json", b"{\"tokens\":\n[\"\xe9\"]}");
    s.err(
        "Vocabulary::load",
        "invalid UTF-8 on line 2",
        is!(Error::Parse { line: 2, .. }),
        "invalid UTF-8",
        || Vocabulary::load(&latin1),
    );
    s.err(
        "Corpus::load_tsv",
        "invalid UTF-8 on line 2",
        is!(Error::Parse { line: 2, .. }),
        "invalid UTF-8",
        || Corpus::load_tsv(&latin1),
    );
    let _ = std::fs::remove_file(&latin1);
    s.err(
        "Vocabulary::save",
        "into a missing folder",
        is!(Error::Io {
            action: "write",
            ..
        }),
        "cannot write",
        || Vocabulary::new().save("/nonexistent/valuefn/vocab.json"),
    );
    s.err(
        "Vocabulary::check_ids",
        "id 4 of 4",
        is!(Error::InvalidAction { .. }),
        "4",
        || Vocabulary::new().check_ids(&[4]),
    );
    let words = WordTokenizer::fit(["hello world"]).unwrap();
    s.err(
        "Tokenizer::decode",
        "id 99 (not called an action)",
        is!(Error::Decode {
            what: "token ids",
            ..
        }),
        "token id 99 is outside the vocabulary",
        || words.decode(&[4, 99]),
    );
    let chars = CharTokenizer::fit(["ab"]).unwrap();
    s.err(
        "CharTokenizer::decode",
        "id usize::MAX",
        is!(Error::Decode { .. }),
        "outside the vocabulary",
        || chars.decode(&[usize::MAX]),
    );
    s.err(
        "CharTokenizer::new",
        "a two-letter token",
        is!(Error::Decode { .. }),
        "single character",
        || CharTokenizer::new(Vocabulary::from_tokens(["ab"])),
    );
    s.err(
        "CharTokenizer::fit",
        "no text",
        is!(Error::Empty { .. }),
        "empty",
        || CharTokenizer::fit([""]),
    );
    s.err(
        "WordTokenizer::fit",
        "only spaces",
        is!(Error::Empty { .. }),
        "empty",
        || WordTokenizer::fit(["  \t "]),
    );
    s.err(
        "CharTokenizer (serde)",
        "a two-letter token",
        is!(Error::Decode { .. }),
        "",
        || {
            via_serde::<CharTokenizer>(
                r#"{"vocabulary":{"tokens":["<pad>","<bos>","<eos>","<unk>","ab"]}}"#,
                CharTokenizer::new(Vocabulary::from_tokens(["ab"])),
            )
        },
    );

    // --- corpora and tasks ---
    s.err(
        "Corpus::new",
        "no pairs",
        is!(Error::Empty { what: "corpus" }),
        "corpus is empty",
        || Corpus::new(vec![]),
    );
    for (text, needle) in [
        (
            "no tab here",
            "line 1: expected `prompt<TAB>target`, found no tab",
        ),
        ("a\tb\tc", "more than one tab"),
        ("# only a comment\n\n", "empty"),
        ("ok\tfine\nprompt\t  ", "line 2: the target is empty"),
    ] {
        s.err(
            "Corpus::from_tsv_str",
            text,
            |e| matches!(e, Error::Parse { .. } | Error::Empty { .. }),
            needle,
            || Corpus::from_tsv_str(text, "mem"),
        );
    }
    // A byte-order mark (Windows editors write one) used to stay in the first prompt.
    s.holds("Corpus::from_tsv_str", "a UTF-8 byte-order mark", || {
        let corpus = Corpus::from_tsv_str("\u{feff}sun\teast\n", "mem").unwrap();
        corpus.pairs()[0].prompt == "sun"
    });
    s.holds("Corpus::from_jsonl_str", "a UTF-8 byte-order mark", || {
        let line = "\u{feff}{\"prompt\": \"sun\", \"target\": \"east\"}\n";
        Corpus::from_jsonl_str(line, "mem").unwrap().pairs()[0].prompt == "sun"
    });
    let corpus = Corpus::from_tsv_str("a\tb\nc\td", "mem").unwrap();
    for f in [0.0, 1.0, f64::NAN, 0.9] {
        s.err(
            "Corpus::split",
            &format!("{f}"),
            is!(Error::InvalidConfig {
                field: "test_fraction",
                ..
            }),
            "test_fraction",
            || corpus.split(f, 0),
        );
    }
    s.err(
        "Corpus (serde)",
        "no pairs",
        is!(Error::Empty { .. }),
        "",
        || via_serde::<Corpus>(r#"{"pairs":[]}"#, Corpus::new(vec![])),
    );
    s.err(
        "TokenTask::new",
        "empty target",
        is!(Error::Empty { .. }),
        "task target",
        || TokenTask::new(vec![1], vec![]),
    );
    s.err(
        "TokenTask::encode",
        "target of spaces",
        is!(Error::Empty { .. }),
        "task target",
        || TokenTask::encode(&TextPair::new("hello", " "), &words),
    );
    s.err(
        "SequenceTask::new",
        "empty alphabet",
        is!(Error::Empty { .. }),
        "alphabet",
        || SequenceTask::new(SequenceOp::Copy, "", 1, 2),
    );
    s.err(
        "SequenceTask::new",
        "min_len 0",
        is!(Error::InvalidConfig { .. }),
        "min_len",
        || SequenceTask::new(SequenceOp::Copy, "ab", 0, 2),
    );
    s.err(
        "SequenceTask::new",
        "max_len usize::MAX",
        is!(Error::InvalidConfig {
            field: "max_len",
            ..
        }),
        "at most",
        || SequenceTask::new(SequenceOp::Sort, "ab", 1, usize::MAX),
    );
    s.err(
        "SequenceTask (serde)",
        "max_len < min_len",
        is!(Error::InvalidConfig { .. }),
        "",
        || {
            via_serde::<SequenceTask>(
                r#"{"op":"Copy","alphabet":"ab","min_len":3,"max_len":2}"#,
                SequenceTask::new(SequenceOp::Copy, "ab", 3, 2),
            )
        },
    );
    s.err(
        "AdditionTask::new",
        "u64::MAX",
        is!(Error::InvalidConfig { .. }),
        "max_operand",
        || AdditionTask::new(u64::MAX),
    );

    // --- the text environment ---
    let task = TokenTask::encode(&TextPair::new("ab", "ba"), &chars).unwrap();
    let vocab = chars.vocabulary().clone();
    let make = |config: &TextEnvConfig| {
        TextGenerationEnv::new(vec![task.clone()], &vocab, TokenMatch, config)
    };
    s.err(
        "TextEnvConfig::validate",
        "max_new_tokens 0",
        is!(Error::InvalidConfig {
            field: "max_new_tokens",
            ..
        }),
        "got 0",
        || TextEnvConfig::new().with_max_new_tokens(0).validate(),
    );
    s.err(
        "TextGenerationEnv::new",
        "max_new_tokens usize::MAX",
        is!(Error::InvalidConfig {
            field: "max_new_tokens",
            ..
        }),
        "2^20",
        || make(&TextEnvConfig::new().with_max_new_tokens(usize::MAX)),
    );
    s.err(
        "TextGenerationEnv::new",
        "no tasks",
        is!(Error::Empty { .. }),
        "task list",
        || TextGenerationEnv::new(vec![], &vocab, TokenMatch, &TextEnvConfig::new()),
    );
    s.err(
        "TextGenerationEnv::new",
        "task id 99",
        is!(Error::InvalidAction { .. }),
        "99",
        || {
            TextGenerationEnv::new(
                vec![TokenTask::new(vec![1, 99], vec![4]).unwrap()],
                &vocab,
                TokenMatch,
                &TextEnvConfig::new(),
            )
        },
    );
    s.err(
        "TextGenerationEnv::new",
        "<eos> in a target",
        is!(Error::InvalidConfig {
            field: "target",
            ..
        }),
        "eos",
        || {
            TextGenerationEnv::new(
                vec![TokenTask::new(vec![1], vec![4, Vocabulary::EOS]).unwrap()],
                &vocab,
                TokenMatch,
                &TextEnvConfig::new(),
            )
        },
    );
    s.err(
        "TokenSequences::new",
        "usize::MAX new tokens",
        is!(Error::TooLarge { .. }),
        "beyond the limit of 1048576",
        || TokenSequences::new(10, 3, usize::MAX),
    );
    let mut env = make(&TextEnvConfig::new()).unwrap();
    s.err(
        "TextGenerationEnv::step",
        "before reset",
        is!(Error::EpisodeFinished),
        "reset",
        || env.step(4),
    );
    s.err(
        "TextGenerationEnv::reset_to_task",
        "task 5 of 1",
        |e| matches!(e, Error::InvalidConfig { .. } | Error::InvalidState { .. }),
        "5",
        || env.reset_to_task(5),
    );
    env.reset(Some(0));
    let state = env.state().cloned();
    s.err(
        "TextGenerationEnv::step",
        "token 99",
        is!(Error::InvalidAction { .. }),
        "99",
        || env.step(99),
    );
    s.holds(
        "TextGenerationEnv::step",
        "state unchanged after the error",
        || env.state().cloned() == state,
    );
    s.err(
        "BatchedTextEnv::new",
        "0 copies",
        is!(Error::InvalidConfig { .. }),
        "envs",
        || BatchedTextEnv::new(&env, 0),
    );
    let mut batched = BatchedTextEnv::new(&env, 2).unwrap();
    s.err(
        "BatchedTextEnv::step",
        "before reset",
        is!(Error::EpisodeFinished),
        "reset",
        || batched.step(&[4, 4]),
    );
    s.err(
        "PaddedTokens::encode",
        "the states before reset",
        is!(Error::Empty { .. }),
        "empty",
        || {
            valuefn::encode::ObservationEncoder::encode(
                &valuefn::encode::PaddedTokens,
                &batched.observations(),
                &valuefn::device::default_device(),
            )
        },
    );
    s.err(
        "TextMdp::enumerate",
        "max_states 10",
        is!(Error::TooManyStates { .. }),
        "beyond the limit of 10 states",
        || TextMdp::enumerate(&env, &TextMdpConfig::new().with_max_states(10)),
    );
    // The hang: a horizon of 2^20 with Stop::Eos used to spin in the state count.
    let eos = TextGenerationEnv::new(
        vec![task.clone()],
        &vocab,
        TokenMatch,
        &TextEnvConfig::new()
            .with_max_new_tokens(1 << 20)
            .with_stop(Stop::Eos),
    )
    .unwrap();
    let answer = within(Duration::from_secs(10), move || {
        TextMdp::enumerate(&eos, &TextMdpConfig::new()).map(|m| m.num_states())
    });
    s.err(
        "TextMdp::enumerate",
        "Stop::Eos, 2^20 tokens (hang, saturated count)",
        is!(Error::TooManyStates { .. }),
        "the count saturated",
        || match answer {
            Some(result) => result,
            // A hang: reported as a wrong error that says so.
            None => Err(Error::UnknownObservation("timed out after 10 s".into())),
        },
    );
    let nan_env = TextGenerationEnv::new(
        vec![task.clone()],
        &vocab,
        |_: &valuefn::env::text::TokenStep| f64::NAN,
        &TextEnvConfig::new(),
    )
    .unwrap();
    s.err(
        "TextMdp::enumerate",
        "NaN reward",
        is!(Error::NonFinite { .. }),
        "NaN",
        || TextMdp::enumerate(&nan_env, &TextMdpConfig::new()),
    );
    let text_mdp = TextMdp::enumerate(&env, &TextMdpConfig::new()).unwrap();
    s.err(
        "TextMdp::index_of",
        "unknown prompt",
        is!(Error::UnknownObservation(_)),
        "not a state",
        || text_mdp.index_of(&valuefn::env::text::TokenState::new(vec![1, 7, 7].into())),
    );
    s.err(
        "TextMdp::indexed",
        "env of another config",
        is!(Error::InvalidConfig { .. }),
        "env config",
        || {
            text_mdp
                .indexed(make(&TextEnvConfig::new().with_max_new_tokens(3)).unwrap())
                .map(|_| ())
        },
    );
}

/// Runs one module's probes and fails with the list of every public function that accepted,
/// mis-typed or panicked on a bad input.
fn sweep(module: &str, probes: fn(&mut Sweep)) {
    let mut sweep = Sweep::default();
    probes(&mut sweep);
    let mut report = String::new();
    writeln!(
        report,
        "robustness sweep of {module}: {} public functions, {} bad inputs, {} failures",
        sweep.functions.len(),
        sweep.inputs,
        sweep.failures.len()
    )
    .unwrap();
    for failure in &sweep.failures {
        writeln!(report, "  {failure}").unwrap();
    }
    println!("{report}");
    assert!(sweep.inputs > 0, "{module}: no probe ran");
    assert!(sweep.failures.is_empty(), "{report}");
}

#[test]
fn tabular_functions_reject_bad_input() {
    sweep("tabular", tabular_probes);
}

#[test]
fn tensor_functions_reject_bad_input() {
    sweep("tensors, networks, replay and DQN", tensor_probes);
}

#[test]
fn text_functions_reject_bad_input() {
    sweep("text", text_probes);
}

#[test]
fn actor_critic_functions_reject_bad_input() {
    sweep("actor-critic", actor_critic_probes);
}

#[test]
fn language_model_functions_reject_bad_input() {
    sweep("language models", lm_probes);
}

#[test]
fn value_method_functions_reject_bad_input() {
    sweep("value methods", value_method_probes);
}

#[test]
fn classic_control_functions_reject_bad_input() {
    sweep(
        "classic control and saved environment state",
        classic_probes,
    );
}

/// CartPole, Acrobot and MountainCar: settings, states set by hand, snapshots; each refusal
/// leaves the environment as it was.
fn classic_probes(s: &mut Sweep) {
    use valuefn::env::Snapshot;
    use valuefn::env::classic::{Acrobot, AcrobotConfig, CartPoleConfig, MountainCarConfig};

    s.err(
        "CartPoleConfig::init",
        "max_episode_steps 0",
        is!(Error::InvalidConfig {
            field: "max_episode_steps",
            ..
        }),
        "at least 1",
        || CartPoleConfig::new().with_max_episode_steps(0).init(),
    );
    s.err(
        "AcrobotConfig::init",
        "max_episode_steps 0",
        is!(Error::InvalidConfig {
            field: "max_episode_steps",
            ..
        }),
        "at least 1",
        || AcrobotConfig::new().with_max_episode_steps(0).init(),
    );
    s.err(
        "MountainCarConfig::init",
        "max_episode_steps 0",
        is!(Error::InvalidConfig {
            field: "max_episode_steps",
            ..
        }),
        "at least 1",
        || MountainCarConfig::new().with_max_episode_steps(0).init(),
    );
    s.err(
        "CartPole::reset_to_state",
        "NaN",
        is!(Error::NonFinite { .. }),
        "CartPole state",
        || {
            CartPoleConfig::new()
                .init()?
                .reset_to_state([0.0, f64::NAN, 0.0, 0.0])
        },
    );
    s.err(
        "MountainCar::reset_to_state",
        "-inf",
        is!(Error::NonFinite { .. }),
        "MountainCar state",
        || {
            MountainCarConfig::new()
                .init()?
                .reset_to_state([f64::NEG_INFINITY, 0.0])
        },
    );
    // A far angle used to spin Gymnasium's wrapping loop forever.
    s.holds("Acrobot::step", "angles of 3e38 and -3e38", || {
        within(Duration::from_secs(10), || {
            let mut env = Acrobot::new();
            env.reset_to_state([3e38, -3e38, 0.0, 0.0]).unwrap();
            let step = env.step(1).unwrap();
            step.observation.iter().all(|x| x.is_finite())
        })
        .unwrap_or(false)
    });
    // A velocity beyond f32 used to give infinite, then NaN, observations that ran on.
    s.err(
        "Acrobot::reset_to_state",
        "a velocity of 1e300",
        is!(Error::NonFinite { .. }),
        "Acrobot state",
        || Acrobot::new().reset_to_state([0.0, 0.0, 1e300, 0.0]),
    );
    s.err(
        "CartPole::reset_to_state",
        "a position of 1e300 (infinite as an f32 observation)",
        is!(Error::NonFinite { .. }),
        "CartPole state",
        || {
            CartPoleConfig::new()
                .init()?
                .reset_to_state([1e300, 0.0, 0.0, 0.0])
        },
    );
    // Within f32, but the next step leaves it: refused with nothing changed.
    s.err(
        "CartPole::step",
        "a velocity of 3e38",
        is!(Error::NonFinite { .. }),
        "CartPole state after the step",
        || {
            let mut env = CartPoleConfig::new().init()?;
            env.reset_to_state([3.39e38, 3e38, 0.0, 0.0])?;
            let before = env.snapshot();
            let result = env.step(0);
            assert_eq!(env.snapshot(), before, "a refused step changed the state");
            result
        },
    );
    let restored = |change: fn(&mut valuefn::env::classic::ClassicSnapshot)| {
        move || {
            let mut env = CartPoleConfig::new().init()?;
            env.reset(Some(0));
            let before = env.snapshot();
            let mut bad = before.clone();
            change(&mut bad);
            let result = env.restore(bad);
            assert_eq!(
                env.snapshot(),
                before,
                "a refused snapshot changed the environment"
            );
            result
        }
    };
    s.err(
        "CartPole::restore",
        "a NaN state",
        is!(Error::NonFinite { .. }),
        "CartPole state",
        restored(|snap| snap.state = Some(vec![f64::NAN; 4])),
    );
    s.err(
        "CartPole::restore",
        "3 coordinates",
        is!(Error::ShapeMismatch { .. }),
        "expected [4], got [3]",
        restored(|snap| snap.state = Some(vec![0.0; 3])),
    );
    s.err(
        "CartPole::restore",
        "a running episode past the limit",
        is!(Error::InvalidConfig {
            field: "elapsed",
            ..
        }),
        "500 of 500",
        restored(|snap| snap.elapsed = 500),
    );
    s.err(
        "CartPole::restore",
        "a running episode without a state",
        is!(Error::InvalidConfig {
            field: "elapsed",
            ..
        }),
        "state: false",
        restored(|snap| snap.state = None),
    );
    s.err(
        "CartPole::restore",
        "a generator state of 4 digits",
        is!(Error::Decode { .. }),
        "98 hex digits",
        restored(|snap| snap.rng = valuefn::checkpoint::RngState::from_hex("beef")),
    );
    s.err(
        "CartPole::restore",
        "a generator state that is not hex",
        is!(Error::Decode { .. }),
        "98 hex digits",
        restored(|snap| snap.rng = valuefn::checkpoint::RngState::from_hex("g".repeat(98))),
    );
    s.err(
        "TimeLimit::restore",
        "elapsed beyond max_steps",
        is!(Error::InvalidConfig {
            field: "elapsed",
            ..
        }),
        "11 of 10",
        || {
            let mut env = TimeLimit::new(CartPoleConfig::new().init()?, 10)?;
            env.reset(Some(0));
            let before = env.snapshot();
            let mut bad = before.clone();
            bad.elapsed = 11;
            let result = env.restore(bad);
            assert_eq!(env.snapshot(), before);
            result
        },
    );
    s.err(
        "SyncVecEnv::restore",
        "one bad copy of three",
        is!(Error::NonFinite { .. }),
        "CartPole state",
        || {
            let copies = (0..3)
                .map(|_| CartPoleConfig::new().init())
                .collect::<Result<_>>()?;
            let mut envs = SyncVecEnv::new(copies)?;
            envs.reset(Some(1));
            let before = envs.snapshot();
            let mut bad = before.clone();
            bad.envs[0].elapsed = 7; // a good change before the bad copy
            bad.envs[1].state = Some(vec![f64::INFINITY; 4]);
            let result = envs.restore(bad);
            assert_eq!(
                envs.snapshot(),
                before,
                "copies restored before the bad one stayed"
            );
            result
        },
    );
}

/// The actor-critic layer: policies, tables, configs, the updater, the identity environment.
fn actor_critic_probes(s: &mut Sweep) {
    use valuefn::algo::actor_critic::{
        ActorCritic, ActorCriticConfig, ActorCriticTrainConfig, PpoConfig, evaluate_actor,
    };
    use valuefn::algo::{LearningRateSchedule, OptimizerConfig};
    use valuefn::env::IdentityEnv;
    use valuefn::nn::{
        CategoricalPolicyConfig, MlpConfig, SoftmaxTable, TrainableVTable, VNetworkConfig,
        WeightInit,
    };
    use valuefn::policy::LogitsPolicy;

    let d = &valuefn::device::default_device();
    let config = |field: &'static str| move |e: &Error| matches!(e, Error::InvalidConfig { field: f, .. } if *f == field);
    s.err(
        "explained_variance",
        "2 predictions for 3 returns",
        is!(Error::ShapeMismatch { .. }),
        "expected [3], got [2]",
        || valuefn::algo::actor_critic::explained_variance(&[1.0, 2.0], &[1.0, 2.0, 3.0]),
    );
    s.err(
        "SoftmaxTable::zeros",
        "0 states",
        config("num_states"),
        "at least 1",
        || SoftmaxTable::zeros(0, 2, d),
    );
    s.err(
        "SoftmaxTable::zeros",
        "0 actions",
        config("num_actions"),
        "at least 1",
        || SoftmaxTable::zeros(2, 0, d),
    );
    s.err(
        "SoftmaxTable::zeros",
        "2^62 entries",
        is!(Error::TooLarge { .. }),
        "table entries",
        || SoftmaxTable::zeros(1 << 31, 1 << 31, d),
    );
    s.err(
        "SoftmaxTable::from_logits",
        "3 logits for 2 x 2",
        is!(Error::ShapeMismatch { .. }),
        "logits",
        || SoftmaxTable::from_logits(2, 2, &[0.0; 3], d),
    );
    s.err(
        "SoftmaxTable::from_logits",
        "NaN logit",
        is!(Error::NonFinite { .. }),
        "logits",
        || SoftmaxTable::from_logits(1, 2, &[0.0, f32::NAN], d),
    );
    s.err(
        "LogitsPolicy::logits",
        "state 2 of 2",
        is!(Error::InvalidState { .. }),
        "2",
        || SoftmaxTable::zeros(2, 2, d)?.logits(valuefn::tensor_ops::index_tensor(&[2], d)),
    );
    s.err(
        "TrainableVTable::zeros",
        "0 states",
        config("num_states"),
        "at least 1",
        || TrainableVTable::zeros(0, d),
    );
    s.err(
        "TrainableVTable::from_values",
        "infinite value",
        is!(Error::NonFinite { .. }),
        "value table",
        || TrainableVTable::from_values(&[1.0, f32::INFINITY], d),
    );
    s.err(
        "CategoricalPolicyConfig::init",
        "0 actions",
        config("output"),
        "at least 1",
        || CategoricalPolicyConfig::new(4, 0).init(d),
    );
    s.err(
        "CategoricalPolicyConfig::init",
        "hidden 2^40",
        config("hidden"),
        "2^28",
        || {
            CategoricalPolicyConfig::new(4, 2)
                .with_hidden(vec![1 << 40])
                .init(d)
        },
    );
    s.err(
        "CategoricalPolicyConfig::init",
        "output gain NaN",
        config("output_gain"),
        "output_gain",
        || {
            CategoricalPolicyConfig::new(4, 2)
                .with_output_gain(f64::NAN)
                .init(d)
        },
    );
    s.err(
        "LogitsPolicy::logits",
        "width 3 for 4",
        is!(Error::ShapeMismatch { .. }),
        "observations",
        || {
            CategoricalPolicyConfig::new(4, 2)
                .init(d)?
                .logits(Tensor::zeros([2, 3], d))
        },
    );
    s.err(
        "MlpConfig::init",
        "orthogonal gain 0",
        config("init.hidden_gain"),
        "hidden_gain",
        || {
            MlpConfig::new(4, 2)
                .with_init(WeightInit::Orthogonal { hidden_gain: 0.0 })
                .init(d)
        },
    );
    s.err(
        "LearningRateSchedule::validate",
        "end -1",
        config("learning_rate.end"),
        "f32::MIN_POSITIVE",
        || {
            LearningRateSchedule::Linear {
                start: 1.0,
                end: -1.0,
                steps: 3,
            }
            .validate()
        },
    );
    // Finite f64 settings that are 0 or infinite in f32 used to pass and train a NaN network.
    for (what, value) in [("1e-300", 1e-300), ("1e300", 1e300)] {
        s.err(
            "LearningRateSchedule::validate",
            what,
            config("learning_rate.rate"),
            "f32::MIN_POSITIVE",
            move || LearningRateSchedule::Constant { rate: value }.validate(),
        );
        s.err(
            "MlpConfig::init",
            &format!("orthogonal gain {what}"),
            config("init.hidden_gain"),
            "f32::MIN_POSITIVE",
            move || {
                MlpConfig::new(4, 2)
                    .with_init(WeightInit::Orthogonal { hidden_gain: value })
                    .init(d)
            },
        );
        s.err(
            "MlpConfig::init",
            &format!("output gain {what}"),
            config("output_gain"),
            "f32::MIN_POSITIVE",
            move || MlpConfig::new(4, 2).with_output_gain(value).init(d),
        );
        s.err(
            "OptimizerConfig::validate",
            &format!("Adam epsilon {what}"),
            config("optimizer.epsilon"),
            "f32::MIN_POSITIVE",
            move || OptimizerConfig::Adam { epsilon: value }.validate(),
        );
    }
    s.err(
        "LearningRateSchedule::validate",
        "0 steps",
        config("learning_rate.steps"),
        "at least 1",
        || {
            LearningRateSchedule::Linear {
                start: 1.0,
                end: 0.0,
                steps: 0,
            }
            .validate()
        },
    );
    s.err(
        "OptimizerConfig::validate",
        "RMSprop alpha 1",
        config("optimizer.alpha"),
        "(0, 1)",
        || {
            OptimizerConfig::RmsProp {
                alpha: 1.0,
                epsilon: 1e-5,
            }
            .validate()
        },
    );
    s.err(
        "OptimizerConfig::validate",
        "Adam epsilon NaN",
        config("optimizer.epsilon"),
        "epsilon",
        || OptimizerConfig::Adam { epsilon: f64::NAN }.validate(),
    );
    let networks = || -> Result<_> {
        let train = d.clone().autodiff();
        Ok((
            CategoricalPolicyConfig::new(4, 2)
                .with_hidden(vec![8])
                .init(&train)?,
            VNetworkConfig::new(4).with_hidden(vec![8]).init(&train)?,
        ))
    };
    for (input, bad, field) in [
        (
            "gamma 1.5",
            ActorCriticConfig::new().with_gamma(1.5),
            "gamma",
        ),
        (
            "clip range 0",
            ActorCriticConfig::new().with_ppo(Some(PpoConfig::new().with_clip_range(0.0))),
            "ppo.clip_range",
        ),
        (
            "0 epochs",
            ActorCriticConfig::new().with_ppo(Some(PpoConfig::new().with_epochs(0))),
            "ppo.epochs",
        ),
        (
            "value coef -1",
            ActorCriticConfig::new().with_value_coef(-1.0),
            "value_coef",
        ),
    ] {
        s.err("ActorCritic::new", input, config(field), field, || {
            let (actor, critic) = networks()?;
            ActorCritic::new(bad, PolicyAndValue::new(actor, critic))
        });
    }
    s.err(
        "ActorCritic::new",
        "gamma 2 from JSON",
        config("gamma"),
        "gamma",
        || {
            let json = serde_json::to_string(&ActorCriticConfig::new().with_gamma(2.0)).unwrap();
            let parsed: ActorCriticConfig = serde_json::from_str(&json).unwrap();
            let (actor, critic) = networks()?;
            ActorCritic::new(parsed, PolicyAndValue::new(actor, critic))
        },
    );
    s.err(
        "ActorCriticTrainConfig::validate",
        "n_steps 0",
        config("n_steps"),
        "at least 1",
        || ActorCriticTrainConfig::new().with_n_steps(0).validate(),
    );
    s.err(
        "IdentityEnv::new",
        "0 symbols",
        config("n"),
        "at least 1",
        || IdentityEnv::new(0, 5),
    );
    s.err(
        "IdentityEnv::new",
        "episode length 0",
        config("episode_length"),
        "at least 1",
        || IdentityEnv::new(3, 0),
    );
    s.err(
        "IdentityEnv::step",
        "before reset",
        is!(Error::EpisodeFinished),
        "",
        || IdentityEnv::new(3, 5)?.step(0),
    );
    s.err(
        "IdentityEnv::step",
        "action 3 of 3",
        is!(Error::InvalidAction { .. }),
        "3",
        || {
            let mut env = IdentityEnv::new(3, 5)?;
            env.reset(Some(0));
            env.step(3)
        },
    );
    s.err(
        "evaluate_actor",
        "0 episodes",
        config("episodes"),
        "at least 1",
        || {
            let (actor, _) = networks()?;
            evaluate_actor(
                &actor,
                &mut IdentityEnv::new(4, 5)?,
                &OneHot::new(4),
                0,
                10,
                0,
                d,
            )
        },
    );
}

/// The token language model: body configs, token batches, decoding, generation, pretraining,
/// checkpoints.
fn lm_probes(s: &mut Sweep) {
    use valuefn::batch::TokenBatch;
    use valuefn::lm::{
        GenerationConfig, GruBodyConfig, PretrainConfig, Sampling, TokenModel,
        TokenModelCheckpoint, TransformerBodyConfig, cross_entropy, generate, pretrain,
    };
    use valuefn::text::TokenTask;

    let d = &valuefn::device::default_device();
    let config = |field: &'static str| move |e: &Error| matches!(e, Error::InvalidConfig { field: f, .. } if *f == field);
    let model = || -> Result<_> {
        let body = TransformerBodyConfig::new(6)
            .with_hidden(8)
            .with_heads(2)
            .with_max_len(4);
        Ok(TokenModel::new(body.init(d)?, 0, d))
    };
    let ids = |rows: Vec<i64>, width: usize, lengths: &[usize]| {
        let n = rows.len() / width;
        let mask: Vec<bool> = (0..n * width)
            .map(|i| i % width < lengths[i / width])
            .collect();
        TokenBatch {
            ids: Tensor::from_data(TensorData::new(rows, [n, width]), d),
            mask: Tensor::from_data(TensorData::new(mask, [n, width]), d),
            lengths: valuefn::tensor_ops::index_tensor(lengths, d),
        }
    };
    s.err(
        "GruBodyConfig::init",
        "vocab 0",
        config("vocab_size"),
        "at least 1",
        || GruBodyConfig::new(0).init(d),
    );
    s.err(
        "GruBodyConfig::init",
        "hidden 2^20",
        config("hidden"),
        "2^28",
        || GruBodyConfig::new(10).with_hidden(1 << 20).init(d),
    );
    s.err(
        "TransformerBodyConfig::init",
        "hidden 10, 4 heads",
        config("hidden"),
        "multiple of heads",
        || {
            TransformerBodyConfig::new(10)
                .with_hidden(10)
                .with_heads(4)
                .init(d)
        },
    );
    s.err(
        "TransformerBodyConfig::init",
        "0 layers",
        config("layers"),
        "at least 1",
        || TransformerBodyConfig::new(10).with_layers(0).init(d),
    );
    s.err(
        "TransformerBodyConfig::init",
        "vocab 2^40",
        config("hidden"),
        "2^28",
        || TransformerBodyConfig::new(1 << 40).init(d),
    );
    s.err(
        "TokenModel::check",
        "id 6 of 6",
        is!(Error::InvalidAction { .. }),
        "6",
        || model()?.check(&ids(vec![1, 6], 2, &[2])),
    );
    s.err(
        "TokenModel::check",
        "negative id",
        is!(Error::InvalidAction { .. }),
        "-1",
        || model()?.check(&ids(vec![1, -1], 2, &[2])),
    );
    // A pad id outside the vocabulary passed (only real tokens were checked) and indexed
    // past the embedding table.
    s.err(
        "TokenModel::check",
        "pad id 99 behind a real token",
        is!(Error::InvalidAction { .. }),
        "99",
        || model()?.check(&ids(vec![1, 99], 2, &[1])),
    );
    s.err(
        "TokenModel::check",
        "empty row",
        is!(Error::Empty { .. }),
        "no tokens",
        || model()?.check(&ids(vec![0, 0], 2, &[0])),
    );
    s.err(
        "TokenModel::check",
        "5 tokens, context 4",
        is!(Error::TooLarge { .. }),
        "context",
        || model()?.check(&ids(vec![1; 5], 5, &[5])),
    );
    s.err(
        "TokenModel::check",
        "length beyond width",
        is!(Error::ShapeMismatch { .. }),
        "lengths",
        || {
            let mut batch = ids(vec![1, 4], 2, &[2]);
            batch.lengths = valuefn::tensor_ops::index_tensor(&[3], d);
            model()?.check(&batch)
        },
    );
    s.err(
        "TokenModel::check",
        "mask with a hole",
        is!(Error::ShapeMismatch { .. }),
        "mask",
        || {
            let mut batch = ids(vec![1, 4, 5], 3, &[3]);
            batch.mask = Tensor::from_data(TensorData::new(vec![true, false, true], [1, 3]), d);
            model()?.check(&batch)
        },
    );
    s.err(
        "TokenModel::q_values",
        "id 7 of 6",
        is!(Error::InvalidAction { .. }),
        "7",
        || model()?.q_values(ids(vec![1, 7], 2, &[2]).into()),
    );
    s.err(
        "TokenModel::step",
        "past the context",
        is!(Error::TooLarge { .. }),
        "context",
        || {
            let m = model()?;
            let (_, mut decoding) = m.prefill(&ids(vec![1; 4], 4, &[4]))?;
            m.step(&[3], &mut decoding)
        },
    );
    s.err(
        "TokenModel::step",
        "two tokens for one row",
        is!(Error::ShapeMismatch { .. }),
        "one per row",
        || {
            let m = model()?;
            let (_, mut decoding) = m.prefill(&ids(vec![1], 1, &[1]))?;
            m.step(&[3, 3], &mut decoding)
        },
    );
    // Another model's cache (here of another width) used to reach burn and panic.
    s.err(
        "TokenModel::step",
        "a decoding state from another model",
        config("decoding"),
        "another model",
        || {
            let wide = TokenModel::new(
                TransformerBodyConfig::new(6)
                    .with_hidden(16)
                    .with_heads(2)
                    .with_max_len(4)
                    .init(d)?,
                0,
                d,
            );
            let (_, mut decoding) = wide.prefill(&ids(vec![1], 1, &[1]))?;
            let before = decoding.lengths().to_vec();
            let result = model()?.step(&[3], &mut decoding);
            assert_eq!(
                decoding.lengths(),
                before,
                "a refused step changed the state"
            );
            result
        },
    );
    s.err(
        "GenerationConfig::validate",
        "top_p 0",
        config("sampling.top_p"),
        "(0, 1]",
        || {
            GenerationConfig::new(3)
                .with_sampling(Sampling::Sample {
                    temperature: 1.0,
                    top_k: None,
                    top_p: Some(0.0),
                })
                .validate()
        },
    );
    s.err(
        "generate",
        "temperature NaN",
        config("sampling.temperature"),
        "temperature",
        || {
            let config = GenerationConfig::new(3).with_sampling(Sampling::Sample {
                temperature: f64::NAN,
                top_k: None,
                top_p: None,
            });
            generate(&model()?, &ids(vec![1], 1, &[1]), &config)
        },
    );
    // No bound on a body without a context limit: generation ran until memory ran out.
    s.err(
        "GenerationConfig::validate",
        "max_new_tokens usize::MAX",
        is!(Error::TooLarge { .. }),
        "max_new_tokens (tokens per row)",
        || GenerationConfig::new(usize::MAX).validate(),
    );
    s.err(
        "generate",
        "an <eos> id outside the vocabulary",
        config("eos_id"),
        "below the model's vocabulary size",
        || {
            generate(
                &model()?,
                &ids(vec![1], 1, &[1]),
                &GenerationConfig::new(2).with_eos_id(1 << 20),
            )
        },
    );
    s.err(
        "generate",
        "temperature 1e-300 (0 in f32)",
        config("sampling.temperature"),
        "f32::MIN_POSITIVE",
        || {
            let config = GenerationConfig::new(3).with_sampling(Sampling::Sample {
                temperature: 1e-300,
                top_k: None,
                top_p: None,
            });
            generate(&model()?, &ids(vec![1], 1, &[1]), &config)
        },
    );
    s.err(
        "generate",
        "prompt at the context",
        is!(Error::TooLarge { .. }),
        "context",
        || {
            generate(
                &model()?,
                &ids(vec![1; 4], 4, &[4]),
                &GenerationConfig::new(2).with_stop_at_eos(false),
            )
        },
    );
    s.err(
        "PretrainConfig::validate",
        "learning rate 0",
        config("learning_rate"),
        "learning_rate",
        || PretrainConfig::new().with_learning_rate(0.0).validate(),
    );
    s.err(
        "pretrain",
        "no tasks",
        is!(Error::Empty { .. }),
        "training tasks",
        || pretrain(model()?, &[], &[], &PretrainConfig::new()),
    );
    s.err(
        "pretrain",
        "target id outside the vocabulary",
        is!(Error::InvalidAction { .. }),
        "9",
        || {
            let task = TokenTask::new(vec![1], vec![9])?;
            pretrain(model()?, &[task], &[], &PretrainConfig::new())
        },
    );
    s.err(
        "pretrain",
        "a model on a device without autodiff",
        is!(Error::InvalidConfig { .. }),
        "autodiff",
        || {
            let task = TokenTask::new(vec![1], vec![4])?;
            pretrain(model()?, &[task], &[], &PretrainConfig::new())
        },
    );
    s.err(
        "cross_entropy",
        "task longer than the context",
        is!(Error::TooLarge { .. }),
        "context",
        || {
            let task = TokenTask::new(vec![1, 4, 5], vec![4, 5, 4])?;
            cross_entropy(&model()?, &[task], None)
        },
    );
    s.err(
        "TokenModelCheckpoint::read",
        "missing folder",
        is!(Error::Checkpoint { .. }),
        "no manifest",
        || {
            TokenModelCheckpoint::<GruBodyConfig>::read(
                std::env::temp_dir().join("valuefn-no-checkpoint-here"),
            )
        },
    );
    s.err(
        "TokenModel::load_weights",
        "missing folder",
        is!(Error::Checkpoint { .. }),
        "no manifest",
        || {
            TokenModel::load_weights(
                std::env::temp_dir().join("valuefn-no-checkpoint-here"),
                model()?,
            )
        },
    );
    token_state_probes(s, d, &ids);
}

/// Builds a token batch from row-major ids, a width and each row's length.
type TokenRows<'a> = dyn Fn(Vec<i64>, usize, &[usize]) -> valuefn::batch::TokenBatch + 'a;

/// `TokenPositions`, `TokenCollector`, `TokenReplay`, `evaluate_tasks`, `SequenceTask`'s
/// separator.
fn token_state_probes(s: &mut Sweep, d: &burn::tensor::Device, ids: &TokenRows<'_>) {
    use valuefn::lm::{
        GruBodyConfig, Sampling, TokenCollector, TokenEpisode, TokenModel, TokenPositions,
        TokenReplay, TransformerBodyConfig, evaluate_tasks,
    };
    let shape = is!(Error::ShapeMismatch { .. });
    s.err(
        "TokenPositions::new",
        "no rows",
        is!(Error::Empty { .. }),
        "no rows",
        || TokenPositions::new(ids(vec![1, 4], 2, &[2]), vec![]),
    );
    s.err(
        "TokenPositions::new",
        "sequence 1 of 1",
        shape,
        "sequence index",
        || TokenPositions::new(ids(vec![1, 4], 2, &[2]), vec![(1, 0)]),
    );
    s.err(
        "TokenPositions::new",
        "position 2 of a 2-token sequence",
        shape,
        "position",
        || TokenPositions::new(ids(vec![1, 4], 2, &[2]), vec![(0, 2)]),
    );
    // Functions without a Result document their panic; each is checked to happen.
    s.documented_panic(
        "BatchRows::select_rows",
        "row 5 of 1 (TokenPositions)",
        || {
            use valuefn::batch::BatchRows;
            let positions = TokenPositions::new(ids(vec![1, 4], 2, &[2]), vec![(0, 1)]).unwrap();
            let _ = positions.select_rows(valuefn::tensor_ops::index_tensor(&[5], d));
        },
    );
    s.documented_panic(
        "TokenEpisode::completion",
        "prompt_len beyond the tokens",
        || {
            let episode = TokenEpisode {
                tokens: vec![1, 4],
                prompt_len: 3,
                rewards: vec![],
                terminated: true,
            };
            let _ = episode.completion();
        },
    );
    let tokenizer = CharTokenizer::fit(["ab"]).unwrap();
    let task = TokenTask::encode(&TextPair::new("ab", "ba"), &tokenizer).unwrap();
    let env = || {
        TextGenerationEnv::new(
            vec![task.clone()],
            tokenizer.vocabulary(),
            TokenMatch,
            &TextEnvConfig::new(),
        )
    };
    s.err(
        "TokenCollector::new",
        "0 episodes",
        is!(Error::InvalidConfig { .. }),
        "episodes",
        || TokenCollector::new(&env()?, 0, 0),
    );
    // Counts that size an allocation: refused before it is made.
    s.err(
        "TokenCollector::new",
        "2^40 episodes",
        is!(Error::TooLarge { .. }),
        "episodes per token rollout: 1099511627776 is beyond the limit of 1048576",
        || TokenCollector::new(&env()?, 1 << 40, 0),
    );
    s.err(
        "TokenCollector::collect",
        "a context shorter than prompt and completion",
        is!(Error::TooLarge { .. }),
        "context",
        || {
            let vocab = tokenizer.vocabulary().len();
            let body = TransformerBodyConfig::new(vocab)
                .with_hidden(8)
                .with_heads(2)
                .with_max_len(3);
            let model = TokenModel::new(body.init(d)?, 0, d);
            TokenCollector::new(&env()?, 2, 0)?.collect(&model, d)
        },
    );
    s.err(
        "TokenCollector::collect",
        "a model of a smaller vocabulary",
        is!(Error::ShapeMismatch { .. }),
        "model vocabulary",
        || {
            let model = TokenModel::new(GruBodyConfig::new(3).init(d)?, 0, d);
            TokenCollector::new(&env()?, 2, 0)?.collect(&model, d)
        },
    );
    s.err(
        "evaluate_tasks",
        "temperature 0",
        is!(Error::InvalidConfig { .. }),
        "temperature",
        || {
            let model = TokenModel::new(
                GruBodyConfig::new(tokenizer.vocabulary().len()).init(d)?,
                0,
                d,
            );
            let sampling = Sampling::Sample {
                temperature: 0.0,
                top_k: None,
                top_p: None,
            };
            evaluate_tasks(&model, &env()?, sampling, 0, d)
        },
    );
    s.err(
        "TokenReplay::new",
        "capacity 0",
        is!(Error::InvalidConfig { .. }),
        "capacity",
        || TokenReplay::new(0, 0.9),
    );
    s.err(
        "TokenReplay::new",
        "capacity 2^40",
        is!(Error::InvalidConfig { .. }),
        "capacity",
        || TokenReplay::new(1 << 40, 0.9),
    );
    s.err(
        "TokenReplay::new",
        "gamma 1.5",
        is!(Error::InvalidConfig { .. }),
        "gamma",
        || TokenReplay::new(10, 1.5),
    );
    let episode = |tokens: Vec<usize>, prompt_len, rewards: Vec<f64>| TokenEpisode {
        tokens,
        prompt_len,
        rewards,
        terminated: true,
    };
    for (what, bad, needle) in [
        (
            "two rewards for one token",
            episode(vec![1, 4, 5], 2, vec![1.0, 1.0]),
            "reward",
        ),
        (
            "empty prompt",
            episode(vec![4, 5], 0, vec![1.0, 1.0]),
            "prompt",
        ),
        (
            "prompt longer than the tokens",
            episode(vec![4], 3, vec![]),
            "reward",
        ),
        (
            "NaN reward",
            episode(vec![1, 4], 1, vec![f64::NAN]),
            "reward",
        ),
        (
            "reward beyond f32",
            episode(vec![1, 4], 1, vec![1e300]),
            "reward",
        ),
    ] {
        s.err(
            "TokenReplay::push",
            what,
            |_: &Error| true,
            needle,
            || {
                let mut replay = TokenReplay::new(10, 0.9)?;
                replay.push(&episode(vec![1, 4], 1, vec![1.0]))?;
                let result = replay.push(&bad);
                assert_eq!(replay.len(), 1, "nothing stored on error");
                result
            },
        );
    }
    s.err(
        "TokenReplay::sample",
        "empty memory",
        is!(Error::Empty { .. }),
        "token replay",
        || {
            TokenReplay::new(10, 0.9)?
                .sample(4, d, &mut StdRng::seed_from_u64(0))
                .map(|s| s.indices)
        },
    );
    s.err(
        "TokenReplay::sample",
        "batch of 0",
        is!(Error::InvalidConfig { .. }),
        "batch_size",
        || {
            let mut replay = TokenReplay::new(10, 0.9)?;
            replay.push(&episode(vec![1, 4], 1, vec![1.0]))?;
            replay.sample(0, d, &mut StdRng::seed_from_u64(0))
        },
    );
    s.err(
        "TokenReplay::sample",
        "batch of 2^50",
        is!(Error::TooLarge { .. }),
        "token replay batch",
        || {
            let mut replay = TokenReplay::new(10, 0.9)?;
            replay.push(&episode(vec![1, 4], 1, vec![1.0]))?;
            replay.sample(1 << 50, d, &mut StdRng::seed_from_u64(0))
        },
    );
    s.err(
        "SequenceTask::with_separator",
        "separator in the alphabet",
        is!(Error::InvalidConfig { .. }),
        "separator",
        || SequenceTask::new(SequenceOp::Copy, "ab=", 1, 2)?.with_separator('='),
    );
}

/// Deserializes `json` and checks that it fails exactly as the constructor did: then the
/// constructor's typed error is returned (serde's own error only carries the message).
fn via_serde<T: serde::de::DeserializeOwned>(json: &str, constructor: Result<T>) -> Result<T> {
    match (serde_json::from_str::<T>(json), constructor) {
        (Err(e), Err(c)) if e.to_string().contains(&c.to_string()) => Err(c),
        (Err(e), c) => Err(Error::Decode {
            what: "serde and constructor disagree",
            message: format!("serde: {e}; constructor: {:?}", c.err()),
        }),
        (Ok(v), _) => Ok(v),
    }
}

/// Cases for the parser fuzz tests: `VALUEFN_FUZZ_CASES`, 64 by default.
fn fuzz_cases() -> u32 {
    std::env::var("VALUEFN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn fuzz_config() -> ProptestConfig {
    ProptestConfig {
        cases: fuzz_cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Small numbers, with the edge values that break validation.
fn edge_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1.0..2.0f64,
        Just(0.0),
        Just(1.0),
        Just(0.2),
        Just(-0.0),
        Just(1e300),
        Just(f64::MAX),
    ]
}

fn json_number(x: f64) -> String {
    // serde_json writes no NaN or infinity; the edges above are all finite.
    serde_json::to_string(&x).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Serde accepts a TabularMdp exactly when `TabularMdp::new` does, and builds the same one.
    #[test]
    fn tabular_mdp_serde_matches_the_constructor(
        num_states in 0usize..4,
        num_actions in 0usize..3,
        lists in proptest::collection::vec(
            proptest::collection::vec((edge_f64(), 0usize..5, edge_f64(), any::<bool>()), 0..3), 0..10),
        initial in proptest::collection::vec((0usize..5, edge_f64()), 0..3),
    ) {
        let transitions: Vec<Vec<Transition>> = lists.iter().map(|list| list.iter().map(|&(probability, next_state, reward, terminal)| {
            Transition { probability, next_state, reward, terminal }
        }).collect()).collect();
        let json = format!(
            r#"{{"num_states":{num_states},"num_actions":{num_actions},"transitions":[{}],"initial":[{}]}}"#,
            transitions.iter().map(|l| format!("[{}]", l.iter().map(|t| format!(
                r#"{{"probability":{},"next_state":{},"reward":{},"terminal":{}}}"#,
                json_number(t.probability), t.next_state, json_number(t.reward), t.terminal
            )).collect::<Vec<_>>().join(","))).collect::<Vec<_>>().join(","),
            initial.iter().map(|(s, p)| format!("[{s},{}]", json_number(*p))).collect::<Vec<_>>().join(","),
        );
        let by_serde = serde_json::from_str::<TabularMdp>(&json);
        let by_new = TabularMdp::new(num_states, num_actions, transitions, initial);
        match (by_serde, by_new) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(e), Err(c)) => prop_assert!(e.to_string().contains(&c.to_string()), "{} vs {}", e, c),
            (a, b) => prop_assert!(false, "serde {:?} but new {:?}", a.is_ok(), b.is_ok()),
        }
    }

    /// Serde accepts QValues, PolicyTable, Discrete and BoxSpace exactly when their
    /// constructors do.
    #[test]
    fn table_and_space_serde_match_the_constructors(
        num_states in prop_oneof![0usize..4, Just(usize::MAX)],
        num_actions in prop_oneof![0usize..4, Just(usize::MAX)],
        values in proptest::collection::vec(edge_f64(), 0..10),
        bounds in proptest::collection::vec((edge_f64(), edge_f64()), 0..3),
        n in 0usize..3,
    ) {
        let list = values.iter().map(|&x| json_number(x)).collect::<Vec<_>>().join(",");
        let q = serde_json::from_str::<QValues>(&format!(
            r#"{{"num_states":{num_states},"num_actions":{num_actions},"values":[{list}]}}"#));
        prop_assert_eq!(q.ok(), QValues::new(num_states, num_actions, values.clone()).ok());
        let p = serde_json::from_str::<PolicyTable>(&format!(
            r#"{{"num_states":{num_states},"num_actions":{num_actions},"probabilities":[{list}]}}"#));
        prop_assert_eq!(p.ok(), PolicyTable::new(num_states, num_actions, values).ok());
        prop_assert_eq!(serde_json::from_str::<Discrete>(&format!(r#"{{"n":{n}}}"#)).ok(), Discrete::new(n).ok());
        let low: Vec<f32> = bounds.iter().map(|b| b.0 as f32).collect();
        let high: Vec<f32> = bounds.iter().map(|b| b.1 as f32).collect();
        // JSON has no infinity (serde_json writes `null`), so infinite bounds do not
        // round-trip through JSON at all; they are left to the constructor tests.
        prop_assume!(low.iter().chain(&high).all(|x| x.is_finite()));
        let json = serde_json::json!({ "low": low, "high": high }).to_string();
        prop_assert_eq!(serde_json::from_str::<BoxSpace>(&json).ok(), BoxSpace::new(low, high).ok());
    }
}

/// One fuzz case on the text parsers: any string in, an `Ok` or a typed `Err` out, never a
/// panic; what parses round-trips.
fn fuzz_text(text: &str) -> std::result::Result<(), TestCaseError> {
    if let Ok(vocab) = Vocabulary::from_json(text) {
        prop_assert_eq!(
            Vocabulary::from_json(&vocab.to_json().unwrap()).unwrap(),
            vocab
        );
    }
    match Corpus::from_tsv_str(text, "fuzz") {
        Ok(corpus) => prop_assert!(!corpus.is_empty()),
        Err(e) => prop_assert!(
            matches!(e, Error::Parse { .. } | Error::Empty { .. }),
            "{:?}",
            e
        ),
    }
    if let Ok(chars) = CharTokenizer::fit([text]) {
        let ids = chars.encode(text);
        prop_assert_eq!(
            chars.decode(&ids).unwrap().chars().count() >= ids.len().min(1),
            true
        );
        prop_assert!(chars.decode(&[chars.vocabulary().len()]).is_err());
    }
    if let Ok(words) = WordTokenizer::fit([text]) {
        let decoded = words.decode(&words.encode(text)).unwrap();
        prop_assert_eq!(
            decoded,
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(fuzz_config())]

    /// Arbitrary strings into every text parser.
    #[test]
    fn fuzz_text_parsers_with_arbitrary_strings(text in any::<String>()) {
        fuzz_text(&text)?;
    }

    /// Strings shaped like the inputs (a vocabulary file, a task file), to get past the
    /// first character.
    #[test]
    fn fuzz_text_parsers_with_near_valid_input(
        text in r#"\{"tokens": ?\[("(<pad>|<bos>|<eos>|<unk>|[a-z\\"]{0,3})",? ?){0,7}\]\}|([a-z#\t \r]{0,6}(\t|\n|\r\n)){0,6}"#
    ) {
        fuzz_text(&text)?;
    }

    /// Arbitrary bytes through the file readers: invalid UTF-8 is a `Parse` error naming a
    /// line, never `Io` or a panic.
    #[test]
    fn fuzz_file_readers_with_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let path = temp_file("fuzz.bin", &bytes);
        let vocab = Vocabulary::load(&path);
        let corpus = Corpus::load_tsv(&path);
        let _ = std::fs::remove_file(&path);
        if std::str::from_utf8(&bytes).is_err() {
            prop_assert!(matches!(vocab, Err(Error::Parse { .. })), "{:?}", vocab);
            prop_assert!(matches!(corpus, Err(Error::Parse { .. })), "{:?}", corpus);
        } else {
            let io = matches!(vocab, Err(Error::Io { .. }));
            prop_assert!(!io, "{:?}", vocab);
        }
    }
}

/// Times one fuzz run of the string parsers and prints the figures for the closing note.
#[test]
fn fuzz_report() {
    let cases = fuzz_cases();
    let start = Instant::now();
    let mut runner = proptest::test_runner::TestRunner::new(fuzz_config());
    let outcome = runner.run(&any::<String>(), |text| fuzz_text(&text));
    println!(
        "parser fuzz: {cases} cases in {:.2?}: {}",
        start.elapsed(),
        if outcome.is_ok() {
            "no failure"
        } else {
            "FAILED"
        }
    );
    outcome.unwrap();
}

/// Soft value iteration and the offline losses (issue 13's first pieces).
fn value_method_probes(s: &mut Sweep) {
    use valuefn::algo::ilql::{cql_loss, expectile_loss};
    use valuefn::tabular::{PolicyTable, SolverConfig, soft_value_iteration};
    let d = &valuefn::device::default_device();
    let mdp = || RandomMdpConfig::new(3, 2).generate(&mut StdRng::seed_from_u64(0));
    for (input, beta) in [
        ("beta 0", 0.0),
        ("beta NaN", f64::NAN),
        ("beta inf", f64::INFINITY),
    ] {
        s.err(
            "soft_value_iteration",
            input,
            is!(Error::InvalidConfig { .. }),
            "beta",
            || {
                soft_value_iteration(
                    &mdp()?,
                    &PolicyTable::uniform(3, 2),
                    beta,
                    &SolverConfig::new(),
                )
            },
        );
    }
    s.err(
        "soft_value_iteration",
        "reference of 4 states for 3",
        is!(Error::ShapeMismatch { .. }),
        "reference policy",
        || {
            soft_value_iteration(
                &mdp()?,
                &PolicyTable::uniform(4, 2),
                1.0,
                &SolverConfig::new(),
            )
        },
    );
    s.err(
        "expectile_loss",
        "tau 1",
        is!(Error::InvalidConfig { .. }),
        "tau",
        || expectile_loss(Tensor::zeros([2], d), Tensor::zeros([2], d), 1.0),
    );
    s.err(
        "expectile_loss",
        "3 targets for 2 predictions",
        is!(Error::ShapeMismatch { .. }),
        "expectile",
        || expectile_loss(Tensor::zeros([2], d), Tensor::zeros([3], d), 0.7),
    );
    s.err(
        "cql_loss",
        "2 data values for 3 rows",
        is!(Error::ShapeMismatch { .. }),
        "CQL",
        || cql_loss(Tensor::zeros([3, 4], d), Tensor::zeros([2], d)),
    );
    language_model_value_probes(s);
}

/// The value methods for language models (issue 13): losses, targets, guidance, datasets,
/// the KL penalty and the offline updater's settings.
fn language_model_value_probes(s: &mut Sweep) {
    use valuefn::algo::actor_critic::{KlPenalty, KlPenaltyConfig};
    use valuefn::algo::ilql::{IlqlConfig, awac_loss};
    use valuefn::lm::{
        CompletionReward, GruBodyConfig, ScoredCompletion, ScoredCompletions, TokenModel,
        ValueGuided,
    };
    use valuefn::policy::{guided_logits, kl_divergence};
    use valuefn::returns::{
        soft_policy_log_probs, soft_q_targets_discounted, value_targets_discounted,
    };
    let d = &valuefn::device::default_device();
    let flags = |n: usize| Tensor::<1, Bool>::from_data(TensorData::new(vec![false; n], [n]), d);
    for (input, temperature, max_weight) in [
        ("temperature 0", 0.0, 10.0),
        ("max_weight 0.5", 1.0, 0.5),
        ("max_weight inf", 1.0, f64::INFINITY),
        ("max_weight 1e300 (infinite in f32)", 1.0, 1e300),
    ] {
        s.err(
            "awac_loss",
            input,
            is!(Error::InvalidConfig { .. }),
            if temperature == 0.0 {
                "temperature"
            } else {
                "max_weight"
            },
            || {
                awac_loss(
                    Tensor::zeros([2], d),
                    Tensor::zeros([2], d),
                    temperature,
                    max_weight,
                )
            },
        );
    }
    s.err(
        "awac_loss",
        "3 advantages for 2 log-probs",
        is!(Error::ShapeMismatch { .. }),
        "AWAC",
        || awac_loss(Tensor::zeros([2], d), Tensor::zeros([3], d), 1.0, 10.0),
    );
    s.err(
        "guided_logits",
        "weight -1",
        is!(Error::InvalidConfig { .. }),
        "weight",
        || {
            guided_logits(
                Tensor::zeros([2, 3], d),
                Tensor::zeros([2, 3], d),
                Tensor::zeros([2], d),
                -1.0,
            )
        },
    );
    s.err(
        "guided_logits",
        "Q of 4 actions for 3",
        is!(Error::ShapeMismatch { .. }),
        "Q values",
        || {
            guided_logits(
                Tensor::zeros([2, 3], d),
                Tensor::zeros([2, 4], d),
                Tensor::zeros([2], d),
                1.0,
            )
        },
    );
    s.err(
        "guided_logits",
        "weight 1e39 (infinite in f32)",
        is!(Error::InvalidConfig { .. }),
        "weight",
        || {
            guided_logits(
                Tensor::zeros([2, 3], d),
                Tensor::zeros([2, 3], d),
                Tensor::zeros([2], d),
                1e39,
            )
        },
    );
    s.err(
        "cql_loss",
        "no actions",
        is!(Error::ShapeMismatch { .. }),
        "at least one action",
        || valuefn::algo::ilql::cql_loss(Tensor::zeros([2, 0], d), Tensor::zeros([2], d)),
    );
    s.err(
        "kl_divergence",
        "[2, 3] against [2, 4]",
        is!(Error::ShapeMismatch { .. }),
        "logits_q",
        || kl_divergence(Tensor::zeros([2, 3], d), Tensor::zeros([2, 4], d)),
    );
    s.err(
        "value_targets_discounted",
        "NaN reward",
        is!(Error::NonFinite { .. }),
        "reward",
        || {
            value_targets_discounted(
                Tensor::from_floats([f32::NAN], d),
                Tensor::zeros([1], d),
                flags(1),
                Tensor::ones([1], d),
            )
        },
    );
    s.err(
        "value_targets_discounted",
        "discount 1.5",
        is!(Error::InvalidConfig { .. }),
        "discounts",
        || {
            value_targets_discounted(
                Tensor::zeros([1], d),
                Tensor::zeros([1], d),
                flags(1),
                Tensor::from_floats([1.5], d),
            )
        },
    );
    s.err(
        "soft_q_targets_discounted",
        "tau 0",
        is!(Error::InvalidConfig { .. }),
        "tau",
        || {
            soft_q_targets_discounted(
                Tensor::zeros([1], d),
                Tensor::zeros([1, 2], d),
                flags(1),
                Tensor::ones([1], d),
                0.0,
                None,
            )
        },
    );
    s.err(
        "soft_policy_log_probs",
        "tau NaN",
        is!(Error::InvalidConfig { .. }),
        "tau",
        || soft_policy_log_probs(Tensor::zeros([1, 2], d), f64::NAN, None),
    );
    s.err(
        "ScoredCompletion::new",
        "2 rewards for 3 tokens",
        is!(Error::ShapeMismatch { .. }),
        "per-token rewards",
        || {
            ScoredCompletion::new(
                vec![1],
                vec![4, 5, 6],
                CompletionReward::PerToken(vec![1.0, 0.0]),
                true,
            )
        },
    );
    s.err(
        "ScoredCompletion (serde)",
        "1 reward for 2 tokens, bypassing new",
        is!(Error::Decode { .. }),
        "per-token rewards",
        || {
            serde_json::from_str::<ScoredCompletion>(
                r#"{"prompt":[1],"completion":[4,5],"rewards":[1.0]}"#,
            )
            .map_err(|e| Error::Decode {
                what: "scored completion",
                message: e.to_string(),
            })
        },
    );
    s.err(
        "ScoredCompletions::replay",
        "empty dataset",
        is!(Error::Empty { .. }),
        "scored completions",
        || ScoredCompletions::default().replay(1.0),
    );
    s.err(
        "KlPenalty::new",
        "beta NaN",
        is!(Error::NonFinite { .. } | Error::InvalidConfig { .. }),
        "beta",
        || KlPenalty::new(KlPenaltyConfig::new().with_beta(f64::NAN)),
    );
    s.err(
        "IlqlConfig::validate",
        "expectile 1",
        is!(Error::InvalidConfig { .. }),
        "expectile",
        || IlqlConfig::new().with_expectile(1.0).validate(),
    );
    s.err(
        "ValueGuided::new",
        "beta -1",
        is!(Error::InvalidConfig { .. }),
        "beta",
        || {
            let model = TokenModel::new(GruBodyConfig::new(6).with_hidden(4).init(d)?, 0, d);
            ValueGuided::new(&model, std::slice::from_ref(&model), &model, -1.0)
        },
    );
}
