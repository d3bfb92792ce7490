//! Pretrained Hugging Face folders against `transformers`: tiny random-initialised GPT-2,
//! Llama (sharded), Qwen2 (bf16) and BERT (f16) models and their tokenizers, made by
//! `scripts/make_hf_fixtures.py`, with the hidden states, logits, greedy generations and token
//! ids `transformers` and `tokenizers` computed for them (`tests/data/hf/*/reference.json`,
//! `tests/data/hf/tokenizer_cases.json`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::tensor::{Device, Tensor};
use serde_json::Value;
use valuefn::Error;
use valuefn::batch::TokenBatch;
use valuefn::encode::{ObservationEncoder, PaddedTokens};
use valuefn::env::text::TokenState;
use valuefn::lm::hf::{BertEncoder, HfConfig, Pooling, PretrainedLm, QHeadInit};
use valuefn::lm::{GenerationConfig, LmBody, TokenDecoder, generate};
use valuefn::tensor_ops::to_vec_f32;
use valuefn::text::HfTokenizer;

const DECODERS: [&str; 4] = ["gpt2", "llama", "llama3", "qwen2"];

fn folder(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/hf")
        .join(name)
}

fn reference(name: &str) -> Value {
    let text = std::fs::read_to_string(folder(name).join("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ids_of(value: &Value) -> Vec<usize> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect()
}

fn floats(value: &Value) -> Vec<f32> {
    match value {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        v => vec![v.as_f64().unwrap() as f32],
    }
}

fn batch(rows: &[Vec<usize>], device: &Device) -> TokenBatch {
    let states: Vec<TokenState> = rows
        .iter()
        .map(|r| TokenState::new(Arc::from(r.clone())))
        .collect();
    PaddedTokens.encode(&states, device).unwrap()
}

fn assert_close(what: &str, actual: &[f32], expected: &[f32], tolerance: f32) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    let worst = actual
        .iter()
        .zip(expected)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= tolerance,
        "{what}: max |diff| {worst} > {tolerance}"
    );
}

/// `|actual - expected| <= tolerance * max(1, max |expected|)`: relative to the scale of the
/// row. Logits of magnitude ~10 computed in two orders (cached one row at a time, and full;
/// LibTorch picks other kernels for each) differ in f32 by more than an absolute 1e-5.
fn assert_close_relative(what: &str, actual: &[f32], expected: &[f32], tolerance: f32) {
    let scale = expected.iter().fold(1.0f32, |m, e| m.max(e.abs()));
    assert_close(what, actual, expected, tolerance * scale);
}

/// Row `row`'s first `len` positions of `[B, T, X]`, flattened.
fn row_prefix(x: &Tensor<3>, row: usize, len: usize) -> Vec<f32> {
    let [_, _, width] = x.dims();
    to_vec_f32(x.clone().slice([row..row + 1, 0..len, 0..width]))
}

/// Every CPU backend compiled in (ndarray, flex, LibTorch): the references hold on each.
fn devices() -> Vec<(&'static str, Device)> {
    valuefn::device::cpu_devices()
}

#[test]
fn decoders_match_transformers_hidden_states_and_logits() {
    for ((backend, device), name) in devices()
        .into_iter()
        .flat_map(|d| DECODERS.map(|n| (d.clone(), n)))
    {
        let lm = PretrainedLm::load(folder(name), &device).unwrap();
        let reference = reference(name);
        let prompts = reference["prompts"].as_array().unwrap();
        let rows: Vec<Vec<usize>> = prompts.iter().map(|p| ids_of(&p["ids"])).collect();
        // One right-padded batch: padding must not change any row's real positions.
        let tokens = batch(&rows, &device);
        let hidden = lm.body().forward(tokens.ids.clone(), tokens.mask.clone());
        let logits = lm.lm_head().forward(hidden.clone());
        for (row, prompt) in prompts.iter().enumerate() {
            let len = rows[row].len();
            let what = format!("{name} on {backend}, prompt {row}");
            assert_close(
                &format!("{what} hidden"),
                &row_prefix(&hidden, row, len),
                &floats(&prompt["last_hidden_state"]),
                1e-4,
            );
            assert_close(
                &format!("{what} logits"),
                &row_prefix(&logits, row, len),
                &floats(&prompt["logits"]),
                1e-4,
            );
        }
    }
}

