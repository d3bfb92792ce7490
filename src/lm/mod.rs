//! Language models as agents of the text MDP: causal bodies ([`TransformerBody`],
//! [`GruBody`], or any [`LmBody`]) under policy, Q and V heads ([`TokenModel`]), with
//! incremental decoding (a key/value cache or a carried state) and batched generation.
//!
//! A [`TokenModel`] is a [`crate::policy::LogitsPolicy`], a [`crate::value::QFunction`] and a
//! [`crate::value::VFunction`] on [`TokenPositions`] (states as positions in shared token
//! sequences; a [`crate::batch::TokenBatch`] converts, each row at its last real token), so
//! the crate's own updaters train it: [`crate::algo::dqn::Dqn`] its Q head,
//! [`crate::algo::actor_critic::ActorCritic`] its policy and V heads.

mod attention;
mod body;
mod checkpoint;
mod dataset;
mod decoder;
mod exact_advantages;
mod generate;
mod gru;
mod guided;
pub mod hf;
mod layers;
mod model;
mod monte_carlo;
mod positions;
mod pretrain;
mod q_from_replay;
mod replay;
mod rollout;
mod transformer;

pub use attention::KvCache;
pub use body::LmBody;
pub use checkpoint::TokenModelCheckpoint;
pub use dataset::{CompletionReward, ScoredCompletion, ScoredCompletions};
pub use decoder::{TokenDecoder, ValueDecoder};
pub use exact_advantages::{AdvantageErrors, ExactAdvantages};
pub use generate::{Generation, GenerationConfig, Sampling, generate};
pub use gru::{GruBody, GruBodyConfig, GruCache};
pub use guided::{GuidedDecoding, ValueGuided};
pub use model::{Decoding, HeadOutputs, TokenModel, TokenQHeads};
pub use monte_carlo::{MonteCarloValues, monte_carlo_values};
pub use positions::{LastTokens, TokenPositions};
pub use pretrain::{PretrainConfig, PretrainReport, cross_entropy, pretrain};
pub use q_from_replay::QFromReplay;
pub use replay::TokenReplay;
pub use rollout::{
    TaskEvaluation, TokenCollector, TokenCollectorSnapshot, TokenEpisode, TokenRollout,
    evaluate_decoder, evaluate_tasks,
};
pub use transformer::{TransformerBody, TransformerBodyConfig, TransformerCache};

/// The old name of [`TokenCollector`] (it collects a [`TokenRollout`]; the two names differed
/// by one letter).
#[deprecated(note = "renamed to `TokenCollector`")]
pub type TokenRollouts<R> = TokenCollector<R>;

/// The old name of [`TokenCollectorSnapshot`].
#[deprecated(note = "renamed to `TokenCollectorSnapshot`")]
pub type TokenRolloutsSnapshot = TokenCollectorSnapshot;
