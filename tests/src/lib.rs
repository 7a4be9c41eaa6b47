//! Shared helpers for witmesh end-to-end tests.
