//! Touchstone server library.
