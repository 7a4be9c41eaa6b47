//! `witmesh bench`'s engine: the [`load`] (closed or open loop over one or more connections),
//! the [`report`] of what it measured, and the [`plot`] of the latency distribution.

pub mod load;
pub mod plot;
pub mod report;