#[test]
fn cached_decoding_equals_the_full_pass_and_greedy_equals_generate() {
    for ((backend, device), name) in devices()
        .into_iter()
        .flat_map(|d| DECODERS.map(|n| (d.clone(), n)))
    {
        let label = format!("{name} on {backend}");
        let model = PretrainedLm::load(folder(name), &device)
            .unwrap()
            .token_model(QHeadInit::LmLogits, 0);
        let reference = reference(name);
        let prompts = reference["prompts"].as_array().unwrap();
        let rows: Vec<Vec<usize>> = prompts.iter().map(|p| ids_of(&p["ids"])).collect();
        let expected: Vec<Vec<usize>> = prompts.iter().map(|p| ids_of(&p["greedy"])).collect();
        // No early stop: transformers generated 8 tokens per row whatever they were.
        let config = GenerationConfig::new(8).with_stop_at_eos(false);
        let out = generate(&model, &batch(&rows, &device), &config).unwrap();
        assert_eq!(out.tokens, expected, "{label}: greedy tokens");

        // The cached logits of each generated position equal a full pass over the sequence.
        let full: Vec<Vec<usize>> = rows
            .iter()
            .zip(&expected)
            .map(|(p, g)| p.iter().chain(g).copied().collect())
            .collect();
        let tokens = batch(&full, &device);
        let body = model.body();
        let hidden = body.forward(tokens.ids.clone(), tokens.mask.clone());
        let logits = model.policy_head().forward(hidden);
        let (mut step_logits, mut decoding) = model.start(&batch(&rows, &device)).unwrap();
        for t in 0..8 {
            for (row, prompt) in rows.iter().enumerate() {
                let position = prompt.len() - 1 + t;
                let [_, _, v] = logits.dims();
                let full_row =
                    to_vec_f32(
                        logits
                            .clone()
                            .slice([row..row + 1, position..position + 1, 0..v]),
                    );
                let cached_row = to_vec_f32(step_logits.clone().slice([row..row + 1, 0..v]));
                assert_close_relative(
                    &format!("{label} row {row} step {t}"),
                    &cached_row,
                    &full_row,
                    1e-5,
                );
            }
            if t < 7 {
                let next: Vec<usize> = expected.iter().map(|g| g[t]).collect();
                step_logits = model.advance(&next, &mut decoding).unwrap();
            }
        }
        // The left-padded batch of transformers generated the same tokens.
        let batched = &reference["batched_greedy"];
        assert!(batched["batched_equals_single"].as_bool().unwrap());
    }
}

/// Llama 3's scaled RoPE: the inverse frequencies `transformers` uses, one per band (kept,
/// interpolated, stretched); the outputs above depend on them.
#[test]
fn llama3_rope_scaling_gives_transformers_frequencies() {
    use valuefn::lm::hf::HfBody;
    let lm = PretrainedLm::load(folder("llama3"), &valuefn::device::default_device()).unwrap();
    let HfBody::Llama(body) = lm.body() else {
        panic!("a llama body")
    };
    assert_close(
        "inv_freq",
        body.inverse_frequencies(),
        &floats(&reference("llama3")["inv_freq"]),
        1e-9,
    );
    let plain = PretrainedLm::load(folder("llama"), &valuefn::device::default_device()).unwrap();
    let HfBody::Llama(plain) = plain.body() else {
        panic!("a llama body")
    };
    // Unscaled: 1 / 10000^(2i / 16).
    let expected: Vec<f32> = (0..8)
        .map(|i| 1.0 / 10000f32.powf(2.0 * i as f32 / 16.0))
        .collect();
    assert_close(
        "plain inv_freq",
        plain.inverse_frequencies(),
        &expected,
        0.0,
    );
}

#[test]
fn bert_matches_transformers_and_pools() {
    for (_, device) in devices() {
        bert_matches_on(&device);
    }
}

