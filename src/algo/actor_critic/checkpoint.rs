//! Saving and restoring an [`ActorCritic`] through burn's record API.

use std::path::Path;

use burn::module::Module;
use serde::{Deserialize, Serialize};

use crate::algo::actor_critic::{ActorCritic, ActorCriticConfig, LossAggregation};
use crate::batch::BatchRows;
use crate::checkpoint::{CheckpointReader, CheckpointWriter};
use crate::error::Result;
use crate::policy::ActorCriticModel;

/// The host-side part of an [`ActorCritic`] checkpoint (`actor_critic.json`); the model and
/// the optimiser states sit beside it as burnpack files (`model.bpk`, `actor_optimizer.bpk`,
/// `critic_optimizer.bpk`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorCriticCheckpoint {
    /// Format version, for later readers.
    pub version: u32,
    /// The updater's settings.
    #[serde(deserialize_with = "config_with_later_defaults")]
    pub config: ActorCriticConfig,
    /// Gradient steps taken.
    pub gradient_steps: u64,
    /// Updates applied (this also seeds the next update's minibatch order).
    pub updates: u64,
}

/// Reads a saved config, giving the fields added after it was written their defaults (burn's
/// `Config` derive has none for deserialisation): `loss_aggregation` (added with the group
/// baselines) is `TokenMean`, what every earlier update did, so a checkpoint written before it
/// still loads. (`Option` fields such as `importance_cap` are `None` when absent already.)
fn config_with_later_defaults<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<ActorCriticConfig, D::Error> {
    let mut value = serde_json::Value::deserialize(deserializer)?;
    if let Some(fields) = value.as_object_mut()
        && !fields.contains_key("loss_aggregation")
    {
        let default =
            serde_json::to_value(LossAggregation::TokenMean).map_err(serde::de::Error::custom)?;
        fields.insert("loss_aggregation".into(), default);
    }
    serde_json::from_value(value).map_err(serde::de::Error::custom)
}

/// Version 2: one model record (actor and critic together) instead of two.
const VERSION: u32 = 2;

/// The manifest's `kind` of an [`ActorCritic`] checkpoint.
const KIND: &str = "actor_critic";

impl<M> ActorCritic<M>
where
    M: Module + ActorCriticModel,
    M::Input: BatchRows,
{
    /// Writes the model, both optimiser states, the config and the counters into
    /// the folder `dir` (created if missing). A loaded updater continues exactly where this
    /// one stands: the same next update from the same rollout.
    ///
    /// # Errors
    ///
    /// [`Error::Io`](crate::Error::Io) when a file cannot be written; the folder's previous
    /// checkpoint is then left whole (saves are atomic: see [`crate::checkpoint`]).
    ///
    /// # Example
    ///
    /// ```
    /// use valuefn::algo::actor_critic::{ActorCritic, ActorCriticConfig};
    /// use valuefn::nn::{CategoricalPolicyConfig, VNetworkConfig};
    /// use valuefn::policy::PolicyAndValue;
    ///
    /// let device = valuefn::device::default_device().autodiff();
    /// let (actor, critic) = (CategoricalPolicyConfig::new(4, 2), VNetworkConfig::new(4));
    /// let model = PolicyAndValue::new(actor.init(&device)?, critic.init(&device)?);
    /// let a2c = ActorCritic::new(ActorCriticConfig::new(), model)?;
    /// let dir = std::env::temp_dir().join("valuefn-doc-a2c-checkpoint");
    /// a2c.save(&dir)?;
    /// // The template only gives the architecture; the weights come from the files.
    /// let template = PolicyAndValue::new(actor.with_seed(9).init(&device)?, critic.init(&device)?);
    /// let loaded = ActorCritic::load(&dir, template)?;
    /// assert_eq!(loaded.updates(), 0);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), valuefn::Error>(())
    /// ```
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let mut writer = CheckpointWriter::begin(dir.as_ref(), KIND)?;
        self.write_into(&mut writer)?;
        writer.commit()
    }

    /// Writes this updater's files into a save in progress (also part of a training run's
    /// checkpoint).
    pub(crate) fn write_into(&self, writer: &mut CheckpointWriter) -> Result<()> {
        writer.json(
            "actor_critic.json",
            &ActorCriticCheckpoint {
                version: VERSION,
                config: self.config().clone(),
                gradient_steps: self.gradient_steps(),
                updates: self.updates(),
            },
        )?;
        writer.module("model.bpk", self.model())?;
        let [actor_state, critic_state] = self.optimizers();
        writer.optimizer("actor_optimizer.bpk", actor_state)?;
        writer.optimizer("critic_optimizer.bpk", critic_state)
    }

    /// Restores an updater saved by [`ActorCritic::save`]. The template is a model of the same
    /// architecture (any weights: they are replaced), on the device to train on.
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`](crate::Error::Checkpoint) for a folder without a complete
    /// checkpoint of this kind (a missing, truncated or corrupt file, named),
    /// [`Error::Io`](crate::Error::Io) for an unreadable file,
    /// [`Error::Decode`](crate::Error::Decode) for a file that is not a checkpoint or does
    /// not fit the template's architecture, and the config's own errors when the saved config
    /// is invalid.
    pub fn load(dir: impl AsRef<Path>, template: M) -> Result<Self> {
        Self::read_from(&CheckpointReader::open(dir.as_ref(), KIND)?, template)
    }

    /// Reads this updater's files from an open checkpoint.
    pub(crate) fn read_from(reader: &CheckpointReader, template: M) -> Result<Self> {
        let header: ActorCriticCheckpoint = reader.header(
            "actor_critic.json",
            "actor-critic checkpoint",
            |h: &ActorCriticCheckpoint| h.version,
            VERSION,
        )?;
        header.config.validate()?;
        let model = reader.module("model.bpk", template)?;
        let optimizers = [
            reader.optimizer("actor_optimizer.bpk", header.config.actor_optimizer.init())?,
            reader.optimizer(
                "critic_optimizer.bpk",
                header.config.critic_optimizer.init(),
            )?,
        ];
        Ok(Self::from_parts(
            header.config,
            model,
            optimizers,
            header.gradient_steps,
            header.updates,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_written_before_loss_aggregation_still_loads() {
        let header = ActorCriticCheckpoint {
            version: VERSION,
            config: ActorCriticConfig::new().with_gamma(0.5),
            gradient_steps: 3,
            updates: 1,
        };
        let mut json = serde_json::to_value(&header).unwrap();
        let config = json["config"].as_object_mut().unwrap();
        config.remove("loss_aggregation").unwrap();
        config.remove("importance_cap").unwrap();
        let read: ActorCriticCheckpoint = serde_json::from_value(json).unwrap();
        assert_eq!(read, header);
    }
}
