//! The size and the task of `peer-benchmarks/token_mdp.py`, shared by the token-model benches.

use burn::tensor::Device;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use valuefn::env::text::{TextEnvConfig, TextGenerationEnv, TokenMatch};
use valuefn::lm::{GruBody, GruBodyConfig, TokenModel};
use valuefn::text::{TokenTask, Vocabulary};

pub const VOCAB: usize = 104; // 100 tokens and the 4 specials
pub const BATCH: usize = 32;
pub const TOKENS: usize = 16;
pub const HIDDEN: usize = 128;

/// A GRU token model of the peer's width, weights from `seed`.
pub fn gru(seed: u64, device: &Device) -> TokenModel<GruBody> {
    let body = GruBodyConfig::new(VOCAB)
        .with_hidden(HIDDEN)
        .with_seed(seed);
    TokenModel::new(body.init(device).unwrap(), seed, device)
}

/// The peer's task: prompt `<bos>`, a fixed random target of 16 of the 100 tokens, 1 per
/// matching token.
pub fn peer_task() -> TextGenerationEnv {
    let mut rng = StdRng::seed_from_u64(42);
    let target: Vec<usize> = (0..TOKENS).map(|_| rng.random_range(4..VOCAB)).collect();
    let vocabulary = Vocabulary::from_tokens((0..VOCAB - 4).map(|i| format!("t{i}")));
    let task = TokenTask::new(vec![Vocabulary::BOS], target).unwrap();
    TextGenerationEnv::new(
        vec![task],
        &vocabulary,
        TokenMatch,
        &TextEnvConfig::new().with_max_new_tokens(TOKENS),
    )
    .unwrap()
}