fn bert_matches_on(device: &Device) {
    let device = device.clone();
    let reference = reference("bert");
    let prompts = reference["prompts"].as_array().unwrap();
    let rows: Vec<Vec<usize>> = prompts.iter().map(|p| ids_of(&p["ids"])).collect();
    for (pooling, key) in [(Pooling::Cls, "cls"), (Pooling::Mean, "mean")] {
        let bert = BertEncoder::load(folder("bert"), pooling, &device).unwrap();
        let tokens = batch(&rows, &device);
        let hidden = bert.hidden_states(&tokens).unwrap();
        let states: Vec<TokenState> = rows
            .iter()
            .map(|r| TokenState::new(Arc::from(r.clone())))
            .collect();
        let pooled = bert.encode(&states, &device).unwrap();
        assert_eq!(pooled.dims(), [3, 64]);
        for (row, prompt) in prompts.iter().enumerate() {
            assert_close(
                &format!("bert prompt {row} hidden"),
                &row_prefix(&hidden, row, rows[row].len()),
                &floats(&prompt["last_hidden_state"]),
                1e-4,
            );
            assert_close(
                &format!("bert prompt {row} {key}"),
                &to_vec_f32(pooled.clone().slice([row..row + 1, 0..64])),
                &floats(&prompt[key]),
                1e-4,
            );
        }
    }
}

#[test]
fn tokenizers_match_python_tokenizers() {
    let text = std::fs::read_to_string(folder("tokenizer_cases.json")).unwrap();
    let cases: Value = serde_json::from_str(&text).unwrap();
    for (name, dir) in [("gpt2", "gpt2"), ("bert", "bert")] {
        let tok = HfTokenizer::from_folder(folder(dir)).unwrap();
        for case in cases[name].as_array().unwrap() {
            let text = case["text"].as_str().unwrap();
            let ids = tok.encode(text, false).unwrap();
            assert_eq!(ids, ids_of(&case["ids"]), "{name} {text:?}");
            assert_eq!(
                tok.encode(text, true).unwrap(),
                ids_of(&case["ids_with_special"]),
                "{name} {text:?} with specials"
            );
            let decoded = tok.decode(&ids, false).unwrap();
            assert_eq!(
                decoded,
                case["decoded"].as_str().unwrap(),
                "{name} {text:?}"
            );
            assert_eq!(
                tok.decode(&ids, true).unwrap(),
                case["decoded_skip"].as_str().unwrap()
            );
            if name == "gpt2" {
                // Byte-level BPE loses nothing.
                assert_eq!(decoded, text);
            }
        }
    }
    let gpt2 = HfTokenizer::from_folder(folder("gpt2")).unwrap();
    assert_eq!(
        (gpt2.eos_id(), gpt2.bos_id(), gpt2.vocab_size()),
        (Some(0), Some(0), 1000)
    );
    let bert = HfTokenizer::from_folder(folder("bert")).unwrap();
    assert_eq!(
        (bert.pad_id(), bert.id("[CLS]"), bert.id("[SEP]")),
        (Some(0), Some(2), Some(3))
    );
}

#[test]
fn a_frozen_trunk_trains_only_the_heads() {
    use burn::module::Module;
    let device = valuefn::device::default_device().autodiff();
    let model = PretrainedLm::load(folder("qwen2"), &device)
        .unwrap()
        .token_model(QHeadInit::LmLogits, 0);
    // Q starts at the LM's logits.
    let tokens = batch(&[vec![265, 799, 262, 274]], &device);
    let hidden = model
        .body()
        .forward(tokens.ids.clone(), tokens.mask.clone());
    assert_eq!(
        to_vec_f32(model.q_head().forward(hidden.clone())),
        to_vec_f32(model.policy_head().forward(hidden))
    );
    let frozen = model.with_frozen_body();
    let trainable: usize = {
        let mut count = 0;
        frozen.visit(&mut CountTracked(&mut count));
        count
    };
    // policy + q + q2 (weights) and value (weight and bias); tied policy head has no bias.
    assert_eq!(trainable, 1000 * 64 * 3 + 64 + 1);
    // The Q heads start as copies of the LM head, with parameters of their own: one id per
    // head, or an optimiser and the critic's gradient group would take them for one parameter.
    let ids = [
        frozen.policy_head().weight.id,
        frozen.q_head().weight.id,
        frozen.q2_head().weight.id,
    ];
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );
}

struct CountTracked<'a>(&'a mut usize);

impl burn::module::ModuleVisitor for CountTracked<'_> {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        if param.is_require_grad() {
            *self.0 += param.val().shape().num_elements();
        }
    }
}

