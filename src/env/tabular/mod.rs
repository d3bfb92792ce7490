//! The tabular environments of Sutton and Barto's book and Gymnasium's toy text suite.
//!
//! Each one defines its dynamics once, as a [`TabularMdp`](crate::tabular::TabularMdp) that it
//! exposes through `AsRef` (so it is a [`FiniteMdp`](crate::tabular::FiniteMdp) the exact
//! solvers read), and [`TabularEnv`](crate::env::TabularEnv) simulates that same model, so what
//! an agent learns from and what the reference values are computed from cannot drift apart.
//!
//! | type | source | states x actions |
//! |---|---|---|
//! | [`GridWorld::example_3_5`] | Example 3.5, continuing | 25 x 4 |
//! | [`GridWorld::example_4_1`] | Example 4.1, episodic | 16 x 4 |
//! | [`RandomWalk::example_6_2`], [`RandomWalk::nineteen_states`] | Examples 6.2, 7.1 | 5 (19) x 1 |
//! | [`WindyGridworld::new`], [`WindyGridworld::kings_moves`] | Example 6.5, Exercise 6.9 | 70 x 4 (8) |
//! | [`CliffWalking::new`] | Example 6.6, Gymnasium `CliffWalking` | 48 x 4 |
//! | [`FrozenLake::four_by_four`], [`FrozenLake::eight_by_eight`] | Gymnasium `FrozenLake-v1` | 16 (64) x 4 |

mod cliff_walking;
mod frozen_lake;
mod grid;
mod gridworld;
mod random_walk;
mod windy_gridworld;

pub use cliff_walking::CliffWalking;
pub use frozen_lake::{FrozenLake, MAP_4X4, MAP_8X8};
pub use grid::{Grid, GridLayout};
pub use gridworld::GridWorld;
pub use random_walk::RandomWalk;
pub use windy_gridworld::WindyGridworld;
