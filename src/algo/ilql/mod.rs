//! Offline value learning in the style of ILQL / IQL (Snell et al. 2022, Kostrikov et al.
//! 2021): the losses as public functions, so a training loop composes its own.
//!
//! Built so far: [`expectile_loss`] (the V head's regression toward an upper expectile of Q)
//! and [`cql_loss`] (the conservative penalty on Q). The twin-Q updater with a Polyak target
//! and policy extraction are the next step (issue 13).

mod loss;

pub use loss::{cql_loss, expectile_loss};
