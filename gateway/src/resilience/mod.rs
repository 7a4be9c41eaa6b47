//! What protects a forwarded call on its way: latency estimates for balancing, outlier
//! ejection, and the retry rules. Each piece is pure decision logic over an explicit clock,
//! tested without a network; the router wires them around each attempt.

pub mod breaker;
pub mod ewma;
pub mod retry;
