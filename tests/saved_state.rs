//! Saved state: checkpoints survive a crash in the middle of a save, refuse to load when a file
//! is missing, truncated or corrupt, and a DQN run resumed from its checkpoint equals the run
//! that never stopped, bit for bit.
//!
//! The crash test runs the save in a child process (this test binary again, running the
//! ignored `crash_child` test) that aborts at a chosen boundary between durable steps, as a
//! killed job or a power cut would stop it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::tensor::{Device, Tensor, TensorData};
use valuefn::Error;
use valuefn::algo::TrainReport;
use valuefn::algo::dqn::{
    Dqn, DqnConfig, DqnReport, DqnTrainConfig, ReplayKind, ResumeConfig, train_dqn,
    train_dqn_resumable,
};
use valuefn::checkpoint::{self, MANIFEST};
use valuefn::encode::Features;
use valuefn::env::classic::{CartPole, CartPoleConfig};
use valuefn::env::{Environment, Snapshot, SyncVecEnv};
use valuefn::nn::{QNetwork, QNetworkConfig};
use valuefn::replay::PrioritizedConfig;
use valuefn::tensor_ops::to_vec_f32;
use valuefn::value::QFunction;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("valuefn-test-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    dir
}

fn net() -> QNetworkConfig {
    QNetworkConfig::new(4, 2).with_hidden(vec![16])
}

/// A short CartPole run with everything a resume must carry: n-step windows in flight (n = 3),
/// evaluations (and so a best model), several copies, and the given replay.
fn run_config(replay: ReplayKind) -> DqnTrainConfig {
    DqnTrainConfig::new()
        .with_total_steps(480)
        .with_buffer_size(300) // the ring wraps before the end
        .with_batch_size(16)
        .with_learning_starts(60)
        .with_train_frequency(2)
        .with_gradient_steps(2)
        .with_eval_every(120)
        .with_eval_episodes(2)
        .with_replay(replay)
        .with_seed(5)
        .with_progress_bar(false)
}

fn dqn_config() -> DqnConfig {
    DqnConfig::new().with_gamma(0.95).with_n_step(3)
}

fn envs() -> SyncVecEnv<CartPole> {
    let copies = (0..3)
        .map(|_| CartPoleConfig::new().init().unwrap())
        .collect();
    SyncVecEnv::new(copies).unwrap()
}

fn fresh_dqn(device: &Device, seed: u64) -> Dqn<QNetwork> {
    Dqn::new(dqn_config(), net().with_seed(seed).init(device).unwrap()).unwrap()
}

/// The online and target networks' Q-values on fixed inputs: equal only if the weights are.
fn fingerprint(dqn: &Dqn<QNetwork>, device: &Device) -> Vec<f32> {
    let x: Vec<f32> = (0..32).map(|i| (i as f32 * 0.37).sin()).collect();
    let input = || Tensor::<2>::from_data(TensorData::new(x.clone(), [8, 4]), device);
    let mut values = to_vec_f32(dqn.online().q_values(input()).unwrap());
    values.extend(to_vec_f32(dqn.target().q_values(input()).unwrap()));
    values
}

/// Everything a report holds that does not depend on the clock (any learner's report).
fn assert_same_run<M, S>(a: &TrainReport<M, S>, b: &TrainReport<M, S>, what: &str)
where
    S: Clone + PartialEq + std::fmt::Debug,
{
    assert_eq!(a.metrics.len(), b.metrics.len(), "{what}: metrics count");
    for (x, y) in a.metrics.iter().zip(&b.metrics) {
        let (mut x, mut y) = (x.clone(), y.clone());
        (x.steps_per_second, y.steps_per_second) = (0.0, 0.0);
        assert_eq!(x, y, "{what}: metrics differ");
    }
    assert_eq!(a.episode_returns, b.episode_returns, "{what}: episodes");
    assert_eq!(a.evaluations, b.evaluations, "{what}: evaluations");
    assert_eq!(a.best, b.best, "{what}: best");
    assert_eq!(
        (a.steps, a.updates, a.gradient_steps),
        (b.steps, b.updates, b.gradient_steps),
        "{what}: counters"
    );
}

fn uninterrupted(config: &DqnTrainConfig, device: &Device) -> (DqnReport<QNetwork>, Vec<f32>) {
    let mut dqn = fresh_dqn(device, 1);
    let mut eval = CartPoleConfig::new().init().unwrap();
    let report = train_dqn(
        config,
        &mut dqn,
        &mut envs(),
        Some(&mut eval),
        &Features::new(4),
        device,
    )
    .unwrap();
    (report, fingerprint(&dqn, device))
}

/// Runs (or resumes) `config` from `dir` with fresh objects; the updater's own seed differs
/// from the reference run's, so only a restored updater can match it.
fn resumed(
    config: &DqnTrainConfig,
    resume: &ResumeConfig,
    device: &Device,
) -> valuefn::Result<(DqnReport<QNetwork>, Vec<f32>)> {
    let mut dqn = fresh_dqn(device, 1);
    let mut eval = CartPoleConfig::new().init().unwrap();
    let report = train_dqn_resumable(
        config,
        resume,
        &mut dqn,
        &mut envs(),
        Some(&mut eval),
        &Features::new(4),
        device,
    )?;
    Ok((report, fingerprint(&dqn, device)))
}

