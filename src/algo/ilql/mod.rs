//! Offline value learning in the style of ILQL / IQL (Snell et al. 2022, Kostrikov et al.
//! 2021): the [`Ilql`] updater (twin Q heads with Polyak targets, a V head by expectile
//! regression, a CQL penalty) and its losses as public functions, so a training loop can
//! compose its own: [`expectile_loss`], [`cql_loss`], and [`awac_loss`] for extracting a policy
//! by advantage-weighted regression.

mod checkpoint;
mod config;
mod loss;
mod model;
mod updater;

pub use checkpoint::IlqlCheckpoint;
pub use config::IlqlConfig;
pub use loss::{awac_loss, cql_loss, expectile_loss};
pub use model::{IlqlModel, IlqlNetworks, IlqlOutputs};
pub use updater::{Ilql, IlqlStats};
