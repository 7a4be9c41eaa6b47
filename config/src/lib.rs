//! witmesh configuration (being built).
