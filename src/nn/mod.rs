//! Neural value functions: burn [`Module`](burn::module::Module)s built from validated configs.
//!
//! - [`Mlp`]: a multilayer perceptron, the trunk of the others.
//! - [`QNetwork`]: states `[B, D]` to `Q(s, .)` `[B, A]`, with a linear or a dueling head;
//!   implements [`QFunction`](crate::value::QFunction).
//! - [`VNetwork`]: states `[B, D]` to `V(s)` `[B]`; implements
//!   [`VFunction`](crate::value::VFunction).
//! - [`CategoricalPolicy`]: states `[B, D]` to action logits `[B, A]`; implements
//!   [`LogitsPolicy`](crate::policy::LogitsPolicy).
//! - [`SoftmaxTable`], [`TrainableVTable`]: a softmax policy and a value table as trainable
//!   parameters, for tabular actor-critic.
//!
//! A module trains when it was initialised on an autodiff device (`device.autodiff()`) and is
//! plain inference otherwise; [`Module::valid`](burn::module::Module::valid) gives an inference
//! copy of a training module. Weights are drawn from the config's `seed` with the crate's own
//! generator, not burn's process-wide one, so two networks built from one config are equal even
//! when tests run in parallel.

mod activation;
pub(crate) mod init;
mod mlp;
mod policy_network;
mod q_network;
mod table;
mod v_network;

pub use activation::Activation;
pub use init::WeightInit;
pub(crate) use mlp::MAX_PARAMETERS;
pub use mlp::{Mlp, MlpConfig};
pub use policy_network::{CategoricalPolicy, CategoricalPolicyConfig};
pub use q_network::{QHead, QNetwork, QNetworkConfig};
pub use table::{SoftmaxTable, TrainableVTable};
pub use v_network::{VNetwork, VNetworkConfig};