#[test]
fn a_dqn_run_stopped_and_resumed_equals_the_run_that_never_stopped() {
    let prioritized = ReplayKind::Prioritized(PrioritizedConfig::new());
    for (name, device) in valuefn::device::cpu_devices() {
        let device = device.autodiff();
        for (replay_name, replay) in [
            ("uniform", ReplayKind::Uniform),
            ("prioritized", prioritized.clone()),
        ] {
            let what = format!("{name}, {replay_name}");
            let config = run_config(replay);
            let (reference, weights) = uninterrupted(&config, &device);
            assert!(reference.best.is_some() && reference.gradient_steps > 100);

            let dir = temp_dir(&format!("resume-{name}-{replay_name}"));
            let resume = ResumeConfig::new(dir.display().to_string()).with_every(100);
            // Stopped twice: mid-episode, between evaluations, with windows in flight; each
            // call starts from fresh objects (another network seed) and the folder alone.
            for stop in [133, 301] {
                let (part, _) =
                    resumed(&config, &resume.clone().with_stop_at(Some(stop)), &device).unwrap();
                assert!(
                    part.steps >= stop && part.steps < stop + 3,
                    "{what}: {}",
                    part.steps
                );
            }
            let (report, resumed_weights) = resumed(&config, &resume, &device).unwrap();
            assert_same_run(&reference, &report, &what);
            assert_eq!(weights, resumed_weights, "{what}: the networks differ");

            // A finished run resumed again returns its report and changes nothing.
            let (again, again_weights) = resumed(&config, &resume, &device).unwrap();
            assert_same_run(&reference, &again, &what);
            assert_eq!(weights, again_weights);
            std::fs::remove_dir_all(&dir).ok();
        }
    }
}

