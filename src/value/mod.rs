//! Value functions: [`QFunction`] and [`VFunction`], their derived operations, and the
//! tensor-backed tables [`QTable`] and [`VTable`].

mod q_function;
mod store;
mod table;
mod v_function;

pub use q_function::{QFunction, QFunctionExt};
pub use table::{QTable, VTable};
pub use v_function::VFunction;
