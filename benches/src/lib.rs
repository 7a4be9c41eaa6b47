//! Shared fixtures for witmesh benches.