#[test]
fn a_resume_refuses_another_config_and_changes_nothing() {
    let device = valuefn::device::default_device().autodiff();
    let config = run_config(ReplayKind::Uniform);
    let dir = temp_dir("resume-config");
    let resume = ResumeConfig::new(dir.display().to_string()).with_every(50);
    resumed(&config, &resume.clone().with_stop_at(Some(90)), &device).unwrap();

    let mut dqn = fresh_dqn(&device, 4);
    let before = fingerprint(&dqn, &device);
    let mut copies = envs();
    copies.reset(Some(11));
    let env_before = copies.snapshot();
    let other = config.clone().with_batch_size(32);
    let err = train_dqn_resumable(
        &other,
        &resume,
        &mut dqn,
        &mut copies,
        None,
        &Features::new(4),
        &device,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidConfig {
                field: "config",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("\"batch_size\":16"), "{err}");
    assert_eq!(fingerprint(&dqn, &device), before);
    assert_eq!(copies.snapshot(), env_before);

    // A corrupt replay file: refused by its hash before anything is decoded or replaced.
    let manifest = checkpoint::verify(&dir).unwrap();
    flip_last_bit(&dir.join(&manifest.files["replay.bin"].file));
    // The metrics file a failed resume names is not touched either.
    let metrics = dir.with_extension("metrics.jsonl");
    std::fs::write(&metrics, "the interrupted run's lines\n").unwrap();
    let err = train_dqn_resumable(
        &config
            .clone()
            .with_metrics_path(Some(metrics.display().to_string())),
        &resume,
        &mut dqn,
        &mut copies,
        None,
        &Features::new(4),
        &device,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
    assert!(err.to_string().contains("replay.2.bin"), "{err}");
    assert_eq!(fingerprint(&dqn, &device), before);
    assert_eq!(copies.snapshot(), env_before);
    assert_eq!(
        std::fs::read_to_string(&metrics).unwrap(),
        "the interrupted run's lines\n"
    );
    std::fs::remove_file(&metrics).ok();
    std::fs::remove_dir_all(&dir).ok();
}

fn flip_last_bit(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(path, bytes).unwrap();
}

/// A DQN checkpoint saved twice (generation 2), and the network it holds.
fn saved_dqn(name: &str) -> (PathBuf, Device) {
    let device = valuefn::device::default_device().autodiff();
    let dir = temp_dir(name);
    let dqn = fresh_dqn(&device, 3);
    dqn.save(&dir).unwrap();
    dqn.save(&dir).unwrap();
    (dir, device)
}

fn load(dir: &Path, device: &Device) -> valuefn::Result<Dqn<QNetwork>> {
    Dqn::load(dir, net().with_seed(8).init(device).unwrap())
}

#[test]
fn saves_keep_one_generation_and_verify_lists_every_file() {
    let (dir, device) = saved_dqn("generations");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            MANIFEST,
            "dqn.2.json",
            "online.2.bpk",
            "optimizer.2.bpk",
            "target.2.bpk"
        ]
    );
    let manifest = checkpoint::verify(&dir).unwrap();
    assert_eq!((manifest.kind.as_str(), manifest.generation), ("dqn", 2));
    let online = &manifest.files["online.bpk"];
    let bytes = std::fs::read(dir.join(&online.file)).unwrap();
    assert_eq!(online.bytes, bytes.len() as u64);
    assert_eq!(online.sha256.len(), 64);
    let loaded = load(&dir, &device).unwrap();
    assert_eq!(
        fingerprint(&loaded, &device),
        fingerprint(&fresh_dqn(&device, 3), &device)
    );

    // Leftovers of a save that never committed (a stale manifest draft, a next-generation
    // file) are ignored on load and removed by the next save; other files are left alone.
    std::fs::write(dir.join("online.3.bpk"), b"half a file").unwrap();
    std::fs::write(dir.join("checkpoint.json.tmp"), b"{").unwrap();
    std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
    load(&dir, &device).unwrap();
    fresh_dqn(&device, 3).save(&dir).unwrap();
    assert!(dir.join("online.3.bpk").exists()); // the new generation's own file
    assert_eq!(checkpoint::verify(&dir).unwrap().generation, 3);
    assert!(!dir.join("checkpoint.json.tmp").exists());
    assert!(!dir.join("online.2.bpk").exists());
    assert!(dir.join("notes.txt").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_missing_truncated_or_corrupt_file_is_a_typed_error_naming_it() {
    type Damage = fn(&Path, &checkpoint::Manifest);
    let cases: [(&str, Damage, &str); 7] = [
        (
            "truncated",
            |dir, m| {
                let path = dir.join(&m.files["optimizer.bpk"].file);
                let bytes = std::fs::read(&path).unwrap();
                std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
            },
            "optimizer.2.bpk: 128 bytes where the manifest records 256",
        ),
        (
            "bit-flipped",
            |dir, m| flip_last_bit(&dir.join(&m.files["target.bpk"].file)),
            "SHA-256",
        ),
        (
            "missing",
            |dir, m| std::fs::remove_file(dir.join(&m.files["online.bpk"].file)).unwrap(),
            "online.2.bpk: missing",
        ),
        (
            "grown",
            |dir, m| {
                let path = dir.join(&m.files["dqn.json"].file);
                let mut bytes = std::fs::read(&path).unwrap();
                bytes.extend_from_slice(b"\n\n");
                std::fs::write(&path, bytes).unwrap();
            },
            "bytes where the manifest records",
        ),
        (
            "no manifest",
            |dir, _| std::fs::remove_file(dir.join(MANIFEST)).unwrap(),
            "no manifest",
        ),
        (
            "garbled manifest",
            |dir, _| std::fs::write(dir.join(MANIFEST), b"{\"format\": ").unwrap(),
            "does not decode",
        ),
        (
            "escaping manifest",
            |dir, m| {
                let mut m = m.clone();
                m.files.get_mut("online.bpk").unwrap().file = "../online.bpk".into();
                std::fs::write(dir.join(MANIFEST), serde_json::to_vec(&m).unwrap()).unwrap();
            },
            "not a file of the folder",
        ),
    ];
    for (name, damage, expected) in cases {
        let (dir, device) = saved_dqn(&format!("damage-{}", name.replace(' ', "-")));
        let manifest = checkpoint::Manifest::read(&dir).unwrap();
        damage(&dir, &manifest);
        let err = load(&dir, &device).unwrap_err();
        assert!(matches!(err, Error::Checkpoint { .. }), "{name}: {err:?}");
        assert!(err.to_string().contains(expected), "{name}: {err}");
        assert!(checkpoint::verify(&dir).is_err(), "{name}");
        std::fs::remove_dir_all(&dir).ok();
    }

    // A checkpoint of another kind is refused by name.
    let device = valuefn::device::default_device().autodiff();
    let dir = temp_dir("kind");
    let resume = ResumeConfig::new(dir.display().to_string());
    resumed(
        &run_config(ReplayKind::Uniform).with_total_steps(30),
        &resume,
        &device,
    )
    .unwrap();
    let err = load(&dir, &device).unwrap_err();
    assert!(
        err.to_string()
            .contains("holds a \"dqn_training\" checkpoint, not a \"dqn\" one"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

const CRASH_DIR: &str = "VALUEFN_TEST_CRASH_DIR";
const CRASH_STEP: &str = "VALUEFN_TEST_CRASH_STEP";

/// Durable steps of one training checkpoint: seven files (dqn.json, online, target,
/// optimizer, replay.bin, best.bpk, run.json), the manifest draft, its rename, the clean-up.
const STEPS_PER_SAVE: usize = 10;

/// The crash test's run: saves at steps 150, 300, 450 and 480 (the end), each after the first
/// evaluation (step 120), so each holds a best model and takes the same steps.
fn crash_run() -> (DqnTrainConfig, fn(&Path) -> ResumeConfig) {
    (run_config(ReplayKind::Uniform), |dir| {
        ResumeConfig::new(dir.display().to_string()).with_every(150)
    })
}

/// Not a test of its own: the child process of the crash test. It trains and aborts in the
/// middle of its third save, at the durable step the parent chose.
#[test]
#[ignore = "run by crash_during_a_save_leaves_a_checkpoint_that_resumes_bit_identically"]
fn crash_child() {
    let (Ok(dir), Ok(step)) = (std::env::var(CRASH_DIR), std::env::var(CRASH_STEP)) else {
        panic!("run by the crash test, with {CRASH_DIR} and {CRASH_STEP} set");
    };
    checkpoint::abort_after_durable_steps(step.parse().unwrap());
    let device = valuefn::device::default_device().autodiff();
    let (config, resume) = crash_run();
    resumed(&config, &resume(Path::new(&dir)), &device).unwrap();
}

#[test]
fn crash_during_a_save_leaves_a_checkpoint_that_resumes_bit_identically() {
    let device = valuefn::device::default_device().autodiff();
    let (config, resume) = crash_run();
    let (reference, weights) = uninterrupted(&config, &device);
    for boundary in 0..STEPS_PER_SAVE {
        let dir = temp_dir(&format!("crash-{boundary}"));
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["crash_child", "--exact", "--ignored", "--test-threads=1"])
            .env(CRASH_DIR, &dir)
            .env(CRASH_STEP, (2 * STEPS_PER_SAVE + boundary).to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(
            !status.success(),
            "boundary {boundary}: the child was not stopped"
        );
        // Before the rename the second checkpoint is the folder's; from the rename on, the third.
        let manifest = checkpoint::verify(&dir).unwrap();
        let expected = if boundary < STEPS_PER_SAVE - 1 { 2 } else { 3 };
        assert_eq!(manifest.generation, expected, "boundary {boundary}");
        let (report, resumed_weights) = resumed(&config, &resume(&dir), &device).unwrap();
        assert_same_run(
            &reference,
            &report,
            &format!("crash at boundary {boundary}"),
        );
        assert_eq!(weights, resumed_weights, "boundary {boundary}");
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn classic_environments_restore_their_state_and_refuse_impossible_ones() {
    /// Three steps, then a reset drawn from the environment's own generator.
    fn run_ahead<E>(env: &mut E, action: usize) -> (Vec<valuefn::env::Step<Vec<f32>>>, Vec<f32>)
    where
        E: Environment<Action = usize, Observation = Vec<f32>>,
    {
        let steps = (0..3).map(|_| env.step(action).unwrap()).collect();
        (steps, env.reset(None))
    }
    fn check<E>(mut env: E, fresh: impl Fn() -> E, actions: &[usize])
    where
        E: Environment<Action = usize, Observation = Vec<f32>> + Snapshot,
        E::Snapshot: Clone + PartialEq + std::fmt::Debug,
    {
        env.reset(Some(21));
        for &action in actions {
            env.step(action).unwrap();
        }
        let saved = env.snapshot();
        let ahead = run_ahead(&mut env, actions[0]);
        let mut other = fresh();
        other.restore(saved.clone()).unwrap();
        assert_eq!(other.snapshot(), saved);
        let replay = run_ahead(&mut other, actions[0]);
        assert_eq!(ahead, replay);
    }
    use valuefn::env::classic::{AcrobotConfig, ClassicSnapshot, MountainCarConfig};
    check(
        CartPoleConfig::new().init().unwrap(),
        || CartPoleConfig::new().init().unwrap(),
        &[1, 0, 1],
    );
    check(
        AcrobotConfig::new().init().unwrap(),
        || AcrobotConfig::new().init().unwrap(),
        &[2, 0],
    );
    check(
        MountainCarConfig::new().init().unwrap(),
        || MountainCarConfig::new().init().unwrap(),
        &[2, 2],
    );

    let mut env = CartPoleConfig::new().init().unwrap();
    env.reset(Some(1));
    let good = env.snapshot();
    let bad: [(ClassicSnapshot, &str); 5] = [
        (
            ClassicSnapshot {
                state: Some(vec![0.0, f64::NAN, 0.0, 0.0]),
                ..good.clone()
            },
            "finite",
        ),
        (
            ClassicSnapshot {
                state: Some(vec![0.0; 3]),
                ..good.clone()
            },
            "shape mismatch",
        ),
        (
            ClassicSnapshot {
                elapsed: 500,
                ..good.clone()
            },
            "elapsed",
        ),
        (
            ClassicSnapshot {
                state: None,
                ..good.clone()
            },
            "elapsed",
        ),
        (
            ClassicSnapshot {
                rng: checkpoint::RngState::from_hex("zz"),
                ..good.clone()
            },
            "random generator state",
        ),
    ];
    for (snapshot, expected) in bad {
        let err = env.restore(snapshot).unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
        assert_eq!(
            env.snapshot(),
            good,
            "a refused state changed the environment"
        );
    }

    // A vector of copies restores all or none.
    let mut copies = envs();
    copies.reset(Some(2));
    let before = copies.snapshot();
    let mut mixed = before.clone();
    mixed.envs[0].elapsed = 3;
    mixed.envs[2].elapsed = 10_000;
    assert!(copies.restore(mixed).is_err());
    assert_eq!(copies.snapshot(), before);
    let mut short = before.clone();
    short.envs.pop();
    assert!(matches!(
        copies.restore(short),
        Err(Error::ShapeMismatch { .. })
    ));
}

mod actor_critic {
    use super::*;
    use valuefn::algo::actor_critic::{
        ActorCritic, ActorCriticConfig, ActorCriticTrainConfig, train_actor_critic,
        train_actor_critic_resumable,
    };
    use valuefn::nn::{CategoricalPolicy, CategoricalPolicyConfig, VNetwork, VNetworkConfig};
    use valuefn::policy::PolicyAndValue;

    type Model = PolicyAndValue<CategoricalPolicy, VNetwork>;

    /// PPO on CartPole: epochs of shuffled minibatches (the order follows from the update
    /// count), a learning-rate schedule, evaluations and a best model.
    fn config() -> ActorCriticTrainConfig {
        ActorCriticTrainConfig::new()
            .with_n_steps(16)
            .with_total_steps(320)
            .with_eval_every(96)
            .with_eval_episodes(2)
            .with_seed(3)
            .with_progress_bar(false)
    }

    fn updater(device: &Device, seed: u64) -> ActorCritic<Model> {
        let model = PolicyAndValue::new(
            CategoricalPolicyConfig::new(4, 2)
                .with_hidden(vec![16])
                .with_seed(seed)
                .init(device)
                .unwrap(),
            VNetworkConfig::new(4)
                .with_hidden(vec![16])
                .with_seed(seed)
                .init(device)
                .unwrap(),
        );
        ActorCritic::new(ActorCriticConfig::ppo_cartpole(200), model).unwrap()
    }

    fn two_envs() -> SyncVecEnv<CartPole> {
        let copies = (0..2)
            .map(|_| CartPoleConfig::new().init().unwrap())
            .collect();
        SyncVecEnv::new(copies).unwrap()
    }

    fn probabilities(updater: &ActorCritic<Model>, device: &Device) -> Vec<f32> {
        use valuefn::policy::LogitsPolicy;
        let x: Vec<f32> = (0..32).map(|i| (i as f32 * 0.41).cos()).collect();
        let input = Tensor::<2>::from_data(TensorData::new(x, [8, 4]), device);
        to_vec_f32(updater.model().logits(input).unwrap())
    }

    #[test]
    fn a_ppo_run_stopped_and_resumed_equals_the_run_that_never_stopped() {
        for (name, device) in valuefn::device::cpu_devices() {
            let device = device.autodiff();
            let run = |resume: Option<&ResumeConfig>| {
                let mut ppo = updater(&device, 1);
                let mut eval = CartPoleConfig::new().init().unwrap();
                let (config, encoder) = (config(), Features::new(4));
                let report = match resume {
                    None => train_actor_critic(
                        &config,
                        &mut ppo,
                        &mut two_envs(),
                        Some(&mut eval),
                        &encoder,
                        &device,
                    ),
                    Some(resume) => train_actor_critic_resumable(
                        &config,
                        resume,
                        &mut ppo,
                        &mut two_envs(),
                        Some(&mut eval),
                        &encoder,
                        &device,
                    ),
                }
                .unwrap();
                (report, probabilities(&ppo, &device))
            };
            let (reference, weights) = run(None);
            assert!(reference.best.is_some() && reference.updates == 10);
            let dir = temp_dir(&format!("resume-ppo-{name}"));
            let resume = ResumeConfig::new(dir.display().to_string()).with_every(64);
            for stop in [70, 150] {
                let (part, _) = run(Some(&resume.clone().with_stop_at(Some(stop))));
                assert_eq!(part.steps, stop.div_ceil(32) * 32, "{name}");
            }
            let (report, resumed_weights) = run(Some(&resume));
            assert_same_run(&reference, &report, name);
            assert_eq!(weights, resumed_weights, "{name}: the models differ");
            assert_eq!(
                checkpoint::verify(&dir).unwrap().kind,
                "actor_critic_training"
            );
            std::fs::remove_dir_all(&dir).ok();
        }
    }
}

/// A tabular environment (slippery FrozenLake under a time limit) resumes as CartPole does: its
/// transitions are drawn from its own generator, saved with it.
#[test]
fn a_dqn_run_on_slippery_frozen_lake_resumes_bit_identically() {
    use valuefn::encode::OneHot;
    use valuefn::env::tabular::FrozenLake;
    use valuefn::env::{TabularEnv, TimeLimit};

    type Lake = TimeLimit<TabularEnv<FrozenLake>>;
    let lake = || TimeLimit::new(TabularEnv::new(FrozenLake::four_by_four(true)), 30).unwrap();
    let device = valuefn::device::default_device().autodiff();
    let net = QNetworkConfig::new(16, 4).with_hidden(vec![16]);
    let config = run_config(ReplayKind::Uniform).with_total_steps(360);
    let run = |resume: Option<&ResumeConfig>| {
        let mut dqn = Dqn::new(dqn_config(), net.init(&device).unwrap()).unwrap();
        let mut envs: SyncVecEnv<Lake> = SyncVecEnv::new(vec![lake(), lake()]).unwrap();
        let mut eval = lake();
        let encoder = OneHot::new(16);
        let report = match resume {
            None => train_dqn(
                &config,
                &mut dqn,
                &mut envs,
                Some(&mut eval),
                &encoder,
                &device,
            ),
            Some(resume) => train_dqn_resumable(
                &config,
                resume,
                &mut dqn,
                &mut envs,
                Some(&mut eval),
                &encoder,
                &device,
            ),
        }
        .unwrap();
        let x = Tensor::<2>::eye(16, &device);
        (report, to_vec_f32(dqn.online().q_values(x).unwrap()))
    };
    let (reference, q) = run(None);
    assert!(!reference.episode_returns.is_empty());
    let dir = temp_dir("resume-frozen-lake");
    let resume = ResumeConfig::new(dir.display().to_string()).with_every(50);
    let (part, _) = run(Some(&resume.clone().with_stop_at(Some(171))));
    assert_eq!(part.steps, 172);
    let (report, resumed_q) = run(Some(&resume));
    assert_same_run(&reference, &report, "FrozenLake");
    assert_eq!(q, resumed_q);
    std::fs::remove_dir_all(&dir).ok();
}

/// A hand-written token PPO loop (the examples' shape: cached rollouts of a GRU token model,
/// one update each) saves its updater and its rollouts' snapshot, and a fresh process that
/// loads both continues with the same episodes and parameters.
#[test]
fn a_token_ppo_loop_saved_and_resumed_equals_the_loop_that_never_stopped() {
    use valuefn::algo::actor_critic::{ActorCritic, ActorCriticConfig, PpoConfig};
    use valuefn::lm::{GruBodyConfig, TokenCollector, TokenCollectorSnapshot, TokenModel};
    use valuefn::text::SequenceOp;

    let device = valuefn::device::default_device().autodiff();
    let (env, _, _) = common::text_tasks::sequence_envs(SequenceOp::Copy);
    let vocab = env.action_space().n();
    let config = ActorCriticConfig::new().with_gamma(1.0).with_ppo(Some(
        PpoConfig::new().with_epochs(2).with_minibatch_size(16),
    ));
    let fresh = |seed: u64| {
        let body = GruBodyConfig::new(vocab).with_hidden(16).with_seed(seed);
        let model = TokenModel::new(body.init(&device).unwrap(), seed, &device);
        ActorCritic::new(config.clone(), model).unwrap()
    };
    type Updater = ActorCritic<TokenModel<valuefn::lm::GruBody>>;
    let train = |updater: &mut Updater, rollouts: &mut TokenCollector<_>, updates: usize| {
        (0..updates)
            .map(|_| {
                let rollout = rollouts.collect(updater.model(), &device).unwrap();
                updater.update(&rollout.batch).unwrap();
                rollout
                    .episodes
                    .iter()
                    .map(|e| e.total_reward())
                    .sum::<f64>()
            })
            .collect::<Vec<f64>>()
    };
    let probe = |updater: &Updater| {
        let rollout = TokenCollector::new(&env, 4, 99)
            .unwrap()
            .collect(updater.model(), &device)
            .unwrap();
        rollout
            .episodes
            .iter()
            .map(|e| e.tokens.clone())
            .collect::<Vec<_>>()
    };

    let mut reference = fresh(1);
    let mut rollouts = TokenCollector::new(&env, 8, 5).unwrap();
    let rewards = train(&mut reference, &mut rollouts, 6);

    let dir = temp_dir("token-ppo");
    let mut first = fresh(1);
    let mut rollouts = TokenCollector::new(&env, 8, 5).unwrap();
    let mut resumed_rewards = train(&mut first, &mut rollouts, 3);
    first.save(&dir).unwrap();
    let snapshot = serde_json::to_string(&rollouts.snapshot()).unwrap();
    drop((first, rollouts));

    // A new process: other seeds everywhere, then the saved state put back.
    let mut second = Updater::load(&dir, fresh(7).model().clone()).unwrap();
    let mut rollouts = TokenCollector::new(&env, 8, 123).unwrap();
    let saved: TokenCollectorSnapshot = serde_json::from_str(&snapshot).unwrap();
    rollouts.restore(saved.clone()).unwrap();
    resumed_rewards.extend(train(&mut second, &mut rollouts, 3));
    assert_eq!(resumed_rewards, rewards);
    assert_eq!(probe(&second), probe(&reference));

    // A snapshot for another number of episodes, or with a bad copy, changes nothing.
    let mut other = TokenCollector::new(&env, 4, 0).unwrap();
    let before = other.snapshot();
    assert!(matches!(
        other.restore(saved.clone()),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut bad = saved;
    bad.envs[3].episode = Some(valuefn::env::text::TextEpisodeSnapshot {
        task: usize::MAX,
        generated: vec![],
    });
    let mut same = TokenCollector::new(&env, 8, 0).unwrap();
    let unchanged = same.snapshot();
    assert!(same.restore(bad).is_err());
    assert_eq!(same.snapshot(), unchanged);
    assert_eq!(other.snapshot(), before);
    std::fs::remove_dir_all(&dir).ok();
}

/// Token actor-critic through the library loop: `SyncVecEnv` of text environments (their
/// observations are serde `TokenState`s) under `train_actor_critic_resumable`.
#[test]
fn a_token_actor_critic_run_through_the_library_loop_resumes_bit_identically() {
    use valuefn::algo::actor_critic::{
        ActorCritic, ActorCriticConfig, ActorCriticTrainConfig, train_actor_critic_resumable,
    };
    use valuefn::lm::{GruBodyConfig, LastTokens, TokenModel};
    use valuefn::text::SequenceOp;

    let device = valuefn::device::default_device().autodiff();
    let (env, _, _) = common::text_tasks::sequence_envs(SequenceOp::Reverse);
    let vocab = env.action_space().n();
    let config = ActorCriticTrainConfig::new()
        .with_n_steps(5)
        .with_total_steps(200)
        .with_progress_bar(false)
        .with_eval_episodes(0);
    let dir = temp_dir("token-a2c-loop");
    let resume = ResumeConfig::new(dir.display().to_string()).with_every(40);
    let run = |stop_at: Option<u64>, seed: u64| {
        let body = GruBodyConfig::new(vocab).with_hidden(16).with_seed(seed);
        let model = TokenModel::new(body.init(&device).unwrap(), seed, &device);
        let mut a2c = ActorCritic::new(ActorCriticConfig::new().with_gamma(1.0), model).unwrap();
        let mut envs = SyncVecEnv::new((0..4).map(|_| env.replica()).collect()).unwrap();
        let report = train_actor_critic_resumable(
            &config,
            &resume.clone().with_stop_at(stop_at),
            &mut a2c,
            &mut envs,
            None,
            &LastTokens,
            &device,
        )
        .unwrap();
        (report.episode_returns, report.gradient_steps)
    };
    let (reference, steps) = run(None, 1);
    std::fs::remove_dir_all(&dir).unwrap();
    run(Some(100), 1);
    let (resumed, resumed_steps) = run(None, 8); // another seed: only the checkpoint matters
    assert_eq!((resumed, resumed_steps), (reference, steps));
    std::fs::remove_dir_all(&dir).ok();
}

/// A token run of the one on-policy loop with a KL penalty (adaptive beta) and a closure
/// hook, evaluated along the way: stopped twice and resumed (with other seeds everywhere, so
/// only the checkpoint matters) it equals `train_on_policy` run straight through: metrics,
/// episodes, evaluations, best model, beta and the final model's logits. A resume with another
/// config or other hooks is refused and changes nothing.
#[test]
fn a_token_run_of_the_on_policy_loop_resumes_bit_identically() {
    use valuefn::algo::RunConfig;
    use valuefn::algo::actor_critic::{
        ActorCritic, ActorCriticConfig, AfterUpdate, KlPenalty, KlPenaltyConfig, train_on_policy,
        train_on_policy_resumable,
    };
    use valuefn::lm::{
        GruBody, GruBodyConfig, Sampling, TokenCollector, TokenModel, TokenRollout, evaluate_tasks,
    };
    use valuefn::text::SequenceOp;

    let device = valuefn::device::default_device().autodiff();
    let (env, held_out, _) = common::text_tasks::sequence_envs(SequenceOp::Copy);
    let vocab = env.action_space().n();
    let model = |seed: u64| {
        let body = GruBodyConfig::new(vocab).with_hidden(16).with_seed(seed);
        TokenModel::new(body.init(&device).unwrap(), seed, &device)
    };
    let reference = model(3);
    // 12 rollouts of 8 episodes: the last one takes the run past its total, to 96.
    let config = RunConfig::new(92)
        .with_eval_every(32)
        .with_progress_bar(false);
    let kl = KlPenaltyConfig::new()
        .with_beta(0.5)
        .with_target(Some(0.01))
        .with_horizon(64);
    type Run = valuefn::algo::actor_critic::ActorCriticReport<TokenModel<GruBody>>;
    // Each call: a fresh updater, collector and hooks, as a new process would make them.
    let job = |seed: u64,
               resume: Option<ResumeConfig>|
     -> valuefn::Result<(Run, ActorCritic<TokenModel<GruBody>>, f64)> {
        let mut a2c = ActorCritic::new(ActorCriticConfig::new().with_gamma(1.0), model(seed))?;
        let mut collector = TokenCollector::new(&env, 8, seed + 10)?;
        let mut calls = 0u64;
        let mut hooks = (
            KlPenalty::new(kl.clone())?.against(&reference),
            AfterUpdate(|_: &TokenRollout, _: &_, _: &_| {
                calls += 1;
                Ok(false)
            }),
        );
        let mut score = |m: &TokenModel<GruBody>| {
            Ok(evaluate_tasks(m, &held_out, Sampling::Greedy, 0, &device)?.reward_per_target_token)
        };
        let report = match resume {
            None => train_on_policy(
                &config,
                &mut a2c,
                &mut collector,
                Some(&mut score),
                &mut hooks,
                &device,
            )?,
            Some(resume) => train_on_policy_resumable(
                &config,
                &resume,
                &mut a2c,
                &mut collector,
                Some(&mut score),
                &mut hooks,
                &device,
            )?,
        };
        let beta = hooks.0.penalty().beta();
        Ok((report, a2c, beta))
    };
    let logits = |a2c: &ActorCritic<TokenModel<GruBody>>| logits_of(a2c.model(), &env, &device);

    let (straight, straight_a2c, straight_beta) = job(1, None).unwrap();
    assert_eq!((straight.steps, straight.updates), (96, 12));
    assert_eq!(straight.evaluations.len(), 3);
    assert_ne!(straight_beta, 0.5, "the adaptive beta moved");

    let dir = temp_dir("on-policy-token");
    let resume = ResumeConfig::new(dir.display().to_string()).with_every(16);
    let (first, _, _) = job(1, Some(resume.clone().with_stop_at(Some(24)))).unwrap();
    assert_eq!(first.steps, 24);
    let (second, _, _) = job(5, Some(resume.clone().with_stop_at(Some(56)))).unwrap();
    assert_eq!(second.steps, 56);
    let (resumed, resumed_a2c, resumed_beta) = job(9, Some(resume.clone())).unwrap();
    assert_same_run(&straight, &resumed, "token run");
    assert_eq!(resumed_beta, straight_beta);
    assert_eq!(logits(&resumed_a2c), logits(&straight_a2c));
    let best = |r: &Run| logits_of(r.best_model.as_ref().unwrap(), &env, &device);
    assert_eq!(best(&resumed), best(&straight));
    // The finished run, called again: its report, nothing trained.
    let (again, again_a2c, _) = job(13, Some(resume.clone())).unwrap();
    assert_same_run(&straight, &again, "finished token run read back");
    assert_eq!(logits(&again_a2c), logits(&straight_a2c));

    // The finished run's checkpoint, resumed with another config or without the KL hook:
    // refused before the updater, the collector or the hooks change.
    let mut a2c = ActorCritic::new(ActorCriticConfig::new().with_gamma(1.0), model(4)).unwrap();
    let before = logits(&a2c);
    let mut collector = TokenCollector::new(&env, 8, 0).unwrap();
    let collector_before = collector.snapshot();
    let mut hooks = (KlPenalty::new(kl.clone()).unwrap().against(&reference), ());
    let other = RunConfig::new(200).with_eval_every(32);
    let refused = train_on_policy_resumable(
        &other,
        &resume,
        &mut a2c,
        &mut collector,
        None,
        &mut hooks,
        &device,
    );
    assert!(
        matches!(refused, Err(Error::InvalidConfig { .. })),
        "{refused:?}"
    );
    let refused = train_on_policy_resumable(
        &config,
        &resume,
        &mut a2c,
        &mut collector,
        None,
        &mut (),
        &device,
    );
    assert!(matches!(refused, Err(Error::Decode { .. })), "{refused:?}");
    // A collector of another size refuses its saved state; hooks that refuse theirs leave the
    // collector, already restored, as it was.
    let mut small = TokenCollector::new(&env, 4, 0).unwrap();
    let small_before = small.snapshot();
    let refused = train_on_policy_resumable(
        &config, &resume, &mut a2c, &mut small, None, &mut hooks, &device,
    );
    assert!(
        matches!(refused, Err(Error::ShapeMismatch { .. })),
        "{refused:?}"
    );
    assert_eq!(small.snapshot(), small_before);
    let refused = train_on_policy_resumable(
        &config,
        &resume,
        &mut a2c,
        &mut collector,
        None,
        &mut Refusing,
        &device,
    );
    assert!(matches!(refused, Err(Error::Decode { .. })), "{refused:?}");
    assert_eq!(logits(&a2c), before);
    assert_eq!(collector.snapshot(), collector_before);
    assert_eq!(hooks.0.penalty().beta(), 0.5);
    std::fs::remove_dir_all(&dir).ok();
}

/// Hooks of the saved hooks' shape that refuse any state.
struct Refusing;

impl Snapshot for Refusing {
    type Snapshot = (valuefn::algo::actor_critic::KlPenaltySnapshot, ());

    fn snapshot(&self) -> Self::Snapshot {
        (
            valuefn::algo::actor_critic::KlPenaltySnapshot { beta: 0.0 },
            (),
        )
    }

    fn restore(&mut self, _: Self::Snapshot) -> valuefn::Result<()> {
        Err(Error::Decode {
            what: "test hooks",
            message: "refused".into(),
        })
    }
}

impl<M, S> valuefn::algo::actor_critic::RolloutHooks<M, S> for Refusing
where
    M: burn::module::Module + valuefn::policy::ActorCriticModel,
    M::Input: valuefn::batch::BatchRows,
    S: valuefn::algo::actor_critic::RolloutSource<M>,
{
}

/// A hook that stops a resumable run stops it for good: the checkpoint says so, and the next
/// call returns the same report without training.
#[test]
fn a_resumable_run_stopped_by_a_hook_stays_stopped() {
    use valuefn::algo::RunConfig;
    use valuefn::algo::actor_critic::{
        ActorCritic, ActorCriticConfig, AfterUpdate, train_on_policy_resumable,
    };
    use valuefn::lm::{GruBodyConfig, TokenCollector, TokenModel, TokenRollout};
    use valuefn::text::SequenceOp;

    let device = valuefn::device::default_device().autodiff();
    let (env, _, _) = common::text_tasks::sequence_envs(SequenceOp::Reverse);
    let vocab = env.action_space().n();
    let dir = temp_dir("on-policy-stopped");
    let resume = ResumeConfig::new(dir.display().to_string()).with_every(100);
    let job = |seed: u64| {
        let body = GruBodyConfig::new(vocab).with_hidden(8).with_seed(seed);
        let model = TokenModel::new(body.init(&device).unwrap(), seed, &device);
        let mut a2c = ActorCritic::new(ActorCriticConfig::new(), model).unwrap();
        let mut collector = TokenCollector::new(&env, 4, seed).unwrap();
        let mut hooks = AfterUpdate(
            |_: &TokenRollout, _: &_, run: &valuefn::algo::TrainRun<_, _>| Ok(run.updates() == 3),
        );
        let config = RunConfig::new(400).with_progress_bar(false);
        let report = train_on_policy_resumable(
            &config,
            &resume,
            &mut a2c,
            &mut collector,
            None,
            &mut hooks,
            &device,
        )
        .unwrap();
        (report, logits_of(a2c.model(), &env, &device))
    };
    let (stopped, logits) = job(1);
    assert_eq!((stopped.updates, stopped.steps), (3, 12));
    let (again, again_logits) = job(2);
    assert_same_run(&stopped, &again, "stopped run read back");
    assert_eq!(again_logits, logits);
    std::fs::remove_dir_all(&dir).ok();
}

/// A token model's logits on a fixed batch of positions.
fn logits_of(
    model: &valuefn::lm::TokenModel<valuefn::lm::GruBody>,
    env: &valuefn::env::text::TextGenerationEnv,
    device: &Device,
) -> Vec<f32> {
    use burn::module::Module;
    use valuefn::policy::LogitsPolicy;
    let probe = valuefn::lm::TokenCollector::new(env, 4, 99)
        .unwrap()
        .collect(model, device)
        .unwrap();
    to_vec_f32(model.valid().logits(probe.batch.observations).unwrap())
}

/// Hooks' snapshots: a KL penalty refuses a `beta` its config would refuse, and a pair is
/// restored all or none.
#[test]
fn a_pair_of_hooks_restores_all_or_none() {
    use valuefn::algo::actor_critic::{KlPenalty, KlPenaltyConfig, KlPenaltySnapshot};

    let penalty = |beta| KlPenalty::new(KlPenaltyConfig::new().with_beta(beta)).unwrap();
    let mut pair = (penalty(0.1), penalty(0.2));
    assert_eq!(
        pair.snapshot(),
        (
            KlPenaltySnapshot { beta: 0.1 },
            KlPenaltySnapshot { beta: 0.2 }
        )
    );
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let refused = pair.restore((
            KlPenaltySnapshot { beta: 0.7 },
            KlPenaltySnapshot { beta: bad },
        ));
        assert!(
            matches!(
                refused,
                Err(Error::InvalidConfig { .. } | Error::NonFinite { .. })
            ),
            "{bad}: {refused:?}"
        );
        assert_eq!(
            (pair.0.beta(), pair.1.beta()),
            (0.1, 0.2),
            "{bad}: nothing changed"
        );
    }
    pair.restore((
        KlPenaltySnapshot { beta: 0.7 },
        KlPenaltySnapshot { beta: 0.0 },
    ))
    .unwrap();
    assert_eq!((pair.0.beta(), pair.1.beta()), (0.7, 0.0));
}
