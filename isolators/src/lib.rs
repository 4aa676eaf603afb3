//! The Isolator trait and the posix and Linux isolators.