/// A copy of fixture folder `name` in a fresh temporary folder, for tests that break it.
fn scratch_copy(name: &str, tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("valuefn-hf-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(folder(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

fn edit_config(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let path = dir.join("config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut config);
    std::fs::write(&path, config.to_string()).unwrap();
}

fn load_error(dir: &Path) -> Error {
    PretrainedLm::load(dir, &valuefn::device::default_device()).unwrap_err()
}

#[test]
fn bad_folders_are_typed_errors_naming_what_is_wrong() {
    // A block the file does not have: the first missing tensor is named.
    let dir = scratch_copy("gpt2", "layers");
    edit_config(&dir, |c| c["n_layer"] = 3.into());
    let err = load_error(&dir);
    assert!(
        matches!(&err, Error::Weights { tensor, problem, .. } if tensor == "transformer.h.2.ln_1.weight" && problem == "missing"),
        "{err}"
    );
    // A block too few: the file's extra tensors are refused.
    edit_config(&dir, |c| c["n_layer"] = 1.into());
    let err = load_error(&dir);
    assert!(
        matches!(&err, Error::Weights { tensor, problem, .. } if tensor.starts_with("transformer.h.1.") && problem.starts_with("unexpected")),
        "{err}"
    );
    // Another width: a wrong shape, named before any data is read.
    edit_config(&dir, |c| {
        c["n_layer"] = 2.into();
        c["n_embd"] = 32.into();
    });
    let err = load_error(&dir);
    assert!(
        matches!(&err, Error::Weights { tensor, problem, .. } if tensor == "transformer.wte.weight" && problem == "shape [1000, 64], expected [1000, 32]"),
        "{err}"
    );
    // Absurd sizes are refused before any allocation.
    edit_config(&dir, |c| c["vocab_size"] = (1u64 << 40).into());
    assert!(matches!(
        load_error(&dir),
        Error::TooLarge {
            what: "vocab_size",
            ..
        }
    ));
    edit_config(&dir, |c| {
        c["vocab_size"] = 1000.into();
        c["n_embd"] = (1u64 << 20).into();
        c["n_head"] = 1.into();
    });
    assert!(matches!(
        load_error(&dir),
        Error::TooLarge {
            what: "parameters the config implies",
            ..
        }
    ));
    edit_config(&dir, |c| {
        c["n_embd"] = 64.into();
        c["n_head"] = 4.into();
        c["activation_function"] = "quick_gelu".into();
    });
    assert!(matches!(
        load_error(&dir),
        Error::InvalidConfig {
            field: "activation_function",
            ..
        }
    ));
    edit_config(&dir, |c| c["model_type"] = "t5".into());
    assert!(matches!(
        load_error(&dir),
        Error::InvalidConfig {
            field: "model_type",
            ..
        }
    ));
    // A truncated weight file, and one with a corrupt header.
    let dir = scratch_copy("gpt2", "truncated");
    let weights = dir.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    assert!(matches!(
        load_error(&dir),
        Error::Decode {
            what: "safetensors file",
            ..
        }
    ));
    let mut corrupt = bytes.clone();
    corrupt[10] = b'#';
    std::fs::write(&weights, &corrupt).unwrap();
    assert!(matches!(
        load_error(&dir),
        Error::Decode {
            what: "safetensors file",
            ..
        }
    ));
    std::fs::remove_file(&weights).unwrap();
    assert!(matches!(load_error(&dir), Error::Io { .. }));

    // Rope scaling the crate does not implement, and a missing shard.
    let dir = scratch_copy("llama", "rope");
    edit_config(&dir, |c| {
        c["rope_scaling"] = serde_json::json!({"rope_type": "yarn", "factor": 8.0})
    });
    assert!(matches!(
        load_error(&dir),
        Error::InvalidConfig {
            field: "rope_scaling",
            ..
        }
    ));
    // Llama 3 scaling without its parameters.
    edit_config(&dir, |c| {
        c["rope_scaling"] = serde_json::json!({"rope_type": "llama3", "factor": 8.0})
    });
    assert!(matches!(
        load_error(&dir),
        Error::InvalidConfig {
            field: "rope_scaling",
            ..
        }
    ));
    edit_config(&dir, |c| c["rope_scaling"] = Value::Null);
    std::fs::remove_file(dir.join("model-00002-of-00003.safetensors")).unwrap();
    assert!(matches!(load_error(&dir), Error::Io { .. }));

    // A malformed tokenizer.json.
    let dir = scratch_copy("gpt2", "tokenizer");
    std::fs::write(dir.join("tokenizer.json"), "{\"model\": 3}").unwrap();
    assert!(matches!(
        HfTokenizer::from_folder(&dir),
        Err(Error::Decode {
            what: "tokenizer.json",
            ..
        })
    ));

    // A BERT folder is not a decoder, and a decoder is not BERT.
    let device = valuefn::device::default_device();
    assert!(matches!(
        PretrainedLm::load(folder("bert"), &device),
        Err(Error::InvalidConfig {
            field: "model_type",
            ..
        })
    ));
    assert!(matches!(
        BertEncoder::load(folder("gpt2"), Pooling::Cls, &device),
        Err(Error::InvalidConfig {
            field: "model_type",
            ..
        })
    ));
    assert!(HfConfig::from_json("{").is_err());
}

/// The text environment, rollouts and decoding run unchanged on a pretrained vocabulary: the
/// tokenizer's own `<|endoftext|>` (id 0) ends an episode, id 2 is an ordinary token, and the
/// greedy episode of the loaded model is the completion `transformers` generates.
#[test]
fn text_environments_run_on_a_pretrained_vocabulary() {
    use valuefn::env::Environment;
    use valuefn::env::text::{Stop, TextEnvConfig, TextGenerationEnv, TokenMatch};
    use valuefn::lm::{Sampling, evaluate_tasks};
    use valuefn::text::Corpus;

    let device = valuefn::device::default_device();
    let tok = HfTokenizer::from_folder(folder("gpt2")).unwrap();
    let corpus = Corpus::from_jsonl_str(
        r#"{"prompt": "The cat sat", "target": " on the mat"}"#,
        "mem",
    )
    .unwrap();
    let task = tok.task(&corpus.pairs()[0]).unwrap();
    assert_eq!(&task.prompt()[..], &[265, 799, 262, 274]);
    assert_eq!(tok.decode(task.target(), false).unwrap(), " on the mat");
    let config = TextEnvConfig::new()
        .with_max_new_tokens(8)
        .with_stop(Stop::Eos);
    let mut env = TextGenerationEnv::new(vec![task.clone()], &tok, TokenMatch, &config).unwrap();
    assert_eq!(env.eos_id(), Some(0));
    env.reset(Some(0));
    assert!(!env.step(2).unwrap().terminated);
    let end = env.step(0).unwrap();
    assert!(end.terminated && end.reward == 0.0);
    // The reference output is the target, then the tokenizer's <eos>: all pay 1.
    env.reset(Some(0));
    let rewards: Vec<f64> = task
        .target()
        .iter()
        .chain([&0])
        .map(|&t| env.step(t).unwrap().reward)
        .collect();
    assert_eq!(rewards, vec![1.0; task.target().len() + 1]);

    let model = PretrainedLm::load(folder("gpt2"), &device)
        .unwrap()
        .token_model(QHeadInit::LmLogits, 0);
    let env = TextGenerationEnv::new(vec![task], &tok, TokenMatch, &config).unwrap();
    let greedy = evaluate_tasks(&model, &env, Sampling::Greedy, 0, &device).unwrap();
    let expected = ids_of(&reference("gpt2")["prompts"][0]["greedy"]);
    assert_eq!(greedy.episodes[0].completion(), &expected[..]);
}

/// Rewards on the decoded completion: each ready-made score and a closure pay at the end of an
/// episode of a text environment over the pretrained vocabulary, 0 before.
#[test]
fn decoded_rewards_score_the_completion_text() {
    use valuefn::env::Environment;
    use valuefn::env::text::{DecodedReward, Stop, TextEnvConfig, TextGenerationEnv, text_scores};
    use valuefn::text::{TextPair, TokenTask};

    let tok = Arc::new(HfTokenizer::from_folder(folder("gpt2")).unwrap());
    let task = tok
        .task(&TextPair::new("The cat sat", " on the mat"))
        .unwrap();
    let config = TextEnvConfig::new()
        .with_max_new_tokens(8)
        .with_stop(Stop::Eos);
    fn episode<R: valuefn::env::text::TextReward>(
        env: (&HfTokenizer, &TokenTask, &TextEnvConfig),
        reward: R,
        tokens: &[usize],
    ) -> Vec<f64> {
        let (tok, task, config) = env;
        let mut env = TextGenerationEnv::new(vec![task.clone()], tok, reward, config).unwrap();
        env.reset(Some(0));
        tokens
            .iter()
            .map(|&t| env.step(t).unwrap().reward)
            .collect()
    }
    let setting = (&*tok, &task, &config);

    let right: Vec<usize> = task.target().iter().copied().chain([0]).collect();
    let wrong: Vec<usize> = tok
        .encode(" on a mat", false)
        .unwrap()
        .into_iter()
        .chain([0])
        .collect();
    let last = |rewards: Vec<f64>| {
        let (end, before) = rewards.split_last().unwrap();
        assert!(before.iter().all(|&r| r == 0.0), "paid before the end");
        *end
    };
    let exact = || DecodedReward::new(tok.clone(), text_scores::exact_match);
    assert_eq!(last(episode(setting, exact(), &right)), 1.0);
    assert_eq!(last(episode(setting, exact(), &wrong)), 0.0);
    let contains = || DecodedReward::new(tok.clone(), text_scores::contains(" a "));
    assert_eq!(
        (
            last(episode(setting, contains(), &right)),
            last(episode(setting, contains(), &wrong))
        ),
        (0.0, 1.0)
    );
    let regex = text_scores::matches(r"^ on (the|a) mat$").unwrap();
    let regex = || DecodedReward::new(tok.clone(), regex.clone());
    assert_eq!(
        (
            last(episode(setting, regex(), &right)),
            last(episode(setting, regex(), &wrong))
        ),
        (1.0, 1.0)
    );
    let length = || DecodedReward::new(tok.clone(), text_scores::length_within(0, 9));
    assert_eq!(
        (
            last(episode(setting, length(), &right)),
            last(episode(setting, length(), &wrong))
        ),
        (0.0, 1.0)
    );
    // A closure of both texts: characters of the target the completion got right, in place.
    let overlap = |completion: &str, target: &str| {
        completion
            .chars()
            .zip(target.chars())
            .filter(|(a, b)| a == b)
            .count() as f64
    };
    let closure = || DecodedReward::new(tok.clone(), overlap);
    assert_eq!(last(episode(setting, closure(), &wrong)), 4.0); // " on " of " on a mat" vs " on the mat"
    assert!(matches!(
        text_scores::matches("("),
        Err(Error::InvalidConfig {
            field: "pattern",
            ..
        })
    ));
}

/// The idea's own layout: a pretrained BERT encodes text states, a `QNetwork` reads the pooled
/// hidden state. The Q-values of a batch equal the network applied to each state's encoding
/// alone (padding changes nothing), and one gradient step of the network on the encodings
/// moves its Q-value toward the target.
#[test]
fn a_q_network_reads_bert_encodings() {
    use burn::module::Module;
    use valuefn::nn::QNetworkConfig;
    use valuefn::value::QFunction;

    let device = valuefn::device::default_device();
    let bert = BertEncoder::load(folder("bert"), Pooling::Mean, &device).unwrap();
    let tok = HfTokenizer::from_folder(folder("bert")).unwrap();
    let states: Vec<TokenState> = ["hello world", "the dog barked at the postman."]
        .iter()
        .map(|t| TokenState::new(Arc::from(tok.encode(t, true).unwrap())))
        .collect();
    let train = device.clone().autodiff();
    let q = QNetworkConfig::new(bert.hidden_size(), 3)
        .with_hidden(vec![16])
        .init(&train)
        .unwrap();
    let inference = q.valid();
    let together = to_vec_f32(
        inference
            .q_values(bert.encode(&states, &device).unwrap())
            .unwrap(),
    );
    for (i, state) in states.iter().enumerate() {
        let alone = to_vec_f32(
            inference
                .q_values(bert.encode(std::slice::from_ref(state), &device).unwrap())
                .unwrap(),
        );
        assert_close("q of one state", &together[3 * i..3 * i + 3], &alone, 1e-5);
    }
    // The encoder is frozen features here: only the network trains.
    let features = bert.encode(&states, &device).unwrap();
    let features = Tensor::<2>::from_data(features.into_data(), &train);
    let before = to_vec_f32(q.q_values(features.clone()).unwrap())[0];
    let loss = (q.q_values(features.clone()).unwrap().slice([0..1, 0..1]) - (before + 1.0))
        .powi_scalar(2)
        .sum();
    let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &q);
    use burn::optim::SgdConfig;
    let q = SgdConfig::new().init().step(0.01, q, grads);
    let after = to_vec_f32(q.q_values(features).unwrap())[0];
    assert!(
        after > before,
        "Q(s0, a0) moved toward its target: {before} -> {after}"
    );
}
